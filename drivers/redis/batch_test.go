package redis_test

import (
	"fmt"
	"testing"

	"github.com/courier-io/courier"
)

// TestLargestBatches sends, receives and acks batches of the largest size
// (1000), in a standard and a FIFO queue, and publishes one to a topic with
// several subscriptions: the scripts' argument lists stay within Lua's
// limits.
func TestLargestBatches(t *testing.T) {
	b := open(t, serverURL(t))
	ctx := t.Context()
	msgs := make([]courier.Message, 1000)
	for i := range msgs {
		msgs[i] = courier.Message{Body: fmt.Appendf(nil, "%04d", i), Group: fmt.Sprintf("g%d", i%7), Headers: map[string]string{"i": fmt.Sprint(i)}}
	}
	for _, opts := range [][]courier.QueueOption{nil, {courier.FIFO()}} {
		name := "standard"
		if opts != nil {
			name = "q.fifo"
		}
		q, err := b.CreateQueue(ctx, name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.SendBatch(ctx, msgs); err != nil {
			t.Fatalf("%s: send 1000: %v", name, err)
		}
		ds, err := q.Receive(ctx, courier.Max(1000))
		if err != nil || len(ds) != 1000 {
			t.Fatalf("%s: receive 1000 = %d (%v)", name, len(ds), err)
		}
		receipts := make([]string, len(ds))
		for i, d := range ds {
			receipts[i] = d.Receipt
		}
		if err := q.Ack(ctx, receipts...); err != nil {
			t.Fatalf("%s: ack 1000: %v", name, err)
		}
		if st := must(q.Info(ctx))(t).Stats; st.Visible+st.InFlight+st.Delayed != 0 {
			t.Fatalf("%s: left %+v", name, st)
		}
	}
	tp, err := b.CreateTopic(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := tp.SubscribeDurable(ctx, fmt.Sprint("d", i), courier.Raw()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tp.PublishBatch(ctx, msgs); err != nil {
		t.Fatalf("publish 1000 to 5 subscriptions: %v", err)
	}
	if st := must(tp.Subscription("d4").Info(ctx))(t).Stats; st.Delivered != 1000 || st.Backlog.Visible != 1000 {
		t.Fatalf("subscription stats = %+v", st)
	}
}
