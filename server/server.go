// Package server serves the courier API over HTTP: REST/JSON under /v1/
// (queues, topics with a streaming tail, streams with consumer groups,
// event buses with rules, archives and replays), /healthz, /readyz and
// /metrics. Handlers only translate: every rule lives in package courier
// and the backend, and every error goes through the one table of package
// internal/httpapi. docs/http-api.md documents the API.
//
// Every route runs behind a guard (guard.go): authentication by bearer
// token or client certificate (WithIdentities; off by default), the
// permission that the route's row of the one access table (authz.go)
// names, per-identity rate limits and the other Limits (limits.go), and
// metrics (metrics.go). docs/server.md documents them.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/gateway"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
	"go.opentelemetry.io/otel/trace"
)

// MaxRequestBytes bounds a request body: a full batch of maximal messages
// in base64 fits, anything larger is refused with 413 before decoding.
// Limits.MaxRequestBytes may lower it.
const MaxRequestBytes = 64 << 20

// Option configures New.
type Option func(*Server)

// WithLogger sets the logger for request failures (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithTracerProvider traces every request in a server span (otelhttp),
// named by its route and continuing the W3C trace context of the request's
// headers; the courier calls it makes are children of that span when the
// Broker was opened with the same provider (courier.WithTracerProvider).
// Without it the server makes no spans.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(s *Server) { s.tracerProvider = tp }
}

// WithIdentities turns authentication on: a request must carry the bearer
// token, or a verified client certificate, of one of ids, and the route's
// permission must be among the identity's grants (docs/server.md has the
// table). Identities should pass Identity.Validate; one that does not is
// logged and ignored. With no ids at all, every request but the public
// ones is refused. Default: authentication off, every request allowed.
func WithIdentities(ids ...Identity) Option {
	return func(s *Server) { s.identities = append([]Identity{}, ids...) }
}

// WithPublicReadyz opens GET /readyz to unauthenticated callers (for
// probes that cannot carry a token). Default: it needs an identity, as
// every route but /healthz does.
func WithPublicReadyz() Option { return func(s *Server) { s.public["GET /readyz"] = true } }

// WithPublicMetrics opens GET /metrics to unauthenticated scrapers.
// Default: it needs an identity.
func WithPublicMetrics() Option { return func(s *Server) { s.public["GET /metrics"] = true } }

// Server is an http.Handler serving one Broker.
type Server struct {
	b      *courier.Broker
	logger *slog.Logger
	mux    *router
	// drain ends long polls when the server shuts down.
	drain       context.Context
	cancelDrain context.CancelFunc

	limits Limits
	// identities are those of WithIdentities: nil when authentication is
	// off. auth finds them; it is nil when authentication is off, and
	// every request runs as anonymous.
	identities []Identity
	auth       *authenticator
	anonymous  *identity
	// public are the routes opened by options, by pattern.
	public  map[string]bool
	streams semaphore
	conns   atomic.Int64
	metrics *serverMetrics
	ws      wsHub // WebSocket connections (ws.go)
	// tracerProvider traces requests (WithTracerProvider); nil for none.
	tracerProvider trace.TracerProvider
	// historyConfig is WithHistory's; history samples while it is set.
	historyConfig *HistoryConfig
	history       *history
	// awsConfig is WithAWS's; aws is the gateway made from it, and awsErr
	// why it could not be made.
	awsConfig *AWSConfig
	aws       *gateway.Gateway
	awsErr    error
	// awsQueueURL serves requests to SQS queue URLs of account awsAccount.
	awsQueueURL http.Handler
	awsAccount  string
}

