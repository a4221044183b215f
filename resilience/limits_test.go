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

func TestBulkheadQueuesThenRejects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithName("db"), resilience.WithBulkhead(2, 1))
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		run := func(id int) {
			wg.Go(func() {
				err := p.Do(t.Context(), func(context.Context) error {
					mu.Lock()
					order = append(order, id)
					mu.Unlock()
					<-release
					return nil
				})
				if err != nil {
					t.Errorf("call %d: %v", id, err)
				}
			})
			synctest.Wait()
		}
		run(1)
		run(2)
		run(3) // waits in the queue
		if len(order) != 2 {
			t.Fatalf("%d calls running, want 2", len(order))
		}
		err = p.Do(t.Context(), func(context.Context) error { t.Error("ran past a full bulkhead"); return nil })
		if !errors.Is(err, resilience.ErrBulkheadFull) || err.Error() != `resilience: bulkhead is full (policy "db")` {
			t.Fatalf("err = %v, want ErrBulkheadFull", err)
		}
		// A queued call leaves when its context ends.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		p2, _ := resilience.New(resilience.WithBulkhead(1, 1))
		hold := make(chan struct{})
		wg.Go(func() { _ = p2.Do(t.Context(), func(context.Context) error { <-hold; return nil }) })
		synctest.Wait()
		start := time.Now()
		if err := p2.Do(ctx, func(context.Context) error { return nil }); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("queued call: %v after %v, want DeadlineExceeded after 1s", err, time.Since(start))
		}
		close(hold)

		close(release)
		wg.Wait()
		if len(order) != 3 || order[2] != 3 {
			t.Errorf("order %v, want the queued call third", order)
		}
	})
}

func TestRateLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithRateLimit(10, 5)) // 5 permits every 500ms
		if err != nil {
			t.Fatal(err)
		}
		count := func() (ok, limited int) {
			for range 20 {
				err := p.Do(t.Context(), func(context.Context) error { return nil })
				switch {
				case err == nil:
					ok++
				case errors.Is(err, resilience.ErrRateLimited):
					limited++
					if d, _ := resilience.RetryAfter(err); d != 500*time.Millisecond {
						t.Errorf("RetryAfter = %v, want the 500ms refill period", d)
					}
				default:
					t.Fatal(err)
				}
			}
			return
		}
		if ok, limited := count(); ok != 5 || limited != 15 {
			t.Fatalf("first burst: %d ok, %d limited; want 5, 15", ok, limited)
		}
		advance(499 * time.Millisecond)
		if ok, _ := count(); ok != 0 {
			t.Fatalf("%d ok before the refill", ok)
		}
		advance(time.Millisecond)
		if ok, _ := count(); ok != 5 {
			t.Fatalf("%d ok after the refill, want 5", ok)
		}
		advance(10 * time.Second) // idle time does not bank more than a burst
		if ok, _ := count(); ok != 5 {
			t.Fatalf("%d ok after idling, want 5", ok)
		}
	})
}

func TestFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []error
		p, err := resilience.New(
			resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 2, MinDelay: time.Millisecond}),
			resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2, OpenFor: time.Minute}),
			resilience.WithFallback(func(ctx context.Context, err error) error {
				seen = append(seen, err)
				if errors.Is(err, resilience.ErrCircuitOpen) {
					return nil // serve from cache
				}
				return err
			}))
		if err != nil {
			t.Fatal(err)
		}
		err = p.Do(t.Context(), func(context.Context) error { return errBoom })
		if !errors.Is(err, resilience.ErrRetriesExhausted) || !errors.Is(err, errBoom) {
			t.Fatalf("first call: %v", err)
		}
		calls := 0
		if err := p.Do(t.Context(), func(context.Context) error { calls++; return nil }); err != nil || calls != 0 {
			t.Fatalf("open breaker with fallback: err %v, %d calls; want the fallback's nil and no call", err, calls)
		}
		if len(seen) != 2 || !errors.Is(seen[0], resilience.ErrRetriesExhausted) || !errors.Is(seen[1], resilience.ErrCircuitOpen) {
			t.Errorf("fallback saw %v", seen)
		}
		// No fallback when the caller gave up.
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		seen = nil
		if err := p.Do(ctx, func(context.Context) error { return errBoom }); !errors.Is(err, context.Canceled) || len(seen) != 0 {
			t.Errorf("cancelled call: err %v, fallback saw %v", err, seen)
		}
	})
}

func TestTimeoutPerAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithName("slow"), resilience.WithTimeout(200*time.Millisecond),
			resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 2, MinDelay: 50 * time.Millisecond, Jitter: resilience.JitterNone}))
		if err != nil {
			t.Fatal(err)
		}
		var deadlines []time.Duration
		start := time.Now()
		err = p.Do(t.Context(), func(ctx context.Context) error {
			d, _ := ctx.Deadline()
			deadlines = append(deadlines, time.Until(d))
			<-ctx.Done()
			return ctx.Err()
		})
		if !errors.Is(err, resilience.ErrRetriesExhausted) || !errors.Is(err, resilience.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want retries exhausted after timeouts", err)
		}
		want := `resilience: retries exhausted after 2 attempts (policy "slow"): resilience: attempt timed out after 200ms (policy "slow"): context deadline exceeded`
		if err.Error() != want {
			t.Errorf("err = %q\nwant  %q", err, want)
		}
		if len(deadlines) != 2 || deadlines[0] != 200*time.Millisecond || deadlines[1] != 200*time.Millisecond {
			t.Errorf("attempt deadlines %v, want 200ms each", deadlines)
		}
		if got := time.Since(start); got != 450*time.Millisecond {
			t.Errorf("took %v, want 200ms + 50ms + 200ms", got)
		}

		// The caller's earlier deadline wins and is not reported as ErrTimeout.
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		err = p.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, resilience.ErrTimeout) {
			t.Errorf("err = %v, want the caller's DeadlineExceeded only", err)
		}
	})
}

func TestDefaultPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := resilience.DefaultPolicy()
		n := 0
		err := p.Do(t.Context(), func(context.Context) error {
			if n++; n < 3 {
				return errBoom
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Fatalf("err %v after %d attempts; want success on the third", err, n)
		}
		// 20 failing calls (60 attempts, budget permitting) open the breaker.
		for range 20 {
			_ = p.Do(t.Context(), func(context.Context) error { return errBoom })
		}
		if s := p.BreakerState(); s != resilience.BreakerOpen {
			t.Errorf("state %v after 20 failing calls, want open", s)
		}
	})
}
