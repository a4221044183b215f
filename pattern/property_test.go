package pattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gen builds random patterns and events over a small vocabulary, so that
// matches are frequent enough to be interesting.
type gen struct{ r *rand.Rand }

var (
	genKeys    = []string{"a", "b", "c", "d.e", "é"}
	genStrings = []string{"", "x", "xy", "XY", "yx", "10.0.0.7", "a*b", "zzz"}
	genNumbers = []float64{-1, 0, 1, 2.5, 100}
)

func (g gen) leafValue() any {
	switch g.r.IntN(4) {
	case 0:
		return genStrings[g.r.IntN(len(genStrings))]
	case 1:
		return genNumbers[g.r.IntN(len(genNumbers))]
	case 2:
		return g.r.IntN(2) == 0
	}
	return nil
}

func (g gen) operand() any {
	s := genStrings[g.r.IntN(len(genStrings))]
	n := genNumbers[g.r.IntN(len(genNumbers))]
	switch g.r.IntN(12) {
	case 0:
		return map[string]any{"prefix": s}
	case 1:
		return map[string]any{"suffix": s}
	case 2:
		return map[string]any{"equals-ignore-case": s}
	case 3:
		return map[string]any{"anything-but": s}
	case 4:
		return map[string]any{"numeric": []any{">=", n}}
	case 5:
		return map[string]any{"numeric": []any{">", n - 1, "<=", n + 1}}
	case 6:
		return map[string]any{"exists": g.r.IntN(2) == 0}
	case 7:
		return map[string]any{"cidr": "10.0.0.0/24"}
	case 8:
		return map[string]any{"wildcard": "*y*"}
	case 9:
		return map[string]any{"prefix": map[string]any{"equals-ignore-case": s}}
	}
	return g.leafValue()
}

func (g gen) pattern(depth int) map[string]any {
	p := map[string]any{}
	for range 1 + g.r.IntN(3) {
		k := genKeys[g.r.IntN(len(genKeys))]
		if depth < 2 && g.r.IntN(4) == 0 {
			p[k] = g.pattern(depth + 1)
			continue
		}
		vals := []any{}
		for range 1 + g.r.IntN(3) {
			vals = append(vals, g.operand())
		}
		p[k] = vals
	}
	if depth == 0 && g.r.IntN(5) == 0 {
		p["$or"] = []any{g.pattern(1), g.pattern(1)}
	}
	return p
}

func (g gen) event(depth int) map[string]any {
	e := map[string]any{}
	for _, k := range genKeys {
		switch r := g.r.IntN(5); {
		case r == 0:
		case r == 1 && depth < 2:
			e[k] = g.event(depth + 1)
		case r == 2:
			e[k] = []any{g.leafValue(), g.leafValue()}
		default:
			e[k] = g.leafValue()
		}
	}
	return e
}

// TestMatchAllEqualsEachRule checks the property that MatchAll over many
// rules gives exactly the rules whose Match alone is true.
func TestMatchAllEqualsEachRule(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	rules := map[RuleID]*Pattern{}
	for i := range 300 {
		src, _ := json.Marshal(g.pattern(0))
		p, err := Compile(src)
		if err != nil {
			continue // random patterns can be invalid (e.g. empty objects)
		}
		rules[RuleID(fmt.Sprintf("r%03d", i))] = p
	}
	if len(rules) < 200 {
		t.Fatalf("only %d of 300 random patterns compiled", len(rules))
	}
	m := NewMatcher()
	m.Add(rules)
	matches := 0
	for range 500 {
		ev, _ := json.Marshal(g.event(0))
		got, err := m.MatchAll(ev)
		if err != nil {
			t.Fatal(err)
		}
		var want []RuleID
		for id, p := range rules {
			ok, err := p.Match(ev)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("event %s: MatchAll = %v; each rule alone = %v", ev, got, want)
		}
		matches += len(got)
	}
	if matches == 0 {
		t.Fatal("no random event matched any rule: the property was not exercised")
	}
	// Removing rules removes exactly them.
	var some []RuleID
	for id := range rules {
		if len(some) < 100 {
			some = append(some, id)
		}
	}
	if n := m.Remove(some...); n != len(some) || m.Len() != len(rules)-len(some) {
		t.Fatalf("Remove = %d, Len = %d", n, m.Len())
	}
}

// TestMatcherConcurrentUpdates matches while rules change; run with -race.
func TestMatcherConcurrentUpdates(t *testing.T) {
	m := NewMatcher()
	p, _ := Compile([]byte(`{"a": ["x"]}`))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			m.AddRule(RuleID(fmt.Sprint(i)), p)
		}
	}()
	for range 200 {
		if _, err := m.MatchAll([]byte(`{"a": "x"}`)); err != nil {
			t.Error(err)
		}
	}
	<-done
	ids, _ := m.MatchAll([]byte(`{"a": "x"}`))
	if len(ids) != 200 {
		t.Fatalf("after 200 adds MatchAll = %d rules", len(ids))
	}
}
