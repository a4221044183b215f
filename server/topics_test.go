package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

func TestTopicEndpoints(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	var info httpapi.TopicInfo
	a.ok("PUT", "/v1/topics/orders", "", http.StatusCreated, &info)
	if info.Name != "orders" || *info.Attributes.FIFO || *info.Attributes.MaxMessageSize != driver.MaxMessageSizeLimit {
		t.Fatalf("created %+v", info)
	}
	a.ok("PUT", "/v1/topics/orders", "{}", http.StatusOK, nil)
	a.fail("PUT", "/v1/topics/orders", `{"fifo": true}`, http.StatusConflict, "conflict")
	var list httpapi.TopicList
	a.ok("GET", "/v1/topics", "", http.StatusOK, &list)
	if !reflect.DeepEqual(list.Topics, []string{"orders"}) {
		t.Fatalf("list %+v", list)
	}
	a.create("audit", "")
	var sub httpapi.SubscriptionInfo
	a.ok("PUT", "/v1/topics/orders/subscriptions/to-audit", `{"kind": "queue", "queue": "audit", "raw": true}`, http.StatusCreated, &sub)
	if sub.Kind != "queue" || sub.Queue != "audit" || !sub.Raw || sub.Status != "active" {
		t.Fatalf("queue subscription %+v", sub)
	}
	a.ok("PUT", "/v1/topics/orders/subscriptions/eu", `{"kind": "durable", "filter_policy": {"region": ["eu"]}, "attributes": {"visibility_timeout": "1m"}}`, http.StatusCreated, &sub)
	if string(sub.FilterPolicy) != `{"region":["eu"]}` || sub.FilterScope != "attributes" || time_(sub.Attributes.VisibilityTimeout) != "1m0s" {
		t.Fatalf("durable subscription %+v", sub)
	}
	a.ok("PUT", "/v1/topics/orders/subscriptions/eu", `{"kind": "durable", "filter_policy": {"region": ["eu"]}, "attributes": {"visibility_timeout": "1m"}}`, http.StatusOK, nil)
	a.fail("PUT", "/v1/topics/orders/subscriptions/eu", `{"kind": "queue", "queue": "audit"}`, http.StatusConflict, "conflict")

	var sent httpapi.SendResponse
	a.ok("POST", "/v1/topics/orders/messages", `{"body": "to eu", "headers": {"region": "eu"}}`, http.StatusOK, &sent)
	if sent.ID == "" {
		t.Fatalf("publish answer %+v", sent)
	}
	a.ok("POST", "/v1/topics/orders/messages", `{"messages": [{"body": "to us", "headers": {"region": "us"}}, {"body": "x", "delay": "1s"}]}`, http.StatusBadRequest, nil)
	if got := a.receive("audit", `{"max": 10}`); len(got) != 1 || *got[0].Body != "to eu" {
		t.Fatalf("queue subscription received %+v", got)
	}
	var recv httpapi.ReceiveResponse
	a.ok("POST", "/v1/topics/orders/subscriptions/eu/receive", `{"max": 10}`, http.StatusOK, &recv)
	if len(recv.Messages) != 1 {
		t.Fatalf("durable receive %+v", recv)
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(*recv.Messages[0].Body), &env); err != nil || env["message_id"] != sent.ID || env["body"] != "to eu" {
		t.Fatalf("envelope %s (%v)", *recv.Messages[0].Body, err)
	}
	var settled httpapi.SettleResponse
	a.ok("POST", "/v1/topics/orders/subscriptions/eu/ack", `{"receipts": ["`+recv.Messages[0].Receipt+`"]}`, http.StatusOK, &settled)
	if len(settled.Failed) != 0 {
		t.Fatalf("ack %+v", settled)
	}
	var subs httpapi.SubscriptionList
	a.ok("GET", "/v1/topics/orders/subscriptions", "", http.StatusOK, &subs)
	if len(subs.Subscriptions) != 2 || subs.Subscriptions[0].Name != "eu" || subs.Subscriptions[0].Stats.Delivered != 1 {
		t.Fatalf("subscriptions %+v", subs)
	}
	// HTTP subscriptions are confirmed with the token their endpoint got.
	a.ok("PUT", "/v1/topics/orders/subscriptions/web", `{"kind": "http", "endpoint": "http://127.0.0.1:1/hook", "push": {"max_attempts": 1}}`, http.StatusCreated, &sub)
	if sub.Status != "pending_confirmation" || sub.Push == nil || sub.Push.MaxAttempts != 1 {
		t.Fatalf("http subscription %+v", sub)
	}
	a.fail("GET", "/v1/topics/orders/subscriptions/web/confirm?token=wrong", "", http.StatusBadRequest, "invalid_argument")
	a.fail("POST", "/v1/topics/orders/subscriptions/eu/confirm", `{"token": "x"}`, http.StatusBadRequest, "invalid_argument")
	a.ok("DELETE", "/v1/topics/orders/subscriptions/web", "", http.StatusNoContent, nil)
	a.fail("DELETE", "/v1/queues/audit", "", http.StatusConflict, "conflict") // still subscribed
	a.ok("DELETE", "/v1/topics/orders", "", http.StatusNoContent, nil)
	a.fail("GET", "/v1/topics/orders", "", http.StatusNotFound, "not_found")
}

