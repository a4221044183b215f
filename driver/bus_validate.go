package driver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/courier-io/courier/pattern"
	"github.com/courier-io/courier/schedule"
	"github.com/courier-io/courier/transform"
)

// ValidateBusName checks a bus name: the same rules as queue names.
func ValidateBusName(field, name string) error { return validateName(field, "bus", name) }

// ValidateRuleName checks a rule name: the same rules as queue names.
func ValidateRuleName(field, name string) error { return validateName(field, "rule", name) }

// ValidateArchiveName checks an archive name: the same rules as queue names.
func ValidateArchiveName(field, name string) error { return validateName(field, "archive", name) }

// ValidateReplayName checks a replay name: the same rules as queue names.
func ValidateReplayName(field, name string) error { return validateName(field, "replay", name) }

// ValidateTargetID checks a target ID: 1..64 letters, digits, '-', '_' or
// '.', as EventBridge accepts.
func ValidateTargetID(field, id string) error {
	if len(id) > MaxTargetIDLen {
		return Invalid(field, "target id is %d characters long; the limit is %d", len(id), MaxTargetIDLen)
	}
	return validateName(field, "target id", id)
}

// Limits of bus text fields.
const (
	MaxTargetIDLen    = 64
	MaxDescriptionLen = 512
	MaxResourceLen    = 2048
	MaxEventIDLen     = 128
	MaxAccountLen     = 64
)

// checkText accepts 0..max bytes of UTF-8 without control characters.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return Invalid(field, "is %d bytes; the limit is %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return Invalid(field, "is not valid UTF-8")
	}
	for i, r := range s {
		if r < 0x20 || r == 0x7f {
			return Invalid(field, "has control character %q at byte %d", r, i)
		}
	}
	return nil
}

// Validate checks bus attributes.
func (a BusAttributes) Validate() error {
	return checkText("description", a.Description, MaxDescriptionLen)
}

// Validate checks an event before it is put; field names it in errors
// (e.g. "entries[3]"). Size against MaxEventSize is checked by the backend
// on the envelope it builds.
func (ev *Event) Validate(field string) error {
	if ev.Source == "" {
		return Invalid(field+".source", "required")
	}
	if err := checkText(field+".source", ev.Source, MaxSourceLen); err != nil {
		return err
	}
	if ev.DetailType == "" {
		return Invalid(field+".detail-type", "required")
	}
	if err := checkText(field+".detail-type", ev.DetailType, MaxDetailTypeLen); err != nil {
		return err
	}
	if len(ev.Detail) > MaxEventSize {
		return TooLarge(field+".detail", "is %d bytes; an event is at most %d", len(ev.Detail), MaxEventSize)
	}
	if d := bytes.TrimSpace(ev.Detail); len(d) == 0 || d[0] != '{' || !json.Valid(d) {
		return Invalid(field+".detail", "must be a JSON object")
	}
	if len(ev.Resources) > MaxResources {
		return TooLarge(field+".resources", "%d resources; the limit is %d", len(ev.Resources), MaxResources)
	}
	for i, r := range ev.Resources {
		f := fmt.Sprintf("%s.resources[%d]", field, i)
		if r == "" {
			return Invalid(f, "is empty")
		}
		if err := checkText(f, r, MaxResourceLen); err != nil {
			return err
		}
	}
	if err := checkText(field+".id", ev.ID, MaxEventIDLen); err != nil {
		return err
	}
	if err := checkToken(field+".account", ev.Account, MaxAccountLen); err != nil {
		return err
	}
	if err := checkToken(field+".region", ev.Region, MaxAccountLen); err != nil {
		return err
	}
	if !ev.Time.IsZero() && (ev.Time.Year() < 1970 || ev.Time.Year() > 9999) {
		return Invalid(field+".time", "year %d is out of range 1970..9999", ev.Time.Year())
	}
	if len(ev.Headers) > MaxEventHeaders {
		return TooLarge(field+".headers", "%d headers; an event has at most %d (the bus adds its own to deliveries)", len(ev.Headers), MaxEventHeaders)
	}
	for k := range ev.Headers {
		if strings.HasPrefix(k, ReservedHeaderPrefix) {
			return Invalid(field+".headers", "header %q: names starting with %q are set by the bus", k, ReservedHeaderPrefix)
		}
	}
	m := Message{Headers: ev.Headers}
	return ValidateMessage(field, &m)
}

