package transform

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var ec2Event = []byte(`{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602",` +
	`"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012",` +
	`"time":"2015-11-11T21:29:54Z","region":"us-east-1",` +
	`"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],` +
	`"detail":{"instance-id":"i-0123456789","state":"RUNNING"}}`)

func mustCompile(t testing.TB, it InputTransformer) *Transformer {
	t.Helper()
	tr, err := Compile(it)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return tr
}

func TestMode(t *testing.T) {
	tests := []struct {
		template string
		json     bool
	}{
		{`{}`, true}, {`[]`, true}, {`""`, true}, {" \t\r\n{}", true}, {"\n\"x\"\n", true},
		{``, false}, {` `, false}, {`x`, false}, {`1`, false}, {`null`, false}, {`true`, false},
		{`<aws.events.event>`, false}, {"\u00a0x", false}, {`'x'`, false},
	}
	for _, tc := range tests {
		tr, err := Compile(InputTransformer{Template: tc.template})
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.template, err)
			continue
		}
		if tr.JSON() != tc.json {
			t.Errorf("Compile(%q).JSON() = %v, want %v", tc.template, tr.JSON(), tc.json)
		}
	}
}

func TestLimits(t *testing.T) {
	// A template of MaxTemplateSize bytes compiles; one more byte does not.
	tmpl := `"` + strings.Repeat("x", MaxTemplateSize-2) + `"`
	mustCompile(t, InputTransformer{Template: tmpl})
	_, err := Compile(InputTransformer{Template: tmpl + " "})
	var e *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &e) || e.Field != "template" {
		t.Errorf("template of %d bytes: %v", len(tmpl)+1, err)
	}
	if err != nil && err.Error() != "template: is 8193 bytes; accepted is at most 8192" {
		t.Errorf("error %q", err)
	}

	// MaxVariables variables compile; one more do not.
	paths := map[string]string{}
	for i := range MaxVariables {
		paths[fmt.Sprintf("v%d", i)] = fmt.Sprintf("$.detail.f%d", i)
	}
	mustCompile(t, InputTransformer{InputPaths: paths, Template: "x"})
	paths["one-more"] = "$.x"
	_, err = Compile(InputTransformer{InputPaths: paths, Template: "x"})
	if !errors.Is(err, ErrTooLarge) || err.Error() != "input_paths: has 101 variables; accepted is at most 100" {
		t.Errorf("%d variables: %v", len(paths), err)
	}

	// Names of MaxNameLen bytes are fine; longer ones are not.
	long := strings.Repeat("n", MaxNameLen)
	tr := mustCompile(t, InputTransformer{InputPaths: map[string]string{long: "$.source"}, Template: "<" + long + ">"})
	if out, err := tr.Apply(ec2Event, Context{}); err != nil || string(out) != "aws.ec2" {
		t.Errorf("long name: %s, %v", out, err)
	}
	_, err = Compile(InputTransformer{InputPaths: map[string]string{long + "n": "$.source"}, Template: "x"})
	want := `input_paths["` + strings.Repeat("n", 64) + `..."]: variable name is 257 bytes; accepted is 1 to 256`
	if err == nil || err.Error() != want {
		t.Errorf("long name error\n got %v\nwant %s", err, want)
	}
	// A placeholder with a name too long for a variable is text.
	tr = mustCompile(t, InputTransformer{Template: "<" + long + "n>"})
	if out, _ := tr.Apply(ec2Event, Context{}); string(out) != "<"+long+"n>" {
		t.Errorf("long placeholder rendered %s", out)
	}

	// A path too long wraps both *PathError and ErrTooLarge.
	_, err = Compile(InputTransformer{InputPaths: map[string]string{"p": "$." + strings.Repeat("a", MaxPathLen)}, Template: "x"})
	var pe *PathError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &pe) || pe.Offset != MaxPathLen {
		t.Errorf("long path: %v", err)
	}
}

func TestPathErrorThroughCompile(t *testing.T) {
	_, err := Compile(InputTransformer{InputPaths: map[string]string{"total": "$.detail..x"}, Template: `"<total>"`})
	const want = `input_paths["total"]: path "$.detail..x" at offset 9: empty member name`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	var e *Error
	var pe *PathError
	if !errors.As(err, &e) || e.Field != `input_paths["total"]` || !errors.As(err, &pe) || pe.Offset != 9 || pe.Reason != "empty member name" {
		t.Errorf("error structure: %#v", err)
	}
}

func TestOutputTooLarge(t *testing.T) {
	big := `{"detail": {"s": "` + strings.Repeat("x", 200_000) + `"}}`
	tmpl := "[" + strings.Repeat("<s>,", 4) + "<s>]"
	tr := mustCompile(t, InputTransformer{InputPaths: map[string]string{"s": "$.detail.s"}, Template: tmpl})
	out, err := tr.Apply([]byte(big), Context{})
	if err != nil || len(out) < 5*200_000 || !json.Valid(out) {
		t.Fatalf("5 copies: %d bytes, %v", len(out), err)
	}
	tmpl = "[" + strings.Repeat("<s>,", 5) + "<s>]"
	tr = mustCompile(t, InputTransformer{InputPaths: map[string]string{"s": "$.detail.s"}, Template: tmpl})
	if out, err := tr.Apply([]byte(big), Context{}); !errors.Is(err, ErrTooLarge) || out != nil {
		t.Errorf("6 copies: %d bytes, %v; want ErrTooLarge", len(out), err)
	}
}

