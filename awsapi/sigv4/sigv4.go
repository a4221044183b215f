// Package sigv4 verifies AWS Signature Version 4 on incoming requests, in
// the Authorization header or in the query string (presigned URLs), as
// AWS services check them: the canonical request over the method, path,
// query, signed headers and payload hash; the credential scope's date and
// region; and a request time within MaxSkew of now.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/courier-io/courier/awsapi"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// MaxSkew is how far a request's time may be from the server's clock.
const MaxSkew = 15 * time.Minute

// timeFormat is the X-Amz-Date format.
const timeFormat = "20060102T150405Z"

// Now is the clock; tests replace it.
var Now = time.Now

// signature is what a request carries.
type signature struct {
	akid, date, region, service string
	signedHeaders               []string
	sig                         string
	amzDate                     string
	presigned                   bool
	expires                     time.Duration
}

// denied is an authentication failure, as AWS answers it (HTTP 403).
func denied(code, format string, args ...any) error {
	e := awsapi.Errorf(code, format, args...)
	e.Status = http.StatusForbidden
	return e
}

// Verify checks the signature of r, whose body is body, against the
// secret that secret returns for its access key, and returns the access
// key ID. region is the region the endpoint serves. The error is an
// *awsapi.Error with AWS's code: MissingAuthenticationToken,
// IncompleteSignature, InvalidClientTokenId, SignatureDoesNotMatch or
// RequestExpired.
func Verify(r *http.Request, body []byte, region string, secret func(akid string) (string, bool)) (string, error) {
	sig, err := parse(r)
	if err != nil {
		return "", err
	}
	key, ok := secret(sig.akid)
	if !ok {
		return "", denied("InvalidClientTokenId", "the access key ID %q is not known to this endpoint", sig.akid)
	}
	if sig.region != region {
		return "", denied("SignatureDoesNotMatch", "the credential scope names region %q; this endpoint serves %q", sig.region, region)
	}
	t, err := time.Parse(timeFormat, sig.amzDate)
	if err != nil {
		return "", awsapi.Errorf("IncompleteSignature", "X-Amz-Date %q is not a time like 20260102T150405Z", sig.amzDate)
	}
	if t.Format("20060102") != sig.date {
		return "", denied("SignatureDoesNotMatch", "the credential scope's date %s is not the date of X-Amz-Date %s", sig.date, sig.amzDate)
	}
	now := Now()
	if sig.presigned {
		if now.Before(t.Add(-MaxSkew)) || now.After(t.Add(sig.expires)) {
			return "", denied("RequestExpired", "the presigned request is valid from %s for %s", sig.amzDate, sig.expires)
		}
	} else if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return "", denied("RequestExpired", "the request time %s is more than %s from the server's time %s", sig.amzDate, MaxSkew, now.UTC().Format(timeFormat))
	}
	// The signature covers the payload hash that X-Amz-Content-Sha256
	// states: it must be the hash of the body received, or a signed
	// request's body could be replaced (UNSIGNED-PAYLOAD only without a
	// body, as in presigned URLs).
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		sum := sha256.Sum256(body)
		if !strings.EqualFold(h, hex.EncodeToString(sum[:])) && !(h == "UNSIGNED-PAYLOAD" && len(body) == 0) {
			return "", denied("SignatureDoesNotMatch", "X-Amz-Content-Sha256 is not the SHA-256 of the request body")
		}
	}
	scope := sig.date + "/" + sig.region + "/" + sig.service + "/aws4_request"
	canonical := canonicalRequest(r, body, sig)
	sum := sha256.Sum256([]byte(canonical))
	toSign := Algorithm + "\n" + sig.amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+key), sig.date)
	k = hmacSHA256(k, sig.region)
	k = hmacSHA256(k, sig.service)
	k = hmacSHA256(k, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(k, toSign))
	if !hmac.Equal([]byte(want), []byte(sig.sig)) {
		return "", denied("SignatureDoesNotMatch", "the request signature we calculated does not match the signature you provided; check your secret access key and signing method")
	}
	return sig.akid, nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// parse reads the signature from the Authorization header or the query.
func parse(r *http.Request) (signature, error) {
	var s signature
	var cred, signed string
	if auth := r.Header.Get("Authorization"); auth != "" {
		rest, ok := strings.CutPrefix(auth, Algorithm+" ")
		if !ok {
			return s, awsapi.Errorf("IncompleteSignature", "the Authorization header must use %s", Algorithm)
		}
		for part := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				cred = v
			case "SignedHeaders":
				signed = v
			case "Signature":
				s.sig = v
			}
		}
		s.amzDate = r.Header.Get("X-Amz-Date")
		if s.amzDate == "" {
			if d, err := http.ParseTime(r.Header.Get("Date")); err == nil {
				s.amzDate = d.UTC().Format(timeFormat)
			}
		}
	} else if q := r.URL.Query(); q.Get("X-Amz-Algorithm") != "" {
		if q.Get("X-Amz-Algorithm") != Algorithm {
			return s, awsapi.Errorf("IncompleteSignature", "X-Amz-Algorithm must be %s", Algorithm)
		}
		cred, signed, s.sig, s.amzDate = q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || secs < 1 || secs > 7*24*3600 {
			return s, awsapi.Errorf("IncompleteSignature", "X-Amz-Expires must be 1 to 604800 seconds")
		}
		s.presigned, s.expires = true, time.Duration(secs)*time.Second
	} else {
		return s, denied("MissingAuthenticationToken", "the request is not signed; authentication is on, so sign it with SigV4 (an AWS SDK or CLI with the access key courier was configured with)")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" || parts[4] != "aws4_request" {
		return s, awsapi.Errorf("IncompleteSignature", "Credential must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request")
	}
	s.akid, s.date, s.region, s.service = parts[0], parts[1], parts[2], parts[3]
	if signed == "" || s.sig == "" || s.amzDate == "" {
		return s, awsapi.Errorf("IncompleteSignature", "the signature needs Credential, SignedHeaders, Signature and X-Amz-Date")
	}
	// SignedHeaders need not include host: over HTTP/2 the JavaScript SDK
	// signs the :authority pseudo-header instead, and AWS accepts that.
	s.signedHeaders = strings.Split(signed, ";")
	return s, nil
}

// canonicalRequest builds SigV4's canonical request.
func canonicalRequest(r *http.Request, body []byte, s signature) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(escape(path, true))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query(), s.presigned))
	b.WriteByte('\n')
	for _, h := range s.signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(s.signedHeaders, ";"))
	b.WriteByte('\n')
	switch hash := r.Header.Get("X-Amz-Content-Sha256"); {
	case hash != "":
		b.WriteString(hash)
	case s.presigned && len(body) == 0:
		b.WriteString("UNSIGNED-PAYLOAD")
	default:
		sum := sha256.Sum256(body)
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()
}

// headerValue is the canonical value of header name: its values joined by
// commas, each trimmed with inner runs of spaces collapsed.
func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host", ":authority": // HTTP/2 clients may sign the authority pseudo-header
		vals = []string{r.Host}
	case "content-length":
		vals = []string{strconv.FormatInt(r.ContentLength, 10)}
	default:
		vals = slices.Clone(r.Header.Values(name)) // not the request's own slice, which the loop below rewrites
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// canonicalQuery sorts and encodes the query parameters (without the
// signature of a presigned request).
func canonicalQuery(q url.Values, presigned bool) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, kv{escape(k, false), escape(v, false)})
		}
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// escape percent-encodes s as SigV4 does: everything but the unreserved
// characters (and '/' in a path).
func escape(s string, path bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || path && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
