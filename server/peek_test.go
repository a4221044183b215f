package server

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
)

// TestPeek shows a queue's messages in every state without receiving
// them: the receive count is unchanged and a visible message stays
// receivable.
func TestPeek(t *testing.T) {
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	q, err := b.CreateQueue(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []courier.Message{{Body: []byte("first")}, {Body: []byte("second")}, {Body: []byte("later"), Delay: time.Minute}} {
		if _, err := q.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Receive(ctx, courier.Max(1)); err != nil { // "first" is in flight
		t.Fatal(err)
	}
	s := New(b)
	defer s.Drain()
	w := call(s, http.MethodGet, "/v1/queues/orders/peek?max=10", "", "")
	if w.Code != http.StatusOK {
		t.Fatalf("peek: %d %s", w.Code, w.Body)
	}
	var res httpapi.PeekResponse
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	ms, err := res.Driver()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ body, state string }{{"first", "in_flight"}, {"second", "visible"}, {"later", "delayed"}}
	if len(ms) != len(want) {
		t.Fatalf("peeked %d messages: %s", len(ms), w.Body)
	}
	for i, m := range ms {
		if string(m.Body) != want[i].body || m.State != want[i].state || m.Receipt != "" || (m.State == "visible") != m.VisibleAt.IsZero() {
			t.Errorf("message %d: %q %s visible at %v, receipt %q; want %q %s", i, m.Body, m.State, m.VisibleAt, m.Receipt, want[i].body, want[i].state)
		}
	}
	if ms[0].ReceiveCount != 1 || ms[1].ReceiveCount != 0 {
		t.Errorf("receive counts %d, %d after a peek; want 1, 0", ms[0].ReceiveCount, ms[1].ReceiveCount)
	}
	ds, err := q.Receive(ctx, courier.Max(10))
	if err != nil || len(ds) != 1 || string(ds[0].Body) != "second" || ds[0].ReceiveCount != 1 {
		t.Fatalf("receive after the peek: %v, %v", ds, err)
	}
	for _, bad := range []string{"max=0", "max=101", "max=ten"} {
		if w := call(s, http.MethodGet, "/v1/queues/orders/peek?"+bad, "", ""); w.Code != http.StatusBadRequest || errorCode(w) != "invalid_argument" {
			t.Errorf("peek %s: %d %s", bad, w.Code, w.Body)
		}
	}
	if w := call(s, http.MethodGet, "/v1/queues/missing/peek", "", ""); w.Code != http.StatusNotFound {
		t.Errorf("peek of a missing queue: %d", w.Code)
	}
}

// TestTestFilter checks POST /v1/topics/{name}/test-filter against both
// scopes, and its errors.
func TestTestFilter(t *testing.T) {
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.CreateTopic(t.Context(), "events"); err != nil {
		t.Fatal(err)
	}
	s := New(b)
	defer s.Drain()
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{"filter_policy": {"color": ["red"]}, "message": {"body": "x", "headers": {"color": "red"}}}`, 200, "true"},
		{`{"filter_policy": {"color": ["red"]}, "message": {"body": "x", "headers": {"color": "blue"}}}`, 200, "false"},
		{`{"filter_policy": {"n": [{"numeric": [">", 5]}]}, "message": {"headers": {"n": "7"}}}`, 200, "true"},
		{`{"filter_policy": {"order": {"total": [{"numeric": [">", 5]}]}}, "filter_scope": "body", "message": {"body": "{\"order\": {\"total\": 9}}"}}`, 200, "true"},
		{`{"filter_policy": {"color": "red"}, "message": {}}`, 400, "filter_policy"},
		{`{"filter_policy": {"color": ["red"]}, "filter_scope": "everything", "message": {}}`, 400, "filter_scope"},
		{`{"message": {}}`, 400, "filter_policy"},
	} {
		w := call(s, http.MethodPost, "/v1/topics/events/test-filter", "", c.body)
		if w.Code != c.code {
			t.Errorf("%s: %d %s", c.body, w.Code, w.Body)
			continue
		}
		if c.code == 200 {
			var res httpapi.TestFilterResponse
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || (res.Match != (c.want == "true")) {
				t.Errorf("%s: %s", c.body, w.Body)
			}
			continue
		}
		var e httpapi.ErrorResponse
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Field != c.want {
			t.Errorf("%s: %s; want an error naming %s", c.body, w.Body, c.want)
		}
	}
	if w := call(s, http.MethodPost, "/v1/topics/missing/test-filter", "", `{"filter_policy": {"a": ["b"]}, "message": {}}`); w.Code != http.StatusNotFound {
		t.Errorf("a missing topic: %d", w.Code)
	}
}
