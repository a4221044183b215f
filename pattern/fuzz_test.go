package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
)

// witness returns a value that passes p, if it can build one.
func witness(p *pred) (any, bool) {
	switch p.kind {
	case predString, predEqualsFold, predPrefixFold, predSuffixFold:
		return p.str, true
	case predNumber:
		return p.num, !math.IsInf(p.num, 0)
	case predTrue:
		return true, true
	case predFalse:
		return false, true
	case predNull:
		return nil, true
	case predExists, predPresent:
		return "w", true
	case predPrefix:
		return p.str + "~tail", true
	case predSuffix:
		return "head~" + p.str, true
	case predWildcard:
		return strings.Join(p.wild, ""), true
	case predNumeric:
		for _, f := range []float64{p.lo, p.hi, p.lo/2 + p.hi/2, p.lo + 1, p.hi - 1, 0} {
			if !math.IsInf(f, 0) && !math.IsNaN(f) && p.inRange(f) {
				return f, true
			}
		}
	case predCIDR:
		return p.cidr.Addr().String(), true
	case predAnythingBut:
		for _, c := range []any{"\u2603 none of these", 12345.678, true} {
			var v value
			switch x := c.(type) {
			case string:
				v = value{kind: kindString, str: x}
			case float64:
				v = value{kind: kindNumber, num: x}
			default:
				v = value{kind: kindTrue}
			}
			if p.test(&v) {
				return c, true
			}
		}
	}
	return nil, false
}

// eventFor builds a flat event (every path as one dotted key) that the
// first alternative of p matches, or reports that it cannot.
func eventFor(p *Pattern) ([]byte, bool) {
	ev := map[string]any{}
	for _, c := range p.alts[0].conds {
		if len(c.preds) == 0 {
			continue // exists:false alone: leave the field out
		}
		v, ok := witness(&c.preds[0])
		if !ok {
			return nil, false
		}
		ev[c.path] = v
	}
	b, err := json.Marshal(ev)
	return b, err == nil
}

// FuzzCompile compiles arbitrary text in each dialect: no panic, errors are
// *Error values with a reason, and an event built from a compiled pattern
// matches it (checked against the reference matcher as well).
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`{"a": ["x", 1, true, null]}`,
		`{"a": {"b": [{"prefix": "p"}, {"suffix": {"equals-ignore-case": "S"}}]}}`,
		`{"n": [{"numeric": [">", 0, "<=", 5]}], "ip": [{"cidr": "10.0.0.0/8"}]}`,
		`{"$or": [{"a": [{"anything-but": ["x", "y"]}]}, {"b": [{"exists": false}]}]}`,
		`{"w": [{"wildcard": "a*b\\*c"}], "e": [{"equals-ignore-case": "Q"}]}`,
		`{"a": [{"anything-but": {"prefix": ["x", "y"]}}], "a.b": [{"anything-but": {"wildcard": "*z"}}]}`,
		`{"": {"x": [1]}, "é": ["ü"], "$or": {"k": ["v"]}}`,
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, src string, d uint8) {
		p, err := compile([]byte(src), dialect(d%3))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("error %v (%T) is not an *Error with a reason", err, err)
			}
			return
		}
		if p.String() != src {
			t.Fatal("String does not return the source")
		}
		ev, ok := eventFor(p)
		if !ok {
			return
		}
		var got bool
		if p.dialect == dialectSNSAttributes {
			var m map[string]any
			_ = json.Unmarshal(ev, &m)
			attrs := map[string]Attribute{}
			for k, v := range m {
				switch x := v.(type) {
				case string:
					attrs[k] = Attribute{Type: "String", Value: x}
				default:
					b, _ := json.Marshal(x)
					attrs[k] = Attribute{Type: "String.Array", Value: "[" + string(b) + "]"}
				}
			}
			if len(attrs) == 0 {
				attrs["unrelated"] = Attribute{Type: "String", Value: "x"}
			}
			got, err = p.MatchAttributes(attrs)
			if err == nil && got != refMatchAttributes(p, attrs) {
				t.Fatalf("policy %s, attributes %v: MatchAttributes = %v; reference disagrees", src, attrs, got)
			}
		} else {
			got, err = p.Match(ev)
			leaves, _ := refFlatten(ev)
			if err == nil && got != refMatch(p, leaves) {
				t.Fatalf("pattern %s, event %s: Match = %v; reference disagrees", src, ev, got)
			}
		}
		if err != nil || !got {
			t.Fatalf("pattern %s does not match the event built from it, %s (%v)", src, ev, err)
		}
	})
}

