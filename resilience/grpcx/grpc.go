package grpcx

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/courier-io/courier/resilience"
)

// UnaryClientInterceptor runs each unary call under p (see the package
// doc); with a nil p it only adds the courier-deadline metadata. Hedged attempts each decode into their own copy of a proto reply;
// with a non-proto codec the call is not hedged.
func UnaryClientInterceptor(p *resilience.Policy) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if p == nil {
			return invoker(withDeadline(ctx), method, req, reply, cc, opts...)
		}
		msg, isProto := reply.(proto.Message)
		if !isProto {
			ctx = resilience.NoHedge(ctx)
		}
		type result struct {
			reply any
			err   error // the application's answer
		}
		parent := ctx
		res, err := resilience.Run(ctx, p, func(ctx context.Context) (result, error) {
			out := reply
			if isProto {
				out = msg.ProtoReflect().New().Interface()
			}
			err := invoker(withDeadline(ctx), method, req, out, cc, opts...)
			policyErr, answerErr := classify(parent, ctx, err, status.Code(err))
			return result{reply: out, err: answerErr}, policyErr
		})
		if err != nil {
			return statusError(err)
		}
		if res.err != nil {
			return res.err
		}
		if isProto && res.reply != reply {
			proto.Reset(msg)
			proto.Merge(msg, res.reply.(proto.Message))
		}
		return nil
	}
}

// StreamClientInterceptor runs the opening of each stream under p: the
// breaker, limiter and bulkhead admit it, failed opens are retried, but
// there are no hedges, and the stream, once open, lives on the caller's
// context rather than an attempt's.
func StreamClientInterceptor(p *resilience.Policy) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		parent := withDeadline(ctx)
		var answerErr error
		cs, err := resilience.Run(resilience.NoHedge(ctx), p, func(actx context.Context) (grpc.ClientStream, error) {
			cs, err := streamer(parent, desc, cc, method, opts...)
			var policyErr error
			policyErr, answerErr = classify(ctx, actx, err, status.Code(err))
			return cs, policyErr
		})
		if err != nil {
			return nil, statusError(err)
		}
		if answerErr != nil {
			return nil, answerErr
		}
		return cs, nil
	}
}

// UnaryServerInterceptor reads the courier-deadline metadata into the
// handler's context and admits the call through p (nil: deadline only).
func UnaryServerInterceptor(p *resilience.Policy) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, cancel, err := extractDeadline(ctx)
		if err != nil {
			return nil, err
		}
		defer cancel()
		var resp any
		var handlerErr error
		var ran atomic.Bool
		err = p.Do(resilience.NotIdempotent(ctx), func(ctx context.Context) error {
			ran.Store(true)
			resp, handlerErr = handler(ctx, req)
			return nil
		})
		if err != nil && !ran.Load() {
			return nil, statusError(err)
		}
		return resp, handlerErr
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams: a bulkhead
// slot is held while the stream is served.
func StreamServerInterceptor(p *resilience.Policy) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel, err := extractDeadline(ss.Context())
		if err != nil {
			return err
		}
		defer cancel()
		var handlerErr error
		var ran atomic.Bool
		err = p.Do(resilience.NotIdempotent(ctx), func(ctx context.Context) error {
			ran.Store(true)
			handlerErr = handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
			return nil
		})
		if err != nil && !ran.Load() {
			return statusError(err)
		}
		return handlerErr
	}
}

type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// withDeadline adds the courier-deadline key to ctx's outgoing metadata.
func withDeadline(ctx context.Context) context.Context {
	if _, ok := ctx.Deadline(); !ok {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	resilience.InjectDeadline(ctx, func(k, v string) { md.Set(k, v) })
	return metadata.NewOutgoingContext(ctx, md)
}

func extractDeadline(ctx context.Context) (context.Context, context.CancelFunc, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	ctx, cancel, err := resilience.ExtractDeadline(ctx, func(key string) string {
		if v := md.Get(key); len(v) > 0 {
			return v[0]
		}
		return ""
	})
	if err != nil {
		return ctx, cancel, status.Error(codes.InvalidArgument, err.Error())
	}
	return ctx, cancel, nil
}

// statusError returns err as a gRPC status error that still unwraps to err,
// so that both status.Code and errors.Is work on it.
func statusError(err error) error {
	code, ok := policyCode(err)
	if !ok {
		if _, isStatus := err.(interface{ GRPCStatus() *status.Status }); isStatus {
			return err
		}
		code = status.Code(err) // a status wrapped by ErrRetriesExhausted, say
	}
	return &policyStatus{st: status.New(code, err.Error()), err: err}
}

type policyStatus struct {
	st  *status.Status
	err error
}

func (e *policyStatus) Error() string              { return e.st.Err().Error() }
func (e *policyStatus) GRPCStatus() *status.Status { return e.st }
func (e *policyStatus) Unwrap() error              { return e.err }
