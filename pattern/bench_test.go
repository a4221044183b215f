package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

var (
	benchSources = []string{"aws.ec2", "aws.s3", "com.shop.orders", "com.shop.payments", "com.shop.billing", "com.shop.inventory", "com.shop.shipping", "com.shop.auth"}
	benchStates  = []string{"running", "stopped", "pending", "terminated", "created", "paid", "refunded", "shipped"}
	benchTypes   = []string{"Order Placed", "Order Shipped", "Payment Failed", "Instance State Changed", "Object Created", "User Signed In"}
)

// benchRules returns n rules of mixed operators over the fields of
// benchEvents, in the proportions of a real rule set: mostly exact matches
// on source, detail-type and a detail field, then prefixes, numeric
// ranges, anything-but, suffixes, equals-ignore-case, exists, cidr,
// wildcards and $or.
func benchRules(n int) map[RuleID]*Pattern {
	r := rand.New(rand.NewPCG(7, 7))
	rules := make(map[RuleID]*Pattern, n)
	for i := range n {
		src := benchSources[r.IntN(len(benchSources))]
		st := benchStates[r.IntN(len(benchStates))]
		dt := benchTypes[r.IntN(len(benchTypes))]
		var text string
		switch k := r.IntN(20); {
		case k < 7:
			text = fmt.Sprintf(`{"source":[%q],"detail-type":[%q],"detail":{"state":[%q,"s%d"]}}`, src, dt, st, i)
		case k < 9:
			text = fmt.Sprintf(`{"source":[%q],"detail":{"customer":{"region":[{"prefix":"eu-%d"}]}}}`, src, r.IntN(5))
		case k < 11:
			lo := r.IntN(1000)
			text = fmt.Sprintf(`{"source":[%q],"detail-type":[%q],"detail":{"amount":[{"numeric":[">=",%d,"<",%d]}]}}`, src, dt, lo, lo+r.IntN(500)+1)
		case k < 13:
			text = fmt.Sprintf(`{"source":[%q],"detail-type":[%q],"detail":{"state":[{"anything-but":[%q,"x%d"]}]}}`, src, dt, st, i)
		case k < 14:
			text = fmt.Sprintf(`{"detail":{"file":[{"suffix":".%d.png"}]}}`, r.IntN(50))
		case k < 15:
			text = fmt.Sprintf(`{"detail":{"customer":{"name":[{"equals-ignore-case":"customer-%d"}]}}}`, r.IntN(200))
		case k < 16:
			text = fmt.Sprintf(`{"source":[%q],"detail":{"error":[{"exists":false}],"state":[%q]}}`, src, st)
		case k < 17:
			text = fmt.Sprintf(`{"source":[%q],"detail":{"ip":[{"cidr":"10.%d.0.0/16"}]}}`, src, r.IntN(20))
		case k < 18:
			text = fmt.Sprintf(`{"resources":[{"wildcard":"arn:aws:ec2:us-east-1:%d:instance/*"}]}`, r.IntN(100))
		case k < 19:
			text = fmt.Sprintf(`{"detail":{"items":{"sku":[{"prefix":"SKU-%d"}],"qty":[{"numeric":[">",2]}]}}}`, r.IntN(100))
		default:
			text = fmt.Sprintf(`{"$or":[{"source":[%q]},{"detail":{"priority":[%d]}}],"detail-type":[%q],"region":["us-east-%d"]}`, src, r.IntN(10), dt, r.IntN(3))
		}
		p, err := Compile([]byte(text))
		if err != nil {
			panic(fmt.Sprintf("%s: %v", text, err))
		}
		rules[RuleID(fmt.Sprintf("rule-%05d", i))] = p
	}
	return rules
}

