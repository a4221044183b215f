package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/courier-io/courier/cloudevent"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

// The fuzz targets feed arbitrary bodies to the request decoders. Each
// decoder must never panic, must fail only with a *driver.ValidationError
// that the error table answers with 400 or 413, and what it accepts must
// survive re-encoding unchanged. Seeds: f.Add below and testdata/fuzz.

// checkDecodeError fails unless err is the kind of error a decoder may
// return.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var ve *driver.ValidationError
	if !errors.As(err, &ve) || ve.Field == "" {
		t.Fatalf("decoder error %T %v: want a *driver.ValidationError naming a field", err, err)
	}
	status, e := httpapi.ErrorOf(err)
	if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
		t.Fatalf("decoder error %v answers %d %s, want 400 or 413", err, status, e.Code)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding %+v: %v", v, err)
	}
	return b
}

func sameMessage(a, b driver.Message) bool {
	return bytes.Equal(a.Body, b.Body) && maps.Equal(a.Headers, b.Headers) && a.Delay == b.Delay &&
		a.DedupID == b.DedupID && a.Group == b.Group
}

func FuzzDecodeSend(f *testing.F) {
	for _, s := range []string{
		`{"body":"hello"}`,
		`{"body":"hello","headers":{"trace":"t1"},"delay":"5s","dedup_id":"d-1","group":"g"}`,
		`{"body_base64":"/wD+"}`,
		`{"body_base64":""}`,
		`{}`,
		`{"messages":[{"body":"a"},{"body_base64":"YQ==","delay":"1m30s"},{"headers":{}}]}`,
		`{"messages":[]}`,
		`{"messages":null}`,
		`{"body":"x","messages":[{"body":"y"}]}`,
		`{"body":"x","body_base64":"eA=="}`,
		`{"body_base64":"not base64"}`,
		`{"body":"x","delay":"soon"}`,
		`{"body":"x","delay":"-1ns"}`,
		`{"body":"\ud800\u00e9"}`,
		`{"body":1}`,
		`{"text":"x"}`,
		`{"body":"x"} {}`,
		`[`,
		``,
		`{"messages":[` + strings.TrimSuffix(strings.Repeat(`{},`, driver.MaxBatch+1), ",") + `]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, batch, err := server.DecodeSend(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if !batch && len(msgs) != 1 {
			t.Fatalf("single form decoded to %d messages", len(msgs))
		}
		if len(msgs) > driver.MaxBatch {
			t.Fatalf("decoded a batch of %d messages; the limit is %d", len(msgs), driver.MaxBatch)
		}
		for i, m := range msgs {
			if m.Body == nil {
				t.Fatalf("message %d has a nil body", i)
			}
			// Each message alone, re-encoded, decodes to itself.
			again, batch2, err := server.DecodeSend(mustJSON(t, httpapi.SendRequest{Message: httpapi.MessageJSON(m)}))
			if err != nil || batch2 || len(again) != 1 || !sameMessage(again[0], m) {
				t.Fatalf("message %d %+v re-encoded decodes to %+v (batch %v, %v)", i, m, again, batch2, err)
			}
		}
		if !batch || len(msgs) == 0 {
			return
		}
		req := httpapi.SendRequest{Messages: make([]httpapi.Message, len(msgs))}
		for i, m := range msgs {
			req.Messages[i] = httpapi.MessageJSON(m)
		}
		again, batch2, err := server.DecodeSend(mustJSON(t, req))
		if err != nil || !batch2 || len(again) != len(msgs) {
			t.Fatalf("batch re-encoded: %d messages, batch %v, %v; want %d", len(again), batch2, err, len(msgs))
		}
		for i := range msgs {
			if !sameMessage(again[i], msgs[i]) {
				t.Fatalf("batch message %d: %+v became %+v", i, msgs[i], again[i])
			}
		}
	})
}

func FuzzDecodeReceive(f *testing.F) {
	for _, s := range []string{
		``,
		`{}`,
		`{"max":10,"wait":"20s","visibility":"30s"}`,
		`{"wait":"0s"}`,
		`{"max":0}`,
		`{"max":-1}`,
		`{"max":1001}`,
		`{"wait":"21s"}`,
		`{"wait":"-1ns"}`,
		`{"wait":"soon"}`,
		`{"wait":20}`,
		`{"visibility":"-1s"}`,
		`{"max":"10"}`,
		`{"max":1e400}`,
		`{"maximum":1}`,
		`null`,
		`{"max":1}{"max":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := server.DecodeReceive(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		again, err := server.DecodeReceive(mustJSON(t, req))
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("%+v re-encoded decodes to %+v (%v)", req, again, err)
		}
		// The driver request keeps the meaning: absent wait is the queue's
		// default, "0s" is no wait.
		dr, derr := req.Driver()
		if derr != nil {
			checkDecodeError(t, derr)
			return
		}
		switch {
		case req.Wait == nil && dr.Wait != driver.WaitQueueDefault:
			t.Fatalf("absent wait became %v", dr.Wait)
		case req.Wait != nil && *req.Wait == 0 && dr.Wait != driver.NoWait:
			t.Fatalf("wait 0s became %v", dr.Wait)
		}
		if err := dr.Validate(); err != nil {
			checkDecodeError(t, err)
		} else if dr.Max < 0 || dr.Max > driver.MaxBatch || dr.Visibility < 0 || dr.Visibility > driver.MaxVisibilityTimeout ||
			dr.Wait != driver.NoWait && (dr.Wait < 0 || dr.Wait > driver.MaxReceiveWait) {
			t.Fatalf("%+v is valid", dr)
		}
	})
}

