// Package resilience wraps outbound calls and handlers in policies: timeout
// with deadline propagation, retry with exponential backoff and full jitter,
// retry budgets, circuit breaker, bulkhead, rate limiter, hedged requests and
// fallback.
//
// A *Policy is built once, by New with options or from a Config loaded from
// YAML or JSON, and is safe for concurrent use by many goroutines; its
// breaker, limiter and bulkhead state is shared by every call that goes
// through it. A call runs through the policies in this order, outermost
// first:
//
//	fallback → retry (+ budget) → rate limit → bulkhead → circuit breaker → timeout → hedge → fn
//
// so each retry is a new attempt that must pass the rate limiter, the
// bulkhead and the breaker again; the timeout bounds one attempt (including
// its hedges); and hedges race inside one attempt. The rate limiter and
// bulkhead sit outside the breaker so that their own rejections are never
// recorded by the breaker as outcomes of the downstream.
//
// Rejections and exhaustion are reported with the sentinel errors
// ErrCircuitOpen, ErrBudgetExhausted, ErrBulkheadFull, ErrRateLimited,
// ErrTimeout and ErrRetriesExhausted, tested with errors.Is. Errors that
// follow an attempt (ErrRetriesExhausted, ErrBudgetExhausted, ErrTimeout) also
// wrap the attempt's own error.
//
// Deadlines travel between services in the Courier-Deadline header (or the
// courier-deadline gRPC metadata key) as the remaining time minus
// DeadlineMargin, so the deadline shrinks at every hop: see InjectDeadline
// and ExtractDeadline. Packages httpx and grpcx apply policies and deadline
// propagation to net/http, grpc-go and connect.
//
// The primitives come from github.com/failsafe-go/failsafe-go (retry policy,
// circuit breaker, bulkhead, rate limiter, hedge policy, fallback); this
// package adds the retry budget, full-jitter backoff with Retry-After hints,
// the bulkhead's bounded queue, the percentile hedge delay, the timeout as a
// real context deadline, deadline propagation and configuration loading. All
// timing uses the time package, so tests run under testing/synctest; build
// the Policy (and its Budget) inside the bubble, since budgets and rate
// limiters measure time from their creation.
package resilience
