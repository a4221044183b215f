package courier_test

import (
	"context"
	"fmt"
	"log"

	"github.com/courier-io/courier"
)

// Records with the same key land in the same partition, in order; a
// consumer group member polls the partitions it owns and commits.
func ExampleStream_Append() {
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	clicks, err := b.CreateStream(ctx, "clicks", courier.Partitions(4))
	if err != nil {
		log.Fatal(err)
	}
	for i, page := range []string{"/home", "/cart", "/pay"} {
		res, err := clicks.Append(ctx, courier.Record{Key: []byte("user-7"), Value: []byte(page), Partition: courier.AnyPartition})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("record %d at offset %d\n", i, res.Offset)
	}

	c, err := clicks.Group("analytics").Join(ctx, "worker-1")
	if err != nil {
		log.Fatal(err)
	}
	recs, err := c.Poll(ctx, 100, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(string(r.Key), string(r.Value))
	}
	if err := c.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	c.Close(ctx)
	// Output:
	// record 0 at offset 0
	// record 1 at offset 1
	// record 2 at offset 2
	// user-7 /home
	// user-7 /cart
	// user-7 /pay
}
