package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/courier-io/courier/driver"
)

// The wire form of event buses (docs/http-api.md, Buses). Field names are
// those of package driver; durations are Duration strings; times in
// requests are RFC 3339 strings parsed here, so that an error names the
// field (and, for an event, fails that event alone).

// BusInfo is the answer of GET /v1/buses/{name} and PUT.
type BusInfo struct {
	Name       string               `json:"name"`
	Attributes driver.BusAttributes `json:"attributes"`
	CreatedAt  time.Time            `json:"created_at"`
	Stats      driver.BusStats      `json:"stats"`
}

// BusInfoJSON converts a driver.BusInfo.
func BusInfoJSON(i driver.BusInfo) BusInfo {
	return BusInfo{Name: i.Name, Attributes: i.Attributes, CreatedAt: i.CreatedAt, Stats: i.Stats}
}

// Info converts back.
func (i BusInfo) Info() driver.BusInfo {
	return driver.BusInfo{Name: i.Name, Attributes: i.Attributes, CreatedAt: i.CreatedAt, Stats: i.Stats}
}

// BusList is the answer of GET /v1/buses.
type BusList struct {
	Buses []string `json:"buses"`
}

// parseTime reads an RFC 3339 time ("" is the zero time); field names it
// in the error.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, driver.Invalid(field, "%s is not an RFC 3339 time such as \"2026-01-02T03:04:05Z\"", truncate([]byte(strconv.Quote(s))))
	}
	return t, nil
}

// formatTime writes t in RFC 3339 with nanoseconds ("" for the zero time).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// Event is one entry of POST /v1/buses/{name}/events: the EventBridge
// fields a producer sets. Detail is a JSON object; Time is RFC 3339.
type Event struct {
	ID         string            `json:"id,omitempty"`
	Source     string            `json:"source"`
	DetailType string            `json:"detail-type"`
	Detail     json.RawMessage   `json:"detail"`
	Resources  []string          `json:"resources,omitempty"`
	Time       string            `json:"time,omitempty"`
	Account    string            `json:"account,omitempty"`
	Region     string            `json:"region,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
}

// EventJSON converts a driver.Event. Detail must be valid JSON (the
// caller checks it): encoding fails otherwise.
func EventJSON(ev driver.Event) Event {
	return Event{ID: ev.ID, Source: ev.Source, DetailType: ev.DetailType, Detail: ev.Detail, Resources: ev.Resources,
		Time: formatTime(ev.Time), Account: ev.Account, Region: ev.Region, Headers: ev.Headers}
}

// Driver converts to a driver.Event; field prefixes error fields
// ("entries[3]"). Only the time can fail here: the rest is validated by
// the backend, event by event.
func (ev *Event) Driver(field string) (driver.Event, error) {
	t, err := parseTime(FieldPath(field, "time"), ev.Time)
	out := driver.Event{ID: ev.ID, Source: ev.Source, DetailType: ev.DetailType, Detail: ev.Detail, Resources: ev.Resources,
		Time: t, Account: ev.Account, Region: ev.Region, Headers: ev.Headers}
	return out, err
}

// PutEventsRequest is the body of POST /v1/buses/{name}/events.
type PutEventsRequest struct {
	Entries []Event `json:"entries"`
}

// PutEventsEntry is one entry of a PutEvents answer: the event's ID, or
// why it was refused.
type PutEventsEntry struct {
	ID    string `json:"id,omitempty"`
	Error *Error `json:"error,omitempty"`
}

// PutEventsResponse answers POST /v1/buses/{name}/events and
// .../cloudevents: one entry per event, in order.
type PutEventsResponse struct {
	FailedEntryCount int              `json:"failed_entry_count"`
	Entries          []PutEventsEntry `json:"entries"`
}

// PutEventsJSON converts PutEvents results, errors included.
func PutEventsJSON(res []driver.PutEventsResult) PutEventsResponse {
	out := PutEventsResponse{Entries: make([]PutEventsEntry, len(res))}
	for i, r := range res {
		if r.Err != nil {
			_, e := ErrorOf(r.Err)
			out.Entries[i].Error = &e
			out.FailedEntryCount++
			continue
		}
		out.Entries[i].ID = r.ID
	}
	return out
}

// Driver converts a PutEvents answer back: n is the number of events sent.
func (r PutEventsResponse) Driver(n int) ([]driver.PutEventsResult, error) {
	if len(r.Entries) != n {
		return nil, fmt.Errorf("server answered %d results for %d events", len(r.Entries), n)
	}
	out := make([]driver.PutEventsResult, n)
	for i, e := range r.Entries {
		out[i].ID = e.ID
		if e.Error != nil {
			out[i] = driver.PutEventsResult{Err: e.Error.Err()}
		}
	}
	return out, nil
}

// RenumberEntry rewrites the field of a per-entry error from "entries[from]"
// to "entries[to]", for a batch that was sent without some of its entries.
// Other errors are returned as they are.
func RenumberEntry(err error, from, to int) error {
	var ve *driver.ValidationError
	if from == to || !errors.As(err, &ve) {
		return err
	}
	old := "entries[" + strconv.Itoa(from) + "]"
	rest, ok := strings.CutPrefix(ve.Field, old)
	if !ok || rest != "" && rest[0] != '.' && rest[0] != '[' {
		return err
	}
	out := *ve
	out.Field = "entries[" + strconv.Itoa(to) + "]" + rest
	return &out
}

// InputTransformer is the JSON form of driver.InputTransformer.
type InputTransformer struct {
	InputPaths map[string]string `json:"input_paths,omitempty"`
	Template   string            `json:"template"`
}

// HTTPTarget is the JSON form of driver.HTTPTarget. In answers auth_value
// is "****".
type HTTPTarget struct {
	Endpoint     string            `json:"endpoint"`
	AuthHeader   string            `json:"auth_header,omitempty"`
	AuthValue    string            `json:"auth_value,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	MaxPerSecond int               `json:"max_per_second,omitempty"`
	Timeout      Duration          `json:"timeout,omitempty"`
	// CloudEventsMode is "structured" or "binary" (with cloudevents: true).
	CloudEventsMode string `json:"cloudevents_mode,omitempty"`
}

