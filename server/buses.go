package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/cloudevent"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// busRoutes registers the event bus endpoints (docs/http-api.md, Buses).
func (s *Server) busRoutes() {
	s.mux.HandleFunc("GET /v1/buses", s.listBuses)
	s.mux.HandleFunc("PUT /v1/buses/{name}", s.createBus)
	s.mux.HandleFunc("GET /v1/buses/{name}", s.busInfo)
	s.mux.HandleFunc("DELETE /v1/buses/{name}", s.deleteBus)
	s.mux.HandleFunc("POST /v1/buses/{name}/events", s.putEvents)
	s.mux.HandleFunc("POST /v1/buses/{name}/cloudevents", s.putCloudEvents)
	s.mux.HandleFunc("POST /v1/buses/{name}/test-pattern", s.testPattern)
	s.mux.HandleFunc("GET /v1/buses/{name}/rules", s.listRules)
	s.mux.HandleFunc("PUT /v1/buses/{name}/rules/{rule}", s.putRule)
	s.mux.HandleFunc("GET /v1/buses/{name}/rules/{rule}", s.ruleInfo)
	s.mux.HandleFunc("DELETE /v1/buses/{name}/rules/{rule}", s.deleteRule)
	s.mux.HandleFunc("PUT /v1/buses/{name}/rules/{rule}/targets", s.putTargets)
	s.mux.HandleFunc("DELETE /v1/buses/{name}/rules/{rule}/targets", s.removeTargets)
	s.mux.HandleFunc("DELETE /v1/buses/{name}/rules/{rule}/targets/{id}", s.removeTargets)
	s.mux.HandleFunc("POST /v1/buses/{name}/rules/{rule}/targets/{id}/receive", s.receiveTarget)
	s.mux.HandleFunc("POST /v1/buses/{name}/rules/{rule}/targets/{id}/settle", s.settleTarget)
	s.mux.HandleFunc("GET /v1/buses/{name}/archives", s.listArchives)
	s.mux.HandleFunc("PUT /v1/buses/{name}/archives/{archive}", s.createArchive)
	s.mux.HandleFunc("GET /v1/buses/{name}/archives/{archive}", s.archiveInfo)
	s.mux.HandleFunc("DELETE /v1/buses/{name}/archives/{archive}", s.deleteArchive)
	s.mux.HandleFunc("GET /v1/replays", s.listReplays)
	s.mux.HandleFunc("POST /v1/replays", s.startReplay)
	s.mux.HandleFunc("GET /v1/replays/{name}", s.replayInfo)
	s.mux.HandleFunc("POST /v1/replays/{name}/cancel", s.cancelReplay)
}

// busNamed returns the request's bus handle; on a bad name it answers the
// error and reports false.
func (s *Server) busNamed(w http.ResponseWriter, r *http.Request) (*courier.Bus, bool) {
	name := r.PathValue("name")
	if err := driver.ValidateBusName("name", name); err != nil {
		writeAPIError(w, err)
		return nil, false
	}
	return s.b.Bus(name), true
}

// pathName returns the path value key checked by validate (which names
// key in its error); on a bad one it answers the error and reports false.
func pathName(w http.ResponseWriter, r *http.Request, key string, validate func(field, name string) error) (string, bool) {
	v := r.PathValue(key)
	if err := validate(key, v); err != nil {
		writeAPIError(w, err)
		return "", false
	}
	return v, true
}

// ruleNamed returns the request's bus and rule name.
func (s *Server) ruleNamed(w http.ResponseWriter, r *http.Request) (*courier.Bus, string, bool) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return nil, "", false
	}
	rule, ok := pathName(w, r, "rule", driver.ValidateRuleName)
	return bus, rule, ok
}

// archiveNamed returns the request's bus and archive name.
func (s *Server) archiveNamed(w http.ResponseWriter, r *http.Request) (*courier.Bus, string, bool) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return nil, "", false
	}
	archive, ok := pathName(w, r, "archive", driver.ValidateArchiveName)
	return bus, archive, ok
}

