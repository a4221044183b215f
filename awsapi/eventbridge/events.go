package eventbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/pattern"
)

// Limits of PutEvents, as EventBridge's.
const (
	maxPutEntries     = 10
	maxPutEventsBytes = 256 << 10
	maxTraceHeaderLen = 500
	// entryTimeSize is what a Time counts toward the request size.
	entryTimeSize = 14
)

// traceHeader is the event header a PutEvents TraceHeader (an X-Ray
// trace header) travels in to every target.
const traceHeader = "X-Amzn-Trace-Id"

// putEventsEntry is a PutEventsRequestEntry.
type putEventsEntry struct {
	Source       *string    `json:"Source"`
	DetailType   *string    `json:"DetailType"`
	Detail       *string    `json:"Detail"`
	Resources    []string   `json:"Resources"`
	Time         *epochTime `json:"Time"`
	EventBusName *string    `json:"EventBusName"`
	TraceHeader  *string    `json:"TraceHeader"`
}

// size is what the entry counts toward the 256 KB of a request, as
// EventBridge computes it.
func (e *putEventsEntry) size() int {
	n := len(str(e.Source)) + len(str(e.DetailType)) + len(str(e.Detail))
	if e.Time != nil {
		n += entryTimeSize
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// putEventsInput is PutEvents' request.
type putEventsInput struct {
	Entries    []putEventsEntry  `json:"Entries"`
	EndpointID *unsupportedParam `json:"EndpointId"`
}

// putEventsResult is a PutEventsResultEntry.
type putEventsResult struct {
	EventID      *string `json:"EventId,omitempty"`
	ErrorCode    *string `json:"ErrorCode,omitempty"`
	ErrorMessage *string `json:"ErrorMessage,omitempty"`
}

// fail sets the result's error.
func (r *putEventsResult) fail(code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.ErrorCode, r.ErrorMessage = &code, &msg
}

// entryEvent checks one entry as EventBridge does and returns its event;
// a refusal is a per-entry error code and message.
func (s *Service) entryEvent(e *putEventsEntry) (courier.Event, string, string) {
	var missing []string
	if str(e.Source) == "" {
		missing = append(missing, "Source")
	}
	if str(e.DetailType) == "" {
		missing = append(missing, "DetailType")
	}
	if e.Detail == nil || *e.Detail == "" {
		missing = append(missing, "Detail")
	}
	if len(missing) > 0 {
		return courier.Event{}, "InvalidArgument", fmt.Sprintf("Parameter(s) %v not specified.", strings.Join(missing, ","))
	}
	if d := bytes.TrimSpace([]byte(*e.Detail)); len(d) == 0 || d[0] != '{' || !json.Valid(d) {
		return courier.Event{}, "MalformedDetail", "Detail is malformed: it must be a JSON object."
	}
	if e.TraceHeader != nil && len(*e.TraceHeader) > maxTraceHeaderLen {
		return courier.Event{}, "InvalidArgument", fmt.Sprintf("Parameter TraceHeader is not valid. Reason: it has %d characters; the limit is %d.", len(*e.TraceHeader), maxTraceHeaderLen)
	}
	ev := courier.Event{
		Source: *e.Source, DetailType: *e.DetailType, Detail: json.RawMessage(*e.Detail), Resources: e.Resources,
		Account: s.env.AccountID, Region: s.env.Region,
	}
	if e.Time != nil {
		ev.Time = e.Time.Time.Truncate(time.Second)
	}
	if str(e.TraceHeader) != "" {
		ev.Headers = map[string]string{traceHeader: *e.TraceHeader}
	}
	return ev, "", ""
}

func (s *Service) putEvents(ctx context.Context, body []byte) (any, error) {
	var in putEventsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.EndpointID != nil && in.EndpointID.set {
		return nil, validationf("parameter EndpointId is not supported: global endpoints are not supported by courier")
	}
	if len(in.Entries) == 0 || len(in.Entries) > maxPutEntries {
		return nil, validationf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and %d (it has %d)", maxPutEntries, len(in.Entries))
	}
	total := 0
	for i := range in.Entries {
		total += in.Entries[i].size()
	}
	if total > maxPutEventsBytes {
		return nil, validationf("Total size of the entries in the request is over the limit: %d bytes; the limit is %d", total, maxPutEventsBytes)
	}
	results := make([]putEventsResult, len(in.Entries))
	buses := make([]string, len(in.Entries))
	var order []string // distinct buses, in order of first use
	for i := range in.Entries {
		bus, err := s.busName("EventBusName", str(in.Entries[i].EventBusName))
		if err != nil {
			results[i].fail("InvalidArgument", "%s", awsapi.AsError(err).Message)
			continue
		}
		buses[i] = bus
		if !slices.Contains(order, bus) {
			order = append(order, bus)
		}
	}
	for _, bus := range order {
		if err := s.env.Authorize(ctx, awsapi.Publish, "bus", bus); err != nil {
			return nil, err
		}
	}
	for _, bus := range order {
		var idx []int
		var events []courier.Event
		for i := range in.Entries {
			if buses[i] != bus {
				continue
			}
			ev, code, msg := s.entryEvent(&in.Entries[i])
			if code != "" {
				results[i].fail(code, "%s", msg)
				continue
			}
			idx = append(idx, i)
			events = append(events, ev)
		}
		if len(events) == 0 {
			continue
		}
		res, err := s.env.Broker.Bus(bus).PutEvents(ctx, events...)
		switch {
		case errors.Is(err, courier.ErrNotFound):
			for _, i := range idx {
				results[i].fail("ResourceNotFoundException", "Event bus %s does not exist.", bus)
			}
			continue
		case err != nil:
			return nil, err
		}
		for j, i := range idx {
			if res[j].Err != nil {
				code := "InvalidArgument"
				if !errors.Is(res[j].Err, courier.ErrInvalid) && !errors.Is(res[j].Err, courier.ErrTooLarge) {
					code = "InternalFailure"
				}
				results[i].fail(code, "%v", res[j].Err)
				continue
			}
			results[i].EventID = &res[j].ID
		}
	}
	failed := 0
	for _, r := range results {
		if r.ErrorCode != nil {
			failed++
		}
	}
	return struct {
		Entries          []putEventsResult `json:"Entries"`
		FailedEntryCount int               `json:"FailedEntryCount"`
	}{results, failed}, nil
}

// maxPatternLen bounds an event pattern, as EventBridge does.
const maxPatternLen = 4096

// compilePattern checks an event pattern as PutRule, CreateArchive and
// TestEventPattern do.
func compilePattern(p string) (*pattern.Pattern, error) {
	if len(p) > maxPatternLen {
		return nil, validationf("1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to %d (it has %d)", maxPatternLen, len(p))
	}
	compiled, err := pattern.Compile([]byte(p))
	if err != nil {
		return nil, patternf("Event pattern is not valid. Reason: %v", err)
	}
	return compiled, nil
}

// testEvent is the envelope TestEventPattern requires.
type testEvent struct {
	ID         *string         `json:"id"`
	Account    *string         `json:"account"`
	Source     *string         `json:"source"`
	Time       *string         `json:"time"`
	Region     *string         `json:"region"`
	Resources  []string        `json:"resources"`
	DetailType *string         `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

func (s *Service) testEventPattern(ctx context.Context, body []byte) (any, error) {
	var in struct {
		EventPattern *string `json:"EventPattern"`
		Event        *string `json:"Event"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.EventPattern == nil || in.Event == nil {
		return nil, validationf("1 validation error detected: EventPattern and Event are required")
	}
	p, err := compilePattern(*in.EventPattern)
	if err != nil {
		return nil, err
	}
	if len(*in.Event) > maxPutEventsBytes {
		return nil, validationf("Parameter Event is not valid. Reason: it is %d bytes; the limit is %d.", len(*in.Event), maxPutEventsBytes)
	}
	var ev testEvent
	if err := json.Unmarshal([]byte(*in.Event), &ev); err != nil {
		return nil, validationf("Parameter Event is not valid. Reason: it is not a JSON object of an event envelope: %v", err)
	}
	var missing []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"id", ev.ID}, {"account", ev.Account}, {"source", ev.Source}, {"time", ev.Time}, {"region", ev.Region}, {"detail-type", ev.DetailType}} {
		if f.v == nil {
			missing = append(missing, f.name)
		}
	}
	if ev.Resources == nil {
		missing = append(missing, "resources")
	}
	if len(missing) > 0 {
		return nil, validationf("Parameter Event is not valid. Reason: the event needs the fields id, account, source, time, region, resources and detail-type; missing: %s.", strings.Join(missing, ","))
	}
	if _, err := time.Parse(time.RFC3339, *ev.Time); err != nil {
		return nil, validationf("Parameter Event is not valid. Reason: time %q is not an RFC 3339 timestamp.", awsapi.Truncate(*ev.Time, 64))
	}
	if *ev.Account != s.env.AccountID {
		return nil, validationf("Parameter Event is not valid. Reason: Provided account value must match the AWS account of the request (%s).", s.env.AccountID)
	}
	ok, err := p.Match([]byte(*in.Event))
	if err != nil {
		return nil, validationf("Parameter Event is not valid. Reason: %v", err)
	}
	return struct {
		Result bool `json:"Result"`
	}{ok}, nil
}
