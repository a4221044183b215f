package courier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/courier-io/courier"
)

// Content-based routing: a rule sends big orders to a queue, reshaped by
// an input transformer; other events match no rule.
func ExampleBus_PutRule() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	big, _ := b.CreateQueue(ctx, "big-orders")
	bus := b.Bus(courier.DefaultBus)
	_, err = bus.PutRule(ctx, "big-orders", courier.Rule{
		Pattern: json.RawMessage(`{"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}`),
		Targets: []courier.Target{{
			ID: "q", Kind: courier.TargetQueue, Queue: "big-orders",
			InputTransformer: &courier.InputTransformer{
				InputPaths: map[string]string{"id": "$.detail.id", "total": "$.detail.total"},
				Template:   `{"order": <id>, "total": <total>, "note": "big order <id>"}`,
			},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, detail := range []string{`{"id": 1, "total": 250}`, `{"id": 2, "total": 20}`} {
		if _, err := bus.PutEvent(ctx, courier.Event{Source: "shop", DetailType: "Order Placed", Detail: json.RawMessage(detail)}); err != nil {
			log.Fatal(err)
		}
	}
	ds, _ := big.Receive(ctx, courier.Max(10), courier.Wait(time.Second))
	for _, d := range ds {
		fmt.Println(string(d.Body))
	}
	// Output:
	// {"order": 1, "total": 250, "note": "big order 1"}
}

// A Go function as a rule target: Handle serves the target's deliveries
// until its context ends.
func ExampleBus_Handle() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	bus := b.Bus(courier.DefaultBus)
	_, err = bus.PutRule(ctx, "signups", courier.Rule{
		Pattern: json.RawMessage(`{"detail-type": ["Signed Up"]}`),
		Targets: []courier.Target{{ID: "welcome", Kind: courier.TargetHandler}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := bus.PutEvent(ctx, courier.Event{Source: "accounts", DetailType: "Signed Up", Detail: json.RawMessage(`{"email": "ada@example.com"}`)}); err != nil {
		log.Fatal(err)
	}
	hctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = bus.Handle(hctx, "signups", "welcome", func(ctx context.Context, d courier.TargetDelivery) error {
			ev, err := courier.ParseEvent(d.Body)
			if err != nil {
				return err
			}
			var who struct{ Email string }
			if err := json.Unmarshal(ev.Detail, &who); err != nil {
				return err
			}
			fmt.Printf("welcome %s (from %s)\n", who.Email, ev.Source)
			stop() // one event is all this example waits for
			return nil
		})
	}()
	<-done
	// Output:
	// welcome ada@example.com (from accounts)
}

// TestPattern checks an event pattern against an event without a backend.
func ExampleTestPattern() {
	ok, err := courier.TestPattern(
		[]byte(`{"detail": {"total": [{"numeric": [">", 100]}], "region": [{"anything-but": "us"}]}}`),
		[]byte(`{"source": "shop", "detail": {"total": 250, "region": "eu"}}`))
	fmt.Println(ok, err)
	// Output:
	// true <nil>
}
