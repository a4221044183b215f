package resilience_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
)

// hedgeRecorder runs attempts whose behaviour is given per attempt index and
// records when each started and how it ended.
type hedgeRecorder struct {
	mu       sync.Mutex
	started  []time.Duration
	canceled []bool
	t0       time.Time
}

type attemptPlan struct {
	after time.Duration
	err   error
	val   string
}

func (r *hedgeRecorder) fn(plans ...attemptPlan) func(ctx context.Context) (string, error) {
	r.t0 = time.Now()
	return func(ctx context.Context) (string, error) {
		r.mu.Lock()
		i := len(r.started)
		r.started = append(r.started, time.Since(r.t0))
		r.canceled = append(r.canceled, false)
		r.mu.Unlock()
		plan := plans[i]
		timer := time.NewTimer(plan.after)
		defer timer.Stop()
		select {
		case <-timer.C:
			return plan.val, plan.err
		case <-ctx.Done():
			r.mu.Lock()
			r.canceled[i] = true
			r.mu.Unlock()
			return "", ctx.Err()
		}
	}
}

func newHedged(t *testing.T, c resilience.HedgeConfig, more ...resilience.Option) *resilience.Policy {
	t.Helper()
	p, err := resilience.New(append([]resilience.Option{resilience.WithHedge(c)}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHedgeStartsAfterDelayAndCancelsLoser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newHedged(t, resilience.HedgeConfig{Delay: 100 * time.Millisecond})
		var r hedgeRecorder
		v, err := resilience.Run(t.Context(), p, r.fn(
			attemptPlan{after: time.Hour, val: "primary"},
			attemptPlan{after: 10 * time.Millisecond, val: "hedge"},
		))
		if err != nil || v != "hedge" {
			t.Fatalf("Run = %q, %v; want the hedge's result", v, err)
		}
		if got := time.Since(r.t0); got != 110*time.Millisecond {
			t.Errorf("returned after %v, want 110ms", got)
		}
		if len(r.started) != 2 || r.started[1] != 100*time.Millisecond {
			t.Errorf("attempts started at %v, want [0s 100ms]", r.started)
		}
		// Run returned only after the loser did: its cancellation is visible.
		if !r.canceled[0] {
			t.Error("the slow primary was not cancelled")
		}
	})
}

func TestHedgeFirstSuccessWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newHedged(t, resilience.HedgeConfig{Delay: 100 * time.Millisecond})
		var r hedgeRecorder
		v, err := resilience.Run(t.Context(), p, r.fn(
			attemptPlan{after: 150 * time.Millisecond, val: "primary"},
			attemptPlan{after: 200 * time.Millisecond, val: "hedge"},
		))
		if err != nil || v != "primary" || time.Since(r.t0) != 150*time.Millisecond {
			t.Fatalf("Run = %q, %v after %v; want primary at 150ms", v, err, time.Since(r.t0))
		}
		if !r.canceled[1] || r.canceled[0] {
			t.Errorf("cancelled = %v, want only the hedge cancelled", r.canceled)
		}

		// A failure does not win while another copy may still succeed.
		r = hedgeRecorder{}
		v, err = resilience.Run(t.Context(), p, r.fn(
			attemptPlan{after: 120 * time.Millisecond, err: errBoom},
			attemptPlan{after: 50 * time.Millisecond, val: "hedge"},
		))
		if err != nil || v != "hedge" || time.Since(r.t0) != 150*time.Millisecond {
			t.Fatalf("Run = %q, %v after %v; want the hedge's success at 150ms", v, err, time.Since(r.t0))
		}
	})
}

func TestHedgeFailureEndsAttemptWhenNothingElseRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newHedged(t, resilience.HedgeConfig{Delay: 100 * time.Millisecond})
		var r hedgeRecorder
		_, err := resilience.Run(t.Context(), p, r.fn(attemptPlan{after: 30 * time.Millisecond, err: errBoom}))
		if !errors.Is(err, errBoom) || len(r.started) != 1 || time.Since(r.t0) != 30*time.Millisecond {
			t.Fatalf("err %v, %d attempts, after %v; want the primary's failure at 30ms and no hedge", err, len(r.started), time.Since(r.t0))
		}

		r = hedgeRecorder{}
		_, err = resilience.Run(t.Context(), p, r.fn(
			attemptPlan{after: 150 * time.Millisecond, err: errBoom},
			attemptPlan{after: 100 * time.Millisecond, err: errors.New("hedge failed")},
		))
		if err == nil || err.Error() != "hedge failed" || time.Since(r.t0) != 200*time.Millisecond {
			t.Fatalf("err %v after %v; want the last failure at 200ms", err, time.Since(r.t0))
		}
	})
}

func TestHedgeDelayFromPercentile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newHedged(t, resilience.HedgeConfig{Percentile: 90, MinSamples: 10, Samples: 10})
		// Nine calls cannot hedge yet (fewer than MinSamples latencies).
		for i := 1; i <= 9; i++ {
			var r hedgeRecorder
			if _, err := resilience.Run(t.Context(), p, r.fn(attemptPlan{after: time.Duration(i) * 10 * time.Millisecond})); err != nil {
				t.Fatal(err)
			}
			if len(r.started) != 1 {
				t.Fatalf("call %d hedged before MinSamples latencies were known", i)
			}
		}
		var r hedgeRecorder
		_, _ = resilience.Run(t.Context(), p, r.fn(attemptPlan{after: 1000 * time.Millisecond})) // the 10th sample
		// Latencies are now 10ms..90ms and 1s; their p90 (nearest rank 9 of 10) is 90ms.
		r = hedgeRecorder{}
		v, err := resilience.Run(t.Context(), p, r.fn(
			attemptPlan{after: time.Hour, val: "primary"},
			attemptPlan{after: 5 * time.Millisecond, val: "hedge"},
		))
		if err != nil || v != "hedge" {
			t.Fatalf("Run = %q, %v", v, err)
		}
		if len(r.started) != 2 || r.started[1] != 90*time.Millisecond {
			t.Errorf("attempts started at %v, want the hedge at the p90 of 90ms", r.started)
		}
	})
}

func TestHedgeLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := []attemptPlan{{after: 500 * time.Millisecond, val: "a"}, {after: 500 * time.Millisecond, val: "b"}, {after: 500 * time.Millisecond, val: "c"}}

		p := newHedged(t, resilience.HedgeConfig{Delay: 100 * time.Millisecond, MaxHedges: 2})
		var r hedgeRecorder
		_, _ = resilience.Run(t.Context(), p, r.fn(slow...))
		if len(r.started) != 3 || r.started[2] != 200*time.Millisecond {
			t.Errorf("MaxHedges 2: attempts at %v, want [0 100ms 200ms]", r.started)
		}

		r = hedgeRecorder{}
		_, _ = resilience.Run(resilience.NoHedge(t.Context()), p, r.fn(slow...))
		if len(r.started) != 1 {
			t.Errorf("NoHedge: %d attempts, want 1", len(r.started))
		}

		// A budget without tokens refuses hedges.
		empty := mustBudget(t, 0, 0, time.Second)
		p = newHedged(t, resilience.HedgeConfig{Delay: 100 * time.Millisecond}, resilience.WithBudget(empty))
		r = hedgeRecorder{}
		if v, err := resilience.Run(t.Context(), p, r.fn(slow...)); err != nil || v != "a" || len(r.started) != 1 {
			t.Errorf("empty budget: %q, %v, %d attempts; want the primary alone", v, err, len(r.started))
		}
	})
}
