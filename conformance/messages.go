package conformance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

var messageCases = []testCase{
	{name: "SendReceiveAck", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		headers := map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "content-type": "text/plain"}
		id := must(q.Send(ctx(t), courier.Message{Body: []byte("hello"), Headers: headers}))(t)
		if id == "" {
			t.Fatal("Send returned an empty ID")
		}
		ds := receive(t, q, courier.Max(10))
		if len(ds) != 1 {
			t.Fatalf("received %d messages; want 1", len(ds))
		}
		d := ds[0]
		if d.ID != id || string(d.Body) != "hello" || !maps.Equal(d.Headers, headers) {
			t.Fatalf("delivery = id %q body %q headers %v; want id %q body hello headers %v", d.ID, d.Body, d.Headers, id, headers)
		}
		if d.ReceiveCount != 1 || d.Receipt == "" || d.SentAt.IsZero() || d.FirstReceivedAt.IsZero() {
			t.Fatalf("delivery metadata = count %d receipt %q sent %v first %v", d.ReceiveCount, d.Receipt, d.SentAt, d.FirstReceivedAt)
		}
		wantStats(t, q, 0, 1, 0)
		check(t, d.Ack(ctx(t)))
		wantStats(t, q, 0, 0, 0)
		if ds := receive(t, q, courier.Wait(0)); len(ds) != 0 {
			t.Fatalf("acked message delivered again: %v", bodies(ds))
		}
		// Acking twice is harmless.
		check(t, d.Ack(ctx(t)))
	}},
	{name: "BinaryAndEmptyBodies", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		bin := make([]byte, 256)
		for i := range bin {
			bin[i] = byte(i)
		}
		send(t, q, string(bin))
		send(t, q, "")
		ds := receiveN(t, q, 2, time.Second)
		got := bodies(ds)
		slices.Sort(got)
		if got[0] != "" || got[1] != string(bin) {
			t.Fatalf("bodies did not round-trip: %q", got)
		}
	}},
	{name: "BatchSendReceive", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		msgs := make([]courier.Message, 25)
		for i := range msgs {
			msgs[i] = courier.Message{Body: fmt.Appendf(nil, "m%02d", i)}
		}
		res := must(q.SendBatch(ctx(t), msgs))(t)
		if len(res) != 25 {
			t.Fatalf("SendBatch returned %d results; want 25", len(res))
		}
		ids := map[string]bool{}
		for i, r := range res {
			if r.Err != nil || r.ID == "" || ids[r.ID] {
				t.Fatalf("result %d = %+v", i, r)
			}
			ids[r.ID] = true
		}
		first := receive(t, q, courier.Max(10))
		if len(first) == 0 || len(first) > 10 {
			t.Fatalf("Receive(Max 10) returned %d messages", len(first))
		}
		all := append(first, receiveN(t, q, 25-len(first), time.Second)...)
		seen := map[string]bool{}
		for _, d := range all {
			if !ids[d.ID] || seen[d.ID] {
				t.Fatalf("unexpected or duplicate delivery %q", d.ID)
			}
			seen[d.ID] = true
		}
		receipts := make([]string, len(all))
		for i, d := range all {
			receipts[i] = d.Receipt
		}
		check(t, q.Ack(ctx(t), receipts...))
		wantStats(t, q, 0, 0, 0)
	}},
	{name: "StandardQueueIsRoughlyOrdered", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		for i := range 20 {
			send(t, q, fmt.Sprint(i))
		}
		got := bodies(receiveN(t, q, 20, time.Second))
		seen := map[string]bool{}
		for _, g := range got {
			seen[g] = true
		}
		if len(seen) != 20 {
			t.Fatalf("received %v; want 20 distinct messages", got)
		}
	}},
	{name: "RejectsBadMessages", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q", courier.MaxMessageSize(1024))
		_, err := q.Send(ctx(t), courier.Message{Body: make([]byte, 1025)})
		wantErr(t, err, courier.ErrTooLarge)
		_, err = q.Send(ctx(t), courier.Message{Body: make([]byte, 1000), Headers: map[string]string{"k": strings.Repeat("v", 100)}})
		wantErr(t, err, courier.ErrTooLarge)
		_, err = q.Send(ctx(t), courier.Message{Body: make([]byte, 2<<20)})
		wantErr(t, err, courier.ErrTooLarge)
		_, err = q.Send(ctx(t), courier.Message{Body: []byte("x"), Delay: 16 * time.Minute})
		wantErr(t, err, courier.ErrInvalid)
		_, err = q.Send(ctx(t), courier.Message{Body: []byte("x"), DedupID: "has space"})
		wantErr(t, err, courier.ErrInvalid)
		_, err = q.SendBatch(ctx(t), nil)
		wantErr(t, err, courier.ErrInvalid)
		_, err = q.SendBatch(ctx(t), make([]courier.Message, 1001))
		wantErr(t, err, courier.ErrTooLarge)
		_, err = b.Queue("missing").Send(ctx(t), courier.Message{Body: []byte("x")})
		wantErr(t, err, courier.ErrNotFound)
		_, err = q.Receive(ctx(t), courier.Max(-1))
		wantErr(t, err, courier.ErrInvalid)
		_, err = q.Receive(ctx(t), courier.Wait(21*time.Second))
		wantErr(t, err, courier.ErrInvalid)
		wantStats(t, q, 0, 0, 0)
	}},
	{name: "BatchEntryFailuresAreIndependent", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q", courier.MaxMessageSize(1024))
		res := must(q.SendBatch(ctx(t), []courier.Message{
			{Body: []byte("ok-1")},
			{Body: make([]byte, 2000)},
			{Body: []byte("ok-2")},
		}))(t)
		if res[0].Err != nil || res[2].Err != nil || !errors.Is(res[1].Err, courier.ErrTooLarge) {
			t.Fatalf("results = %+v; want entries 0 and 2 stored and 1 rejected as too large", res)
		}
		got := bodies(receiveN(t, q, 2, time.Second))
		slices.Sort(got)
		if !slices.Equal(got, []string{"ok-1", "ok-2"}) {
			t.Fatalf("received %q", got)
		}
	}},
	{name: "ReceiptsAreChecked", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q")
		send(t, q, "x")
		d := receive(t, q)[0]
		err := q.Ack(ctx(t), "not-a-receipt")
		if !errors.Is(err, courier.ErrReceiptInvalid) && !errors.Is(err, courier.ErrInvalid) {
			t.Fatalf("Ack(garbage) = %v; want ErrReceiptInvalid or ErrInvalid", err)
		}
		wantErr(t, q.Ack(ctx(t)), courier.ErrInvalid)
		wantStats(t, q, 0, 1, 0)
		// A batch with one bad receipt still acks the good one.
		err = q.Ack(ctx(t), d.Receipt, "not-a-receipt")
		var be *courier.BatchError
		if !errors.As(err, &be) || len(be.Errors) != 2 || be.Errors[0] != nil || be.Errors[1] == nil {
			t.Fatalf("Ack(good, bad) = %v; want a BatchError failing only the second", err)
		}
		wantStats(t, q, 0, 0, 0)
	}},
	{name: "ConcurrentProducersAndConsumers", run: func(t *testing.T, s *suite, b *courier.Broker) {
		q := createQueue(t, b, "q", courier.VisibilityTimeout(10*time.Minute))
		const producers, perProducer = 8, 50
		var wg sync.WaitGroup
		errs := make(chan error, producers)
		for p := range producers {
			wg.Go(func() {
				for i := range perProducer {
					if _, err := q.Send(ctx(t), courier.Message{Body: fmt.Appendf(nil, "%d-%d", p, i)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		var mu sync.Mutex
		got := map[string]int{}
		for range 4 {
			wg.Go(func() {
				for {
					mu.Lock()
					done := len(got) == producers*perProducer
					mu.Unlock()
					if done {
						return
					}
					ds, err := q.Receive(ctx(t), courier.Max(7), courier.Wait(200*time.Millisecond))
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for _, d := range ds {
						got[string(d.Body)]++
					}
					mu.Unlock()
					for _, d := range ds {
						if err := d.Ack(ctx(t)); err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for k, n := range got {
			if n != 1 {
				t.Fatalf("message %s delivered %d times", k, n)
			}
		}
		wantStats(t, q, 0, 0, 0)
	}},
}
