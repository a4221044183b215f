package rabbitmq_test

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier"
	_ "github.com/courier-io/courier/drivers/rabbitmq" // registers amqp:// and amqps://
)

// Example opens courier on a local RabbitMQ and uses a queue. It needs a
// server, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "amqp://guest:guest@127.0.0.1:5672/?namespace=example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	q, err := b.CreateQueue(ctx, "greetings", courier.VisibilityTimeout(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := q.Send(ctx, courier.Message{Body: []byte("hello over RabbitMQ")}); err != nil {
		fmt.Println(err)
		return
	}
	ds, _ := q.Receive(ctx, courier.Max(10), courier.Wait(time.Second))
	for _, d := range ds {
		fmt.Println(string(d.Body), d.ReceiveCount)
		_ = d.Ack(ctx)
	}
}