func time_(d *httpapi.Duration) string {
	b, _ := json.Marshal(d)
	return strings.Trim(string(b), `"`)
}

// TestTailStream reads the NDJSON tail: a heartbeat first, then each
// matching message, and an end line when the topic is deleted.
func TestTailStream(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.ok("PUT", "/v1/topics/events", "", http.StatusCreated, nil)
	q := url.Values{"filter_policy": {`{"level": ["error"]}`}, "raw": {"true"}}
	req, err := http.NewRequestWithContext(t.Context(), "GET", a.url+"/v1/topics/events/tail?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("tail answered %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() httpapi.TailLine {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("tail stream ended: %v", lines.Err())
		}
		var l httpapi.TailLine
		if err := json.Unmarshal(lines.Bytes(), &l); err != nil {
			t.Fatalf("tail line %q: %v", lines.Text(), err)
		}
		return l
	}
	if l := next(); l.Type != "heartbeat" {
		t.Fatalf("first line %+v", l)
	}
	a.ok("POST", "/v1/topics/events/messages", `{"body": "fine", "headers": {"level": "info"}}`, http.StatusOK, nil)
	a.ok("POST", "/v1/topics/events/messages", `{"body": "disk full", "headers": {"level": "error"}}`, http.StatusOK, nil)
	if l := next(); l.Type != "message" || *l.Message.Body != "disk full" || l.Message.Receipt != "" {
		t.Fatalf("message line %+v", l)
	}
	a.ok("DELETE", "/v1/topics/events", "", http.StatusNoContent, nil)
	if l := next(); l.Type != "end" || l.Reason == "" {
		t.Fatalf("end line %+v", l)
	}
}

