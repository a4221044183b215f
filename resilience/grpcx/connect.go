package grpcx

import (
	"context"
	"errors"
	"sync/atomic"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"

	"github.com/courier-io/courier/resilience"
)

// ConnectInterceptor returns a connect.Interceptor for clients and handlers.
// On a client it runs unary calls under p like UnaryClientInterceptor, but
// never hedged (a connect request cannot be sent twice at once), and adds
// the courier-deadline header to streams, which connect opens lazily and the
// policy does not guard. On a handler it reads the header and admits calls
// and streams through p like the grpc-go server interceptors.
func ConnectInterceptor(p *resilience.Policy) connect.Interceptor {
	return &connectInterceptor{p: p}
}

type connectInterceptor struct {
	p *resilience.Policy
}

func (i *connectInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return i.callUnary(ctx, req, next)
		}
		ctx, cancel, err := extractConnectDeadline(ctx, req.Header().Get)
		if err != nil {
			return nil, err
		}
		defer cancel()
		var resp connect.AnyResponse
		var handlerErr error
		var ran atomic.Bool
		err = i.p.Do(resilience.NotIdempotent(ctx), func(ctx context.Context) error {
			ran.Store(true)
			resp, handlerErr = next(ctx, req)
			return nil
		})
		if err != nil && !ran.Load() {
			return nil, connectError(err)
		}
		return resp, handlerErr
	}
}

func (i *connectInterceptor) callUnary(ctx context.Context, req connect.AnyRequest, next connect.UnaryFunc) (connect.AnyResponse, error) {
	type result struct {
		resp connect.AnyResponse
		err  error // the application's answer
	}
	parent := ctx
	res, err := resilience.Run(resilience.NoHedge(ctx), i.p, func(ctx context.Context) (result, error) {
		resilience.InjectDeadline(ctx, req.Header().Set)
		resp, err := next(ctx, req)
		policyErr, answerErr := classify(parent, ctx, err, codes.Code(connect.CodeOf(err)))
		return result{resp: resp, err: answerErr}, policyErr
	})
	if err != nil {
		return nil, connectError(err)
	}
	return res.resp, res.err
}

func (i *connectInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		resilience.InjectDeadline(ctx, conn.RequestHeader().Set)
		return conn
	}
}

func (i *connectInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, cancel, err := extractConnectDeadline(ctx, conn.RequestHeader().Get)
		if err != nil {
			return err
		}
		defer cancel()
		var handlerErr error
		var ran atomic.Bool
		err = i.p.Do(resilience.NotIdempotent(ctx), func(ctx context.Context) error {
			ran.Store(true)
			handlerErr = next(ctx, conn)
			return nil
		})
		if err != nil && !ran.Load() {
			return connectError(err)
		}
		return handlerErr
	}
}

func extractConnectDeadline(ctx context.Context, get func(string) string) (context.Context, context.CancelFunc, error) {
	ctx, cancel, err := resilience.ExtractDeadline(ctx, get)
	if err != nil {
		return ctx, cancel, connect.NewError(connect.CodeInvalidArgument, err)
	}
	return ctx, cancel, nil
}

// connectError returns err as a *connect.Error with the mapped code; it
// still unwraps to err.
func connectError(err error) error {
	code, ok := policyCode(err)
	if !ok {
		var ce *connect.Error
		if errors.As(err, &ce) && ce == err {
			return err
		}
		return connect.NewError(connect.CodeOf(err), err)
	}
	return connect.NewError(connect.Code(code), err)
}
