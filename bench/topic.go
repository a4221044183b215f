package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier"
)

// TopicConfig is the workload of Topic: publishers fan out to Subscribers
// durable subscriptions with filter policies, which are then consumed.
type TopicConfig struct {
	// N messages are published (1..1,000,000, default 20,000) with Size-byte
	// bodies (8..1,000,000, default 1024).
	N, Size int
	// Publishers publish concurrently, each waiting for its
	// acknowledgement (1..1024, default 1, the workload).
	Publishers int
	// Subscribers is the number of durable subscriptions (1..100, default 10).
	Subscribers int
	// Batch is the most messages per receive and ack (1..1000, default 100).
	Batch int
	// Peers: PeerCourier and PeerJetStream or PeerJetStreamSync (default
	// both courier and jetstream).
	Peers   []string
	Dir     string
	Timeout time.Duration
	// Progress is called as in Config.
	Progress func(Progress)
}

// TopicResult is what Topic measured for one system. JSON field names are
// part of `courier bench topic --json`'s output.
type TopicResult struct {
	System string `json:"system"`
	Fsync  bool   `json:"fsync"`
	// PublishPerSec is N over the time to publish them all.
	PublishPerSec float64 `json:"publish_msgs_per_sec"`
	// QueuePublishPerSec is, for courier, the rate of the same sends to a
	// single queue in the same run: the reference of the publish target.
	QueuePublishPerSec float64 `json:"queue_publish_msgs_per_sec,omitempty"`
	// DeliveryPerSec is N × Subscribers over the time for all subscriptions
	// to receive and ack every message, concurrently.
	DeliveryPerSec float64 `json:"deliveries_per_sec"`
	N              int     `json:"n"`
	Size           int     `json:"size"`
	Publishers     int     `json:"publishers"`
	Subscribers    int     `json:"subscribers"`
	Batch          int     `json:"batch"`
}

func (c TopicConfig) withDefaults() (TopicConfig, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.N, 20000)
	def(&c.Size, 1024)
	def(&c.Publishers, 1)
	def(&c.Subscribers, 10)
	def(&c.Batch, 100)
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if len(c.Peers) == 0 {
		c.Peers = []string{PeerCourier, PeerJetStream}
	}
	if err := checkBounds(
		bound{"n", c.N, 1, 1_000_000}, bound{"size", c.Size, 8, 1_000_000}, bound{"publishers", c.Publishers, 1, 1024},
		bound{"subscribers", c.Subscribers, 1, 100}, bound{"batch", c.Batch, 1, 1000},
	); err != nil {
		return c, err
	}
	return c, checkDiskPeers("topic", c.Peers)
}

// topicSubscriber is one subscription to drain.
type topicSubscriber interface {
	// consume receives up to max messages, calls seen with each, acks them
	// (awaited) and returns how many; it may wait a little when none is there.
	consume(ctx context.Context, max int, seen func([]byte)) (int, error)
}

