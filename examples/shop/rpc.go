package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/courier-io/courier/observability"
)

// jsonCodec is a connect codec that marshals plain Go structs as JSON, so
// the orders service speaks real gRPC (HTTP/2, length-prefixed frames,
// grpc-status trailers) with content type application/grpc+json, and the
// Connect protocol with application/json, without a .proto file or
// generated code. It replaces connect's built-in "json" codec, which
// needs protobuf messages.
type jsonCodec struct{}

// Name is the gRPC content subtype: application/grpc+json.
func (jsonCodec) Name() string { return "json" }

// Marshal encodes a request or response struct.
func (jsonCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes into a request or response struct.
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// h2c returns the protocols of a server or client that speaks HTTP/2
// without TLS (gRPC needs HTTP/2; the shop listens on loopback only). A
// server also keeps HTTP/1.1, for the Connect protocol and curl.
func h2c(server bool) *http.Protocols {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP1(server)
	return &p
}

// rpcTracing is a connect interceptor that makes an OpenTelemetry span for
// each unary call, a client span on the caller and a server span on the
// service, and carries W3C trace context in the request headers between
// them: the RPC conventions (rpc.system, rpc.service, rpc.method,
// rpc.grpc.status_code). Streams pass through untraced: the shop has none.
type rpcTracing struct {
	tracer trace.Tracer
}

// newRPCTracing returns the interceptor, with a tracer of tp.
func newRPCTracing(tp trace.TracerProvider) rpcTracing {
	return rpcTracing{tracer: tp.Tracer("github.com/courier-io/courier/examples/shop/rpc")}
}

// WrapUnary traces a unary call on either side.
func (t rpcTracing) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		spec := req.Spec()
		kind := trace.SpanKindServer
		if spec.IsClient {
			kind = trace.SpanKindClient
		} else {
			ctx = observability.Propagator.Extract(ctx, propagation.HeaderCarrier(req.Header()))
		}
		name := strings.TrimPrefix(spec.Procedure, "/")
		service, method, _ := strings.Cut(name, "/")
		ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", service),
			attribute.String("rpc.method", method),
		))
		defer span.End()
		if spec.IsClient {
			observability.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header()))
		}
		resp, err := next(ctx, req)
		code := connect.CodeOf(err)
		if err == nil {
			code = 0 // OK
		}
		span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		return resp, err
	}
}

// WrapStreamingClient passes streams through.
func (t rpcTracing) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler passes streams through.
func (t rpcTracing) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