// RetryPolicy is the JSON form of driver.RetryPolicy; absent fields take
// their defaults.
type RetryPolicy struct {
	MaxAttempts int      `json:"max_attempts,omitempty"`
	MaxAge      Duration `json:"max_age,omitempty"`
	MinDelay    Duration `json:"min_delay,omitempty"`
	MaxDelay    Duration `json:"max_delay,omitempty"`
}

// Target is the JSON form of driver.Target. Input is any JSON value.
type Target struct {
	ID               string            `json:"id"`
	Kind             string            `json:"kind"`
	Queue            string            `json:"queue,omitempty"`
	Topic            string            `json:"topic,omitempty"`
	Stream           string            `json:"stream,omitempty"`
	Bus              string            `json:"bus,omitempty"`
	HTTP             *HTTPTarget       `json:"http,omitempty"`
	PartitionKeyPath string            `json:"partition_key_path,omitempty"`
	Input            json.RawMessage   `json:"input,omitempty"`
	InputPath        string            `json:"input_path,omitempty"`
	InputTransformer *InputTransformer `json:"input_transformer,omitempty"`
	CloudEvents      bool              `json:"cloudevents,omitempty"`
	Retry            *RetryPolicy      `json:"retry,omitempty"`
	DeadLetterQueue  string            `json:"dlq,omitempty"`
	MaxBacklog       int               `json:"max_backlog,omitempty"`
}

// TargetJSON converts a driver.Target.
func TargetJSON(t driver.Target) Target {
	out := Target{ID: t.ID, Kind: string(t.Kind), Queue: t.Queue, Topic: t.Topic, Stream: t.Stream, Bus: t.Bus,
		PartitionKeyPath: t.PartitionKeyPath, Input: t.Input, InputPath: t.InputPath, CloudEvents: t.CloudEvents,
		DeadLetterQueue: t.DeadLetterQueue, MaxBacklog: t.MaxBacklog}
	if h := t.HTTP; h != nil {
		out.HTTP = &HTTPTarget{Endpoint: h.Endpoint, AuthHeader: h.AuthHeader, AuthValue: h.AuthValue, Headers: h.Headers,
			MaxPerSecond: h.MaxPerSecond, Timeout: Duration(h.Timeout), CloudEventsMode: h.CloudEventsMode}
	}
	if it := t.InputTransformer; it != nil {
		out.InputTransformer = &InputTransformer{InputPaths: it.InputPaths, Template: it.Template}
	}
	if r := t.Retry; r != (driver.RetryPolicy{}) {
		out.Retry = &RetryPolicy{MaxAttempts: r.MaxAttempts, MaxAge: Duration(r.MaxAge), MinDelay: Duration(r.MinDelay), MaxDelay: Duration(r.MaxDelay)}
	}
	return out
}

