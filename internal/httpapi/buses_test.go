package httpapi_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// roundTrip encodes v and decodes the JSON into a new T.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := httpapi.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return out
}

func TestRuleJSON(t *testing.T) {
	rule := driver.Rule{
		Description: "d", Pattern: json.RawMessage(`{"source":["s"]}`), State: driver.RuleDisabled,
		Targets: []driver.Target{
			{ID: "q", Kind: driver.TargetQueue, Queue: "q", DeadLetterQueue: "dlq", MaxBacklog: 5, InputPath: "$.detail"},
			{ID: "h", Kind: driver.TargetHTTP, HTTP: &driver.HTTPTarget{Endpoint: "http://x", AuthHeader: "A", AuthValue: "v",
				Headers: map[string]string{"k": "v"}, MaxPerSecond: 3, Timeout: 2 * time.Second},
				Retry: driver.RetryPolicy{MaxAttempts: 2, MaxAge: time.Hour, MinDelay: time.Second, MaxDelay: time.Minute}},
			{ID: "b", Kind: driver.TargetBus, Bus: "other", Input: json.RawMessage(`[1,"<x>"]`)},
			{ID: "t", Kind: driver.TargetTopic, Topic: "t", InputTransformer: &driver.InputTransformer{InputPaths: map[string]string{"a": "$.a"}, Template: "<a>"}},
			{ID: "s", Kind: driver.TargetStream, Stream: "s", PartitionKeyPath: "$.id", CloudEvents: true},
		},
	}
	j := roundTrip(t, httpapi.RuleJSON(rule))
	back, err := j.Driver()
	if err != nil || !reflect.DeepEqual(back, rule) {
		t.Fatalf("rule round trip: %+v, %v\nwant %+v", back, err, rule)
	}
	b, _ := httpapi.Marshal(httpapi.RuleJSON(rule))
	for _, want := range []string{`"timeout":"2s"`, `"max_age":"1h0m0s"`, `"pattern":{"source":["s"]}`, `"input":[1,"<x>"]`, `"dlq":"dlq"`} {
		if !json.Valid(b) || !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if _, err := (&httpapi.Rule{Pattern: json.RawMessage(`"{}"`)}).Driver(); !isField(err, "pattern") {
		t.Errorf("a pattern in a string: %v", err)
	}
	if r, err := (&httpapi.Rule{Pattern: json.RawMessage(` null `)}).Driver(); err != nil || r.Pattern != nil {
		t.Errorf("a null pattern: %+v, %v", r, err)
	}

	info := driver.RuleInfo{Bus: "b", Name: "r", Rule: rule, CreatedAt: time.Unix(1, 0).UTC(), UpdatedAt: time.Unix(2, 0).UTC(),
		NextFire: time.Unix(3, 0).UTC(), Stats: driver.RuleStats{Matched: 4, Targets: []driver.TargetStats{
			{ID: "q", Delivered: 1, Retried: 2, Failed: 3, DeadLettered: 4, Overflowed: 5, Backlog: driver.QueueStats{Visible: 6, OldestAge: time.Second}}}}}
	got, err := roundTrip(t, httpapi.RuleInfoJSON(info)).Info()
	if err != nil || !reflect.DeepEqual(got, info) {
		t.Fatalf("rule info round trip: %+v, %v\nwant %+v", got, err, info)
	}
}

func isField(err error, field string) bool {
	var ve *driver.ValidationError
	return errors.As(err, &ve) && ve.Field == field
}

func TestEventJSON(t *testing.T) {
	ev := driver.Event{ID: "e", Source: "s", DetailType: "t", Detail: json.RawMessage(`{"a":1}`), Resources: []string{"r"},
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600)), Account: "a", Region: "r", Headers: map[string]string{"h": "v"}}
	j := roundTrip(t, httpapi.EventJSON(ev))
	back, err := j.Driver("entries[0]")
	if err != nil || !back.Time.Equal(ev.Time) {
		t.Fatalf("event round trip: %+v, %v", back, err)
	}
	back.Time = ev.Time
	if !reflect.DeepEqual(back, ev) {
		t.Fatalf("event round trip: %+v\nwant %+v", back, ev)
	}
	if j.Time != "2026-01-02T03:04:05.000000006+01:00" {
		t.Errorf("time written as %q", j.Time)
	}
	if b, _ := httpapi.Marshal(httpapi.EventJSON(driver.Event{Source: "s"})); strings.Contains(string(b), "time") {
		t.Errorf("a zero time is written: %s", b)
	}
	if _, err := (&httpapi.Event{Time: "yesterday"}).Driver("entries[3]"); !isField(err, "entries[3].time") {
		t.Errorf("a malformed time: %v", err)
	}
}

