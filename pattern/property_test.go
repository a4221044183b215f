package pattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gen builds random patterns and events over a small vocabulary, so that
// matches are frequent and every operator, dotted and empty keys, unicode,
// arrays of scalars and of objects all take part.
type gen struct{ r *rand.Rand }

var (
	genKeys    = []string{"a", "b", "c", "d.e", "é", ""}
	genStrings = []string{"", "x", "xy", "XY", "yx", "10.0.0.7", "10.1.2.3", "a*b", "zzz", "Ωmega", "ſx", "2001:db8::1"}
	genNumbers = []float64{-1, 0, 1, 2.5, 100, 1e3}
)

func (g gen) pick(n int) int { return g.r.IntN(n) }

func (g gen) str() string  { return genStrings[g.pick(len(genStrings))] }
func (g gen) num() float64 { return genNumbers[g.pick(len(genNumbers))] }
func (g gen) key() string  { return genKeys[g.pick(len(genKeys))] }
func (g gen) prefixOf() string {
	s := g.str()
	return s[:g.pick(len(s)+1)]
}

func (g gen) leaf() any {
	switch g.pick(5) {
	case 0, 1:
		return g.str()
	case 2:
		return g.num()
	case 3:
		return g.pick(2) == 0
	}
	return nil
}

func (g gen) strList() []any {
	n := 1 + g.pick(2)
	l := make([]any, n)
	for i := range l {
		l[i] = g.str()
	}
	return l
}

func (g gen) operand(sns bool) any {
	s, n := g.str(), g.num()
	switch g.pick(22) {
	case 0:
		return map[string]any{"prefix": g.prefixOf()}
	case 1:
		return map[string]any{"suffix": s[g.pick(len(s)+1):]}
	case 2:
		return map[string]any{"equals-ignore-case": s}
	case 3:
		return map[string]any{"anything-but": s}
	case 4:
		return map[string]any{"anything-but": []any{n, g.num()}}
	case 5:
		return map[string]any{"numeric": []any{">=", n}}
	case 6:
		lo := n - float64(g.pick(3))
		return map[string]any{"numeric": []any{">", lo, "<=", lo + 1 + float64(g.pick(100))}}
	case 7:
		return map[string]any{"numeric": []any{"=", n}}
	case 8:
		return map[string]any{"exists": g.pick(2) == 0}
	case 9:
		return map[string]any{"cidr": []string{"10.0.0.0/24", "10.0.0.0/8", "2001:db8::/32"}[g.pick(3)]}
	case 10:
		if sns {
			return map[string]any{"anything-but": map[string]any{"prefix": "x"}}
		}
		return map[string]any{"wildcard": []string{"*y*", "x*", "*", "a\\*b", "*z"}[g.pick(5)]}
	case 11:
		if sns {
			return map[string]any{"anything-but": []any{"y", "xy"}}
		}
		return map[string]any{"prefix": map[string]any{"equals-ignore-case": g.prefixOf()}}
	case 12:
		if sns {
			return s
		}
		return map[string]any{"suffix": map[string]any{"equals-ignore-case": "Y"}}
	case 13:
		if sns {
			return n
		}
		switch g.pick(4) {
		case 0:
			return map[string]any{"anything-but": map[string]any{"prefix": []any{"x", "1"}}}
		case 1:
			return map[string]any{"anything-but": map[string]any{"suffix": "y"}}
		case 2:
			return map[string]any{"anything-but": map[string]any{"wildcard": "*x*"}}
		}
		return map[string]any{"anything-but": map[string]any{"equals-ignore-case": g.strList()}}
	case 14:
		return map[string]any{"anything-but": g.strList()}
	}
	return g.leaf()
}

func (g gen) pattern(depth int, sns bool) map[string]any {
	p := map[string]any{}
	for range 1 + g.pick(3) {
		k := g.key()
		if depth < 2 && g.pick(4) == 0 {
			p[k] = g.pattern(depth+1, sns)
			continue
		}
		vals := []any{}
		for range 1 + g.pick(3) {
			vals = append(vals, g.operand(sns))
		}
		p[k] = vals
	}
	if depth < 2 && g.pick(5) == 0 {
		p["$or"] = []any{g.pattern(depth+1, sns), g.pattern(depth+1, sns)}
	}
	return p
}

func (g gen) eventValue(depth int) any {
	switch r := g.pick(8); {
	case r == 0 && depth < 3:
		return g.event(depth + 1)
	case r == 1 && depth < 3:
		a := []any{}
		for range g.pick(4) {
			if g.pick(2) == 0 {
				a = append(a, g.event(depth+1))
			} else {
				a = append(a, g.leaf())
			}
		}
		return a
	case r == 2:
		return []any{g.leaf(), g.leaf()}
	}
	return g.leaf()
}

func (g gen) event(depth int) map[string]any {
	e := map[string]any{}
	for _, k := range genKeys {
		if g.pick(3) > 0 {
			e[k] = g.eventValue(depth)
		}
	}
	return e
}

