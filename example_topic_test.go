package courier_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/courier-io/courier"
)

// Fan-out: one publish reaches a queue subscription and a durable
// subscription whose filter policy selects large EU orders.
func ExampleTopic_Publish() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	orders, err := b.CreateTopic(ctx, "orders")
	if err != nil {
		log.Fatal(err)
	}
	audit, _ := b.CreateQueue(ctx, "audit")
	if _, err := orders.SubscribeQueue(ctx, "audit", "audit", courier.Raw()); err != nil {
		log.Fatal(err)
	}
	bigEU, err := orders.SubscribeDurable(ctx, "big-eu", courier.Raw(),
		courier.Filter(`{"region": ["eu"], "total": [{"numeric": [">=", 100]}]}`))
	if err != nil {
		log.Fatal(err)
	}

	for _, o := range []struct{ region, total string }{{"eu", "250"}, {"us", "900"}, {"eu", "20"}} {
		body := fmt.Sprintf("%s order of %s", o.region, o.total)
		if _, err := orders.Publish(ctx, courier.Message{Body: []byte(body), Headers: map[string]string{"region": o.region, "total": o.total}}); err != nil {
			log.Fatal(err)
		}
	}
	all, _ := audit.Receive(ctx, courier.Max(10))
	fmt.Println("audit received", len(all))
	ds, _ := bigEU.Receive(ctx, courier.Max(10), courier.Wait(time.Second))
	for _, d := range ds {
		fmt.Println("big-eu received:", string(d.Body))
		d.Ack(ctx)
	}
	// Output:
	// audit received 3
	// big-eu received: eu order of 250
}

// A tail is an ephemeral subscription: it sees what is published while it
// is open, from memory, and drops the oldest messages if its reader falls
// behind.
func ExampleTopic_Tail() {
	ctx := context.Background()
	b, _ := courier.Open(ctx, "mem://")
	defer b.Close()
	events, _ := b.CreateTopic(ctx, "events")

	tail, err := events.Tail(ctx, courier.TailRaw(), courier.TailFilter(`{"level": ["error"]}`))
	if err != nil {
		log.Fatal(err)
	}
	defer tail.Close()
	events.Publish(ctx, courier.Message{Body: []byte("disk 91% full"), Headers: map[string]string{"level": "warn"}})
	events.Publish(ctx, courier.Message{Body: []byte("disk full"), Headers: map[string]string{"level": "error"}})

	m, err := tail.Next(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(m.Body))
	// Output: disk full
}
