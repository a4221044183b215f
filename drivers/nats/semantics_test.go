package nats_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// twoBrokers opens two connections to one namespace of an in-process
// server.
func twoBrokers(t *testing.T) (*courier.Broker, *courier.Broker) {
	t.Helper()
	srv := startServer(t, t.TempDir())
	u := withOption(srv.url(), "prefix="+newPrefix(t, srv.url()))
	return openBroker(t, u), openBroker(t, u)
}

// must returns v, failing the test if err is set: must(q.Info(ctx))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// Receipts are self-contained: a delivery received on one connection is
// settled on another.
func TestReceiptsWorkAcrossConnections(t *testing.T) {
	a, b := twoBrokers(t)
	ctx := t.Context()
	qa := must(a.CreateQueue(ctx, "q"))(t)
	qb := b.Queue("q")
	must(qa.Send(ctx, courier.Message{Body: []byte("x")}))(t)
	d := must(qa.Receive(ctx))(t)[0]
	// Extended on b, acked on a: the extension keeps the copy in flight
	// and the ack deletes it.
	if err := qb.Extend(ctx, time.Minute, d.Receipt); err != nil {
		t.Fatal(err)
	}
	if st := must(qb.Info(ctx))(t).Stats; st.Delayed != 1 || st.InFlight != 0 {
		t.Fatalf("stats after extend = %+v; want the message counted as delayed", st)
	}
	if err := qa.Ack(ctx, d.Receipt); err != nil {
		t.Fatal(err)
	}
	if st := must(qb.Info(ctx))(t).Stats; st != (courier.QueueStats{}) {
		t.Fatalf("stats after ack = %+v; want empty", st)
	}
}

// A receipt whose message was delivered again fails on every connection,
// and the newer delivery is unaffected by it.
func TestStaleReceiptOnAnotherConnection(t *testing.T) {
	a, b := twoBrokers(t)
	ctx := t.Context()
	qa := must(a.CreateQueue(ctx, "q", courier.VisibilityTimeout(time.Second)))(t)
	qb := b.Queue("q")
	id := must(qa.Send(ctx, courier.Message{Body: []byte("x")}))(t)
	first := must(qa.Receive(ctx))(t)[0]
	second := must(qb.Receive(ctx, courier.Wait(5*time.Second)))(t)
	if len(second) != 1 || second[0].ID != id || second[0].ReceiveCount != 2 {
		t.Fatalf("redelivery on the other connection = %+v", second)
	}
	if !second[0].FirstReceivedAt.Equal(first.FirstReceivedAt) {
		// b learnt it from nowhere but the estimate; a knows. Either
		// way it is not after the redelivery.
		if second[0].FirstReceivedAt.After(time.Now()) {
			t.Fatalf("FirstReceivedAt %v is in the future", second[0].FirstReceivedAt)
		}
	}
	if err := qb.Ack(ctx, first.Receipt); !errors.Is(err, courier.ErrReceiptInvalid) {
		t.Fatalf("ack of the stale receipt on b = %v; want ErrReceiptInvalid", err)
	}
	if err := qa.Nack(ctx, 0, first.Receipt); !errors.Is(err, courier.ErrReceiptInvalid) {
		t.Fatalf("nack of the stale receipt on a = %v; want ErrReceiptInvalid", err)
	}
	if st := must(qa.Info(ctx))(t).Stats; st.InFlight != 1 {
		t.Fatalf("stats = %+v; the newer delivery must still be in flight", st)
	}
	if err := qa.Ack(ctx, second[0].Receipt); err != nil {
		t.Fatal(err)
	}
	if st := must(qb.Info(ctx))(t).Stats; st != (courier.QueueStats{}) {
		t.Fatalf("stats after ack = %+v", st)
	}
}