// benchEvents returns n realistic EventBridge events of 1-2 KiB, as
// compact JSON (the form events travel in).
func benchEvents(n int) [][]byte {
	r := rand.New(rand.NewPCG(9, 9))
	out := make([][]byte, n)
	for i := range out {
		items := []any{}
		for j := range 2 + r.IntN(3) {
			items = append(items, map[string]any{"sku": fmt.Sprintf("SKU-%d", r.IntN(150)), "qty": 1 + r.IntN(4), "price": 19.99 + float64(j)})
		}
		ev := map[string]any{
			"version": "0", "id": fmt.Sprintf("6a7e8feb-b491-4cf7-a9f1-bf3703467718-%d", i),
			"detail-type": benchTypes[r.IntN(len(benchTypes))], "source": benchSources[r.IntN(len(benchSources))],
			"account": "111122223333", "time": "2026-11-24T18:43:48Z", "region": fmt.Sprintf("us-east-%d", r.IntN(3)),
			"resources": []string{
				fmt.Sprintf("arn:aws:ec2:us-east-1:%d:instance/i-1234567890abcdef0", r.IntN(100)),
				fmt.Sprintf("arn:aws:s3:::bucket-%d", i),
			},
			"detail": map[string]any{
				"state": benchStates[r.IntN(len(benchStates))], "amount": float64(r.IntN(150000)) / 100, "currency": "EUR",
				"priority": r.IntN(10), "file": fmt.Sprintf("invoices/2026/11/%d.%d.png", i, r.IntN(50)),
				"ip": fmt.Sprintf("10.%d.%d.%d", r.IntN(30), r.IntN(256), r.IntN(256)),
				"customer": map[string]any{
					"name": fmt.Sprintf("Customer-%d", r.IntN(200)), "region": fmt.Sprintf("eu-%d-central", r.IntN(5)),
					"email": fmt.Sprintf("c%d@example.com", i), "tier": "gold",
					"address": map[string]any{"street": fmt.Sprintf("Main Street %d", i), "city": "Zürich", "zip": "8001", "country": "CH"},
				},
				"items": items,
				"notes": "Leave the parcel at the door. Ring twice. This text pads the event to a realistic size, " +
					"as events carry descriptions, addresses and metadata that no rule looks at.",
				"tracking": map[string]any{"carrier": "post", "id": fmt.Sprintf("TRK%d", i), "events": []any{
					map[string]any{"at": "2026-11-24T18:43:48Z", "what": "label created", "where": "Zürich Mülligen"},
					map[string]any{"at": "2026-11-24T19:00:00Z", "what": "picked up", "where": "Zürich Mülligen"},
				}},
			},
		}
		if r.IntN(4) == 0 {
			ev["detail"].(map[string]any)["error"] = map[string]any{"code": "E42", "message": "card declined by issuer"}
		}
		b, err := json.Marshal(ev)
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}

// BenchmarkMatchAll matches 1,000 rules of mixed operators against
// realistic events in one pass per event, and in the same run a naive loop
// that matches each rule on its own (Pattern.Match, one rule at a time);
// it reports both rates and their ratio.
func BenchmarkMatchAll(b *testing.B) {
	rules := benchRules(1000)
	m := NewMatcher()
	if err := m.AddAll(rules); err != nil {
		b.Fatal(err)
	}
	events := benchEvents(512)
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
	// The naive loop, on a sample of events, in the same benchmark.
	naiveN := max(b.N/2000, 10)
	start = time.Now()
	naiveMatched := 0
	for i := range naiveN {
		for _, p := range pats {
			ok, err := p.Match(events[i%len(events)])
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				naiveMatched++
			}
		}
	}
	naive := float64(naiveN) / time.Since(start).Seconds()
	b.ReportMetric(fast, "events/s")
	b.ReportMetric(naive, "naive-events/s")
	b.ReportMetric(fast/naive, "x-naive")
	b.ReportMetric(float64(matched)/float64(b.N), "matches/event")
	b.ReportMetric(float64(size)/float64(len(events)), "bytes/event")
}

// BenchmarkCompile10k compiles 10,000 rules (the JSON text of each) and
// builds one Matcher from them, reporting the time and the memory per
// rule.
func BenchmarkCompile10k(b *testing.B) {
	texts := make(map[RuleID]string, 10_000)
	for id, p := range benchRules(10_000) {
		texts[id] = p.String()
	}
	b.ReportAllocs()
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		rules := make(map[RuleID]*Pattern, len(texts))
		for id, t := range texts {
			p, err := Compile([]byte(t))
			if err != nil {
				b.Fatal(err)
			}
			rules[id] = p
		}
		m := NewMatcher()
		if err := m.AddAll(rules); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(el.Seconds(), "s/10k-rules")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(texts)), "bytes/rule")
		runtime.KeepAlive(m)
	}
}

// BenchmarkScanFloor calibrates the machine on the same events: a bare
// pass over the bytes (counting quotes), encoding/json.Valid, and this
// package's scanner with no rules (a validating walk of the whole event).
// MatchAll's rate is best read against these.
func BenchmarkScanFloor(b *testing.B) {
	events := benchEvents(512)
	b.Run("count-quotes", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for i := range b.N {
			n += bytes.Count(events[i%len(events)], []byte{'"'})
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if !json.Valid(events[i%len(events)]) {
				b.Fatal("invalid event")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("scan-no-rules", func(b *testing.B) {
		var m Matcher
		b.ReportAllocs()
		for i := range b.N {
			if _, err := m.MatchAll(events[i%len(events)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkMatcherUpdate adds and replaces single rules in a Matcher of
// 10,000 rules: the cost of one update at run time.
func BenchmarkMatcherUpdate(b *testing.B) {
	rules := benchRules(10_000)
	m := NewMatcher()
	if err := m.AddAll(rules); err != nil {
		b.Fatal(err)
	}
	extra := benchRules(64)
	pats := make([]*Pattern, 0, len(extra))
	for _, p := range extra {
		pats = append(pats, p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := m.Add(RuleID(fmt.Sprintf("rule-%05d", i%10_000)), pats[i%len(pats)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}