// Driver converts to a driver.Target (not yet normalized).
func (t *Target) Driver() driver.Target {
	out := driver.Target{ID: t.ID, Kind: driver.TargetKind(t.Kind), Queue: t.Queue, Topic: t.Topic, Stream: t.Stream, Bus: t.Bus,
		PartitionKeyPath: t.PartitionKeyPath, Input: t.Input, InputPath: t.InputPath, CloudEvents: t.CloudEvents,
		DeadLetterQueue: t.DeadLetterQueue, MaxBacklog: t.MaxBacklog}
	if h := t.HTTP; h != nil {
		out.HTTP = &driver.HTTPTarget{Endpoint: h.Endpoint, AuthHeader: h.AuthHeader, AuthValue: h.AuthValue, Headers: h.Headers,
			MaxPerSecond: h.MaxPerSecond, Timeout: time.Duration(h.Timeout), CloudEventsMode: h.CloudEventsMode}
	}
	if it := t.InputTransformer; it != nil {
		out.InputTransformer = &driver.InputTransformer{InputPaths: it.InputPaths, Template: it.Template}
	}
	if r := t.Retry; r != nil {
		out.Retry = driver.RetryPolicy{MaxAttempts: r.MaxAttempts, MaxAge: time.Duration(r.MaxAge), MinDelay: time.Duration(r.MinDelay), MaxDelay: time.Duration(r.MaxDelay)}
	}
	return out
}

// TargetsJSON converts targets; none is nil.
func TargetsJSON(ts []driver.Target) []Target {
	if len(ts) == 0 {
		return nil
	}
	out := make([]Target, len(ts))
	for i, t := range ts {
		out[i] = TargetJSON(t)
	}
	return out
}

// TargetsDriver converts targets back; none is nil.
func TargetsDriver(ts []Target) []driver.Target {
	if len(ts) == 0 {
		return nil
	}
	out := make([]driver.Target, len(ts))
	for i := range ts {
		out[i] = ts[i].Driver()
	}
	return out
}

// Rule is the body of PUT /v1/buses/{name}/rules/{rule}. Pattern is a
// JSON object (the event pattern itself, not a string holding it).
type Rule struct {
	Description string          `json:"description,omitempty"`
	Pattern     json.RawMessage `json:"pattern,omitempty"`
	Schedule    string          `json:"schedule,omitempty"`
	State       string          `json:"state,omitempty"`
	Targets     []Target        `json:"targets,omitempty"`
}

// RuleJSON converts a driver.Rule.
func RuleJSON(r driver.Rule) Rule {
	return Rule{Description: r.Description, Pattern: r.Pattern, Schedule: r.Schedule, State: string(r.State), Targets: TargetsJSON(r.Targets)}
}

// objectOrNone checks that p, when set, is a JSON object; it returns nil
// for an absent pattern or null.
func objectOrNone(field string, p json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(p)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	if t[0] != '{' {
		return nil, driver.Invalid(field, "must be a JSON object (the pattern itself, not a string holding it)")
	}
	return p, nil
}

// Driver converts to a driver.Rule (not yet normalized).
func (r *Rule) Driver() (driver.Rule, error) {
	p, err := objectOrNone("pattern", r.Pattern)
	return driver.Rule{Description: r.Description, Pattern: p, Schedule: r.Schedule, State: driver.RuleState(r.State),
		Targets: TargetsDriver(r.Targets)}, err
}

// TargetsRequest is the body of PUT /v1/buses/{name}/rules/{rule}/targets.
type TargetsRequest struct {
	Targets []Target `json:"targets"`
}

