package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

var dlqCases = []testCase{
	{name: "DeadLetterAfterMaxReceives", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "DeadLetter", b.Capabilities().DeadLetter)
		dlq := createQueue(t, b, "orders-dlq")
		q := createQueue(t, b, "orders", courier.DeadLetter("orders-dlq", 2))
		id := send(t, q, "poison")
		for i := 1; i <= 2; i++ {
			ds := receive(t, q, courier.Wait(time.Second))
			if len(ds) != 1 || ds[0].ReceiveCount != i {
				t.Fatalf("receive %d: got %d messages", i, len(ds))
			}
			check(t, ds[0].Nack(ctx(t), 0))
		}
		if ds := receive(t, q, courier.Wait(0)); len(ds) != 0 {
			t.Fatalf("third receive delivered the message instead of dead-lettering it")
		}
		wantStats(t, q, 0, 0, 0)
		ds := receive(t, dlq, courier.Wait(time.Second))
		if len(ds) != 1 || ds[0].ID != id || string(ds[0].Body) != "poison" || ds[0].SourceQueue != "orders" {
			t.Fatalf("dead-letter queue holds %+v; want the poison message from orders", ds)
		}
		if ds[0].ReceiveCount != 1 {
			t.Fatalf("ReceiveCount in the dead-letter queue = %d; want 1", ds[0].ReceiveCount)
		}
	}},
	{name: "DeadLetterQueueInUseCannotBeDeletedSilently", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "DeadLetter", b.Capabilities().DeadLetter)
		createQueue(t, b, "dlq")
		q := createQueue(t, b, "src", courier.DeadLetter("dlq", 1))
		err := b.DeleteQueue(ctx(t), "dlq")
		if err == nil {
			// Allowed only if dead-lettering then still has somewhere to go.
			send(t, q, "x")
			receive(t, q)
			t.Fatal("deleting a dead-letter queue that another queue uses succeeded")
		}
		must(q.SetAttributes(ctx(t), courier.NoDeadLetter()))(t)
		check(t, b.DeleteQueue(ctx(t), "dlq"))
	}},
	{name: "RedriveBackToSource", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "Redrive", b.Capabilities().Redrive)
		dlq := createQueue(t, b, "dlq")
		q := createQueue(t, b, "src", courier.DeadLetter("dlq", 1))
		for i := range 5 {
			send(t, q, fmt.Sprint(i))
		}
		for range 5 {
			d := receive(t, q, courier.Wait(time.Second))[0]
			check(t, d.Nack(ctx(t), 0))
		}
		if ds := receive(t, q, courier.Max(10), courier.Wait(0)); len(ds) != 0 {
			t.Fatalf("source still delivers %d messages", len(ds))
		}
		wantStats(t, dlq, 5, 0, 0)
		if n := must(dlq.Redrive(ctx(t), courier.RedriveMax(2)))(t); n != 2 {
			t.Fatalf("Redrive(max 2) moved %d", n)
		}
		wantStats(t, dlq, 3, 0, 0)
		if n := must(dlq.Redrive(ctx(t), courier.RedriveRate(1000)))(t); n != 3 {
			t.Fatalf("Redrive(all) moved %d; want 3", n)
		}
		wantStats(t, dlq, 0, 0, 0)
		ds := receiveN(t, q, 5, time.Second)
		for _, d := range ds {
			if d.ReceiveCount != 1 {
				t.Fatalf("redriven message has ReceiveCount %d; want a fresh count of 1", d.ReceiveCount)
			}
		}
	}},
	{name: "RedriveToOtherQueue", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "Redrive", b.Capabilities().Redrive)
		dlq := createQueue(t, b, "dlq")
		q := createQueue(t, b, "src", courier.DeadLetter("dlq", 1))
		other := createQueue(t, b, "other")
		send(t, q, "x")
		check(t, receive(t, q)[0].Nack(ctx(t), 0))
		receive(t, q, courier.Wait(0)) // moves it to the dead-letter queue
		if n := must(dlq.Redrive(ctx(t), courier.RedriveTo("other")))(t); n != 1 {
			t.Fatalf("Redrive moved %d; want 1", n)
		}
		if ds := receive(t, other, courier.Wait(time.Second)); len(ds) != 1 || string(ds[0].Body) != "x" {
			t.Fatalf("other queue got %v", bodies(ds))
		}
		_, err := dlq.Redrive(ctx(t), courier.RedriveTo("missing"))
		wantErr(t, err, courier.ErrNotFound)
	}},
}
