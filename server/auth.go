package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strings"

	"golang.org/x/time/rate"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// Identity is a caller the server knows: a bearer token, stored as its
// SHA-256 only, and/or names of client certificates, with the grants that
// say what it may do and its request rate. WithIdentities turns
// authentication on.
type Identity struct {
	// Name identifies the caller in errors, logs and metrics.
	Name string
	// TokenHash is HashToken of the bearer token; empty for an identity
	// that only authenticates by client certificate.
	TokenHash string
	// ClientCerts are the client certificates this identity is: "cn:NAME"
	// matches a verified certificate's subject common name, "uri:URI" one
	// of its URI subject alternative names (a SPIFFE ID, for example).
	ClientCerts []string
	// Allow lists what the identity may do; nothing is allowed otherwise.
	Allow []Grant
	// Rate is the identity's sustained requests per second; 0 takes
	// Limits.Rate. Burst is how many it may make at once; 0 takes
	// Limits.Burst.
	Rate  float64
	Burst int
}

// tokenHashPrefix starts every TokenHash.
const tokenHashPrefix = "sha256:"

// HashToken returns the form in which a server stores a bearer token:
// "sha256:" and the hex SHA-256 of the token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return tokenHashPrefix + hex.EncodeToString(sum[:])
}

// parseTokenHash decodes a TokenHash.
func parseTokenHash(s string) ([32]byte, error) {
	var h [32]byte
	hexPart, ok := strings.CutPrefix(s, tokenHashPrefix)
	if !ok {
		return h, fmt.Errorf("must start with %q (the SHA-256 of the token, never the token itself)", tokenHashPrefix)
	}
	if len(hexPart) != 2*len(h) {
		return h, fmt.Errorf("must be %q and 64 hex digits; this has %d after the prefix", tokenHashPrefix, len(hexPart))
	}
	if _, err := hex.Decode(h[:], []byte(hexPart)); err != nil {
		return h, fmt.Errorf("is not hex: %v", err)
	}
	return h, nil
}

// maxIdentityName bounds an identity's name.
const maxIdentityName = 128

// Validate checks the identity. The error is a *driver.ValidationError
// whose Field names the part at fault as the config file does: "name",
// "hash", "client_certs[1]", "allow[0].actions[2]", "allow[0].resource",
// "rate", "burst".
func (id Identity) Validate() error {
	switch {
	case id.Name == "":
		return driver.Invalid("name", "is empty; every identity needs a name (it appears in logs and errors)")
	case len(id.Name) > maxIdentityName:
		return driver.Invalid("name", "is %d characters long; the limit is %d", len(id.Name), maxIdentityName)
	case strings.ContainsFunc(id.Name, func(r rune) bool { return r < ' ' || r == 0x7f || r == '"' }):
		return driver.Invalid("name", "%q has control characters or quotes", id.Name)
	case id.TokenHash == "" && len(id.ClientCerts) == 0:
		return driver.Invalid("hash", "is empty and there are no client_certs: the identity could never authenticate")
	}
	if id.TokenHash != "" {
		if _, err := parseTokenHash(id.TokenHash); err != nil {
			return driver.Invalid("hash", "%v", err)
		}
	}
	for i, c := range id.ClientCerts {
		kind, name, _ := strings.Cut(c, ":")
		if (kind != "cn" && kind != "uri") || name == "" {
			return driver.Invalid(fmt.Sprintf("client_certs[%d]", i), "%q is not \"cn:NAME\" or \"uri:URI\"", c)
		}
	}
	if len(id.Allow) == 0 {
		return driver.Invalid("allow", "is empty: the identity could do nothing")
	}
	for i, g := range id.Allow {
		if len(g.Actions) == 0 {
			return driver.Invalid(fmt.Sprintf("allow[%d].actions", i), "is empty; list some of admin, publish, consume, manage")
		}
		for j, a := range g.Actions {
			if _, err := ParseAction(string(a)); err != nil {
				return driver.Invalid(fmt.Sprintf("allow[%d].actions[%d]", i, j), "%v", err)
			}
		}
		if err := ValidateResource(g.Resource); err != nil {
			return driver.Invalid(fmt.Sprintf("allow[%d].resource", i), "%v", err)
		}
	}
	if id.Rate < 0 || math.IsNaN(id.Rate) || math.IsInf(id.Rate, 0) {
		return driver.Invalid("rate", "%v is out of range; accepted is 0 (the server's rate) or more requests per second", id.Rate)
	}
	if id.Burst < 0 {
		return driver.Invalid("burst", "%d is out of range; accepted is 0 (the server's burst) or more", id.Burst)
	}
	return nil
}

