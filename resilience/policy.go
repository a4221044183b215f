package resilience

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/fallback"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/failsafe-go/failsafe-go/retrypolicy"

	failsafebudget "github.com/failsafe-go/failsafe-go/budget"
)

// Policy applies its policies to calls made with Do or Run. Build one with
// New, DefaultPolicy or Config.PolicyFor and share it: it is safe for
// concurrent use, and its breaker, bulkhead, rate limiter and hedge latencies
// are shared by all of its calls. A nil *Policy runs calls unchanged.
type Policy struct {
	name     string
	timeout  time.Duration
	retry    RetryConfig
	budget   *Budget
	hedgeCfg HedgeConfig
	latency  *latencyWindow
	limitFor time.Duration // rate limiter refill period, the Retry-After hint

	breaker   circuitbreaker.CircuitBreaker[outcome]
	hasHedge  bool
	full      failsafe.Executor[outcome] // nil when there are no failsafe policies
	once      failsafe.Executor[outcome] // full without the retry policy
	hedgeExec failsafe.Executor[outcome]
}

// outcome is what an attempt produced, as failsafe sees it: the value for
// Run, whether a hedged copy's result ends its attempt, and the state of the
// attempt (or copy) that produced it.
type outcome struct {
	val   any
	final bool
	st    *attemptState
}

// Option configures New. Options are applied in order; a later option
// replaces an earlier one of the same kind.
type Option func(*settings)

type settings struct {
	name     string
	timeout  time.Duration
	retry    *RetryConfig
	budget   *Budget
	breaker  *BreakerConfig
	bulkhead *[2]int
	rate     *rateSettings
	hedge    *HedgeConfig
	fallback func(context.Context, error) error
	errs     []error
}

type rateSettings struct {
	rate  float64
	burst int
}

// WithName names the Policy in its errors, e.g. `(policy "orders")`.
// Config.PolicyFor names each Policy after its target. Default: no name.
func WithName(name string) Option {
	return func(s *settings) { s.name = name }
}

// WithTimeout bounds each attempt (with its hedges) to d, 1ms..24h: the
// attempt's context gets a deadline d from the attempt's start (or the
// caller's deadline, if earlier), which InjectDeadline propagates. An attempt
// that fails after its own timeout expired returns an error wrapping
// ErrTimeout and the attempt's error; it is retried like any failure. The
// caller's deadline is never extended. Default: no timeout beyond the
// caller's context.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) { s.timeout = d }
}

// WithRetry retries failed attempts, waiting with exponential backoff and
// jitter between them; see RetryConfig for the defaults and which errors are
// retried. When the attempts run out, the error wraps ErrRetriesExhausted and
// the last attempt's error. Combine with WithBudget. Default: no retries.
func WithRetry(c RetryConfig) Option {
	return func(s *settings) { s.retry = &c }
}

// WithBudget makes retries and hedges withdraw a token from b, and every
// call that reaches fn deposit to it; when b has no token the call returns an error wrapping
// ErrBudgetExhausted and the last attempt's error instead of retrying. Share
// b between every Policy that calls the same downstream. WithBudget(nil)
// removes a budget set by an earlier option (such as Defaults). Default: no
// budget.
func WithBudget(b *Budget) Option {
	return func(s *settings) { s.budget = b }
}

// WithBreaker adds a circuit breaker; see BreakerConfig for its modes and
// defaults. Default: no breaker.
func WithBreaker(c BreakerConfig) Option {
	return func(s *settings) { s.breaker = &c }
}

// WithBulkhead limits concurrent attempts to maxConcurrent (1..1000000); up to
// maxQueue (0..1000000) more wait, in FIFO order, until a slot frees or their
// context ends. Beyond that, attempts fail at once with ErrBulkheadFull.
// Default: no limit.
func WithBulkhead(maxConcurrent, maxQueue int) Option {
	return func(s *settings) { s.bulkhead = &[2]int{maxConcurrent, maxQueue} }
}

// WithRateLimit allows rate attempts per second on average (0 < rate ≤
// 1000000), in bursts of up to burst (1..1000000): burst permits are granted
// every burst/rate seconds. An attempt without a permit fails at once with
// ErrRateLimited, whose RetryAfter hint is the refill period. Default: no
// limit.
func WithRateLimit(rate float64, burst int) Option {
	return func(s *settings) { s.rate = &rateSettings{rate, burst} }
}

