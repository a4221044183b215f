package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/internal/httpapi"
)

// The gRPC surface: the services of proto/courier/v1 served with
// connect-go on the server's mux, beside REST, so one port speaks gRPC,
// gRPC-Web and the Connect protocol (over HTTP/2, with or without TLS, and
// HTTP/1.1 for unary calls and server streams), plus gRPC server
// reflection. Like the REST handlers, the gRPC handlers only translate:
// they call the root courier API, and every error goes through the one
// table of internal/httpapi (GRPCErrorOf). docs/grpc.md documents the
// surface.

// grpcErrorDomain is the domain of the google.rpc.ErrorInfo of every
// error the gRPC surface answers.
const grpcErrorDomain = "courier"

// grpcAPI implements the gRPC services on a Server.
type grpcAPI struct {
	s *Server
	// windows is the flow control of the receive streams and consumer
	// sessions: which receipts they have sent and not had settled.
	windows *windows
}

// grpcServices lists the fully-qualified names of the courier services,
// for reflection and the docs.
var grpcServices = []string{
	courierv1connect.QueueServiceName,
	courierv1connect.TopicServiceName,
	courierv1connect.StreamServiceName,
	courierv1connect.BusServiceName,
	courierv1connect.ConsumerServiceName,
	courierv1connect.ServerServiceName,
}

// grpcRoutes mounts the gRPC services and reflection on the server's mux.
// Each service is mounted at its path prefix ("/courier.v1.QueueService/")
// for its unary calls, and each streaming procedure and long poll also at
// its own path ("/courier.v1.QueueService/Receive"), so that the route
// guard can treat them as the long requests they are (Limits.MaxStreams)
// while short calls are not. The guard authenticates; each call then
// checks the permission on the resource its request names (allow).
func (s *Server) grpcRoutes() {
	g := &grpcAPI{s: s, windows: newWindows()}
	opts := []connect.HandlerOption{
		// A message larger than this is refused with RESOURCE_EXHAUSTED
		// before it is decoded.
		connect.WithReadMaxBytes(int(min(s.limits.MaxRequestBytes, MaxRequestBytes))),
		connect.WithInterceptors(grpcErrors{}),
	}
	mount := func(path string, h http.Handler, streams ...string) {
		h = withRequestBase(h)
		s.mux.Handle(path, h)
		for _, p := range streams {
			s.mux.Handle(p, h)
		}
	}
	path, h := courierv1connect.NewQueueServiceHandler(grpcQueues{g}, opts...)
	mount(path, h, courierv1connect.QueueServiceReceiveProcedure, courierv1connect.QueueServicePullProcedure)
	path, h = courierv1connect.NewTopicServiceHandler(grpcTopics{g}, opts...)
	mount(path, h, courierv1connect.TopicServiceReceiveSubscriptionProcedure, courierv1connect.TopicServiceTailProcedure,
		courierv1connect.TopicServicePullSubscriptionProcedure)
	path, h = courierv1connect.NewStreamServiceHandler(grpcStreams{g}, opts...)
	mount(path, h, courierv1connect.StreamServiceReadProcedure, courierv1connect.StreamServicePollProcedure,
		courierv1connect.StreamServiceFetchProcedure)
	path, h = courierv1connect.NewBusServiceHandler(grpcBuses{g}, opts...)
	mount(path, h, courierv1connect.BusServiceReceiveTargetProcedure)
	path, h = courierv1connect.NewConsumerServiceHandler(grpcConsumer{g}, opts...)
	mount(path, h)
	path, h = courierv1connect.NewServerServiceHandler(grpcServer{g}, opts...)
	mount(path, h)

	reflector := grpcreflect.NewStaticReflector(grpcServices...)
	mount(grpcreflect.NewHandlerV1(reflector, opts...))
	mount(grpcreflect.NewHandlerV1Alpha(reflector, opts...))
}

