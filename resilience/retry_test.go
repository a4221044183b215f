package resilience_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
)

var errBoom = errors.New("boom")

// attemptTimes runs p.Do with fn failing n times before succeeding (or
// forever when n < 0) and returns the start times of the attempts.
func attemptTimes(t *testing.T, ctx context.Context, p *resilience.Policy, fail int) ([]time.Time, error) {
	t.Helper()
	var at []time.Time
	err := p.Do(ctx, func(context.Context) error {
		at = append(at, time.Now())
		if fail < 0 || len(at) <= fail {
			return errBoom
		}
		return nil
	})
	return at, err
}

func ceiling(n int, minDelay, maxDelay time.Duration) time.Duration {
	d := minDelay
	for i := 1; i < n; i++ {
		d *= 2
		if d > maxDelay {
			return maxDelay
		}
	}
	return min(d, maxDelay)
}

func TestRetryBackoffBoundsFullJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const minD, maxD = 100 * time.Millisecond, time.Second
		p, err := resilience.New(resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 8, MinDelay: minD, MaxDelay: maxD}))
		if err != nil {
			t.Fatal(err)
		}
		for run := 0; run < 50; run++ {
			at, err := attemptTimes(t, t.Context(), p, -1)
			if len(at) != 8 {
				t.Fatalf("attempts = %d, want 8", len(at))
			}
			if !errors.Is(err, resilience.ErrRetriesExhausted) || !errors.Is(err, errBoom) {
				t.Fatalf("err = %v, want ErrRetriesExhausted wrapping boom", err)
			}
			for n := 1; n < len(at); n++ {
				wait := at[n].Sub(at[n-1])
				if c := ceiling(n, minD, maxD); wait < 0 || wait > c {
					t.Fatalf("wait before retry %d = %v, want within [0, %v]", n, wait, c)
				}
			}
		}
	})
}

func TestRetryBackoffNoJitterIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithRetry(resilience.RetryConfig{
			MaxAttempts: 7, MinDelay: 50 * time.Millisecond, MaxDelay: 1 * time.Second, Jitter: resilience.JitterNone,
		}))
		if err != nil {
			t.Fatal(err)
		}
		at, _ := attemptTimes(t, t.Context(), p, -1)
		want := []time.Duration{50, 100, 200, 400, 800, 1000}
		for n := 1; n < len(at); n++ {
			if got := at[n].Sub(at[n-1]); got != want[n-1]*time.Millisecond {
				t.Errorf("wait before retry %d = %v, want %v", n, got, want[n-1]*time.Millisecond)
			}
		}
	})
}

// TestFullJitterIsSpread checks that full-jitter waits cover their whole
// range uniformly: mean near half the ceiling, every quartile used.
func TestFullJitterIsSpread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ceil = 400 * time.Millisecond
		p, err := resilience.New(resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 2, MinDelay: ceil, MaxDelay: ceil}))
		if err != nil {
			t.Fatal(err)
		}
		const runs = 2000
		var sum time.Duration
		var quartiles [4]int
		for range runs {
			at, _ := attemptTimes(t, t.Context(), p, -1)
			w := at[1].Sub(at[0])
			if w < 0 || w > ceil {
				t.Fatalf("wait %v outside [0, %v]", w, ceil)
			}
			sum += w
			quartiles[min(int(4*w/ceil), 3)]++
		}
		mean := sum / runs
		// The mean of U[0, c] is c/2 with a standard error of c/√(12·2000) ≈
		// 0.0065c, so ±10% of c is over 15 standard errors.
		if lo, hi := ceil*4/10, ceil*6/10; mean < lo || mean > hi {
			t.Errorf("mean wait %v, want within [%v, %v]", mean, lo, hi)
		}
		for q, n := range quartiles {
			if n < runs/4*7/10 || n > runs/4*13/10 {
				t.Errorf("quartile %d got %d of %d waits, want about %d", q, n, runs, runs/4)
			}
		}
	})
}

type hinted struct{ d time.Duration }

func (h hinted) Error() string             { return "slow down" }
func (h hinted) RetryAfter() time.Duration { return h.d }

func TestRetryHonoursRetryAfterCappedByMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 2, MinDelay: 10 * time.Millisecond, MaxDelay: 2 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ hint, want time.Duration }{
			{700 * time.Millisecond, 700 * time.Millisecond},
			{time.Minute, 2 * time.Second},
		} {
			var at []time.Time
			_ = p.Do(t.Context(), func(context.Context) error {
				at = append(at, time.Now())
				return hinted{tc.hint}
			})
			if got := at[1].Sub(at[0]); got != tc.want {
				t.Errorf("Retry-After %v: waited %v, want %v", tc.hint, got, tc.want)
			}
		}
	})
}

