package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/cloudevent"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

// putEvents posts a PutEvents body and returns the answer.
func (a *api) putEvents(bus, body string) httpapi.PutEventsResponse {
	a.t.Helper()
	return call[httpapi.PutEventsResponse](a, "POST", "/v1/buses/"+bus+"/events", body, http.StatusOK)
}

// postWith posts body with the given headers and returns the status, the
// Content-Type and the answer.
func (a *api) postWith(path string, h http.Header, body string) (int, string, []byte) {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), "POST", a.url+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), data
}

// call makes a request that must answer want and returns its answer
// decoded into a new T.
func call[T any](a *api, method, path, body string, want int) T {
	a.t.Helper()
	var v T
	a.ok(method, path, body, want, &v)
	return v
}

// envelope decodes a delivered event envelope.
func envelope(t *testing.T, d httpapi.Delivery) map[string]any {
	t.Helper()
	if d.Body == nil {
		t.Fatalf("delivery %s has a binary body", d.ID)
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(*d.Body), &env); err != nil {
		t.Fatalf("delivered body %q is not an envelope: %v", *d.Body, err)
	}
	return env
}

func TestBusEndpoints(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	list := call[httpapi.BusList](a, "GET", "/v1/buses", "", http.StatusOK)
	if !reflect.DeepEqual(list.Buses, []string{driver.DefaultBus}) {
		t.Fatalf("buses of a new broker: %+v", list)
	}
	info := call[httpapi.BusInfo](a, "PUT", "/v1/buses/orders", `{"description": "order events"}`, http.StatusCreated)
	if info.Name != "orders" || info.Attributes.Description != "order events" || info.CreatedAt.IsZero() {
		t.Fatalf("created %+v", info)
	}
	a.ok("PUT", "/v1/buses/orders", `{"description": "order events"}`, http.StatusOK, nil)
	a.fail("PUT", "/v1/buses/orders", `{"description": "other"}`, http.StatusConflict, "conflict")
	info = call[httpapi.BusInfo](a, "PUT", "/v1/buses/empty", "", http.StatusCreated)
	if info.Attributes.Description != "" {
		t.Fatalf("created without a body: %+v", info)
	}
	list = call[httpapi.BusList](a, "GET", "/v1/buses", "", http.StatusOK)
	if !reflect.DeepEqual(list.Buses, []string{"default", "empty", "orders"}) {
		t.Fatalf("buses %+v", list)
	}
	info = call[httpapi.BusInfo](a, "GET", "/v1/buses/orders", "", http.StatusOK)
	if info.Name != "orders" || info.Stats != (driver.BusStats{}) {
		t.Fatalf("info %+v", info)
	}
	if e := a.fail("DELETE", "/v1/buses/default", "", http.StatusBadRequest, "invalid_argument"); e.Field != "name" {
		t.Fatalf("deleting the default bus: %+v", e)
	}
	a.ok("DELETE", "/v1/buses/orders", "", http.StatusNoContent, nil)
	a.fail("GET", "/v1/buses/orders", "", http.StatusNotFound, "not_found")
	a.fail("DELETE", "/v1/buses/orders", "", http.StatusNotFound, "not_found")
}

func TestPutEvents(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.create("audit", "")
	a.ok("PUT", "/v1/buses/shop", "", http.StatusCreated, nil)
	a.ok("PUT", "/v1/buses/shop/rules/placed", `{"pattern": {"source": ["shop"], "detail-type": ["Order Placed"]},
		"targets": [{"id": "audit", "kind": "queue", "queue": "audit"}]}`, http.StatusCreated, nil)

	resp := a.putEvents("shop", `{"entries": [
		{"source": "shop", "detail-type": "Order Placed", "detail": {"id": 1, "total": 250}, "resources": ["order/1"],
		 "time": "2026-01-02T03:04:05Z", "account": "acme", "region": "eu-1", "headers": {"traceparent": "00-abc-def-01"}},
		{"source": "shop", "detail-type": "Order Placed", "detail": "not an object"},
		{"source": "shop", "detail-type": "Order Placed", "detail": {}, "time": "yesterday"},
		{"id": "my-id", "source": "shop", "detail-type": "Order Shipped", "detail": {"id": 1}},
		{"detail-type": "Order Placed", "detail": {}}
	]}`)
	if resp.FailedEntryCount != 3 || len(resp.Entries) != 5 {
		t.Fatalf("answer %+v", resp)
	}
	for i, want := range []string{"", "entries[1].detail", "entries[2].time", "", "entries[4].source"} {
		e := resp.Entries[i]
		switch {
		case want == "" && (e.ID == "" || e.Error != nil):
			t.Errorf("entry %d: %+v, want an id", i, e)
		case want != "" && (e.ID != "" || e.Error == nil || e.Error.Code != "invalid_argument" || e.Error.Field != want):
			t.Errorf("entry %d: %+v, want invalid_argument on %s", i, e, want)
		}
	}
	if resp.Entries[3].ID != "my-id" {
		t.Errorf("an event with an id got %q", resp.Entries[3].ID)
	}
	ds := a.receive("audit", `{"max": 10}`)
	if len(ds) != 1 {
		t.Fatalf("the rule's queue received %d messages, want 1", len(ds))
	}
	env := envelope(t, ds[0])
	if env["id"] != resp.Entries[0].ID || env["source"] != "shop" || env["account"] != "acme" || env["region"] != "eu-1" ||
		env["time"] != "2026-01-02T03:04:05Z" || fmt.Sprint(env["resources"]) != "[order/1]" || fmt.Sprint(env["detail"]) != "map[id:1 total:250]" {
		t.Errorf("envelope %v", env)
	}
	if ds[0].Headers["traceparent"] != "00-abc-def-01" {
		t.Errorf("headers %v: the event's headers should travel with it", ds[0].Headers)
	}
	info := call[httpapi.BusInfo](a, "GET", "/v1/buses/shop", "", http.StatusOK)
	if info.Stats.Accepted != 2 || info.Stats.Matched != 1 || info.Stats.Unmatched != 1 || info.Stats.Rules != 1 {
		t.Errorf("stats %+v", info.Stats)
	}

	// The backend names a refused event by its place in the request, also
	// when events before it were refused here.
	resp = a.putEvents("shop", `{"entries": [{"source": "s", "detail-type": "t", "detail": {}, "time": "soon"},
		{"source": "s", "detail-type": "t", "detail": [1]}]}`)
	if resp.FailedEntryCount != 2 || resp.Entries[0].Error.Field != "entries[0].time" || resp.Entries[1].Error.Field != "entries[1].detail" {
		t.Fatalf("answer %+v", resp)
	}
	// A too large event fails alone with too_large.
	big := `{"source": "s", "detail-type": "t", "detail": {"x": "` + strings.Repeat("x", driver.MaxEventSize) + `"}}`
	resp = a.putEvents("shop", `{"entries": [{"source": "s", "detail-type": "t", "detail": {}}, `+big+`]}`)
	if resp.FailedEntryCount != 1 || resp.Entries[0].ID == "" || resp.Entries[1].Error == nil || resp.Entries[1].Error.Code != "too_large" {
		t.Fatalf("answer %+v", resp)
	}
	// A missing bus is a 404 for the whole batch, even when every event
	// is refused before the backend sees it.
	a.fail("POST", "/v1/buses/missing/events", `{"entries": [{"source": "s", "detail-type": "t", "detail": {}}]}`, http.StatusNotFound, "not_found")
	a.fail("POST", "/v1/buses/missing/events", `{"entries": [{"source": "s", "detail-type": "t", "detail": {}, "time": "x"}]}`, http.StatusNotFound, "not_found")
}