// WithHedge sends hedged copies of slow attempts; see HedgeConfig. A call
// made with NotIdempotent or NoHedge is never hedged. Default: no hedging.
func WithHedge(c HedgeConfig) Option {
	return func(s *settings) { s.hedge = &c }
}

// WithFallback calls fn when a call fails for any reason except the end of
// the caller's context, with the error the call would have returned; Do
// returns what fn returns (Run returns T's zero value with it). Default: no
// fallback.
func WithFallback(fn func(ctx context.Context, err error) error) Option {
	return func(s *settings) { s.fallback = fn }
}

// Defaults sets the policies of DefaultPolicy: up to 3 attempts with full
// jitter between 50ms and 2s; a new budget letting retries be 10% of the
// requests of the last second plus 10 (see DefaultBudgetWindow); a breaker that opens when half
// of at least 20 calls in 10s failed, for 1s, then probes with 3 trial calls;
// no timeout but the caller's context. Later options override these, e.g.
// New(Defaults(), WithBudget(shared)).
func Defaults() Option {
	return func(s *settings) {
		s.retry = &RetryConfig{}
		b, err := NewBudget(DefaultBudgetRatio, DefaultBudgetMinPerSecond, DefaultBudgetWindow)
		if err != nil {
			s.errs = append(s.errs, err)
		}
		s.budget = b
		s.breaker = &BreakerConfig{}
	}
}

// DefaultPolicy returns New(Defaults()): see Defaults. Each call returns a
// Policy with its own budget and breaker.
func DefaultPolicy() *Policy {
	p, err := New(Defaults())
	if err != nil {
		panic("resilience: the defaults are invalid: " + err.Error()) // a bug, not bad input
	}
	return p
}

// New returns a Policy with the given options; with none, it runs calls
// unchanged. It fails with errors matching courier.ErrInvalid that name each
// option value out of range (e.g. "retry.maxAttempts: 0 is out of range
// 1..101").
func New(opts ...Option) (*Policy, error) {
	var s settings
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	v := validator{errs: s.errs}
	p := &Policy{name: s.name, budget: s.budget}
	if s.timeout != 0 {
		v.durationRange("timeout", s.timeout, time.Millisecond, 24*time.Hour)
		p.timeout = s.timeout
	}
	if s.retry != nil {
		p.retry = s.retry.normalized()
		p.retry.validate(&v)
	}
	var breakerCfg BreakerConfig
	if s.breaker != nil {
		breakerCfg = s.breaker.normalized()
		breakerCfg.validate(&v)
	}
	if s.bulkhead != nil {
		v.intRange("bulkhead.maxConcurrent", s.bulkhead[0], 1, 1_000_000)
		v.intRange("bulkhead.maxQueue", s.bulkhead[1], 0, 1_000_000)
	}
	if s.rate != nil {
		if v.floatRange("rateLimit.rate", s.rate.rate, 0, 1_000_000, true) &&
			v.intRange("rateLimit.burst", s.rate.burst, 1, 1_000_000) {
			p.limitFor = time.Duration(float64(s.rate.burst) / s.rate.rate * float64(time.Second))
			if p.limitFor <= 0 || p.limitFor > 1000*time.Hour {
				v.fail("rateLimit", "burst %d at rate %s gives a refill period of %v; want 1ns..1000h", s.rate.burst, fmtFloat(s.rate.rate), p.limitFor)
			}
		}
	}
	if s.hedge != nil {
		p.hedgeCfg = s.hedge.normalized()
		p.hedgeCfg.validate(&v)
	}
	if err := v.err(); err != nil {
		return nil, err
	}

	// Compose failsafe policies, outermost first; see the package doc.
	var outer, inner []failsafe.Policy[outcome]
	if s.fallback != nil {
		outer = append(outer, p.buildFallback(s.fallback))
	}
	var retry retrypolicy.RetryPolicy[outcome]
	if s.retry != nil && p.retry.MaxAttempts > 1 {
		retry = p.buildRetry()
	}
	if s.rate != nil {
		inner = append(inner, ratelimiter.NewBurstyBuilder[outcome](uint(s.rate.burst), p.limitFor).Build())
	}
	if s.bulkhead != nil {
		n, q := s.bulkhead[0], s.bulkhead[1]
		wait := time.Duration(0)
		if q > 0 {
			inner = append(inner, &queueLimit{limit: int64(n + q)})
			wait = time.Duration(math.MaxInt64) // bounded by the queue and ctx instead
		}
		inner = append(inner, bulkhead.NewBuilder[outcome](uint(n)).WithMaxWaitTime(wait).Build())
	}
	if s.breaker != nil {
		p.breaker = buildBreaker(breakerCfg)
		inner = append(inner, p.breaker)
	}
	if s.hedge != nil {
		p.hasHedge = true
		if p.hedgeCfg.Percentile != 0 {
			p.latency = newLatencyWindow(p.hedgeCfg.Percentile, p.hedgeCfg.Samples)
		}
		p.hedgeExec = failsafe.With[outcome](p.buildHedge())
	}
	once := append(append([]failsafe.Policy[outcome](nil), outer...), inner...)
	full := once
	if retry != nil {
		full = append(append(append([]failsafe.Policy[outcome](nil), outer...), retry), inner...)
	}
	if len(full) > 0 {
		p.full = failsafe.With[outcome](full...)
	}
	if len(once) > 0 {
		p.once = failsafe.With[outcome](once...)
	}
	return p, nil
}