// decodeBody reads the request body and decodes it with decode; on bad
// input it answers the error and reports false.
func decodeBody[T any](w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error)) (T, bool) {
	data, err := readBody(r, w)
	var v T
	if err == nil {
		v, err = decode(data)
	}
	if err != nil {
		writeAPIError(w, err)
		return v, false
	}
	return v, true
}

func (s *Server) listBuses(w http.ResponseWriter, r *http.Request) {
	names, err := s.b.ListBuses(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, httpapi.BusList{Buses: names})
}

// DecodeBusAttributes decodes the optional body of PUT /v1/buses/{name}.
func DecodeBusAttributes(data []byte) (driver.BusAttributes, error) {
	var a driver.BusAttributes
	if err := DecodeJSON(data, &a, true); err != nil {
		return a, err
	}
	return a, a.Validate()
}

// createBus creates a bus: 201 when created, 200 when it existed with an
// equal description, 409 when it exists with another.
func (s *Server) createBus(w http.ResponseWriter, r *http.Request) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return
	}
	attrs, ok := decodeBody(w, r, DecodeBusAttributes)
	if !ok {
		return
	}
	_, err := bus.Info(r.Context())
	existed := err == nil
	if _, err := s.b.CreateBus(r.Context(), bus.Name(), attrs); err != nil {
		writeAPIError(w, err)
		return
	}
	info, err := bus.Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, httpapi.BusInfoJSON(info))
}

func (s *Server) busInfo(w http.ResponseWriter, r *http.Request) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return
	}
	info, err := bus.Info(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.BusInfoJSON(info))
}

func (s *Server) deleteBus(w http.ResponseWriter, r *http.Request) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return
	}
	if err := bus.Delete(r.Context()); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DecodePutEvents decodes the body of POST /v1/buses/{name}/events. It
// returns the events and, per event, the error that refuses it already
// (a malformed time; nil for the others): such an event fails alone, as
// the backend's refusals do. An empty batch or one over
// driver.MaxPutEvents fails as a whole.
func DecodePutEvents(data []byte) ([]driver.Event, []error, error) {
	var req httpapi.PutEventsRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return nil, nil, err
	}
	if err := checkBatch(len(req.Entries)); err != nil {
		return nil, nil, err
	}
	events := make([]driver.Event, len(req.Entries))
	errs := make([]error, len(req.Entries))
	for i := range req.Entries {
		events[i], errs[i] = req.Entries[i].Driver(fmt.Sprintf("entries[%d]", i))
		if d := bytes.TrimSpace(events[i].Detail); bytes.Equal(d, []byte("null")) {
			events[i].Detail = nil // as absent: refused by the backend either way
		}
	}
	return events, errs, nil
}

// checkBatch checks the size of a PutEvents batch, before its events are
// converted.
func checkBatch(n int) error {
	switch {
	case n == 0:
		return driver.Invalid("entries", "must be a non-empty array of events")
	case n > driver.MaxPutEvents:
		return driver.TooLarge("entries", "batch has %d events; the limit is %d", n, driver.MaxPutEvents)
	}
	return nil
}

// putBatch puts the events that decoded (errs[i] == nil) and answers one
// entry per event, in order. The backend names a refused event by its
// place in the batch it got; the answer names it by its place in the
// request.
func putBatch(ctx context.Context, w http.ResponseWriter, bus *courier.Bus, events []driver.Event, errs []error) {
	send := make([]driver.Event, 0, len(events))
	at := make([]int, 0, len(events))
	for i, err := range errs {
		if err == nil {
			send = append(send, events[i])
			at = append(at, i)
		}
	}
	res := make([]driver.PutEventsResult, len(events))
	for i, err := range errs {
		res[i].Err = err
	}
	if len(send) > 0 {
		got, err := bus.PutEvents(ctx, send...)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		if len(got) != len(send) {
			writeError(w, fmt.Errorf("the backend answered %d results for %d events", len(got), len(send)))
			return
		}
		for j, g := range got {
			res[at[j]] = driver.PutEventsResult{ID: g.ID, Err: httpapi.RenumberEntry(g.Err, j, at[j])}
		}
	} else if _, err := bus.Info(ctx); err != nil {
		writeAPIError(w, err) // every event failed here; still, a missing bus is a 404
		return
	}
	writeJSON(w, http.StatusOK, httpapi.PutEventsJSON(res))
}