// TestTopicBadInput sends bad requests to every topic endpoint: each is
// refused with the documented status, code and field, and nothing changes.
func TestTopicBadInput(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.create("q", "")
	a.create("f.fifo", `{"fifo": true}`)
	a.ok("PUT", "/v1/topics/t", "", http.StatusCreated, nil)
	a.ok("PUT", "/v1/topics/t/subscriptions/d", `{"kind": "durable"}`, http.StatusCreated, nil)
	a.ok("POST", "/v1/topics/t/messages", `{"body": "m"}`, http.StatusOK, nil)
	before := topicState(a)
	const s = "/v1/topics/t/subscriptions"
	for _, c := range []badInput{
		{"PUT", "/v1/topics/bad%20name", "", 400, "invalid_argument", "name"},
		{"PUT", "/v1/topics/x", `{"fifo": "yes"}`, 400, "invalid_argument", "fifo"},
		{"PUT", "/v1/topics/x", `{"max_message_size": 1}`, 400, "invalid_argument", "max_message_size"},
		{"PUT", "/v1/topics/x", `{"colour": 1}`, 400, "invalid_argument", "colour"},
		{"PUT", "/v1/topics/t", `{"content_based_dedup": true}`, 409, "conflict", ""},
		{"GET", "/v1/topics/missing", "", 404, "not_found", ""},
		{"DELETE", "/v1/topics/missing", "", 404, "not_found", ""},
		{"POST", "/v1/topics/t/messages", "", 400, "invalid_argument", "body"},
		{"POST", "/v1/topics/t/messages", `{"body": "x", "delay": "1s"}`, 400, "invalid_argument", "delay"},
		{"POST", "/v1/topics/t/messages", `{"body": "x", "body_base64": "eA=="}`, 400, "invalid_argument", "body_base64"},
		{"POST", "/v1/topics/t/messages", `{"messages": []}`, 400, "invalid_argument", "messages"},
		{"POST", "/v1/topics/missing/messages", `{"body": "x"}`, 404, "not_found", ""},
		{"PUT", s + "/n", "", 400, "invalid_argument", "body"},
		{"PUT", s + "/n", `{}`, 400, "invalid_argument", "kind"},
		{"PUT", s + "/n", `{"kind": "pigeon"}`, 400, "invalid_argument", "kind"},
		{"PUT", s + "/n", `{"kind": "queue"}`, 400, "invalid_argument", "queue"},
		{"PUT", s + "/n", `{"kind": "queue", "queue": "missing"}`, 400, "invalid_argument", "queue"},
		{"PUT", s + "/n", `{"kind": "queue", "queue": "f.fifo"}`, 400, "invalid_argument", "queue"},
		{"PUT", s + "/n", `{"kind": "queue", "queue": "q", "endpoint": "http://x"}`, 400, "invalid_argument", "kind"},
		{"PUT", s + "/n", `{"kind": "queue", "queue": "q", "filter_policy": ["a"]}`, 400, "invalid_argument", "filter_policy"},
		{"PUT", s + "/n", `{"kind": "queue", "queue": "q", "filter_policy": {"a": "b"}}`, 400, "invalid_argument", "filter_policy"},
		{"PUT", s + "/n", `{"kind": "queue", "queue": "q", "filter_scope": "headers"}`, 400, "invalid_argument", "filter_scope"},
		{"PUT", s + "/n", `{"kind": "durable", "attributes": {"visibility_timeout": "13h"}}`, 400, "invalid_argument", "attributes.visibility_timeout"},
		{"PUT", s + "/n", `{"kind": "durable", "attributes": {"max_receives": 3, "dead_letter_queue": "missing"}}`, 400, "invalid_argument", "attributes.dead_letter_queue"},
		{"PUT", s + "/n", `{"kind": "http"}`, 400, "invalid_argument", "endpoint"},
		{"PUT", s + "/n", `{"kind": "http", "endpoint": "ftp://x/y"}`, 400, "invalid_argument", "endpoint"},
		{"PUT", s + "/n", `{"kind": "http", "endpoint": "http://x", "push": {"max_attempts": 101}}`, 400, "invalid_argument", "push.max_attempts"},
		{"PUT", s + "/n", `{"kind": "http", "endpoint": "http://x", "push": {"min_delay": "2h"}}`, 400, "invalid_argument", "push.min_delay"},
		{"PUT", s + "/n", `{"kind": "http", "endpoint": "http://x", "push": {"concurrency": 65}}`, 400, "invalid_argument", "push.concurrency"},
		{"PUT", s + "/n", `{"kind": "http", "endpoint": "http://x", "push": {"dead_letter_queue": "missing"}}`, 400, "invalid_argument", "push.dead_letter_queue"},
		{"PUT", s + "/bad%20sub", `{"kind": "durable"}`, 400, "invalid_argument", "sub"},
		{"PUT", "/v1/topics/missing/subscriptions/n", `{"kind": "durable"}`, 404, "not_found", ""},
		{"PUT", s + "/d", `{"kind": "queue", "queue": "q"}`, 409, "conflict", ""},
		{"GET", s + "/missing", "", 404, "not_found", ""},
		{"DELETE", s + "/missing", "", 404, "not_found", ""},
		{"POST", s + "/d/confirm", `{"token": "x"}`, 400, "invalid_argument", "name"},
		{"GET", s + "/d/confirm", "", 400, "invalid_argument", "token"},
		{"POST", s + "/d/receive", `{"max": 0}`, 400, "invalid_argument", "max"},
		{"POST", s + "/d/receive", `{"wait": "1h"}`, 400, "invalid_argument", "wait"},
		{"POST", s + "/d/ack", `{}`, 400, "invalid_argument", "receipts"},
		{"POST", s + "/d/ack", `{"receipts": ["x"], "delay": "1s"}`, 400, "invalid_argument", "body"},
		{"POST", s + "/d/extend", `{"receipts": ["x"]}`, 400, "invalid_argument", "visibility"},
		{"POST", s + "/missing/receive", `{}`, 404, "not_found", ""},
		{"GET", "/v1/topics/t/tail?buffer=0", "", 400, "invalid_argument", "buffer"},
		{"GET", "/v1/topics/t/tail?buffer=x", "", 400, "invalid_argument", "buffer"},
		{"GET", "/v1/topics/t/tail?overflow=explode", "", 400, "invalid_argument", "overflow"},
		{"GET", "/v1/topics/t/tail?raw=maybe", "", 400, "invalid_argument", "raw"},
		{"GET", "/v1/topics/t/tail?filter_policy=%7B", "", 400, "invalid_argument", "filter_policy"},
		{"GET", "/v1/topics/t/tail?colour=red", "", 400, "invalid_argument", "colour"},
		{"GET", "/v1/topics/missing/tail", "", 404, "not_found", ""},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		status, ctype, data := a.send(c.method, c.path, body)
		name := c.method + " " + c.path + " " + c.body
		if status != c.status {
			t.Errorf("%s: status %d, want %d; answer %s", name, status, c.status, data)
			continue
		}
		e := apiError(t, ctype, data)
		if e.Code != c.code || e.Field != c.field {
			t.Errorf("%s: code %q field %q, want %q %q; answer %s", name, e.Code, e.Field, c.code, c.field, data)
		}
	}
	if after := topicState(a); !reflect.DeepEqual(after, before) {
		t.Errorf("bad input changed the broker:\nbefore %+v\nafter  %+v", before, after)
	}
}