// TestManyPaths uses more paths than Apply keeps on its stack and more
// members under one object than a node looks up one by one.
func TestManyPaths(t *testing.T) {
	var ev strings.Builder
	ev.WriteString(`{"detail": {`)
	paths := map[string]string{}
	var tmpl, want strings.Builder
	tmpl.WriteString("{")
	want.WriteString("{")
	for i := range 30 {
		if i > 0 {
			ev.WriteString(", ")
			tmpl.WriteString(", ")
			want.WriteString(", ")
		}
		fmt.Fprintf(&ev, `"f%d": [%d, "s%d"]`, i, i, i)
		name := fmt.Sprintf("v%d", i)
		paths[name] = fmt.Sprintf("$.detail.f%d[%d]", i, i%2)
		fmt.Fprintf(&tmpl, `"%s": <%s>`, name, name)
		if i%2 == 0 {
			fmt.Fprintf(&want, `"%s": %d`, name, i)
		} else {
			fmt.Fprintf(&want, `"%s": "s%d"`, name, i)
		}
	}
	ev.WriteString(`}}`)
	tmpl.WriteString("}")
	want.WriteString("}")
	tr := mustCompile(t, InputTransformer{InputPaths: paths, Template: tmpl.String()})
	out, err := tr.Apply([]byte(ev.String()), Context{})
	if err != nil || string(out) != want.String() {
		t.Errorf("Apply\n got %s, %v\nwant %s", out, err, want.String())
	}
}

func TestConcurrentApply(t *testing.T) {
	tr := mustCompile(t, InputTransformer{
		InputPaths: map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state"},
		Template:   `{"instance": <instance>, "state": "<state>", "rule": <aws.events.rule-name>}`,
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			c := Context{RuleName: fmt.Sprintf("rule-%d", g)}
			want := fmt.Sprintf(`{"instance": "i-0123456789", "state": "RUNNING", "rule": "rule-%d"}`, g)
			for range 200 {
				out, err := tr.Apply(ec2Event, c)
				if err != nil || string(out) != want {
					t.Errorf("Apply = %s, %v", out, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestApplyAllocations(t *testing.T) {
	tr := mustCompile(t, InputTransformer{
		InputPaths: map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state", "res": "$.resources[0]"},
		Template:   `{"instance": <instance>, "text": "<state> <res>", "at": <aws.events.event.ingestion-time>}`,
	})
	c := Context{IngestionTime: time.Now()}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := tr.Apply(ec2Event, c); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Apply allocates %v times, want 1 (the output)", n)
	}
	p, _ := CompilePath("$.detail.state")
	if n := testing.AllocsPerRun(100, func() { _, _, _ = p.Extract(ec2Event) }); n != 0 {
		t.Errorf("Extract allocates %v times, want 0", n)
	}
}

func TestIngestionTime(t *testing.T) {
	tr := mustCompile(t, InputTransformer{Template: `<aws.events.event.ingestion-time>`})
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC), "2026-01-02T03:04:05Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -5*3600)), "2026-01-02T08:04:05Z"},
		{time.Time{}, "0001-01-01T00:00:00Z"},
	} {
		out, err := tr.Apply([]byte(`{}`), Context{IngestionTime: tc.t})
		if err != nil || string(out) != tc.want {
			t.Errorf("ingestion time %v = %s, %v; want %s", tc.t, out, err, tc.want)
		}
	}
}

// TestInvalidUTF8 checks that values and names with invalid UTF-8 keep the
// output valid.
func TestInvalidUTF8(t *testing.T) {
	ev := []byte("{\"s\": \"a\xffb\", \"o\": {\"k\": \"\xfe\"}}")
	tr := mustCompile(t, InputTransformer{
		InputPaths: map[string]string{"s": "$.s", "o": "$.o"},
		Template:   `{"a": <s>, "b": "<s>", "c": "<o>", "r": <aws.events.rule-name>, "q": "<aws.events.rule-name>"}`,
	})
	out, err := tr.Apply(ev, Context{RuleName: "r\xff"})
	if err != nil || !json.Valid(out) {
		t.Fatalf("Apply = %q, %v", out, err)
	}
	tr = mustCompile(t, InputTransformer{InputPaths: map[string]string{"s": "$.s"}, Template: `<s>`})
	if out, err := tr.Apply(ev, Context{}); err != nil || string(out) != "a\uFFFDb" {
		t.Errorf("text = %q, %v", out, err)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	_, err := Compile(InputTransformer{Template: `{"a": <b>}`})
	var e *Error
	if !errors.As(err, &e) || e.Field != "template" || errors.Is(err, ErrTooLarge) {
		t.Errorf("template error: %#v", err)
	}
	_, err = Compile(InputTransformer{InputPaths: map[string]string{"aws.events.x": "$"}, Template: "x"})
	if !errors.As(err, &e) || e.Field != `input_paths["aws.events.x"]` {
		t.Errorf("reserved name error: %#v", err)
	}
	// "aws.events" itself is not reserved.
	mustCompile(t, InputTransformer{InputPaths: map[string]string{"aws.events": "$"}, Template: "<aws.events>"})
}