func TestRetryOnlyWhatShouldBeRetried(t *testing.T) {
	errNo := errors.New("not retryable")
	p, err := resilience.New(resilience.WithRetry(resilience.RetryConfig{
		MinDelay: time.Millisecond,
		RetryIf:  func(err error) bool { return !errors.Is(err, errNo) },
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		err      error
		attempts int
		want     error
	}{
		{"retryable", context.Background(), errBoom, 3, resilience.ErrRetriesExhausted},
		{"RetryIf false", context.Background(), errNo, 1, errNo},
		{"permanent", context.Background(), resilience.Permanent(errBoom), 1, errBoom},
		{"not idempotent", resilience.NotIdempotent(context.Background()), errBoom, 1, errBoom},
	} {
		n := 0
		err := p.Do(tc.ctx, func(context.Context) error { n++; return tc.err })
		if n != tc.attempts || !errors.Is(err, tc.want) {
			t.Errorf("%s: %d attempts, err %v; want %d attempts, err %v", tc.name, n, err, tc.attempts, tc.want)
		}
		if tc.want != resilience.ErrRetriesExhausted && err != tc.want {
			t.Errorf("%s: err = %#v, want the attempt's own error unwrapped", tc.name, err)
		}
	}
}

func TestRetriesExhaustedMessage(t *testing.T) {
	p, err := resilience.New(resilience.WithName("orders"), resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 2, MinDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Do(t.Context(), func(context.Context) error { return errBoom })
	want := `resilience: retries exhausted after 2 attempts (policy "orders"): boom`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestRetryStopsWhenCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 10, MinDelay: time.Second, Jitter: resilience.JitterNone}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		at, err := attemptTimes(t, ctx, p, -1)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, resilience.ErrRetriesExhausted) {
			t.Errorf("err = %v, want the context's DeadlineExceeded", err)
		}
		if len(at) != 2 || time.Since(start) != 1500*time.Millisecond {
			t.Errorf("%d attempts, returned after %v; want 2 attempts, return at the deadline", len(at), time.Since(start))
		}
	})
}

func TestNilAndEmptyPolicyRunCallsUnchanged(t *testing.T) {
	var nilPolicy *resilience.Policy
	empty, err := resilience.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*resilience.Policy{nilPolicy, empty} {
		n := 0
		err := p.Do(t.Context(), func(context.Context) error { n++; return errBoom })
		if n != 1 || err != errBoom {
			t.Errorf("%d attempts, err %v; want 1 attempt and fn's error", n, err)
		}
		v, err := resilience.Run(t.Context(), p, func(context.Context) (int, error) { return 42, nil })
		if v != 42 || err != nil {
			t.Errorf("Run = %d, %v", v, err)
		}
	}
}

func TestNewRejectsOutOfRangeOptions(t *testing.T) {
	for _, tc := range []struct {
		opt  resilience.Option
		want string
	}{
		{resilience.WithTimeout(-time.Second), "timeout: -1s is out of range 1ms..24h"},
		{resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 200}), "retry.maxAttempts: 200 is out of range 1..101"},
		{resilience.WithRetry(resilience.RetryConfig{MinDelay: time.Second, MaxDelay: time.Millisecond}), "retry.maxDelay: 1ms is less than minDelay 1s"},
		{resilience.WithRetry(resilience.RetryConfig{Jitter: 7}), "retry.jitter: Jitter(7) is not JitterFull or JitterNone"},
		{resilience.WithBreaker(resilience.BreakerConfig{FailureRatio: 1.5}), "breaker.failureRatio: 1.5 is out of range (0, 1]"},
		{resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 3, Window: time.Second}), "breaker: consecutiveFailures excludes failureRatio, minCalls and window; set one mode"},
		{resilience.WithBreaker(resilience.BreakerConfig{HalfOpenProbes: -1}), "breaker.halfOpenProbes: -1 is out of range 1..1000"},
		{resilience.WithBulkhead(0, 1), "bulkhead.maxConcurrent: 0 is out of range 1..1000000"},
		{resilience.WithBulkhead(1, -1), "bulkhead.maxQueue: -1 is out of range 0..1000000"},
		{resilience.WithRateLimit(0, 1), "rateLimit.rate: 0 is out of range (0, 1000000]"},
		{resilience.WithRateLimit(10, 0), "rateLimit.burst: 0 is out of range 1..1000000"},
		{resilience.WithHedge(resilience.HedgeConfig{}), "hedge: set exactly one of delay and percentile"},
		{resilience.WithHedge(resilience.HedgeConfig{Percentile: 100}), "hedge.percentile: 100 is out of range (0, 100)"},
		{resilience.WithHedge(resilience.HedgeConfig{Delay: time.Millisecond, MaxHedges: 11}), "hedge.maxHedges: 11 is out of range 1..10"},
	} {
		_, err := resilience.New(tc.opt)
		if err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %s", err, tc.want)
		}
		if err != nil && !errors.Is(err, errInvalid) {
			t.Errorf("%v does not match courier.ErrInvalid", err)
		}
	}
	// Every problem is reported at once.
	_, err := resilience.New(resilience.WithBulkhead(0, -1), resilience.WithTimeout(-1))
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("err = %v, want three problems", err)
	}
}
