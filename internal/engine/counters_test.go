package engine_test

import (
	"testing"

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
