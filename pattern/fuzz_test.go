package pattern

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// witness returns a value that passes p, if it can build one.
func witness(p *pred) (any, bool) {
	switch p.kind {
	case predString, predEqualsFold:
		return p.str, true
	case predNumber:
		return p.num, true
	case predTrue:
		return true, true
	case predFalse:
		return false, true
	case predNull, predExists:
		return nil, true
	case predPrefix, predPrefixFold:
		return p.str + "~tail", true
	case predSuffix, predSuffixFold:
		return "head~" + p.str, true
	case predWildcard:
		return strings.Join(p.wild, "-"), true
	case predNumeric:
		switch {
		case p.lo == p.hi:
			return p.lo, true
		case math.IsInf(p.lo, -1) && math.IsInf(p.hi, 1):
			return 0.0, true
		case math.IsInf(p.lo, -1):
			return p.hi - 1, !math.IsInf(p.hi-1, 0) && p.hi-1 < p.hi
		case math.IsInf(p.hi, 1):
			return p.lo + 1, !math.IsInf(p.lo+1, 0) && p.lo+1 > p.lo
		}
		mid := p.lo/2 + p.hi/2
		return mid, mid > p.lo && mid < p.hi
	case predCIDR:
		return p.cidr.Addr().String(), true
	case predAnythingBut:
		v := "\u2603 none of these \u2603"
		val := value{kind: kindString, str: v}
		return v, p.test(&val)
	}
	return nil, false
}

// eventFor builds an event that the first alternative of p matches, or
// reports that it cannot.
func eventFor(p *Pattern) ([]byte, bool) {
	ev := map[string]any{}
	for _, c := range p.alts[0].conds {
		if c.negative() {
			continue // leave the field out
		}
		v, ok := witness(&c.preds[0])
		if !ok {
			return nil, false
		}
		obj := ev
		for _, k := range c.path[:len(c.path)-1] {
			next, isObj := obj[k].(map[string]any)
			if !isObj {
				if _, taken := obj[k]; taken {
					return nil, false
				}
				next = map[string]any{}
				obj[k] = next
			}
			obj = next
		}
		last := c.path[len(c.path)-1]
		if _, taken := obj[last]; taken {
			return nil, false
		}
		obj[last] = v
	}
	b, err := json.Marshal(ev)
	return b, err == nil
}

// FuzzCompile compiles arbitrary text: no panic, errors name a reason,
// and an event built from a compiled pattern matches it.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`{"a": ["x", 1, true, null]}`,
		`{"a": {"b": [{"prefix": "p"}, {"suffix": {"equals-ignore-case": "S"}}]}}`,
		`{"n": [{"numeric": [">", 0, "<=", 5]}], "ip": [{"cidr": "10.0.0.0/8"}]}`,
		`{"$or": [{"a": [{"anything-but": ["x", "y"]}]}, {"b": [{"exists": false}]}]}`,
		`{"w": [{"wildcard": "a*b\\*c"}], "e": [{"equals-ignore-case": "Q"}]}`,
		`{"a": [{"anything-but": {"prefix": "x"}}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile([]byte(src))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		ev, ok := eventFor(p)
		if !ok {
			return
		}
		got, err := p.Match(ev)
		if err != nil || !got {
			t.Fatalf("pattern %s does not match the event built from it, %s (%v)", src, ev, err)
		}
	})
}

// FuzzMatch matches arbitrary events: no panic, no hang, and the single
// pattern and a Matcher agree.
func FuzzMatch(f *testing.F) {
	f.Add(`{"a": [{"prefix": "x"}], "b": {"c": [{"numeric": [">", 1]}]}}`, `{"a": "xy", "b": {"c": 2}}`)
	f.Add(`{"a": [{"exists": false}]}`, `{"a": [1, {"b": null}], "c": "\u00e9"}`)
	f.Add(`{"a": ["x"]}`, `{"a": "x\\u0000", "a": [[["x"]]]}`)
	f.Fuzz(func(t *testing.T, src, event string) {
		p, err := Compile([]byte(src))
		if err != nil {
			return
		}
		one, err1 := p.Match([]byte(event))
		m := NewMatcher()
		m.AddRule("r", p)
		ids, err2 := m.MatchAll([]byte(event))
		if (err1 == nil) != (err2 == nil) || one != (len(ids) == 1) {
			t.Fatalf("Match = %v, %v; MatchAll = %v, %v", one, err1, ids, err2)
		}
		if err1 == nil && !json.Valid([]byte(event)) {
			t.Fatalf("event %q is not valid JSON but matched without error", event)
		}
	})
}
