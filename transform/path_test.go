package transform

import (
	"errors"
	"strings"
	"testing"
)

func TestCompilePath(t *testing.T) {
	tests := []struct {
		path  string
		canon string // String(); "" when the same as path
		steps []step
	}{
		{"$", "", nil},
		{"$.detail", "", []step{{"detail", -1}}},
		{"$.detail.instance-id", "", []step{{"detail", -1}, {"instance-id", -1}}},
		{"$.resources[0]", "", []step{{"resources", -1}, {index: 0}}},
		{"$.detail.items[1].id", "", []step{{"detail", -1}, {"items", -1}, {index: 1}, {"id", -1}}},
		{"$[3][2]", "", []step{{index: 3}, {index: 2}}},
		{"$['key with space']", "", []step{{"key with space", -1}}},
		{`$["key with space"]`, "$['key with space']", []step{{"key with space", -1}}},
		{"$.a['x.y'][2]", "", []step{{"a", -1}, {"x.y", -1}, {index: 2}}},
		{"$['a']['b']", "$.a.b", []step{{"a", -1}, {"b", -1}}},
		{`$['it\'s']`, `$["it's"]`, []step{{"it's", -1}}},
		{`$['it\'s "x"']`, `$['it\'s "x"']`, []step{{`it's "x"`, -1}}},
		{`$["it's \"x\" 'y'"]`, `$["it's \"x\" 'y'"]`, []step{{`it's "x" 'y'`, -1}}},
		{`$["it's"]`, "", []step{{"it's", -1}}},
		{`$['back\\slash']`, "", []step{{`back\slash`, -1}}},
		{`$["say \"hi\""]`, `$['say "hi"']`, []step{{`say "hi"`, -1}}},
		{`$['']`, "", []step{{"", -1}}},
		{"$['[0]']", "", []step{{"[0]", -1}}},
		{"$.detail.café", "", []step{{"detail", -1}, {"café", -1}}},
		{"$.a/b:c-d_e$f", "", []step{{"a/b:c-d_e$f", -1}}},
		{"$.0", "", []step{{"0", -1}}},
		{"$[007]", "$[7]", []step{{index: 7}}},
		{"$[2147483647]", "", []step{{index: 2147483647}}},
		{"$.a$", "", []step{{"a$", -1}}},
	}
	for _, tc := range tests {
		p, err := CompilePath(tc.path)
		if err != nil {
			t.Errorf("CompilePath(%q): %v", tc.path, err)
			continue
		}
		want := tc.canon
		if want == "" {
			want = tc.path
		}
		if got := p.String(); got != want {
			t.Errorf("CompilePath(%q).String() = %q, want %q", tc.path, got, want)
		}
		if !equalSteps(p.steps, tc.steps) {
			t.Errorf("CompilePath(%q) steps = %v, want %v", tc.path, p.steps, tc.steps)
		}
		q, err := CompilePath(p.String())
		if err != nil || !equalSteps(p.steps, q.steps) {
			t.Errorf("CompilePath(%q) does not round-trip through %q: %v", tc.path, p.String(), err)
		}
	}
}

