package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/idempotency"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Do runs a handler once per key; later calls return the recorded result.
func ExampleDo() {
	ctx := context.Background()
	store := idempotency.NewMemory()
	charge := func(ctx context.Context) ([]byte, error) {
		fmt.Println("charging order 42")
		return []byte("receipt-7"), nil
	}
	for range 3 {
		res, dup, err := idempotency.Do(ctx, store, "order-42", 30*time.Second, 24*time.Hour, charge)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("result %s, duplicate %v\n", res, dup)
	}
	// Output:
	// charging order 42
	// result receipt-7, duplicate false
	// result receipt-7, duplicate true
	// result receipt-7, duplicate true
}

// An idempotent queue consumer on the courier engine: the store lives in a
// compacted stream of the same broker. A redelivered message (here: sent
// twice with the same content, keyed by its order ID) is acked without
// running the handler again; a busy key is nacked until its claim's lease
// ends.
func ExampleNewEmbedded() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://") // file://DIR in production
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	store, err := idempotency.NewEmbedded(ctx, b, "orders-idempotency")
	if err != nil {
		log.Fatal(err)
	}
	q, err := b.CreateQueue(ctx, "orders")
	if err != nil {
		log.Fatal(err)
	}
	for _, order := range []string{"order-1", "order-2", "order-1"} {
		if _, err := q.Send(ctx, courier.Message{Body: []byte(order)}); err != nil {
			log.Fatal(err)
		}
	}

	ds, err := q.Receive(ctx, courier.Max(10))
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range ds {
		key := string(d.Body) // the order ID: the same order sent twice is one order
		_, dup, err := idempotency.Do(ctx, store, key, 30*time.Second, 24*time.Hour, func(ctx context.Context) ([]byte, error) {
			fmt.Println("shipping", key)
			return nil, nil
		})
		var busy *idempotency.BusyError
		switch {
		case errors.As(err, &busy):
			_ = d.Nack(ctx, time.Until(busy.Until))
			continue
		case err != nil:
			_ = d.Nack(ctx, time.Second) // failed and released: retry soon
			continue
		case dup:
			fmt.Println("already shipped", key)
		}
		if err := d.Ack(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// shipping order-1
	// shipping order-2
	// already shipped order-1
}

// Exactly-once effects with PostgreSQL: the business write and the
// idempotency record commit in one transaction. In a service, pass a
// *pgxpool.Pool instead of a single connection.
func ExamplePostgres_DoTx() {
	ctx := context.Background()
	db, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close(ctx)
	store, err := idempotency.NewPostgres(ctx, db, "processed_messages")
	if err != nil {
		log.Fatal(err)
	}
	b, err := courier.Open(ctx, "file://./data")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	q := b.Queue("payments")
	for ctx.Err() == nil {
		ds, err := q.Receive(ctx, courier.Max(10), courier.Wait(20*time.Second))
		if err != nil {
			log.Fatal(err)
		}
		for _, d := range ds {
			_, _, err := store.DoTx(ctx, d.ID, time.Minute, 7*24*time.Hour, func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				_, err := tx.Exec(ctx, "UPDATE accounts SET balance = balance + 10 WHERE id = $1", string(d.Body))
				return nil, err
			})
			if err != nil {
				continue // busy or failed: the message comes back after its visibility timeout
			}
			_ = d.Ack(ctx) // if this ack is lost, the redelivery finds the key done
		}
	}
}

// Idempotent consumers on several machines with Redis.
func ExampleNewRedis() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	store := idempotency.NewRedis(client, "billing:idem:")
	res, dup, err := idempotency.Do(ctx, store, "invoice-2026-0042", 30*time.Second, 24*time.Hour, func(ctx context.Context) ([]byte, error) {
		return []byte("sent"), nil // e.g. call the mail API with the key as its idempotency key
	})
	fmt.Println(string(res), dup, err)
}
