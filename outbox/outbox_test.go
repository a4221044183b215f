package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/servicetest"
	"github.com/courier-io/courier/outbox"
	"github.com/jackc/pgx/v5"
)

// fixture is a test's outbox table, business table and mem:// broker.
type fixture struct {
	db       *servicetest.Pool
	table    string // the outbox
	business string // rows the "service" writes with its messages
	b        *courier.Broker
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: servicetest.OpenPostgres(t, 8), table: "outbox_test_" + servicetest.Suffix(), business: "outbox_orders_" + servicetest.Suffix()}
	servicetest.DropTable(t, f.db, f.table)
	servicetest.DropTable(t, f.db, f.business)
	if err := outbox.EnsureTable(ctx, f.db, f.table); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, "CREATE TABLE "+f.business+" (id text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	f.b = b
	return f
}

// place writes an order row and its message in one transaction.
func (f *fixture) place(ctx context.Context, order string, m outbox.Message) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+f.business+" VALUES ($1)", order); err != nil {
			return err
		}
		var err error
		id, err = outbox.Write(ctx, tx, f.table, m)
		return err
	})
	return id, err
}

func (f *fixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// writeQueue writes n messages for queue q, with bodies prefix-0 ... in
// separate transactions of up to 50.
func (f *fixture) writeQueue(t *testing.T, q, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 50 {
		err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
			for i := start; i < min(start+50, n); i++ {
				m := outbox.Message{Kind: outbox.Queue, Destination: q, Body: fmt.Appendf(nil, "%s-%d", prefix, i)}
				if _, err := outbox.Write(ctx, tx, f.table, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// run starts relay r and returns a function that stops it and checks that
// Run returned nil.
func run(t *testing.T, r *outbox.Relay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drain receives and acks everything in queue q until want messages came
// or the wait runs out, and returns the bodies in delivery order.
func drain(t *testing.T, b *courier.Broker, q string, want int) []*courier.Delivery {
	t.Helper()
	ctx := context.Background()
	var got []*courier.Delivery
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		ds, err := b.Queue(q).Receive(ctx, courier.Max(100), courier.Wait(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, ds...)
	}
	// Anything more would be a duplicate.
	ds, err := b.Queue(q).Receive(ctx, courier.Max(100), courier.Wait(0))
	if err != nil {
		t.Fatal(err)
	}
	return append(got, ds...)
}

// exactlyOnce checks that the deliveries are prefix-0 .. prefix-(n-1),
// each once.
func exactlyOnce(t *testing.T, ds []*courier.Delivery, prefix string, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, d := range ds {
		seen[string(d.Body)]++
	}
	for i := range n {
		if k := seen[fmt.Sprintf("%s-%d", prefix, i)]; k != 1 {
			t.Errorf("%s-%d delivered %d times", prefix, i, k)
		}
	}
	if len(ds) != n {
		t.Errorf("%d deliveries, want %d", len(ds), n)
	}
}

func TestTableNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	bad := []string{"", "Outbox", "9lives", "out-box", "x; DROP TABLE users; --", `o"x`, "public.outbox", strings.Repeat("o", 64)}
	for _, name := range bad {
		var ve *courier.ValidationError
		if err := outbox.EnsureTable(ctx, f.db, name); !errors.As(err, &ve) || ve.Field != "table" || !errors.Is(err, courier.ErrInvalid) {
			t.Errorf("EnsureTable(%q): %v; want a validation error of table", name, err)
		}
		err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
			_, err := outbox.Write(ctx, tx, name, outbox.Message{Kind: outbox.Queue, Destination: "q"})
			return err
		})
		if !errors.Is(err, courier.ErrInvalid) {
			t.Errorf("Write(%q): %v; want ErrInvalid", name, err)
		}
		if err := outbox.NewRelay(f.db, f.b, name).Run(ctx); !errors.Is(err, courier.ErrInvalid) {
			t.Errorf("Run on %q: %v; want ErrInvalid", name, err)
		}
	}
	if err := outbox.EnsureTable(ctx, f.db, f.table); err != nil {
		t.Errorf("EnsureTable twice: %v", err)
	}
	// A relay on a table that does not exist stops with the error.
	if err := outbox.NewRelay(f.db, f.b, "no_such_outbox_"+servicetest.Suffix()).Run(ctx); err == nil || errors.Is(err, courier.ErrInvalid) {
		t.Errorf("Run on a missing table: %v; want the database's error", err)
	}
	for _, o := range []outbox.Option{outbox.BatchSize(0), outbox.BatchSize(1001), outbox.PollInterval(0), outbox.RetryBackoff(time.Second, time.Millisecond)} {
		if err := outbox.NewRelay(f.db, f.b, f.table, o).Run(ctx); !errors.Is(err, courier.ErrInvalid) {
			t.Errorf("Run with a bad option: %v; want ErrInvalid", err)
		}
	}
}

func TestWriteCommitsWithTheTransaction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	id, err := f.place(ctx, "order-1", outbox.Message{Kind: outbox.Queue, Destination: "orders", Body: []byte("order-1")})
	if err != nil || id <= 0 {
		t.Fatalf("place: id %d, %v", id, err)
	}
	if f.count(t, f.business) != 1 || f.count(t, f.table) != 1 {
		t.Fatal("after commit: want the order and its message")
	}

	// Rolled back: neither.
	errAbort := errors.New("abort")
	err = pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+f.business+" VALUES ('order-2')"); err != nil {
			return err
		}
		if _, err := outbox.Write(ctx, tx, f.table, outbox.Message{Kind: outbox.Queue, Destination: "orders", Body: []byte("order-2")}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatal(err)
	}
	if f.count(t, f.business) != 1 || f.count(t, f.table) != 1 {
		t.Fatal("after rollback: the order or its message is there")
	}

	// An invalid message is refused before any SQL: the transaction goes on.
	err = pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := outbox.Write(ctx, tx, f.table, outbox.Message{Kind: "email", Destination: "x"}); !errors.Is(err, courier.ErrInvalid) {
			t.Errorf("write of an invalid message: %v", err)
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+f.business+" VALUES ('order-3')")
		return err
	})
	if err != nil {
		t.Fatalf("transaction after a refused write: %v", err)
	}
}

func TestWriteValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	ev := func(m outbox.Message) outbox.Message {
		m.Kind, m.Destination = outbox.Bus, courier.DefaultBus
		if m.Source == "" {
			m.Source = "shop"
		}
		if m.DetailType == "" {
			m.DetailType = "Order Placed"
		}
		if m.Body == nil {
			m.Body = []byte(`{"id":1}`)
		}
		return m
	}
	manyHeaders := map[string]string{}
	for i := range 100 {
		manyHeaders[fmt.Sprint("h", i)] = "v"
	}
	for _, tc := range []struct {
		name  string
		m     outbox.Message
		field string
	}{
		{"unknown kind", outbox.Message{Kind: "email", Destination: "x"}, "kind"},
		{"no kind", outbox.Message{Destination: "x"}, "kind"},
		{"no destination", outbox.Message{Kind: outbox.Queue}, "destination"},
		{"bad queue name", outbox.Message{Kind: outbox.Queue, Destination: "a queue"}, "destination"},
		{"bad topic name", outbox.Message{Kind: outbox.Topic, Destination: "t/1"}, "destination"},
		{"topic with delay", outbox.Message{Kind: outbox.Topic, Destination: "t", Delay: time.Second}, "delay"},
		{"negative delay", outbox.Message{Kind: outbox.Queue, Destination: "q", Delay: -time.Second}, "message.delay"},
		{"dedup id with a space", outbox.Message{Kind: outbox.Queue, Destination: "q", DedupID: "a b"}, "message.dedup_id"},
		{"group too long", outbox.Message{Kind: outbox.Queue, Destination: "q", Group: strings.Repeat("g", 129)}, "message.group"},
		{"body too large", outbox.Message{Kind: outbox.Queue, Destination: "q", Body: make([]byte, 1<<20+1)}, "message"},
		{"bad header", outbox.Message{Kind: outbox.Queue, Destination: "q", Headers: map[string]string{"": "v"}}, "message.headers"},
		{"too many headers", outbox.Message{Kind: outbox.Queue, Destination: "q", Headers: manyHeaders}, "message.headers"},
		{"event without source", outbox.Message{Kind: outbox.Bus, Destination: courier.DefaultBus, DetailType: "x", Body: []byte("{}")}, "message.source"},
		{"event detail not JSON", ev(outbox.Message{Body: []byte("not json")}), "message.detail"},
		{"event with group", ev(outbox.Message{Group: "g"}), "group"},
		{"event header", ev(outbox.Message{Headers: map[string]string{"k": "\xff"}}), "message.headers"},
	} {
		err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
			_, err := outbox.Write(ctx, tx, f.table, tc.m)
			return err
		})
		var ve *courier.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: %v; want a validation error of %s", tc.name, err, tc.field)
		}
	}
	if n := f.count(t, f.table); n != 0 {
		t.Errorf("%d rows written", n)
	}
}

