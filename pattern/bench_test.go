package pattern

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// benchRules returns n rules of mixed operators over the fields of
// benchEvent, in the proportions of a real rule set: mostly exact
// matches, then prefixes, numeric ranges, anything-but, suffixes,
// equals-ignore-case, exists and $or.
func benchRules(n int) map[RuleID]*Pattern {
	r := rand.New(rand.NewPCG(7, 7))
	sources := []string{"aws.ec2", "aws.s3", "orders", "payments", "billing", "inventory", "shipping", "auth"}
	states := []string{"running", "stopped", "pending", "terminated", "created", "paid", "refunded", "shipped"}
	types := []string{"Order Placed", "Order Shipped", "Payment Failed", "Instance State Changed"}
	rules := make(map[RuleID]*Pattern, n)
	for i := range n {
		var src string
		src1 := sources[r.IntN(len(sources))]
		st := states[r.IntN(len(states))]
		dt := types[r.IntN(len(types))]
		switch k := r.IntN(20); {
		case k < 8:
			src = fmt.Sprintf(`{"source": [%q], "detail": {"state": [%q, "s%d"]}}`, src1, st, i)
		case k < 11:
			src = fmt.Sprintf(`{"source": [%q], "detail": {"customer": {"region": [{"prefix": "eu-%d"}]}}}`, src1, r.IntN(5))
		case k < 13:
			lo := r.IntN(1000)
			src = fmt.Sprintf(`{"source": [%q], "detail-type": [%q], "detail": {"amount": [{"numeric": [">=", %d, "<", %d]}]}}`, src1, dt, lo, lo+r.IntN(500)+1)
		case k < 15:
			src = fmt.Sprintf(`{"source": [%q], "detail-type": [%q], "detail": {"state": [{"anything-but": [%q, "x%d"]}]}}`, src1, dt, st, i)
		case k < 16:
			src = fmt.Sprintf(`{"detail": {"file": [{"suffix": ".%d.png"}]}}`, r.IntN(50))
		case k < 17:
			src = fmt.Sprintf(`{"detail": {"customer": {"name": [{"equals-ignore-case": "customer-%d"}]}}}`, r.IntN(200))
		case k < 18:
			src = fmt.Sprintf(`{"source": [%q], "detail": {"error": [{"exists": false}], "state": [%q]}}`, src1, st)
		case k < 19:
			src = fmt.Sprintf(`{"resources": [{"prefix": "arn:aws:ec2:us-east-1:%d"}]}`, r.IntN(100))
		default:
			src = fmt.Sprintf(`{"$or": [{"source": [%q]}, {"detail": {"priority": [%d]}}], "detail-type": [%q], "region": ["us-east-%d"]}`, src1, r.IntN(10), dt, r.IntN(3))
		}
		p, err := Compile([]byte(src))
		if err != nil {
			panic(err)
		}
		rules[RuleID(fmt.Sprintf("rule-%04d", i))] = p
	}
	return rules
}

// benchEvents returns realistic events of 1-2 KiB.
func benchEvents(n int) [][]byte {
	r := rand.New(rand.NewPCG(9, 9))
	sources := []string{"aws.ec2", "aws.s3", "orders", "payments", "billing", "inventory", "shipping", "auth"}
	states := []string{"running", "stopped", "pending", "terminated", "created", "paid", "refunded", "shipped"}
	types := []string{"Order Placed", "Order Shipped", "Payment Failed", "Instance State Changed"}
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{
  "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718-%d",
  "detail-type": %q, "source": %q, "account": "111122223333",
  "time": "2026-11-24T18:43:48Z", "region": "us-east-%d",
  "resources": ["arn:aws:ec2:us-east-1:%d:instance/i-1234567890abcdef0", "arn:aws:s3:::bucket-%d"],
  "detail": {
    "state": %q, "amount": %d.%02d, "currency": "EUR", "priority": %d,
    "file": "invoices/2026/11/%d.%d.png",
    "customer": {"name": "Customer-%d", "region": "eu-%d-central", "email": "c%d@example.com", "tier": "gold",
                 "address": {"street": "Main Street %d", "city": "Zürich", "zip": "8001", "country": "CH"}},
    "items": [{"sku": "SKU-%d", "qty": %d, "price": 19.99}, {"sku": "SKU-%d", "qty": 1, "price": 5.5},
              {"sku": "SKU-%d", "qty": 3, "price": 120}],
    "notes": "Leave the parcel at the door. Ring twice. This text pads the event to a realistic size of one to two kilobytes, as events carry descriptions, addresses and metadata that no rule looks at.",
    "tracking": {"carrier": "post", "id": "TRK%d", "events": [{"at": "2026-11-24T18:43:48Z", "what": "label created"}, {"at": "2026-11-24T19:00:00Z", "what": "picked up"}]}
  }
}`, i, types[r.IntN(len(types))], sources[r.IntN(len(sources))], r.IntN(3), r.IntN(100), i, states[r.IntN(len(states))], r.IntN(1500), r.IntN(100), r.IntN(10),
			i, r.IntN(50), r.IntN(200), r.IntN(5), i, i, i, r.IntN(5), i+1, i+2, i)
	}
	return out
}

// BenchmarkMatchAll matches 1,000 mixed rules against realistic events in
// one pass, beside a naive loop that matches each rule on its own, and
// reports both rates and their ratio.
func BenchmarkMatchAll(b *testing.B) {
	rules := benchRules(1000)
	m := NewMatcher()
	m.Add(rules)
	events := benchEvents(256)
	size := 0
	for _, e := range events {
		size += len(e)
	}
	pats := make([]*Pattern, 0, len(rules))
	for _, p := range rules {
		pats = append(pats, p)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size / len(events)))
	var dst []RuleID
	matched := 0
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		var err error
		dst, err = m.AppendMatches(dst[:0], events[i%len(events)])
		if err != nil {
			b.Fatal(err)
		}
		matched += len(dst)
	}
	fast := float64(b.N) / time.Since(start).Seconds()
	b.StopTimer()
	// The naive loop, on a sample, in the same benchmark.
	naiveN := max(b.N/50, 20)
	start = time.Now()
	for i := range naiveN {
		for _, p := range pats {
			if _, err := p.Match(events[i%len(events)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	naive := float64(naiveN) / time.Since(start).Seconds()
	b.ReportMetric(fast, "events/s")
	b.ReportMetric(naive, "naive-events/s")
	b.ReportMetric(fast/naive, "x-naive")
	b.ReportMetric(float64(matched)/float64(b.N), "matches/event")
}

// BenchmarkCompile10k compiles 10,000 rules into one Matcher and reports
// the time and the memory per rule.
func BenchmarkCompile10k(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		rules := benchRules(10_000)
		m := NewMatcher()
		m.Add(rules)
		el := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(el.Seconds(), "s/10k-rules")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/10_000, "bytes/rule")
		runtime.KeepAlive(m)
	}
}
