package awsapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	courier "github.com/courier-io/courier"
	"github.com/google/uuid"
)

// Permission is what an action needs on its resource, as a courier server
// grant names it (docs/server.md).
type Permission string

// The permissions, as the server's grant actions.
const (
	// Publish: send, publish, put events, put records.
	Publish Permission = "publish"
	// Consume: receive, delete (ack), change visibility, get records.
	Consume Permission = "consume"
	// Manage: create, delete, configure, tag, subscribe, purge, redrive.
	Manage Permission = "manage"
	// Describe: reading attributes, descriptions and tags; any of the
	// other permissions on the resource allows it. Lists of every
	// resource of a kind (ListQueues, ListTopics, ...) need it on name
	// "*", which grants on single resources do not cover.
	Describe Permission = "describe"
)

// Authorizer decides whether the caller of a request may act on a
// resource. kind is "queue", "topic", "stream" or "bus" and name the
// courier resource, or "*" for every resource of the kind (lists).
// The error it returns is an *Error (AccessDenied) or a reason that
// Env.Authorize turns into one.
type Authorizer interface {
	Authorize(ctx context.Context, perm Permission, kind, name string) error
}

// AllowAll is the Authorizer of a server without authentication.
type AllowAll struct{}

// Authorize implements Authorizer: it allows everything.
func (AllowAll) Authorize(context.Context, Permission, string, string) error { return nil }

// Env is what every service handler works with: the broker, the account
// and region its ARNs and URLs name, the metadata store and the
// authorizer.
type Env struct {
	Broker *courier.Broker
	// Region is the region of ARNs and event envelopes, e.g. "us-east-1".
	Region string
	// AccountID is the 12-digit account of ARNs and queue URLs.
	AccountID string
	// Meta keeps AWS attributes and tags that courier resources do not.
	Meta *Meta
	// Auth authorizes every action; AllowAll when authentication is off.
	Auth Authorizer
	// Logger reports what a caller does not see (background work).
	Logger *slog.Logger
	// Notifications renders SNS notifications in SQS deliveries; package
	// sns sets it when the gateway creates the SNS service. Nil leaves
	// bodies as stored.
	Notifications NotificationRenderer
}

// Authorize checks perm on the courier resource kind:name for the caller
// of ctx and returns an AccessDenied *Error when it is refused.
func (e *Env) Authorize(ctx context.Context, perm Permission, kind, name string) error {
	if err := e.Auth.Authorize(ctx, perm, kind, name); err != nil {
		if ae, ok := err.(*Error); ok {
			return ae
		}
		return &Error{Code: "AccessDenied", Type: "AccessDeniedException", Message: err.Error(), Status: http.StatusForbidden}
	}
	return nil
}

// Request is one call of an AWS action, decoded by the gateway.
type Request struct {
	// HTTP is the request; its body has been read into Body.
	HTTP *http.Request
	// Action is the operation: "SendMessage", "PutEvents".
	Action string
	// Body is the request body: JSON (or CBOR for Kinesis) for the JSON
	// protocols, empty for the query protocol.
	Body []byte
	// CBOR marks a Kinesis request in CBOR (Content-Type
	// application/x-amz-cbor-1.1); the answer must be CBOR too.
	CBOR bool
	// Form holds the query protocol's parameters (body form and URL
	// query); nil for the JSON protocols.
	Form url.Values
	// BaseURL is the scheme and host the client reached, e.g.
	// "http://127.0.0.1:7410": queue URLs and subscription URLs start with it.
	BaseURL string
}

// Context returns the request's context.
func (r *Request) Context() context.Context { return r.HTTP.Context() }

// requestIDHeader carries the request ID in every response.
const requestIDHeader = "X-Amzn-RequestId"

// RequestID returns the request ID of the response w, setting a new one
// when it has none.
func RequestID(w http.ResponseWriter) string {
	if id := w.Header().Get(requestIDHeader); id != "" {
		return id
	}
	id := NewRequestID()
	w.Header().Set(requestIDHeader, id)
	return id
}

// NewRequestID returns a random UUID-shaped request ID.
func NewRequestID() string { return uuid.NewString() }
