package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
)

// Defaults of BreakerConfig.
const (
	DefaultFailureRatio   = 0.5
	DefaultMinCalls       = 20
	DefaultBreakerWindow  = 10 * time.Second
	DefaultOpenFor        = time.Second
	DefaultHalfOpenProbes = 3
)

// BreakerConfig configures a circuit breaker; its zero value means the
// defaults: open when at least half of the calls of the last 10s failed and
// there were at least 20, stay open 1s, then let 3 trial calls through.
//
// The breaker counts the outcome of every attempt: an error is a failure
// except context.Canceled and rejections by the Policy's own bulkhead or rate
// limiter; nil is a success. While open it refuses attempts with
// ErrCircuitOpen. After OpenFor, the next attempt finds it half-open: up to
// HalfOpenProbes trial attempts run (others are refused); it closes when all
// of them succeed and opens again, for another OpenFor, at the first failure.
type BreakerConfig struct {
	// ConsecutiveFailures, when positive (1..10000), selects the
	// consecutive-failures mode: open after this many failures in a row.
	// Leave it 0 for the failure-ratio mode.
	ConsecutiveFailures int
	// FailureRatio is the failure-ratio mode's threshold, in (0, 1]: open
	// when failures/calls over Window reach it. Default 0.5.
	FailureRatio float64
	// MinCalls (1..1000000) is how many calls Window must hold before the
	// ratio is judged. Default 20.
	MinCalls int
	// Window (1s..1h) is the ratio's sliding window; it slides in tenths.
	// Default 10s.
	Window time.Duration
	// OpenFor (1ms..1h) is how long the breaker stays open before trial
	// calls. Default 1s.
	OpenFor time.Duration
	// HalfOpenProbes (1..1000) is how many trial calls run while half-open;
	// all must succeed to close. Default 3.
	HalfOpenProbes int
}

func (c BreakerConfig) normalized() BreakerConfig {
	if c.ConsecutiveFailures == 0 {
		if c.FailureRatio == 0 {
			c.FailureRatio = DefaultFailureRatio
		}
		if c.MinCalls == 0 {
			c.MinCalls = DefaultMinCalls
		}
		if c.Window == 0 {
			c.Window = DefaultBreakerWindow
		}
	}
	if c.OpenFor == 0 {
		c.OpenFor = DefaultOpenFor
	}
	if c.HalfOpenProbes == 0 {
		c.HalfOpenProbes = DefaultHalfOpenProbes
	}
	return c
}

func (c BreakerConfig) validate(v *validator) {
	if c.ConsecutiveFailures != 0 {
		v.intRange("breaker.consecutiveFailures", c.ConsecutiveFailures, 1, 10000)
		if c.FailureRatio != 0 || c.MinCalls != 0 || c.Window != 0 {
			v.fail("breaker", "consecutiveFailures excludes failureRatio, minCalls and window; set one mode")
		}
	} else {
		v.floatRange("breaker.failureRatio", c.FailureRatio, 0, 1, true)
		v.intRange("breaker.minCalls", c.MinCalls, 1, 1_000_000)
		v.durationRange("breaker.window", c.Window, time.Second, time.Hour)
	}
	v.durationRange("breaker.openFor", c.OpenFor, time.Millisecond, time.Hour)
	v.intRange("breaker.halfOpenProbes", c.HalfOpenProbes, 1, 1000)
}

// breakerFailure reports whether the breaker counts err as a failure.
func breakerFailure(err error) bool {
	return err != nil && !rejected(err) && !errors.Is(err, context.Canceled)
}

func buildBreaker(c BreakerConfig) circuitbreaker.CircuitBreaker[outcome] {
	b := circuitbreaker.NewBuilder[outcome]().
		HandleIf(func(_ outcome, err error) bool { return breakerFailure(err) }).
		WithDelay(c.OpenFor).
		WithSuccessThreshold(uint(c.HalfOpenProbes))
	if c.ConsecutiveFailures > 0 {
		b = b.WithFailureThreshold(uint(c.ConsecutiveFailures))
	} else {
		b = b.WithFailureRateThreshold(c.FailureRatio, uint(c.MinCalls), c.Window)
	}
	return b.Build()
}

// BreakerState is the state of a Policy's circuit breaker.
type BreakerState int

const (
	// BreakerClosed lets every attempt through (also reported by a Policy
	// without a breaker).
	BreakerClosed BreakerState = iota
	// BreakerOpen refuses every attempt until its open time has passed; the
	// first attempt after that moves it to half-open.
	BreakerOpen
	// BreakerHalfOpen lets a limited number of trial attempts through.
	BreakerHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("BreakerState(%d)", int(s))
}

// BreakerState returns the state of p's circuit breaker, BreakerClosed if it
// has none.
func (p *Policy) BreakerState() BreakerState {
	if p == nil || p.breaker == nil {
		return BreakerClosed
	}
	switch p.breaker.State() {
	case circuitbreaker.OpenState:
		return BreakerOpen
	case circuitbreaker.HalfOpenState:
		return BreakerHalfOpen
	}
	return BreakerClosed
}
