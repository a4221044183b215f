package pattern

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The corpus in testdata/corpus is data, so that other packages and other
// implementations can run it (testdata/corpus/README.md describes the
// format). Each group is one pattern with events that must and must not
// match it; each event is one case.

func readCorpus(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type corpusGroup struct {
	Name        string            `json:"name"`
	Pattern     json.RawMessage   `json:"pattern"`
	PatternText string            `json:"pattern_text"`
	Policy      json.RawMessage   `json:"policy"`
	Match       []json.RawMessage `json:"match"`
	NoMatch     []json.RawMessage `json:"no_match"`
	MatchRaw    []string          `json:"match_raw"`
	NoMatchRaw  []string          `json:"no_match_raw"`
}

func (g corpusGroup) source() []byte {
	switch {
	case g.PatternText != "":
		return []byte(g.PatternText)
	case g.Policy != nil:
		return g.Policy
	}
	return g.Pattern
}

// cases returns the group's events with the expected answer.
func (g corpusGroup) cases() (evs [][]byte, want []bool) {
	add := func(b []byte, w bool) {
		evs = append(evs, b)
		want = append(want, w)
	}
	for _, e := range g.Match {
		add(e, true)
	}
	for _, e := range g.MatchRaw {
		add([]byte(e), true)
	}
	for _, e := range g.NoMatch {
		add(e, false)
	}
	for _, e := range g.NoMatchRaw {
		add([]byte(e), false)
	}
	return evs, want
}

// runJSONCorpus checks every case three ways: Pattern.Match, a Matcher
// holding every rule of the file (MatchAll includes the rule exactly when
// it should), and the reference matcher.
func runJSONCorpus(t *testing.T, file string, compileFn func([]byte) (*Pattern, error)) int {
	var groups []corpusGroup
	readCorpus(t, file, &groups)
	m := NewMatcher()
	rules := map[RuleID]*Pattern{}
	for _, g := range groups {
		p, err := compileFn(g.source())
		if err != nil {
			t.Fatalf("%s: compile %s: %v", g.Name, g.source(), err)
		}
		if _, dup := rules[RuleID(g.Name)]; dup {
			t.Fatalf("duplicate group name %q", g.Name)
		}
		rules[RuleID(g.Name)] = p
	}
	if err := m.AddAll(rules); err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, g := range groups {
		p := rules[RuleID(g.Name)]
		evs, want := g.cases()
		if len(evs) == 0 {
			t.Errorf("%s: no events", g.Name)
		}
		for i, ev := range evs {
			cases++
			got, err := p.Match(ev)
			if err != nil || got != want[i] {
				t.Errorf("%s: pattern %s, event %s: Match = %v, %v; want %v", g.Name, g.source(), short(ev), got, err, want[i])
			}
			ids, err := m.MatchAll(ev)
			if err != nil {
				t.Fatalf("%s: MatchAll(%s): %v", g.Name, short(ev), err)
			}
			if slices.Contains(ids, RuleID(g.Name)) != want[i] {
				t.Errorf("%s: MatchAll(%s) includes the rule = %v; want %v", g.Name, short(ev), !want[i], want[i])
			}
			if !slices.IsSorted(ids) {
				t.Errorf("MatchAll(%s) = %v is not sorted", short(ev), ids)
			}
			if leaves, ok := refFlatten(ev); ok {
				if refMatch(p, leaves) != want[i] {
					t.Errorf("%s: the reference matcher disagrees with the corpus on %s", g.Name, short(ev))
				}
			}
		}
	}
	return cases
}

func short(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

func TestCorpus(t *testing.T) {
	n := runJSONCorpus(t, "eventbridge.json", Compile)
	n += runJSONCorpus(t, "sns_body.json", func(b []byte) (*Pattern, error) { return CompileFilterPolicy(b, ScopeMessageBody) })
	n += runAttributesCorpus(t)
	t.Logf("%d pattern/event cases", n)
	if n < 300 {
		t.Fatalf("the corpus has %d cases; keep at least 300", n)
	}
}

func runAttributesCorpus(t *testing.T) int {
	var groups []corpusGroup
	readCorpus(t, "sns_attributes.json", &groups)
	m := NewMatcher()
	rules := map[RuleID]*Pattern{}
	for _, g := range groups {
		p, err := CompileFilterPolicy(g.Policy, ScopeMessageAttributes)
		if err != nil {
			t.Fatalf("%s: compile: %v", g.Name, err)
		}
		rules[RuleID(g.Name)] = p
	}
	if err := m.AddAll(rules); err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, g := range groups {
		p := rules[RuleID(g.Name)]
		for want, evs := range map[bool][]json.RawMessage{true: g.Match, false: g.NoMatch} {
			for _, ev := range evs {
				cases++
				var attrs map[string]Attribute
				if err := json.Unmarshal(ev, &attrs); err != nil {
					t.Fatal(err)
				}
				got, err := p.MatchAttributes(attrs)
				if err != nil || got != want {
					t.Errorf("%s: policy %s, attributes %s: MatchAttributes = %v, %v; want %v", g.Name, g.Policy, ev, got, err, want)
				}
				ids, err := m.MatchAllAttributes(attrs)
				if err != nil || slices.Contains(ids, RuleID(g.Name)) != want {
					t.Errorf("%s: MatchAllAttributes(%s) = %v, %v; want the rule: %v", g.Name, ev, ids, err, want)
				}
				if refMatchAttributes(p, attrs) != want {
					t.Errorf("%s: the reference matcher disagrees with the corpus on %s", g.Name, ev)
				}
			}
		}
	}
	return cases
}

var limitErrs = map[string]error{
	"keys":         ErrTooManyKeys,
	"combinations": ErrTooManyCombinations,
	"complex":      ErrTooComplex,
}

type errorCase struct {
	Scope       string          `json:"scope"`
	Pattern     json.RawMessage `json:"pattern"`
	PatternText string          `json:"pattern_text"`
	Policy      json.RawMessage `json:"policy"`
	PolicyText  string          `json:"policy_text"`
	Error       *string         `json:"error"`
	Limit       string          `json:"limit"`
}

// checkCompileError checks err against c: the message holds the expected
// text (path and reason), a limit wraps its sentinel, and the error is an
// *Error whose Path is the message's prefix.
func checkCompileError(t *testing.T, src []byte, err error, c errorCase) {
	t.Helper()
	if c.Error == nil {
		if err != nil {
			t.Errorf("compile %s: %v; want success", short(src), err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), *c.Error) {
		t.Errorf("compile %s = %v; want an error containing %q", short(src), err, *c.Error)
		return
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Errorf("compile %s: error %T is not an *Error", short(src), err)
		return
	}
	if pe.Path != "" && !strings.HasPrefix(err.Error(), pe.Path+": ") {
		t.Errorf("compile %s: message %q does not start with the path %q", short(src), err, pe.Path)
	}
	if c.Limit != "" && !errors.Is(err, limitErrs[c.Limit]) {
		t.Errorf("compile %s: %v does not wrap the %s limit", short(src), err, c.Limit)
	}
	if c.Limit == "" {
		for _, l := range limitErrs {
			if errors.Is(err, l) {
				t.Errorf("compile %s: %v claims a limit", short(src), err)
			}
		}
	}
}

func TestCorpusErrors(t *testing.T) {
	var cases []errorCase
	readCorpus(t, "eventbridge_errors.json", &cases)
	for _, c := range cases {
		src := []byte(c.Pattern)
		if c.PatternText != "" {
			src = []byte(c.PatternText)
		}
		_, err := Compile(src)
		checkCompileError(t, src, err, c)
	}
	var sns []errorCase
	readCorpus(t, "sns_errors.json", &sns)
	for _, c := range sns {
		src := []byte(c.Policy)
		if c.PolicyText != "" {
			src = []byte(c.PolicyText)
		}
		scope := ScopeMessageBody
		if c.Scope == "attributes" {
			scope = ScopeMessageAttributes
		}
		_, err := CompileFilterPolicy(src, scope)
		checkCompileError(t, src, err, c)
	}
	if len(cases)+len(sns) < 100 {
		t.Fatalf("only %d error cases", len(cases)+len(sns))
	}
}
