package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

// publishREST publishes bodies to a topic over REST, one message each.
func (e *wsEnv) publishREST(topic string, bodies ...string) {
	e.t.Helper()
	for _, b := range bodies {
		e.ok("POST", "/v1/topics/"+topic+"/messages", jsonText(e.t, map[string]any{"body": b}), http.StatusOK, nil)
	}
}

// subID returns the "sub" of a subscribe result.
func subID(t *testing.T, result json.RawMessage) string {
	t.Helper()
	var r struct{ Sub string }
	wsMust(t, json.Unmarshal(result, &r))
	if r.Sub == "" {
		t.Fatalf("subscribe answered %s, want a sub", result)
	}
	return r.Sub
}

// wantBody checks a pushed message of sub.
func wantBody(t *testing.T, f wsIn, sub, body string) {
	t.Helper()
	if f.Op != "message" || f.Sub != sub || f.Message == nil || f.Message.Body == nil || *f.Message.Body != body {
		t.Fatalf("got %s, want message %q of %s", jsonText(t, f), body, sub)
	}
}

func TestWSTopicSubscription(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{})
	e.ok("PUT", "/v1/topics/logs", "", http.StatusCreated, nil)
	c := e.dial()
	all := subID(t, c.ok(map[string]any{"op": "subscribe", "topic": "logs", "raw": true}))
	errs := subID(t, c.ok(map[string]any{"op": "subscribe", "sub": "errors", "topic": "logs", "raw": true, "filter_policy": map[string]any{"level": []string{"error"}}}))
	if errs != "errors" || all == errs {
		t.Fatalf("subscription ids %q and %q", all, errs)
	}
	e.ok("POST", "/v1/topics/logs/messages", `{"body":"disk full","headers":{"level":"error"}}`, http.StatusOK, nil)
	e.ok("POST", "/v1/topics/logs/messages", `{"body":"started","headers":{"level":"info"}}`, http.StatusOK, nil)
	got := map[string][]string{}
	for range 3 {
		f := c.push()
		got[f.Sub] = append(got[f.Sub], *f.Message.Body)
	}
	if strings.Join(got[all], ",") != "disk full,started" || strings.Join(got["errors"], ",") != "disk full" {
		t.Fatalf("deliveries %v", got)
	}
	c.quiet()

	// A publish over the WebSocket reaches the connection's own tail.
	c.ok(map[string]any{"op": "unsubscribe", "sub": "errors"})
	c.ok(map[string]any{"op": "publish", "topic": "logs", "body": "self"})
	wantBody(t, c.push(), all, "self")
	// After unsubscribe's answer, nothing more of it.
	c.ok(map[string]any{"op": "unsubscribe", "sub": all})
	e.publishREST("logs", "late")
	c.quiet()
	c.fail(map[string]any{"op": "unsubscribe", "sub": all}, "not_found", "")

	// Raw, body filter, a subscription id in use, a missing topic.
	subID(t, c.ok(map[string]any{"op": "subscribe", "sub": "b", "topic": "logs", "raw": true, "filter_policy": map[string]any{"n": []any{map[string]any{"numeric": []any{">", 1}}}}, "filter_scope": "body"}))
	c.fail(map[string]any{"op": "subscribe", "sub": "b", "topic": "logs"}, "invalid_argument", "sub")
	c.fail(map[string]any{"op": "subscribe", "topic": "nope"}, "not_found", "")
	e.publishREST("logs", `{"n":1}`, `{"n":2}`)
	wantBody(t, c.push(), "b", `{"n":2}`)
	// Without raw, bodies come in the topic's JSON envelope.
	env := subID(t, c.ok(map[string]any{"op": "subscribe", "topic": "logs", "filter_policy": map[string]any{"n": []any{map[string]any{"numeric": []any{">", 2}}}}, "filter_scope": "body"}))
	e.publishREST("logs", `{"n":3}`)
	got = map[string][]string{}
	for range 2 {
		f := c.push()
		got[f.Sub] = append(got[f.Sub], *f.Message.Body)
	}
	var envelope struct{ Type, Topic, Body string }
	wsMust(t, json.Unmarshal([]byte(got[env][0]), &envelope))
	if envelope.Type != "Notification" || envelope.Topic != "logs" || envelope.Body != `{"n":3}` || got["b"][0] != `{"n":3}` {
		t.Fatalf("deliveries %v", got)
	}
	c.ok(map[string]any{"op": "unsubscribe", "sub": env})

	// Deleting the topic ends its subscriptions with an "end" frame.
	e.ok("DELETE", "/v1/topics/logs", "", http.StatusNoContent, nil)
	if f := c.push(); f.Op != "end" || f.Sub != "b" || f.Error == nil || f.Error.Code != "closed" {
		t.Fatalf("got %s, want the end of b", jsonText(t, f))
	}
	c.fail(map[string]any{"op": "credit", "sub": "b", "credit": 1}, "not_found", "")
}