// The relay publishes to queues, topics and buses, keeps the message's
// headers and group, and deletes what it published.
func TestRelayDeliversEveryKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, q := range []string{"orders", "fanout", "events"} {
		if _, err := f.b.CreateQueue(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.b.CreateQueue(ctx, "fifo.fifo", courier.FIFO()); err != nil {
		t.Fatal(err)
	}
	topic, err := f.b.CreateTopic(ctx, "order-events")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topic.SubscribeQueue(ctx, "to-fanout", "fanout", courier.Raw()); err != nil {
		t.Fatal(err)
	}
	_, err = f.b.Bus(courier.DefaultBus).PutRule(ctx, "shop", courier.Rule{
		Pattern: []byte(`{"source":["shop"]}`),
		Targets: []courier.Target{{ID: "q", Kind: courier.TargetQueue, Queue: "events"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	for i := range n {
		order := fmt.Sprint("order-", i)
		for _, m := range []outbox.Message{
			{Kind: outbox.Queue, Destination: "orders", Body: []byte(order), Headers: map[string]string{"traceparent": "00-" + order}},
			{Kind: outbox.Queue, Destination: "fifo.fifo", Body: []byte(order), Group: "customer-7"},
			{Kind: outbox.Topic, Destination: "order-events", Body: []byte(order)},
			{Kind: outbox.Bus, Destination: courier.DefaultBus, Source: "shop", DetailType: "Order Placed", Body: fmt.Appendf(nil, `{"order":%q}`, order)},
		} {
			err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
				_, err := outbox.Write(ctx, tx, f.table, m)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	stop := run(t, outbox.NewRelay(f.db, f.b, f.table, outbox.BatchSize(17)))
	orders := drain(t, f.b, "orders", n)
	exactlyOnce(t, orders, "order", n)
	for _, d := range orders {
		if d.Headers["traceparent"] != "00-"+string(d.Body) {
			t.Errorf("%s: headers %v", d.Body, d.Headers)
			break
		}
		if !strings.HasPrefix(d.DedupID, "outbox-") || len(d.DedupID) != len("outbox-")+36 {
			t.Errorf("%s: dedup ID %q, want outbox-<random UUID>", d.Body, d.DedupID)
			break
		}
	}
	fifo := drain(t, f.b, "fifo.fifo", n)
	exactlyOnce(t, fifo, "order", n)
	for i, d := range fifo {
		if d.Group != "customer-7" || string(d.Body) != fmt.Sprint("order-", i) {
			t.Errorf("fifo delivery %d: %s group %q; want order-%d in group customer-7", i, d.Body, d.Group, i)
			break
		}
	}
	exactlyOnce(t, drain(t, f.b, "fanout", n), "order", n)
	events := drain(t, f.b, "events", n)
	if len(events) != n {
		t.Errorf("%d events delivered, want %d", len(events), n)
	}
	for _, d := range events {
		if !strings.Contains(string(d.Body), `"id":"outbox-`) || !strings.Contains(string(d.Body), `"source":"shop"`) {
			t.Errorf("event %s: want the outbox ID as event id and source shop", d.Body)
			break
		}
	}
	stop()
	if k := f.count(t, f.table); k != 0 {
		t.Errorf("%d rows left in the outbox", k)
	}
}

// Two relays share the table: each batch is locked by one (SKIP LOCKED),
// the other takes the next rows instead of waiting.
func TestTwoRelays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.b.CreateQueue(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	const n = 400
	f.writeQueue(t, "q", "m", n)

	// The first relay holds its first batch until the second has published
	// one of its own: with plain FOR UPDATE the second would wait for the
	// first's rows and the test would time out.
	secondPublished := make(chan struct{})
	var once sync.Once
	var batches [2]atomic.Int64
	r1 := outbox.NewRelay(f.db, f.b, f.table, outbox.BatchSize(20))
	first := true
	outbox.SetAfterPublish(r1, func(ctx context.Context) error {
		batches[0].Add(1)
		if first {
			first = false
			select {
			case <-secondPublished:
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Error("the second relay did not publish while the first held a batch")
			}
		}
		return nil
	})
	r2 := outbox.NewRelay(f.db, f.b, f.table, outbox.BatchSize(20))
	outbox.SetAfterPublish(r2, func(context.Context) error {
		batches[1].Add(1)
		once.Do(func() { close(secondPublished) })
		return nil
	})
	stop1, stop2 := run(t, r1), run(t, r2)
	exactlyOnce(t, drain(t, f.b, "q", n), "m", n)
	stop1()
	stop2()
	t.Logf("batches: %d and %d", batches[0].Load(), batches[1].Load())
	if k := f.count(t, f.table); k != 0 {
		t.Errorf("%d rows left in the outbox", k)
	}
}

// A relay killed after publishing and before deleting leaves its rows; the
// next relay publishes them again with the same dedup IDs, and the queue
// keeps one of each. The kill is the relay's context ending at that point
// with nothing after it run (a plain cancel would let the relay finish
// the batch).
func TestRelayKilledMidBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.b.CreateQueue(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	const n = 120
	f.writeQueue(t, "q", "m", n)

	killed := outbox.NewRelay(f.db, f.b, f.table, outbox.BatchSize(50))
	kctx, kill := context.WithCancel(ctx)
	defer kill()
	publishedBeforeKill := 0
	errKilled := errors.New("killed")
	outbox.SetAfterPublish(killed, func(context.Context) error {
		publishedBeforeKill++
		if publishedBeforeKill == 2 { // the second batch is published, then the relay dies
			kill()
			return errKilled
		}
		return nil
	})
	if err := killed.Run(kctx); err != nil {
		t.Fatalf("killed relay: %v", err)
	}
	info, err := f.b.Queue("q").Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Stats.Visible != 100 {
		t.Fatalf("after the kill the queue has %d messages, want the 2 batches published (100)", info.Stats.Visible)
	}
	if k := f.count(t, f.table); k != n-50 {
		t.Fatalf("after the kill the outbox has %d rows, want %d (the killed batch's rows stay)", k, n-50)
	}

	next := outbox.NewRelay(f.db, f.b, f.table, outbox.BatchSize(50))
	var republished atomic.Int64
	outbox.SetAfterPoll(next, func(n int) { republished.Add(int64(n)) })
	stop := run(t, next)
	// The outbox empties when the last batch's rows are deleted, a moment
	// before the relay reports that poll: wait for both.
	waitFor(t, "the outbox to empty", func() bool { return f.count(t, f.table) == 0 && republished.Load() >= n-50 })
	stop()
	if got := republished.Load(); got != n-50 {
		t.Errorf("the next relay took %d rows, want %d", got, n-50)
	}
	exactlyOnce(t, drain(t, f.b, "q", n), "m", n)
}

// A relay that listens wakes on the commit of a write instead of waiting
// for its next poll (here: an hour away).
func TestRelayListen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.b.CreateQueue(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	var listens atomic.Int64
	r := outbox.NewRelay(f.db, f.b, f.table, outbox.PollInterval(time.Hour), outbox.Listen(func(ctx context.Context) (*pgx.Conn, error) {
		listens.Add(1)
		return pgx.ConnectConfig(ctx, f.db.Config())
	}))
	outbox.SetIdleFloor(r, time.Hour)
	var polls atomic.Int64
	outbox.SetAfterPoll(r, func(int) { polls.Add(1) })
	run(t, r)
	// The relay polls when it starts and once more when its LISTEN is in
	// place; after that only a notification can wake it.
	waitFor(t, "the relay to start listening", func() bool { return polls.Load() >= 2 })
	for i := range 3 {
		if _, err := f.place(ctx, fmt.Sprint("order-", i), outbox.Message{Kind: outbox.Queue, Destination: "q", Body: fmt.Appendf(nil, "m-%d", i)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the notified relay to publish", func() bool { return f.count(t, f.table) == 0 })
	}
	exactlyOnce(t, drain(t, f.b, "q", 3), "m", 3)
	if listens.Load() != 1 {
		t.Errorf("%d LISTEN connections, want 1", listens.Load())
	}
}

// A message whose destination is missing stays in the outbox with its
// error and attempts, does not hold up the others, and goes out once the
// destination exists.
func TestRelayRetriesFailedMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.b.CreateQueue(ctx, "present"); err != nil {
		t.Fatal(err)
	}
	writes := []outbox.Message{
		{Kind: outbox.Queue, Destination: "missing", Body: []byte("m-0")},
		{Kind: outbox.Queue, Destination: "present", Body: []byte("p-0")},
	}
	for _, m := range writes {
		err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error { _, err := outbox.Write(ctx, tx, f.table, m); return err })
		if err != nil {
			t.Fatal(err)
		}
	}
	run(t, outbox.NewRelay(f.db, f.b, f.table, outbox.RetryBackoff(10*time.Millisecond, 50*time.Millisecond)))
	exactlyOnce(t, drain(t, f.b, "present", 1), "p", 1)
	var attempts int
	var lastError string
	waitFor(t, "a few failed attempts", func() bool {
		err := f.db.QueryRow(ctx, "SELECT attempts, last_error FROM "+f.table+" WHERE destination = 'missing'").Scan(&attempts, &lastError)
		if err != nil {
			t.Fatal(err)
		}
		return attempts >= 3
	})
	if !strings.Contains(lastError, "not found") || !strings.Contains(lastError, "missing") {
		t.Errorf("last_error %q; want the broker's not-found error", lastError)
	}
	if _, err := f.b.CreateQueue(ctx, "missing"); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, drain(t, f.b, "missing", 1), "m", 1)
	waitFor(t, "the outbox to empty", func() bool { return f.count(t, f.table) == 0 })
}

// Ordered relays publish in write order even when two run at once with
// small batches.
func TestOrderedRelays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.b.CreateQueue(ctx, "seq.fifo", courier.FIFO()); err != nil {
		t.Fatal(err)
	}
	const n = 150
	for start := 0; start < n; start += 25 {
		err := pgx.BeginFunc(ctx, f.db, func(tx pgx.Tx) error {
			for i := start; i < start+25; i++ {
				m := outbox.Message{Kind: outbox.Queue, Destination: "seq.fifo", Group: "g", Body: fmt.Appendf(nil, "m-%d", i)}
				if _, err := outbox.Write(ctx, tx, f.table, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run(t, outbox.NewRelay(f.db, f.b, f.table, outbox.Ordered(), outbox.BatchSize(7)))
	run(t, outbox.NewRelay(f.db, f.b, f.table, outbox.Ordered(), outbox.BatchSize(7)))
	ds := drain(t, f.b, "seq.fifo", n)
	exactlyOnce(t, ds, "m", n)
	bodies := make([]string, len(ds))
	for i, d := range ds {
		bodies[i] = string(d.Body)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint("m-", i)
	}
	if !slices.Equal(bodies, want) {
		t.Errorf("published out of order: %v", bodies)
	}
}
