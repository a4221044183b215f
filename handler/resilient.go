package handler

import (
	"context"
	"sync/atomic"

	"github.com/courier-io/courier/resilience"
)

// Resilient runs the handler under a resilience policy: in-place retries
// with jittered backoff and a retry budget, a circuit breaker that stops
// calling a failing dependency (the message then fails with
// resilience.ErrCircuitOpen and comes back after the route's backoff), a
// bulkhead, a rate limit, a timeout. Errors marked Permanent are not
// retried by the policy and stay permanent for the route. Hedging is
// switched off: a message is handled by one attempt at a time.
func Resilient(p *resilience.Policy) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			var permanent atomic.Pointer[error]
			// No hedging: a message is handled by one attempt at a time.
			err := p.Do(resilience.NoHedge(ctx), func(ctx context.Context) error {
				err := next.Handle(ctx, m)
				if IsPermanent(err) {
					permanent.Store(&err)
					return resilience.Permanent(err)
				}
				return err
			})
			if perr := permanent.Load(); err != nil && perr != nil {
				return *perr
			}
			return err
		})
	}
}
