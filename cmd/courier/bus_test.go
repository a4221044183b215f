package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
)

func TestBusCommands(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "queue", "create", "audit")
	var info httpapi.BusInfo
	if err := json.Unmarshal([]byte(ok(t, url, "", "bus", "create", "shop", "--description", "shop events")), &info); err != nil ||
		info.Name != "shop" || info.Attributes.Description != "shop events" {
		t.Fatalf("create printed %+v (%v)", info, err)
	}
	if r := cli(t, url, "", "bus", "create", "shop", "--description", "other"); r.code != exitError || !strings.Contains(r.stderr, "conflict") {
		t.Fatalf("re-create with another description: %+v", r)
	}
	if out := ok(t, url, "", "bus", "list"); out != "default\nshop\n" {
		t.Fatalf("list printed %q", out)
	}

	// A rule from flags, and one from a file.
	out := ok(t, url, "", "bus", "put-rule", "shop", "big", "--pattern", `{"detail":{"total":[{"numeric":[">",100]}]}}`,
		"--description", "big orders", "--target", `{"id":"audit","kind":"queue","queue":"audit","input_path":"$.detail"}`,
		"--target", `{"id":"hook","kind":"http","http":{"endpoint":"http://127.0.0.1:1/hook","auth_header":"Authorization","auth_value":"Bearer secret","timeout":"2s"}}`)
	var ri httpapi.RuleInfo
	if err := json.Unmarshal([]byte(out), &ri); err != nil || ri.Name != "big" || len(ri.Targets) != 2 || ri.Targets[1].HTTP.AuthValue != "****" || ri.Description != "big orders" {
		t.Fatalf("put-rule printed %q (%v)", out, err)
	}
	file := filepath.Join(t.TempDir(), "rule.json")
	if err := os.WriteFile(file, []byte(`{"schedule": "rate(1 hour)", "state": "disabled", "targets": [{"id": "h", "kind": "handler"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cliTTY(t, url, "", "bus", "put-rule", "shop", "hourly", "--file", file); r.code != 0 || r.stdout != "rule hourly of shop is disabled with 1 target\n" {
		t.Fatalf("put-rule --file: %+v", r)
	}
	rules := decodeLines[httpapi.RuleInfo](t, ok(t, url, "", "bus", "rules", "shop"))
	if len(rules) != 2 || rules[0].Name != "big" || rules[1].Schedule != "rate(1 hour)" || rules[1].State != "disabled" {
		t.Fatalf("rules printed %+v", rules)
	}
	if r := cliTTY(t, url, "", "bus", "rules", "shop"); r.code != 0 || !strings.Contains(r.stdout, "RULE") || !strings.Contains(r.stdout, "rate(1 hour)") {
		t.Fatalf("rules on a terminal: %+v", r)
	}

	// Events: one line per entry, in order; a refused one fails the
	// command after the others are put.
	in := `[{"source":"shop","detail-type":"Order Placed","detail":{"total":250}},
		{"source":"shop","detail-type":"Order Placed","detail":"no object"},
		{"source":"shop","detail-type":"Order Placed","detail":{"total":5}}]`
	r := cli(t, url, in, "bus", "put-events", "shop")
	lines := decodeLines[httpapi.PutEventsEntry](t, r.stdout)
	if r.code != exitError || len(lines) != 3 || lines[0].ID == "" || lines[1].Error == nil || lines[1].Error.Field != "entries[1].detail" || lines[2].ID == "" ||
		!strings.Contains(r.stderr, "1 of 3 events were not accepted") {
		t.Fatalf("put-events of an array: %+v", r)
	}
	// JSON lines from a file, and --entry flags, printed for people.
	events := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(events, []byte(`{"id":"e-1","source":"shop","detail-type":"Order Placed","detail":{"total":500}}`+"\n"+
		`{"id":"e-2","source":"shop","detail-type":"Order Placed","detail":{"total":1}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cliTTY(t, url, "", "bus", "put-events", "shop", "--file", events); r.code != 0 || r.stdout != "e-1\ne-2\n" {
		t.Fatalf("put-events --file: %+v", r)
	}
	r = cliTTY(t, url, "", "bus", "put-events", "shop", "--entry", `{"source":"shop","detail-type":"x","detail":{}}`, "--entry", `{"source":"shop","detail":{},"when":"now"}`)
	if r.code != exitError || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, "error: entries[1]: not an event") {
		t.Fatalf("put-events --entry: %+v", r)
	}
	if got := stats(t, b, "audit"); got.Visible != 2 {
		t.Fatalf("the rule's queue holds %d events, want 2 (totals 250 and 500)", got.Visible)
	}
	ds := receiveJSON(t, url, "audit", "--max", "10")
	if len(ds) != 2 || *ds[0].Body != `{"total":250}` {
		t.Fatalf("the rule delivered %+v", ds)
	}

	// The rule shows its counters; info shows the bus's.
	r = cliTTY(t, url, "", "bus", "rule", "shop", "big")
	if r.code != 0 || !strings.Contains(r.stdout, "http http://127.0.0.1:1/hook") || !strings.Contains(r.stdout, "matched") {
		t.Fatalf("rule on a terminal: %+v", r)
	}
	if err := json.Unmarshal([]byte(ok(t, url, "", "bus", "rule", "shop", "big")), &ri); err != nil || ri.Stats.Matched != 2 || ri.Stats.Targets[0].Delivered != 2 {
		t.Fatalf("rule stats %+v (%v)", ri.Stats, err)
	}
	if err := json.Unmarshal([]byte(ok(t, url, "", "bus", "info", "shop")), &info); err != nil || info.Stats.Accepted != 5 || info.Stats.Rules != 2 {
		t.Fatalf("info %+v (%v)", info, err)
	}
	if r := cliTTY(t, url, "", "bus", "info", "shop"); r.code != 0 || !strings.Contains(r.stdout, "accepted") || !strings.Contains(r.stdout, "shop events") {
		t.Fatalf("info on a terminal: %+v", r)
	}
	if r := cli(t, url, "", "bus", "delete-rule", "shop", "hourly"); r.code != 0 {
		t.Fatalf("delete-rule: %+v", r)
	}
	if r := cli(t, url, "", "bus", "rule", "shop", "hourly"); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("rule after delete-rule: %+v", r)
	}
	if r := cliTTY(t, url, "", "bus", "delete", "shop"); r.code != 0 || r.stdout != "deleted bus shop\n" {
		t.Fatalf("delete: %+v", r)
	}
	if r := cli(t, url, "", "bus", "info", "shop"); r.code != exitError || !strings.Contains(r.stderr, `bus "shop": not found`) {
		t.Fatalf("info after delete: %+v", r)
	}
}