// grpcErrors is the interceptor that turns the errors of the handlers
// (courier errors, validation errors) into gRPC statuses by the one
// error table (see grpcError).
type grpcErrors struct{}

func (grpcErrors) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		if err != nil {
			return nil, grpcError(err)
		}
		return res, nil
	}
}

func (grpcErrors) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (grpcErrors) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := next(ctx, conn); err != nil {
			return grpcError(err)
		}
		return nil
	}
}

// grpcError turns err into a *connect.Error: the status code of the error
// table's row, the message (without the context the courier API added,
// which names what the request named, as REST answers), and two details:
// a google.rpc.ErrorInfo whose reason is the REST error code in upper
// case ("NOT_FOUND") and, for invalid input, a google.rpc.BadRequest
// naming the field. A *connect.Error passes unchanged.
func grpcError(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	if inner := errors.Unwrap(err); inner != nil {
		err = inner
	}
	code, e := httpapi.GRPCErrorOf(err)
	out := connect.NewError(code, errors.New(e.Message))
	info := &errdetails.ErrorInfo{Reason: strings.ToUpper(e.Code), Domain: grpcErrorDomain}
	if e.Field != "" {
		info.Metadata = map[string]string{"field": e.Field}
	}
	if d, derr := connect.NewErrorDetail(info); derr == nil {
		out.AddDetail(d)
	}
	if e.Field != "" {
		br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
			Field:       e.Field,
			Description: trimFieldPrefix(e.Message, e.Field),
		}}}
		if d, derr := connect.NewErrorDetail(br); derr == nil {
			out.AddDetail(d)
		}
	}
	return out
}

// trimFieldPrefix removes the leading "field: " of a validation error's
// message, for the field violation's description.
func trimFieldPrefix(msg, field string) string {
	if rest, ok := strings.CutPrefix(msg, field+": "); ok {
		return rest
	}
	return msg
}

// shuttingDown is the error of a stream that the server ends because it
// drains: UNAVAILABLE, so clients retry elsewhere or later.
var shuttingDown = connect.NewError(connect.CodeUnavailable, errors.New("the server is shutting down"))

// streamContext returns ctx, also ended by Drain, for streams and long
// polls.
func (g *grpcAPI) streamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(g.s.drain, cancel)
	return ctx, func() { stop(); cancel() }
}

// endErr is the error that ends a stream whose work failed with err:
// shuttingDown when the server drains, err otherwise.
func (g *grpcAPI) endErr(err error) error {
	if g.s.draining() {
		return shuttingDown
	}
	return err
}

// allow checks that the caller may do one of actions on the resource
// kind:name ("queue:orders"; name "*" for every resource of the kind, as
// lists and replays need). It is the gRPC counterpart of a row of the
// access table: a gRPC route names a procedure, not a resource, so each
// call checks the resource its request names. It returns nil when
// authentication is off, else a permission_denied error.
func (g *grpcAPI) allow(ctx context.Context, kind, name string, actions ...Action) error {
	id := identityFrom(ctx)
	if id == nil {
		if g.s.auth == nil {
			return nil
		}
		return fmt.Errorf("%w: no identity on this request", httpapi.ErrUnauthenticated)
	}
	resource := kind + ":" + name
	if allows(id.grants, actions, resource) {
		return nil
	}
	return permissionDenied(id, actions, resource)
}

// requestBaseKey is the context key of the base URL a request reached the
// server at.
type requestBaseKey struct{}

// withRequestBase puts the base URL of the request ("http://host:port")
// in its context, for the handlers that name the server in what they
// store (an HTTP subscription's confirm URL), as the REST handlers take
// it from the request.
func withRequestBase(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestBaseKey{}, scheme+"://"+r.Host)))
	})
}

// requestBase returns the base URL withRequestBase put in ctx.
func requestBase(ctx context.Context) string {
	base, _ := ctx.Value(requestBaseKey{}).(string)
	return base
}