// topicState is what bad topic input must not change.
func topicState(a *api) map[string]any {
	a.t.Helper()
	out := map[string]any{"queues": a.state()}
	var list httpapi.TopicList
	a.ok("GET", "/v1/topics", "", http.StatusOK, &list)
	for _, n := range list.Topics {
		var info httpapi.TopicInfo
		a.ok("GET", "/v1/topics/"+n, "", http.StatusOK, &info)
		var subs httpapi.SubscriptionList
		a.ok("GET", "/v1/topics/"+n+"/subscriptions", "", http.StatusOK, &subs)
		for i := range subs.Subscriptions {
			subs.Subscriptions[i].Stats.Backlog.OldestAge = 0 // ages as time passes
		}
		out[n] = []any{info, subs}
	}
	return out
}

// FuzzDecodeSubscription feeds arbitrary bodies to the subscription
// decoder: it fails only with a field-naming validation error, and what it
// accepts survives a round trip through the JSON form.
func FuzzDecodeSubscription(f *testing.F) {
	for _, s := range []string{
		`{"kind": "queue", "queue": "q", "filter_policy": {"a": ["b"]}, "raw": true}`,
		`{"kind": "durable", "attributes": {"visibility_timeout": "1m"}, "filter_scope": "body", "filter_policy": {"x": {"y": [{"numeric": [">", 1]}]}}}`,
		`{"kind": "http", "endpoint": "https://example.com/hook", "push": {"max_attempts": 3, "min_delay": "10ms"}}`,
		`{"kind": "queue"}`, `[]`, `{"filter_policy": 7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sub, err := server.DecodeSubscription(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		encoded, err := httpapi.Marshal(httpapi.SubscriptionJSON(sub))
		if err != nil {
			t.Fatal(err)
		}
		again, err := server.DecodeSubscription(encoded)
		if err != nil {
			t.Fatalf("re-encoded subscription refused: %v", err)
		}
		if !reflect.DeepEqual(again, sub) {
			t.Fatalf("subscription changed: %+v vs %+v", again, sub)
		}
	})
}

// FuzzParseTailQuery feeds arbitrary query strings to the tail options
// parser.
func FuzzParseTailQuery(f *testing.F) {
	for _, s := range []string{"raw=true&buffer=10&overflow=block", "filter_policy=%7B%22a%22%3A%5B%22b%22%5D%7D", "buffer=-1", "x=1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		o, err := server.ParseTailQuery(q)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if o.Buffer < 1 || o.Buffer > driver.MaxTailBuffer || (o.Overflow != driver.DropOldest && o.Overflow != driver.Block) {
			t.Fatalf("accepted options out of range: %+v", o)
		}
	})
}
