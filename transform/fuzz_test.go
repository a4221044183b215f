package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var fuzzPaths = []string{
	"$", "$.detail", "$.detail.state", "$.resources[0]", "$.detail.items[1].id", "$['key with space']",
	"$.a['x.y'][2]", `$["it's"]`, "$.detail..x", "$[*]", "$.a[-1]", "$[007]", "$.", "", "x", "$['a\\'b\\\\c']",
}

func FuzzCompilePath(f *testing.F) {
	for _, p := range fuzzPaths {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		p, err := CompilePath(path)
		if err != nil {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Fatalf("CompilePath(%q): error %T is not a *PathError", path, err)
			}
			if pe.Offset < 0 || pe.Offset > len(path) {
				t.Fatalf("CompilePath(%q): offset %d out of the path", path, pe.Offset)
			}
			return
		}
		s := p.String()
		if len(s) > len(path) {
			t.Fatalf("CompilePath(%q).String() = %q is longer", path, s)
		}
		q, err := CompilePath(s)
		if err != nil {
			t.Fatalf("CompilePath(%q).String() = %q does not compile: %v", path, s, err)
		}
		if q.String() != s || !slices.Equal(p.steps, q.steps) {
			t.Fatalf("CompilePath(%q) = %q (%v); recompiled %q (%v)", path, s, p.steps, q.String(), q.steps)
		}
	})
}

// FuzzExtract checks Extract against encoding/json: the same documents are
// valid, and the value found is the one json.Unmarshal puts at the path.
func FuzzExtract(f *testing.F) {
	docs := []string{extractDoc, `{"a":[1,{"b":"c"}],"a":{"b":2}}`, `[1,[2,3]]`, `"x"`, `{"\u0061":1}`, `{"a":1,}`, "{\"\xff\":1}"}
	for i, p := range fuzzPaths {
		f.Add(p, []byte(docs[i%len(docs)]))
		f.Add(p, []byte(extractDoc))
	}
	for _, p := range []string{"$.detail.s", "$.detail.obj.a[1]", "$.detail.n", "$.detail.dup", "$.detail.dec"} {
		f.Add(p, []byte(extractDoc))
	}
	f.Fuzz(func(t *testing.T, path string, doc []byte) {
		p, err := CompilePath(path)
		if err != nil {
			return
		}
		v, found, err := p.Extract(doc)
		if (err == nil) != json.Valid(doc) {
			t.Fatalf("Extract error %v; json.Valid = %v", err, json.Valid(doc))
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) || found || v != nil {
				t.Fatalf("Extract = %q, %v, %v", v, found, err)
			}
			return
		}
		var tree any
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil {
			t.Fatalf("json: %v", err)
		}
		want, wantFound := tree, true
		for _, st := range p.steps {
			switch x := want.(type) {
			case map[string]any:
				if st.index < 0 {
					want, wantFound = x[st.name]
				} else {
					wantFound = false
				}
			case []any:
				if st.index >= 0 && st.index < len(x) {
					want = x[st.index]
				} else {
					wantFound = false
				}
			default:
				wantFound = false
			}
			if !wantFound {
				break
			}
		}
		if found != wantFound {
			t.Fatalf("Extract(%s) found %v (%q); encoding/json %v", p, found, v, wantFound)
		}
		if firstByte(doc) == '{' {
			checkRendering(t, path, doc, v, found)
		}
		if !found {
			return
		}
		if !json.Valid(v) {
			t.Fatalf("Extract(%s) = %q is not JSON", p, v)
		}
		if v[0] == '{' || v[0] == '[' {
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil || !bytes.Equal(c.Bytes(), v) {
				t.Fatalf("Extract(%s) = %q is not compact", p, v)
			}
		}
		var got any
		dec = json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Extract(%s) = %q; encoding/json finds %#v", p, v, want)
		}
	})
}

func FuzzApply(f *testing.F) {
	c := readCorpus(f)
	for _, tc := range c.Cases {
		var paths []string
		for _, name := range slices.Sorted(maps.Keys(tc.InputPaths)) {
			paths = append(paths, tc.InputPaths[name])
		}
		paths = append(paths, "$.detail.state", "$.resources[0]")
		ev := []byte(c.Events[tc.Event])
		if tc.EventText != nil {
			ev = []byte(*tc.EventText)
		}
		// The fuzzer's variables are named a and b.
		tmpl := tc.Template
		for i, name := range slices.Sorted(maps.Keys(tc.InputPaths)) {
			tmpl = string(bytes.ReplaceAll([]byte(tmpl), []byte("<"+name+">"), []byte("<"+string(rune('a'+i%2))+">")))
		}
		f.Add(tmpl, paths[0], paths[1], ev)
	}
	f.Fuzz(func(t *testing.T, tmpl, pathA, pathB string, event []byte) {
		tr, err := Compile(InputTransformer{InputPaths: map[string]string{"a": pathA, "b": pathB}, Template: tmpl})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile error %T is not an *Error", err)
			}
			return
		}
		out, err := tr.Apply(event, Context{RuleName: "rule\"\\\n", RuleARN: "arn:\xff"})
		isObject := json.Valid(event) && firstByte(event) == '{'
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) || isObject {
				t.Fatalf("Apply(%q) error %v; event is a JSON object: %v", event, err, isObject)
			}
			return
		}
		if !isObject {
			t.Fatalf("Apply accepted an event that is not a JSON object: %q", event)
		}
		if tr.JSON() && !json.Valid(out) {
			t.Fatalf("template %q rendered invalid JSON %q", tmpl, out)
		}
	})
}

// checkRendering checks that a JSON template renders the value v (found or
// not) at path in doc as a value, inside a string, and in a text template.
func checkRendering(t *testing.T, path string, doc, v []byte, found bool) {
	t.Helper()
	paths := map[string]string{"a": path}
	tr, err := Compile(InputTransformer{InputPaths: paths, Template: `{"x": <a>, "y": "<a>", "z": ["[<a>]"]}`})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Apply(doc, Context{})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		X json.RawMessage
		Y string
		Z []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	wantX, wantY, wantText := "null", "", ""
	if found {
		// In a string, a value other than a string is its JSON text; read
		// back, invalid UTF-8 becomes U+FFFD.
		wantX, wantY, wantText = string(v), toValidUTF8(string(v)), string(v)
		if v[0] == '"' {
			if err := json.Unmarshal(v, &wantY); err != nil {
				t.Fatal(err)
			}
			wantText = wantY
		}
	}
	if string(got.X) != wantX || got.Y != wantY || len(got.Z) != 1 || got.Z[0] != "["+wantY+"]" {
		t.Fatalf("rendered %q; want x %s and y %q", out, wantX, wantY)
	}
	text, err := Compile(InputTransformer{InputPaths: paths, Template: `<a>`})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := text.Apply(doc, Context{}); err != nil || string(out) != wantText {
		t.Fatalf("text rendered %q, %v; want %q", out, err, wantText)
	}
}

// toValidUTF8 replaces each byte of s that is not UTF-8 by U+FFFD, as
// encoding/json does.
func toValidUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