// Header limits of events.
const (
	// MaxEventHeaders bounds an event's headers, leaving room for the
	// headers the bus adds (dead-letter reasons, bus hops).
	MaxEventHeaders = MaxHeaders - 8
	// ReservedHeaderPrefix starts the names of headers only the bus sets.
	ReservedHeaderPrefix = "courier-"
)

// ValidateEvents checks a PutEvents batch as a whole.
func ValidateEvents(events []Event) error {
	if len(events) == 0 {
		return Invalid("entries", "batch is empty")
	}
	if len(events) > MaxPutEvents {
		return TooLarge("entries", "%d events; the limit is %d", len(events), MaxPutEvents)
	}
	return nil
}

// CompilePattern compiles a rule's or archive's event pattern; empty means
// none (nil).
func CompilePattern(field string, p json.RawMessage) (*pattern.Pattern, error) {
	if len(bytes.TrimSpace(p)) == 0 || string(bytes.TrimSpace(p)) == "null" {
		return nil, nil
	}
	compiled, err := pattern.Compile(p)
	if err != nil {
		return nil, Invalid(field, "%v", err)
	}
	return compiled, nil
}

// Normalize checks a rule and fills in defaults: state enabled, and each
// target's defaults. Patterns and JSON inputs are compacted.
func (r *Rule) Normalize() error {
	if err := checkText("description", r.Description, MaxDescriptionLen); err != nil {
		return err
	}
	switch r.State {
	case "":
		r.State = RuleEnabled
	case RuleEnabled, RuleDisabled:
	default:
		return Invalid("state", "%q; use %q or %q", r.State, RuleEnabled, RuleDisabled)
	}
	hasPattern := len(bytes.TrimSpace(r.Pattern)) > 0 && string(bytes.TrimSpace(r.Pattern)) != "null"
	switch {
	case hasPattern && r.Schedule != "":
		return Invalid("schedule", "a rule has a pattern or a schedule, not both")
	case !hasPattern && r.Schedule == "":
		return Invalid("pattern", "a rule needs a pattern or a schedule")
	case hasPattern:
		if _, err := CompilePattern("pattern", r.Pattern); err != nil {
			return err
		}
		r.Pattern = compactRaw(r.Pattern)
	default:
		r.Pattern = nil
		s, err := schedule.Parse(r.Schedule)
		if err != nil {
			return Invalid("schedule", "%v", err)
		}
		r.Schedule = s.String()
	}
	return NormalizeTargets("targets", r.Targets, MaxTargetsPerRule)
}

// NormalizeTargets checks targets (at most max, IDs unique) and fills in
// their defaults.
func NormalizeTargets(field string, targets []Target, max int) error {
	if len(targets) > max {
		return TooLarge(field, "%d targets; the limit is %d", len(targets), max)
	}
	for i := range targets {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := targets[i].Normalize(f); err != nil {
			return err
		}
		for j := range i {
			if targets[j].ID == targets[i].ID {
				return Invalid(f+".id", "%q is used by %s[%d] too", targets[i].ID, field, j)
			}
		}
	}
	return nil
}