func TestBusArchivesAndReplays(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "queue", "create", "replayed")
	ok(t, url, "", "bus", "create", "shop")
	if r := cliTTY(t, url, "", "bus", "archive", "shop", "all", "--retention", "720h"); r.code != 0 || r.stdout != "archive all of shop keeps every event for 720h0m0s\n" {
		t.Fatalf("archive: %+v", r)
	}
	var ai httpapi.ArchiveInfo
	if err := json.Unmarshal([]byte(ok(t, url, "", "bus", "archive", "shop", "big", "--pattern", `{"detail":{"n":[2]}}`)), &ai); err != nil || ai.Retention != 0 || ai.Pattern == nil {
		t.Fatalf("archive --pattern printed %+v (%v)", ai, err)
	}
	start := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	ok(t, url, "", "bus", "put-events", "shop", "--entry", `{"source":"s","detail-type":"t","detail":{"n":1}}`, "--entry", `{"source":"s","detail-type":"t","detail":{"n":2}}`)
	archives := decodeLines[httpapi.ArchiveInfo](t, ok(t, url, "", "bus", "archives", "shop"))
	if len(archives) != 2 || archives[0].Name != "all" || archives[0].Events != 2 || archives[1].Events != 1 {
		t.Fatalf("archives %+v", archives)
	}
	if r := cliTTY(t, url, "", "bus", "archives", "shop"); r.code != 0 || !strings.Contains(r.stdout, "(every event)") {
		t.Fatalf("archives on a terminal: %+v", r)
	}
	ok(t, url, "", "bus", "put-rule", "shop", "late", "--pattern", `{"source":["s"]}`, "--target", `{"id":"q","kind":"queue","queue":"replayed"}`)
	end := time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
	var rp httpapi.ReplayInfo
	out := ok(t, url, "", "bus", "replay", "again", "--bus", "shop", "--archive", "all", "--start", start, "--end", end, "--rule", "late")
	if err := json.Unmarshal([]byte(out), &rp); err != nil || rp.Name != "again" || rp.Archive != "all" || len(rp.Rules) != 1 {
		t.Fatalf("replay printed %q (%v)", out, err)
	}
	ds, err := b.Queue("replayed").Receive(t.Context(), courier.Max(10), courier.Wait(20*time.Second))
	if err != nil || len(ds) == 0 {
		t.Fatalf("the replay delivered %d events (%v)", len(ds), err)
	}
	if r := cliTTY(t, url, "", "bus", "replay-info", "again"); r.code != 0 || !strings.Contains(r.stdout, "replay") || !strings.Contains(r.stdout, "archive") {
		t.Fatalf("replay-info: %+v", r)
	}
	if replays := decodeLines[httpapi.ReplayInfo](t, ok(t, url, "", "bus", "replays")); len(replays) != 1 || replays[0].Name != "again" {
		t.Fatalf("replays %+v", replays)
	}
	if r := cliTTY(t, url, "", "bus", "replays"); r.code != 0 || !strings.Contains(r.stdout, "again") {
		t.Fatalf("replays on a terminal: %+v", r)
	}
	// A running replay is cancelled; an ended one cannot be.
	if r := cli(t, url, "", "bus", "cancel-replay", "again"); r.code == 0 {
		if err := json.Unmarshal([]byte(r.stdout), &rp); err != nil || rp.State != "cancelled" {
			t.Fatalf("cancel-replay printed %q (%v)", r.stdout, err)
		}
	} else if !strings.Contains(r.stderr, "conflict") && !strings.Contains(r.stderr, "ended") {
		t.Fatalf("cancel-replay: %+v", r)
	}
	if r := cli(t, url, "", "bus", "cancel-replay", "again"); r.code != exitError {
		t.Fatalf("cancelling an ended replay: %+v", r)
	}
	if r := cli(t, url, "", "bus", "replay", "again", "--bus", "shop", "--archive", "all", "--start", start, "--end", end); r.code != exitError || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("a second replay of the same name: %+v", r)
	}
	if r := cliTTY(t, url, "", "bus", "delete-archive", "shop", "big"); r.code != 0 || r.stdout != "deleted archive big of shop\n" {
		t.Fatalf("delete-archive: %+v", r)
	}
	if r := cli(t, url, "", "bus", "replay-info", "missing"); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("replay-info of a missing replay: %+v", r)
	}
}