// ce is a structured-mode CloudEvent with the required attributes.
const ceJSON = `{"specversion": "1.0", "id": "ce-1", "source": "/shop", "type": "order.placed"`

func TestCloudEvents(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.create("all", "")
	a.ok("PUT", "/v1/buses/ce", "", http.StatusCreated, nil)
	a.ok("PUT", "/v1/buses/ce/rules/all", `{"pattern": {"source": [{"prefix": ""}]}, "targets": [{"id": "q", "kind": "queue", "queue": "all"}]}`, http.StatusCreated, nil)
	post := func(h http.Header, body string) httpapi.PutEventsResponse {
		t.Helper()
		status, _, data := a.postWith("/v1/buses/ce/cloudevents", h, body)
		if status != http.StatusOK {
			t.Fatalf("POST cloudevents %s: %d %s", body, status, data)
		}
		var resp httpapi.PutEventsResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	next := func() (map[string]any, map[string]string) {
		t.Helper()
		ds := a.receive("all", `{"wait": "0s"}`)
		if len(ds) != 1 {
			t.Fatalf("received %d messages, want 1", len(ds))
		}
		a.settle("all", "ack", `{"receipts": ["`+ds[0].Receipt+`"]}`)
		return envelope(t, ds[0]), ds[0].Headers
	}

	// Structured mode.
	resp := post(http.Header{"Content-Type": {cloudevent.MediaType}}, ceJSON+`, "subject": "order/7", "time": "2026-01-02T03:04:05Z",
		"account": "acme", "traceparent": "00-aa-bb-01", "priority": 5, "data": {"id": 7}}`)
	if resp.FailedEntryCount != 0 || len(resp.Entries) != 1 || resp.Entries[0].ID != "ce-1" {
		t.Fatalf("structured: %+v", resp)
	}
	env, h := next()
	if env["id"] != "ce-1" || env["source"] != "/shop" || env["detail-type"] != "order.placed" || env["account"] != "acme" ||
		env["time"] != "2026-01-02T03:04:05Z" || fmt.Sprint(env["resources"]) != "[order/7]" || fmt.Sprint(env["detail"]) != "map[id:7]" {
		t.Errorf("structured envelope %v", env)
	}
	if h["traceparent"] != "00-aa-bb-01" || h["ce-priority"] != "5" {
		t.Errorf("structured headers %v", h)
	}

	// Batched mode: each entry on its own; a refused one fails alone.
	resp = post(http.Header{"Content-Type": {cloudevent.BatchMediaType}}, `[`+
		ceJSON+`, "data": [1, 2]},`+
		`{"specversion": "1.0", "id": "ce-2", "source": "/shop", "type": "`+strings.Repeat("t", driver.MaxDetailTypeLen+1)+`"},`+
		`{"specversion": "1.0", "id": "ce-3", "source": "/shop", "type": "note", "datacontenttype": "text/plain", "data": "hello"}]`)
	if resp.FailedEntryCount != 1 || resp.Entries[0].ID != "ce-1" || resp.Entries[1].Error == nil ||
		resp.Entries[1].Error.Field != "entries[1].detail-type" || resp.Entries[2].ID != "ce-3" {
		t.Fatalf("batch: %+v", resp)
	}
	if env, _ := next(); fmt.Sprint(env["detail"]) != "map[data:[1 2]]" {
		t.Errorf("batch event 0 detail %v", env["detail"])
	}
	if env, _ := next(); fmt.Sprint(env["detail"]) != "map[data:hello]" {
		t.Errorf("batch event 2 detail %v", env["detail"])
	}

	// Binary mode.
	resp = post(http.Header{"Content-Type": {"application/octet-stream"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"bin-1"},
		"Ce-Source": {"/sensors"}, "Ce-Type": {"reading"}, "Ce-Region": {"eu-2"}, "Ce-Tracestate": {"k=v"}}, "\x00\x01\xff")
	if resp.FailedEntryCount != 0 || resp.Entries[0].ID != "bin-1" {
		t.Fatalf("binary: %+v", resp)
	}
	env, h = next()
	if env["region"] != "eu-2" || fmt.Sprint(env["detail"]) != "map[data_base64:AAH/]" || h["tracestate"] != "k=v" {
		t.Errorf("binary envelope %v, headers %v", env, h)
	}

	// Malformed requests fail as a whole.
	for _, c := range []struct {
		h            http.Header
		body         string
		status       int
		code, field  string
		messageParts string
	}{
		{http.Header{"Content-Type": {"application/json"}}, `{}`, 400, "invalid_argument", "Content-Type", "neither structured nor binary"},
		{http.Header{"Content-Type": {"application/cloudevents+avro"}}, `{}`, 400, "invalid_argument", "Content-Type", "not a supported event format"},
		{http.Header{"Content-Type": {cloudevent.MediaType}}, `{"specversion": "1.0"`, 400, "invalid_argument", "body", ""},
		{http.Header{"Content-Type": {cloudevent.MediaType}}, `{"specversion": "0.3", "id": "x", "source": "/s", "type": "t"}`, 400, "invalid_argument", "specversion", "0.3"},
		{http.Header{"Content-Type": {cloudevent.MediaType}}, `{"specversion": "1.0", "source": "/s", "type": "t"}`, 400, "invalid_argument", "id", ""},
		{http.Header{"Content-Type": {cloudevent.BatchMediaType}}, `[` + ceJSON + `}, {"specversion": "1.0", "id": "", "source": "/s", "type": "t"}]`, 400, "invalid_argument", "entries[1].id", ""},
		{http.Header{"Content-Type": {cloudevent.BatchMediaType}}, `[]`, 400, "invalid_argument", "entries", ""},
		{http.Header{"Content-Type": {cloudevent.BatchMediaType}}, `{}`, 400, "invalid_argument", "body", ""},
		{http.Header{"Content-Type": {"text/plain"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"x"}, "Ce-Source": {"/s"}}, `hi`, 400, "invalid_argument", "type", ""},
		{http.Header{"Content-Type": {cloudevent.MediaType}}, ceJSON + `, "data": "` + strings.Repeat("x", cloudevent.MaxEventSize) + `"}`, 413, "too_large", "body", ""},
	} {
		status, ctype, data := a.postWith("/v1/buses/ce/cloudevents", c.h, c.body)
		if status != c.status {
			t.Errorf("%v %.80s: status %d, want %d; %s", c.h, c.body, status, c.status, data)
			continue
		}
		e := apiError(t, ctype, data)
		if e.Code != c.code || e.Field != c.field || !strings.Contains(e.Message, c.messageParts) {
			t.Errorf("%v %.80s: error %+v, want %s on %q mentioning %q", c.h, c.body, e, c.code, c.field, c.messageParts)
		}
	}
	status, ctype, data := a.postWith("/v1/buses/missing/cloudevents", http.Header{"Content-Type": {cloudevent.MediaType}}, ceJSON+`}`)
	if e := apiError(t, ctype, data); status != http.StatusNotFound || e.Code != "not_found" {
		t.Errorf("a missing bus: %d %+v", status, e)
	}
	if got := a.receive("all", `{"wait": "0s"}`); len(got) != 0 {
		t.Errorf("refused requests stored %d events", len(got))
	}
}

func TestEventFromCloudEvent(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	base := cloudevent.Event{ID: "1", Source: "/s", SpecVersion: "1.0", Type: "t", Time: at}
	with := func(f func(*cloudevent.Event)) cloudevent.Event {
		ce := base
		f(&ce)
		return ce
	}
	for _, c := range []struct {
		name    string
		ce      cloudevent.Event
		detail  string
		headers map[string]string
	}{
		{"no data", base, `{}`, nil},
		{"object", with(func(e *cloudevent.Event) { e.Data = []byte(` {"a": [1, 2]} `) }), `{"a":[1,2]}`, nil},
		{"json array", with(func(e *cloudevent.Event) { e.Data = []byte(`[1,"x"]`) }), `{"data":[1,"x"]}`, nil},
		{"json string", with(func(e *cloudevent.Event) { e.Data = []byte(`"x<y"`) }), `{"data":"x<y"}`, nil},
		{"json number", with(func(e *cloudevent.Event) { e.Data, e.DataContentType = []byte(`42`), "application/json" }), `{"data":42}`, nil},
		{"+json object", with(func(e *cloudevent.Event) {
			e.Data, e.DataContentType = []byte(`{"b":true}`), "application/vnd.x+json; charset=utf-8"
		}), `{"b":true}`, nil},
		{"invalid json", with(func(e *cloudevent.Event) { e.Data, e.DataContentType = []byte(`{"b":`), "application/json" }), `{"data_base64":"eyJiIjo="}`, nil},
		{"text", with(func(e *cloudevent.Event) { e.Data, e.DataContentType = []byte("héllo\n"), "text/plain; charset=utf-8" }), `{"data":"héllo\n"}`, nil},
		{"text not utf-8", with(func(e *cloudevent.Event) { e.Data, e.DataContentType = []byte{0xff}, "text/plain" }), `{"data_base64":"/w=="}`, nil},
		{"binary", with(func(e *cloudevent.Event) { e.Data, e.DataContentType = []byte{0, 1, 2}, "application/octet-stream" }), `{"data_base64":"AAEC"}`, nil},
		{"xml", with(func(e *cloudevent.Event) { e.Data, e.DataContentType = []byte("<a/>"), "application/xml" }), `{"data_base64":"PGEvPg=="}`, nil},
		{"extensions", with(func(e *cloudevent.Event) {
			e.Extensions = map[string]string{"account": "acme", "region": "eu", "traceparent": "tp", "tracestate": "ts", "partitionkey": "k"}
		}), `{}`, map[string]string{"traceparent": "tp", "tracestate": "ts", "ce-partitionkey": "k"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := server.EventFromCloudEvent(c.ce)
			if err != nil {
				t.Fatal(err)
			}
			if string(ev.Detail) != c.detail {
				t.Errorf("detail %s, want %s", ev.Detail, c.detail)
			}
			if !reflect.DeepEqual(ev.Headers, c.headers) {
				t.Errorf("headers %v, want %v", ev.Headers, c.headers)
			}
			if ev.ID != "1" || ev.Source != "/s" || ev.DetailType != "t" || !ev.Time.Equal(at) || ev.Resources != nil {
				t.Errorf("event %+v", ev)
			}
			if err := ev.Validate("entries[0]"); err != nil {
				t.Errorf("the mapped event is invalid: %v", err)
			}
		})
	}
	ev, err := server.EventFromCloudEvent(with(func(e *cloudevent.Event) {
		e.Subject, e.Extensions = "order/7", map[string]string{"account": "acme", "region": "eu"}
	}))
	if err != nil || !reflect.DeepEqual(ev.Resources, []string{"order/7"}) || ev.Account != "acme" || ev.Region != "eu" {
		t.Errorf("subject and account: %+v, %v", ev, err)
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// canonicalRule returns r with its pattern and inputs re-encoded, so that
// rules equal as JSON compare equal.
func canonicalRule(t *testing.T, r driver.Rule) driver.Rule {
	t.Helper()
	canon := func(m json.RawMessage) json.RawMessage {
		if m == nil {
			return nil
		}
		var v any
		if err := json.Unmarshal(m, &v); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		out, err := httpapi.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	r.Pattern = canon(r.Pattern)
	r.Targets = append([]driver.Target(nil), r.Targets...)
	for i := range r.Targets {
		r.Targets[i].Input = canon(r.Targets[i].Input)
	}
	return r
}

// everyTargetRule is a rule with a target of every kind and every target
// setting.
const everyTargetRule = `{"description": "all kinds", "pattern": {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}},
	"state": "disabled", "targets": [
	{"id": "q", "kind": "queue", "queue": "audit", "input_path": "$.detail", "dlq": "dead", "max_backlog": 10},
	{"id": "t", "kind": "topic", "topic": "news", "input": {"fixed": true}, "retry": {"max_attempts": 3, "max_age": "1h", "min_delay": "2s", "max_delay": "1m"}},
	{"id": "s", "kind": "stream", "stream": "log", "partition_key_path": "$.detail.customer", "cloudevents": true},
	{"id": "b", "kind": "bus", "bus": "other"},
	{"id": "h", "kind": "http", "input_transformer": {"input_paths": {"total": "$.detail.total"}, "template": "{\"t\": <total>}"},
	 "http": {"endpoint": "http://127.0.0.1:1/hook", "auth_header": "Authorization", "auth_value": "Bearer secret",
	 "headers": {"x-app": "shop"}, "max_per_second": 5, "timeout": "2s"}}]}`

func TestRules(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	for _, q := range []string{"audit", "dead"} {
		a.create(q, "")
	}
	a.ok("PUT", "/v1/topics/news", "", http.StatusCreated, nil)
	a.ok("PUT", "/v1/streams/log", "", http.StatusCreated, nil)
	a.ok("PUT", "/v1/buses/shop", "", http.StatusCreated, nil)
	a.ok("PUT", "/v1/buses/other", "", http.StatusCreated, nil)

	info := call[httpapi.RuleInfo](a, "PUT", "/v1/buses/shop/rules/big", everyTargetRule, http.StatusCreated)
	if info.Bus != "shop" || info.Name != "big" || info.State != "disabled" || info.Description != "all kinds" ||
		!sameJSON(info.Pattern, `{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}`) || len(info.Targets) != 5 {
		t.Fatalf("put rule answered %+v", info)
	}
	// What was sent comes back, with the defaults filled in and the
	// secret masked.
	var sent httpapi.Rule
	if err := json.Unmarshal([]byte(everyTargetRule), &sent); err != nil {
		t.Fatal(err)
	}
	want := driver.Rule{}
	{
		r, err := sent.Driver()
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Normalize(); err != nil {
			t.Fatal(err)
		}
		r.Targets[4].HTTP.AuthValue = "****"
		want = r
	}
	got, err := info.Info()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(canonicalRule(t, got.Rule), canonicalRule(t, want)) {
		t.Errorf("rule as stored:\n got %s\nwant %s", jsonText(t, httpapi.RuleJSON(got.Rule)), jsonText(t, httpapi.RuleJSON(want)))
	}
	if h := info.Targets[4].HTTP; h == nil || h.AuthValue != "****" || time.Duration(h.Timeout) != 2*time.Second {
		t.Errorf("http target %+v", info.Targets[4].HTTP)
	}
	if r := info.Targets[1].Retry; r == nil || time.Duration(r.MaxAge) != time.Hour || r.MaxAttempts != 3 {
		t.Errorf("retry %+v", info.Targets[1].Retry)
	}
	if !sameJSON(info.Targets[1].Input, `{"fixed":true}`) || info.Targets[0].MaxBacklog != 10 || info.Targets[2].MaxBacklog != driver.DefaultTargetBacklog {
		t.Errorf("targets %+v", info.Targets)
	}
	if len(info.Stats.Targets) != 5 || info.Stats.Targets[0].ID != "q" {
		t.Errorf("stats %+v", info.Stats)
	}
	// The answer holds only documented fields, also as text.
	_, raw := a.do("GET", "/v1/buses/shop/rules/big", "")
	for _, field := range []string{`"auth_value":"****"`, `"timeout":"2s"`, `"max_age":"1h0m0s"`, `"min_delay":"2s"`, `"max_delay":"1m0s"`, `"created_at":"`, `"updated_at":"`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("GET rule: %s lacks %s", raw, field)
		}
	}
	if strings.Contains(string(raw), "secret") || strings.Contains(string(raw), "next_fire") {
		t.Errorf("GET rule: %s shows the secret or a next fire time", raw)
	}
	a.ok("PUT", "/v1/buses/shop/rules/big", everyTargetRule, http.StatusOK, nil)

	// A schedule rule fires next in the future.
	info = call[httpapi.RuleInfo](a, "PUT", "/v1/buses/shop/rules/tick", `{"schedule": "rate(5 minutes)", "targets": [{"id": "h", "kind": "handler"}]}`, http.StatusCreated)
	if info.Schedule != "rate(5 minutes)" || info.Pattern != nil || info.State != "enabled" || !info.NextFire.After(time.Now().Add(-time.Second)) {
		t.Errorf("schedule rule %+v", info)
	}
	rules := call[httpapi.RuleList](a, "GET", "/v1/buses/shop/rules", "", http.StatusOK)
	if len(rules.Rules) != 2 || rules.Rules[0].Name != "big" || rules.Rules[1].Name != "tick" {
		t.Fatalf("rules %+v", rules)
	}

	// Targets are added, replaced and removed.
	info = call[httpapi.RuleInfo](a, "PUT", "/v1/buses/shop/rules/tick/targets", `{"targets": [{"id": "h", "kind": "queue", "queue": "audit"}, {"id": "h2", "kind": "handler"}]}`, http.StatusOK)
	if len(info.Targets) != 2 || info.Targets[0].Kind != "queue" || info.Targets[1].ID != "h2" {
		t.Fatalf("put targets: %+v", info.Targets)
	}
	info = call[httpapi.RuleInfo](a, "DELETE", "/v1/buses/shop/rules/tick/targets/h", "", http.StatusOK)
	if len(info.Targets) != 1 || info.Targets[0].ID != "h2" {
		t.Fatalf("remove target: %+v", info.Targets)
	}
	a.fail("DELETE", "/v1/buses/shop/rules/tick/targets/h", "", http.StatusNotFound, "not_found")
	info = call[httpapi.RuleInfo](a, "DELETE", "/v1/buses/shop/rules/big/targets?id=q&id=t&id=h", "", http.StatusOK)
	if len(info.Targets) != 2 || info.Targets[0].ID != "s" || info.Targets[1].ID != "b" {
		t.Fatalf("remove targets: %+v", info.Targets)
	}
	a.fail("DELETE", "/v1/buses/shop/rules/big/targets?id=s&id=nope", "", http.StatusNotFound, "not_found")
	info = call[httpapi.RuleInfo](a, "GET", "/v1/buses/shop/rules/big", "", http.StatusOK)
	if len(info.Targets) != 2 {
		t.Fatalf("a failed removal changed the rule: %+v", info.Targets)
	}
	a.ok("DELETE", "/v1/buses/shop/rules/big", "", http.StatusNoContent, nil)
	a.fail("GET", "/v1/buses/shop/rules/big", "", http.StatusNotFound, "not_found")
	a.fail("DELETE", "/v1/buses/shop/rules/big", "", http.StatusNotFound, "not_found")
	a.fail("GET", "/v1/buses/missing/rules", "", http.StatusNotFound, "not_found")
}

func TestTestPattern(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	const event = `"event": {"source": "shop", "detail-type": "Order Placed", "detail": {"total": 250}}`
	resp := call[httpapi.TestPatternResponse](a, "POST", "/v1/buses/default/test-pattern", `{"pattern": {"detail": {"total": [{"numeric": [">", 100]}]}}, `+event+`}`, http.StatusOK)
	if !resp.Match {
		t.Error("a matching pattern does not match")
	}
	resp = call[httpapi.TestPatternResponse](a, "POST", "/v1/buses/default/test-pattern", `{"pattern": {"source": ["other"]}, `+event+`}`, http.StatusOK)
	if resp.Match {
		t.Error("a pattern for another source matches")
	}
	for _, c := range []struct{ body, field string }{
		{`{"pattern": {"source": "shop"}, ` + event + `}`, "pattern"},
		{`{"pattern": "{\"source\": [\"shop\"]}", ` + event + `}`, "pattern"},
		{`{"pattern": {}, ` + event + `}`, "pattern"},
		{`{` + event + `}`, "pattern"},
		{`{"pattern": {"source": ["shop"]}}`, "event"},
		{`{"pattern": {"source": ["shop"]}, "event": [1]}`, "event"},
		{`{"pattern": {"source": ["shop"]}, "event": null}`, "event"},
		{`{"pattern": {"source": ["shop"]}, ` + event + `, "extra": 1}`, "extra"},
		{``, "body"},
	} {
		if e := a.fail("POST", "/v1/buses/default/test-pattern", c.body, http.StatusBadRequest, "invalid_argument"); e.Field != c.field {
			t.Errorf("%s: field %q, want %q (%s)", c.body, e.Field, c.field, e.Message)
		}
	}
	a.fail("POST", "/v1/buses/missing/test-pattern", `{"pattern": {"source": ["shop"]}, `+event+`}`, http.StatusNotFound, "not_found")
}

func TestArchivesAndReplays(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.create("replayed", "")
	a.ok("PUT", "/v1/buses/shop", "", http.StatusCreated, nil)
	ai := call[httpapi.ArchiveInfo](a, "PUT", "/v1/buses/shop/archives/orders", `{"description": "orders", "pattern": {"source": ["shop"]}, "retention": "720h"}`, http.StatusCreated)
	if ai.Bus != "shop" || ai.Name != "orders" || time.Duration(ai.Retention) != 720*time.Hour || !sameJSON(ai.Pattern, `{"source":["shop"]}`) {
		t.Fatalf("archive %+v", ai)
	}
	a.ok("PUT", "/v1/buses/shop/archives/orders", `{"description": "orders", "pattern": {"source": ["shop"]}, "retention": "720h"}`, http.StatusOK, nil)
	a.fail("PUT", "/v1/buses/shop/archives/orders", `{"retention": "1h"}`, http.StatusConflict, "conflict")
	ai = call[httpapi.ArchiveInfo](a, "PUT", "/v1/buses/shop/archives/everything", "", http.StatusCreated)
	if ai.Retention != 0 || ai.Pattern != nil {
		t.Fatalf("archive with defaults %+v", ai)
	}
	start := time.Now().Add(-time.Minute).UTC()
	resp := a.putEvents("shop", `{"entries": [{"source": "shop", "detail-type": "a", "detail": {"n": 1}}, {"source": "other", "detail-type": "b", "detail": {"n": 2}}]}`)
	if resp.FailedEntryCount != 0 {
		t.Fatalf("put %+v", resp)
	}
	list := call[httpapi.ArchiveList](a, "GET", "/v1/buses/shop/archives", "", http.StatusOK)
	if len(list.Archives) != 2 || list.Archives[0].Name != "everything" || list.Archives[0].Events != 2 || list.Archives[1].Events != 1 || list.Archives[1].Bytes == 0 {
		t.Fatalf("archives %+v", list)
	}
	ai = call[httpapi.ArchiveInfo](a, "GET", "/v1/buses/shop/archives/orders", "", http.StatusOK)
	if ai.Events != 1 {
		t.Fatalf("archive info %+v", ai)
	}

	// A rule added now gets the replayed event.
	a.ok("PUT", "/v1/buses/shop/rules/late", `{"pattern": {"source": ["shop"]}, "targets": [{"id": "q", "kind": "queue", "queue": "replayed"}]}`, http.StatusCreated, nil)
	end := time.Now().Add(time.Minute).UTC()
	req := fmt.Sprintf(`{"name": "again", "bus": "shop", "archive": "orders", "start": %q, "end": %q, "rules": ["late"], "description": "re-run"}`,
		start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	ri := call[httpapi.ReplayInfo](a, "POST", "/v1/replays", req, http.StatusCreated)
	if ri.Name != "again" || ri.Bus != "shop" || ri.Archive != "orders" || !ri.Start.Equal(start) || !ri.End.Equal(end) ||
		!reflect.DeepEqual(ri.Rules, []string{"late"}) || ri.Description != "re-run" || ri.StartedAt.IsZero() {
		t.Fatalf("replay %+v", ri)
	}
	a.fail("POST", "/v1/replays", req, http.StatusConflict, "exists")
	ds := a.receive("replayed", `{"wait": "20s"}`)
	if len(ds) != 1 {
		t.Fatalf("the replay delivered %d events", len(ds))
	}
	if env := envelope(t, ds[0]); env["replay-name"] != "again" || env["detail-type"] != "a" {
		t.Errorf("replayed envelope %v", env)
	}
	ri = call[httpapi.ReplayInfo](a, "GET", "/v1/replays/again", "", http.StatusOK)
	if ri.State != "running" && ri.State != "completed" {
		t.Errorf("replay %+v", ri)
	}
	replays := call[httpapi.ReplayList](a, "GET", "/v1/replays", "", http.StatusOK)
	if len(replays.Replays) != 1 || replays.Replays[0].Name != "again" {
		t.Fatalf("replays %+v", replays)
	}
	// Cancelling a running replay stops it; an ended one is a conflict.
	status, data := a.do("POST", "/v1/replays/again/cancel", "")
	switch status {
	case http.StatusOK:
		if err := json.Unmarshal(data, &ri); err != nil || ri.State != "cancelled" || ri.EndedAt.IsZero() {
			t.Errorf("cancel answered %s (%v)", data, err)
		}
	case http.StatusConflict:
		ri = call[httpapi.ReplayInfo](a, "GET", "/v1/replays/again", "", http.StatusOK)
		if ri.State != "completed" || ri.Replayed != 1 || ri.EndedAt.IsZero() {
			t.Errorf("cancel of an ended replay: %+v", ri)
		}
	default:
		t.Errorf("cancel answered %d %s", status, data)
	}
	a.fail("POST", "/v1/replays/again/cancel", "", http.StatusConflict, "conflict")
	a.fail("GET", "/v1/replays/missing", "", http.StatusNotFound, "not_found")
	a.fail("POST", "/v1/replays/missing/cancel", "", http.StatusNotFound, "not_found")
	other := strings.Replace(strings.Replace(req, `"again"`, `"other"`, 1), `"orders"`, `"missing"`, 1)
	a.fail("POST", "/v1/replays", other, http.StatusNotFound, "not_found")

	a.ok("DELETE", "/v1/buses/shop/archives/orders", "", http.StatusNoContent, nil)
	a.fail("GET", "/v1/buses/shop/archives/orders", "", http.StatusNotFound, "not_found")
	a.fail("DELETE", "/v1/buses/shop/archives/orders", "", http.StatusNotFound, "not_found")
	a.fail("GET", "/v1/buses/missing/archives", "", http.StatusNotFound, "not_found")
}

// busState is what bad input must not change: every bus with its rules
// and archives, and the replays.
func (a *api) busState() string {
	a.t.Helper()
	var s strings.Builder
	for _, bus := range call[httpapi.BusList](a, "GET", "/v1/buses", "", http.StatusOK).Buses {
		fmt.Fprintf(&s, "bus %s\n", jsonText(a.t, call[httpapi.BusInfo](a, "GET", "/v1/buses/"+bus, "", http.StatusOK)))
		for _, r := range call[httpapi.RuleList](a, "GET", "/v1/buses/"+bus+"/rules", "", http.StatusOK).Rules {
			fmt.Fprintf(&s, "rule %s\n", jsonText(a.t, r))
		}
		for _, ar := range call[httpapi.ArchiveList](a, "GET", "/v1/buses/"+bus+"/archives", "", http.StatusOK).Archives {
			fmt.Fprintf(&s, "archive %s\n", jsonText(a.t, ar))
		}
	}
	fmt.Fprintf(&s, "replays %s\n", jsonText(a.t, call[httpapi.ReplayList](a, "GET", "/v1/replays", "", http.StatusOK)))
	return s.String()
}

// busBadInputs lists bad requests for every bus endpoint, against the
// state TestBusBadInput makes: bus "shop" with rule "r" (targets "a" and
// "b", queue "audit") and archive "arch", queue "dead" and FIFO queue
// "jobs.fifo".
func busBadInputs() []badInput {
	const (
		bad, large, notFound, conflict = http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusNotFound, http.StatusConflict
		inv, tooLarge                  = "invalid_argument", "too_large"
		b                              = "/v1/buses/shop"
		rule                           = b + "/rules/new"
	)
	ev := `{"source": "s", "detail-type": "t", "detail": {}}`
	entries := func(n int) string { return `{"entries": [` + strings.TrimSuffix(strings.Repeat(ev+",", n), ",") + `]}` }
	// withTarget is a rule with a pattern and the one target t.
	withTarget := func(t string) string { return `{"pattern": {"source": ["s"]}, "targets": [` + t + `]}` }
	targets := func(n int) string {
		var ts []string
		for i := range n {
			ts = append(ts, fmt.Sprintf(`{"id": "t%d", "kind": "handler"}`, i))
		}
		return strings.Join(ts, ",")
	}
	replay := func(fields string) string {
		return `{"name": "rp", "bus": "shop", "archive": "arch", "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"` + fields + `}`
	}
	cases := []badInput{
		// PUT /v1/buses/{name}
		{"PUT", "/v1/buses/new", `{"description": 5}`, bad, inv, "description"},
		{"PUT", "/v1/buses/new", `{"desc": "x"}`, bad, inv, "desc"},
		{"PUT", "/v1/buses/new", `{"description": "a\nb"}`, bad, inv, "description"},
		{"PUT", "/v1/buses/new", `{"description": "` + strings.Repeat("d", driver.MaxDescriptionLen+1) + `"}`, bad, inv, "description"},
		{"PUT", "/v1/buses/new", `[]`, bad, inv, "body"},
		{"PUT", "/v1/buses/new", `{} {}`, bad, inv, "body"},
		{"PUT", b, `{"description": "other"}`, conflict, "conflict", ""},
		{"DELETE", "/v1/buses/default", ``, bad, inv, "name"},

		// POST /v1/buses/{name}/events
		{"POST", b + "/events", ``, bad, inv, "body"},
		{"POST", b + "/events", `{"entries": [`, bad, inv, "body"},
		{"POST", b + "/events", `{}`, bad, inv, "entries"},
		{"POST", b + "/events", `{"entries": []}`, bad, inv, "entries"},
		{"POST", b + "/events", `{"entries": null}`, bad, inv, "entries"},
		{"POST", b + "/events", `{"entries": {}}`, bad, inv, "entries"},
		{"POST", b + "/events", entries(driver.MaxPutEvents + 1), large, tooLarge, "entries"},
		{"POST", b + "/events", `{"entries": [{"source": 5}]}`, bad, inv, "entries.source"},
		{"POST", b + "/events", `{"entries": [{"source": "s", "resources": "r"}]}`, bad, inv, "entries.resources"},
		{"POST", b + "/events", `{"entries": [{"source": "s", "headers": {"k": 1}}]}`, bad, inv, "entries.headers"},
		{"POST", b + "/events", `{"entries": [{"source": "s", "time": 5}]}`, bad, inv, "entries.time"},
		{"POST", b + "/events", `{"entries": [{"source": "s", "detail_type": "t"}]}`, bad, inv, "detail_type"},
		{"POST", b + "/events", `{"entries": [` + ev + `], "extra": 1}`, bad, inv, "extra"},

		// PUT /v1/buses/{name}/rules/{rule}
		{"PUT", rule, ``, bad, inv, "body"},
		{"PUT", rule, `{}`, bad, inv, "pattern"},
		{"PUT", rule, `{"pattern": "{\"source\": [\"s\"]}"}`, bad, inv, "pattern"},
		{"PUT", rule, `{"pattern": ["s"]}`, bad, inv, "pattern"},
		{"PUT", rule, `{"pattern": {"source": "s"}}`, bad, inv, "pattern"},
		{"PUT", rule, `{"pattern": {"source": ["s"]}, "schedule": "rate(5 minutes)"}`, bad, inv, "schedule"},
		{"PUT", rule, `{"schedule": "rate(5 minute)"}`, bad, inv, "schedule"},
		{"PUT", rule, `{"schedule": "every day"}`, bad, inv, "schedule"},
		{"PUT", rule, `{"schedule": 5}`, bad, inv, "schedule"},
		{"PUT", rule, `{"pattern": {"source": ["s"]}, "state": "off"}`, bad, inv, "state"},
		{"PUT", rule, `{"pattern": {"source": ["s"]}, "description": "` + strings.Repeat("d", driver.MaxDescriptionLen+1) + `"}`, bad, inv, "description"},
		{"PUT", rule, `{"pattern": {"source": ["s"]}, "targets": {}}`, bad, inv, "targets"},
		{"PUT", rule, withTarget(targets(driver.MaxTargetsPerRule + 1)), large, tooLarge, "targets"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler"}, {"id": "a", "kind": "handler"}`), bad, inv, "targets[1].id"},
		{"PUT", rule, withTarget(`{"id": "bad id", "kind": "handler"}`), bad, inv, "targets[0].id"},
		{"PUT", rule, withTarget(`{"id": "` + strings.Repeat("i", driver.MaxTargetIDLen+1) + `", "kind": "handler"}`), bad, inv, "targets[0].id"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "email"}`), bad, inv, "targets[0].kind"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "queue"}`), bad, inv, "targets[0].queue"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "queue", "queue": "audit", "topic": "t"}`), bad, inv, "targets[0].topic"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "queue", "queue": "bad name"}`), bad, inv, "targets[0].queue"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "bus", "bus": "shop"}`), bad, inv, "targets[0].bus"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "http"}`), bad, inv, "targets[0].http"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "http", "http": {"endpoint": "ftp://x"}}`), bad, inv, "targets[0].http.endpoint"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "http", "http": {"endpoint": "http://x", "timeout": "2 s"}}`), bad, inv, "targets.http.timeout"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "http", "http": {"endpoint": "http://x", "timeout": 2}}`), bad, inv, "targets.http.timeout"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "http", "http": {"endpoint": "http://x", "timeout": "61s"}}`), bad, inv, "targets[0].http.timeout"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "http", "http": {"endpoint": "http://x", "auth_header": "Authorization"}}`), bad, inv, "targets[0].http.auth_header"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "http", "http": {"endpoint": "http://x", "max_per_second": -1}}`), bad, inv, "targets[0].http.max_per_second"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "http", "http": {"endpoint": "http://x", "token": "t"}}`), bad, inv, "token"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "retry": {"max_attempts": 1001}}`), bad, inv, "targets[0].retry.max_attempts"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "retry": {"max_age": "30s"}}`), bad, inv, "targets[0].retry.max_age"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "retry": {"min_delay": "1m", "max_delay": "1s"}}`), bad, inv, "targets[0].retry.max_delay"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "retry": {"max_age": "soon"}}`), bad, inv, "targets.retry.max_age"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "input": {}, "input_path": "$.detail"}`), bad, inv, "targets[0]"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "input_path": "detail"}`), bad, inv, "targets[0].input_path"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "input_transformer": {"input_paths": {"x": "detail"}, "template": "<x>"}}`), bad, inv, "targets[0].input_transformer"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "input_path": "$.detail", "cloudevents": true}`), bad, inv, "targets[0].cloudevents"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "queue", "queue": "audit", "partition_key_path": "$.id"}`), bad, inv, "targets[0].partition_key_path"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "max_backlog": -1}`), bad, inv, "targets[0].max_backlog"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "dlq": "bad name"}`), bad, inv, "targets[0].dlq"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "dlq": "missing"}`), bad, inv, "targets[0].dlq"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "dlq": "jobs.fifo"}`), bad, inv, "targets[0].dlq"},
		{"PUT", rule, withTarget(`{"id": "a", "kind": "handler", "extra": true}`), bad, inv, "extra"},
		{"PUT", b + "/rules/bad%20name", `{"pattern": {"source": ["s"]}}`, bad, inv, "rule"},

		// PUT and DELETE /v1/buses/{name}/rules/{rule}/targets
		{"PUT", b + "/rules/r/targets", ``, bad, inv, "body"},
		{"PUT", b + "/rules/r/targets", `{}`, bad, inv, "targets"},
		{"PUT", b + "/rules/r/targets", `{"targets": []}`, bad, inv, "targets"},
		{"PUT", b + "/rules/r/targets", `{"targets": [{"id": "x", "kind": "nope"}]}`, bad, inv, "targets[0].kind"},
		{"PUT", b + "/rules/r/targets", `{"targets": [` + targets(driver.MaxTargetsPerRule+1) + `]}`, large, tooLarge, "targets"},
		{"PUT", b + "/rules/r/targets", `{"targets": [` + targets(driver.MaxTargetsPerRule-1) + `]}`, large, tooLarge, "targets"},
		{"PUT", b + "/rules/missing/targets", `{"targets": [{"id": "x", "kind": "handler"}]}`, notFound, "not_found", ""},
		{"DELETE", b + "/rules/r/targets", ``, bad, inv, "id"},
		{"DELETE", b + "/rules/r/targets?ids=a", ``, bad, inv, "ids"},
		{"DELETE", b + "/rules/r/targets?id=a&id=bad%20id", ``, bad, inv, "id[1]"},
		{"DELETE", b + "/rules/r/targets?id=a&id=missing", ``, notFound, "not_found", ""},
		{"DELETE", b + "/rules/r/targets/bad%20id", ``, bad, inv, "id"},
		{"DELETE", b + "/rules/r/targets/a?id=b", ``, bad, inv, "query"},
		{"DELETE", b + "/rules/r/targets/missing", ``, notFound, "not_found", ""},
		{"DELETE", b + "/rules/missing/targets/a", ``, notFound, "not_found", ""},

		// POST .../targets/{id}/receive and /settle
		{"POST", b + "/rules/r/targets/a/receive", `{"max": 0}`, bad, inv, "max"},
		{"POST", b + "/rules/r/targets/a/receive", `{"wait": "21s"}`, bad, inv, "wait"},
		{"POST", b + "/rules/r/targets/a/receive", `{"visibility": "soon"}`, bad, inv, "visibility"},
		{"POST", b + "/rules/r/targets/bad%20id/receive", `{}`, bad, inv, "id"},
		{"POST", b + "/rules/bad%20name/targets/a/receive", `{}`, bad, inv, "rule"},
		{"POST", b + "/rules/r/targets/a/settle", ``, bad, inv, "body"},
		{"POST", b + "/rules/r/targets/a/settle", `{}`, bad, inv, "receipt"},
		{"POST", b + "/rules/r/targets/a/settle", `{"receipt": 5}`, bad, inv, "receipt"},
		{"POST", b + "/rules/r/targets/a/settle", `{"receipt": "x", "fail": "y"}`, bad, inv, "fail"},

		// PUT /v1/buses/{name}/archives/{archive}
		{"PUT", b + "/archives/new", `{"retention": "soon"}`, bad, inv, "retention"},
		{"PUT", b + "/archives/new", `{"retention": 720}`, bad, inv, "retention"},
		{"PUT", b + "/archives/new", `{"retention": "-1s"}`, bad, inv, "retention"},
		{"PUT", b + "/archives/new", `{"retention": "1000000h"}`, bad, inv, "retention"},
		{"PUT", b + "/archives/new", `{"pattern": "x"}`, bad, inv, "pattern"},
		{"PUT", b + "/archives/new", `{"pattern": {"source": "s"}}`, bad, inv, "pattern"},
		{"PUT", b + "/archives/new", `{"description": 1}`, bad, inv, "description"},
		{"PUT", b + "/archives/new", `{"name": "x"}`, bad, inv, "name"},
		{"PUT", b + "/archives/bad%20name", `{}`, bad, inv, "archive"},
		{"PUT", b + "/archives/arch", `{"retention": "1h"}`, conflict, "conflict", ""},
		{"PUT", "/v1/buses/missing/archives/new", `{}`, notFound, "not_found", ""},

		// POST /v1/replays and friends
		{"POST", "/v1/replays", ``, bad, inv, "body"},
		{"POST", "/v1/replays", `{}`, bad, inv, "name"},
		{"POST", "/v1/replays", `{"name": "bad name"}`, bad, inv, "name"},
		{"POST", "/v1/replays", `{"name": "rp"}`, bad, inv, "bus"},
		{"POST", "/v1/replays", `{"name": "rp", "bus": "shop"}`, bad, inv, "archive"},
		{"POST", "/v1/replays", `{"name": "rp", "bus": "shop", "archive": "arch"}`, bad, inv, "start"},
		{"POST", "/v1/replays", replay(`, "start": "yesterday"`), bad, inv, "start"}, // the last of a repeated field counts
		{"POST", "/v1/replays", strings.Replace(replay(""), "2026-01-01T00:00:00Z", "yesterday", 1), bad, inv, "start"},
		{"POST", "/v1/replays", strings.Replace(replay(""), "2026-01-02T00:00:00Z", "2026-01-01", 1), bad, inv, "end"},
		{"POST", "/v1/replays", strings.Replace(replay(""), "2026-01-02T00:00:00Z", "2025-01-01T00:00:00Z", 1), bad, inv, "end"},
		{"POST", "/v1/replays", replay(`, "rules": ["bad name"]`), bad, inv, "rules[0]"},
		{"POST", "/v1/replays", replay(`, "rules": [` + strings.TrimSuffix(strings.Repeat(`"r",`, driver.MaxReplayRules+1), ",") + `]`), large, tooLarge, "rules"},
		{"POST", "/v1/replays", replay(`, "description": "a\tb"`), bad, inv, "description"},
		{"POST", "/v1/replays", replay(`, "speed": 2`), bad, inv, "speed"},
		{"POST", "/v1/replays", strings.Replace(replay(""), `"arch"`, `"missing"`, 1), notFound, "not_found", ""},
		{"POST", "/v1/replays", strings.Replace(replay(""), `"shop"`, `"missing"`, 1), notFound, "not_found", ""},
		{"GET", "/v1/replays/bad%20name", ``, bad, inv, "name"},
		{"POST", "/v1/replays/bad%20name/cancel", ``, bad, inv, "name"},
	}

	// Every endpoint of a bus refuses an invalid bus name in the path, and
	// answers 404 for a valid name that is not a bus.
	endpoints := []struct{ method, suffix, body string }{
		{"PUT", "", `{}`}, {"GET", "", ""}, {"DELETE", "", ""},
		{"POST", "/events", entries(1)}, {"POST", "/test-pattern", `{"pattern": {"source": ["s"]}, "event": {}}`},
		{"GET", "/rules", ""}, {"PUT", "/rules/x", `{"pattern": {"source": ["s"]}}`}, {"GET", "/rules/r", ""}, {"DELETE", "/rules/r", ""},
		{"PUT", "/rules/r/targets", `{"targets": [{"id": "x", "kind": "handler"}]}`}, {"DELETE", "/rules/r/targets/a", ""},
		{"DELETE", "/rules/r/targets?id=a", ""}, {"POST", "/rules/r/targets/a/settle", `{"receipt": "x"}`},
		{"GET", "/archives", ""}, {"PUT", "/archives/x", `{}`}, {"GET", "/archives/arch", ""}, {"DELETE", "/archives/arch", ""},
	}
	for _, e := range endpoints {
		for _, name := range []string{"bad%20name", strings.Repeat("n", driver.MaxQueueNameLen+1), "caf%C3%A9", "star*"} {
			cases = append(cases, badInput{e.method, "/v1/buses/" + name + e.suffix, e.body, bad, inv, "name"})
		}
		if e.method != "PUT" || e.suffix != "" {
			cases = append(cases, badInput{e.method, "/v1/buses/missing" + e.suffix, e.body, notFound, "not_found", ""})
		}
	}
	return cases
}