func TestWSCreditFlowControl(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{MaxCredit: 1000})
	e.ok("PUT", "/v1/topics/t", "", http.StatusCreated, nil)
	c := e.dial()
	sub := subID(t, c.ok(map[string]any{"op": "subscribe", "topic": "t", "credit": 2, "raw": true}))
	e.publishREST("t", "m1", "m2", "m3", "m4", "m5")
	wantBody(t, c.push(), sub, "m1")
	wantBody(t, c.push(), sub, "m2")
	c.quiet() // m3 waits: no credit

	var cr struct{ Credit int }
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "credit", "sub": sub, "credit": 1}), &cr))
	if cr.Credit != 1 {
		t.Fatalf("credit answered %+v, want 1", cr)
	}
	wantBody(t, c.push(), sub, "m3")
	c.quiet()
	c.ok(map[string]any{"op": "credit", "sub": sub, "credit": 10})
	wantBody(t, c.push(), sub, "m4")
	wantBody(t, c.push(), sub, "m5")
	c.quiet()
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "credit", "sub": sub, "credit": 2}), &cr))
	if cr.Credit != 10 { // 8 left, 2 more
		t.Fatalf("credit answered %+v, want 10", cr)
	}
	c.fail(map[string]any{"op": "credit", "sub": sub, "credit": 991}, "too_large", "credit")
	c.fail(map[string]any{"op": "subscribe", "topic": "t", "credit": 1001}, "too_large", "credit")

	// Credit 0: nothing until credit comes. A queue subscription receives
	// no more than its credit: the rest stays visible in the queue.
	e.create("jobs", "")
	for i := range 3 {
		e.sendOne("jobs", fmt.Sprintf(`{"body":"j%d"}`, i))
	}
	q := subID(t, c.ok(map[string]any{"op": "subscribe", "queue": "jobs", "credit": 0}))
	c.quiet()
	e.wantStats("jobs", 3, 0, 0)
	c.ok(map[string]any{"op": "credit", "sub": q, "credit": 1})
	if f := c.push(); f.Sub != q || f.Message.Receipt == "" {
		t.Fatalf("got %s, want a delivery with a receipt", jsonText(t, f))
	}
	c.quiet()
	e.wantStats("jobs", 2, 1, 0)
}

func TestWSQueueAckNack(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{})
	e.create("jobs", "")
	c := e.dial()
	sub := subID(t, c.ok(map[string]any{"op": "subscribe", "queue": "jobs", "credit": 10, "visibility": "1m"}))
	e.sendOne("jobs", `{"body":"a"}`)
	e.sendOne("jobs", `{"body":"b"}`)
	first, second := c.push(), c.push()
	if first.Message.ReceiveCount != 1 || second.Message.ReceiveCount != 1 {
		t.Fatalf("deliveries %s %s", jsonText(t, first), jsonText(t, second))
	}
	var settled httpapi.SettleResponse
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "ack", "sub": sub, "receipts": []string{first.Message.Receipt}}), &settled))
	if len(settled.Failed) != 0 {
		t.Fatalf("ack answered %+v", settled)
	}
	// Nack: the message comes back at once, counted as another receive.
	c.ok(map[string]any{"op": "nack", "sub": sub, "receipts": []string{second.Message.Receipt}})
	again := c.push()
	if again.Message.ID != second.Message.ID || again.Message.ReceiveCount != 2 || again.Message.Receipt == second.Message.Receipt {
		t.Fatalf("redelivery %s of %s", jsonText(t, again), jsonText(t, second))
	}
	// A stale receipt fails alone, as in REST.
	wsMust(t, json.Unmarshal(c.ok(map[string]any{"op": "ack", "queue": "jobs", "receipts": []string{second.Message.Receipt, again.Message.Receipt}}), &settled))
	if len(settled.Failed) != 1 || settled.Failed[0].Index != 0 || settled.Failed[0].Code != "receipt_invalid" {
		t.Fatalf("ack answered %s", jsonText(t, settled))
	}
	e.wantStats("jobs", 0, 0, 0)

	// Unsubscribing leaves unacked deliveries in flight: they come back
	// after their visibility timeout (not acked by the server).
	e.sendOne("jobs", `{"body":"c"}`)
	d := c.push()
	e.ok("PUT", "/v1/topics/t", "", http.StatusCreated, nil)
	tail := subID(t, c.ok(map[string]any{"op": "subscribe", "topic": "t"}))
	c.fail(map[string]any{"op": "ack", "sub": tail, "receipts": []string{d.Message.Receipt}}, "invalid_argument", "sub")
	c.ok(map[string]any{"op": "unsubscribe", "sub": sub})
	e.wantStats("jobs", 0, 1, 0)
	c.fail(map[string]any{"op": "ack", "sub": sub, "receipts": []string{d.Message.Receipt}}, "not_found", "")
	// Settling by queue name works without a subscription.
	c.ok(map[string]any{"op": "extend", "queue": "jobs", "receipts": []string{d.Message.Receipt}, "visibility": "2m"})
	c.ok(map[string]any{"op": "ack", "queue": "jobs", "receipts": []string{d.Message.Receipt}})
	e.wantStats("jobs", 0, 0, 0)
	c.fail(map[string]any{"op": "subscribe", "queue": "nope"}, "not_found", "")
}