// isObjectText reports whether b, valid JSON, is an object.
func isObjectText(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// FuzzMatch matches arbitrary events against arbitrary patterns: no panic,
// no hang; the event scanner accepts exactly the JSON objects (nested at
// most MaxDepth levels); Pattern.Match, a Matcher and the reference
// matcher agree.
func FuzzMatch(f *testing.F) {
	f.Add(`{"a": [{"prefix": "x"}], "b": {"c": [{"numeric": [">", 1]}]}}`, `{"a": "xy", "b": {"c": 2}}`)
	f.Add(`{"a": [{"exists": false}]}`, `{"a": [1, {"b": null}], "c": "\u00e9"}`)
	f.Add(`{"a": ["x"]}`, `{"a": "x\\u0000", "a": [[["x"]]]}`)
	f.Add(`{"e": {"f": ["A"], "l": ["J"]}}`, `{"e": [{"f": "A", "l": "S"}, {"f": "P", "l": "J"}]}`)
	f.Add(`{"s": [{"cidr": "10.0.0.0/8"}], "t": [{"wildcard": "*.png"}]}`, `{"s": "10.1.2.3", "t": "a.png"}`)
	f.Add(`{"a.b": [{"anything-but": "x"}]}`, `{"a": {"b": ["x", "y"]}, "a.b": "\ud83d\ude80"}`)
	f.Add(`{"k": [1]}`, "{\"k\": 1e309, \"z\": [1, -0.5e-3, true, false, null, \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]}")
	f.Fuzz(func(t *testing.T, src, event string) {
		p, err := Compile([]byte(src))
		if err != nil {
			return
		}
		one, err1 := p.Match([]byte(event))
		m := NewMatcher()
		if err := m.Add("r", p); err != nil {
			t.Fatal(err)
		}
		ids, err2 := m.MatchAll([]byte(event))
		if (err1 == nil) != (err2 == nil) || one != (len(ids) == 1) {
			t.Fatalf("Match = %v, %v; MatchAll = %v, %v", one, err1, ids, err2)
		}
		valid := json.Valid([]byte(event)) && isObjectText([]byte(event))
		if err1 == nil && !valid {
			t.Fatalf("event %q is not a valid JSON object but matched without error", event)
		}
		if err1 != nil {
			if valid && !strings.Contains(err1.Error(), "nested deeper") {
				t.Fatalf("valid event %q rejected: %v", event, err1)
			}
			return
		}
		leaves, _ := refFlatten([]byte(event))
		if want := refMatch(p, leaves); one != want {
			t.Fatalf("pattern %s, event %s: Match = %v; reference = %v", src, event, one, want)
		}
	})
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// validAttribute reports whether SNS would accept the attribute.
func validAttribute(a Attribute) bool {
	base, _, _ := strings.Cut(a.Type, ".")
	switch {
	case a.Type == "String.Array":
		var elems []any
		if json.Unmarshal([]byte(a.Value), &elems) != nil {
			return false
		}
		for _, e := range elems {
			switch e.(type) {
			case map[string]any, []any:
				return false
			}
		}
		return true
	case base == "String", base == "Binary":
		return true
	case base == "Number":
		return jsonNumber.MatchString(a.Value)
	}
	return false
}

// FuzzMatchAttributes feeds arbitrary attributes (the String.Array parser
// and number checks) to a policy: no panic; attributes are accepted
// exactly when SNS would take them; accepted ones match as the reference
// says.
func FuzzMatchAttributes(f *testing.F) {
	f.Add("String.Array", `["a", 1, true, null]`, "Number", "1.5")
	f.Add("String.Array", `["a", [1]]`, "Number", "x")
	f.Add("String", "a", "Number.float", "-0")
	f.Add("String.Array", `[]`, "Binary", "AA==")
	f.Add("String.Array", `["\u00e9", "b"] `, "Number", "1e400")
	p, err := CompileFilterPolicy([]byte(`{"a": ["a", {"anything-but": ["b"]}], "n": [{"numeric": [">", 0]}, {"exists": false}]}`), ScopeMessageAttributes)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, t1, v1, t2, v2 string) {
		attrs := map[string]Attribute{"a": {Type: t1, Value: v1}, "n": {Type: t2, Value: v2}}
		got, err := p.MatchAttributes(attrs)
		if valid := validAttribute(attrs["a"]) && validAttribute(attrs["n"]); valid != (err == nil) {
			t.Fatalf("attributes %q: error %v; want valid = %v", attrs, err, valid)
		}
		if err == nil && got != refMatchAttributes(p, attrs) {
			t.Fatalf("attributes %q: MatchAttributes = %v; reference disagrees", attrs, got)
		}
	})
}
