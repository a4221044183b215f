package handler

import (
	"context"

	"github.com/courier-io/courier/resilience"
)

// Resilient runs the handler under a resilience policy: in-place retries
// with jittered backoff and a retry budget, a circuit breaker that stops
// calling a failing dependency (the message then fails with
// resilience.ErrCircuitOpen and comes back after the route's backoff), a
// bulkhead, a rate limit, a timeout. Errors marked Permanent are not
// retried by the policy and stay permanent for the route.
func Resilient(p *resilience.Policy) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			var permanent error
			err := p.Do(ctx, func(ctx context.Context) error {
				err := next.Handle(ctx, m)
				if IsPermanent(err) {
					permanent = err
					return resilience.Permanent(err)
				}
				return err
			})
			if err != nil && permanent != nil {
				return permanent
			}
			return err
		})
	}
}