// putEvents stores a batch of events; it answers once the accepted ones
// are durable, with one entry per event.
func (s *Server) putEvents(w http.ResponseWriter, r *http.Request) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return
	}
	data, err := readBody(r, w)
	var events []driver.Event
	var errs []error
	if err == nil {
		events, errs, err = DecodePutEvents(data)
	}
	if err == nil {
		err = s.checkEvents(events)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	putBatch(r.Context(), w, bus, events, errs)
}

// DecodeCloudEvents decodes CloudEvents sent over HTTP in structured,
// batched or binary mode (by the Content-Type and ce-* headers of h) and
// maps each with EventFromCloudEvent. Like DecodePutEvents it returns the
// events and, per event, the error that refuses it already.
func DecodeCloudEvents(h http.Header, body []byte) ([]driver.Event, []error, error) {
	ces, err := cloudevent.ParseHTTP(h, body)
	if err != nil {
		return nil, nil, cloudEventError(err)
	}
	if err := checkBatch(len(ces)); err != nil {
		return nil, nil, err
	}
	events := make([]driver.Event, len(ces))
	errs := make([]error, len(ces))
	for i, ce := range ces {
		if events[i], errs[i] = EventFromCloudEvent(ce); errs[i] != nil {
			errs[i] = prefixField(fmt.Sprintf("entries[%d]", i), errs[i])
		}
	}
	return events, errs, nil
}

// cloudEventError turns an error of cloudevent.ParseHTTP into a
// *driver.ValidationError: its field is the attribute at fault, prefixed
// with "entries[i]" in a batch ("entries[2].specversion"), or
// "Content-Type" for a request that is not CloudEvents of the JSON format,
// or "body".
func cloudEventError(err error) error {
	var ce *cloudevent.Error
	if !errors.As(err, &ce) {
		return driver.Invalid("body", "%v", err)
	}
	field := ce.Attribute
	if ce.Index >= 0 {
		field = httpapi.FieldPath(fmt.Sprintf("entries[%d]", ce.Index), field)
	}
	switch {
	case errors.Is(err, cloudevent.ErrNotCloudEvent), errors.Is(err, cloudevent.ErrUnsupportedFormat):
		field = "Content-Type"
	case field == "":
		field = "body"
	}
	if errors.Is(err, cloudevent.ErrTooLarge) {
		return driver.TooLarge(field, "%s", ce.Error())
	}
	return driver.Invalid(field, "%s", ce.Error())
}

// prefixField puts prefix before the field of a validation error.
func prefixField(prefix string, err error) error {
	var ve *driver.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := *ve
	out.Field = httpapi.FieldPath(prefix, ve.Field)
	return &out
}

// putCloudEvents stores CloudEvents as events and answers like putEvents.
func (s *Server) putCloudEvents(w http.ResponseWriter, r *http.Request) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return
	}
	data, err := readBody(r, w)
	var events []driver.Event
	var errs []error
	if err == nil {
		events, errs, err = DecodeCloudEvents(r.Header, data)
	}
	if err == nil {
		err = s.checkEvents(events)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	putBatch(r.Context(), w, bus, events, errs)
}