func TestWSDurableSubscription(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{})
	e.ok("PUT", "/v1/topics/orders", "", http.StatusCreated, nil)
	e.ok("PUT", "/v1/topics/orders/subscriptions/audit", `{"kind":"durable","raw":true}`, http.StatusCreated, nil)
	c := e.dial()
	e.publishREST("orders", "o1", "o2")
	sub := subID(t, c.ok(map[string]any{"op": "subscribe", "topic": "orders", "subscription": "audit", "credit": 5}))
	d1, d2 := c.push(), c.push()
	bodies := *d1.Message.Body + "," + *d2.Message.Body
	if bodies != "o1,o2" && bodies != "o2,o1" {
		t.Fatalf("durable deliveries %s", bodies)
	}
	c.ok(map[string]any{"op": "ack", "sub": sub, "receipts": []string{d1.Message.Receipt}})
	c.ok(map[string]any{"op": "nack", "topic": "orders", "subscription": "audit", "receipts": []string{d2.Message.Receipt}, "delay": "0s"})
	if again := c.push(); again.Message.ID != d2.Message.ID || again.Message.ReceiveCount != 2 {
		t.Fatalf("redelivery %s", jsonText(t, again))
	}
	c.fail(map[string]any{"op": "subscribe", "topic": "orders", "subscription": "nope"}, "not_found", "")
	e.create("q", "")
	e.ok("PUT", "/v1/topics/orders/subscriptions/toq", `{"kind":"queue","queue":"q"}`, http.StatusCreated, nil)
	c.fail(map[string]any{"op": "subscribe", "topic": "orders", "subscription": "toq"}, "invalid_argument", "subscription")
}

