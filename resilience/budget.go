package resilience

import (
	"math"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	failsafebudget "github.com/failsafe-go/failsafe-go/budget"
)

// Defaults of the budget of Defaults and of a config's budgets.
//
// The window is short on purpose: tokens banked while the downstream was
// healthy are spent in a burst when it fails, so a budget of ratio r over a
// window W can add r·W seconds of traffic in the first moments of an outage
// (10s at 10% doubles the load for a second). Over one second the burst is
// at most 10% of a second's traffic.
const (
	DefaultBudgetRatio        = 0.1
	DefaultBudgetMinPerSecond = 10
	DefaultBudgetWindow       = time.Second
)

// budgetSlices is how many slices a Budget's window slides by: deposits and
// withdrawals expire a tenth of the window at a time.
const budgetSlices = 10

// Budget limits retries (and hedges) to a ratio of recent requests, so that
// an outage does not multiply the load on the failing service: each request
// deposits ratio tokens, each retry withdraws one, and tokens older than the
// window expire. A reserve of minPerSec·window tokens lets a little traffic
// retry at all. Over any window, therefore,
//
//	retries ≤ ratio·requests + minPerSec·window
//
// (Finagle's RetryBudget; gRPC's retry throttling and Envoy's retry budgets
// have the same aim). Share one Budget between every Policy and client that
// calls the same downstream. A Budget is safe for concurrent use; the zero
// Budget allows no retries.
type Budget struct {
	ratio   float64
	reserve float64
	slice   time.Duration

	mu          sync.Mutex
	start       time.Time
	head        int64 // index of the newest slice since start
	deposits    [budgetSlices]int64
	withdrawals [budgetSlices]int64
	deposited   int64 // sum of deposits over the live slices
	withdrawn   int64 // sum of withdrawals over the live slices
}

// NewBudget returns a Budget that lets retries be ratio (0..1) of the
// requests of the last window (1s..1h), plus minPerSec (0..1000000) retries per
// second of the window. It fails with a *courier.ValidationError naming the
// argument out of range.
func NewBudget(ratio float64, minPerSec int, window time.Duration) (*Budget, error) {
	var v validator
	v.floatRange("budget.ratio", ratio, 0, 1, false)
	v.intRange("budget.minPerSecond", minPerSec, 0, 1_000_000)
	v.durationRange("budget.window", window, time.Second, time.Hour)
	if err := v.err(); err != nil {
		return nil, err
	}
	return &Budget{
		ratio:   ratio,
		reserve: float64(minPerSec) * window.Seconds(),
		slice:   window / budgetSlices,
		start:   time.Now(),
	}, nil
}

// advance expires the slices that fell out of the window. b.mu is held.
func (b *Budget) advance() {
	idx := int64(time.Since(b.start) / b.slice)
	if idx <= b.head {
		return
	}
	for i := b.head + 1; i <= idx && i <= b.head+budgetSlices; i++ {
		s := i % budgetSlices
		b.deposited -= b.deposits[s]
		b.withdrawn -= b.withdrawals[s]
		b.deposits[s], b.withdrawals[s] = 0, 0
	}
	b.head = idx
}

// available returns the whole tokens left. b.mu is held. The epsilon keeps
// 0.29·100 at 29 despite floating point.
func (b *Budget) available() int64 {
	return int64(math.Floor(b.ratio*float64(b.deposited)+b.reserve+1e-9)) - b.withdrawn
}

// Deposit records one request (not a retry). A Policy with this budget calls
// it once per call.
func (b *Budget) Deposit() {
	if b == nil || b.slice == 0 {
		return
	}
	b.mu.Lock()
	b.advance()
	b.deposits[b.head%budgetSlices]++
	b.deposited++
	b.mu.Unlock()
}

// TryWithdraw takes a token for one retry or hedge and reports whether there
// was one. A Policy with this budget calls it before each retry and hedge and
// gives up with ErrBudgetExhausted when it returns false.
func (b *Budget) TryWithdraw() bool {
	if b == nil || b.slice == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	if b.available() < 1 {
		return false
	}
	b.withdrawals[b.head%budgetSlices]++
	b.withdrawn++
	return true
}

// Available returns how many retries the budget would allow now.
func (b *Budget) Available() int {
	if b == nil || b.slice == 0 {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	return int(max(0, b.available()))
}

// budgetAdapter plugs a Budget into failsafe's retry and hedge policies,
// which consult a budget through these methods. Deposits are made by
// Policy.run, once per call, so that calls made without retries (see
// NotIdempotent) count as requests too.
type budgetAdapter struct{ b *Budget }

var _ failsafebudget.Budget = budgetAdapter{}

func (a budgetAdapter) Rate() float64 {
	a.b.mu.Lock()
	defer a.b.mu.Unlock()
	if a.b.deposited == 0 {
		return 0
	}
	return float64(a.b.withdrawn) / float64(a.b.deposited)
}
func (a budgetAdapter) RecordExecution()                                                      {}
func (a budgetAdapter) ReleaseExecution()                                                     {}
func (a budgetAdapter) TryAcquirePermit() bool                                                { return a.b.TryWithdraw() }
func (a budgetAdapter) ReleasePermit()                                                        {}
func (a budgetAdapter) OnBudgetExceeded(failsafebudget.ExecutionType, failsafe.ExecutionInfo) {}