// TargetStats is the JSON form of driver.TargetStats.
type TargetStats struct {
	ID           string     `json:"id"`
	Delivered    int64      `json:"delivered"`
	Retried      int64      `json:"retried"`
	Failed       int64      `json:"failed"`
	DeadLettered int64      `json:"dead_lettered"`
	Overflowed   int64      `json:"overflowed"`
	Backlog      QueueStats `json:"backlog"`
}

// RuleStats is the JSON form of driver.RuleStats.
type RuleStats struct {
	Matched int64         `json:"matched"`
	Targets []TargetStats `json:"targets"`
}

// RuleInfo is the answer of the rule endpoints: the rule as stored
// (defaults applied, auth values masked) with its stats.
type RuleInfo struct {
	Bus  string `json:"bus"`
	Name string `json:"name"`
	Rule
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	NextFire  time.Time `json:"next_fire,omitzero"`
	Stats     RuleStats `json:"stats"`
}

// RuleInfoJSON converts a driver.RuleInfo.
func RuleInfoJSON(i driver.RuleInfo) RuleInfo {
	out := RuleInfo{Bus: i.Bus, Name: i.Name, Rule: RuleJSON(i.Rule), CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt, NextFire: i.NextFire,
		Stats: RuleStats{Matched: i.Stats.Matched, Targets: make([]TargetStats, len(i.Stats.Targets))}}
	for j, t := range i.Stats.Targets {
		out.Stats.Targets[j] = TargetStats{ID: t.ID, Delivered: t.Delivered, Retried: t.Retried, Failed: t.Failed,
			DeadLettered: t.DeadLettered, Overflowed: t.Overflowed, Backlog: statsJSON(t.Backlog)}
	}
	return out
}

// Info converts back to a driver.RuleInfo.
func (i RuleInfo) Info() (driver.RuleInfo, error) {
	r, err := i.Rule.Driver()
	if err != nil {
		return driver.RuleInfo{}, err
	}
	out := driver.RuleInfo{Bus: i.Bus, Name: i.Name, Rule: r, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt, NextFire: i.NextFire,
		Stats: driver.RuleStats{Matched: i.Stats.Matched, Targets: make([]driver.TargetStats, len(i.Stats.Targets))}}
	for j, t := range i.Stats.Targets {
		out.Stats.Targets[j] = driver.TargetStats{ID: t.ID, Delivered: t.Delivered, Retried: t.Retried, Failed: t.Failed,
			DeadLettered: t.DeadLettered, Overflowed: t.Overflowed, Backlog: t.Backlog.driver()}
	}
	return out, nil
}

// RuleList is the answer of GET /v1/buses/{name}/rules.
type RuleList struct {
	Rules []RuleInfo `json:"rules"`
}

// SettleTargetRequest is the body of POST .../targets/{id}/settle: an
// empty failure acks the delivery; otherwise it is the reason it failed.
type SettleTargetRequest struct {
	Receipt string `json:"receipt"`
	Failure string `json:"failure,omitempty"`
}

// TestPatternRequest is the body of POST /v1/buses/{name}/test-pattern:
// an event pattern and an event envelope, both JSON objects.
type TestPatternRequest struct {
	Pattern json.RawMessage `json:"pattern"`
	Event   json.RawMessage `json:"event"`
}

// TestPatternResponse answers a pattern test.
type TestPatternResponse struct {
	Match bool `json:"match"`
}

// Archive is the body of PUT /v1/buses/{name}/archives/{archive}.
// Retention "0s" (or absent) keeps events forever.
type Archive struct {
	Description string          `json:"description,omitempty"`
	Pattern     json.RawMessage `json:"pattern,omitempty"`
	Retention   Duration        `json:"retention"`
}

// ArchiveJSON converts a driver.Archive.
func ArchiveJSON(a driver.Archive) Archive {
	return Archive{Description: a.Description, Pattern: a.Pattern, Retention: Duration(a.Retention)}
}

// Driver converts to a driver.Archive (not yet normalized).
func (a *Archive) Driver() (driver.Archive, error) {
	p, err := objectOrNone("pattern", a.Pattern)
	return driver.Archive{Description: a.Description, Pattern: p, Retention: time.Duration(a.Retention)}, err
}