// Topic runs the fan-out workload against each of cfg.Peers in turn.
func Topic(ctx context.Context, cfg TopicConfig) ([]TopicResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var out []TopicResult
	for _, peer := range cfg.Peers {
		r, err := runTopicPeer(ctx, cfg, peer)
		if err != nil {
			return out, fmt.Errorf("bench: %s: %w", peer, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func runTopicPeer(ctx context.Context, cfg TopicConfig, peer string) (r TopicResult, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("timed out after %v", cfg.Timeout))
	defer cancel()
	dir, err := os.MkdirTemp(cfg.Dir, "courier-bench-topic-"+peer+"-")
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	r = TopicResult{System: peer, N: cfg.N, Size: cfg.Size, Publishers: cfg.Publishers, Subscribers: cfg.Subscribers, Batch: cfg.Batch}
	template := make([]byte, cfg.Size)
	_, _ = rand.Read(template)

	var publish func(ctx context.Context, body []byte) error
	var subs []topicSubscriber
	switch peer {
	case PeerCourier:
		r.Fsync = true
		b, err := courier.Open(ctx, "file://"+dir)
		if err != nil {
			return r, err
		}
		defer func() { err = errors.Join(err, b.Close()) }()
		// The reference: the same sends to one queue.
		q, err := b.CreateQueue(ctx, "reference")
		if err != nil {
			return r, err
		}
		d, err := timedPublish(ctx, cfg, peer+" queue", func(ctx context.Context, body []byte) error {
			_, err := q.Send(ctx, courier.Message{Body: body})
			return err
		}, template)
		if err != nil {
			return r, fmt.Errorf("queue publish: %w", err)
		}
		r.QueuePublishPerSec = float64(cfg.N) / d.Seconds()
		if err := b.DeleteQueue(ctx, "reference"); err != nil {
			return r, err
		}
		t, err := b.CreateTopic(ctx, "bench")
		if err != nil {
			return r, err
		}
		for i := range cfg.Subscribers {
			s, err := t.SubscribeDurable(ctx, fmt.Sprintf("sub-%d", i), courier.Raw(), courier.Filter(`{"type": ["order"], "size": [{"numeric": [">", 0]}]}`),
				courier.SubscriptionQueue(courier.VisibilityTimeout(5*time.Minute)))
			if err != nil {
				return r, err
			}
			subs = append(subs, courierSubscriber{s})
		}
		headers := map[string]string{"type": "order", "size": fmt.Sprint(cfg.Size)}
		publish = func(ctx context.Context, body []byte) error {
			_, err := t.Publish(ctx, courier.Message{Body: body, Headers: headers})
			return err
		}
	default:
		r.Fsync = peer == PeerJetStreamSync
		s, err := openJetStream(ctx, dir, r.Fsync)
		if err != nil {
			return r, err
		}
		defer func() { err = errors.Join(err, s.close()) }()
		st, err := s.js.CreateStream(ctx, jetstream.StreamConfig{Name: "bench", Subjects: []string{"bench.orders.>"}, Storage: jetstream.FileStorage})
		if err != nil {
			return r, err
		}
		for i := range cfg.Subscribers {
			cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
				Durable: fmt.Sprintf("sub-%d", i), FilterSubject: "bench.orders.>", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 5 * time.Minute,
			})
			if err != nil {
				return r, err
			}
			subs = append(subs, &jetStreamQueue{cons: cons})
		}
		publish = func(ctx context.Context, body []byte) error {
			_, err := s.js.Publish(ctx, "bench.orders.eu", body)
			return err
		}
	}
	d, err := timedPublish(ctx, cfg, peer, publish, template)
	if err != nil {
		return r, fmt.Errorf("publish: %w", err)
	}
	r.PublishPerSec = float64(cfg.N) / d.Seconds()

	// Every subscription drains concurrently; each must see every message
	// exactly once.
	var delivered atomic.Int64
	stop := reportProgress(Config{N: cfg.N * cfg.Subscribers, Progress: cfg.Progress}, peer, "deliver", &delivered)
	start := time.Now()
	var next atomic.Int64
	err = workers(ctx, len(subs), func(ctx context.Context) error {
		sub := subs[next.Add(1)-1]
		seen := make([]bool, cfg.N)
		got := 0
		for got < cfg.N {
			var bad error
			n, err := sub.consume(ctx, cfg.Batch, func(b []byte) {
				i := binary.LittleEndian.Uint64(b)
				if i >= uint64(cfg.N) || seen[i] {
					bad = fmt.Errorf("message %d delivered twice or unknown", i)
					return
				}
				seen[i] = true
			})
			if err != nil {
				return err
			}
			if bad != nil {
				return bad
			}
			got += n
			delivered.Add(int64(n))
		}
		return nil
	})
	r.DeliveryPerSec = float64(cfg.N*cfg.Subscribers) / time.Since(start).Seconds()
	stop()
	if err != nil {
		return r, fmt.Errorf("deliver: %w", err)
	}
	return r, nil
}

// timedPublish publishes cfg.N bodies from cfg.Publishers goroutines and
// returns the time it took.
func timedPublish(ctx context.Context, cfg TopicConfig, phase string, publish func(context.Context, []byte) error, template []byte) (time.Duration, error) {
	var next, done atomic.Int64
	stop := reportProgress(Config{N: cfg.N, Progress: cfg.Progress}, phase, "publish", &done)
	defer stop()
	start := time.Now()
	err := workers(ctx, cfg.Publishers, func(ctx context.Context) error {
		for {
			i := int(next.Add(1) - 1)
			if i >= cfg.N {
				return nil
			}
			if err := publish(ctx, body(template, i)); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
			done.Add(1)
		}
	})
	return time.Since(start), err
}

type courierSubscriber struct{ s *courier.Subscription }

func (c courierSubscriber) consume(ctx context.Context, max int, seen func([]byte)) (int, error) {
	ds, err := c.s.Receive(ctx, courier.Max(max), courier.Wait(time.Second))
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	receipts := make([]string, len(ds))
	for i, d := range ds {
		seen(d.Body)
		receipts[i] = d.Receipt
	}
	return len(ds), c.s.Ack(ctx, receipts...)
}

// Targets of `courier bench topic`, from the issue: publishing to 10
// filtered durable subscriptions at least half as fast as to one queue,
// and delivering at least 1.5× JetStream with 10 consumers.
const (
	TargetTopicPublishRatio  = 0.5
	TargetTopicDeliveryRatio = 1.5
)

// WriteTopicTable writes topic results as a table with courier's ratios.
func WriteTopicTable(w io.Writer, results []TopicResult) error {
	if len(results) == 0 {
		return nil
	}
	r0 := results[0]
	fmt.Fprintf(w, "topic workload: %d msgs × %d B from %d publisher(s) to %d durable subscriptions with filters (all match); receive+ack batches of %d\n\n",
		r0.N, r0.Size, r0.Publishers, r0.Subscribers, r0.Batch)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tfsync\tpublish msg/s\tsingle-queue send msg/s\tdeliveries/s\t")
	byName := map[string]TopicResult{}
	for _, r := range results {
		byName[r.System] = r
		q := "-"
		if r.QueuePublishPerSec > 0 {
			q = fmt.Sprintf("%.0f", r.QueuePublishPerSec)
		}
		fmt.Fprintf(tw, "%s\t%v\t%.0f\t%s\t%.0f\t\n", r.System, r.Fsync, r.PublishPerSec, q, r.DeliveryPerSec)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c, ok := byName[PeerCourier]; ok && c.QueuePublishPerSec > 0 {
		v := c.PublishPerSec / c.QueuePublishPerSec
		fmt.Fprintf(w, "\ncourier topic publish / single-queue send %5.2f×   target ≥%g× %s\n", v, TargetTopicPublishRatio, verdict(v >= TargetTopicPublishRatio))
		if js, ok := byName[PeerJetStream]; ok && js.DeliveryPerSec > 0 {
			v := c.DeliveryPerSec / js.DeliveryPerSec
			fmt.Fprintf(w, "courier/jetstream deliveries              %5.2f×   target ≥%g× %s\n", v, TargetTopicDeliveryRatio, verdict(v >= TargetTopicDeliveryRatio))
		}
	}
	return nil
}

// WriteTopicJSON writes one JSON object per result and line.
func WriteTopicJSON(w io.Writer, results []TopicResult) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