// Normalize checks a target and fills in its defaults; field names it.
func (t *Target) Normalize(field string) error {
	if err := ValidateTargetID(field+".id", t.ID); err != nil {
		return err
	}
	refs := map[TargetKind]bool{
		TargetQueue: t.Queue != "", TargetTopic: t.Topic != "", TargetStream: t.Stream != "",
		TargetBus: t.Bus != "", TargetHTTP: t.HTTP != nil, TargetHandler: false,
	}
	fieldOf := map[TargetKind]string{TargetQueue: "queue", TargetTopic: "topic", TargetStream: "stream", TargetBus: "bus", TargetHTTP: "http"}
	if _, ok := refs[t.Kind]; !ok {
		return Invalid(field+".kind", "%q; use queue, topic, stream, bus, http or handler", t.Kind)
	}
	for k, set := range refs {
		if set && k != t.Kind {
			return Invalid(field+"."+fieldOf[k], "set on a target of kind %q", t.Kind)
		}
	}
	ref := field + "." + fieldOf[t.Kind]
	var err error
	switch t.Kind {
	case TargetQueue:
		err = ValidateQueueName(ref, t.Queue)
	case TargetTopic:
		err = ValidateTopicName(ref, t.Topic)
	case TargetStream:
		err = ValidateStreamName(ref, t.Stream)
	case TargetBus:
		err = ValidateBusName(ref, t.Bus)
	case TargetHTTP:
		if t.HTTP == nil {
			return Invalid(ref, "required for a target of kind http")
		}
		err = t.HTTP.normalize(ref)
	}
	if err != nil {
		return err
	}
	if t.PartitionKeyPath != "" {
		if t.Kind != TargetStream {
			return Invalid(field+".partition_key_path", "applies to stream targets only")
		}
		if _, err := transform.CompilePath(t.PartitionKeyPath); err != nil {
			return Invalid(field+".partition_key_path", "%v", err)
		}
	}
	inputs := 0
	if len(t.Input) > 0 {
		inputs++
		if !json.Valid(t.Input) {
			return Invalid(field+".input", "must be JSON text")
		}
		t.Input = compactRaw(t.Input)
	}
	if t.InputPath != "" {
		inputs++
		if _, err := transform.CompilePath(t.InputPath); err != nil {
			return Invalid(field+".input_path", "%v", err)
		}
	}
	if t.InputTransformer != nil {
		inputs++
		if _, err := transform.Compile(transform.InputTransformer(*t.InputTransformer)); err != nil {
			return Invalid(field+".input_transformer", "%v", err)
		}
	}
	if inputs > 1 {
		return Invalid(field, "set at most one of input, input_path and input_transformer")
	}
	if inputs > 0 && t.CloudEvents {
		return Invalid(field+".cloudevents", "applies only when the whole event is delivered (no input, input_path or input_transformer)")
	}
	if t.Kind == TargetBus && (inputs > 0 || t.CloudEvents) {
		return Invalid(field, "a bus target forwards the event as it is: input, input_path, input_transformer and cloudevents do not apply")
	}
	if t.HTTP != nil {
		switch {
		case t.HTTP.CloudEventsMode == "" && t.CloudEvents:
			t.HTTP.CloudEventsMode = CloudEventsStructured
		case t.HTTP.CloudEventsMode == "":
		case !t.CloudEvents:
			return Invalid(field+".http.cloudevents_mode", "applies only with cloudevents: true")
		case t.HTTP.CloudEventsMode != CloudEventsStructured && t.HTTP.CloudEventsMode != CloudEventsBinary:
			return Invalid(field+".http.cloudevents_mode", "%q; use %q or %q", t.HTTP.CloudEventsMode, CloudEventsStructured, CloudEventsBinary)
		}
	}
	if err := t.Retry.normalize(field + ".retry"); err != nil {
		return err
	}
	if t.DeadLetterQueue != "" {
		if err := ValidateQueueName(field+".dlq", t.DeadLetterQueue); err != nil {
			return err
		}
	}
	switch {
	case t.MaxBacklog == 0:
		t.MaxBacklog = DefaultTargetBacklog
	case t.MaxBacklog < 1 || t.MaxBacklog > MaxTargetBacklog:
		return Invalid(field+".max_backlog", "%d is out of range; accepted is 1 to %d", t.MaxBacklog, MaxTargetBacklog)
	}
	return nil
}

