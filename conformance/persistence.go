package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

func restart(t *testing.T, s *suite, b *courier.Broker) *courier.Broker {
	t.Helper()
	if s.f.Restart == nil {
		t.Skip("backend offers no Restart in its Features")
	}
	return s.f.Restart(t, b)
}

var persistenceCases = []testCase{
	{name: "RestartKeepsQueuesAndMessages", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "Persistent", b.Capabilities().Persistent)
		createQueue(t, b, "dlq")
		q := createQueue(t, b, "q", courier.VisibilityTimeout(time.Hour), courier.DeadLetter("dlq", 3))
		ids := []string{send(t, q, "one"), send(t, q, "two"), send(t, q, "three")}
		inflight := receive(t, q)[0]
		acked := receive(t, q)[0]
		check(t, acked.Ack(ctx(t)))

		b = restart(t, s, b)
		q = b.Queue("q")
		info := must(q.Info(ctx(t)))(t)
		if info.Attributes.VisibilityTimeout != time.Hour || info.Attributes.DeadLetterQueue != "dlq" {
			t.Fatalf("attributes after restart = %+v", info.Attributes)
		}
		if names := must(b.ListQueues(ctx(t)))(t); !slices.Equal(names, []string{"dlq", "q"}) {
			t.Fatalf("queues after restart = %v", names)
		}
		// The acked message is gone, the in-flight one stays invisible until
		// its visibility timeout, the third is visible.
		ds := receive(t, q, courier.Max(10), courier.Wait(0))
		if len(ds) != 1 || ds[0].ID == acked.ID || ds[0].ID == inflight.ID || !slices.Contains(ids, ds[0].ID) {
			t.Fatalf("after restart received %v", bodies(ds))
		}
		st := stats(t, q)
		if st.Visible+st.InFlight+st.Delayed != 2 {
			t.Fatalf("stats after restart = %+v; want 2 messages left", st)
		}
	}},
	{name: "RestartKeepsReceiveCountsAndDedup", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "Persistent", b.Capabilities().Persistent)
		q := createQueue(t, b, "q")
		id := must(q.Send(ctx(t), courier.Message{Body: []byte("x"), DedupID: "k1"}))(t)
		check(t, receive(t, q)[0].Nack(ctx(t), 0))
		b = restart(t, s, b)
		q = b.Queue("q")
		ds := receive(t, q, courier.Wait(time.Second))
		if len(ds) != 1 || ds[0].ID != id || ds[0].ReceiveCount != 2 {
			t.Fatalf("after restart got %+v; want the message with ReceiveCount 2", ds)
		}
		if b.Capabilities().Dedup {
			if again := must(q.Send(ctx(t), courier.Message{Body: []byte("x"), DedupID: "k1"}))(t); again != id {
				t.Fatalf("dedup ID forgotten across restart: %s != %s", again, id)
			}
		}
	}},
}
