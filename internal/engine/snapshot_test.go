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