// TestBusBadInput sends bad requests to every bus endpoint: each gets its
// status, error code and field, and none changes anything.
func TestBusBadInput(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.create("audit", "")
	a.create("dead", "")
	a.create("jobs.fifo", `{"fifo": true}`)
	a.ok("PUT", "/v1/buses/shop", `{"description": "shop events"}`, http.StatusCreated, nil)
	a.ok("PUT", "/v1/buses/shop/rules/r", `{"pattern": {"source": ["s"]}, "targets": [{"id": "a", "kind": "handler"}, {"id": "b", "kind": "queue", "queue": "audit"}]}`, http.StatusCreated, nil)
	a.ok("PUT", "/v1/buses/shop/archives/arch", `{"retention": "24h"}`, http.StatusCreated, nil)
	before := a.busState()
	queues := a.state()

	for _, c := range busBadInputs() {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		status, ctype, data := a.send(c.method, c.path, body)
		name := c.method + " " + c.path + " " + c.body
		if len(name) > 160 {
			name = name[:160] + "..."
		}
		if status != c.status {
			t.Errorf("%s: status %d, want %d; answer %.300s", name, status, c.status, data)
			continue
		}
		e := apiError(t, ctype, data)
		switch {
		case e.Code != c.code:
			t.Errorf("%s: code %q, want %q; answer %.300s", name, e.Code, c.code, data)
		case e.Field != c.field:
			t.Errorf("%s: field %q, want %q; answer %.300s", name, e.Field, c.field, data)
		}
	}

	if after := a.busState(); after != before {
		t.Errorf("bad input changed the buses:\nbefore %s\nafter  %s", before, after)
	}
	if after := a.state(); !reflect.DeepEqual(after, queues) {
		t.Errorf("bad input changed the queues:\nbefore %+v\nafter  %+v", queues, after)
	}
}

