package pattern

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The corpus in testdata/corpus is data so that other packages and other
// implementations can run it:
//
//	eventbridge.json  groups of {name, pattern, match, no_match, match_raw,
//	                  no_match_raw}: events (or raw JSON texts) that must
//	                  and must not match
//	errors.json       {pattern | pattern_text, error}: invalid patterns and
//	                  a substring of the expected error
//	sns.json          {name, scope, policy, match, no_match}: for scope
//	                  "attributes" the events are attribute maps
//	sns_errors.json   {scope, policy, error}

func readCorpus(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type ebGroup struct {
	Name       string            `json:"name"`
	Pattern    json.RawMessage   `json:"pattern"`
	Match      []json.RawMessage `json:"match"`
	NoMatch    []json.RawMessage `json:"no_match"`
	MatchRaw   []string          `json:"match_raw"`
	NoMatchRaw []string          `json:"no_match_raw"`
}

func (g ebGroup) events() (match, noMatch [][]byte) {
	for _, e := range g.Match {
		match = append(match, e)
	}
	for _, e := range g.MatchRaw {
		match = append(match, []byte(e))
	}
	for _, e := range g.NoMatch {
		noMatch = append(noMatch, e)
	}
	for _, e := range g.NoMatchRaw {
		noMatch = append(noMatch, []byte(e))
	}
	return match, noMatch
}

func TestCorpusEventBridge(t *testing.T) {
	var groups []ebGroup
	readCorpus(t, "eventbridge.json", &groups)
	cases := 0
	m := NewMatcher()
	all := map[RuleID]*Pattern{}
	for _, g := range groups {
		p, err := Compile(g.Pattern)
		if err != nil {
			t.Errorf("%s: compile %s: %v", g.Name, g.Pattern, err)
			continue
		}
		all[RuleID(g.Name)] = p
		match, noMatch := g.events()
		for want, evs := range map[bool][][]byte{true: match, false: noMatch} {
			for _, ev := range evs {
				cases++
				got, err := p.Match(ev)
				if err != nil || got != want {
					t.Errorf("%s: pattern %s, event %s: Match = %v, %v; want %v", g.Name, g.Pattern, ev, got, err, want)
				}
			}
		}
	}
	m.Add(all)
	// The same answers through a Matcher holding every corpus rule.
	for _, g := range groups {
		match, noMatch := g.events()
		for want, evs := range map[bool][][]byte{true: match, false: noMatch} {
			for _, ev := range evs {
				ids, err := m.MatchAll(ev)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, id := range ids {
					found = found || id == RuleID(g.Name)
				}
				if found != want {
					t.Errorf("%s: MatchAll(%s) includes the rule = %v; want %v", g.Name, ev, found, want)
				}
			}
		}
	}
	if cases < 300 {
		t.Fatalf("corpus has %d EventBridge cases; keep at least 300", cases)
	}
}

func TestCorpusErrors(t *testing.T) {
	var cases []struct {
		Pattern     json.RawMessage `json:"pattern"`
		PatternText string          `json:"pattern_text"`
		Error       string          `json:"error"`
	}
	readCorpus(t, "errors.json", &cases)
	for _, c := range cases {
		src := []byte(c.Pattern)
		if c.PatternText != "" {
			src = []byte(c.PatternText)
		}
		_, err := Compile(src)
		if err == nil || !strings.Contains(err.Error(), c.Error) {
			t.Errorf("Compile(%s) = %v; want an error containing %q", src, err, c.Error)
		}
	}
}

func scopeOf(t *testing.T, s string) Scope {
	switch s {
	case "attributes":
		return ScopeMessageAttributes
	case "body":
		return ScopeMessageBody
	}
	t.Fatalf("unknown scope %q", s)
	return 0
}

func TestCorpusSNS(t *testing.T) {
	var groups []struct {
		Name    string            `json:"name"`
		Scope   string            `json:"scope"`
		Policy  json.RawMessage   `json:"policy"`
		Match   []json.RawMessage `json:"match"`
		NoMatch []json.RawMessage `json:"no_match"`
	}
	readCorpus(t, "sns.json", &groups)
	for _, g := range groups {
		p, err := CompileFilterPolicy(g.Policy, scopeOf(t, g.Scope))
		if err != nil {
			t.Errorf("%s: compile: %v", g.Name, err)
			continue
		}
		for want, evs := range map[bool][]json.RawMessage{true: g.Match, false: g.NoMatch} {
			for _, ev := range evs {
				var got bool
				if g.Scope == "attributes" {
					var attrs map[string]Attribute
					if err := json.Unmarshal(ev, &attrs); err != nil {
						t.Fatal(err)
					}
					got, err = p.MatchAttributes(attrs)
				} else {
					got, err = p.Match(ev)
				}
				if err != nil || got != want {
					t.Errorf("%s: policy %s, message %s: match = %v, %v; want %v", g.Name, g.Policy, ev, got, err, want)
				}
			}
		}
	}
	var errs []struct {
		Scope  string          `json:"scope"`
		Policy json.RawMessage `json:"policy"`
		Error  string          `json:"error"`
	}
	readCorpus(t, "sns_errors.json", &errs)
	for _, c := range errs {
		_, err := CompileFilterPolicy(c.Policy, scopeOf(t, c.Scope))
		if err == nil || !strings.Contains(err.Error(), c.Error) {
			t.Errorf("CompileFilterPolicy(%s) = %v; want an error containing %q", c.Policy, err, c.Error)
		}
	}
}

func TestMalformedEvents(t *testing.T) {
	p, _ := Compile([]byte(`{"a": ["x"]}`))
	for _, ev := range []string{``, `[]`, `"x"`, `{`, `{"a": "x"`, `{"a": "x"} {}`, `{"a" "x"}`, `{"a": tru}`, `{"a": 01}`, `{"a": "\x01"}`, `{"a": "\q"}`, `{"a": [1,]}`, `{"b": {"c": [}}`, strings.Repeat("[", 300)} {
		if ok, err := p.Match([]byte(ev)); err == nil {
			t.Errorf("Match(%q) = %v with no error; want a syntax error", ev, ok)
		}
	}
	deep := strings.Repeat(`{"a":`, 300) + `"x"` + strings.Repeat(`}`, 300)
	if _, err := p.Match([]byte(deep)); err == nil {
		t.Error("an event nested 300 levels deep was accepted")
	}
}

func TestAttributesErrors(t *testing.T) {
	p, _ := CompileFilterPolicy([]byte(`{"n": [1]}`), ScopeMessageAttributes)
	for _, attrs := range []map[string]Attribute{
		{"n": {Type: "Number", Value: "one"}},
		{"n": {Type: "String.Array", Value: "not json"}},
		{"n": {Type: "Strange", Value: "1"}},
	} {
		if _, err := p.MatchAttributes(attrs); err == nil {
			t.Errorf("MatchAttributes(%v) accepted", attrs)
		}
	}
	body, _ := CompileFilterPolicy([]byte(`{"n": [1]}`), ScopeMessageBody)
	if _, err := body.MatchAttributes(nil); err == nil {
		t.Error("a body policy matched attributes")
	}
}
