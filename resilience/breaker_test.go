package resilience_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
)

func TestBreakerTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithBreaker(resilience.BreakerConfig{
			ConsecutiveFailures: 3, OpenFor: time.Second, HalfOpenProbes: 2,
		}))
		if err != nil {
			t.Fatal(err)
		}
		fail := func(context.Context) error { return errBoom }
		ok := func(context.Context) error { return nil }
		expect := func(step string, fn func(context.Context) error, wantErr error, want resilience.BreakerState) {
			t.Helper()
			err := p.Do(t.Context(), fn)
			if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
				t.Fatalf("%s: err = %v, want %v", step, err, wantErr)
			}
			if got := p.BreakerState(); got != want {
				t.Fatalf("%s: state %v, want %v", step, got, want)
			}
		}
		expect("failure 1", fail, errBoom, resilience.BreakerClosed)
		expect("failure 2", fail, errBoom, resilience.BreakerClosed)
		expect("success resets", ok, nil, resilience.BreakerClosed)
		expect("failure 1", fail, errBoom, resilience.BreakerClosed)
		expect("failure 2", fail, errBoom, resilience.BreakerClosed)
		expect("failure 3 opens", fail, errBoom, resilience.BreakerOpen)

		advance(400 * time.Millisecond)
		called := false
		err = p.Do(t.Context(), func(context.Context) error { called = true; return nil })
		if called || !errors.Is(err, resilience.ErrCircuitOpen) {
			t.Fatalf("open breaker: called=%v err=%v, want a refusal", called, err)
		}
		if d, ok := resilience.RetryAfter(err); !ok || d != 600*time.Millisecond {
			t.Errorf("RetryAfter = %v, %v; want the 600ms left open", d, ok)
		}

		advance(600 * time.Millisecond)
		expect("probe 1", ok, nil, resilience.BreakerHalfOpen)
		expect("probe 2 closes", ok, nil, resilience.BreakerClosed)

		for range 3 {
			_ = p.Do(t.Context(), fail)
		}
		advance(time.Second)
		expect("probe fails", fail, errBoom, resilience.BreakerOpen)
		expect("reopened", ok, resilience.ErrCircuitOpen, resilience.BreakerOpen)
	})
}

func TestBreakerHalfOpenLimitsTrialCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithBreaker(resilience.BreakerConfig{
			ConsecutiveFailures: 1, OpenFor: time.Second, HalfOpenProbes: 2,
		}))
		if err != nil {
			t.Fatal(err)
		}
		_ = p.Do(t.Context(), func(context.Context) error { return errBoom })
		advance(time.Second)

		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if err := p.Do(t.Context(), func(context.Context) error { <-release; return nil }); err != nil {
					t.Errorf("probe: %v", err)
				}
			})
		}
		synctest.Wait() // both probes are running
		err = p.Do(t.Context(), func(context.Context) error { return nil })
		if !errors.Is(err, resilience.ErrCircuitOpen) {
			t.Errorf("third call while half-open: %v, want ErrCircuitOpen", err)
		}
		close(release)
		wg.Wait()
		if s := p.BreakerState(); s != resilience.BreakerClosed {
			t.Errorf("state %v after both probes succeeded, want closed", s)
		}
	})
}

func TestBreakerRatioMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithBreaker(resilience.BreakerConfig{
			FailureRatio: 0.5, MinCalls: 10, Window: 10 * time.Second,
		}))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 9 { // 9 calls, all failures: too few to judge
			_ = p.Do(t.Context(), func(context.Context) error { return errBoom })
			if s := p.BreakerState(); s != resilience.BreakerClosed {
				t.Fatalf("opened after %d calls, fewer than MinCalls", i+1)
			}
		}
		advance(10 * time.Second) // they slide out of the window
		for range 5 {
			_ = p.Do(t.Context(), func(context.Context) error { return nil })
		}
		for range 4 {
			_ = p.Do(t.Context(), func(context.Context) error { return errBoom })
		}
		if s := p.BreakerState(); s != resilience.BreakerClosed {
			t.Fatalf("state %v with 9 calls in the window", s)
		}
		_ = p.Do(t.Context(), func(context.Context) error { return errBoom }) // 5 of 10
		if s := p.BreakerState(); s != resilience.BreakerOpen {
			t.Fatalf("state %v with 5 failures of 10, want open", s)
		}
	})
}

// breakerModel is a reference model of the breaker: the closed state keeps
// every outcome (with its tenth-of-window slice in ratio mode), the open
// state a start time, the half-open state its trial results.
type breakerModel struct {
	cfg      resilience.BreakerConfig
	state    resilience.BreakerState
	outcomes []modelOutcome
	openedAt time.Time
	trialOK  int
}

type modelOutcome struct {
	slice int64
	ok    bool
}

func (m *breakerModel) permit(now time.Time) bool {
	switch m.state {
	case resilience.BreakerOpen:
		if now.Sub(m.openedAt) < m.cfg.OpenFor {
			return false
		}
		m.state, m.trialOK = resilience.BreakerHalfOpen, 0
	}
	return true // calls are sequential, so trial permits never run out
}

