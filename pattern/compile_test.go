package pattern

import (
	"errors"
	"testing"
)

func TestParseIP(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // "" for not an address
	}{
		{"10.0.0.1", "10.0.0.1"},
		{"010.001.0.255", "10.1.0.255"},
		{"256.0.0.1", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"1..3.4", ""},
		{" 1.2.3.4", ""},
		{"2001:db8::1", "2001:db8::1"},
		{"::ffff:a00:1", "10.0.0.1"},
		{"::ffff:10.0.0.1", ""},
		{"fe80::1%eth0", ""},
		{"::", "::"},
		{"1:2:3:4:5:6:7:8:9", ""},
		{"", ""},
		{"abc", ""},
	} {
		a, ok := parseIP(c.in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != c.want {
			t.Errorf("parseIP(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"*ab*ab*", "abab", true},
		{"*ab*ab*", "aba", false},
		{"x\\*y", "x*y", true},
		{"x\\*y", "xay", false},
		{"\\\\*", "\\anything", true},
	} {
		pieces, err := parseWildcard("p", c.pattern)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := wildcardMatch(pieces, c.s); got != c.want {
			t.Errorf("wildcard %q on %q = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestFold(t *testing.T) {
	for _, c := range []struct {
		a, b string
		eq   bool
	}{
		{"abc", "ABC", true},
		{"straße", "STRASSE", false}, // simple folding: ß has no single-rune upper case
		{"ΣΑΣ", "σας", true},
		{"K", "\u212a", true},
		{"s", "\u017f", true},
		{"é", "É", true},
		{"a", "b", false},
		{"", "", true},
		{"\xff", "\xff", false}, // invalid UTF-8 never matches a pattern
	} {
		if got := equalFolded(c.a, fold(c.b)); got != c.eq {
			t.Errorf("equalFolded(%q, fold(%q)) = %v, want %v", c.a, c.b, got, c.eq)
		}
	}
	if !hasPrefixFold("ΣΟΦΙΑ", fold("σοφ")) || hasPrefixFold("ΣΟ", fold("σοφ")) {
		t.Error("hasPrefixFold")
	}
	if !hasSuffixFold("image.PNG", fold(".png")) || hasSuffixFold("png", fold(".png")) {
		t.Error("hasSuffixFold")
	}
}

func TestCompareUTF16(t *testing.T) {
	// U+FF61 sorts after U+1F600 in UTF-8 byte order but before it in
	// UTF-16, as Java orders strings.
	if compareUTF16("\U0001F600", "\uFF61") >= 0 {
		t.Error("supplementary characters sort as surrogates")
	}
	if compareUTF16("a.b", "a.c") >= 0 || compareUTF16("ab", "a") <= 0 || compareUTF16("x", "x") != 0 {
		t.Error("ASCII order")
	}
}

// TestDisjunctiveNormalForm checks how patterns expand into alternatives.
func TestDisjunctiveNormalForm(t *testing.T) {
	for _, c := range []struct {
		src  string
		alts int
	}{
		{`{"a": [1], "b": [2]}`, 1},
		{`{"$or": [{"a": [1]}, {"b": [2]}]}`, 2},
		{`{"$or": [{"a": [1]}, {"b": [2]}], "c": {"$or": [{"d": [1]}, {"e": [1]}, {"f": [1]}]}}`, 6},
		{`{"$or": [{"a": [1]}, {"$or": [{"b": [2]}, {"c": [3]}]}]}`, 3},
		{`{"$or": {"a": [1]}}`, 1}, // a field named $or
	} {
		p, err := Compile([]byte(c.src))
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if len(p.alts) != c.alts {
			t.Errorf("%s: %d alternatives, want %d", c.src, len(p.alts), c.alts)
		}
	}
}

// TestPolicyLimits checks the SNS key and combination counting rules.
func TestPolicyLimits(t *testing.T) {
	for _, c := range []struct {
		scope Scope
		src   string
		err   error
	}{
		{ScopeMessageAttributes, `{"a":[1],"b":[1],"c":[1],"d":[1],"e":[1]}`, nil},
		{ScopeMessageAttributes, `{"a":[1],"b":[1],"c":[1],"d":[1],"e":[1],"f":[1]}`, ErrTooManyKeys},
		{ScopeMessageBody, `{"a":{"b":[1],"c":[1],"d":[1],"e":[1],"f":[1],"g":[1]}}`, nil}, // 64 combinations
		{ScopeMessageBody, `{"a":{"b":{"c":[1,2,3,4]}},"d":{"e":[1,2,3]},"f":[1,2,3]}`, ErrTooManyCombinations},
		{ScopeMessageBody, `{"a":{"b":{"c":[1,2,3]}},"d":{"e":[1,2,3]},"f":[1,2]}`, nil},                                                            // 3·3 · 3·2 · 2 = 108
		{ScopeMessageAttributes, `{"$or":[{"a":[1,2,3,4,5,6,7,8,9,10]},{"b":[1]}],"c":[1,2,3,4,5,6,7,8,9,10,11,12,13,14]}`, ErrTooManyCombinations}, // 10·14 + 1·14 = 154
		{ScopeMessageAttributes, `{"$or":[{"a":[1,2,3,4,5,6,7,8,9,10]},{"b":[1]}],"c":[1,2,3,4,5,6,7,8,9,10,11,12,13]}`, nil},                       // 10·13 + 1·13 = 143
	} {
		_, err := CompileFilterPolicy([]byte(c.src), c.scope)
		if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("%s: %v; want %v", c.src, err, c.err)
		}
	}
}
