package httpx_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/httpx"
)

// The fault-injection scenario: 200 clients each send one request every
// 100ms (2000/s offered, open loop: a slow call does not delay the next)
// through Transport to an in-memory downstream that answers 503 to every
// request for 10s, then recovers.
const (
	stormClients  = 200
	stormInterval = 100 * time.Millisecond
	stormWarmup   = 2 * time.Second
	stormOutage   = 10 * time.Second
	stormAfter    = 4 * time.Second
	stormTotal    = stormWarmup + stormOutage + stormAfter
	stormSlot     = 100 * time.Millisecond
	stormSlots    = int(stormTotal / stormSlot)
	stormOffered  = float64(stormClients) * float64(time.Second/stormInterval) // per second
)

// stormDownstream counts the attempts it receives per 100ms slot.
type stormDownstream struct {
	t0       time.Time
	attempts [stormSlots + 1]atomic.Int64
}

func (d *stormDownstream) RoundTrip(r *http.Request) (*http.Response, error) {
	now := time.Since(d.t0)
	d.attempts[min(int(now/stormSlot), stormSlots)].Add(1)
	status := http.StatusOK
	if now >= stormWarmup && now < stormWarmup+stormOutage {
		status = http.StatusServiceUnavailable
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

type stormResult struct {
	outageRate  float64 // downstream attempts per second during the outage
	peakRate    float64 // the busiest second of the outage
	successLate float64 // success rate of calls started 2s or more after recovery
	recoveredIn time.Duration
	calls       int64
}

// runStorm runs the scenario with a policy per client from the function
// setup returns. setup runs inside the bubble, so that budgets and breakers
// read the bubble's clock.
func runStorm(t *testing.T, setup func() func(client int) *resilience.Policy) stormResult {
	var res stormResult
	synctest.Test(t, func(t *testing.T) {
		policyFor := setup()
		d := &stormDownstream{t0: time.Now()}
		var calls, successes [stormSlots]atomic.Int64
		var wg sync.WaitGroup
		for i := range stormClients {
			tr := httpx.Transport(d, policyFor(i))
			wg.Go(func() {
				advance(time.Duration(i) * stormInterval / stormClients) // spread the clients evenly
				tick := time.NewTicker(stormInterval)
				defer tick.Stop()
				for {
					start := time.Since(d.t0)
					if start >= stormTotal {
						return
					}
					wg.Go(func() {
						req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://downstream.test/", nil)
						resp, err := tr.RoundTrip(req)
						slot := int(start / stormSlot)
						calls[slot].Add(1)
						if err == nil {
							if resp.StatusCode == http.StatusOK {
								successes[slot].Add(1)
							}
							resp.Body.Close()
						}
					})
					<-tick.C
				}
			})
		}
		wg.Wait()

		first, last := int(stormWarmup/stormSlot), int((stormWarmup+stormOutage)/stormSlot)
		var outage int64
		for s := first; s < last; s++ {
			outage += d.attempts[s].Load()
			if s+10 <= last {
				var sec int64
				for k := s; k < s+10; k++ {
					sec += d.attempts[k].Load()
				}
				res.peakRate = max(res.peakRate, float64(sec))
			}
		}
		res.outageRate = float64(outage) / stormOutage.Seconds()

		var lateCalls, lateOK int64
		for s := last + int(2*time.Second/stormSlot); s < stormSlots; s++ {
			lateCalls += calls[s].Load()
			lateOK += successes[s].Load()
		}
		res.successLate = float64(lateOK) / float64(lateCalls)
		// Recovered: from this slot on, every slot's calls succeed ≥ 99%.
		res.recoveredIn = -1
		for s := stormSlots - 1; s >= last; s-- {
			if float64(successes[s].Load()) < 0.99*float64(calls[s].Load()) {
				res.recoveredIn = time.Duration(s+1-last) * stormSlot
				break
			}
		}
		if res.recoveredIn < 0 {
			res.recoveredIn = 0
		}
		for s := range calls {
			res.calls += calls[s].Load()
		}
	})
	return res
}

func TestRetryStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 5×32000 simulated calls")
	}
	newBudget := func(window time.Duration) *resilience.Budget {
		b, err := resilience.NewBudget(0.1, 10, window)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mustNew := func(opts ...resilience.Option) *resilience.Policy {
		p, err := resilience.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		policies  func() func(int) *resilience.Policy
		maxLoad   float64 // outage attempts / offered, at most
		maxPeak   float64 // the busiest second of the outage / offered, at most
		minLoad   float64 // at least
		recovered bool
	}{
		{
			name: "DefaultPolicy per client, one shared budget",
			policies: func() func(int) *resilience.Policy {
				shared := newBudget(resilience.DefaultBudgetWindow)
				return func(int) *resilience.Policy { return mustNew(resilience.Defaults(), resilience.WithBudget(shared)) }
			},
			maxLoad: 1.2, maxPeak: 1.2, recovered: true,
		},
		{
			name: "one DefaultPolicy for all clients",
			policies: func() func(int) *resilience.Policy {
				p := resilience.DefaultPolicy()
				return func(int) *resilience.Policy { return p }
			},
			maxLoad: 1.2, maxPeak: 1.2, recovered: true,
		},
		{
			name: "retry with shared budget, no breaker",
			policies: func() func(int) *resilience.Policy {
				shared := newBudget(resilience.DefaultBudgetWindow)
				return func(int) *resilience.Policy {
					return mustNew(resilience.WithRetry(resilience.RetryConfig{}), resilience.WithBudget(shared))
				}
			},
			maxLoad: 1.2, maxPeak: 1.2, recovered: true,
		},
		{
			// A 10s window banks 10% of 10s of healthy traffic and spends it
			// at the start of the outage: bounded on average, not per second.
			name: "retry with shared 10s-window budget, no breaker",
			policies: func() func(int) *resilience.Policy {
				shared := newBudget(10 * time.Second)
				return func(int) *resilience.Policy {
					return mustNew(resilience.WithRetry(resilience.RetryConfig{}), resilience.WithBudget(shared))
				}
			},
			maxLoad: 1.2, recovered: true,
		},
		{
			name: "retry only, no budget",
			policies: func() func(int) *resilience.Policy {
				return func(int) *resilience.Policy { return mustNew(resilience.WithRetry(resilience.RetryConfig{})) }
			},
			minLoad: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := runStorm(t, tc.policies)
			load := r.outageRate / stormOffered
			t.Logf("%s: offered %.0f req/s; during the outage the downstream got %.0f attempts/s (%.2f× offered, busiest second %.2f×); "+
				"%.2f%% of calls succeeded from 2s after recovery, ≥99%% in every 100ms from %v after recovery; %d calls simulated in %v",
				tc.name, stormOffered, r.outageRate, load, r.peakRate/stormOffered, 100*r.successLate, r.recoveredIn, r.calls, time.Since(start).Round(time.Millisecond))
			if tc.maxLoad > 0 && load > tc.maxLoad {
				t.Errorf("outage load %.2f× offered, want ≤ %.1f×", load, tc.maxLoad)
			}
			if peak := r.peakRate / stormOffered; tc.maxPeak > 0 && peak > tc.maxPeak {
				t.Errorf("busiest outage second %.2f× offered, want ≤ %.1f×", peak, tc.maxPeak)
			}
			if tc.minLoad > 0 && load < tc.minLoad {
				t.Errorf("outage load %.2f× offered, want a storm of ≥ %.1f×", load, tc.minLoad)
			}
			if tc.recovered && (r.successLate < 0.99 || r.recoveredIn > 2*time.Second) {
				t.Errorf("success %.2f%% from 2s after recovery (recovered in %v), want ≥ 99%% within 2s", 100*r.successLate, r.recoveredIn)
			}
		})
	}
}