// TestBusTestPattern runs test-pattern without a server: exit 0 on a
// match, 1 on none, 2 on an invalid pattern or event.
func TestBusTestPattern(t *testing.T) {
	const noServer = "http://127.0.0.1:1"
	const event = `{"source":"shop","detail-type":"Order Placed","detail":{"total":250}}`
	for _, c := range []struct {
		pattern, event, stdin string
		code                  int
		stdout, stderr        string
	}{
		{`{"detail":{"total":[{"numeric":[">",100]}]}}`, event, "", exitOK, `{"match":true}` + "\n", ""},
		{`{"source":["other"]}`, event, "", exitError, `{"match":false}` + "\n", "does not match"},
		{`{"source":["shop"]}`, "", event, exitOK, `{"match":true}` + "\n", ""},
		{`{"source":"shop"}`, event, "", exitUsage, "", "--pattern"},
		{`["shop"]`, event, "", exitUsage, "", "--pattern"},
		{`{"source":["shop"]}`, `[1]`, "", exitUsage, "", "--event"},
		{`{"source":["shop"]}`, "", "", exitUsage, "", "--event"},
		{"", event, "", exitUsage, "", "--pattern is required"},
	} {
		args := []string{"bus", "test-pattern"}
		if c.pattern != "" {
			args = append(args, "--pattern", c.pattern)
		}
		if c.event != "" {
			args = append(args, "--event", c.event)
		}
		r := cli(t, noServer, c.stdin, args...)
		if r.code != c.code || r.stdout != c.stdout || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("test-pattern %q %q: %+v; want exit %d, stdout %q, stderr with %q", c.pattern, c.event, r, c.code, c.stdout, c.stderr)
		}
	}
	if r := cliTTY(t, noServer, "", "bus", "test-pattern", "--pattern", `{"source":["shop"]}`, "--event", event); r.code != 0 || r.stdout != "match: true\n" {
		t.Errorf("test-pattern on a terminal: %+v", r)
	}
}