// Name returns the name given by WithName.
func (p *Policy) Name() string {
	if p == nil {
		return ""
	}
	return p.name
}

// Do runs fn under the policy and returns nil when an attempt succeeded (or
// the fallback handled the failure). Each attempt gets a context derived
// from ctx that carries the attempt's deadline; it is cancelled when the
// attempt times out or loses a hedge race, and when the attempt is over
// (unless fn called DeferCancel); fn must return promptly once it is done.
// When ctx ends, Do makes no further attempts and returns ctx's error. Do
// returns only after every attempt it started has returned. Errors caused by
// the policies wrap the package's sentinel errors; others are fn's own.
func (p *Policy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	_, err := p.run(ctx, func(ctx context.Context) (any, error) { return nil, fn(ctx) })
	return err
}

// Run is Do for a function with a result: it returns the value of the
// attempt that succeeded, or T's zero value with the error.
func Run[T any](ctx context.Context, p *Policy, fn func(ctx context.Context) (T, error)) (T, error) {
	v, err := p.run(ctx, func(ctx context.Context) (any, error) { return fn(ctx) })
	t, _ := v.(T)
	return t, err
}

type modeKey struct{}

type mode uint8

const (
	modeNoRetry mode = 1 << iota
	modeNoHedge
)

func modeOf(ctx context.Context) mode {
	m, _ := ctx.Value(modeKey{}).(mode)
	return m
}

// NotIdempotent returns a context under which a Policy makes at most one
// attempt of fn: no retries and no hedges, because sending the call twice
// could apply it twice. The other policies still apply.
func NotIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, modeKey{}, modeOf(ctx)|modeNoRetry|modeNoHedge)
}

// NoHedge returns a context under which a Policy never runs two attempts at
// the same time: retries still happen, hedges do not. Use it when fn's inputs
// cannot be shared by concurrent attempts.
func NoHedge(ctx context.Context) context.Context {
	return context.WithValue(ctx, modeKey{}, modeOf(ctx)|modeNoHedge)
}

// call is the state of one Do or Run.
type call struct {
	fn       func(context.Context) (any, error)
	noHedge  bool
	attempts atomic.Int32
	mu       sync.Mutex
	last     error // the last attempt's error
}

func (c *call) lastErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

type callKey struct{}

// errAttemptTimeout is the cancellation cause of an attempt's own timeout.
var errAttemptTimeout = errors.New("resilience: attempt timeout")

func (p *Policy) run(ctx context.Context, fn func(context.Context) (any, error)) (any, error) {
	if p == nil {
		return fn(ctx)
	}
	m := modeOf(ctx)
	c := &call{fn: fn, noHedge: m&modeNoHedge != 0}
	exec := p.full
	if m&modeNoRetry != 0 {
		exec = p.once
	}
	var o outcome
	var err error
	if exec == nil {
		o, err = p.attempt(ctx, c)
	} else {
		ctx = context.WithValue(ctx, callKey{}, c)
		o, err = exec.WithContext(ctx).GetWithExecution(func(e failsafe.Execution[outcome]) (outcome, error) {
			return p.attempt(e.Context(), c)
		})
	}
	if err != nil {
		return nil, p.finish(c, err)
	}
	return o.val, nil
}

