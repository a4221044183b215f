package nats_test

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier"
	_ "github.com/courier-io/courier/drivers/nats" // registers nats:// and nats+tls://
)

// Example opens a broker on a NATS server with JetStream (it needs one
// listening on 127.0.0.1:4222, so it has no Output to check) and uses a
// queue exactly as on any other backend.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := courier.Open(ctx, "nats://127.0.0.1:4222?prefix=example&replicas=1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	if _, err := b.CreateQueue(ctx, "greetings-dlq"); err != nil {
		fmt.Println(err)
		return
	}
	// Five receives without an ack move a message to greetings-dlq.
	q, err := b.CreateQueue(ctx, "greetings", courier.VisibilityTimeout(time.Minute), courier.DeadLetter("greetings-dlq", 5))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := q.Send(ctx, courier.Message{Body: []byte("hello over NATS")}); err != nil {
		fmt.Println(err)
		return
	}
	ds, err := q.Receive(ctx, courier.Max(10), courier.Wait(5*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range ds {
		fmt.Println(string(d.Body), d.ReceiveCount)
		if err := d.Ack(ctx); err != nil {
			fmt.Println(err)
		}
	}
}