func TestBusBadInput(t *testing.T) {
	url, _ := startServer(t)
	ok(t, url, "", "bus", "create", "shop")
	target := `{"id":"q","kind":"queue","queue":"audit"}`
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bus", "create", "bad/name"}, "bus name"},
		{[]string{"bus", "create", "x", "--description", strings.Repeat("d", 513)}, "--description"},
		{[]string{"bus", "delete", "default"}, "default bus"},
		{[]string{"bus", "info"}, "missing argument NAME"},
		{[]string{"bus", "put-rule", "shop", "r"}, "--pattern"},
		{[]string{"bus", "put-rule", "shop", "bad name", "--pattern", `{"source":["s"]}`}, "rule"},
		{[]string{"bus", "put-rule", "shop", "r", "--pattern", `source`}, "--pattern"},
		{[]string{"bus", "put-rule", "shop", "r", "--pattern", `{"source":"s"}`}, "--pattern"},
		{[]string{"bus", "put-rule", "shop", "r", "--pattern", `{"source":["s"]}`, "--schedule", "rate(1 hour)"}, "--schedule"},
		{[]string{"bus", "put-rule", "shop", "r", "--schedule", "rate(1 hours)"}, "--schedule"},
		{[]string{"bus", "put-rule", "shop", "r", "--schedule", "rate(1 hour)", "--target", `{"id":"q"`}, "--target #1: not a target"},
		{[]string{"bus", "put-rule", "shop", "r", "--schedule", "rate(1 hour)", "--target", `{"id":"q","kind":"queue","queue":"a","bogus":1}`}, "--target #1: not a target"},
		{[]string{"bus", "put-rule", "shop", "r", "--schedule", "rate(1 hour)", "--target", target, "--target", `{"id":"x","kind":"mail"}`}, "--target #2: kind"},
		{[]string{"bus", "put-rule", "shop", "r", "--schedule", "rate(1 hour)", "--target", target, "--target", target}, "--target #2: id"},
		{[]string{"bus", "put-rule", "shop", "r", "--schedule", "rate(1 hour)", "--target", `{"id":"h","kind":"http","http":{"endpoint":"x","timeout":"2s"}}`}, "--target #1: http.endpoint"},
		{[]string{"bus", "put-rule", "shop", "r", "--file", "/nonexistent/rule.json"}, "rule.json"},
		{[]string{"bus", "put-rule", "shop", "r", "--file", "x.json", "--pattern", "{}"}, "--file"},
		{[]string{"bus", "put-events", "shop"}, "no events"},
		{[]string{"bus", "put-events", "shop", "--entry", "{}", "--file", "x"}, "not both"},
		{[]string{"bus", "put-events", "shop", "--file", "/nonexistent/events.json"}, "events.json"},
		{[]string{"bus", "archive", "shop", "bad name"}, "archive"},
		{[]string{"bus", "archive", "shop", "a", "--retention", "-1h"}, "--retention"},
		{[]string{"bus", "archive", "shop", "a", "--pattern", "[]"}, "--pattern"},
		{[]string{"bus", "replay", "r", "--archive", "a", "--start", "2026-01-01T00:00:00Z", "--end", "2026-01-02T00:00:00Z"}, "--bus"},
		{[]string{"bus", "replay", "r", "--bus", "shop", "--archive", "a", "--end", "2026-01-02T00:00:00Z"}, "--start"},
		{[]string{"bus", "replay", "r", "--bus", "shop", "--archive", "a", "--start", "yesterday", "--end", "2026-01-02T00:00:00Z"}, "--start"},
		{[]string{"bus", "replay", "r", "--bus", "shop", "--archive", "a", "--start", "2026-01-03T00:00:00Z", "--end", "2026-01-02T00:00:00Z"}, "--end"},
		{[]string{"bus", "replay", "r", "--bus", "shop", "--archive", "a", "--start", "2026-01-01T00:00:00Z", "--end", "2026-01-02T00:00:00Z", "--rule", "bad name"}, "--rule"},
		{[]string{"bus", "replay", "bad name", "--bus", "shop", "--archive", "a", "--start", "2026-01-01T00:00:00Z", "--end", "2026-01-02T00:00:00Z"}, "replay"},
		{[]string{"bus", "replay-info", "bad name"}, "replay"},
		{[]string{"bus", "cancel-replay"}, "missing argument REPLAY"},
		{[]string{"bus", "frobnicate"}, "unknown command"},
	} {
		r := cli(t, url, "", c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("courier %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(c.args, " "), r.code, r.stderr, exitUsage, c.want)
		}
	}
	// Malformed input read from a stream stops the command after what was
	// read before it was put.
	r := cli(t, url, `{"source":"s","detail-type":"t","detail":{}}`+"\n{oops\n", "bus", "put-events", "shop")
	if r.code != exitError || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stderr, "entry 2: malformed JSON") {
		t.Errorf("put-events of malformed JSON lines: %+v", r)
	}
	if r := cli(t, url, "", "bus", "put-rule", "shop", "r", "--pattern", `{"source":["s"]}`, "--target", `{"id":"d","kind":"handler","dlq":"missing"}`); r.code != exitError || !strings.Contains(r.stderr, "dlq") {
		t.Errorf("put-rule with a missing dead-letter queue: %+v", r)
	}
	if r := cli(t, url, "", "bus", "rules", "missing"); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Errorf("rules of a missing bus: %+v", r)
	}
	if r := cli(t, url, "", "bus", "put-events", "missing", "--entry", `{"source":"s","detail-type":"t","detail":{}}`); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Errorf("put-events to a missing bus: %+v", r)
	}
}