func (h *HTTPTarget) normalize(field string) error {
	if err := validateEndpoint(h.Endpoint); err != nil {
		err.(*ValidationError).Field = field + ".endpoint"
		return err
	}
	if (h.AuthHeader == "") != (h.AuthValue == "") {
		return Invalid(field+".auth_header", "auth_header and auth_value go together")
	}
	if h.AuthHeader != "" && !validToken(h.AuthHeader, MaxHeaderKeyLen) {
		return Invalid(field+".auth_header", "%q is not a header name", h.AuthHeader)
	}
	if err := checkText(field+".auth_value", h.AuthValue, 4096); err != nil {
		return err
	}
	if len(h.Headers) > MaxHeaders {
		return TooLarge(field+".headers", "%d headers; the limit is %d", len(h.Headers), MaxHeaders)
	}
	for k, v := range h.Headers {
		if !validToken(k, MaxHeaderKeyLen) || k == "" {
			return Invalid(field+".headers", "%q is not a header name", k)
		}
		if err := checkText(field+".headers["+k+"]", v, 4096); err != nil {
			return err
		}
	}
	if h.MaxPerSecond < 0 || h.MaxPerSecond > 100000 {
		return Invalid(field+".max_per_second", "%d is out of range; accepted is 0 (unlimited) to 100000", h.MaxPerSecond)
	}
	if h.Timeout == 0 {
		h.Timeout = 15 * time.Second
	}
	return checkRange(field+".timeout", h.Timeout, time.Millisecond, time.Minute)
}

func (p *RetryPolicy) normalize(field string) error {
	d := DefaultRetryPolicy()
	if p.MaxAttempts == 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.MaxAge == 0 {
		p.MaxAge = d.MaxAge
	}
	if p.MinDelay == 0 {
		p.MinDelay = d.MinDelay
		if p.MaxDelay != 0 {
			p.MinDelay = min(p.MinDelay, p.MaxDelay)
		}
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(d.MaxDelay, p.MinDelay)
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > 1000 {
		return Invalid(field+".max_attempts", "%d is out of range; accepted is 1 to 1000", p.MaxAttempts)
	}
	if err := checkRange(field+".max_age", p.MaxAge, time.Minute, 24*time.Hour); err != nil {
		return err
	}
	if err := checkRange(field+".min_delay", p.MinDelay, time.Millisecond, time.Hour); err != nil {
		return err
	}
	return checkRange(field+".max_delay", p.MaxDelay, p.MinDelay, time.Hour)
}

// Normalize checks an archive's settings.
func (a *Archive) Normalize() error {
	if err := checkText("description", a.Description, MaxDescriptionLen); err != nil {
		return err
	}
	p, err := CompilePattern("pattern", a.Pattern)
	if err != nil {
		return err
	}
	if p == nil {
		a.Pattern = nil // absent, empty or null: every event
	} else {
		a.Pattern = compactRaw(a.Pattern)
	}
	return checkRange("retention", a.Retention, 0, MaxArchiveRetention)
}

// Normalize checks a replay request.
func (r *Replay) Normalize() error {
	if err := ValidateBusName("bus", r.Bus); err != nil {
		return err
	}
	if err := ValidateArchiveName("archive", r.Archive); err != nil {
		return err
	}
	if r.Start.IsZero() || r.End.IsZero() {
		return Invalid("start", "start and end are required")
	}
	if !r.Start.Before(r.End) {
		return Invalid("end", "%s is not after start %s", r.End.Format(time.RFC3339Nano), r.Start.Format(time.RFC3339Nano))
	}
	if len(r.Rules) > MaxReplayRules {
		return TooLarge("rules", "%d rules; the limit is %d", len(r.Rules), MaxReplayRules)
	}
	for i, name := range r.Rules {
		if err := ValidateRuleName(fmt.Sprintf("rules[%d]", i), name); err != nil {
			return err
		}
	}
	slices.Sort(r.Rules)
	r.Rules = slices.Compact(r.Rules)
	return checkText("description", r.Description, MaxDescriptionLen)
}

// compactRaw compacts valid JSON; other input is returned as is.
func compactRaw(p json.RawMessage) json.RawMessage {
	if len(p) == 0 {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, p) != nil {
		return p
	}
	return b.Bytes()
}
