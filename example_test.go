package courier_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/courier-io/courier"
)

// A queue round trip: create, send, receive, ack.
func Example() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://") // "file://./data" for the durable engine
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	q, err := b.CreateQueue(ctx, "orders", courier.VisibilityTimeout(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := q.Send(ctx, courier.Message{Body: []byte("order #1"), Headers: map[string]string{"tenant": "acme"}}); err != nil {
		log.Fatal(err)
	}
	ds, err := q.Receive(ctx, courier.Max(10), courier.Wait(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range ds {
		fmt.Printf("%s from %s, delivery %d\n", d.Body, d.Headers["tenant"], d.ReceiveCount)
		if err := d.Ack(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Output: order #1 from acme, delivery 1
}

// Poison messages move to a dead-letter queue after MaxReceives deliveries,
// and Redrive moves them back once the consumer is fixed.
func ExampleQueue_Redrive() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	dlq, _ := b.CreateQueue(ctx, "payments-dlq")
	q, _ := b.CreateQueue(ctx, "payments", courier.DeadLetter("payments-dlq", 1))
	q.Send(ctx, courier.Message{Body: []byte("charge 42")})

	ds, _ := q.Receive(ctx)
	ds[0].Nack(ctx, 0)                      // the handler failed once...
	ds, _ = q.Receive(ctx, courier.Wait(0)) // ...so the next receive dead-letters it
	fmt.Println("delivered from payments:", len(ds))

	moved, err := dlq.Redrive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("redriven:", moved)
	ds, _ = q.Receive(ctx)
	fmt.Printf("%s (receive count %d)\n", ds[0].Body, ds[0].ReceiveCount)
	// Output:
	// delivered from payments: 0
	// redriven: 1
	// charge 42 (receive count 1)
}

// FIFO queues deliver in order within a message group.
func ExampleFIFO() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	q, _ := b.CreateQueue(ctx, "ledger.fifo", courier.FIFO())
	for _, m := range []string{"open", "deposit", "withdraw"} {
		q.Send(ctx, courier.Message{Body: []byte(m), Group: "account-7"})
	}
	ds, _ := q.Receive(ctx, courier.Max(10))
	for _, d := range ds {
		fmt.Println(string(d.Body))
	}
	// Output:
	// open
	// deposit
	// withdraw
}
