package handler_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
)

// A route that processes a queue, retrying failures with backoff and
// moving a poison message to a dead-letter queue with its error.
func ExampleRouter() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	orders, _ := b.CreateQueue(ctx, "orders")
	dlq, _ := b.CreateQueue(ctx, "orders-dlq")
	for _, body := range []string{"order 1", "bad order", "order 2"} {
		_, _ = orders.Send(ctx, courier.Message{Body: []byte(body)})
	}

	done := make(chan struct{}, 3)
	r := handler.NewRouter(handler.Use(handler.DefaultMiddleware()...))
	_ = r.Handle(handler.Queue(orders), handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
		defer func() { done <- struct{}{} }()
		if strings.HasPrefix(string(m.Body), "bad") {
			return handler.Permanent(errors.New("unparsable order"))
		}
		return nil // acked
	}), handler.MaxAttempts(5), handler.DeadLetter(dlq))

	ctx, stop := context.WithCancel(ctx)
	finished := make(chan error)
	go func() { finished <- r.Run(ctx) }()
	for range 3 {
		<-done
	}
	stop()
	<-finished

	st := r.Stats()[0]
	fmt.Println("processed:", st.Processed, "dead-lettered:", st.DeadLettered)
	ds, _ := dlq.Receive(context.Background(), courier.Wait(time.Second))
	fmt.Printf("%s: %s\n", ds[0].Body, ds[0].Headers[handler.HeaderError])
	// Output:
	// processed: 2 dead-lettered: 1
	// bad order: unparsable order
}

// Request and reply over a queue.
func ExampleRequester() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	upper, _ := b.CreateQueue(ctx, "upper")

	r := handler.NewRouter(handler.Use(handler.DefaultMiddleware()...))
	_ = r.Handle(handler.Queue(upper), handler.Replier(b, func(ctx context.Context, req *handler.Message) (courier.Message, error) {
		return courier.Message{Body: []byte(strings.ToUpper(string(req.Body)))}, nil
	}))
	rctx, stop := context.WithCancel(ctx)
	finished := make(chan error)
	go func() { finished <- r.Run(rctx) }()
	defer func() { stop(); <-finished }()

	req, err := handler.NewRequester(ctx, b)
	if err != nil {
		log.Fatal(err)
	}
	defer req.Close(ctx)
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	reply, err := req.Request(tctx, "upper", courier.Message{Body: []byte("hello")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(reply.Body))
	// Output:
	// HELLO
}
