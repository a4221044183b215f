package resilience

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Each error returned by a Policy because of one of its
// policies wraps exactly one of them; test with errors.Is.
var (
	// ErrCircuitOpen: the circuit breaker is open (or half-open with all of
	// its trial calls taken) and refused the attempt without running it.
	ErrCircuitOpen = errors.New("resilience: circuit breaker is open")
	// ErrBudgetExhausted: an attempt failed and the retry budget had no
	// token left for another; the error also wraps the attempt's error.
	ErrBudgetExhausted = errors.New("resilience: retry budget exhausted")
	// ErrBulkheadFull: the bulkhead had no free slot and its wait queue was
	// full, so the attempt was refused without running.
	ErrBulkheadFull = errors.New("resilience: bulkhead is full")
	// ErrRateLimited: the rate limiter had no permit for the attempt.
	ErrRateLimited = errors.New("resilience: rate limit exceeded")
	// ErrTimeout: an attempt ran longer than the policy's timeout and its
	// context was cancelled; the error also wraps the attempt's error.
	ErrTimeout = errors.New("resilience: attempt timed out")
	// ErrRetriesExhausted: every allowed attempt failed; the error also wraps
	// the last attempt's error.
	ErrRetriesExhausted = errors.New("resilience: retries exhausted")
)

// policyError is how a Policy reports one of the sentinels: which policy
// (kind), which Policy (name), what happened (detail), the attempt's own error
// (cause) and, for rejections, when trying again may succeed.
type policyError struct {
	kind       error
	name       string
	detail     string
	cause      error
	retryAfter time.Duration
}

func (e *policyError) Error() string {
	var b strings.Builder
	b.WriteString(e.kind.Error())
	if e.detail != "" {
		b.WriteByte(' ')
		b.WriteString(e.detail)
	}
	if e.name != "" {
		fmt.Fprintf(&b, " (policy %q)", e.name)
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

func (e *policyError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// RetryAfter returns the first positive hint in err's chain of when trying
// again may succeed: the remaining open time of a circuit breaker, the refill
// period of a rate limiter, or a downstream's Retry-After (any error in the
// chain with a method RetryAfter() time.Duration, such as the errors httpx
// makes from 429 and 503 responses). It returns false when there is none.
func RetryAfter(err error) (time.Duration, bool) {
	var found time.Duration
	walk(err, func(e error) bool {
		var d time.Duration
		switch h := e.(type) {
		case *policyError:
			d = h.retryAfter
		case interface{ RetryAfter() time.Duration }:
			d = h.RetryAfter()
		}
		if d > 0 {
			found = d
			return true
		}
		return false
	})
	return found, found > 0
}

// walk visits err's chain depth first (like errors.Is) until visit returns
// true.
func walk(err error, visit func(error) bool) bool {
	for err != nil {
		if visit(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e, visit) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// Permanent marks err as not worth retrying: a Policy returns it after the
// attempt that produced it, without retrying, although the circuit breaker
// still counts it as a failure. The result unwraps to err and has err's
// message; Permanent(nil) is nil. Do removes the mark from the error it
// returns.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
