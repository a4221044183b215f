package redis_test

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier"
	_ "github.com/courier-io/courier/drivers/redis" // registers redis:// and rediss://
)

// Example opens courier on a Redis server, sends a message to a queue and
// receives it. It needs a server on 127.0.0.1:6379, so it is compiled but
// not run by go test. The key prefix keeps this broker's data apart from
// other users of the database.
func Example() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "redis://127.0.0.1:6379/0?prefix=example&dial_timeout=2s")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	fmt.Println("persistent:", b.Capabilities().Persistent) // true only with appendfsync always

	q, err := b.CreateQueue(ctx, "greetings", courier.VisibilityTimeout(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := q.Send(ctx, courier.Message{Body: []byte("hello over Redis")}); err != nil {
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
