package resilience

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/failsafe-go/failsafe-go/retrypolicy"

	failsafebudget "github.com/failsafe-go/failsafe-go/budget"
)

// Jitter selects how a retry delay is randomised.
type Jitter int

const (
	// JitterFull waits a uniformly random time in [0, ceiling], where the
	// ceiling is min(MaxDelay, MinDelay·2^(n-1)) before retry n ("full
	// jitter"). Clients that failed together do not retry together.
	JitterFull Jitter = iota
	// JitterNone waits exactly the ceiling.
	JitterNone
)

// String returns "full" or "none".
func (j Jitter) String() string {
	switch j {
	case JitterFull:
		return "full"
	case JitterNone:
		return "none"
	}
	return fmt.Sprintf("Jitter(%d)", int(j))
}

// Defaults of RetryConfig.
const (
	DefaultMaxAttempts = 3
	DefaultMinDelay    = 50 * time.Millisecond
	DefaultMaxDelay    = 2 * time.Second
)

// RetryConfig configures retries; its zero value means the defaults: 3
// attempts, full jitter between 50ms and 2s, every error retried.
type RetryConfig struct {
	// MaxAttempts counts every attempt, the first included: 1..101, default
	// 3. One attempt means no retries.
	MaxAttempts int
	// MinDelay is the backoff base: the ceiling before retry n is
	// min(MaxDelay, MinDelay·2^(n-1)). Default 50ms; at most 1h.
	MinDelay time.Duration
	// MaxDelay caps the backoff ceiling and any Retry-After hint from the
	// downstream (see RetryAfter). Default 2s, or MinDelay when that is
	// larger; at least MinDelay, at most 1h.
	MaxDelay time.Duration
	// Jitter is JitterFull (the default) or JitterNone.
	Jitter Jitter
	// RetryIf reports whether an attempt's error deserves another attempt.
	// It is not consulted for errors that are never retried: rejections by
	// this Policy's breaker, bulkhead or rate limiter, context.Canceled, and
	// errors marked Permanent. Default: retry every other error, including
	// ErrTimeout.
	RetryIf func(err error) bool
}

func (r RetryConfig) normalized() RetryConfig {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.MinDelay == 0 {
		r.MinDelay = DefaultMinDelay
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = max(DefaultMaxDelay, r.MinDelay)
	}
	return r
}

func (r RetryConfig) validate(v *validator) {
	v.intRange("retry.maxAttempts", r.MaxAttempts, 1, 101)
	v.durationRange("retry.minDelay", r.MinDelay, time.Nanosecond, time.Hour)
	v.durationRange("retry.maxDelay", r.MaxDelay, time.Nanosecond, time.Hour)
	if r.MaxDelay < r.MinDelay {
		v.fail("retry.maxDelay", "%v is less than minDelay %v", r.MaxDelay, r.MinDelay)
	}
	if r.Jitter != JitterFull && r.Jitter != JitterNone {
		v.fail("retry.jitter", "%v is not JitterFull or JitterNone", r.Jitter)
	}
}

// backoffCeiling returns min(maxDelay, minDelay·2^(retry-1)) for retry ≥ 1.
func backoffCeiling(retry int, minDelay, maxDelay time.Duration) time.Duration {
	d := minDelay
	for i := 1; i < retry && d < maxDelay; i++ {
		d *= 2 // no overflow: d < maxDelay ≤ 1h before doubling
	}
	return min(d, maxDelay)
}

// delay returns the wait before retry n (n ≥ 1) given the failed attempt's
// error: the jittered backoff, raised to the error's Retry-After hint capped
// by MaxDelay.
func (r RetryConfig) delay(n int, lastErr error) time.Duration {
	d := backoffCeiling(n, r.MinDelay, r.MaxDelay)
	if r.Jitter == JitterFull {
		d = time.Duration(rand.Int64N(int64(d) + 1))
	}
	if hint, ok := RetryAfter(lastErr); ok {
		d = max(d, min(hint, r.MaxDelay))
	}
	return d
}

// rejected reports whether err is one of failsafe's own refusals, which are
// never retried and never recorded by the breaker.
func rejected(err error) bool {
	return errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, bulkhead.ErrFull) ||
		errors.Is(err, ratelimiter.ErrExceeded) || errors.Is(err, failsafebudget.ErrExceeded)
}

func (p *Policy) retryable(err error) bool {
	if err == nil || rejected(err) || isPermanent(err) || errors.Is(err, context.Canceled) {
		return false
	}
	if p.retry.RetryIf != nil {
		return p.retry.RetryIf(err)
	}
	return true
}

func (p *Policy) buildRetry() retrypolicy.RetryPolicy[outcome] {
	cfg := p.retry
	b := retrypolicy.NewBuilder[outcome]().
		WithMaxAttempts(cfg.MaxAttempts).
		HandleIf(func(_ outcome, err error) bool { return p.retryable(err) }).
		WithDelayFunc(func(exec failsafe.ExecutionAttempt[outcome]) time.Duration {
			return cfg.delay(exec.Retries()+1, exec.LastError())
		})
	if p.budget != nil {
		b = b.WithBudget(budgetAdapter{p.budget})
	}
	return b.Build()
}