func TestWSStreamSubscription(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{})
	e.ok("PUT", "/v1/streams/clicks", `{"partitions":2}`, http.StatusCreated, nil)
	appendValues := func(partition int, values ...string) {
		recs := make([]map[string]any, len(values))
		for i, v := range values {
			recs[i] = map[string]any{"value": v, "partition": partition}
		}
		e.ok("POST", "/v1/streams/clicks/records", jsonText(t, map[string]any{"records": recs}), http.StatusOK, nil)
	}
	var first []string
	for i := range 20 {
		first = append(first, fmt.Sprintf("v%d", i))
	}
	appendValues(1, first...)
	appendValues(0, "other")
	before := time.Now()
	c := e.dial()
	wantRecord := func(f wsIn, sub string, offset int64, value string) {
		t.Helper()
		if f.Op != "message" || f.Sub != sub || f.Record == nil || f.Record.Offset != offset || f.Record.Partition != 1 || *f.Record.Value != value {
			t.Fatalf("got %s, want record %d %q of %s", jsonText(t, f), offset, value, sub)
		}
	}
	// From the earliest record, in order, credit by credit.
	all := subID(t, c.ok(map[string]any{"op": "subscribe", "stream": "clicks", "partition": 1, "from": "earliest", "credit": 7}))
	for o := range 20 {
		wantRecord(c.push(), all, int64(o), fmt.Sprintf("v%d", o))
		if o%7 == 6 {
			c.quiet() // no record past the credit
			c.ok(map[string]any{"op": "credit", "sub": all, "credit": 7})
		}
	}
	c.quiet()
	// The default, "latest", sees only what comes after the subscribe; an
	// offset starts there.
	live := subID(t, c.ok(map[string]any{"op": "subscribe", "stream": "clicks", "partition": 1, "credit": 100}))
	from := subID(t, c.ok(map[string]any{"op": "subscribe", "stream": "clicks", "partition": 1, "from": map[string]any{"offset": 15}}))
	for o := 15; o < 20; o++ {
		wantRecord(c.push(), from, int64(o), fmt.Sprintf("v%d", o))
	}
	c.quiet()
	appendValues(1, "new")
	got := map[string]bool{}
	for range 3 {
		f := c.push()
		wantRecord(f, f.Sub, 20, "new")
		got[f.Sub] = true
	}
	if !got[all] || !got[live] || !got[from] {
		t.Fatalf("the new record reached %v", got)
	}
	// From a time: records appended at or after it.
	at := subID(t, c.ok(map[string]any{"op": "subscribe", "stream": "clicks", "partition": 1, "from": map[string]any{"time": before}}))
	wantRecord(c.push(), at, 20, "new")
	c.fail(map[string]any{"op": "subscribe", "stream": "clicks", "partition": 2}, "invalid_argument", "partition")
	c.fail(map[string]any{"op": "subscribe", "stream": "nope"}, "not_found", "")
}

func TestWSMaxSubscriptions(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{MaxSubscriptions: 2})
	e.ok("PUT", "/v1/topics/t", "", http.StatusCreated, nil)
	c := e.dial()
	c.ok(map[string]any{"op": "subscribe", "topic": "t"})
	s2 := subID(t, c.ok(map[string]any{"op": "subscribe", "topic": "t"}))
	c.fail(map[string]any{"op": "subscribe", "topic": "t"}, "too_large", "sub")
	c.ok(map[string]any{"op": "unsubscribe", "sub": s2})
	c.ok(map[string]any{"op": "subscribe", "topic": "t"})
}

// TestWSFanoutIntegrity publishes numbered messages to clients that read
// with credit windows: each gets every message once, intact and in order
// (one publisher), across batched writes.
func TestWSFanoutIntegrity(t *testing.T) {
	const clients, messages, window = 8, 3000, 64
	e := newWSEnv(t, server.WSConfig{})
	e.ok("PUT", "/v1/topics/fan", "", http.StatusCreated, nil)
	cs := make([]*wsClient, clients)
	for i := range cs {
		cs[i] = e.dial()
		cs[i].ok(map[string]any{"op": "subscribe", "sub": "f", "topic": "fan", "raw": true, "overflow": "block", "credit": window})
	}
	done := make(chan error, clients)
	for _, c := range cs {
		go func() {
			// Read straight from the frames: c.next is for the test goroutine.
			granted := window
			for want := 0; want < messages; want++ {
				var f wsIn
				for f.Op != "message" {
					select {
					case f = <-c.frames:
					case <-time.After(wsWait):
						done <- fmt.Errorf("message %d: nothing within %v", want, wsWait)
						return
					}
				}
				if body := fmt.Sprintf("m%05d-%s", want, strings.Repeat("x", want%300)); f.Message == nil || f.Message.Body == nil || *f.Message.Body != body {
					done <- fmt.Errorf("message %d: got %s", want, jsonText(t, f))
					return
				}
				if want+1 == granted-window/2 { // half the window used: grant another half
					c.write(jsonText(t, map[string]any{"op": "credit", "sub": "f", "credit": window / 2}))
					granted += window / 2
				}
			}
			done <- nil
		}()
	}
	for sent := 0; sent < messages; {
		batch := make([]map[string]any, min(100, messages-sent))
		for i := range batch {
			n := sent + i
			batch[i] = map[string]any{"body": fmt.Sprintf("m%05d-%s", n, strings.Repeat("x", n%300))}
		}
		e.ok("POST", "/v1/topics/fan/messages", jsonText(t, map[string]any{"messages": batch}), http.StatusOK, nil)
		sent += len(batch)
	}
	for range cs {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
