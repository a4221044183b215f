package transform

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The cases in testdata/cases.json are data, so that a new case is a new
// entry and other implementations can run them too (the file's README
// field describes the format).

type corpus struct {
	Events map[string]json.RawMessage `json:"events"`
	Cases  []corpusCase               `json:"cases"`
}

type corpusCase struct {
	Name       string            `json:"name"`
	Event      string            `json:"event"`
	EventText  *string           `json:"event_text"`
	InputPaths map[string]string `json:"input_paths"`
	Template   string            `json:"template"`
	Context    *struct {
		RuleName      string    `json:"rule_name"`
		RuleARN       string    `json:"rule_arn"`
		IngestionTime time.Time `json:"ingestion_time"`
	} `json:"context"`
	JSON         bool    `json:"json"`
	Output       *string `json:"output"`
	CompileError string  `json:"compile_error"`
	ApplyError   string  `json:"apply_error"`
}

func readCorpus(t testing.TB) corpus {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c corpus
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("cases.json: %v", err)
	}
	return c
}

var defaultContext = Context{
	RuleName:      "ec2-rule",
	RuleARN:       "arn:aws:events:us-east-1:123456789012:rule/ec2-rule",
	IngestionTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

func (tc corpusCase) event(t *testing.T, c corpus) []byte {
	t.Helper()
	if tc.EventText != nil {
		return []byte(*tc.EventText)
	}
	ev, ok := c.Events[tc.Event]
	if !ok {
		t.Fatalf("no event %q", tc.Event)
	}
	return ev
}

func TestCorpus(t *testing.T) {
	c := readCorpus(t)
	seen := map[string]bool{}
	for _, tc := range c.Cases {
		if seen[tc.Name] {
			t.Errorf("case %q is repeated", tc.Name)
		}
		seen[tc.Name] = true
		t.Run(tc.Name, func(t *testing.T) {
			tr, err := Compile(InputTransformer{InputPaths: tc.InputPaths, Template: tc.Template})
			if tc.CompileError != "" {
				if err == nil {
					t.Fatalf("Compile succeeded; want error %q", tc.CompileError)
				}
				if err.Error() != tc.CompileError {
					t.Fatalf("Compile error\n got %s\nwant %s", err, tc.CompileError)
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Compile error %T is not an *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if tr.JSON() != tc.JSON {
				t.Errorf("JSON() = %v, want %v", tr.JSON(), tc.JSON)
			}
			ctx := defaultContext
			if tc.Context != nil {
				ctx = Context{RuleName: tc.Context.RuleName, RuleARN: tc.Context.RuleARN, IngestionTime: tc.Context.IngestionTime}
			}
			out, err := tr.Apply(tc.event(t, c), ctx)
			if tc.ApplyError != "" {
				if err == nil {
					t.Fatalf("Apply = %s; want error %q", out, tc.ApplyError)
				}
				if err.Error() != tc.ApplyError {
					t.Fatalf("Apply error\n got %s\nwant %s", err, tc.ApplyError)
				}
				if !errors.Is(err, ErrInvalidEvent) {
					t.Errorf("Apply error does not wrap ErrInvalidEvent")
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if tc.Output == nil {
				t.Fatal("case has no output, compile_error or apply_error")
			}
			if string(out) != *tc.Output {
				t.Errorf("Apply\n got %s\nwant %s", out, *tc.Output)
			}
			if tr.JSON() && !json.Valid(out) {
				t.Errorf("JSON output is not valid JSON: %s", out)
			}
		})
	}
}
