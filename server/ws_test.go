package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

func TestWSPublishSendAppendPutEvents(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{})
	e.create("jobs", "")
	e.ok("PUT", "/v1/topics/news", "", http.StatusCreated, nil)
	e.ok("PUT", "/v1/topics/news/subscriptions/copy", `{"kind":"queue","queue":"jobs"}`, http.StatusCreated, nil)
	e.ok("PUT", "/v1/streams/clicks", `{"partitions":2}`, http.StatusCreated, nil)
	c := e.dial()

	// send: one message, then a batch; the results are REST's.
	var one httpapi.SendResponse
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "send", "queue": "jobs", "body": "hello", "headers": map[string]string{"k": "v"}}), &one))
	if one.ID == "" {
		t.Fatalf("send answered %+v, want an id", one)
	}
	var batch httpapi.SendResponse
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "send", "queue": "jobs", "messages": []map[string]any{{"body": "a"}, {"body_base64": "/wA="}}}), &batch))
	if len(batch.IDs) != 2 || len(batch.Results) != 2 {
		t.Fatalf("batch send answered %+v", batch)
	}
	// publish reaches the queue subscribed to the topic.
	var pub httpapi.SendResponse
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "publish", "topic": "news", "body": "extra"}), &pub))
	if pub.ID == "" {
		t.Fatalf("publish answered %+v", pub)
	}
	e.wantStats("jobs", 4, 0, 0)
	ds := e.receive("jobs", `{"max":10}`)
	bodies := map[string]bool{}
	for _, d := range ds {
		if d.Body != nil {
			bodies[*d.Body] = true
		} else {
			bodies["b64:"+*d.BodyBase64] = true
		}
	}
	for _, want := range []string{"hello", "a", "b64:/wA="} {
		if !bodies[want] {
			t.Errorf("queue lacks %q: %v", want, bodies)
		}
	}

	// append: offsets per record.
	var app httpapi.AppendResponse
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "append", "stream": "clicks", "records": []map[string]any{
		{"key": "k", "value": "v1", "partition": 1}, {"value": "v2", "partition": 1},
	}}), &app))
	if len(app.Offsets) != 2 || app.Offsets[0].Partition != 1 || app.Offsets[1].Offset != app.Offsets[0].Offset+1 {
		t.Fatalf("append answered %+v", app)
	}

	// put_events: the default bus, a per-entry failure as in REST.
	var put httpapi.PutEventsResponse
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "put_events", "entries": []map[string]any{
		{"source": "shop", "detail-type": "order", "detail": map[string]any{"n": 1}},
		{"source": "shop", "detail-type": "order", "detail": map[string]any{"n": 2}, "time": "yesterday"},
	}}), &put))
	if len(put.Entries) != 2 || put.Entries[0].ID == "" || put.FailedEntryCount != 1 || put.Entries[1].Error == nil || put.Entries[1].Error.Field != "entries[1].time" {
		t.Fatalf("put_events answered %s", jsonText(t, put))
	}

	// Errors carry the error table's code; the connection stays usable.
	c.fail(map[string]any{"op": "send", "queue": "nope", "body": "x"}, "not_found", "")
	var bad httpapi.AppendResponse // a refused record fails alone, as in REST
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "append", "stream": "clicks", "records": []map[string]any{{"value": "x", "partition": 7}}}), &bad))
	if len(bad.Offsets) != 1 || bad.Offsets[0].Error == nil || bad.Offsets[0].Error.Field != "records[0].partition" {
		t.Fatalf("append to a missing partition answered %s", jsonText(t, bad))
	}
	c.fail(map[string]any{"op": "put_events", "bus": "nope", "entries": []map[string]any{{"source": "s", "detail-type": "d", "detail": map[string]any{}}}}, "not_found", "")
	if a := c.do(map[string]any{"op": "ping"}); a.Op != "pong" {
		t.Fatalf("ping answered %+v", a)
	}
}

