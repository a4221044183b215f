package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
)

// running runs r until the returned stop is called; stop returns Run's
// error.
func running(t *testing.T, r *handler.Router) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

func sendN(t *testing.T, q *courier.Queue, n int) {
	t.Helper()
	msgs := make([]courier.Message, n)
	for i := range msgs {
		msgs[i] = courier.Message{Body: []byte(fmt.Sprint(i))}
	}
	res := must(q.SendBatch(context.Background(), msgs))(t)
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
}

// recorder is a handler that records what it got.
type recorder struct {
	mu   sync.Mutex
	got  []string
	fail func(m *handler.Message) error
}

func (rec *recorder) Handle(ctx context.Context, m *handler.Message) error {
	rec.mu.Lock()
	rec.got = append(rec.got, string(m.Body))
	fail := rec.fail
	rec.mu.Unlock()
	if fail != nil {
		return fail(m)
	}
	return nil
}

func (rec *recorder) bodies() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.got)
}

func TestQueueRouteProcessesEveryMessageOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		q := must(b.CreateQueue(context.Background(), "work"))(t)
		sendN(t, q, 100)
		rec := &recorder{}
		r := handler.NewRouter(handler.Use(handler.DefaultMiddleware()...), handler.MaxInFlight(3))
		if err := r.Handle(handler.Queue(q), rec, handler.Concurrency(4), handler.Prefetch(7)); err != nil {
			t.Fatal(err)
		}
		stop := running(t, r)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		got := rec.bodies()
		slices.Sort(got)
		got = slices.Compact(got)
		if len(got) != 100 || len(rec.bodies()) != 100 {
			t.Fatalf("processed %d messages (%d distinct); want 100 once each", len(rec.bodies()), len(got))
		}
		st := r.Stats()[0]
		if st.Processed != 100 || st.Failed != 0 || st.InFlight != 0 || st.Source != "queue work" {
			t.Fatalf("stats %+v", st)
		}
		if info := must(q.Info(context.Background()))(t); info.Stats.Visible+info.Stats.InFlight != 0 {
			t.Fatalf("queue still holds %+v", info.Stats)
		}
	})
}

func TestFailuresRetryWithBackoffThenDeadLetter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		q := must(b.CreateQueue(ctx, "work"))(t)
		dlq := must(b.CreateQueue(ctx, "work-dlq"))(t)
		sendN(t, q, 2)
		var mu sync.Mutex
		attempts := map[string][]time.Time{}
		h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			mu.Lock()
			attempts[string(m.Body)] = append(attempts[string(m.Body)], time.Now())
			mu.Unlock()
			if string(m.Body) == "1" {
				return handler.Permanent(errors.New("malformed order"))
			}
			return errors.New("inventory service down")
		})
		r := handler.NewRouter()
		if err := r.Handle(handler.Queue(q), h, handler.MaxAttempts(4), handler.Backoff(time.Second, 4*time.Second), handler.DeadLetter(dlq)); err != nil {
			t.Fatal(err)
		}
		stop := running(t, r)
		time.Sleep(time.Minute)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if n := len(attempts["0"]); n != 4 {
			t.Fatalf("failing message tried %d times; want MaxAttempts 4", n)
		}
		for i := 1; i < 4; i++ {
			gap := attempts["0"][i].Sub(attempts["0"][i-1])
			if ceiling := min(time.Second<<(i-1), 4*time.Second); gap > ceiling {
				t.Fatalf("retry %d came after %v; the full-jitter ceiling is %v", i, gap, ceiling)
			}
		}
		if n := len(attempts["1"]); n != 1 {
			t.Fatalf("permanently failing message tried %d times; want 1", n)
		}
		ds := must(dlq.Receive(ctx, courier.Max(10), courier.Wait(0)))(t)
		if len(ds) != 2 {
			t.Fatalf("dead-letter queue holds %d messages; want 2", len(ds))
		}
		for _, d := range ds {
			want := map[string]string{"0": "inventory service down", "1": "malformed order"}[string(d.Body)]
			if d.Headers[handler.HeaderError] != want || d.Headers[handler.HeaderSource] != "queue work" || d.Headers[handler.HeaderFailedAt] == "" {
				t.Fatalf("dead-lettered %q with headers %v", d.Body, d.Headers)
			}
		}
		if st := r.Stats()[0]; st.DeadLettered != 2 || st.Retried != 3 || st.Failed != 5 {
			t.Fatalf("stats %+v", st)
		}
		if info := must(q.Info(ctx))(t); info.Stats.Visible+info.Stats.InFlight+info.Stats.Delayed != 0 {
			t.Fatalf("source queue still holds %+v", info.Stats)
		}
	})
}

func TestPanicIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		q := must(b.CreateQueue(ctx, "work"))(t)
		dlq := must(b.CreateQueue(ctx, "dlq"))(t)
		sendN(t, q, 1)
		r := handler.NewRouter(handler.Use(handler.Recover()))
		_ = r.Handle(handler.Queue(q), handler.HandlerFunc(func(context.Context, *handler.Message) error { panic("nil map") }),
			handler.MaxAttempts(2), handler.Backoff(time.Millisecond, time.Millisecond), handler.DeadLetter(dlq))
		stop := running(t, r)
		time.Sleep(time.Second)
		synctest.Wait()
		_ = stop()
		ds := must(dlq.Receive(ctx, courier.Wait(0)))(t)
		if len(ds) != 1 || !strings.Contains(ds[0].Headers[handler.HeaderError], "handler panicked: nil map") {
			t.Fatalf("dead-lettered %v", ds)
		}
	})
}

func TestSlowHandlerKeepsItsMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		q := must(b.CreateQueue(context.Background(), "work"))(t)
		sendN(t, q, 1)
		var mu sync.Mutex
		calls := 0
		h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			mu.Lock()
			calls++
			mu.Unlock()
			time.Sleep(5 * time.Minute) // ten visibility timeouts
			return nil
		})
		r := handler.NewRouter()
		_ = r.Handle(handler.Queue(q), h, handler.Concurrency(3), handler.Visibility(30*time.Second))
		stop := running(t, r)
		time.Sleep(6 * time.Minute)
		synctest.Wait()
		_ = stop()
		mu.Lock()
		defer mu.Unlock()
		if calls != 1 {
			t.Fatalf("handler called %d times; the runtime must extend the visibility while it works", calls)
		}
		if st := r.Stats()[0]; st.Processed != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestShutdownFinishesInFlightAndGivesBackTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		q := must(b.CreateQueue(ctx, "work"))(t)
		sendN(t, q, 5)
		started := make(chan struct{}, 5)
		h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			started <- struct{}{}
			time.Sleep(10 * time.Second)
			return ctx.Err() // nil: the handler's context outlives Run's
		})
		r := handler.NewRouter(handler.ShutdownTimeout(time.Minute))
		_ = r.Handle(handler.Queue(q), h, handler.Prefetch(5))
		stop := running(t, r)
		<-started
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if st := r.Stats()[0]; st.Processed != 1 {
			t.Fatalf("stats %+v; want the message in progress finished", st)
		}
		info := must(q.Info(ctx))(t)
		if info.Stats.Visible != 4 {
			t.Fatalf("queue %+v; want the 4 unstarted messages visible again at once", info.Stats)
		}
	})
}

func TestStreamGroupKeepsPartitionOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		st := must(b.CreateStream(ctx, "clicks", courier.Partitions(3)))(t)
		var recs []courier.Record
		for i := range 30 {
			recs = append(recs, courier.Record{Key: []byte(fmt.Sprint("user-", i%5)), Value: []byte(fmt.Sprint(i)), Partition: courier.AnyPartition})
		}
		for _, res := range must(st.AppendBatch(ctx, recs))(t) {
			if res.Err != nil {
				t.Fatal(res.Err)
			}
		}
		c := must(st.Group("g").Join(ctx, "m1"))(t)
		var mu sync.Mutex
		seen := map[string][]int{}
		failed := map[int]bool{}
		h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			var n int
			fmt.Sscan(string(m.Body), &n)
			mu.Lock()
			defer mu.Unlock()
			if n%7 == 3 && !failed[n] { // some records fail once
				failed[n] = true
				return errors.New("transient")
			}
			seen[m.Group] = append(seen[m.Group], n)
			return nil
		})
		r := handler.NewRouter()
		_ = r.Handle(handler.StreamGroup(c, "clicks", "g"), h, handler.Concurrency(3), handler.Backoff(time.Millisecond, time.Second))
		stop := running(t, r)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		total := 0
		for key, ns := range seen {
			total += len(ns)
			if !slices.IsSorted(ns) {
				t.Fatalf("key %s processed out of order: %v", key, ns)
			}
		}
		if total != 30 {
			t.Fatalf("processed %d records; want 30 (each once)", total)
		}
		info := must(st.Info(ctx))(t)
		var committed int64
		for _, off := range info.Groups[0].Committed {
			committed += off
		}
		if committed != 30 {
			t.Fatalf("committed offsets %v; want every record committed", info.Groups[0].Committed)
		}
		check(t, c.Close(ctx))
	})
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestBusTargetSourceUsesTheTargetsRetryPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		dlq := must(b.CreateQueue(ctx, "bus-dlq"))(t)
		bus := b.Bus(courier.DefaultBus)
		must(bus.PutRule(ctx, "jobs", courier.Rule{Pattern: json.RawMessage(`{"source": ["jobs"]}`), Targets: []courier.Target{{
			ID: "fn", Kind: courier.TargetHandler, DeadLetterQueue: "bus-dlq",
			Retry: courier.RetryPolicy{MaxAttempts: 2, MinDelay: time.Millisecond, MaxDelay: time.Millisecond},
		}}}))(t)
		for _, d := range []string{`{"ok": true}`, `{"ok": false}`} {
			must(bus.PutEvent(ctx, courier.Event{Source: "jobs", DetailType: "run", Detail: json.RawMessage(d)}))(t)
		}
		h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			ev := must(courier.ParseEvent(m.Body))(t)
			if string(ev.Detail) != `{"ok": true}` {
				return errors.New("job failed")
			}
			return nil
		})
		r := handler.NewRouter()
		_ = r.Handle(handler.BusTarget(bus, "jobs", "fn"), h)
		stop := running(t, r)
		time.Sleep(time.Second)
		synctest.Wait()
		_ = stop()
		ds := must(dlq.Receive(ctx, courier.Wait(0)))(t)
		if len(ds) != 1 || ds[0].Headers["courier-dlq-error"] != "job failed" || ds[0].Headers["courier-dlq-reason"] != "max-attempts" {
			t.Fatalf("dead-lettered %v", ds)
		}
		info := must(bus.Rule(ctx, "jobs"))(t)
		if st := info.Stats.Targets[0]; st.Delivered != 1 || st.DeadLettered != 1 {
			t.Fatalf("target stats %+v", st)
		}
	})
}

func TestBatchHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		q := must(b.CreateQueue(context.Background(), "work"))(t)
		sendN(t, q, 25)
		var mu sync.Mutex
		var sizes []int
		r := handler.NewRouter()
		if err := r.HandleBatch(handler.Queue(q), func(ctx context.Context, ms []*handler.Message) error {
			mu.Lock()
			sizes = append(sizes, len(ms))
			mu.Unlock()
			return nil
		}, handler.Prefetch(10)); err != nil {
			t.Fatal(err)
		}
		stop := running(t, r)
		synctest.Wait()
		_ = stop()
		total := 0
		for _, n := range sizes {
			if n > 10 {
				t.Fatalf("batch of %d; prefetch is 10", n)
			}
			total += n
		}
		if total != 25 || r.Stats()[0].Processed != 25 {
			t.Fatalf("batches %v, stats %+v", sizes, r.Stats()[0])
		}
	})
}

func TestRouteValidationAndFatalSources(t *testing.T) {
	b := open(t)
	q := b.Queue("missing")
	r := handler.NewRouter()
	for _, opt := range []handler.RouteOption{handler.Concurrency(0), handler.Prefetch(1001), handler.Visibility(time.Millisecond),
		handler.MaxAttempts(0), handler.Backoff(time.Second, time.Millisecond), handler.PollWait(time.Minute)} {
		if err := r.Handle(handler.Queue(q), &recorder{}, opt); err == nil {
			t.Fatal("an invalid option was accepted")
		}
	}
	if err := r.Run(context.Background()); err == nil {
		t.Fatal("a router without routes ran")
	}
	if err := r.Handle(handler.Queue(q), &recorder{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("Run on a missing queue = %v; want ErrNotFound", err)
	}
}
