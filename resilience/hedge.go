package resilience

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
	"github.com/failsafe-go/failsafe-go/policy"
)

// Defaults of HedgeConfig.
const (
	DefaultMaxHedges  = 1
	DefaultMinSamples = 20
	DefaultSamples    = 100
)

// HedgeConfig configures hedged requests: when an attempt has not finished
// after a delay, a copy of it (a hedge) starts alongside; the first success
// wins, and the other attempts' contexts are cancelled. When every attempt
// in flight has failed, the last failure is the attempt's result. Set exactly
// one of Delay and Percentile. Each hedge withdraws a token from the Policy's
// Budget, if it has one, and is not sent when there is none.
type HedgeConfig struct {
	// Delay (1ms..1h) is a fixed wait before each hedge.
	Delay time.Duration
	// Percentile, in (0, 100), makes the wait that percentile of the
	// latencies of recent successful attempts (95 for p95). No hedges are
	// sent until MinSamples latencies are known.
	Percentile float64
	// MaxHedges (1..10) is how many hedges one attempt may start, each a
	// further delay after the previous one. Default 1.
	MaxHedges int
	// MinSamples (1..Samples) is how many latencies Percentile needs before
	// hedging starts. Default 20.
	MinSamples int
	// Samples (1..10000) is how many recent latencies Percentile is computed
	// over. Default 100.
	Samples int
}

func (h HedgeConfig) normalized() HedgeConfig {
	if h.MaxHedges == 0 {
		h.MaxHedges = DefaultMaxHedges
	}
	if h.Percentile != 0 {
		if h.Samples == 0 {
			h.Samples = DefaultSamples
		}
		if h.MinSamples == 0 {
			h.MinSamples = min(DefaultMinSamples, h.Samples)
		}
	}
	return h
}

func (h HedgeConfig) validate(v *validator) {
	switch {
	case (h.Delay != 0) == (h.Percentile != 0):
		v.fail("hedge", "set exactly one of delay and percentile")
	case h.Delay != 0:
		v.durationRange("hedge.delay", h.Delay, time.Millisecond, time.Hour)
		if h.MinSamples != 0 || h.Samples != 0 {
			v.fail("hedge", "minSamples and samples apply only to percentile")
		}
	default:
		if h.Percentile <= 0 || h.Percentile >= 100 || math.IsNaN(h.Percentile) {
			v.fail("hedge.percentile", "%g is out of range (0, 100)", h.Percentile)
		}
		if v.intRange("hedge.samples", h.Samples, 1, 10000) {
			v.intRange("hedge.minSamples", h.MinSamples, 1, h.Samples)
		}
	}
	v.intRange("hedge.maxHedges", h.MaxHedges, 1, 10)
}

// latencyWindow keeps the last n latencies and answers a percentile of them
// (nearest rank), re-sorting only after new samples arrived.
type latencyWindow struct {
	pct float64

	mu      sync.Mutex
	ring    []time.Duration
	next    int
	count   int
	changed bool
	sorted  []time.Duration
}

func newLatencyWindow(pct float64, n int) *latencyWindow {
	return &latencyWindow{pct: pct, ring: make([]time.Duration, n)}
}

func (w *latencyWindow) add(d time.Duration) {
	w.mu.Lock()
	w.ring[w.next] = d
	w.next = (w.next + 1) % len(w.ring)
	w.count = min(w.count+1, len(w.ring))
	w.changed = true
	w.mu.Unlock()
}

// percentile returns the percentile of the samples and false when there are
// fewer than minSamples.
func (w *latencyWindow) percentile(minSamples int) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count < minSamples || w.count == 0 {
		return 0, false
	}
	if w.changed {
		w.sorted = append(w.sorted[:0], w.ring[:w.count]...)
		slices.Sort(w.sorted)
		w.changed = false
	}
	rank := int(math.Ceil(w.pct / 100 * float64(len(w.sorted))))
	return w.sorted[max(rank, 1)-1], true
}

// hedgeGroup is the state of one hedged attempt: how many of its copies are
// running (to know when a failure is final) and a WaitGroup so that the
// attempt returns only after every copy has.
type hedgeGroup struct {
	inflight atomic.Int32
	wg       sync.WaitGroup
}

type hedgeGroupKey struct{}

func (p *Policy) buildHedge() hedgepolicy.HedgePolicy[outcome] {
	h := p.hedgeCfg
	delay := func(failsafe.ExecutionAttempt[outcome]) time.Duration { return h.Delay }
	if h.Percentile != 0 {
		delay = func(failsafe.ExecutionAttempt[outcome]) time.Duration {
			if d, ok := p.latency.percentile(h.MinSamples); ok {
				return d
			}
			return -1 // not enough samples: no hedge
		}
	}
	b := hedgepolicy.NewBuilderWithDelayFunc[outcome](delay).
		WithMaxHedges(h.MaxHedges).
		CancelIf(func(o outcome, _ error) bool { return o.final }).
		OnHedge(func(e failsafe.ExecutionEvent[outcome]) {
			// Runs before the hedge's goroutine starts, so the group's
			// WaitGroup counts it before anyone can wait.
			if g, ok := e.Context().Value(hedgeGroupKey{}).(*hedgeGroup); ok {
				g.wg.Add(1)
			}
		})
	if p.budget != nil {
		b = b.WithBudget(budgetAdapter{p.budget})
	}
	return b.Build()
}

// hedged runs one attempt of c with hedges.
func (p *Policy) hedged(ctx context.Context, c *call) (outcome, error) {
	g := new(hedgeGroup)
	g.wg.Add(1) // the first copy
	ctx = context.WithValue(ctx, hedgeGroupKey{}, g)
	o, err := p.hedgeExec.WithContext(ctx).GetWithExecution(func(e failsafe.Execution[outcome]) (outcome, error) {
		defer g.wg.Done()
		g.inflight.Add(1)
		st := new(attemptState)
		start := time.Now()
		v, err := c.fn(context.WithValue(e.Context(), attemptKey{}, st))
		if err == nil && p.latency != nil {
			p.latency.add(time.Since(start))
		}
		if err == nil && st.deferred.Load() {
			// Keep failsafe from cancelling this copy's context if it wins.
			st.onRelease(e.(policy.ExecutionInternal[outcome]).DeferCancel())
		}
		left := g.inflight.Add(-1)
		// A success wins; a failure ends the attempt only when no other
		// copy is still running.
		return outcome{val: v, final: err == nil || left == 0, st: st}, err
	})
	g.wg.Wait()
	return o, err
}
