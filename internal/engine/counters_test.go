package engine_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
)

// TestQueueCountersCountLiveTraffic checks a queue's counters: they count
// sends, receives, acks and nacks, and start from zero after a restart
// (recovery replays the log without counting it again).
func TestQueueCountersCountLiveTraffic(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	b, err := courier.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	q, err := b.CreateQueue(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := q.Send(ctx, courier.Message{Body: []byte("m")}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := q.Receive(ctx, courier.Max(2))
	if err != nil || len(ds) != 2 {
		t.Fatalf("receive: %d, %v", len(ds), err)
	}
	if err := ds[0].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ds[1].Nack(ctx, 0); err != nil {
		t.Fatal(err)
	}
	info, err := q.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := info.Counters
	if c == nil || c.Sent != 2 || c.Received != 2 || c.Acked != 1 || c.Nacked != 1 || c.ReceiveLatency.Count() != 2 {
		t.Fatalf("counters %+v", c)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b, err = courier.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	info, err = b.Queue("q").Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := info.Counters; c == nil || c.Sent != 0 || c.Received != 0 || info.Stats.Visible != 1 {
		t.Fatalf("after a restart: counters %+v, stats %+v; want zero counters and the nacked message", c, info.Stats)
	}
}

// TestTopicHonoursTheQueuesDeliveryDelay checks that a queue subscribed to
// a topic delays what the topic delivers by its delivery delay, as it
// delays sends.
func TestTopicHonoursTheQueuesDeliveryDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		b, err := courier.Open(ctx, "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		q, err := b.CreateQueue(ctx, "later", courier.DeliveryDelay(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		tp, err := b.CreateTopic(ctx, "events")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tp.SubscribeQueue(ctx, "s", "later"); err != nil {
			t.Fatal(err)
		}
		if _, err := tp.Publish(ctx, courier.Message{Body: []byte("e")}); err != nil {
			t.Fatal(err)
		}
		info, err := q.Info(ctx)
		if err != nil || info.Stats.Delayed != 1 || info.Counters.Sent != 1 {
			t.Fatalf("after the publish: %+v, counters %+v, %v; want one delayed message", info.Stats, info.Counters, err)
		}
		if ds, _ := q.Receive(ctx, courier.Wait(0)); len(ds) != 0 {
			t.Fatal("received before the delay passed")
		}
		time.Sleep(time.Minute)
		if ds, err := q.Receive(ctx, courier.Wait(0)); err != nil || len(ds) != 1 {
			t.Fatalf("after the delay: %d, %v", len(ds), err)
		}
	})
}