// EventFromCloudEvent maps a CloudEvent to a bus event (docs/bus.md,
// "CloudEvents"): id, source, type and time are the event's ID, Source,
// DetailType and Time; subject is its one resource. The data becomes the
// detail: a JSON object as it is, another JSON value as {"data": value},
// text (a text/* content type) as {"data": "text"}, anything else as
// {"data_base64": "..."}; no data is {}. The extensions account and
// region set Account and Region, traceparent and tracestate are headers
// of the same name, and every other extension NAME is the header
// "ce-NAME". The error, a *driver.ValidationError, names the CloudEvent
// attribute at fault; the event's other limits are checked when it is
// put.
func EventFromCloudEvent(ce cloudevent.Event) (driver.Event, error) {
	ev := driver.Event{ID: ce.ID, Source: ce.Source, DetailType: ce.Type, Time: ce.Time}
	if ce.Subject != "" {
		ev.Resources = []string{ce.Subject}
	}
	detail, err := detailOf(ce.DataContentType, ce.Data)
	if err != nil {
		return ev, err
	}
	ev.Detail = detail
	for name, v := range ce.Extensions {
		switch name {
		case "account":
			ev.Account = v
		case "region":
			ev.Region = v
		default:
			if ev.Headers == nil {
				ev.Headers = make(map[string]string, len(ce.Extensions))
			}
			if name == "traceparent" || name == "tracestate" {
				ev.Headers[name] = v
			} else {
				ev.Headers["ce-"+name] = v
			}
		}
	}
	return ev, nil
}

// detailOf makes an event's detail of a CloudEvent's data.
func detailOf(contentType string, data []byte) (json.RawMessage, error) {
	if len(data) == 0 {
		return json.RawMessage(`{}`), nil
	}
	mt := strings.ToLower(strings.TrimSpace(contentType))
	if parsed, _, err := mime.ParseMediaType(contentType); err == nil {
		mt = parsed
	} else if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	var wrapped any
	switch d := bytes.TrimSpace(data); {
	case isJSONMediaType(mt) && json.Valid(d):
		if d[0] == '{' {
			var b bytes.Buffer
			if err := json.Compact(&b, d); err != nil {
				return nil, driver.Invalid("data", "%v", err)
			}
			return b.Bytes(), nil
		}
		wrapped = struct {
			Data json.RawMessage `json:"data"`
		}{d}
	case strings.HasPrefix(mt, "text/") && utf8.Valid(data):
		wrapped = struct {
			Data string `json:"data"`
		}{string(data)}
	default:
		wrapped = struct {
			Data string `json:"data_base64"`
		}{base64.StdEncoding.EncodeToString(data)}
	}
	b, err := httpapi.Marshal(wrapped)
	if err != nil {
		return nil, driver.Invalid("data", "%v", err)
	}
	return b, nil
}

// isJSONMediaType reports whether a CloudEvent's data of media type mt is
// JSON: no content type (JSON by the specification), application/json,
// text/json, or a +json type.
func isJSONMediaType(mt string) bool {
	return mt == "" || mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// DecodeTestPattern decodes the body of POST .../test-pattern: a pattern
// and an event, both JSON objects.
func DecodeTestPattern(data []byte) (httpapi.TestPatternRequest, error) {
	var req httpapi.TestPatternRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return req, err
	}
	for _, f := range []struct {
		name  string
		value json.RawMessage
	}{{"pattern", req.Pattern}, {"event", req.Event}} {
		v := bytes.TrimSpace(f.value)
		if len(v) == 0 || bytes.Equal(v, []byte("null")) {
			return req, driver.Invalid(f.name, "required: a JSON object")
		}
		if v[0] != '{' {
			return req, driver.Invalid(f.name, "must be a JSON object")
		}
	}
	return req, nil
}

// testPattern reports whether a pattern matches an event. The bus plays
// no part, but must exist.
func (s *Server) testPattern(w http.ResponseWriter, r *http.Request) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return
	}
	req, ok := decodeBody(w, r, DecodeTestPattern)
	if !ok {
		return
	}
	if _, err := bus.Info(r.Context()); err != nil {
		writeAPIError(w, err)
		return
	}
	match, err := courier.TestPattern(req.Pattern, req.Event)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.TestPatternResponse{Match: match})
}

