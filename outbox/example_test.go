package outbox_test

import (
	"context"
	"log"
	"log/slog"
	"os"
	"os/signal"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/outbox"
	"github.com/jackc/pgx/v5"
)

// A service writes an order and the event that announces it in one
// transaction: both commit, or neither does. In a service, db is a
// *pgxpool.Pool.
func ExampleWrite() {
	ctx := context.Background()
	db, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close(ctx)
	if err := outbox.EnsureTable(ctx, db, "outbox"); err != nil {
		log.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO orders (id, total) VALUES ($1, $2)", "o-42", 1999); err != nil {
			return err
		}
		_, err := outbox.Write(ctx, tx, "outbox", outbox.Message{
			Kind:        outbox.Bus,
			Destination: courier.DefaultBus,
			Source:      "com.example.shop",
			DetailType:  "Order Placed",
			Body:        []byte(`{"order":"o-42","total":1999}`),
		})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}

// A relay publishes the outbox to the broker until the process is
// interrupted, woken by the writers' notifications.
func ExampleRelay_Run() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	url := os.Getenv("DATABASE_URL")
	db, err := pgx.Connect(ctx, url) // a *pgxpool.Pool in a service
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close(context.Background())
	b, err := courier.Open(ctx, "file://./data")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	relay := outbox.NewRelay(db, b, "outbox",
		outbox.Listen(func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, url) }),
		outbox.WithLogger(slog.Default()))
	if err := relay.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
