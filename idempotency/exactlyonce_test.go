package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/idempotency"
	"github.com/courier-io/courier/internal/servicetest"
	"github.com/jackc/pgx/v5"
)

// TestExactlyOnceEffects: a file:// queue delivers 200 messages at least
// once to consumers that crash at every step, and each message's effect
// (counter = counter + 1) happens exactly once, because the effect and the
// idempotency record commit in one PostgreSQL transaction. Every message
// ends acknowledged exactly once.
func TestExactlyOnceEffects(t *testing.T) {
	for _, consumers := range []int{1, 2} {
		t.Run(fmt.Sprintf("consumers=%d", consumers), func(t *testing.T) {
			t.Parallel()
			testExactlyOnce(t, consumers)
		})
	}
}

// faults counts what the consumers did to the deliveries.
type faults struct {
	crashedHoldingClaim atomic.Int64 // claimed, wrote, died before commit: no release, no ack
	failedBeforeCommit  atomic.Int64 // the handler failed: rolled back, released, nacked
	crashedBeforeAck    atomic.Int64 // committed, died before the ack: the delivery comes back
	busy                atomic.Int64 // another consumer held the key: nacked until its lease ends
	duplicates          atomic.Int64 // the key was done: acked without the effect
	staleAcks           atomic.Int64 // the delivery had come back meanwhile: its ack was refused
}

func testExactlyOnce(t *testing.T, consumers int) {
	const (
		messages   = 200
		visibility = 200 * time.Millisecond
		lease      = 500 * time.Millisecond
	)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	db := servicetest.OpenPostgres(t, 2*consumers+2)
	store := openPostgresStore(t, db)
	counter := "idem_counter_" + servicetest.Suffix()
	servicetest.DropTable(t, db, counter)
	if _, err := db.Exec(ctx, "CREATE TABLE "+counter+" (id int PRIMARY KEY, n int NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "INSERT INTO "+counter+" VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	increment := "UPDATE " + counter + " SET n = n + 1 WHERE id = 1"

	b, err := courier.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	q, err := b.CreateQueue(ctx, "work", courier.VisibilityTimeout(visibility))
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]courier.Message, messages)
	for i := range msgs {
		msgs[i] = courier.Message{Body: fmt.Appendf(nil, "payment-%d", i)}
	}
	if _, err := q.SendBatch(ctx, msgs); err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		acked = map[string]int{} // message ID -> successful acks
		f     faults
	)
	ackedAll := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) == messages
	}
	errInjected := errors.New("injected handler failure")

	handle := func(rng *rand.Rand, d *courier.Delivery) error {
		key := d.ID // stable across redeliveries
		r := rng.Float64()
		if r < 0.15 {
			// Crash while holding the claim: the transaction never
			// commits and nothing is released or acked. The delivery
			// comes back after its visibility timeout, finds the key
			// busy until the lease ends, then takes it over.
			c, err := store.Claim(ctx, key, lease)
			if err != nil {
				return err
			}
			if c.Status == idempotency.Claimed {
				tx, err := db.Begin(ctx)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, increment); err != nil {
					return err
				}
				_ = tx.Rollback(ctx) // the connection died with the process
				f.crashedHoldingClaim.Add(1)
			}
			return nil
		}
		failBeforeCommit, crashBeforeAck := r < 0.30, r >= 0.30 && r < 0.45
		_, dup, err := store.DoTx(ctx, key, lease, time.Hour, func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
			if _, err := tx.Exec(ctx, increment); err != nil {
				return nil, err
			}
			if failBeforeCommit {
				return nil, errInjected
			}
			return nil, nil
		})
		var busy *idempotency.BusyError
		switch {
		case errors.Is(err, errInjected):
			f.failedBeforeCommit.Add(1)
			return ignoreStale(d.Nack(ctx, 0))
		case errors.As(err, &busy):
			f.busy.Add(1)
			return ignoreStale(d.Nack(ctx, min(max(time.Until(busy.Until), 10*time.Millisecond), lease)))
		case errors.Is(err, idempotency.ErrLostClaim):
			return nil // taken over meanwhile: the delivery comes back
		case err != nil:
			return err
		}
		if dup {
			f.duplicates.Add(1)
		}
		if crashBeforeAck {
			f.crashedBeforeAck.Add(1)
			return nil
		}
		if err := d.Ack(ctx); err != nil {
			if errors.Is(err, courier.ErrReceiptInvalid) {
				f.staleAcks.Add(1) // delivered again meanwhile; that delivery will see the key done
				return nil
			}
			return err
		}
		mu.Lock()
		acked[d.ID]++
		mu.Unlock()
		return nil
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var wg sync.WaitGroup
	errs := make([]error, consumers)
	for i := range consumers {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() {
			for !ackedAll() {
				ds, err := q.Receive(ctx, courier.Max(10), courier.Wait(100*time.Millisecond))
				if err != nil {
					errs[i] = err
					return
				}
				for _, d := range ds {
					if err := handle(rng, d); err != nil {
						errs[i] = fmt.Errorf("message %s: %w", d.ID, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("consumer %d: %v", i, err)
		}
	}

	var n int
	if err := db.QueryRow(ctx, "SELECT n FROM "+counter+" WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("faults: %d crashes holding a claim, %d handler failures, %d crashes before ack, %d busy, %d duplicates, %d stale acks",
		f.crashedHoldingClaim.Load(), f.failedBeforeCommit.Load(), f.crashedBeforeAck.Load(), f.busy.Load(), f.duplicates.Load(), f.staleAcks.Load())
	if n != messages {
		t.Errorf("counter is %d after %d messages; want exactly %d", n, messages, messages)
	}
	for id, k := range acked {
		if k != 1 {
			t.Errorf("message %s acked %d times", id, k)
		}
	}
	info, err := q.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := info.Stats; s.Visible+s.InFlight+s.Delayed != 0 {
		t.Errorf("queue not empty at the end: %+v", s)
	}
	// The faults did happen; otherwise the test proves little.
	if f.crashedHoldingClaim.Load() == 0 || f.failedBeforeCommit.Load() == 0 || f.crashedBeforeAck.Load() == 0 || f.duplicates.Load() == 0 {
		t.Errorf("some fault was never injected: %+v", &f)
	}
}

func ignoreStale(err error) error {
	if errors.Is(err, courier.ErrReceiptInvalid) {
		return nil
	}
	return err
}