func TestPutEventsJSON(t *testing.T) {
	res := []driver.PutEventsResult{{ID: "a"}, {Err: driver.Invalid("entries[1].detail", "must be a JSON object")},
		{Err: driver.TooLarge("entries[2]", "too big")}, {Err: driver.ErrStorage}}
	resp := roundTrip(t, httpapi.PutEventsJSON(res))
	if resp.FailedEntryCount != 3 || resp.Entries[0].ID != "a" || resp.Entries[1].Error.Field != "entries[1].detail" {
		t.Fatalf("answer %+v", resp)
	}
	back, err := resp.Driver(4)
	if err != nil || back[0].ID != "a" || !isField(back[1].Err, "entries[1].detail") || !errors.Is(back[2].Err, driver.ErrTooLarge) ||
		!errors.Is(back[3].Err, driver.ErrStorage) {
		t.Fatalf("back %+v, %v", back, err)
	}
	if _, err := resp.Driver(3); err == nil {
		t.Error("an answer with too many entries is taken")
	}
}

func TestRenumberEntry(t *testing.T) {
	for _, c := range []struct {
		field    string
		from, to int
		want     string
	}{
		{"entries[0]", 0, 3, "entries[3]"},
		{"entries[0].detail", 0, 3, "entries[3].detail"},
		{"entries[2].resources[1]", 2, 7, "entries[7].resources[1]"},
		{"entries[1].time", 1, 1, "entries[1].time"},
		{"entries[10].source", 1, 5, "entries[10].source"}, // not that entry
		{"entries", 0, 5, "entries"},
	} {
		err := httpapi.RenumberEntry(driver.Invalid(c.field, "reason"), c.from, c.to)
		if !isField(err, c.want) || !errors.Is(err, driver.ErrInvalid) {
			t.Errorf("RenumberEntry(%s, %d, %d) = %v; want field %s", c.field, c.from, c.to, err, c.want)
		}
	}
	if err := httpapi.RenumberEntry(driver.TooLarge("entries[0]", "x"), 0, 2); !isField(err, "entries[2]") || !errors.Is(err, driver.ErrTooLarge) {
		t.Errorf("a too-large error renumbered: %v", err)
	}
	if err := httpapi.RenumberEntry(driver.ErrStorage, 0, 2); err != driver.ErrStorage {
		t.Errorf("another error renumbered: %v", err)
	}
	if err := httpapi.RenumberEntry(nil, 0, 2); err != nil {
		t.Errorf("nil renumbered: %v", err)
	}
}

func TestArchiveAndReplayJSON(t *testing.T) {
	ai := driver.ArchiveInfo{Bus: "b", Name: "a", Archive: driver.Archive{Description: "d", Pattern: json.RawMessage(`{"a":["b"]}`), Retention: time.Hour},
		CreatedAt: time.Unix(5, 0).UTC(), Events: 2, Bytes: 30}
	if got, err := roundTrip(t, httpapi.ArchiveInfoJSON(ai)).Info(); err != nil || !reflect.DeepEqual(got, ai) {
		t.Fatalf("archive round trip: %+v, %v", got, err)
	}
	if b, _ := httpapi.Marshal(httpapi.ArchiveJSON(driver.Archive{})); string(b) != `{"retention":"0s"}` {
		t.Errorf("an archive with defaults is written %s", b)
	}
	r := driver.Replay{Bus: "b", Archive: "a", Start: time.Unix(10, 5).UTC(), End: time.Unix(20, 0).UTC(), Rules: []string{"r"}, Description: "d"}
	req := roundTrip(t, httpapi.ReplayRequestJSON("n", r))
	back, err := req.Driver()
	if err != nil || req.Name != "n" || !reflect.DeepEqual(back, r) {
		t.Fatalf("replay request round trip: %+v, %v", back, err)
	}
	if _, err := (&httpapi.ReplayRequest{Start: "2026-01-01T00:00:00Z", End: "soon"}).Driver(); !isField(err, "end") {
		t.Errorf("a malformed end: %v", err)
	}
	info := driver.ReplayInfo{Name: "n", Replay: r, State: driver.ReplayCompleted, Replayed: 3, LastEvent: time.Unix(15, 0).UTC(),
		StartedAt: time.Unix(30, 0).UTC(), EndedAt: time.Unix(31, 0).UTC(), Error: "e"}
	if got := roundTrip(t, httpapi.ReplayInfoJSON(info)).Info(); !reflect.DeepEqual(got, info) {
		t.Fatalf("replay info round trip: %+v", got)
	}
	bi := driver.BusInfo{Name: "b", Attributes: driver.BusAttributes{Description: "d"}, CreatedAt: time.Unix(1, 0).UTC(), Stats: driver.BusStats{Accepted: 1, Rules: 2}}
	if got := roundTrip(t, httpapi.BusInfoJSON(bi)).Info(); !reflect.DeepEqual(got, bi) {
		t.Fatalf("bus info round trip: %+v", got)
	}
}