// DecodeRule decodes the body of PUT /v1/buses/{name}/rules/{rule} and
// normalizes the rule (defaults filled in, pattern compacted).
func DecodeRule(data []byte) (driver.Rule, error) {
	var req httpapi.Rule
	if err := DecodeJSON(data, &req, false); err != nil {
		return driver.Rule{}, err
	}
	if len(req.Targets) > driver.MaxTargetsPerRule {
		return driver.Rule{}, driver.TooLarge("targets", "%d targets; the limit is %d", len(req.Targets), driver.MaxTargetsPerRule)
	}
	rule, err := req.Driver()
	if err != nil {
		return rule, err
	}
	return rule, rule.Normalize()
}

// putRule creates (201) or replaces (200) a rule with its targets.
func (s *Server) putRule(w http.ResponseWriter, r *http.Request) {
	bus, name, ok := s.ruleNamed(w, r)
	if !ok {
		return
	}
	rule, ok := decodeBody(w, r, DecodeRule)
	if !ok {
		return
	}
	if err := s.authorizeDestinations(r.Context(), targetDestinations(rule.Targets)...); err != nil {
		writeError(w, err)
		return
	}
	_, err := bus.Rule(r.Context(), name)
	existed := err == nil
	info, err := bus.PutRule(r.Context(), name, rule)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, httpapi.RuleInfoJSON(info))
}

func (s *Server) ruleInfo(w http.ResponseWriter, r *http.Request) {
	bus, name, ok := s.ruleNamed(w, r)
	if !ok {
		return
	}
	info, err := bus.Rule(r.Context(), name)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.RuleInfoJSON(info))
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return
	}
	rules, err := bus.Rules(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := httpapi.RuleList{Rules: make([]httpapi.RuleInfo, len(rules))}
	for i, ri := range rules {
		out.Rules[i] = httpapi.RuleInfoJSON(ri)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) {
	bus, name, ok := s.ruleNamed(w, r)
	if !ok {
		return
	}
	if err := bus.DeleteRule(r.Context(), name); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DecodeTargets decodes the body of PUT .../rules/{rule}/targets and
// normalizes the targets.
func DecodeTargets(data []byte) ([]driver.Target, error) {
	var req httpapi.TargetsRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return nil, err
	}
	switch {
	case len(req.Targets) == 0:
		return nil, driver.Invalid("targets", "must be a non-empty array of targets")
	case len(req.Targets) > driver.MaxTargetsPerRule:
		return nil, driver.TooLarge("targets", "%d targets; the limit is %d", len(req.Targets), driver.MaxTargetsPerRule)
	}
	targets := httpapi.TargetsDriver(req.Targets)
	return targets, driver.NormalizeTargets("targets", targets, driver.MaxTargetsPerRule)
}

// putTargets adds targets to a rule or replaces those with equal IDs.
func (s *Server) putTargets(w http.ResponseWriter, r *http.Request) {
	bus, name, ok := s.ruleNamed(w, r)
	if !ok {
		return
	}
	targets, ok := decodeBody(w, r, DecodeTargets)
	if !ok {
		return
	}
	if err := s.authorizeDestinations(r.Context(), targetDestinations(targets)...); err != nil {
		writeError(w, err)
		return
	}
	info, err := bus.PutTargets(r.Context(), name, targets...)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.RuleInfoJSON(info))
}

