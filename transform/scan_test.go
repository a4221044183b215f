package transform

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// jsonSamples are documents at the edges of JSON's grammar, valid or not.
var jsonSamples = []string{
	``, ` `, `{}`, `[]`, ` {} `, "\t\r\n[]\n", `{`, `}`, `[`, `]`, `{]`, `[}`,
	`null`, `nul`, `nulll`, `true`, `tru`, `false`, `fals`, `True`,
	`0`, `-0`, `-`, `01`, `1.`, `.1`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.5e-3`, `+1`, `0x10`, `1_000`,
	`""`, `"`, `"abc`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\a"`, `"\u0041"`, `"\u004"`, `"\u004G"`, `"\uD800"`, `"\ud83d\ude00"`,
	"\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\"", "\"\xc3\xa9\"", "\"\xed\xa0\x80\"",
	`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":1,"a":2}`, `{1:1}`,
	`[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[{"a":[{"b":null}]}]`,
	`{} {}`, `1 2`, `{}x`, "{}\x00", `[1]]`,
	"\xef\xbb\xbf{}", "\u00a0{}", "{}\u00a0",
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSamples {
		err := valid([]byte(s))
		if (err == nil) != json.Valid([]byte(s)) {
			t.Errorf("valid(%q) = %v; json.Valid = %v", s, err, json.Valid([]byte(s)))
		}
	}
}

func TestValidDepth(t *testing.T) {
	for _, open := range []string{"[", `{"a":`} {
		closeWith := "]"
		if open != "[" {
			closeWith = "}"
		}
		for _, depth := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1} {
			doc := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(closeWith, depth))
			err := valid(doc)
			if (err == nil) != json.Valid(doc) || (err == nil) != (depth <= MaxDepth) {
				t.Errorf("%s nested %d deep: valid = %v; json.Valid = %v", open, depth, err, json.Valid(doc))
			}
		}
	}
}

func TestSyntaxErrorMessages(t *testing.T) {
	// The messages follow encoding/json's.
	for _, s := range []string{`{"a" 1}`, `[1 2]`, `{"a":1,}`, `"\x"`, `trux`, `1.x`, `1ex`, `-x`, `{1:1}`, `{} x`, "\"\x01\"", `"\u12x4"`, `x`, `{"a":1`} {
		var v any
		jerr := json.Unmarshal([]byte(s), &v)
		err := valid([]byte(s))
		if jerr == nil || err == nil {
			t.Fatalf("%q: valid %v, json %v", s, err, jerr)
		}
		se := err.(*syntaxError)
		if se.msg != jerr.Error() {
			t.Errorf("%q: message %q; encoding/json says %q", s, se.msg, jerr.Error())
		}
	}
}

func TestAppendUnquoted(t *testing.T) {
	for _, s := range []string{
		``, `abc`, `a\"b\\c\/d`, `\b\f\n\r\t`, `\u0041\u00e9\u20AC`, `\ud83d\ude00`, `\ud83d`, `\ud83dx`,
		`\ude00`, `\ud83d\u0041`, `\ud83d\ud83d\ude00`, "caf\xc3\xa9", "\xff", "a\xffb", "\xed\xa0\x80", `\u0000`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &want); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got := string(appendUnquoted(nil, []byte(s))); got != want {
			t.Errorf("appendUnquoted(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestAppendEscaped(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\n\r\t\x00\x01\x1f\x7f", "<&>", "café 😀", "\xff", "a\xc3", "\u2028"} {
		out := `"` + string(appendEscaped(nil, s)) + `"`
		var got string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Errorf("appendEscaped(%q) = %s: %v", s, out, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if s == "a\xc3" {
			want = "a\uFFFD"
		}
		if got != want {
			t.Errorf("appendEscaped(%q) decodes to %q, want %q", s, got, want)
		}
	}
}

func TestAppendCompact(t *testing.T) {
	for _, s := range []string{`{}`, ` { "a" : [ 1 , 2 ] , "b c" : " x\ty \" z " } `, "[\n\t1,\r\n\"\\\\\" ]", `"a b"`, `[ "\\", " " ]`} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		v := bytes.TrimSpace([]byte(s))
		if got := appendCompact(nil, v); string(got) != want.String() {
			t.Errorf("appendCompact(%q) = %s, want %s", s, got, want.String())
		}
		// Escaped for a string, it decodes to the compact text.
		esc := `"` + string(appendCompactEscaped(nil, v)) + `"`
		var back string
		if err := json.Unmarshal([]byte(esc), &back); err != nil || back != want.String() {
			t.Errorf("appendCompactEscaped(%q) = %s, decodes to %q (%v), want %s", s, esc, back, err, want.String())
		}
	}
}
