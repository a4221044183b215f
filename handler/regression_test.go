package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/resilience"
)

// Messages that finished early in a batch stay invisible (extended) until
// the batch's ack, however long the rest of the batch runs.
func TestEarlyFinishedMessagesStayInvisibleUntilAcked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		q := must(b.CreateQueue(ctx, "work"))(t)
		sendN(t, q, 5)
		var mu sync.Mutex
		calls := map[string]int{}
		h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			mu.Lock()
			calls[string(m.Body)]++
			mu.Unlock()
			time.Sleep(10 * time.Second)
			return nil
		})
		r := handler.NewRouter()
		_ = r.Handle(handler.Queue(q), h, handler.Concurrency(2), handler.Prefetch(5), handler.Visibility(30*time.Second), handler.PollWait(time.Second))
		stop := running(t, r)
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		_ = stop()
		mu.Lock()
		defer mu.Unlock()
		for k, n := range calls {
			if n != 1 {
				t.Errorf("message %s handled %d times", k, n)
			}
		}
		t.Logf("stats %+v", r.Stats()[0])
	})
}

// A failing FIFO message is not overtaken by the next one of its group in
// the same batch.
func TestFailureKeepsFIFOGroupOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		q := must(b.CreateQueue(ctx, "fifo", courier.FIFO()))(t)
		for i := range 3 {
			if _, err := q.Send(ctx, courier.Message{Body: []byte(fmt.Sprint(i)), Group: "g", DedupID: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		var order []string
		failed := false
		h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			mu.Lock()
			defer mu.Unlock()
			if string(m.Body) == "0" && !failed {
				failed = true
				return errors.New("transient")
			}
			order = append(order, string(m.Body))
			return nil
		})
		r := handler.NewRouter()
		_ = r.Handle(handler.Queue(q), h, handler.Backoff(time.Millisecond, time.Millisecond))
		stop := running(t, r)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		_ = stop()
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(order) != "[0 1 2]" {
			t.Errorf("FIFO group processed in order %v; want [0 1 2]", order)
		}
	})
}

// A bus target's unstarted deliveries are not settled as failures at
// shutdown (which would use up their attempts).
func TestShutdownDoesNotFailBusTargetDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		bus := b.Bus(courier.DefaultBus)
		must(bus.PutRule(ctx, "jobs", courier.Rule{Pattern: json.RawMessage(`{"source": ["jobs"]}`), Targets: []courier.Target{{
			ID: "fn", Kind: courier.TargetHandler,
			Retry: courier.RetryPolicy{MaxAttempts: 1, MinDelay: time.Millisecond, MaxDelay: time.Millisecond},
		}}}))(t)
		for i := range 5 {
			must(bus.PutEvent(ctx, courier.Event{Source: "jobs", DetailType: "run", Detail: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i))}))(t)
		}
		started := make(chan struct{}, 5)
		var mu sync.Mutex
		handled := 0
		h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			started <- struct{}{}
			time.Sleep(time.Second)
			mu.Lock()
			handled++
			mu.Unlock()
			return nil
		})
		r := handler.NewRouter()
		_ = r.Handle(handler.BusTarget(bus, "jobs", "fn"), h, handler.Prefetch(5))
		stop := running(t, r)
		<-started
		_ = stop()
		// A second consumer should now get the 4 given-back events.
		r2 := handler.NewRouter()
		_ = r2.Handle(handler.BusTarget(bus, "jobs", "fn"), h, handler.Prefetch(5), handler.PollWait(time.Second))
		stop2 := running(t, r2)
		time.Sleep(time.Minute)
		synctest.Wait()
		_ = stop2()
		mu.Lock()
		defer mu.Unlock()
		if handled != 5 {
			t.Errorf("handled %d of 5 events; the unstarted ones were settled as failures at shutdown", handled)
		}
		info := must(bus.Rule(ctx, "jobs"))(t)
		t.Logf("target stats %+v", info.Stats.Targets[0])
	})
}