// removeTargets removes the target {id}, or the targets ?id=A&id=B at
// once, and answers the rule.
func (s *Server) removeTargets(w http.ResponseWriter, r *http.Request) {
	bus, name, ok := s.ruleNamed(w, r)
	if !ok {
		return
	}
	var ids []string
	if id := r.PathValue("id"); r.Pattern != "" && strings.HasSuffix(r.Pattern, "/{id}") {
		if err := driver.ValidateTargetID("id", id); err != nil {
			writeAPIError(w, err)
			return
		}
		if len(r.URL.Query()) > 0 {
			writeAPIError(w, driver.Invalid("query", "a DELETE of one target takes no parameters"))
			return
		}
		ids = []string{id}
	} else {
		for k := range r.URL.Query() {
			if k != "id" {
				writeAPIError(w, driver.Invalid(k, "unknown parameter; name the targets with id=ID (repeatable)"))
				return
			}
		}
		ids = r.URL.Query()["id"]
		if len(ids) == 0 {
			writeAPIError(w, driver.Invalid("id", "required: the targets to remove, as id=ID (repeatable)"))
			return
		}
		if len(ids) > driver.MaxTargetsPerRule {
			writeAPIError(w, driver.TooLarge("id", "%d targets; a rule has at most %d", len(ids), driver.MaxTargetsPerRule))
			return
		}
		for i, id := range ids {
			if err := driver.ValidateTargetID(fmt.Sprintf("id[%d]", i), id); err != nil {
				writeAPIError(w, err)
				return
			}
		}
	}
	info, err := bus.RemoveTargets(r.Context(), name, ids...)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.RuleInfoJSON(info))
}

// handlerTarget returns the request's handler target: the bus, the rule
// and the target ID, and its body decoded by decode.
func handlerTarget[T any](s *Server, w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error)) (*courier.Bus, string, string, T, bool) {
	var req T
	bus, rule, ok := s.ruleNamed(w, r)
	if !ok {
		return nil, "", "", req, false
	}
	id, ok := pathName(w, r, "id", driver.ValidateTargetID)
	if !ok {
		return nil, "", "", req, false
	}
	if req, ok = decodeBody(w, r, decode); !ok {
		return nil, "", "", req, false
	}
	return bus, rule, id, req, true
}

// decodeTargetReceive decodes the body of POST .../targets/{id}/receive
// into a driver request.
func decodeTargetReceive(data []byte) (driver.ReceiveRequest, error) {
	req, err := DecodeReceive(data)
	if err != nil {
		return driver.ReceiveRequest{}, err
	}
	return req.Driver()
}

// receiveTarget reads the deliveries of a handler target like a queue
// receive; Drain ends the poll with what it has.
func (s *Server) receiveTarget(w http.ResponseWriter, r *http.Request) {
	tr, rule, id, dr, ok := handlerTarget(s, w, r, decodeTargetReceive)
	if !ok {
		return
	}
	dr.Max = max(dr.Max, 1)
	if s.draining() {
		dr.Wait = driver.NoWait
	}
	ctx, cancel := s.pollContext(r)
	defer cancel()
	ds, err := tr.ReceiveTargetRequest(ctx, rule, id, dr)
	if err != nil && !(s.draining() && errors.Is(err, ctx.Err())) {
		writeAPIError(w, err)
		return
	}
	out := httpapi.ReceiveResponse{Messages: make([]httpapi.Delivery, len(ds))}
	for i, d := range ds {
		out.Messages[i] = httpapi.DeliveryJSON(d)
	}
	writeJSON(w, http.StatusOK, out)
}

// DecodeSettleTarget decodes the body of POST .../targets/{id}/settle.
func DecodeSettleTarget(data []byte) (httpapi.SettleTargetRequest, error) {
	var req httpapi.SettleTargetRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return req, err
	}
	if req.Receipt == "" {
		return req, driver.Invalid("receipt", "required: the receipt of the delivery")
	}
	if !utf8.ValidString(req.Failure) {
		return req, driver.Invalid("failure", "is not valid UTF-8")
	}
	return req, nil
}

// settleTarget acks a delivery of a handler target (no failure) or fails
// it (the target's retry policy applies).
func (s *Server) settleTarget(w http.ResponseWriter, r *http.Request) {
	tr, rule, id, req, ok := handlerTarget(s, w, r, DecodeSettleTarget)
	if !ok {
		return
	}
	if err := tr.SettleTarget(r.Context(), rule, id, req.Receipt, req.Failure); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DecodeArchive decodes the body of PUT .../archives/{archive} and
// normalizes the archive.
func DecodeArchive(data []byte) (driver.Archive, error) {
	var req httpapi.Archive
	if err := DecodeJSON(data, &req, true); err != nil {
		return driver.Archive{}, err
	}
	a, err := req.Driver()
	if err != nil {
		return a, err
	}
	return a, a.Normalize()
}

// createArchive creates an archive: 201 when created, 200 when it existed
// with equal settings, 409 when it exists with others.
func (s *Server) createArchive(w http.ResponseWriter, r *http.Request) {
	bus, name, ok := s.archiveNamed(w, r)
	if !ok {
		return
	}
	a, ok := decodeBody(w, r, DecodeArchive)
	if !ok {
		return
	}
	_, err := bus.ArchiveInfo(r.Context(), name)
	existed := err == nil
	info, err := bus.Archive(r.Context(), name, a)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, httpapi.ArchiveInfoJSON(info))
}

