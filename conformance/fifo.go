package conformance

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

var fifoCases = []testCase{
	{name: "FIFOOrderPerGroup", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "FIFO", b.Capabilities().FIFO)
		q := createQueue(t, b, "orders.fifo", courier.FIFO())
		var msgs []courier.Message
		for i := range 10 {
			for _, g := range []string{"a", "b"} {
				msgs = append(msgs, courier.Message{Body: fmt.Appendf(nil, "%s%d", g, i), Group: g})
			}
		}
		res := must(q.SendBatch(ctx(t), msgs))(t)
		var lastSeq uint64
		for i, r := range res {
			if r.Err != nil {
				t.Fatalf("entry %d: %v", i, r.Err)
			}
			if r.Sequence <= lastSeq {
				t.Fatalf("sequence numbers not increasing: %d after %d", r.Sequence, lastSeq)
			}
			lastSeq = r.Sequence
		}
		got := map[string][]string{}
		for len(got["a"])+len(got["b"]) < 20 {
			ds := receive(t, q, courier.Max(20), courier.Wait(time.Second))
			if len(ds) == 0 {
				t.Fatalf("receive returned nothing with messages left; got %v", got)
			}
			for _, d := range ds {
				got[d.Group] = append(got[d.Group], string(d.Body))
				check(t, d.Ack(ctx(t)))
			}
		}
		for _, g := range []string{"a", "b"} {
			want := make([]string, 10)
			for i := range want {
				want[i] = fmt.Sprintf("%s%d", g, i)
			}
			if !slices.Equal(got[g], want) {
				t.Fatalf("group %s delivered %v; want %v", g, got[g], want)
			}
		}
	}},
	{name: "FIFOGroupBlockedWhileInFlight", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "FIFO", b.Capabilities().FIFO)
		q := createQueue(t, b, "q.fifo", courier.FIFO())
		for _, m := range []courier.Message{
			{Body: []byte("a1"), Group: "a"}, {Body: []byte("a2"), Group: "a"}, {Body: []byte("b1"), Group: "b"},
		} {
			must(q.Send(ctx(t), m))(t)
		}
		first := receive(t, q) // a1
		if got := bodies(first); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("first receive = %v; want [a1]", got)
		}
		ds := receive(t, q, courier.Max(10), courier.Wait(0))
		if got := bodies(ds); !slices.Equal(got, []string{"b1"}) {
			t.Fatalf("with a1 in flight, receive = %v; want only [b1]", got)
		}
		if ds := receive(t, q, courier.Max(10), courier.Wait(0)); len(ds) != 0 {
			t.Fatalf("group a delivered %v while a1 is in flight", bodies(ds))
		}
		check(t, first[0].Nack(ctx(t), 0))
		again := receive(t, q, courier.Max(1), courier.Wait(0))
		if got := bodies(again); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("after nack of a1, receive = %v; want [a1] again, before a2", got)
		}
		if ds := receive(t, q, courier.Max(10), courier.Wait(0)); len(ds) != 0 {
			t.Fatalf("group a delivered %v while a1 is in flight again", bodies(ds))
		}
		check(t, again[0].Ack(ctx(t)))
		if got := bodies(receive(t, q, courier.Max(10), courier.Wait(0))); !slices.Equal(got, []string{"a2"}) {
			t.Fatalf("after ack of a1, receive = %v; want [a2]", got)
		}
	}},
	{name: "FIFOBatchReceiveKeepsGroupOrder", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "FIFO", b.Capabilities().FIFO)
		q := createQueue(t, b, "q.fifo", courier.FIFO())
		for i := range 5 {
			must(q.Send(ctx(t), courier.Message{Body: fmt.Appendf(nil, "%d", i), Group: "g"}))(t)
		}
		ds := receive(t, q, courier.Max(10))
		if got := bodies(ds); !slices.Equal(got, []string{"0", "1", "2", "3", "4"}) {
			t.Fatalf("batch receive from one group = %v; want all five in order", got)
		}
	}},
	{name: "FIFONeedsGroup", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "FIFO", b.Capabilities().FIFO)
		q := createQueue(t, b, "q.fifo", courier.FIFO())
		res := must(q.SendBatch(ctx(t), []courier.Message{{Body: []byte("no group")}, {Body: []byte("ok"), Group: "g"}}))(t)
		if !errors.Is(res[0].Err, courier.ErrInvalid) || res[1].Err != nil {
			t.Fatalf("results = %+v; want the message without a group rejected", res)
		}
		wantStats(t, q, 1, 0, 0)
	}},
	{name: "FIFODeadLetterQueueMustBeFIFO", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "FIFO", b.Capabilities().FIFO)
		need(t, b, "DeadLetter", b.Capabilities().DeadLetter)
		createQueue(t, b, "standard-dlq")
		if _, err := b.CreateQueue(ctx(t), "q.fifo", courier.FIFO(), courier.DeadLetter("standard-dlq", 3)); err == nil {
			t.Fatal("a FIFO queue accepted a standard dead-letter queue")
		}
	}},
}
