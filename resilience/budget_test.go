package resilience_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
)

func mustBudget(t *testing.T, ratio float64, perSec int, window time.Duration) *resilience.Budget {
	t.Helper()
	b, err := resilience.NewBudget(ratio, perSec, window)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withdrawAll(b *resilience.Budget) int {
	n := 0
	for b.TryWithdraw() {
		n++
	}
	return n
}

func TestBudgetRatioOfDeposits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, 0.1, 0, 10*time.Second)
		if b.TryWithdraw() {
			t.Fatal("withdrew from an empty budget without a reserve")
		}
		for range 109 {
			b.Deposit()
		}
		if got := b.Available(); got != 10 {
			t.Fatalf("Available = %d after 109 deposits at 10%%, want 10", got)
		}
		if got := withdrawAll(b); got != 10 {
			t.Fatalf("withdrew %d, want 10", got)
		}
		b.Deposit() // the 110th deposit makes an 11th token
		if got := withdrawAll(b); got != 1 {
			t.Fatalf("withdrew %d after one more deposit, want 1", got)
		}
	})
}

func TestBudgetMinimumPerSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, 0.2, 5, 10*time.Second)
		if got := b.Available(); got != 50 {
			t.Fatalf("Available = %d with no traffic, want the reserve 5/s × 10s = 50", got)
		}
		for range 100 {
			b.Deposit()
		}
		if got := withdrawAll(b); got != 70 {
			t.Fatalf("withdrew %d, want 50 reserve + 20%% of 100", got)
		}
	})
}

func TestBudgetWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, 0.5, 0, 10*time.Second)
		for range 20 { // t=0: +10 tokens
			b.Deposit()
		}
		if got := withdrawAll(b); got != 10 {
			t.Fatalf("withdrew %d at t=0, want 10", got)
		}
		advance(5 * time.Second)
		for range 20 { // t=5s: +10 tokens; the 10 withdrawals still count
			b.Deposit()
		}
		if got := b.Available(); got != 10 {
			t.Fatalf("Available = %d at t=5s, want 20 deposited - 10 withdrawn", got)
		}
		advance(5*time.Second - time.Nanosecond)
		if got := b.Available(); got != 10 {
			t.Fatalf("Available = %d just before t=10s, want 10", got)
		}
		// At t=10s the first slice (20 deposits, 10 withdrawals) expires.
		advance(time.Nanosecond)
		if got := b.Available(); got != 10 {
			t.Fatalf("Available = %d at t=10s, want 10 (only the t=5s deposits left)", got)
		}
		if got := withdrawAll(b); got != 10 {
			t.Fatalf("withdrew %d at t=10s, want 10", got)
		}
		advance(5 * time.Second) // t=15s: the t=5s deposits expire, the t=10s withdrawals do not
		if got := b.Available(); got != 0 {
			t.Fatalf("Available = %d at t=15s, want 0", got)
		}
		for range 40 {
			b.Deposit()
		}
		if got := b.Available(); got != 10 {
			t.Fatalf("Available = %d at t=15s after 40 deposits, want 20 - 10 withdrawn at t=10s", got)
		}
		advance(10 * time.Second) // everything expires
		if got := b.Available(); got != 0 {
			t.Fatalf("Available = %d after a quiet window, want 0", got)
		}
	})
}

func TestBudgetZeroValueAndValidation(t *testing.T) {
	var zero resilience.Budget
	zero.Deposit()
	if zero.TryWithdraw() || zero.Available() != 0 {
		t.Error("the zero Budget allowed a retry")
	}
	for _, tc := range []struct {
		ratio  float64
		perSec int
		window time.Duration
		want   string
	}{
		{1.5, 0, time.Second, "budget.ratio: 1.5 is out of range [0, 1]"},
		{0.1, -1, time.Second, "budget.minPerSecond: -1 is out of range 0..1000000"},
		{0.1, 1, time.Millisecond, "budget.window: 1ms is out of range 1s..1h"},
	} {
		_, err := resilience.NewBudget(tc.ratio, tc.perSec, tc.window)
		if err == nil || err.Error() != tc.want || !errors.Is(err, errInvalid) {
			t.Errorf("err = %v, want %s", err, tc.want)
		}
	}
}

// TestBudgetStopsRetriesOfAPolicy checks the policy side: calls deposit,
// retries withdraw, and a call refused a retry reports ErrBudgetExhausted
// with the attempt's error.
func TestBudgetStopsRetriesOfAPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, 0.1, 0, 10*time.Second)
		p, err := resilience.New(resilience.WithName("orders"),
			resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 3, MinDelay: time.Millisecond}),
			resilience.WithBudget(b))
		if err != nil {
			t.Fatal(err)
		}
		attempts, exhausted := 0, 0
		for range 100 {
			err := p.Do(t.Context(), func(context.Context) error { attempts++; return errBoom })
			switch {
			case errors.Is(err, resilience.ErrBudgetExhausted):
				exhausted++
				if !errors.Is(err, errBoom) {
					t.Fatalf("err = %v, want it to wrap the attempt's error", err)
				}
				want := `resilience: retry budget exhausted after 1 attempt (policy "orders"): boom`
				if exhausted == 1 && err.Error() != want {
					t.Errorf("err = %q, want %q", err, want)
				}
			case errors.Is(err, resilience.ErrRetriesExhausted):
			default:
				t.Fatalf("err = %v", err)
			}
		}
		// 100 calls deposit 10 tokens: at most 10 retries in all.
		if attempts > 110 || exhausted < 90 {
			t.Errorf("%d attempts for 100 calls, %d refused a retry; want ≤ 110 and ≥ 90", attempts, exhausted)
		}
	})
}