func (s *Server) archiveInfo(w http.ResponseWriter, r *http.Request) {
	bus, name, ok := s.archiveNamed(w, r)
	if !ok {
		return
	}
	info, err := bus.ArchiveInfo(r.Context(), name)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.ArchiveInfoJSON(info))
}

func (s *Server) listArchives(w http.ResponseWriter, r *http.Request) {
	bus, ok := s.busNamed(w, r)
	if !ok {
		return
	}
	archives, err := bus.Archives(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := httpapi.ArchiveList{Archives: make([]httpapi.ArchiveInfo, len(archives))}
	for i, a := range archives {
		out.Archives[i] = httpapi.ArchiveInfoJSON(a)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteArchive(w http.ResponseWriter, r *http.Request) {
	bus, name, ok := s.archiveNamed(w, r)
	if !ok {
		return
	}
	if err := bus.DeleteArchive(r.Context(), name); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// replayRequest is a decoded POST /v1/replays.
type replayRequest struct {
	name   string
	replay driver.Replay
}

// DecodeReplay decodes the body of POST /v1/replays and normalizes the
// replay; it returns the replay's name and request.
func DecodeReplay(data []byte) (string, driver.Replay, error) {
	var req httpapi.ReplayRequest
	if err := DecodeJSON(data, &req, false); err != nil {
		return "", driver.Replay{}, err
	}
	if err := driver.ValidateReplayName("name", req.Name); err != nil {
		return "", driver.Replay{}, err
	}
	if len(req.Rules) > driver.MaxReplayRules {
		return "", driver.Replay{}, driver.TooLarge("rules", "%d rules; the limit is %d", len(req.Rules), driver.MaxReplayRules)
	}
	rp, err := req.Driver()
	if err != nil {
		return "", rp, err
	}
	return req.Name, rp, rp.Normalize()
}

func decodeReplayRequest(data []byte) (replayRequest, error) {
	name, rp, err := DecodeReplay(data)
	return replayRequest{name, rp}, err
}

// startReplay starts a replay and answers 201 with it.
func (s *Server) startReplay(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeBody(w, r, decodeReplayRequest)
	if !ok {
		return
	}
	info, err := s.b.StartReplay(r.Context(), req.name, req.replay)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, httpapi.ReplayInfoJSON(info))
}

func (s *Server) listReplays(w http.ResponseWriter, r *http.Request) {
	replays, err := s.b.Replays(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := httpapi.ReplayList{Replays: make([]httpapi.ReplayInfo, len(replays))}
	for i, rp := range replays {
		out.Replays[i] = httpapi.ReplayInfoJSON(rp)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) replayInfo(w http.ResponseWriter, r *http.Request) {
	name, ok := pathName(w, r, "name", driver.ValidateReplayName)
	if !ok {
		return
	}
	info, err := s.b.ReplayInfo(r.Context(), name)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.ReplayInfoJSON(info))
}

// cancelReplay stops a running replay and answers it; 409 when it has
// ended.
func (s *Server) cancelReplay(w http.ResponseWriter, r *http.Request) {
	name, ok := pathName(w, r, "name", driver.ValidateReplayName)
	if !ok {
		return
	}
	info, err := s.b.CancelReplay(r.Context(), name)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, httpapi.ReplayInfoJSON(info))
}