func FuzzDecodeSettle(f *testing.F) {
	for _, s := range []string{
		`{"receipts":["AwIBa2_-kA"]}`,
		`{"receipts":["a","b"],"delay":"10s"}`,
		`{"receipts":["a"],"visibility":"1h"}`,
		`{"receipts":[]}`,
		`{"receipts":[""]}`,
		`{"receipts":null}`,
		`{"receipts":"a"}`,
		`{"receipts":[1]}`,
		`{"receipts":["a"],"delay":"soon"}`,
		`{"receipt":"a"}`,
		`{}`,
		``,
		`{"receipts":[` + strings.TrimSuffix(strings.Repeat(`"r",`, driver.MaxBatch+1), ",") + `]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := server.DecodeSettle(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if n := len(req.Receipts); n < 1 || n > driver.MaxBatch {
			t.Fatalf("accepted %d receipts", n)
		}
		for i, r := range req.Receipts {
			if r == "" {
				t.Fatalf("accepted an empty receipt %d", i)
			}
		}
		again, err := server.DecodeSettle(mustJSON(t, req))
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("%+v re-encoded decodes to %+v (%v)", req, again, err)
		}
	})
}

func FuzzDecodeRedrive(f *testing.F) {
	for _, s := range []string{
		``,
		`{}`,
		`{"max":10,"rate":5,"destination":"orders"}`,
		`{"max":-1}`,
		`{"rate":-1}`,
		`{"destination":"bad name"}`,
		`{"destination":""}`,
		`{"max":"all"}`,
		`{"dest":"x"}`,
		`{"max":9223372036854775807}`,
		`{"max":9223372036854775808}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := server.DecodeRedrive(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if req.Max < 0 || req.Rate < 0 {
			t.Fatalf("accepted %+v", req)
		}
		if req.Destination != "" {
			if err := driver.ValidateQueueName("destination", req.Destination); err != nil {
				t.Fatalf("accepted destination %q: %v", req.Destination, err)
			}
		}
		again, err := server.DecodeRedrive(mustJSON(t, req))
		if err != nil || again != req {
			t.Fatalf("%+v re-encoded decodes to %+v (%v)", req, again, err)
		}
	})
}