// An ordered batch whose dead-lettering fails is retried, never committed
// past records that are neither processed nor dead-lettered.
func TestStreamBatchIsNotCommittedPastUndeadletteredRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		st := must(b.CreateStream(ctx, "s", courier.Partitions(1)))(t)
		dlq := must(b.CreateQueue(ctx, "dlq"))(t)
		check(t, dlq.Delete(ctx)) // dead-lettering will fail
		dlq = b.Queue("dlq")
		for i := range 4 {
			must(st.Append(ctx, courier.Record{Value: []byte(fmt.Sprint(i)), Partition: 0}))(t)
		}
		c := must(st.Group("g").Join(ctx, "m1"))(t)
		var mu sync.Mutex
		var got [][]string
		h := func(ctx context.Context, msgs []*handler.Message) error {
			mu.Lock()
			defer mu.Unlock()
			var bs []string
			for _, m := range msgs {
				bs = append(bs, string(m.Body))
			}
			got = append(got, bs)
			if string(msgs[0].Body) == "0" {
				return handler.Permanent(errors.New("poison"))
			}
			return nil
		}
		r := handler.NewRouter()
		_ = r.HandleBatch(handler.StreamGroup(c, "s", "g"), h, handler.Prefetch(2), handler.DeadLetter(dlq), handler.PollWait(time.Second))
		stop := running(t, r)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		_ = stop()
		info := must(st.Info(ctx))(t)
		t.Logf("batches %v; committed %v", got, info.Groups[0].Committed)
		if info.Groups[0].Committed[0] != 0 && len(got) == 2 {
			t.Errorf("records 0,1 were neither processed nor dead-lettered, yet their offsets are committed (%v)", info.Groups[0].Committed)
		}
		check(t, c.Close(ctx))
	})
}

// Dead-letter dedup IDs differ between sources, so two streams sharing a
// dead-letter queue both get their records in.
func TestDeadLetterDedupIDsDifferPerSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		dlq := must(b.CreateQueue(ctx, "dlq"))(t)
		r := handler.NewRouter()
		var cs []*courier.Consumer
		for _, name := range []string{"a", "b"} {
			st := must(b.CreateStream(ctx, name, courier.Partitions(1)))(t)
			must(st.Append(ctx, courier.Record{Value: []byte(name), Partition: 0}))(t)
			c := must(st.Group("g").Join(ctx, "m1"))(t)
			cs = append(cs, c)
			_ = r.Handle(handler.StreamGroup(c, name, "g"), handler.HandlerFunc(func(context.Context, *handler.Message) error {
				return handler.Permanent(errors.New("poison"))
			}), handler.DeadLetter(dlq), handler.PollWait(time.Second))
		}
		stop := running(t, r)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		_ = stop()
		ds := must(dlq.Receive(ctx, courier.Wait(0), courier.Max(10)))(t)
		t.Logf("stats %+v", r.Stats())
		if len(ds) != 2 {
			t.Errorf("dead-letter queue holds %d messages; want 2 (one per stream)", len(ds))
		}
		for _, c := range cs {
			check(t, c.Close(ctx))
		}
	})
}

// A reply to a requester that closed (its inbox deleted) is dropped: the
// request's handler does not run again.
func TestReplyToAClosedRequesterIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		q := must(b.CreateQueue(ctx, "svc"))(t)
		dlq := must(b.CreateQueue(ctx, "dlq"))(t)
		req := must(handler.NewRequester(ctx, b))(t)
		tctx, cancel := context.WithTimeout(ctx, time.Hour) // long deadline
		go func() { _, _ = req.Request(tctx, "svc", courier.Message{Body: []byte("q")}) }()
		time.Sleep(time.Millisecond)
		synctest.Wait()
		check(t, req.Close(ctx)) // requester goes away
		cancel()
		var mu sync.Mutex
		calls := 0
		r := handler.NewRouter()
		_ = r.Handle(handler.Queue(q), handler.Replier(b, func(ctx context.Context, m *handler.Message) (courier.Message, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			return courier.Message{Body: []byte("a")}, nil
		}), handler.MaxAttempts(3), handler.Backoff(time.Millisecond, time.Millisecond), handler.DeadLetter(dlq))
		stop := running(t, r)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		_ = stop()
		mu.Lock()
		defer mu.Unlock()
		st := r.Stats()[0]
		if calls != 1 || st.DeadLettered != 0 {
			t.Errorf("replier fn ran %d times; stats %+v", calls, st)
		}
	})
}

// handler.Resilient with a hedging policy still runs the handler once per
// message.
func TestResilientHandlesAMessageOnce(t *testing.T) {
	p := must(resilience.New(resilience.WithHedge(resilience.HedgeConfig{Delay: time.Millisecond})))(t)
	var mu sync.Mutex
	calls := 0
	h := handler.Chain(handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
		mu.Lock()
		calls++
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		return handler.Permanent(errors.New("bad"))
	}), handler.Resilient(p))
	err := h.Handle(context.Background(), &handler.Message{ID: "1"})
	t.Logf("err %v permanent %v", err, handler.IsPermanent(err))
	if calls != 1 {
		t.Errorf("handler ran %d times for one message", calls)
	}
}