// attempt runs one attempt of c: the timeout, then fn directly or hedged.
// The first attempt deposits to the budget: a call counts as a request once
// it passed the breaker, rate limiter and bulkhead.
func (p *Policy) attempt(ctx context.Context, c *call) (outcome, error) {
	if c.attempts.Add(1) == 1 && p.budget != nil {
		p.budget.Deposit()
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if p.timeout > 0 {
		actx, cancel = context.WithTimeoutCause(ctx, p.timeout, errAttemptTimeout)
	}
	var o outcome
	var err error
	if p.hasHedge && !c.noHedge {
		o, err = p.hedged(actx, c)
	} else {
		o.st = new(attemptState)
		o.val, err = c.fn(context.WithValue(actx, attemptKey{}, o.st))
	}
	if err == nil && o.st != nil && o.st.deferred.Load() {
		o.st.onRelease(cancel) // the winner asked to keep its context: see DeferCancel
	} else {
		cancel()
	}
	if err != nil && actx != ctx && ctx.Err() == nil && context.Cause(actx) == errAttemptTimeout {
		err = &policyError{kind: ErrTimeout, name: p.name, detail: "after " + p.timeout.String(), cause: err}
	}
	c.mu.Lock()
	c.last = err
	c.mu.Unlock()
	return o, err
}

// attemptState lets fn keep its attempt's context alive after returning;
// see DeferCancel.
type attemptState struct {
	deferred atomic.Bool
	mu       sync.Mutex
	released bool
	releases []func()
}

type attemptKey struct{}

// onRelease runs f when the state is released, or now if it already was.
func (s *attemptState) onRelease(f func()) {
	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		f()
		return
	}
	s.releases = append(s.releases, f)
	s.mu.Unlock()
}

func (s *attemptState) release() {
	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		return
	}
	s.released = true
	fs := s.releases
	s.releases = nil
	s.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// DeferCancel, called by fn with the context its attempt was given, keeps
// that context alive after fn returns, until the returned function is called
// (it may be called more than once): for results that are consumed after Do
// returns, such as an HTTP response body read on the attempt's connection.
// It only has effect when the attempt succeeds and wins; a failed attempt or
// a losing hedge is cancelled as usual. The attempt's deadline (WithTimeout)
// still applies. Outside an attempt it returns a function that does nothing.
func DeferCancel(ctx context.Context) (release func()) {
	st, ok := ctx.Value(attemptKey{}).(*attemptState)
	if !ok {
		return func() {}
	}
	st.deferred.Store(true)
	return st.release
}

// finish turns failsafe's errors into the package's.
func (p *Policy) finish(c *call, err error) error {
	var exceeded retrypolicy.ExceededError
	switch {
	case errors.As(err, &exceeded):
		return &policyError{kind: ErrRetriesExhausted, name: p.name,
			detail: afterAttempts(c), cause: unmark(exceeded.LastError)}
	case errors.Is(err, failsafebudget.ErrExceeded):
		return &policyError{kind: ErrBudgetExhausted, name: p.name,
			detail: afterAttempts(c), cause: unmark(c.lastErr())}
	case errors.Is(err, circuitbreaker.ErrOpen):
		var wait time.Duration
		if p.breaker != nil {
			wait = p.breaker.RemainingDelay()
		}
		return &policyError{kind: ErrCircuitOpen, name: p.name, retryAfter: wait}
	case errors.Is(err, ratelimiter.ErrExceeded):
		return &policyError{kind: ErrRateLimited, name: p.name, retryAfter: p.limitFor}
	case errors.Is(err, bulkhead.ErrFull):
		return &policyError{kind: ErrBulkheadFull, name: p.name}
	}
	return unmark(err)
}

func afterAttempts(c *call) string {
	if n := c.attempts.Load(); n != 1 {
		return fmt.Sprintf("after %d attempts", n)
	}
	return "after 1 attempt"
}

// unmark removes a Permanent mark around err.
func unmark(err error) error {
	if pe, ok := err.(*permanentError); ok {
		return pe.err
	}
	return err
}

func (p *Policy) buildFallback(fn func(context.Context, error) error) failsafe.Policy[outcome] {
	return fallback.NewBuilderWithFunc[outcome](func(e failsafe.Execution[outcome]) (outcome, error) {
		err := e.LastError()
		if c, ok := e.Context().Value(callKey{}).(*call); ok {
			err = p.finish(c, err)
		}
		return outcome{}, fn(e.Context(), err)
	}).Build()
}

// BudgetAvailable returns the retries p's retry budget allows now, and
// false when p has no budget.
func (p *Policy) BudgetAvailable() (int, bool) {
	if p == nil || p.budget == nil {
		return 0, false
	}
	return p.budget.Available(), true
}
