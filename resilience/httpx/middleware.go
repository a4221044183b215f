package httpx

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/courier-io/courier/resilience"
)

// Middleware returns server middleware that
//
//   - reads the Courier-Deadline header into the request's context (see
//     resilience.ExtractDeadline), answering 400 Bad Request with the reason
//     when the header is malformed, and 504 Gateway Timeout without calling
//     the handler when the deadline has already passed;
//   - runs the handler under p (nil: no policy), once — a handler is never
//     retried or hedged — and, when p's rate limiter, bulkhead or breaker
//     refuses the request, answers 503 Service Unavailable with a
//     Retry-After header (whole seconds, at least 1) instead of calling the
//     handler.
//
// A timeout in p bounds the handler's context.
func Middleware(p *resilience.Policy) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel, err := resilience.ExtractDeadline(r.Context(), r.Header.Get)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			defer cancel()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				http.Error(w, "the caller's "+resilience.DeadlineHeader+" has already passed", http.StatusGatewayTimeout)
				return
			}
			if p == nil {
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			var ran atomic.Bool
			err = p.Do(resilience.NotIdempotent(ctx), func(ctx context.Context) error {
				ran.Store(true)
				next.ServeHTTP(w, r.WithContext(ctx))
				return nil
			})
			if err != nil && !ran.Load() {
				secs := 1
				if d, ok := resilience.RetryAfter(err); ok {
					secs = max(1, int(math.Ceil(d.Seconds())))
				}
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
			}
		})
	}
}
