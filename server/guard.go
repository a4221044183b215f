package server

import (
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/observability"
)

// router is the server's ServeMux. Every route registered on it runs
// behind the guard of its accessTable row, and its pattern is recorded
// for the metrics and for the test that checks the table covers every
// route.
type router struct {
	*http.ServeMux
	s        *Server
	patterns []string
}

// HandleFunc registers h for pattern behind its guard.
func (m *router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// Handle registers h for pattern behind its guard, and with a tracer
// provider (WithTracerProvider) inside a server span named by the route,
// continuing the trace the request carries.
func (m *router) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, m.wrap(pattern, h))
}

// wrap returns h behind the guard of pattern, with its metrics and
// tracing, and records the pattern, for a route that Handle registers
// or that the server dispatches itself (ServeHTTP).
func (m *router) wrap(pattern string, h http.Handler) http.Handler {
	m.patterns = append(m.patterns, pattern)
	m.s.metrics.addRoute(pattern, routeAccess[pattern].surface)
	h = m.s.guard(pattern, h)
	if tp := m.s.tracerProvider; tp != nil {
		h = otelhttp.NewHandler(h, pattern, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(observability.Propagator))
	}
	return h
}

// guard wraps the handler of the route pattern with what every request
// goes through before it: authentication (unless the route is public),
// the identity's rate limit, the route's permission from accessTable, a
// place among the streams for long polls and streams, and the request
// body limit. A route without an accessTable row is refused with
// authentication on.
func (s *Server) guard(pattern string, h http.Handler) http.Handler {
	acc, known := routeAccess[pattern]
	public := acc.public || s.public[pattern]
	grpc := acc.surface == "grpc"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !public {
			id, err := s.authenticate(r)
			if err != nil {
				// The challenge of RFC 6750.
				w.Header().Set("WWW-Authenticate", `Bearer realm="courier"`)
				refuse(w, r, grpc, err)
				return
			}
			if rl := id.allow(); rl != nil {
				refuseRateLimited(w, r, grpc, rl)
				return
			}
			switch {
			case !known && s.auth != nil:
				refuse(w, r, grpc, fmt.Errorf("%w: %s has no access rule, so it is closed while authentication is on", httpapi.ErrPermissionDenied, pattern))
				return
			case acc.kind != "":
				if resource := acc.resource(r); !allows(id.grants, acc.actions, resource) {
					refuse(w, r, grpc, permissionDenied(id, acc.actions, resource))
					return
				}
			}
			r = r.WithContext(withIdentity(r.Context(), id))
		}
		if acc.long {
			if !s.streams.tryAcquire() {
				refuseRateLimited(w, r, grpc, &rateLimited{
					fmt.Errorf("%w: the server has %d long polls and streams in progress, its limit; retry later", httpapi.ErrRateLimited, cap(s.streams)),
					time.Second,
				})
				return
			}
			defer s.streams.release()
		}
		switch {
		case acc.surface == "grpc" && acc.long:
			// A gRPC stream lives as long as the client keeps it: connect
			// bounds each message (ReadMaxBytes), and the read deadline
			// must not cut a consumer session short.
			_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		case r.Body != nil && r.Body != http.NoBody:
			r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxRequestBytes)
		}
		h.ServeHTTP(w, r)
	})
}

// grpcErrorWriter writes errors in the protocol of a gRPC, gRPC-Web or
// Connect request.
var grpcErrorWriter = connect.NewErrorWriter()

// refuse answers a request that the guard turns away with err: for a
// route of the gRPC surface in the request's own protocol (a gRPC status
// with the code and details the gRPC services answer, see grpcError), so
// that gRPC clients read it as they read any other error; as the JSON
// error object otherwise.
func refuse(w http.ResponseWriter, r *http.Request, grpc bool, err error) {
	if grpc && grpcErrorWriter.IsSupported(r) {
		_ = grpcErrorWriter.Write(w, r, grpcError(err))
		return
	}
	writeError(w, err)
}
