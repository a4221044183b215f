package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/gateway"
	"github.com/courier-io/courier/driver"
)

// AWSConfig configures the AWS-compatible endpoints (WithAWS).
type AWSConfig struct {
	// Region and AccountID are those of ARNs, queue URLs and events;
	// empty takes gateway.DefaultRegion and gateway.DefaultAccountID.
	Region    string
	AccountID string
	// AccessKeys are the SigV4 keys accepted while authentication is on
	// (WithIdentities); each acts as an identity of the server.
	AccessKeys []AWSAccessKey
	// Services are the services to serve (package awsapi/services gives
	// all four).
	Services gateway.Services
}

// AWSAccessKey is an AWS access key that acts as a server identity.
type AWSAccessKey struct {
	// ID is the access key ID the SDK sends ("AKIA...").
	ID string
	// Secret is the secret access key: SigV4 needs it to check a
	// signature, so the server keeps it (unlike bearer tokens).
	Secret string
	// Identity names the Identity (WithIdentities) whose grants and rate
	// apply to requests signed with the key.
	Identity string
}

// WithAWS serves the AWS-compatible endpoints on the server's port:
// POST / (and GET / for the query protocol, as SNS's SubscribeURL),
// POST /ACCOUNT/QUEUE (SQS queue URLs), and GET
// /aws/sns/signing-cert.pem. With authentication on, requests must be
// signed with SigV4 by one of cfg.AccessKeys; otherwise signatures are
// not checked. Err reports a failure to start them.
func WithAWS(cfg AWSConfig) Option {
	return func(s *Server) { s.awsConfig = &cfg }
}

// Err reports a failure to set up an optional part of the server (the
// AWS endpoints of WithAWS); such a part answers every request with the
// failure.
func (s *Server) Err() error { return s.awsErr }

// awsRoutes mounts the AWS endpoints of WithAWS.
func (s *Server) awsRoutes() {
	if s.awsConfig == nil {
		return
	}
	h := s.newAWSGateway()
	s.mux.Handle("POST /{$}", h)
	s.mux.Handle("GET /{$}", h)
	s.mux.HandleFunc("GET /aws/sns/signing-cert.pem", s.snsSigningCert)
	// Queue URLs (/ACCOUNT/QUEUE) cannot be a ServeMux pattern beside
	// the gRPC services' prefixes: ServeHTTP sends them here.
	s.awsQueueURL = s.mux.wrap(awsQueuePattern, h)
	s.awsAccount = s.awsConfig.AccountID
	if s.awsAccount == "" {
		s.awsAccount = gateway.DefaultAccountID
	}
}

// awsQueuePattern is the route of requests to SQS queue URLs.
const awsQueuePattern = "POST /{account}/{queue}"

// awsQueueRequest reports whether r is a query-protocol request to an SQS
// queue URL of this server's account: POST /ACCOUNT/QUEUE.
func (s *Server) awsQueueRequest(r *http.Request) bool {
	if s.awsQueueURL == nil || r.Method != http.MethodPost {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+s.awsAccount+"/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// newAWSGateway creates the gateway, or a handler that reports why it
// could not be created.
func (s *Server) newAWSGateway() http.Handler {
	cfg := s.awsConfig
	gcfg := gateway.Config{Region: cfg.Region, AccountID: cfg.AccountID, Logger: s.logger, MaxBodyBytes: s.limits.MaxRequestBytes}
	if s.auth != nil {
		access, err := s.newAWSAccess(cfg.AccessKeys)
		if err != nil {
			return s.awsFailed(err)
		}
		gcfg.Credentials, gcfg.Authorizer = access, access
	}
	g, err := gateway.New(context.Background(), s.b, gcfg, cfg.Services)
	if err != nil {
		return s.awsFailed(err)
	}
	s.aws = g
	return g
}

// awsFailed records err and returns a handler answering with it.
func (s *Server) awsFailed(err error) http.Handler {
	s.awsErr = fmt.Errorf("aws endpoints: %w", err)
	s.logger.Error("aws endpoints are off", "err", err)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		awsapi.WriteQueryError(w, &awsapi.Error{Code: "ServiceUnavailable", Message: s.awsErr.Error(), Status: http.StatusServiceUnavailable}, "")
	})
}

// snsSigningCert serves the certificate of SNS message signatures.
func (s *Server) snsSigningCert(w http.ResponseWriter, r *http.Request) {
	var cert []byte
	if s.aws != nil {
		cert = s.aws.SNSSigningCertificate()
	}
	if cert == nil {
		writeError(w, fmt.Errorf("the SNS endpoint is not served here: %w", driver.ErrNotFound))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(cert)
}

// awsAccess maps AWS access keys to the server's identities: the
// gateway's Credentials and Authorizer.
type awsAccess struct {
	s    *Server
	keys map[string]AWSAccessKey
	ids  map[string]*identity
}

// newAWSAccess checks the access keys against the server's identities.
func (s *Server) newAWSAccess(keys []AWSAccessKey) (*awsAccess, error) {
	a := &awsAccess{s: s, keys: map[string]AWSAccessKey{}, ids: map[string]*identity{}}
	for _, id := range s.auth.ids {
		a.ids[id.name] = id
	}
	for i, k := range keys {
		switch {
		case k.ID == "" || k.Secret == "":
			return nil, fmt.Errorf("access key %d: needs an id and a secret", i)
		case a.ids[k.Identity] == nil:
			return nil, fmt.Errorf("access key %q: names identity %q, which the server does not have", k.ID, k.Identity)
		}
		if _, dup := a.keys[k.ID]; dup {
			return nil, fmt.Errorf("access key %q is given twice", k.ID)
		}
		a.keys[k.ID] = k
	}
	return a, nil
}

// Secret implements gateway.Credentials.
func (a *awsAccess) Secret(akid string) (string, bool) {
	k, ok := a.keys[akid]
	return k.Secret, ok
}

// Caller implements gateway.Credentials: the key's identity, within its
// rate.
func (a *awsAccess) Caller(ctx context.Context, akid string) (context.Context, error) {
	id := a.ids[a.keys[akid].Identity]
	if rl := id.allow(); rl != nil {
		return nil, &awsapi.Error{Code: "Throttling", Type: "ThrottlingException", Message: rl.err.Error(), Status: http.StatusBadRequest}
	}
	return withIdentity(ctx, id), nil
}

// Authorize implements awsapi.Authorizer with the grants of the caller's
// identity, as the server's own routes check them.
// A refusal becomes AWS's AccessDenied (awsapi.Env.Authorize).
func (a *awsAccess) Authorize(ctx context.Context, perm awsapi.Permission, kind, name string) error {
	actions := describe
	if perm != awsapi.Describe {
		actions = []Action{Action(perm)}
	}
	return a.s.authorizeAny(ctx, actions, kind, name)
}