func equalSteps(a, b []step) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCompilePathErrors(t *testing.T) {
	tests := []struct{ path, err string }{
		{"", `path "" at offset 0: must start with "$"`},
		{"detail.x", `path "detail.x" at offset 0: must start with "$"`},
		{"$.detail..x", `path "$.detail..x" at offset 9: empty member name`},
		{"$.", `path "$." at offset 2: empty member name`},
		{"$..a", `path "$..a" at offset 2: empty member name`},
		{"$.a.", `path "$.a." at offset 4: empty member name`},
		{"$a", `path "$a" at offset 1: unexpected 'a'; expected '.' or '['`},
		{"$.a b", `path "$.a b" at offset 3: unexpected ' ' in member name; write such names in brackets: ['...']`},
		{"$.a]", `path "$.a]" at offset 3: unexpected ']' in member name; write such names in brackets: ['...']`},
		{`$.a"`, `path "$.a\"" at offset 3: unexpected '"' in member name; write such names in brackets: ['...']`},
		{"$.*", `path "$.*" at offset 2: wildcards are not supported`},
		{"$.a.*.b", `path "$.a.*.b" at offset 4: wildcards are not supported`},
		{"$[*]", `path "$[*]" at offset 2: wildcards are not supported`},
		{"$.a[-1]", `path "$.a[-1]" at offset 4: negative indices are not supported`},
		{"$.a[0:2]", `path "$.a[0:2]" at offset 5: slices and unions are not supported`},
		{"$.a[0,1]", `path "$.a[0,1]" at offset 5: slices and unions are not supported`},
		{"$.a[:2]", `path "$.a[:2]" at offset 4: slices and unions are not supported`},
		{"$.a[?(@.b)]", `path "$.a[?(@.b)]" at offset 4: filter and script expressions are not supported`},
		{"$.a[(1)]", `path "$.a[(1)]" at offset 4: filter and script expressions are not supported`},
		{"$.a[]", `path "$.a[]" at offset 4: empty brackets; expected an index or a quoted name`},
		{"$.a[", `path "$.a[" at offset 3: unterminated '['`},
		{"$.a[0", `path "$.a[0" at offset 5: expected ']' after index`},
		{"$.a[0 ]", `path "$.a[0 ]" at offset 5: expected ']' after index`},
		{"$.a[x]", `path "$.a[x]" at offset 4: unexpected 'x'; expected an index or a quoted name`},
		{"$.a['b", `path "$.a['b" at offset 4: unterminated quoted name`},
		{"$.a['b'", `path "$.a['b'" at offset 7: expected ']' after quoted name`},
		{"$.a['b'x]", `path "$.a['b'x]" at offset 7: expected ']' after quoted name`},
		{`$.a['b\n']`, `path "$.a['b\\n']" at offset 6: invalid escape "\\n" in quoted name; only \' \" and \\ are accepted`},
		{"$.a[99999999999]", `path "$.a[99999999999]" at offset 4: index 99999999999 is too large; accepted is at most 2147483647`},
		{"$.a[2147483648]", `path "$.a[2147483648]" at offset 4: index 2147483648 is too large; accepted is at most 2147483647`},
		{"$.a\xffb", `path "$.a\xffb" at offset 3: invalid UTF-8`},
		{"$.a\tb", `path "$.a\tb" at offset 3: unexpected '\t' in member name; write such names in brackets: ['...']`},
	}
	for _, tc := range tests {
		p, err := CompilePath(tc.path)
		if err == nil {
			t.Errorf("CompilePath(%q) = %s, want error %s", tc.path, p, tc.err)
			continue
		}
		if err.Error() != tc.err {
			t.Errorf("CompilePath(%q) error\n got %s\nwant %s", tc.path, err, tc.err)
		}
		var pe *PathError
		if !errors.As(err, &pe) || pe.Path != tc.path {
			t.Errorf("CompilePath(%q) error is not a *PathError for the path: %#v", tc.path, err)
		}
		if errors.Is(err, ErrTooLarge) {
			t.Errorf("CompilePath(%q) error wraps ErrTooLarge", tc.path)
		}
	}
}

func TestCompilePathTooLong(t *testing.T) {
	ok := "$." + strings.Repeat("a", MaxPathLen-2)
	if _, err := CompilePath(ok); err != nil {
		t.Fatalf("a path of %d bytes: %v", len(ok), err)
	}
	_, err := CompilePath(ok + "a")
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a path of %d bytes: %v, want ErrTooLarge", len(ok)+1, err)
	}
	want := `path "$.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..." at offset 256: path is 257 bytes; accepted is at most 256`
	if err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}
}

const extractDoc = `{
  "version": "0",
  "resources": ["r0", "r1"],
  "detail": {
    "instance-id": "i-1",
    "n": -1.5E+3,
    "t": true, "f": false, "z": null,
    "s": "a\"b\u00e9",
    "obj": { "a" : [ 1 , { "b" : "c d" } ] },
    "empty": {}, "none": [],
    "key with space": 1, "x.y": 2, "it's": 3,
    "d\u0065c": "escaped key",
    "dup": 1, "dup": [2]
  }
}`