// What the driver cannot do fails with ErrUnsupported naming the field.
func TestUnsupportedFeaturesSayWhy(t *testing.T) {
	a, _ := twoBrokers(t)
	ctx := t.Context()
	caps := a.Capabilities()
	if caps.FIFO || caps.Push || caps.Buses || !caps.Queues || !caps.Topics || !caps.Streams || !caps.Persistent {
		t.Fatalf("capabilities = %+v", caps)
	}
	check := func(what string, err error, field string) {
		t.Helper()
		var ve *courier.ValidationError
		if !errors.Is(err, courier.ErrUnsupported) || !errors.As(err, &ve) || ve.Field != field {
			t.Errorf("%s: %v; want ErrUnsupported naming %s", what, err, field)
		}
	}
	_, err := a.CreateQueue(ctx, "f.fifo", courier.FIFO())
	check("FIFO queue", err, "fifo")
	_, err = a.CreateTopic(ctx, "t.fifo", courier.FIFOTopic())
	check("FIFO topic", err, "fifo")
	tp := must(a.CreateTopic(ctx, "t"))(t)
	_, err = tp.SubscribeHTTP(ctx, "web", "http://127.0.0.1:1/")
	check("HTTP subscription", err, "kind")
	_, err = tp.Tail(ctx, courier.TailBlock())
	check("blocking tail", err, "overflow")
	_, err = a.CreateStream(ctx, "s", courier.Compacted(time.Hour))
	check("compacted stream", err, "compact")
	if names := must(a.ListQueues(ctx))(t); len(names) != 0 {
		t.Fatalf("refused creates left queues %v", names)
	}
}

// A queue subscription needs its queue, and keeps it from being deleted
// through any connection until it is unsubscribed.
func TestQueueSubscriptionGuardsItsQueue(t *testing.T) {
	b, other := twoBrokers(t)
	ctx := t.Context()
	tp := must(b.CreateTopic(ctx, "t"))(t)
	must(b.CreateQueue(ctx, "q"))(t)
	_, err := tp.SubscribeQueue(ctx, "s", "missing")
	if !errors.Is(err, courier.ErrInvalid) {
		t.Fatalf("subscribing a missing queue: %v", err)
	}
	must(tp.SubscribeQueue(ctx, "s", "q"))(t)
	must(tp.SubscribeQueue(ctx, "s", "q"))(t)
	if _, err := tp.SubscribeDurable(ctx, "s"); !errors.Is(err, courier.ErrConflict) {
		t.Fatalf("changing the kind: %v", err)
	}
	if err := other.DeleteQueue(ctx, "q"); !errors.Is(err, courier.ErrConflict) {
		t.Fatalf("deleting a subscribed queue through another connection: %v", err)
	}
	if err := tp.Unsubscribe(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteQueue(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if err := tp.Unsubscribe(ctx, "s"); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("unsubscribing twice: %v", err)
	}
}

// A tail ends when its topic is deleted through another connection.
func TestTailEndsWhenTopicDeletedElsewhere(t *testing.T) {
	a, b := twoBrokers(t)
	ctx := t.Context()
	must(a.CreateTopic(ctx, "t"))(t)
	tail := must(a.Topic("t").Tail(ctx, courier.TailRaw()))(t)
	defer tail.Close()
	must(b.Topic("t").Publish(ctx, courier.Message{Body: []byte("one")}))(t)
	if m := must(tail.Next(ctx))(t); string(m.Body) != "one" {
		t.Fatalf("tail got %q", m.Body)
	}
	if err := b.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := tail.Next(ctx); !errors.Is(err, courier.ErrClosed) {
		t.Fatalf("tail after the topic was deleted elsewhere: %v; want ErrClosed", err)
	}
}

// Consumer groups are shared through the metadata bucket: members on two
// connections split the partitions and fence each other.
func TestGroupAcrossConnections(t *testing.T) {
	a, b := twoBrokers(t)
	ctx := t.Context()
	st := must(a.CreateStream(ctx, "s", courier.Partitions(4)))(t)
	c1 := must(st.Group("g").Join(ctx, "m1"))(t)
	c2 := must(b.Stream("s").Group("g").Join(ctx, "m2"))(t)
	a1 := must(c1.Heartbeat(ctx))(t)
	a2 := must(c2.Heartbeat(ctx))(t)
	all := append(slices.Clone(a1.Partitions), a2.Partitions...)
	slices.Sort(all)
	if len(a1.Partitions) != 2 || !slices.Equal(all, []int{0, 1, 2, 3}) {
		t.Fatalf("m1 owns %v and m2 %v", a1.Partitions, a2.Partitions)
	}
	if err := c1.CommitOffsets(ctx, a1.Generation, map[int]int64{a2.Partitions[0]: 0}); !errors.Is(err, courier.ErrFenced) {
		t.Fatalf("m1 committing m2's partition: %v; want ErrFenced", err)
	}
	if err := c1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if a := must(c2.Heartbeat(ctx))(t); len(a.Partitions) != 4 {
		t.Fatalf("after m1 left m2 owns %v", a.Partitions)
	}
	if err := c2.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