// FuzzQueueAttributes decodes a PUT or PATCH body, applies it to the
// defaults and validates the result: valid attributes are in range and
// survive a round trip through their JSON form.
func FuzzQueueAttributes(f *testing.F) {
	for _, s := range []string{
		``,
		`{}`,
		`{"visibility_timeout":"1m","retention_period":"1h","delivery_delay":"2s","receive_wait":"5s","max_message_size":2048,` +
			`"max_receives":3,"dead_letter_queue":"dlq","fifo":true,"content_based_dedup":true}`,
		`{"visibility_timeout":"-1s"}`,
		`{"visibility_timeout":"12h0m1s"}`,
		`{"retention_period":"59s"}`,
		`{"max_message_size":1023}`,
		`{"max_receives":3}`,
		`{"dead_letter_queue":"dlq"}`,
		`{"max_receives":3,"dead_letter_queue":"bad name"}`,
		`{"visibility_timeout":"soon"}`,
		`{"fifo":"yes"}`,
		`{"visibilty_timeout":"1s"}`,
		`{"max_receives":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var j httpapi.QueueAttributes
		if err := server.DecodeJSON(data, &j, true); err != nil {
			checkDecodeError(t, err)
			return
		}
		a := driver.DefaultQueueAttributes()
		j.ApplyTo(&a)
		if err := a.Validate(); err != nil {
			checkDecodeError(t, err)
			return
		}
		if a.VisibilityTimeout < 0 || a.VisibilityTimeout > driver.MaxVisibilityTimeout ||
			a.RetentionPeriod < driver.MinRetentionPeriod || a.RetentionPeriod > driver.MaxRetentionPeriod ||
			a.DeliveryDelay < 0 || a.DeliveryDelay > driver.MaxDeliveryDelay ||
			a.ReceiveWait < 0 || a.ReceiveWait > driver.MaxReceiveWait ||
			a.MaxMessageSize < driver.MinMessageSizeLimit || a.MaxMessageSize > driver.MaxMessageSizeLimit ||
			a.MaxReceives < 0 || a.MaxReceives > driver.MaxMaxReceives || (a.MaxReceives > 0) != (a.DeadLetterQueue != "") {
			t.Fatalf("%+v is valid", a)
		}
		var j2 httpapi.QueueAttributes
		if err := server.DecodeJSON(mustJSON(t, httpapi.AttributesJSON(a)), &j2, false); err != nil {
			t.Fatalf("%+v re-encoded does not decode: %v", a, err)
		}
		var again driver.QueueAttributes
		j2.ApplyTo(&again)
		if again != a {
			t.Fatalf("%+v re-encoded decodes to %+v", a, again)
		}
	})
}

// sameEvent compares events as the backend sees them: detail as JSON
// text without insignificant white space, time as an instant.
func sameEvent(a, b driver.Event) bool {
	compact := func(m json.RawMessage) string {
		var buf bytes.Buffer
		if json.Compact(&buf, m) != nil {
			return string(m)
		}
		return buf.String()
	}
	return a.ID == b.ID && a.Source == b.Source && a.DetailType == b.DetailType && compact(a.Detail) == compact(b.Detail) &&
		reflect.DeepEqual(a.Resources, b.Resources) && a.Time.Equal(b.Time) && a.Account == b.Account && a.Region == b.Region &&
		maps.Equal(a.Headers, b.Headers)
}

func FuzzDecodePutEvents(f *testing.F) {
	for _, s := range []string{
		`{"entries": [{"source": "shop", "detail-type": "Order Placed", "detail": {"id": 1}}]}`,
		`{"entries": [{"id": "e-1", "source": "s", "detail-type": "t", "detail": {"a": [1, {"b": null}]}, "resources": ["r1", "r2"],
			"time": "2026-01-02T03:04:05.123+02:00", "account": "acme", "region": "eu", "headers": {"traceparent": "00-a-b-01"}}]}`,
		`{"entries": [{"source": "s", "detail-type": "t", "detail": "text"}, {"source": "s", "detail-type": "t", "detail": null}]}`,
		`{"entries": [{"source": "s", "detail-type": "t", "detail": {}, "time": "yesterday"}]}`,
		`{"entries": [{"source": "s", "detail-type": "t", "detail": {"x": "<&>"}, "time": ""}]}`,
		`{"entries": []}`,
		`{"entries": null}`,
		`{}`,
		`{"entries": [{"source": 1}]}`,
		`{"entries": [{"extra": 1}]}`,
		`{"entries": [{}]} {}`,
		``,
		`{"entries": [` + strings.TrimSuffix(strings.Repeat(`{},`, driver.MaxPutEvents+1), ",") + `]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		events, errs, err := server.DecodePutEvents(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if n := len(events); n < 1 || n > driver.MaxPutEvents || len(errs) != n {
			t.Fatalf("decoded %d events with %d errors", n, len(errs))
		}
		req := httpapi.PutEventsRequest{}
		var kept []driver.Event
		for i, ev := range events {
			if errs[i] != nil {
				checkDecodeError(t, errs[i])
				if want := fmt.Sprintf("entries[%d].", i); !strings.HasPrefix(errs[i].(*driver.ValidationError).Field, want) {
					t.Fatalf("event %d: error %v does not name it", i, errs[i])
				}
				continue
			}
			req.Entries = append(req.Entries, httpapi.EventJSON(ev))
			kept = append(kept, ev)
		}
		if len(kept) == 0 {
			return
		}
		// The accepted events, re-encoded, decode to themselves.
		body, err := httpapi.Marshal(req)
		if err != nil {
			t.Fatalf("encoding %+v: %v", req, err)
		}
		again, errs2, err := server.DecodePutEvents(body)
		if err != nil || len(again) != len(kept) {
			t.Fatalf("re-encoded %s: %d events, %v", body, len(again), err)
		}
		for i := range kept {
			if errs2[i] != nil || !sameEvent(again[i], kept[i]) {
				t.Fatalf("event %+v re-encoded decodes to %+v (%v)", kept[i], again[i], errs2[i])
			}
		}
	})
}

func FuzzDecodeRule(f *testing.F) {
	for _, s := range []string{
		`{"pattern": {"source": ["shop"]}}`,
		`{"description": "d", "pattern": {"detail": {"total": [{"numeric": [">", 100]}]}}, "state": "disabled", "targets": [
			{"id": "q", "kind": "queue", "queue": "audit", "input_path": "$.detail", "dlq": "dead", "max_backlog": 10},
			{"id": "t", "kind": "topic", "topic": "news", "input": {"fixed": "<b>"}, "retry": {"max_attempts": 3, "max_age": "1h", "min_delay": "2s", "max_delay": "1m"}},
			{"id": "s", "kind": "stream", "stream": "log", "partition_key_path": "$.detail.customer", "cloudevents": true},
			{"id": "b", "kind": "bus", "bus": "other", "input_transformer": {"input_paths": {"t": "$.detail.total"}, "template": "{\"t\": <t>}"}},
			{"id": "h", "kind": "http", "http": {"endpoint": "https://example.com/hook", "auth_header": "Authorization", "auth_value": "Bearer x",
			 "headers": {"x-app": "shop"}, "max_per_second": 5, "timeout": "2s"}}]}`,
		`{"schedule": "rate(5 minutes)", "targets": [{"id": "h", "kind": "handler"}]}`,
		`{"schedule": "cron(0 12 * * ? *)"}`,
		`{"pattern": {"source": ["s"]}, "schedule": "rate(1 hour)"}`,
		`{"pattern": "x"}`,
		`{"pattern": null, "schedule": "rate(1 day)"}`,
		`{"pattern": {"source": ["s"]}, "targets": [{"id": "a", "kind": "handler", "retry": {"max_delay": "1s"}}]}`,
		`{"pattern": {"source": ["s"]}, "targets": [{"id": "a", "kind": "handler", "input": 5}]}`,
		`{"pattern": {"source": ["s"]}, "targets": [{"id": "a", "kind": "queue", "queue": "q", "topic": "t"}]}`,
		`{"pattern": {"source": ["s"]}, "state": "off"}`,
		`{}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rule, err := server.DecodeRule(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if (rule.Pattern == nil) == (rule.Schedule == "") || len(rule.Targets) > driver.MaxTargetsPerRule ||
			rule.State != driver.RuleEnabled && rule.State != driver.RuleDisabled {
			t.Fatalf("accepted %+v", rule)
		}
		// The rule as accepted, re-encoded, decodes to itself.
		body, err := httpapi.Marshal(httpapi.RuleJSON(rule))
		if err != nil {
			t.Fatalf("encoding %+v: %v", rule, err)
		}
		again, err := server.DecodeRule(body)
		if err != nil || !reflect.DeepEqual(again, rule) {
			t.Fatalf("%s re-encoded decodes to %+v (%v); want %+v", body, again, err, rule)
		}
	})
}

func FuzzDecodeCloudEvents(f *testing.F) {
	structured, batch := cloudevent.MediaType, cloudevent.BatchMediaType
	for _, s := range []struct{ contentType, ceHeaders, body string }{
		{structured, "", `{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": {"a": 1}}`},
		{structured, "", `{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "subject": "x", "time": "2026-01-02T03:04:05Z",
			"datacontenttype": "text/plain", "data": "hi", "account": "acme", "traceparent": "00-a-b-01", "n": 5}`},
		{structured, "", `{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data_base64": "AAE="}`},
		{batch, "", `[{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": [1]}, {"specversion": "1.0", "id": "2", "source": "/s", "type": "t"}]`},
		{batch, "", `[]`},
		{"application/json", "specversion=1.0&id=b1&source=/s&type=t&region=eu", `{"x": true}`},
		{"application/octet-stream", "specversion=1.0&id=b1&source=/s&type=t", "\x00\xff"},
		{"text/plain", "specversion=1.0&id=b1&source=/s&type=t&tracestate=k%3Dv", "hello"},
		{"application/json", "", `{}`},
		{structured, "", `{"specversion": "0.3"}`},
		{"application/cloudevents+avro", "", ``},
	} {
		f.Add(s.contentType, s.ceHeaders, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType, ceHeaders string, body []byte) {
		h := http.Header{"Content-Type": {contentType}}
		if q, err := url.ParseQuery(ceHeaders); err == nil {
			for k, vs := range q {
				h["Ce-"+k] = vs
			}
		}
		events, errs, err := server.DecodeCloudEvents(h, body)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if n := len(events); n < 1 || n > driver.MaxPutEvents || len(errs) != n {
			t.Fatalf("decoded %d events with %d errors", n, len(errs))
		}
		for i, ev := range events {
			if errs[i] != nil {
				checkDecodeError(t, errs[i])
				continue
			}
			if d := bytes.TrimSpace(ev.Detail); len(d) == 0 || d[0] != '{' || !json.Valid(d) {
				t.Fatalf("event %d: detail %q is not a JSON object", i, ev.Detail)
			}
			// As a PutEvents entry the event decodes to itself.
			body, err := httpapi.Marshal(httpapi.PutEventsRequest{Entries: []httpapi.Event{httpapi.EventJSON(ev)}})
			if err != nil {
				t.Fatalf("encoding %+v: %v", ev, err)
			}
			again, errs2, err := server.DecodePutEvents(body)
			if err != nil || errs2[0] != nil || !sameEvent(again[0], ev) {
				t.Fatalf("event %+v as an entry decodes to %+v (%v, %v)", ev, again, err, errs2)
			}
		}
		// The CloudEvents themselves, re-encoded as a batch, map to the
		// same events.
		ces, err := cloudevent.ParseHTTP(h, body)
		if err != nil {
			t.Fatalf("ParseHTTP fails on input DecodeCloudEvents accepted: %v", err)
		}
		var batchBody []byte
		batchBody = append(batchBody, '[')
		for i := range ces {
			b, err := ces[i].MarshalStructured()
			if err != nil {
				t.Fatalf("MarshalStructured(%+v): %v", ces[i], err)
			}
			if i > 0 {
				batchBody = append(batchBody, ',')
			}
			batchBody = append(batchBody, b...)
		}
		batchBody = append(batchBody, ']')
		again, errs2, err := server.DecodeCloudEvents(http.Header{"Content-Type": {batch}}, batchBody)
		if err != nil || len(again) != len(events) {
			t.Fatalf("re-encoded %s: %d events, %v", batchBody, len(again), err)
		}
		for i := range events {
			if (errs[i] == nil) != (errs2[i] == nil) || !sameEvent(again[i], events[i]) {
				t.Fatalf("CloudEvent %d re-encoded maps to %+v (%v), want %+v (%v)", i, again[i], errs2[i], events[i], errs[i])
			}
		}
	})
}