func TestExtract(t *testing.T) {
	tests := []struct {
		path  string
		value string // "" when not found
	}{
		{"$", `{"version":"0","resources":["r0","r1"],"detail":{"instance-id":"i-1","n":-1.5E+3,"t":true,"f":false,"z":null,"s":"a\"b\u00e9","obj":{"a":[1,{"b":"c d"}]},"empty":{},"none":[],"key with space":1,"x.y":2,"it's":3,"d\u0065c":"escaped key","dup":1,"dup":[2]}}`},
		{"$.version", `"0"`},
		{"$.resources", `["r0","r1"]`},
		{"$.resources[0]", `"r0"`},
		{"$.resources[1]", `"r1"`},
		{"$.resources[2]", ""},
		{"$.resources.x", ""},
		{"$.version[0]", ""},
		{"$.version.x", ""},
		{"$.detail[0]", ""},
		{"$.detail.instance-id", `"i-1"`},
		{"$.detail.n", `-1.5E+3`},
		{"$.detail.t", `true`},
		{"$.detail.f", `false`},
		{"$.detail.z", `null`},
		{"$.detail.z.x", ""},
		{"$.detail.s", `"a\"b\u00e9"`},
		{"$.detail.obj", `{"a":[1,{"b":"c d"}]}`},
		{"$.detail.obj.a[1]", `{"b":"c d"}`},
		{"$.detail.obj.a[1].b", `"c d"`},
		{"$.detail.obj.a[2]", ""},
		{"$.detail.empty", `{}`},
		{"$.detail.none", `[]`},
		{"$.detail.none[0]", ""},
		{"$.detail['key with space']", `1`},
		{"$.detail['x.y']", `2`},
		{"$.detail.x", ""},
		{`$.detail['it\'s']`, `3`},
		{"$.detail.dec", `"escaped key"`},
		{"$.detail.dup", `[2]`},
		{"$.detail.dup[0]", `2`},
		{"$.nope", ""},
		{"$.nope.deeper[3]", ""},
	}
	for _, tc := range tests {
		p, err := CompilePath(tc.path)
		if err != nil {
			t.Fatalf("CompilePath(%q): %v", tc.path, err)
		}
		v, found, err := p.Extract([]byte(extractDoc))
		if err != nil {
			t.Errorf("Extract(%q): %v", tc.path, err)
			continue
		}
		if found != (tc.value != "") || string(v) != tc.value {
			t.Errorf("Extract(%q) = %s, %v; want %s, %v", tc.path, v, found, tc.value, tc.value != "")
		}
	}
}

func TestExtractNotObjects(t *testing.T) {
	tests := []struct{ doc, path, value string }{
		{`"just a string"`, "$", `"just a string"`},
		{` 42 `, "$", `42`},
		{`[ 1, [2, 3] ]`, "$[1][0]", `2`},
		{`[ 1, [2, 3] ]`, "$[1]", `[2,3]`},
		{`null`, "$.a", ""},
		{`{"a": {"b": 1}, "a": 2}`, "$.a.b", ""},
		{`{"a": 2, "a": {"b": 1}}`, "$.a.b", "1"},
		{`{"a": {"b": 1, "c": 2}, "a": {"c": 3}}`, "$.a.b", ""},
		{`{"\ud83d\ude00": 1}`, "$['😀']", "1"},
		{`{"\ud83d": 1}`, "$['\uFFFD']", "1"},
		{"{\"\xff\": 1}", "$['\uFFFD']", "1"},
		{`{"` + strings.Repeat(`\u0061`, 40) + `": 1}`, "$." + strings.Repeat("a", 40), "1"},
	}
	for _, tc := range tests {
		p, err := CompilePath(tc.path)
		if err != nil {
			t.Fatalf("CompilePath(%q): %v", tc.path, err)
		}
		v, found, err := p.Extract([]byte(tc.doc))
		if err != nil || found != (tc.value != "") || string(v) != tc.value {
			t.Errorf("Extract(%q) of %s = %s, %v, %v; want %s", tc.path, tc.doc, v, found, err, tc.value)
		}
	}
}

func TestExtractInvalid(t *testing.T) {
	p, err := CompilePath("$.a")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{``, ` `, `{`, `{"a": 1`, `{"a": 1}}`, `{"a": 1} x`, `{"a": 01}`, `{"a": .5}`, `{"a": "\x"}`, "{\"a\": \"\x01\"}", `{'a': 1}`, `{"a" 1}`, `[1,]`, `nul`} {
		v, found, err := p.Extract([]byte(doc))
		if err == nil || !errors.Is(err, ErrInvalidEvent) || found || v != nil {
			t.Errorf("Extract(%q) = %s, %v, %v; want an ErrInvalidEvent", doc, v, found, err)
		}
	}
	// The whole document is checked, also after the value found.
	if _, _, err := p.Extract([]byte(`{"a": 1, "b": [tru]}`)); err == nil {
		t.Error("Extract did not check the document past the value found")
	}
}

func TestZeroPath(t *testing.T) {
	var zero Path
	var nilPath *Path
	for _, p := range []*Path{&zero, nilPath} {
		if p.String() != "$" {
			t.Errorf("String() = %q, want $", p.String())
		}
		v, found, err := p.Extract([]byte(` {"a": [1, 2]} `))
		if err != nil || !found || string(v) != `{"a":[1,2]}` {
			t.Errorf("Extract = %s, %v, %v", v, found, err)
		}
	}
}
