package pattern

import (
	"slices"
	"strings"
	"testing"
)

func mustCompile(t *testing.T, src string) *Pattern {
	t.Helper()
	p, err := Compile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMalformedEvents(t *testing.T) {
	p := mustCompile(t, `{"a": ["x"]}`)
	m := NewMatcher()
	if err := m.Add("r", p); err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + `"x"` + strings.Repeat(`}`, MaxDepth+1)
	deepArr := `{"b":` + strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth) + `}`
	for _, ev := range []string{
		``, ` `, `[]`, `"x"`, `1`, `null`, `{`, `{"a": "x"`, `{"a": "x"} {}`, `{"a" "x"}`, `{"a": tru}`,
		`{"a": 01}`, `{"a": 1.}`, `{"a": -}`, `{"a": 1e}`, `{"a": .5}`, "{\"a\": \"\x01\"}", `{"a": "\q"}`, `{"a": "\u12"}`,
		`{"a": [1,]}`, `{"b": {"c": [}}`, `{"a": "x",}`, `{,}`, `{"a": 'x'}`, `{"a": NaN}`, `{"a": "x" "b": 1}`,
		"\ufeff{\"a\": \"x\"}", `{"a": "unterminated}`, `{"a": "x\`, deep, deepArr,
	} {
		if ok, err := p.Match([]byte(ev)); err == nil {
			t.Errorf("Match(%.40q) = %v with no error; want a syntax error", ev, ok)
		}
		if ids, err := m.MatchAll([]byte(ev)); err == nil {
			t.Errorf("MatchAll(%.40q) = %v with no error", ev, ids)
		}
	}
	// Just below the depth limit is fine.
	ok := strings.Repeat(`{"b":`, MaxDepth-1) + `"x"` + strings.Repeat(`}`, MaxDepth-1)
	if _, err := p.Match([]byte(ok)); err != nil {
		t.Errorf("an event nested %d levels: %v", MaxDepth-1, err)
	}
	// Whitespace anywhere is fine.
	if got, err := p.Match([]byte(" \n{ \"a\"\t:\r[ \"y\" , \"x\" ] }\n")); err != nil || !got {
		t.Errorf("whitespace: %v, %v", got, err)
	}
}

func TestAPIErrors(t *testing.T) {
	var m Matcher
	if err := m.Add("x", nil); err == nil {
		t.Error("Add(nil) accepted")
	}
	if err := m.AddAll(map[RuleID]*Pattern{"a": mustCompile(t, `{"a":[1]}`), "b": nil}); err == nil || m.Len() != 0 {
		t.Errorf("AddAll with a nil pattern: %v, Len %d", err, m.Len())
	}
	if _, err := CompileFilterPolicy([]byte(`{"a":[1]}`), Scope(7)); err == nil {
		t.Error("unknown scope accepted")
	}
	attrs, _ := CompileFilterPolicy([]byte(`{"a":["x"]}`), ScopeMessageAttributes)
	if _, err := attrs.Match([]byte(`{"a":"x"}`)); err == nil {
		t.Error("an attributes policy matched a JSON body")
	}
	body, _ := CompileFilterPolicy([]byte(`{"a":["x"]}`), ScopeMessageBody)
	if _, err := body.MatchAttributes(map[string]Attribute{"a": {"String", "x"}}); err == nil {
		t.Error("a body policy matched attributes")
	}
	if _, err := mustCompile(t, `{"a":["x"]}`).MatchAttributes(nil); err == nil {
		t.Error("an event pattern matched attributes")
	}
	for _, a := range []map[string]Attribute{
		{"a": {Type: "Number", Value: "one"}},
		{"a": {Type: "Number", Value: "0x10"}},
		{"a": {Type: "Number", Value: ""}},
		{"a": {Type: "String.Array", Value: "not json"}},
		{"a": {Type: "String.Array", Value: `["x", {"y": 1}]`}},
		{"a": {Type: "String.Array", Value: `["x"] x`}},
		{"a": {Type: "Strange", Value: "1"}},
	} {
		if _, err := attrs.MatchAttributes(a); err == nil {
			t.Errorf("MatchAttributes(%v) accepted", a)
		}
		if _, err := m.MatchAllAttributes(a); err == nil {
			t.Errorf("MatchAllAttributes(%v) accepted", a)
		}
	}
	if ScopeMessageAttributes.String() != "MessageAttributes" || ScopeMessageBody.String() != "MessageBody" {
		t.Error("Scope.String")
	}
	e := &Error{Reason: "r"}
	if e.Error() != "r" || (&Error{Path: "a.b", Reason: "r"}).Error() != "a.b: r" {
		t.Error("Error formatting")
	}
}

func TestMatcherBasics(t *testing.T) {
	var m Matcher // the zero value
	if ids, err := m.MatchAll([]byte(`{"a": 1}`)); err != nil || len(ids) != 0 {
		t.Fatalf("empty matcher: %v, %v", ids, err)
	}
	if ids, err := m.MatchAllAttributes(map[string]Attribute{"a": {"String", "x"}}); err != nil || len(ids) != 0 {
		t.Fatalf("empty matcher attributes: %v, %v", ids, err)
	}
	p1 := mustCompile(t, `{"a": [1]}`)
	p2 := mustCompile(t, `{"a": [2]}`)
	pol, _ := CompileFilterPolicy([]byte(`{"a": ["1"]}`), ScopeMessageAttributes)
	for _, step := range []struct {
		add    map[RuleID]*Pattern
		remove []RuleID
		event  string
		want   []RuleID
	}{
		{add: map[RuleID]*Pattern{"z": p1, "y": p1, "x": p2}, event: `{"a": 1}`, want: []RuleID{"y", "z"}},
		{add: map[RuleID]*Pattern{"y": p2}, event: `{"a": 1}`, want: []RuleID{"z"}},
		{event: `{"a": 2}`, want: []RuleID{"x", "y"}},
		{remove: []RuleID{"x", "nope"}, event: `{"a": 2}`, want: []RuleID{"y"}},
		{add: map[RuleID]*Pattern{"x": p2, "p": pol}, event: `{"a": [2, 1]}`, want: []RuleID{"x", "y", "z"}},
	} {
		if step.add != nil {
			if err := m.AddAll(step.add); err != nil {
				t.Fatal(err)
			}
		}
		m.Remove(step.remove...)
		got, err := m.MatchAll([]byte(step.event))
		if err != nil || !slices.Equal(got, step.want) {
			t.Fatalf("MatchAll(%s) = %v, %v; want %v", step.event, got, err, step.want)
		}
	}
	if got, _ := m.MatchAllAttributes(map[string]Attribute{"a": {"String", "1"}}); !slices.Equal(got, []RuleID{"p"}) {
		t.Fatalf("MatchAllAttributes = %v", got)
	}
	if p, ok := m.Rule("p"); !ok || p != pol {
		t.Fatal("Rule(p)")
	}
	if _, ok := m.Rule("nope"); ok || m.Len() != 4 {
		t.Fatalf("Rule(nope) found, or Len = %d", m.Len())
	}
	// AppendMatches reuses the caller's slice.
	dst := make([]RuleID, 0, 8)
	got, _ := m.AppendMatches(dst, []byte(`{"a": 1}`))
	if &got[0] != &dst[:1][0] {
		t.Error("AppendMatches did not append to dst")
	}
}

// TestManyRulesUpdates grows a Matcher one rule at a time past the point
// where the delta is folded into the base, then removes rules one at a
// time, checking the result after every step.
func TestManyRulesUpdates(t *testing.T) {
	m := NewMatcher()
	ev := []byte(`{"n": 7, "s": "x"}`)
	odd := mustCompile(t, `{"n": [{"numeric": [">", 5]}]}`)
	even := mustCompile(t, `{"s": ["y"]}`)
	want := 0
	for i := range 300 {
		p := even
		if i%2 == 1 {
			p = odd
			want++
		}
		if err := m.Add(RuleID(strings.Repeat("r", 1+i%3)+string(rune('a'+i%26))+string(rune(0x100+i))), p); err != nil {
			t.Fatal(err)
		}
		if ids, _ := m.MatchAll(ev); len(ids) != want || !slices.IsSorted(ids) {
			t.Fatalf("after %d adds: %d matches, want %d", i+1, len(ids), want)
		}
	}
	ids, _ := m.MatchAll(ev)
	for i, id := range ids {
		if m.Remove(id) != 1 {
			t.Fatalf("Remove(%s)", id)
		}
		if got, _ := m.MatchAll(ev); len(got) != len(ids)-i-1 {
			t.Fatalf("after %d removals: %d matches", i+1, len(got))
		}
	}
	if got, _ := m.MatchAll(ev); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
}
