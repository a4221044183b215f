package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/drivers/kafka"
)

// TestPartitionerAgreesWithAppend produces keyed records with raw franz-go
// and kafka.Partitioner, and checks that each lands where courier's Append
// puts records of the same key.
func TestPartitionerAgreesWithAppend(t *testing.T) {
	cl := startCluster(t, 1)
	prefix := newPrefix()
	b := openBroker(t, withOption(cl.url(), "prefix="+prefix))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := b.CreateStream(ctx, "keys", courier.Partitions(5))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kgo.NewClient(kgo.SeedBrokers(hosts(mustParse(t, cl.url()))...), kgo.RecordPartitioner(kafka.Partitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for i := range 50 {
		key := fmt.Appendf(nil, "k%d", i)
		res, err := st.Append(ctx, courier.Record{Key: key, Value: []byte("courier"), Partition: courier.AnyPartition})
		if err != nil {
			t.Fatal(err)
		}
		r, err := raw.ProduceSync(ctx, &kgo.Record{Topic: prefix + "keys", Key: key, Value: []byte("raw")}).First()
		if err != nil {
			t.Fatal(err)
		}
		if int(r.Partition) != res.Partition {
			t.Fatalf("key %s: franz-go with kafka.Partitioner chose partition %d, courier %d", key, r.Partition, res.Partition)
		}
	}
}