func TestWSInvalidFrames(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{})
	c := e.dial()
	for _, tc := range []struct {
		frame, code, field string
	}{
		{`{"op":"publish","topic":"t","body":`, "invalid_argument", "frame"},
		{`[1,2]`, "invalid_argument", "frame"},
		{`null`, "invalid_argument", "frame"},
		{`{}`, "invalid_argument", "op"},
		{`{"op":"jump"}`, "invalid_argument", "op"},
		{`{"op":"ping","bogus":1}`, "invalid_argument", "bogus"},
		{`{"op":"send","body":"x"}`, "invalid_argument", "queue"},
		{`{"op":"send","queue":"q","topic":"t"}`, "invalid_argument", "topic"},
		{`{"op":"publish","topic":"t","delay":"soon"}`, "invalid_argument", "delay"},
		{`{"op":"publish","topic":"bad name"}`, "invalid_argument", "topic"},
		{`{"op":"publish","topic":"t","body":"x","messages":[{"body":"y"}]}`, "invalid_argument", "messages"},
		{`{"op":"send","queue":"q","messages":[{"body_base64":"!"}]}`, "invalid_argument", "messages[0].body_base64"},
		{`{"op":"append","stream":"s"}`, "invalid_argument", "records"},
		{`{"op":"put_events","entries":[]}`, "invalid_argument", "entries"},
		{`{"op":"subscribe"}`, "invalid_argument", "topic"},
		{`{"op":"subscribe","topic":"t","queue":"q"}`, "invalid_argument", "queue"},
		{`{"op":"subscribe","queue":"q","raw":true}`, "invalid_argument", "raw"},
		{`{"op":"subscribe","stream":"s","visibility":"1s"}`, "invalid_argument", "visibility"},
		{`{"op":"subscribe","topic":"t","credit":-1}`, "invalid_argument", "credit"},
		{`{"op":"subscribe","topic":"t","filter_policy":[1]}`, "invalid_argument", "filter_policy"},
		{`{"op":"subscribe","topic":"t","filter_policy":{"a":"b"}}`, "invalid_argument", "filter_policy"},
		{`{"op":"subscribe","topic":"t","overflow":"spill"}`, "invalid_argument", "overflow"},
		{`{"op":"subscribe","sub":"a b","topic":"t"}`, "invalid_argument", "sub"},
		{`{"op":"subscribe","stream":"s","from":"middle"}`, "invalid_argument", "from"},
		{`{"op":"credit","sub":"s1"}`, "invalid_argument", "credit"},
		{`{"op":"credit","sub":"s1","credit":0}`, "invalid_argument", "credit"},
		{`{"op":"unsubscribe"}`, "invalid_argument", "sub"},
		{`{"op":"ack","receipts":["r"]}`, "invalid_argument", "sub"},
		{`{"op":"ack","queue":"q","receipts":[]}`, "invalid_argument", "receipts"},
		{`{"op":"ack","queue":"q","sub":"s","receipts":["r"]}`, "invalid_argument", "sub"},
		{`{"op":"extend","queue":"q","receipts":["r"]}`, "invalid_argument", "visibility"},
		{`{"op":"ack","topic":"t","receipts":["r"]}`, "invalid_argument", "subscription"},
		{`{"op":"ping","id":"` + strings.Repeat("i", 300) + `"}`, "invalid_argument", "id"},
	} {
		c.write(tc.frame)
		a := c.next()
		if a.Op != "error" || a.Error == nil || a.Error.Code != tc.code || a.Error.Field != tc.field {
			t.Errorf("%s answered %+v (error %+v), want %s on field %q", tc.frame, a, a.Error, tc.code, tc.field)
		}
	}
	// The id comes back with an error when it could be read.
	c.write(`{"op":"send","id":"x1","queue":"q","delay":5}`)
	if a := c.next(); a.ID != "x1" || a.Error == nil || a.Error.Field != "delay" {
		t.Errorf("answered %+v (error %+v), want id x1 and field delay", a, a.Error)
	}
	c.fail(map[string]any{"op": "unsubscribe", "sub": "none"}, "not_found", "")
	c.fail(map[string]any{"op": "credit", "sub": "none", "credit": 1}, "not_found", "")
	c.quiet() // still open
}

// TestWSAuthorization: with authentication on, the upgrade needs a token
// (?access_token= for browsers), and each frame is checked against the
// resource it names.
func TestWSAuthorization(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{}, server.WithIdentities(server.Identity{
		Name: "app", TokenHash: server.HashToken("s3cret"),
		Allow: []server.Grant{
			{Actions: []server.Action{server.ActionPublish, server.ActionConsume}, Resource: "topic:app-*"},
			{Actions: []server.Action{server.ActionConsume}, Resource: "queue:jobs"},
		},
	}))
	for _, name := range []string{"app-events", "other"} {
		if _, err := e.b.CreateTopic(t.Context(), name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.b.CreateQueue(t.Context(), "jobs"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), wsWait)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, e.wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial without a token: %v, want 401", err)
	}
	url := e.wsURL
	e.wsURL += "?access_token=s3cret"
	defer func() { e.wsURL = url }()
	c := e.dial()
	c.ok(map[string]any{"op": "publish", "topic": "app-events", "body": "x"})
	c.ok(map[string]any{"op": "subscribe", "topic": "app-events"})
	c.ok(map[string]any{"op": "subscribe", "queue": "jobs"})
	c.fail(map[string]any{"op": "publish", "topic": "other", "body": "x"}, "permission_denied", "")
	c.fail(map[string]any{"op": "subscribe", "topic": "other"}, "permission_denied", "")
	c.fail(map[string]any{"op": "send", "queue": "jobs", "body": "x"}, "permission_denied", "")
	c.fail(map[string]any{"op": "ack", "queue": "other", "receipts": []string{"r"}}, "permission_denied", "")
	c.quiet()
}

// TestWSRateLimit checks that every frame counts against the identity's
// rate: past its burst a frame is answered rate_limited with a retry
// delay and not carried out, and the connection stays open.
func TestWSRateLimit(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{}, server.WithIdentities(server.Identity{
		Name: "app", TokenHash: server.HashToken("s3cret"), Rate: 0.001, Burst: 3,
		Allow: []server.Grant{{Actions: []server.Action{server.ActionPublish}, Resource: "topic:t"}},
	}))
	if _, err := e.b.CreateTopic(t.Context(), "t"); err != nil {
		t.Fatal(err)
	}
	e.wsURL += "?access_token=s3cret" // the upgrade request takes the first token
	c := e.dial()
	c.ok(map[string]any{"op": "publish", "topic": "t", "body": "1"})
	c.ok(map[string]any{"op": "publish", "topic": "t", "body": "2"})
	in := c.do(map[string]any{"op": "publish", "topic": "t", "body": "3"})
	if in.Op != "error" || in.Error == nil || in.Error.Code != "rate_limited" || in.RetryAfterMs <= 0 {
		t.Fatalf("a frame over the rate: %+v", in)
	}
	info, err := e.b.Topic("t").Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Stats.Published != 2 {
		t.Fatalf("published %d, want 2: the refused frame was carried out", info.Stats.Published)
	}
	in = c.do(map[string]any{"op": "ping"})
	if in.Op != "error" || in.Error.Code != "rate_limited" {
		t.Fatalf("the connection after a refused frame: %+v", in)
	}
}