// identity is an Identity as the server uses it.
type identity struct {
	name     string
	hash     [32]byte
	hasToken bool
	grants   []Grant
	// limiter is nil when the identity's rate is unlimited.
	limiter *rate.Limiter
}

func (id *identity) describe() string { return fmt.Sprintf("identity %q", id.name) }

// newLimiter returns a token bucket of r requests per second and the
// given burst (at least 1, by default ceil(r)); nil when r is 0.
func newLimiter(r float64, burst int) *rate.Limiter {
	if r <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Ceil(r))
	}
	return rate.NewLimiter(rate.Limit(r), burst)
}

// authenticator finds the identity of a request.
type authenticator struct {
	ids    []*identity
	byCert map[string]*identity
}

// newAuthenticator builds the identities of ids; an entry that does not
// validate is skipped and reported (the caller validated them first).
func newAuthenticator(ids []Identity, l Limits) (*authenticator, []error) {
	a := &authenticator{byCert: map[string]*identity{}}
	var errs []error
	for _, in := range ids {
		if err := in.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("identity %q ignored: %w", in.Name, err))
			continue
		}
		id := &identity{name: in.Name, grants: in.Allow}
		r, b := in.Rate, in.Burst
		if r == 0 {
			r = l.Rate
		}
		if b == 0 {
			b = l.Burst
		}
		id.limiter = newLimiter(r, b)
		if in.TokenHash != "" {
			id.hash, _ = parseTokenHash(in.TokenHash)
			id.hasToken = true
		}
		for _, c := range in.ClientCerts {
			a.byCert[c] = id
		}
		a.ids = append(a.ids, id)
	}
	return a, errs
}

// byToken returns the identity whose token is token, or nil. It compares
// the token's hash with every identity's in constant time, and does not
// stop at a match, so that timing tells nothing about the tokens.
func (a *authenticator) byToken(token string) *identity {
	sum := sha256.Sum256([]byte(token))
	var found *identity
	for _, id := range a.ids {
		if id.hasToken && subtle.ConstantTimeCompare(sum[:], id.hash[:]) == 1 {
			found = id
		}
	}
	return found
}

// byCertificate returns the identity of a verified client certificate:
// by a URI SAN first, then by the subject's common name.
func (a *authenticator) byCertificate(cert *x509.Certificate) (*identity, string) {
	for _, u := range cert.URIs {
		if id := a.byCert["uri:"+u.String()]; id != nil {
			return id, ""
		}
	}
	if id := a.byCert["cn:"+cert.Subject.CommonName]; id != nil {
		return id, ""
	}
	return nil, fmt.Sprintf("client certificate %q maps to no identity", cert.Subject.CommonName)
}

// wsPath is the WebSocket endpoint: browsers cannot set headers on an
// upgrade, so there the token may also come as ?access_token=.
const wsPath = "/v1/ws"

// bearerToken returns the request's bearer token and whether it had one.
func bearerToken(r *http.Request) (string, bool, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", true, fmt.Errorf("%w: the Authorization header is not \"Bearer <token>\"", httpapi.ErrUnauthenticated)
		}
		return token, true, nil
	}
	if r.URL.Path == wsPath {
		if token := r.URL.Query().Get("access_token"); token != "" {
			return token, true, nil
		}
	}
	return "", false, nil
}

// authenticate returns the identity that r runs as: the anonymous one
// when authentication is off; otherwise the bearer token's (a token must
// be valid when present), or else the verified client certificate's.
func (s *Server) authenticate(r *http.Request) (*identity, error) {
	if s.auth == nil {
		return s.anonymous, nil
	}
	token, present, err := bearerToken(r)
	if err != nil {
		return nil, err
	}
	if present {
		if id := s.auth.byToken(token); id != nil {
			return id, nil
		}
		return nil, fmt.Errorf("%w: the bearer token matches no identity", httpapi.ErrUnauthenticated)
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		id, why := s.auth.byCertificate(r.TLS.VerifiedChains[0][0])
		if id != nil {
			return id, nil
		}
		return nil, fmt.Errorf("%w: %s", httpapi.ErrUnauthenticated, why)
	}
	return nil, fmt.Errorf("%w: send \"Authorization: Bearer <token>\" (see docs/server.md)", httpapi.ErrUnauthenticated)
}

// identityKey is the context key of the request's identity.
type identityKey struct{}

func withIdentity(ctx context.Context, id *identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// identityFrom returns the identity the route guard put in ctx, or nil.
func identityFrom(ctx context.Context) *identity {
	id, _ := ctx.Value(identityKey{}).(*identity)
	return id
}
