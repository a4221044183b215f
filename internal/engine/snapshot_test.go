package engine

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/driver"
)

// TestSnapshotRoundTrip fills an engine with queues in every state and
// checks that restoring its snapshot gives the same index and stats.
func TestSnapshotRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := newEngine(nil, discardLogger())
		defer e.stop() // ends the HTTP subscription's pusher
		e.nonce = 99
		attrs := driver.DefaultQueueAttributes()
		must(e.CreateQueue(ctx, "dlq", attrs))(t)
		src := attrs
		src.DeadLetterQueue, src.MaxReceives = "dlq", 1
		must(e.CreateQueue(ctx, "src", src))(t)
		fifo := attrs
		fifo.FIFO = true
		must(e.CreateQueue(ctx, "f.fifo", fifo))(t)
		var msgs []driver.Message
		for i := range 10 {
			msgs = append(msgs, driver.Message{Body: fmt.Appendf(nil, "m%d", i), DedupID: fmt.Sprint("d", i), Group: fmt.Sprint("g", i%3)})
		}
		must(e.Send(ctx, "src", msgs))(t)
		must(e.Send(ctx, "f.fifo", msgs))(t)
		must(e.Send(ctx, "src", []driver.Message{{Body: []byte("later"), Delay: time.Minute}}))(t)
		ds := must(e.Receive(ctx, "src", driver.ReceiveRequest{Max: 3, Wait: driver.NoWait}))(t)
		must(e.ChangeVisibility(ctx, "src", []string{ds[0].Receipt}, 0))(t)
		must(e.Receive(ctx, "src", driver.ReceiveRequest{Max: 10, Wait: driver.NoWait}))(t) // dead-letters one
		must(e.Receive(ctx, "f.fifo", driver.ReceiveRequest{Max: 2, Wait: driver.NoWait}))(t)
		tattrs := driver.DefaultTopicAttributes()
		tattrs.ContentBasedDedup = true
		must(e.CreateTopic(ctx, "t", tattrs))(t)
		must(e.Subscribe(ctx, "t", "q", driver.Subscription{Kind: driver.KindQueue, Queue: "dlq", Raw: true}))(t)
		must(e.Subscribe(ctx, "t", "d", driver.Subscription{Kind: driver.KindDurable, FilterPolicy: `{"a": ["b"]}`}))(t)
		must(e.Subscribe(ctx, "t", "h", driver.Subscription{Kind: driver.KindHTTP, Endpoint: "http://127.0.0.1:1/"}))(t)
		must(e.Publish(ctx, "t", []driver.Message{{Body: []byte("p1"), Headers: map[string]string{"a": "b"}}, {Body: []byte("p2")}}))(t)
		sattrs := driver.DefaultStreamAttributes()
		sattrs.Partitions = 3
		must(e.CreateStream(ctx, "s", sattrs))(t)
		cattrs := driver.DefaultStreamAttributes()
		cattrs.Compact = true
		must(e.CreateStream(ctx, "c", cattrs))(t)
		for i := range 20 {
			must(e.Append(ctx, "s", []driver.Record{{Key: fmt.Appendf(nil, "k%d", i%7), Value: []byte("v"), Partition: driver.AnyPartition}}))(t)
			must(e.Append(ctx, "c", []driver.Record{{Key: fmt.Appendf(nil, "k%d", i%4), Value: fmt.Appendf(nil, "%d", i%3), Partition: driver.AnyPartition}}))(t)
		}
		must(e.Append(ctx, "c", []driver.Record{{Key: []byte("k1"), Partition: driver.AnyPartition}}))(t) // delete marker
		a := must(e.JoinGroup(ctx, "s", "g", "m", driver.JoinRequest{}))(t)
		if err := e.Commit(ctx, "s", "g", "m", a.Generation, map[int]int64{0: 2, 2: 1}); err != nil {
			t.Fatal(err)
		}

		snap := e.snapshot()
		r := newEngine(nil, discardLogger())
		if err := r.restore(snap); err != nil {
			t.Fatal(err)
		}
		if again := r.snapshot(); !bytes.Equal(again, snap) {
			t.Fatalf("snapshot of the restored engine differs (%d vs %d bytes)", len(again), len(snap))
		}
		for _, name := range []string{"dlq", "src", "f.fifo"} {
			a := must(e.QueueInfo(ctx, name))(t)
			b := must(r.QueueInfo(ctx, name))(t)
			if a.Stats != b.Stats || a.Attributes != b.Attributes {
				t.Fatalf("queue %s: restored %+v; want %+v", name, b, a)
			}
		}
		if r.nonce != 99 || r.nextSeq != e.nextSeq {
			t.Fatalf("restored nonce/nextSeq = %d/%d; want 99/%d", r.nonce, r.nextSeq, e.nextSeq)
		}
		// Counters count since start; the rest must survive.
		comparable := func(subs []driver.SubscriptionInfo) string {
			out := ""
			for _, s := range subs {
				if s.Attributes != nil {
					out += fmt.Sprintf("%+v", *s.Attributes)
				}
				s.Attributes = nil
				s.Stats = driver.SubscriptionStats{Backlog: s.Stats.Backlog}
				out += fmt.Sprintf("%+v\n", s)
			}
			return out
		}
		subsBefore := must(e.ListSubscriptions(ctx, "t"))(t)
		subsAfter := must(r.ListSubscriptions(ctx, "t"))(t)
		if comparable(subsBefore) != comparable(subsAfter) {
			t.Fatalf("restored subscriptions\n%+v\nwant\n%+v", subsAfter, subsBefore)
		}
		if subsAfter[0].Stats.Backlog.Visible != 1 || subsAfter[1].Status != driver.StatusPendingConfirmation {
			t.Fatalf("restored subscriptions = %+v", subsAfter)
		}
		for _, name := range []string{"s", "c"} {
			a, b := must(e.StreamInfo(ctx, name))(t), must(r.StreamInfo(ctx, name))(t)
			for i := range a.Groups {
				a.Groups[i].Members = nil // membership is not durable
			}
			if fmt.Sprintf("%+v %+v", a.Partitions, a.Groups) != fmt.Sprintf("%+v %+v", b.Partitions, b.Groups) {
				t.Fatalf("stream %s restored\n%+v\nwant\n%+v", name, b, a)
			}
		}
		if qs := must(r.ListQueues(ctx))(t); fmt.Sprint(qs) != "[dlq f.fifo src]" {
			t.Fatalf("restored queues = %v; the subscription's own queue must stay hidden", qs)
		}
		if res := must(r.Publish(ctx, "t", []driver.Message{{Body: []byte("p1")}}))(t); !res[0].Duplicate {
			t.Fatal("topic dedup lost in the snapshot")
		}
		// Restored dedup IDs still deduplicate.
		res := must(r.Send(ctx, "src", []driver.Message{{Body: []byte("x"), DedupID: "d1"}}))(t)
		if !res[0].Duplicate {
			t.Fatal("dedup ID lost in the snapshot")
		}
		// Corrupt snapshots fail cleanly.
		for n := range len(snap) {
			if err := newEngine(nil, discardLogger()).restore(snap[:n]); err == nil {
				t.Fatalf("snapshot prefix of %d bytes restored without error", n)
			}
		}
	})
}

// must returns v, failing the test if err is set: must(f())(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
