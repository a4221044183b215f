package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/courier-io/courier"
	_ "github.com/courier-io/courier/drivers/kafka" // registers kafka://
)

// The stream peers of the Kafka driver. Both run against an in-process
// kfake cluster (three brokers on loopback, records in memory), so the
// difference between them is the driver's overhead, not the broker's.
const (
	// PeerKafka is franz-go used directly: an idempotent producer with
	// acks from all replicas and no linger, a partition consumer for the
	// replay and a consumer group committing after each batch.
	PeerKafka = "kafka"
	// PeerCourierKafka is courier's API over the kafka:// driver on the
	// same kind of cluster.
	PeerCourierKafka = "courier-kafka"
)

// startKfake starts the in-process cluster the Kafka peers use.
func startKfake() (*kfake.Cluster, error) {
	return kfake.NewCluster(kfake.NumBrokers(3), kfake.GroupMinSessionTimeout(time.Second))
}

// openCourierKafkaStreams is courier over the kafka:// driver, against a
// kfake cluster it starts and stops.
func openCourierKafkaStreams(ctx context.Context) (streamSystem, error) {
	cl, err := startKfake()
	if err != nil {
		return nil, err
	}
	b, err := courier.Open(ctx, "kafka://"+cl.ListenAddrs()[0]+"?prefix=bench.")
	if err != nil {
		cl.Close()
		return nil, err
	}
	return courierKafkaStreams{courierStreams{b}, cl}, nil
}

type courierKafkaStreams struct {
	courierStreams
	cl *kfake.Cluster
}

func (c courierKafkaStreams) close() error {
	err := c.courierStreams.close()
	c.cl.Close()
	return err
}

// kafkaStreams is franz-go against a kfake cluster it starts and stops.
type kafkaStreams struct {
	cl    *kfake.Cluster
	addrs []string
	prod  *kgo.Client
	adm   *kadm.Client
}

// openKafkaStreams starts a kfake cluster and a franz-go producer with
// the settings courier's driver uses for durability: acks from all
// in-sync replicas, idempotent, no linger.
func openKafkaStreams(ctx context.Context) (streamSystem, error) {
	cl, err := startKfake()
	if err != nil {
		return nil, err
	}
	addrs := cl.ListenAddrs()
	prod, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(100000))
	if err != nil {
		cl.Close()
		return nil, err
	}
	if err := prod.Ping(ctx); err != nil {
		prod.Close()
		cl.Close()
		return nil, err
	}
	return &kafkaStreams{cl: cl, addrs: addrs, prod: prod, adm: kadm.NewClient(prod)}, nil
}

func (k *kafkaStreams) stream(ctx context.Context, name string, parts int) (streamTarget, error) {
	topic := "bench." + name
	_, err := k.adm.CreateTopic(ctx, int32(parts), -1, map[string]*string{"retention.ms": kadm.StringPtr("-1")}, topic)
	if err != nil {
		return nil, fmt.Errorf("create topic %s: %w", topic, err)
	}
	return &kafkaStream{k: k, topic: topic}, nil
}

func (k *kafkaStreams) close() error {
	k.prod.Close()
	k.cl.Close()
	return nil
}

type kafkaStream struct {
	k     *kafkaStreams
	topic string
}

// append produces one record and waits for its acknowledgement; the
// default partitioner hashes the key.
func (s *kafkaStream) append(ctx context.Context, key, value []byte) error {
	return s.k.prod.ProduceSync(ctx, &kgo.Record{Topic: s.topic, Key: key, Value: value}).FirstErr()
}

// load produces asynchronously and waits for every acknowledgement.
func (s *kafkaStream) load(ctx context.Context, n int, value func(int) []byte) error {
	var failed error
	errc := make(chan error, 1)
	for i := 0; i < n; i++ {
		s.k.prod.Produce(ctx, &kgo.Record{Topic: s.topic, Value: value(i)}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := s.k.prod.Flush(ctx); err != nil {
		return err
	}
	select {
	case failed = <-errc:
	default:
	}
	return failed
}

// replay consumes partition 0 from the start with a direct consumer.
func (s *kafkaStream) replay(ctx context.Context, n int, seen func([]byte)) error {
	cons, err := kgo.NewClient(kgo.SeedBrokers(s.k.addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		return err
	}
	defer cons.Close()
	for read := 0; read < n; {
		fs := cons.PollRecords(ctx, 1000)
		if err := fs.Err0(); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			seen(r.Value)
			read++
		})
	}
	return nil
}

// consumeGroup is a consumer-group member that commits after each batch
// and waits for the commit, like courier's Poll and Commit.
func (s *kafkaStream) consumeGroup(ctx context.Context, seen func([]byte)) error {
	cons, err := kgo.NewClient(kgo.SeedBrokers(s.k.addrs...), kgo.ConsumerGroup("bench-"+s.topic), kgo.ConsumeTopics(s.topic),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(time.Second))
	if err != nil {
		return err
	}
	defer cons.Close()
	for ctx.Err() == nil {
		fs := cons.PollRecords(ctx, 100)
		if err := fs.Err0(); err != nil {
			if errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			seen(r.Value)
			n++
		})
		if n > 0 {
			if err := cons.CommitUncommittedOffsets(ctx); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}