// ArchiveInfo is the answer of the archive endpoints.
type ArchiveInfo struct {
	Bus  string `json:"bus"`
	Name string `json:"name"`
	Archive
	CreatedAt time.Time `json:"created_at"`
	Events    int64     `json:"events"`
	Bytes     int64     `json:"bytes"`
}

// ArchiveInfoJSON converts a driver.ArchiveInfo.
func ArchiveInfoJSON(i driver.ArchiveInfo) ArchiveInfo {
	return ArchiveInfo{Bus: i.Bus, Name: i.Name, Archive: ArchiveJSON(i.Archive), CreatedAt: i.CreatedAt, Events: i.Events, Bytes: i.Bytes}
}

// Info converts back to a driver.ArchiveInfo.
func (i ArchiveInfo) Info() (driver.ArchiveInfo, error) {
	a, err := i.Archive.Driver()
	return driver.ArchiveInfo{Bus: i.Bus, Name: i.Name, Archive: a, CreatedAt: i.CreatedAt, Events: i.Events, Bytes: i.Bytes}, err
}

// ArchiveList is the answer of GET /v1/buses/{name}/archives.
type ArchiveList struct {
	Archives []ArchiveInfo `json:"archives"`
}

// ReplayRequest is the body of POST /v1/replays. Start and end are RFC
// 3339 times.
type ReplayRequest struct {
	Name        string   `json:"name"`
	Bus         string   `json:"bus"`
	Archive     string   `json:"archive"`
	Start       string   `json:"start"`
	End         string   `json:"end"`
	Rules       []string `json:"rules,omitempty"`
	Description string   `json:"description,omitempty"`
}

// ReplayRequestJSON converts a replay request.
func ReplayRequestJSON(name string, r driver.Replay) ReplayRequest {
	return ReplayRequest{Name: name, Bus: r.Bus, Archive: r.Archive, Start: formatTime(r.Start), End: formatTime(r.End),
		Rules: r.Rules, Description: r.Description}
}

// Driver converts to a driver.Replay (not yet normalized); a missing time
// is left zero for Normalize to refuse.
func (r *ReplayRequest) Driver() (driver.Replay, error) {
	out := driver.Replay{Bus: r.Bus, Archive: r.Archive, Rules: r.Rules, Description: r.Description}
	var err error
	if out.Start, err = parseTime("start", r.Start); err != nil {
		return out, err
	}
	out.End, err = parseTime("end", r.End)
	return out, err
}

// ReplayInfo is the answer of the replay endpoints.
type ReplayInfo struct {
	Name        string    `json:"name"`
	Bus         string    `json:"bus"`
	Archive     string    `json:"archive"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Rules       []string  `json:"rules,omitempty"`
	Description string    `json:"description,omitempty"`
	State       string    `json:"state"`
	Replayed    int64     `json:"replayed"`
	LastEvent   time.Time `json:"last_event,omitzero"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at,omitzero"`
	Error       string    `json:"error,omitempty"`
}

// ReplayInfoJSON converts a driver.ReplayInfo.
func ReplayInfoJSON(i driver.ReplayInfo) ReplayInfo {
	return ReplayInfo{Name: i.Name, Bus: i.Bus, Archive: i.Archive, Start: i.Start, End: i.End, Rules: i.Rules, Description: i.Description,
		State: string(i.State), Replayed: i.Replayed, LastEvent: i.LastEvent, StartedAt: i.StartedAt, EndedAt: i.EndedAt, Error: i.Error}
}

// Info converts back to a driver.ReplayInfo.
func (i ReplayInfo) Info() driver.ReplayInfo {
	return driver.ReplayInfo{Name: i.Name, Replay: driver.Replay{Bus: i.Bus, Archive: i.Archive, Start: i.Start, End: i.End, Rules: i.Rules, Description: i.Description},
		State: driver.ReplayState(i.State), Replayed: i.Replayed, LastEvent: i.LastEvent, StartedAt: i.StartedAt, EndedAt: i.EndedAt, Error: i.Error}
}

// ReplayList is the answer of GET /v1/replays.
type ReplayList struct {
	Replays []ReplayInfo `json:"replays"`
}