// randomRules compiles n random patterns (of the dialect), skipping the
// invalid ones the generator sometimes makes.
func randomRules(t testing.TB, g gen, n int, d dialect) map[RuleID]*Pattern {
	rules := map[RuleID]*Pattern{}
	for i := range n {
		src, _ := json.Marshal(g.pattern(0, d.sns()))
		p, err := compile(src, d)
		if err != nil {
			continue
		}
		rules[RuleID(fmt.Sprintf("r%04d", i))] = p
	}
	if len(rules) < n/2 {
		t.Fatalf("only %d of %d random patterns compiled", len(rules), n)
	}
	return rules
}

func refIDs(rules map[RuleID]*Pattern, leaves []refLeaf) []RuleID {
	var want []RuleID
	for id, p := range rules {
		if refMatch(p, leaves) {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	return want
}

// TestMatchAllEqualsReference checks the property that MatchAll over many
// rules gives exactly the rules that the naive reference matcher accepts
// one at a time, and that Pattern.Match agrees with it too.
func TestMatchAllEqualsReference(t *testing.T) {
	for _, d := range []dialect{dialectEventBridge, dialectSNSBody} {
		g := gen{rand.New(rand.NewPCG(1, uint64(d)))}
		rules := randomRules(t, g, 400, d)
		m := NewMatcher()
		if err := m.AddAll(rules); err != nil {
			t.Fatal(err)
		}
		matches, slow := 0, 0
		for i := range 600 {
			ev, _ := json.Marshal(g.event(0))
			leaves, _ := refFlatten(ev)
			got, err := m.MatchAll(ev)
			if err != nil {
				t.Fatal(err)
			}
			want := refIDs(rules, leaves)
			if !slices.Equal(got, want) {
				t.Fatalf("dialect %d, event %s: MatchAll = %v; reference = %v", d, ev, got, want)
			}
			matches += len(got)
			if i%10 == 0 {
				for id, p := range rules {
					ok, err := p.Match(ev)
					if err != nil || ok != slices.Contains(want, id) {
						t.Fatalf("pattern %s, event %s: Match = %v, %v; reference %v", p, ev, ok, err, !ok)
					}
				}
			}
			for _, l := range leaves {
				if len(l.chain) > 1 {
					slow++
					break
				}
			}
		}
		if matches < 1000 || slow < 100 {
			t.Fatalf("dialect %d: %d matches, %d events with nested arrays: the property was not exercised", d, matches, slow)
		}
	}
}

// TestMatcherUpdatesEqualReference adds, replaces and removes rules at
// random (exercising the delta segment, its folding into the base and
// tombstones) and checks every step against the reference.
func TestMatcherUpdatesEqualReference(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	pool := randomRules(t, g, 300, dialectEventBridge)
	ids := make([]RuleID, 0, len(pool))
	for id := range pool {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var m Matcher // the zero value is ready to use
	current := map[RuleID]*Pattern{}
	events := make([][]byte, 40)
	for i := range events {
		events[i], _ = json.Marshal(g.event(0))
	}
	for step := range 400 {
		id := RuleID(fmt.Sprintf("u%03d", g.pick(150)))
		switch g.pick(4) {
		case 0:
			if n := m.Remove(id); (n == 1) != (current[id] != nil) {
				t.Fatalf("step %d: Remove(%s) = %d", step, id, n)
			}
			delete(current, id)
		case 1:
			batch := map[RuleID]*Pattern{}
			for range 1 + g.pick(80) {
				batch[RuleID(fmt.Sprintf("u%03d", g.pick(150)))] = pool[ids[g.pick(len(ids))]]
			}
			if err := m.AddAll(batch); err != nil {
				t.Fatal(err)
			}
			for k, p := range batch {
				current[k] = p
			}
		default:
			p := pool[ids[g.pick(len(ids))]]
			if err := m.Add(id, p); err != nil {
				t.Fatal(err)
			}
			current[id] = p
		}
		if m.Len() != len(current) {
			t.Fatalf("step %d: Len = %d, want %d", step, m.Len(), len(current))
		}
		ev := events[step%len(events)]
		leaves, _ := refFlatten(ev)
		got, err := m.MatchAll(ev)
		if err != nil {
			t.Fatal(err)
		}
		if want := refIDs(current, leaves); !slices.Equal(got, want) {
			t.Fatalf("step %d, event %s: MatchAll = %v; reference = %v", step, ev, got, want)
		}
	}
}

// TestMatchAllAttributesEqualsReference is the property for SNS attribute
// policies.
func TestMatchAllAttributesEqualsReference(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(5, 6))}
	rules := randomRules(t, g, 300, dialectSNSAttributes)
	m := NewMatcher()
	if err := m.AddAll(rules); err != nil {
		t.Fatal(err)
	}
	matches := 0
	for range 600 {
		attrs := map[string]Attribute{}
		for _, k := range genKeys {
			switch g.pick(6) {
			case 0:
				attrs[k] = Attribute{Type: "String", Value: g.str()}
			case 1:
				attrs[k] = Attribute{Type: "Number", Value: fmt.Sprint(g.num())}
			case 2:
				arr, _ := json.Marshal([]any{g.leaf(), g.leaf()})
				attrs[k] = Attribute{Type: "String.Array", Value: string(arr)}
			case 3:
				attrs[k] = Attribute{Type: "Binary", Value: "AAEC"}
			}
		}
		got, err := m.MatchAllAttributes(attrs)
		if err != nil {
			t.Fatal(err)
		}
		var want []RuleID
		for id, p := range rules {
			if refMatchAttributes(p, attrs) {
				want = append(want, id)
			}
			if ok, err := p.MatchAttributes(attrs); err != nil || ok != refMatchAttributes(p, attrs) {
				t.Fatalf("policy %s, attributes %v: MatchAttributes = %v, %v", p, attrs, ok, err)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("attributes %v: MatchAllAttributes = %v; reference = %v", attrs, got, want)
		}
		matches += len(got)
	}
	if matches < 500 {
		t.Fatalf("only %d matches: the property was not exercised", matches)
	}
}

// TestMatcherConcurrentUpdates matches while rules change; run with -race.
// Readers never block on the writer and always see a whole rule set.
func TestMatcherConcurrentUpdates(t *testing.T) {
	m := NewMatcher()
	p, err := Compile([]byte(`{"a": ["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 300 {
			if err := m.Add(RuleID(fmt.Sprintf("%03d", i)), p); err != nil {
				t.Error(err)
				return
			}
			if i%7 == 0 {
				m.Remove(RuleID(fmt.Sprintf("%03d", i/2)))
			}
		}
	}()
	last := 0
	for range 300 {
		ids, err := m.MatchAll([]byte(`{"a": "x"}`))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(ids) {
			t.Fatalf("unsorted result %v", ids)
		}
		last = len(ids)
	}
	wg.Wait()
	ids, _ := m.MatchAll([]byte(`{"a": "x"}`))
	if len(ids) != m.Len() || last > 300 {
		t.Fatalf("after the updates MatchAll = %d rules, Len = %d", len(ids), m.Len())
	}
}

// TestArrayConsistencyEqualsReference aims the property at arrays of
// objects: patterns name two or three fields under one array (exists:false
// included), events hold several elements with overlapping fields.
func TestArrayConsistencyEqualsReference(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(7, 8))}
	fields := []string{"k", "m", "n"}
	small := func() any {
		switch g.pick(4) {
		case 0:
			return "x"
		case 1:
			return "y"
		case 2:
			return 1.0
		}
		return nil
	}
	rules := map[RuleID]*Pattern{}
	for i := range 300 {
		inner := map[string]any{}
		for _, f := range fields {
			switch g.pick(4) {
			case 0:
				inner[f] = []any{map[string]any{"exists": false}}
			case 1:
				inner[f] = []any{small()}
			case 2:
				inner[f] = []any{map[string]any{"anything-but": "x"}, map[string]any{"exists": g.pick(2) == 0}}
			}
		}
		if len(inner) == 0 {
			continue
		}
		pat := map[string]any{"arr": inner}
		if g.pick(3) == 0 {
			pat["top"] = []any{small()}
		}
		if g.pick(4) == 0 {
			pat["arr"] = map[string]any{"sub": inner}
		}
		src, _ := json.Marshal(pat)
		p, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		rules[RuleID(fmt.Sprintf("a%03d", i))] = p
	}
	m := NewMatcher()
	if err := m.AddAll(rules); err != nil {
		t.Fatal(err)
	}
	element := func() map[string]any {
		e := map[string]any{}
		for _, f := range fields {
			if g.pick(2) == 0 {
				e[f] = small()
			}
		}
		if g.pick(3) == 0 {
			e["sub"] = []any{map[string]any{"k": small(), "m": small()}, map[string]any{"n": small()}}
		}
		return e
	}
	matches := 0
	for range 1500 {
		var arr []any
		for range g.pick(4) {
			if g.pick(5) == 0 {
				arr = append(arr, []any{element(), element()})
			} else {
				arr = append(arr, element())
			}
		}
		ev, _ := json.Marshal(map[string]any{"arr": arr, "top": small()})
		leaves, _ := refFlatten(ev)
		got, err := m.MatchAll(ev)
		if err != nil {
			t.Fatal(err)
		}
		want := refIDs(rules, leaves)
		if !slices.Equal(got, want) {
			t.Fatalf("event %s: MatchAll = %v; reference = %v", ev, got, want)
		}
		matches += len(got)
	}
	if matches < 1000 {
		t.Fatalf("only %d matches: the property was not exercised", matches)
	}
}