func (m *breakerModel) record(now time.Time, ok bool) {
	switch m.state {
	case resilience.BreakerHalfOpen:
		if !ok {
			m.state, m.openedAt = resilience.BreakerOpen, now
			return
		}
		if m.trialOK++; m.trialOK >= m.cfg.HalfOpenProbes {
			m.state, m.outcomes = resilience.BreakerClosed, nil
		}
	case resilience.BreakerClosed:
		var slice int64
		if m.cfg.ConsecutiveFailures == 0 {
			slice = now.UnixNano() / int64(m.cfg.Window/10)
		}
		m.outcomes = append(m.outcomes, modelOutcome{slice, ok})
		var window []modelOutcome
		if n := m.cfg.ConsecutiveFailures; n > 0 {
			window = m.outcomes[max(0, len(m.outcomes)-n):]
		} else {
			for _, o := range m.outcomes {
				if o.slice > slice-10 {
					window = append(window, o)
				}
			}
			m.outcomes = window
		}
		failures := 0
		for _, o := range window {
			if !o.ok {
				failures++
			}
		}
		var trip bool
		if n := m.cfg.ConsecutiveFailures; n > 0 {
			trip = failures >= n
		} else {
			ratio := math.Round(float64(failures)/float64(len(window))*100) / 100
			trip = len(window) >= m.cfg.MinCalls && ratio >= m.cfg.FailureRatio
		}
		if trip {
			m.state, m.openedAt = resilience.BreakerOpen, now
		}
	}
}

// TestBreakerMatchesModel drives breakers with random outcome sequences at
// random times and checks every admission decision and state against the
// reference model.
func TestBreakerMatchesModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		opens, closes := 0, 0
		for seq := range 400 {
			cfg := resilience.BreakerConfig{
				OpenFor:        time.Duration(1+rng.IntN(20)) * 100 * time.Millisecond,
				HalfOpenProbes: 1 + rng.IntN(3),
			}
			if seq%2 == 0 {
				cfg.ConsecutiveFailures = 1 + rng.IntN(5)
			} else {
				cfg.FailureRatio = []float64{0.25, 0.5, 0.75, 1}[rng.IntN(4)]
				cfg.MinCalls = 1 + rng.IntN(12)
				cfg.Window = time.Duration(1+rng.IntN(5)) * time.Second
			}
			p, err := resilience.New(resilience.WithBreaker(cfg))
			if err != nil {
				t.Fatal(err)
			}
			m := &breakerModel{cfg: cfg}
			failP := rng.Float64()
			for step := range 250 {
				if rng.IntN(50) == 0 { // change the weather now and then
					failP = rng.Float64()
				}
				advance(time.Duration(rng.IntN(int(cfg.OpenFor/time.Millisecond)*3/2+1)) * time.Millisecond / 4)
				ok := rng.Float64() >= failP
				before := m.state
				wantCalled := m.permit(time.Now())
				called := false
				err := p.Do(t.Context(), func(context.Context) error {
					called = true
					if ok {
						return nil
					}
					return errBoom
				})
				if wantCalled {
					m.record(time.Now(), ok)
				}
				if called != wantCalled || (!called && !errors.Is(err, resilience.ErrCircuitOpen)) {
					t.Fatalf("seq %d step %d (%+v): called=%v err=%v, model says called=%v (state %v)",
						seq, step, cfg, called, err, wantCalled, before)
				}
				if got := p.BreakerState(); got != m.state {
					t.Fatalf("seq %d step %d (%+v): state %v, model %v", seq, step, cfg, got, m.state)
				}
				if before != resilience.BreakerOpen && m.state == resilience.BreakerOpen {
					opens++
				}
				if before == resilience.BreakerHalfOpen && m.state == resilience.BreakerClosed {
					closes++
				}
			}
		}
		if opens < 100 || closes < 100 {
			t.Errorf("only %d opens and %d closes: the sequences do not exercise the breaker", opens, closes)
		}
	})
}

// TestBreakerIgnoresLocalRejections: refusals by the policy's own bulkhead
// are not outcomes of the downstream, so they neither trip nor heal it.
func TestBreakerIgnoresLocalRejections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(
			resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Second, HalfOpenProbes: 1}),
			resilience.WithBulkhead(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		_ = p.Do(t.Context(), func(context.Context) error { return errBoom })
		advance(time.Second) // next call is the probe
		release := make(chan struct{})
		done := make(chan error)
		go func() { done <- p.Do(t.Context(), func(context.Context) error { <-release; return errBoom }) }()
		synctest.Wait()
		if err := p.Do(t.Context(), func(context.Context) error { return nil }); !errors.Is(err, resilience.ErrBulkheadFull) {
			t.Fatalf("err = %v, want ErrBulkheadFull", err)
		}
		close(release)
		if err := <-done; !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
		if s := p.BreakerState(); s != resilience.BreakerOpen {
			t.Errorf("state %v: the bulkhead's refusal was counted as the probe's success", s)
		}
	})
}