// TestHandlerTarget reads and settles the deliveries of a handler target
// over REST.
func TestHandlerTarget(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.create("dead", "")
	a.ok("PUT", "/v1/buses/default/rules/work", `{"pattern": {"source": ["jobs"]}, "targets": [{"id": "h", "kind": "handler",
		"retry": {"max_attempts": 2, "min_delay": "1ms", "max_delay": "1ms"}, "dlq": "dead"}]}`, http.StatusCreated, nil)
	const path = "/v1/buses/default/rules/work/targets/h"
	a.putEvents("default", `{"entries": [{"source": "jobs", "detail-type": "run", "detail": {"n": 1}}, {"source": "jobs", "detail-type": "run", "detail": {"n": 2}}]}`)
	recv := func() []httpapi.Delivery {
		t.Helper()
		resp := call[httpapi.ReceiveResponse](a, "POST", path+"/receive", `{"max": 10, "wait": "20s", "visibility": "1m"}`, http.StatusOK)
		return resp.Messages
	}
	ds := recv()
	for len(ds) < 2 {
		ds = append(ds, recv()...)
	}
	byN := map[float64]httpapi.Delivery{}
	for _, d := range ds {
		byN[envelope(t, d)["detail"].(map[string]any)["n"].(float64)] = d
	}
	a.ok("POST", path+"/settle", `{"receipt": "`+byN[1].Receipt+`"}`, http.StatusNoContent, nil)
	a.ok("POST", path+"/settle", `{"receipt": "`+byN[2].Receipt+`", "failure": "boom"}`, http.StatusNoContent, nil)
	a.fail("POST", path+"/settle", `{"receipt": "garbage"}`, http.StatusBadRequest, "receipt_invalid")
	// The failed one comes back once more, then goes to the dead-letter
	// queue with the reason.
	again := recv()
	if len(again) != 1 || envelope(t, again[0])["id"] != envelope(t, byN[2])["id"] {
		t.Fatalf("after a failure received %+v", again)
	}
	a.ok("POST", path+"/settle", `{"receipt": "`+again[0].Receipt+`", "failure": "boom again"}`, http.StatusNoContent, nil)
	dead := a.receive("dead", `{"wait": "20s"}`)
	if len(dead) != 1 || dead[0].Headers["courier-dlq-error"] == "" && dead[0].Headers["courier-dlq-reason"] == "" {
		t.Fatalf("dead-letter queue received %+v", dead)
	}
	st := call[httpapi.RuleInfo](a, "GET", "/v1/buses/default/rules/work", "", http.StatusOK).Stats.Targets[0]
	if st.Delivered != 1 || st.Failed != 1 || st.DeadLettered != 1 {
		t.Errorf("target stats %+v", st)
	}
	a.fail("POST", "/v1/buses/default/rules/work/targets/nope/receive", `{"wait": "0s"}`, http.StatusNotFound, "not_found")
}