// New returns a server for b. It does not own b: closing b is the caller's.
// Call Drain when done with it: it stops the server's background work
// (the history sampler of WithHistory).
func New(b *courier.Broker, opts ...Option) *Server {
	s := &Server{b: b, logger: slog.New(slog.DiscardHandler), public: map[string]bool{}}
	s.metrics = newMetrics(s)
	s.mux = &router{ServeMux: http.NewServeMux(), s: s}
	s.drain, s.cancelDrain = context.WithCancel(context.Background())
	for _, o := range opts {
		o(s)
	}
	s.limits = s.limits.withDefaults()
	s.streams = newSemaphore(s.limits.MaxStreams)
	s.anonymous = &identity{
		name:    "anonymous",
		grants:  []Grant{{Actions: []Action{ActionAdmin}, Resource: "*"}},
		limiter: newLimiter(s.limits.Rate, s.limits.Burst),
	}
	if s.identities != nil {
		var errs []error
		s.auth, errs = newAuthenticator(s.identities, s.limits)
		for _, err := range errs {
			s.logger.Error("authentication", "err", err)
		}
	}
	s.routes()
	if s.historyConfig != nil {
		s.history = newHistory(*s.historyConfig)
		go s.history.run(s.drain, b)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inFlight.Inc()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.metrics.inFlight.Dec()
		// The router set r.Pattern to the route that answered.
		s.metrics.observe(r.Pattern, sw.code(), time.Since(start))
	}()
	if s.awsQueueRequest(r) {
		r.Pattern = awsQueuePattern
		s.awsQueueURL.ServeHTTP(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// Drain ends every long poll in progress (it answers with the messages it
// has, usually none) and makes new receives return at once. It closes
// every WebSocket with 1001 (going away) and waits until they are closed
// (at most WSConfig.CloseTimeout for clients that do not answer). Call it
// It stops the history sampler (WithHistory). Call it
// before http.Server.Shutdown so shutdown does not wait for 20-second
// polls, and since Shutdown does not track WebSockets.
func (s *Server) Drain() {
	s.cancelDrain()
	s.drainWebSockets()
	if s.aws != nil {
		if err := s.aws.Close(); err != nil {
			s.logger.Warn("stopping the aws endpoints", "err", err)
		}
	}
	if s.historyConfig != nil {
		<-s.history.done // the sampler stops with the drain context
	}
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	s.mux.HandleFunc("GET /v1/capabilities", s.capabilities)
	s.mux.HandleFunc("GET /v1/history", s.serveHistory)
	s.mux.HandleFunc("GET /v1/queues", s.listQueues)
	s.mux.HandleFunc("PUT /v1/queues/{name}", s.createQueue)
	s.mux.HandleFunc("PATCH /v1/queues/{name}", s.updateQueue)
	s.mux.HandleFunc("GET /v1/queues/{name}", s.queueInfo)
	s.mux.HandleFunc("GET /v1/queues/{name}/peek", s.peek)
	s.mux.HandleFunc("DELETE /v1/queues/{name}", s.deleteQueue)
	s.mux.HandleFunc("POST /v1/queues/{name}/purge", s.purge)
	s.mux.HandleFunc("POST /v1/queues/{name}/messages", s.send)
	s.mux.HandleFunc("POST /v1/queues/{name}/receive", s.receive)
	s.mux.HandleFunc("POST /v1/queues/{name}/ack", s.ack)
	s.mux.HandleFunc("POST /v1/queues/{name}/nack", s.nack)
	s.mux.HandleFunc("POST /v1/queues/{name}/extend", s.extend)
	s.mux.HandleFunc("POST /v1/queues/{name}/redrive", s.redrive)
	s.topicRoutes()
	s.streamRoutes()
	s.busRoutes()
	s.grpcRoutes()
	s.mux.Handle("GET /v1/ws", s.wsHandler())
	s.uiRoutes()
	s.awsRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%s %s: no such endpoint (see docs/http-api.md): %w", r.Method, r.URL.Path, driver.ErrNotFound))
	})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if _, err := s.b.ListQueues(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) capabilities(w http.ResponseWriter, r *http.Request) {
	c := s.b.Capabilities()
	writeJSON(w, http.StatusOK, httpapi.Capabilities{
		Queues: c.Queues, FIFO: c.FIFO, Dedup: c.Dedup, Delay: c.Delay, DeadLetter: c.DeadLetter,
		Redrive: c.Redrive, LongPoll: c.LongPoll, Persistent: c.Persistent,
		Topics: c.Topics, Push: c.Push, Streams: c.Streams, Buses: c.Buses,
	})
}

// readBody reads the request body, refusing more than MaxRequestBytes
// (or the smaller Limits.MaxRequestBytes that the route guard set).
func readBody(r *http.Request, w http.ResponseWriter) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, driver.TooLarge("body", "request body exceeds %d bytes", mbe.Limit)
		}
		return nil, driver.Invalid("body", "reading the request body: %v", err)
	}
	return data, nil
}

// DecodeJSON decodes one JSON value from data into v, refusing unknown
// fields and trailing data; an empty body is allowed when optional.
func DecodeJSON(data []byte, v any, optional bool) error {
	if len(data) == 0 {
		if optional {
			return nil
		}
		return driver.Invalid("body", "request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return driver.Invalid("body", "unexpected data after the JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return driver.Invalid("body", "unexpected data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a ValidationError naming the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var ve *driver.ValidationError
	switch {
	case errors.As(err, &ve): // from a wire type's UnmarshalJSON
		return ve
	case errors.As(err, &te):
		// A type error inside the single-message form names the
		// embedded struct ("Message.body"); the JSON has no such level.
		field := strings.TrimPrefix(te.Field, "Message.")
		if field == "" {
			field = "body"
		}
		if httpapi.IsDurationType(te.Type) {
			return driver.Invalid(field, "not a duration: %s", te.Value)
		}
		return driver.Invalid(field, "expected %s, got JSON %s", jsonTypeName(te.Type.Kind()), te.Value)
	case errors.As(err, &se):
		return driver.Invalid("body", "malformed JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return driver.Invalid("body", "JSON ends early")
	}
	msg := err.Error()
	const unknown = "json: unknown field "
	if name, ok := strings.CutPrefix(msg, unknown); ok {
		if unq, err := strconv.Unquote(name); err == nil {
			name = unq
		}
		if name == "" {
			return driver.Invalid("body", "unknown field \"\"; see docs/http-api.md")
		}
		return driver.Invalid(name, "unknown field; see docs/http-api.md")
	}
	return driver.Invalid("body", "%v", err)
}

// jsonTypeName names a Go kind as the JSON type it decodes.
func jsonTypeName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
		return "a number"
	}
	return k.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // text such as ">" in filter policies stays as it was sent
	_ = enc.Encode(v)        // the client went away; nothing to do
}

func writeError(w http.ResponseWriter, err error) {
	status, e := httpapi.ErrorOf(err)
	writeJSON(w, status, httpapi.ErrorResponse{Error: e})
}

// pollContext is r's context, also ended by Drain.
func (s *Server) pollContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.drain, cancel)
	return ctx, func() { stop(); cancel() }
}

// draining reports whether the server is shutting down.
func (s *Server) draining() bool { return s.drain.Err() != nil }

// durationOr returns *d or def.
func durationOr(d *httpapi.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return time.Duration(*d)
}

// writeAPIError answers an error returned by the courier API, dropping the
// context the API added ("queue \"x\": send: ") so that a remote client,
// which adds it again, does not show it twice.
func writeAPIError(w http.ResponseWriter, err error) {
	if inner := errors.Unwrap(err); inner != nil {
		err = inner
	}
	writeError(w, err)
}
