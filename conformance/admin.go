package conformance

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

var adminCases = []testCase{
	{name: "CreateIsIdempotent", run: func(t *testing.T, s *suite, b *courier.Broker) {
		createQueue(t, b, "orders", courier.VisibilityTimeout(45*time.Second))
		createQueue(t, b, "orders", courier.VisibilityTimeout(45*time.Second))
		_, err := b.CreateQueue(ctx(t), "orders", courier.VisibilityTimeout(10*time.Second))
		wantErr(t, err, courier.ErrConflict)
		info := must(b.Queue("orders").Info(ctx(t)))(t)
		if info.Attributes.VisibilityTimeout != 45*time.Second {
			t.Fatalf("visibility after conflicting create = %v; want 45s (unchanged)", info.Attributes.VisibilityTimeout)
		}
	}},
	{name: "CreateRejectsBadInput", run: func(t *testing.T, s *suite, b *courier.Broker) {
		bad := []struct {
			name  string
			opts  []courier.QueueOption
			field string
		}{
			{"", nil, "name"},
			{"has space", nil, "name"},
			{strings.Repeat("x", 81), nil, "name"},
			{"q", []courier.QueueOption{courier.VisibilityTimeout(13 * time.Hour)}, "visibility_timeout"},
			{"q", []courier.QueueOption{courier.VisibilityTimeout(-time.Second)}, "visibility_timeout"},
			{"q", []courier.QueueOption{courier.Retention(time.Second)}, "retention_period"},
			{"q", []courier.QueueOption{courier.Retention(15 * 24 * time.Hour)}, "retention_period"},
			{"q", []courier.QueueOption{courier.DeliveryDelay(16 * time.Minute)}, "delivery_delay"},
			{"q", []courier.QueueOption{courier.ReceiveWait(21 * time.Second)}, "receive_wait"},
			{"q", []courier.QueueOption{courier.MaxMessageSize(100)}, "max_message_size"},
			{"q", []courier.QueueOption{courier.MaxMessageSize(2 << 20)}, "max_message_size"},
			{"q", []courier.QueueOption{courier.DeadLetter("", 3)}, "dead_letter_queue"},
			{"q", []courier.QueueOption{courier.DeadLetter("dlq", 1001)}, "max_receives"},
			{"q", []courier.QueueOption{courier.DeadLetter("q", 3)}, "dead_letter_queue"},
		}
		for _, c := range bad {
			_, err := b.CreateQueue(ctx(t), c.name, c.opts...)
			wantErr(t, err, courier.ErrInvalid)
			var ve *courier.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Errorf("create %q: error %v does not name field %q", c.name, err, c.field)
			}
		}
		if names := must(b.ListQueues(ctx(t)))(t); len(names) != 0 {
			t.Fatalf("rejected creates left queues behind: %v", names)
		}
	}},
	{name: "CreateNeedsExistingDeadLetterQueue", run: func(t *testing.T, s *suite, b *courier.Broker) {
		need(t, b, "DeadLetter", b.Capabilities().DeadLetter)
		_, err := b.CreateQueue(ctx(t), "src", courier.DeadLetter("missing-dlq", 3))
		if err == nil {
			t.Fatal("creating a queue whose dead-letter queue does not exist succeeded")
		}
		if names := must(b.ListQueues(ctx(t)))(t); slices.Contains(names, "src") {
			t.Fatal("failed create left the queue behind")
		}
	}},
	{name: "ListAndInfo", run: func(t *testing.T, s *suite, b *courier.Broker) {
		for _, n := range []string{"b-queue", "a-queue", "c.queue"} {
			createQueue(t, b, n)
		}
		names := must(b.ListQueues(ctx(t)))(t)
		if want := []string{"a-queue", "b-queue", "c.queue"}; !slices.Equal(names, want) {
			t.Fatalf("ListQueues = %v; want %v", names, want)
		}
		info := must(b.Queue("a-queue").Info(ctx(t)))(t)
		if info.Name != "a-queue" || info.Attributes != courier.DefaultQueueAttributes() {
			t.Fatalf("Info = %+v; want name a-queue with default attributes %+v", info, courier.DefaultQueueAttributes())
		}
		if info.CreatedAt.IsZero() {
			t.Fatal("Info.CreatedAt is zero")
		}
		_, err := b.Queue("nope").Info(ctx(t))
		wantErr(t, err, courier.ErrNotFound)
	}},
	{name: "SetAttributes", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		info := must(q.SetAttributes(ctx(t), courier.VisibilityTimeout(90*time.Second), courier.ReceiveWait(5*time.Second)))(t)
		if info.Attributes.VisibilityTimeout != 90*time.Second || info.Attributes.ReceiveWait != 5*time.Second {
			t.Fatalf("attributes after update = %+v", info.Attributes)
		}
		got := must(q.Info(ctx(t)))(t).Attributes
		if got.VisibilityTimeout != 90*time.Second || got.RetentionPeriod != courier.DefaultQueueAttributes().RetentionPeriod {
			t.Fatalf("Info after update = %+v", got)
		}
		_, err := q.SetAttributes(ctx(t), courier.VisibilityTimeout(time.Hour*24))
		wantErr(t, err, courier.ErrInvalid)
		if b.Capabilities().FIFO {
			_, err = q.SetAttributes(ctx(t), courier.FIFO())
			wantErr(t, err, courier.ErrConflict)
		}
		if got := must(q.Info(ctx(t)))(t).Attributes; got.VisibilityTimeout != 90*time.Second || got.FIFO {
			t.Fatalf("rejected updates changed attributes: %+v", got)
		}
		_, err = b.Queue("missing").SetAttributes(ctx(t), courier.VisibilityTimeout(time.Second))
		wantErr(t, err, courier.ErrNotFound)
	}},
	{name: "DeleteQueue", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "doomed")
		send(t, q, "x")
		check(t, q.Delete(ctx(t)))
		_, err := q.Info(ctx(t))
		wantErr(t, err, courier.ErrNotFound)
		_, err = q.Send(ctx(t), courier.Message{Body: []byte("y")})
		wantErr(t, err, courier.ErrNotFound)
		_, err = q.Receive(ctx(t), courier.Wait(0))
		wantErr(t, err, courier.ErrNotFound)
		wantErr(t, q.Delete(ctx(t)), courier.ErrNotFound)
		// A queue created again under the same name starts empty.
		q = createQueue(t, b, "doomed")
		wantStats(t, q, 0, 0, 0)
	}},
	{name: "Purge", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		for range 5 {
			send(t, q, "m")
		}
		receive(t, q, courier.Max(2))
		if n := must(q.Purge(ctx(t)))(t); n != 5 {
			t.Fatalf("Purge = %d; want 5", n)
		}
		wantStats(t, q, 0, 0, 0)
		if ds := receive(t, q, courier.Wait(0)); len(ds) != 0 {
			t.Fatalf("received %d messages after purge", len(ds))
		}
		_, err := b.Queue("missing").Purge(ctx(t))
		wantErr(t, err, courier.ErrNotFound)
	}},
	{name: "ClosedBroker", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		check(t, b.Close())
		check(t, b.Close())
		_, err := q.Send(ctx(t), courier.Message{Body: []byte("x")})
		wantErr(t, err, courier.ErrClosed)
		_, err = b.ListQueues(ctx(t))
		wantErr(t, err, courier.ErrClosed)
	}},
}
