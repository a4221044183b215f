package kafka_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/courier-io/courier"
	_ "github.com/courier-io/courier/drivers/kafka" // registers kafka://
)

// Example opens a Kafka cluster, appends keyed records to a stream and
// consumes them with a consumer group. It needs a broker on
// localhost:9092, so it has no Output comment and is only compiled.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := courier.Open(ctx, "kafka://localhost:9092?prefix=demo.&client_id=orders-service")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	orders, err := b.CreateStream(ctx, "orders", courier.Partitions(6), courier.StreamRetention(72*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	res, err := orders.Append(ctx, courier.Record{Key: []byte("customer-42"), Value: []byte(`{"total":12}`), Partition: courier.AnyPartition})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored at partition", res.Partition, "offset", res.Offset)

	c, err := orders.Group("billing").Join(ctx, "billing-1")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
	recs, err := c.Poll(ctx, 100, 5*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Printf("%s: %s\n", r.Key, r.Value)
	}
	if err := c.Commit(ctx); err != nil {
		log.Fatal(err)
	}
}

// Example_inProcess runs the same flow against an in-process kfake cluster.
func Example_inProcess() {
	cl := startClusterForExample()
	defer cl.Close()
	ctx := context.Background()
	b, err := courier.Open(ctx, "kafka://"+cl.ListenAddrs()[0]+"?prefix=example.")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	st, err := b.CreateStream(ctx, "events", courier.Partitions(2))
	if err != nil {
		log.Fatal(err)
	}
	for i := range 3 {
		if _, err := st.Append(ctx, courier.Record{Value: fmt.Appendf(nil, "event-%d", i), Partition: 0}); err != nil {
			log.Fatal(err)
		}
	}
	recs, next, err := st.Read(ctx, 0, courier.Earliest())
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Offset, string(r.Value))
	}
	fmt.Println("next", next)
	// Output:
	// 0 event-0
	// 1 event-1
	// 2 event-2
	// next 3
}
