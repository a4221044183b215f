package redis_test

import (
	"errors"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// TestPeek shows a queue's messages in every state, oldest first, without
// receiving them.
func TestPeek(t *testing.T) {
	b := open(t, serverURL(t))
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
	ms, err := q.Peek(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ body, state string }{{"first", "in_flight"}, {"second", "visible"}, {"later", "delayed"}}
	if len(ms) != len(want) {
		t.Fatalf("peeked %d messages", len(ms))
	}
	for i, m := range ms {
		if string(m.Body) != want[i].body || m.State != want[i].state || m.Receipt != "" || (m.State == "visible") != m.VisibleAt.IsZero() {
			t.Errorf("message %d: %q %s visible at %v, receipt %q; want %q %s", i, m.Body, m.State, m.VisibleAt, m.Receipt, want[i].body, want[i].state)
		}
	}
	if ms[0].ReceiveCount != 1 || ms[1].ReceiveCount != 0 || !ms[1].FirstReceivedAt.IsZero() {
		t.Errorf("receive counts %d, %d after a peek; want 1, 0", ms[0].ReceiveCount, ms[1].ReceiveCount)
	}
	ds, err := q.Receive(ctx, courier.Max(10))
	if err != nil || len(ds) != 1 || string(ds[0].Body) != "second" || ds[0].ReceiveCount != 1 {
		t.Fatalf("receive after the peek: %v, %v", ds, err)
	}
	if _, err := b.Queue("missing").Peek(ctx, 10); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("peek of a missing queue: %v", err)
	}
}
