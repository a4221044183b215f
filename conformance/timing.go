package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// elapsedAtLeast fails unless at least d passed since start (minus a small
// tolerance for backends whose clocks are coarser than ours).
func elapsedAtLeast(t *testing.T, start time.Time, d time.Duration) {
	t.Helper()
	if got := time.Since(start); got < d-50*time.Millisecond {
		t.Fatalf("returned after %v; want at least %v", got, d)
	}
}

var timeCases = []testCase{
	{name: "VisibilityTimeoutRedelivers", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q", courier.VisibilityTimeout(2*time.Second))
		id := send(t, q, "x")
		start := time.Now()
		first := receive(t, q)
		if len(first) != 1 {
			t.Fatalf("first receive got %d messages", len(first))
		}
		if ds := receive(t, q, courier.Wait(time.Second)); len(ds) != 0 {
			t.Fatal("message delivered again before its visibility timeout")
		}
		second := receive(t, q, courier.Wait(5*time.Second))
		if len(second) != 1 || second[0].ID != id {
			t.Fatalf("no redelivery after the visibility timeout")
		}
		elapsedAtLeast(t, start, 2*time.Second)
		if second[0].ReceiveCount != 2 {
			t.Fatalf("ReceiveCount on redelivery = %d; want 2", second[0].ReceiveCount)
		}
		if !second[0].FirstReceivedAt.Equal(first[0].FirstReceivedAt) {
			t.Fatalf("FirstReceivedAt changed on redelivery: %v -> %v", first[0].FirstReceivedAt, second[0].FirstReceivedAt)
		}
		if first[0].Receipt == second[0].Receipt {
			t.Fatal("redelivery reused the old receipt")
		}
		wantErr(t, first[0].Ack(ctx(t)), courier.ErrReceiptInvalid)
		wantErr(t, first[0].Extend(ctx(t), time.Minute), courier.ErrReceiptInvalid)
		wantStats(t, q, 0, 1, 0)
		check(t, second[0].Ack(ctx(t)))
		wantStats(t, q, 0, 0, 0)
	}},
	{name: "PerReceiveVisibility", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q", courier.VisibilityTimeout(time.Hour))
		send(t, q, "x")
		start := time.Now()
		receive(t, q, courier.Visibility(time.Second))
		ds := receive(t, q, courier.Wait(5*time.Second))
		if len(ds) != 1 {
			t.Fatal("per-receive visibility of 1s did not apply")
		}
		elapsedAtLeast(t, start, time.Second)
	}},
	{name: "NackAndExtend", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q", courier.VisibilityTimeout(2*time.Second))
		send(t, q, "x")
		d := receive(t, q)[0]
		check(t, d.Nack(ctx(t), 0))
		d = receive(t, q, courier.Wait(0))[0]
		if d.ReceiveCount != 2 {
			t.Fatalf("ReceiveCount after nack = %d; want 2", d.ReceiveCount)
		}
		start := time.Now()
		check(t, d.Nack(ctx(t), 3*time.Second))
		wantStats(t, q, 0, 0, 1)
		if ds := receive(t, q, courier.Wait(2*time.Second)); len(ds) != 0 {
			t.Fatal("nacked message visible before its delay")
		}
		d = receive(t, q, courier.Wait(5*time.Second))[0]
		elapsedAtLeast(t, start, 3*time.Second)
		start = time.Now()
		check(t, d.Extend(ctx(t), 4*time.Second))
		if ds := receive(t, q, courier.Wait(3*time.Second)); len(ds) != 0 {
			t.Fatal("extended message visible before the extension ended")
		}
		d = receive(t, q, courier.Wait(5*time.Second))[0]
		elapsedAtLeast(t, start, 4*time.Second)
		if d.ReceiveCount != 4 {
			t.Fatalf("ReceiveCount = %d; want 4", d.ReceiveCount)
		}
	}},
	{name: "DeliveryDelay", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "Delay", b.Capabilities().Delay)
		q := createQueue(t, b, "q", courier.DeliveryDelay(2*time.Second))
		start := time.Now()
		send(t, q, "queue-delay")
		must(q.Send(ctx(t), courier.Message{Body: []byte("message-delay"), Delay: 4 * time.Second}))(t)
		wantStats(t, q, 0, 0, 2)
		if ds := receive(t, q, courier.Wait(time.Second)); len(ds) != 0 {
			t.Fatal("delayed message visible early")
		}
		d := receive(t, q, courier.Wait(5*time.Second))
		if len(d) != 1 || string(d[0].Body) != "queue-delay" {
			t.Fatalf("after 2s got %v; want queue-delay", bodies(d))
		}
		elapsedAtLeast(t, start, 2*time.Second)
		d = receive(t, q, courier.Wait(5*time.Second))
		if len(d) != 1 || string(d[0].Body) != "message-delay" {
			t.Fatalf("after 4s got %v; want message-delay", bodies(d))
		}
		elapsedAtLeast(t, start, 4*time.Second)
	}},
	{name: "LongPollWakesOnSend", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "LongPoll", b.Capabilities().LongPoll)
		q := createQueue(t, b, "q")
		var wg sync.WaitGroup
		var got []*courier.Delivery
		var rerr error
		start := time.Now()
		wg.Go(func() { got, rerr = q.Receive(ctx(t), courier.Wait(20*time.Second)) })
		send(t, q, "wake")
		wg.Wait()
		check(t, rerr)
		if len(got) != 1 || string(got[0].Body) != "wake" {
			t.Fatalf("long poll returned %v", bodies(got))
		}
		if el := time.Since(start); el >= 10*time.Second {
			t.Fatalf("long poll returned after %v; a send must wake it at once", el)
		}
	}},
	{name: "LongPollTimesOut", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		start := time.Now()
		if ds := receive(t, q, courier.Wait(2*time.Second)); len(ds) != 0 {
			t.Fatalf("empty queue returned %d messages", len(ds))
		}
		elapsedAtLeast(t, start, 2*time.Second)
	}},
	{name: "QueueReceiveWaitIsTheDefault", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q", courier.ReceiveWait(2*time.Second))
		start := time.Now()
		receive(t, q)
		elapsedAtLeast(t, start, 2*time.Second)
		start = time.Now()
		receive(t, q, courier.Wait(0))
		if el := time.Since(start); el >= time.Second {
			t.Fatalf("Wait(0) waited %v", el)
		}
	}},
	{name: "LongPollEndsWithContext", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		c, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		ds, err := q.Receive(c, courier.Wait(20*time.Second))
		if err == nil && len(ds) != 0 {
			t.Fatal("received from an empty queue")
		}
		if err != nil && !errors.Is(err, c.Err()) {
			t.Fatalf("Receive after context end = %v; want nil or the context's error", err)
		}
		if el := time.Since(start); el >= 10*time.Second {
			t.Fatalf("Receive ignored its context for %v", el)
		}
	}},
	{name: "DedupWithinWindow", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "Dedup", b.Capabilities().Dedup)
		q := createQueue(t, b, "q")
		r1 := must(q.SendBatch(ctx(t), []courier.Message{{Body: []byte("a"), DedupID: "order-1"}}))(t)[0]
		r2 := must(q.SendBatch(ctx(t), []courier.Message{{Body: []byte("a-again"), DedupID: "order-1"}}))(t)[0]
		if r1.Err != nil || r2.Err != nil || r1.Duplicate || !r2.Duplicate || r1.ID != r2.ID {
			t.Fatalf("results %+v then %+v; want the second to be a duplicate with the first's ID", r1, r2)
		}
		wantStats(t, q, 1, 0, 0)
		// Acking the message does not forget the dedup ID.
		d := receive(t, q)[0]
		check(t, d.Ack(ctx(t)))
		r3 := must(q.SendBatch(ctx(t), []courier.Message{{Body: []byte("a"), DedupID: "order-1"}}))(t)[0]
		if !r3.Duplicate || r3.ID != r1.ID {
			t.Fatalf("send after ack within the window = %+v; want duplicate of %s", r3, r1.ID)
		}
		wantStats(t, q, 0, 0, 0)
	}},
	{name: "DedupWindowExpires", timed: true, fakeOnly: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "Dedup", b.Capabilities().Dedup)
		q := createQueue(t, b, "q")
		id1 := must(q.Send(ctx(t), courier.Message{Body: []byte("a"), DedupID: "k"}))(t)
		time.Sleep(4 * time.Minute) // fake clock: inside the window
		if id := must(q.Send(ctx(t), courier.Message{Body: []byte("a"), DedupID: "k"}))(t); id != id1 {
			t.Fatalf("dedup forgot the ID after 4 minutes")
		}
		time.Sleep(2 * time.Minute) // fake clock: past the 5-minute window
		id3 := must(q.Send(ctx(t), courier.Message{Body: []byte("a"), DedupID: "k"}))(t)
		if id3 == id1 {
			t.Fatal("dedup ID remembered past the 5-minute window")
		}
		wantStats(t, q, 2, 0, 0)
	}},
	{name: "ContentBasedDedup", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "Dedup", b.Capabilities().Dedup)
		q := createQueue(t, b, "q", courier.ContentBasedDedup(true))
		id1 := send(t, q, "same body")
		id2 := send(t, q, "same body")
		id3 := send(t, q, "other body")
		if id1 != id2 || id1 == id3 {
			t.Fatalf("ids %s %s %s; want the first two equal and the third different", id1, id2, id3)
		}
		wantStats(t, q, 2, 0, 0)
	}},
	{name: "RetentionDeletesOldMessages", timed: true, fakeOnly: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q", courier.Retention(2*time.Minute))
		send(t, q, "old")
		time.Sleep(time.Minute)
		send(t, q, "young")
		time.Sleep(90 * time.Second)
		ds := receive(t, q, courier.Max(10), courier.Wait(0))
		if got := bodies(ds); len(got) != 1 || got[0] != "young" {
			t.Fatalf("after retention got %v; want only young", got)
		}
	}},
	{name: "StatsCountEveryState", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		send(t, q, "a")
		send(t, q, "b")
		must(q.Send(ctx(t), courier.Message{Body: []byte("c"), Delay: time.Minute}))(t)
		receive(t, q)
		wantStats(t, q, 1, 1, 1)
		if !s.f.Synctest {
			return // the age check below needs the fake clock
		}
		time.Sleep(3 * time.Second) // fake clock: lets the oldest message age
		if age := stats(t, q).OldestAge; age < 3*time.Second || age > time.Minute {
			t.Fatalf("OldestAge = %v; want about 3s", age)
		}
	}},
}
