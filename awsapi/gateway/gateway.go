// Package gateway serves the AWS-compatible endpoints on one handler: it
// decodes a request, verifies its SigV4 signature when authentication is
// on, and hands it to the service it addresses (SQS, SNS, EventBridge or
// Kinesis) by its X-Amz-Target header, or, for the query protocol, by
// the signature's credential scope, the Version parameter, the path (an
// SQS queue URL) or the action's name.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// Defaults of Config.
const (
	DefaultRegion       = "us-east-1"
	DefaultAccountID    = "000000000000"
	DefaultMaxBodyBytes = 16 << 20
)

// Config configures a Gateway.
type Config struct {
	// Region of ARNs and events; default DefaultRegion.
	Region string
	// AccountID of ARNs and queue URLs: 12 digits; default DefaultAccountID.
	AccountID string
	// Credentials, when set, turns authentication on: every request must
	// carry a valid SigV4 signature by one of its access keys.
	Credentials Credentials
	// Authorizer decides what a caller may do; nil allows everything.
	Authorizer awsapi.Authorizer
	// Logger reports background failures; nil discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Credentials are the access keys a gateway accepts.
type Credentials interface {
	// Secret returns the secret access key of accessKeyID.
	Secret(accessKeyID string) (secret string, ok bool)
	// Caller returns ctx carrying the caller that accessKeyID belongs
	// to, for the Authorizer, or an error (*awsapi.Error) refusing the
	// request, such as a rate limit.
	Caller(ctx context.Context, accessKeyID string) (context.Context, error)
}

// Factory creates a service for env.
type Factory func(env *awsapi.Env) (awsapi.Service, error)

// Services are the factories of the services a gateway serves; a nil
// factory leaves that service out (its requests get UnknownOperation).
type Services struct {
	SQS, SNS, EventBridge, Kinesis Factory
}

// Gateway is an http.Handler for the AWS endpoints.
type Gateway struct {
	env                       *awsapi.Env
	cfg                       Config
	sqs, sns, events, kinesis endpoint
	services                  []awsapi.Service
}

// endpoint is one service of a gateway: the service, or why it is off.
type endpoint struct {
	svc awsapi.Service
	// off says why the service is not served (the backend lacks what it
	// needs); empty when it is served or was not asked for.
	off string
}

// New returns a gateway over b. It loads the AWS metadata (awsapi.Meta)
// from b and creates the services; Close stops them.
func New(ctx context.Context, b *courier.Broker, cfg Config, svcs Services) (*Gateway, error) {
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if !ValidAccountID(cfg.AccountID) {
		return nil, fmt.Errorf("aws account id %q must be 12 digits", cfg.AccountID)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	auth := cfg.Authorizer
	if auth == nil {
		auth = awsapi.AllowAll{}
	}
	meta, persistent, err := awsapi.OpenMeta(ctx, b)
	if err != nil {
		return nil, err
	}
	if !persistent {
		cfg.Logger.Warn("aws endpoints: the backend has no streams, so AWS-only attributes and tags are kept in memory only", "url", b.URL())
	}
	env := &awsapi.Env{Broker: b, Region: cfg.Region, AccountID: cfg.AccountID, Meta: meta, Auth: auth, Logger: cfg.Logger}
	g := &Gateway{env: env, cfg: cfg}
	caps := b.Capabilities()
	for _, s := range []struct {
		f    Factory
		dst  *endpoint
		name string
		// needs is what the backend must offer, or why it does not.
		needs string
		ok    bool
	}{
		{svcs.SNS, &g.sns, "SNS", "topics", caps.Topics},
		{svcs.SQS, &g.sqs, "SQS", "queues", caps.Queues},
		{svcs.EventBridge, &g.events, "EventBridge", "event buses", caps.Buses},
		{svcs.Kinesis, &g.kinesis, "Kinesis", "streams", caps.Streams},
	} {
		if s.f == nil {
			continue
		}
		if !s.ok {
			// A backend without the service's resources serves the other
			// services: courier serve runs on every backend.
			s.dst.off = fmt.Sprintf("the backend %s has no %s, so this server does not serve %s", b.URL(), s.needs, s.name)
			cfg.Logger.Warn("aws endpoints: "+s.dst.off, "service", s.name)
			continue
		}
		svc, err := s.f(env)
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		s.dst.svc = svc
		g.services = append(g.services, svc)
	}
	return g, nil
}

// ValidAccountID reports whether id is an account ID: 12 digits.
func ValidAccountID(id string) bool {
	return len(id) == 12 && strings.Trim(id, "0123456789") == ""
}

// Env returns the environment the services share.
func (g *Gateway) Env() *awsapi.Env { return g.env }

// SNSSigningCertificate returns the PEM certificate that verifies the
// signatures of SNS messages, or nil without SNS.
func (g *Gateway) SNSSigningCertificate() []byte {
	if c, ok := g.sns.svc.(interface{ SigningCertificate() []byte }); ok {
		return c.SigningCertificate()
	}
	return nil
}

// Close stops every service's background work.
func (g *Gateway) Close() error {
	var errs []error
	for _, s := range slices.Backward(g.services) {
		errs = append(errs, s.Close())
	}
	g.services = nil
	return errors.Join(errs...)
}

// SQS query-protocol and SNS API versions.
const (
	sqsVersion = "2012-11-05"
	snsVersion = "2010-03-31"
)

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", awsapi.NewRequestID())
	call, err := awsapi.DecodeRequest(r, g.cfg.MaxBodyBytes)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	ep := g.route(call)
	switch {
	case ep != nil && ep.off != "":
		g.writeError(w, r, &awsapi.Error{Code: "ServiceUnavailable", Type: "ServiceUnavailableException", Message: ep.off, Status: http.StatusServiceUnavailable})
		return
	case ep == nil || ep.svc == nil:
		g.writeError(w, r, &awsapi.Error{Code: "UnknownOperationException", Type: "UnknownOperationException",
			Message: fmt.Sprintf("no service of this endpoint handles %s (target %q, version %q)", call.Action, call.Target, call.Version)})
		return
	}
	svc := ep.svc
	if g.cfg.Credentials != nil && !(ep == &g.sns && link(call)) {
		ctx, err := g.authenticate(r, call)
		if err != nil {
			g.writeError(w, r, err)
			return
		}
		call.HTTP = r.WithContext(ctx)
	}
	svc.Serve(w, call.Request)
}

// route picks the service of a call; nil for an X-Amz-Target of no
// service here.
func (g *Gateway) route(c *awsapi.Call) *endpoint {
	switch c.Target {
	case "AmazonSQS":
		return &g.sqs
	case "AWSEvents":
		return &g.events
	case "Kinesis_20131202":
		return &g.kinesis
	case "":
	default:
		return nil
	}
	switch c.ScopeService {
	case "sqs":
		return &g.sqs
	case "sns":
		return &g.sns
	}
	switch c.Version {
	case sqsVersion:
		return &g.sqs
	case snsVersion:
		return &g.sns
	}
	if c.HTTP.URL.Path != "/" && c.HTTP.URL.Path != "" {
		return &g.sqs // a queue URL
	}
	if snsActions[c.Action] {
		return &g.sns
	}
	return &g.sqs
}

// link reports whether c is an unsigned GET of the links SNS sends to
// HTTP endpoints and in notifications (SubscribeURL, UnsubscribeURL):
// they carry no signature, as in AWS. The SNS service lets them through
// on their own proof: the confirmation token, or the subscription ARN of a
// subscription not confirmed with AuthenticateOnUnsubscribe.
func link(c *awsapi.Call) bool {
	return c.HTTP.Method == http.MethodGet && c.HTTP.Header.Get("Authorization") == "" && !c.HTTP.URL.Query().Has("X-Amz-Signature") &&
		(c.Action == "ConfirmSubscription" || c.Action == "Unsubscribe")
}

// snsActions are the SNS actions, for unsigned query requests that give
// no Version.
var snsActions = map[string]bool{
	"CreateTopic": true, "DeleteTopic": true, "ListTopics": true, "GetTopicAttributes": true,
	"SetTopicAttributes": true, "Subscribe": true, "Unsubscribe": true, "ConfirmSubscription": true,
	"ListSubscriptions": true, "ListSubscriptionsByTopic": true, "GetSubscriptionAttributes": true,
	"SetSubscriptionAttributes": true, "Publish": true, "PublishBatch": true, "TagResource": true,
	"UntagResource": true, "ListTagsForResource": true,
}

// writeError answers a request the gateway refuses, in the protocol the
// request used.
func (g *Gateway) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch target := r.Header.Get("X-Amz-Target"); {
	case target == "":
		awsapi.WriteQueryError(w, err, "")
	case len(target) >= 9 && target[:9] == "AmazonSQS":
		awsapi.WriteJSONError(w, err, awsapi.ContentTypeJSON10, "com.amazonaws.sqs", true)
	default:
		awsapi.WriteJSONError(w, err, awsapi.ContentTypeJSON11, "", false)
	}
}
