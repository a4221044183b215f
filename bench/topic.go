package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier"
)

// TopicConfig is the workload of Topic: one publishing client fans out to
// Subscribers durable subscriptions whose filter policies match every
// message, and then every subscription is drained. The zero value runs the
// default workload against courier and jetstream.
type TopicConfig struct {
	// N is the number of messages published (1..1,000,000, default 20,000).
	N int
	// Size is each message body's size in bytes (8..1,000,000, default
	// 1024). The first 8 bytes carry the message's index.
	Size int
	// Producers is the number of publishes in flight, each waiting for its
	// durable acknowledgement (1..1024, default 64, the queue benchmark's
	// default). The single-queue reference runs with the same number.
	Producers int
	// Subscribers is the number of durable subscriptions (JetStream: durable
	// pull consumers), each receiving every message (1..100, default 10).
	Subscribers int
	// Batch is the most messages one receive returns and one ack settles
	// (1..1000, default 100).
	Batch int
	// Rate is the publish rate of the latency run in messages per second
	// (1..1,000,000, default 1000).
	Rate int
	// LatencyN is the number of publishes in the latency run, from one
	// producer at Rate (0..10,000,000, default 2000); 0 uses the default, a
	// negative value skips the run.
	LatencyN int
	// Peers are the systems to run, in order: PeerCourier, PeerJetStream and
	// PeerJetStreamSync, each at most once (default courier, jetstream).
	Peers []string
	// Dir is where temporary data directories are created (default
	// os.TempDir()). They are removed before Topic returns.
	Dir string
	// Timeout bounds each system's whole run (default 10 minutes).
	Timeout time.Duration
	// Progress is called as in Config. The phases are "publish" (for
	// courier, first by the system "courier-queue": the single-queue
	// reference), "deliver" (Done and Total count deliveries to all
	// subscriptions) and "latency".
	Progress func(Progress)
}

// TopicFilter is the filter policy of every subscription of courier's
// topic workload, on the message headers. Every message is published with
// the headers type=order and size=<body size>, so it matches all
// subscriptions: each of them receives every message.
const TopicFilter = `{"type":["order"],"size":[{"numeric":[">",0]}]}`

// topicSubject is the subject JetStream's messages are published to; the
// consumers' filter subject, bench.orders.>, matches it.
const topicSubject = "bench.orders.eu"

// SystemCourierQueue names the single-queue reference of the topic
// benchmark in progress reports.
const SystemCourierQueue = "courier-queue"

// TopicResult is what Topic measured for one system. The JSON field names
// are part of `courier bench topic --json`'s output.
type TopicResult struct {
	System string `json:"system"` // peer name
	// Fsync reports whether the system fsyncs every acknowledged write.
	Fsync bool `json:"fsync"`
	// PublishMsgsPerSec is N divided by the time from the first publish to
	// the last acknowledgement.
	PublishMsgsPerSec float64 `json:"publish_msgs_per_sec"`
	// QueuePublishMsgsPerSec is, for courier, the rate of the same sends to
	// one queue with no topic (Queue.Send, the queue benchmark's publish
	// phase), measured in the same run before the topic: the reference of
	// the publish target. 0 for other systems.
	QueuePublishMsgsPerSec float64 `json:"queue_publish_msgs_per_sec,omitempty"`
	// DeliveriesPerSec is N × Subscribers divided by the time from the first
	// receive to the ack that settled the last message, all subscriptions
	// being drained at once.
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	// P50us, P99us and MaxUs are percentiles of the latency run's publish
	// latency in microseconds (0 when the run was skipped).
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	MaxUs float64 `json:"max_us"`

	N           int `json:"n"`
	Size        int `json:"size"`
	Producers   int `json:"producers"`
	Subscribers int `json:"subscribers"`
	Batch       int `json:"batch"`
	Rate        int `json:"rate"`
	LatencyN    int `json:"latency_n"`
}

func (c TopicConfig) withDefaults() (TopicConfig, error) {
	orDefault(&c.N, 20000)
	orDefault(&c.Size, 1024)
	orDefault(&c.Producers, 1) // the workload: one publisher
	orDefault(&c.Subscribers, 10)
	orDefault(&c.Batch, 100)
	orDefault(&c.Rate, 1000)
	orDefault(&c.LatencyN, 2000)
	c.LatencyN = max(c.LatencyN, 0)
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if len(c.Peers) == 0 {
		c.Peers = []string{PeerCourier, PeerJetStream}
	}
	if err := checkBounds(
		bound{"n", c.N, 1, 1_000_000}, bound{"size", c.Size, 8, 1_000_000}, bound{"producers", c.Producers, 1, 1024},
		bound{"subscribers", c.Subscribers, 1, 100}, bound{"batch", c.Batch, 1, 1000},
		bound{"rate", c.Rate, 1, 1_000_000}, bound{"latency-n", c.LatencyN, 0, 10_000_000},
	); err != nil {
		return c, err
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("bench: timeout: %v is negative", c.Timeout)
	}
	return c, checkDiskPeers("topic", c.Peers)
}

// queueConfig is the workload of the queue benchmark's phases that Topic
// reuses: publishPhase with the same producers, consumePhase on one
// subscription, latencyPhase.
func (c TopicConfig) queueConfig() Config {
	return Config{N: c.N, Size: c.Size, Producers: c.Producers, Consumers: 1, Batch: c.Batch,
		Rate: c.Rate, LatencyN: c.LatencyN, Progress: c.Progress}
}

// Topic runs the fan-out workload described by cfg against each of
// cfg.Peers in turn and returns one TopicResult per peer, in order. For each
// system it measures:
//
//   - publish: N messages from Producers goroutines, each publish waiting
//     for the durable acknowledgement (courier: Topic.Publish, which returns
//     once the message is stored in the topic and in all subscriptions;
//     JetStream: a synchronous js.Publish to a stream with Subscribers
//     durable consumers). For courier the same sends first go to a single
//     queue on a fresh engine: the reference rate of the publish target.
//   - deliver: every subscription drained at once, each by one loop that
//     receives batches of up to Batch and acks them (the queue benchmark's
//     consume phase); every subscription must receive every message exactly
//     once.
//   - latency: one producer publishing LatencyN messages at Rate: p50, p99.
//
// Each system gets fresh temporary directories, removed before Topic
// returns. On error Topic returns the results of the systems completed so
// far with the error.
func Topic(ctx context.Context, cfg TopicConfig) ([]TopicResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	out := make([]TopicResult, 0, len(cfg.Peers))
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
	defer func() {
		if err != nil && context.Cause(ctx) != nil && !errors.Is(err, context.Cause(ctx)) {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
	}()
	dir, err := os.MkdirTemp(cfg.Dir, "courier-bench-topic-"+peer+"-")
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()

	r = TopicResult{
		System: peer, Fsync: peer != PeerJetStream,
		N: cfg.N, Size: cfg.Size, Producers: cfg.Producers, Subscribers: cfg.Subscribers,
		Batch: cfg.Batch, Rate: cfg.Rate, LatencyN: cfg.LatencyN,
	}
	qcfg := cfg.queueConfig()
	template := make([]byte, cfg.Size)
	_, _ = rand.Read(template) // incompressible bodies; never fails

	var (
		publisher target   // publishes to the topic (stream)
		subs      []target // consume one subscription (consumer) each
	)
	switch peer {
	case PeerCourier:
		if r.QueuePublishMsgsPerSec, err = queueReference(ctx, qcfg, dir, template); err != nil {
			return r, fmt.Errorf("single-queue reference: %w", err)
		}
		var sys *courierSystem
		if sys, err = openCourier(ctx, "file://"+dir+"/topic"); err != nil {
			return r, err
		}
		defer func() { err = errors.Join(err, sys.close()) }()
		if publisher, subs, err = courierTopic(ctx, sys.b, cfg); err != nil {
			return r, err
		}
	default:
		var sys *jetStreamSystem
		if sys, err = openJetStream(ctx, dir, peer == PeerJetStreamSync); err != nil {
			return r, err
		}
		defer func() { err = errors.Join(err, sys.close()) }()
		if publisher, subs, err = jetStreamTopic(ctx, sys, cfg); err != nil {
			return r, err
		}
	}

	d, err := publishPhase(ctx, qcfg, peer, publisher, template)
	if err != nil {
		return r, fmt.Errorf("publish: %w", err)
	}
	r.PublishMsgsPerSec = float64(cfg.N) / d.Seconds()

	if d, err = deliverPhase(ctx, qcfg, peer, subs); err != nil {
		return r, fmt.Errorf("deliver: %w", err)
	}
	r.DeliveriesPerSec = float64(cfg.N*cfg.Subscribers) / d.Seconds()

	if cfg.LatencyN > 0 {
		lat, err := latencyPhase(ctx, qcfg, peer, publisher, template)
		if err != nil {
			return r, fmt.Errorf("latency: %w", err)
		}
		r.P50us = micros(percentile(lat, 0.50))
		r.P99us = micros(percentile(lat, 0.99))
		r.MaxUs = micros(percentile(lat, 1))
	}
	return r, nil
}

// queueReference runs the queue benchmark's publish phase against courier
// on a fresh engine in a directory of its own under dir, and returns its
// rate.
func queueReference(ctx context.Context, cfg Config, dir string, template []byte) (rate float64, err error) {
	sys, _, err := openPeer(ctx, PeerCourier, dir+"/queue")
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, sys.close()) }()
	q, err := sys.queue(ctx, "reference")
	if err != nil {
		return 0, err
	}
	d, err := publishPhase(ctx, cfg, SystemCourierQueue, q, template)
	if err != nil {
		return 0, err
	}
	return float64(cfg.N) / d.Seconds(), nil
}

// courierTopic creates the topic and its durable subscriptions with
// TopicFilter on b.
func courierTopic(ctx context.Context, b *courier.Broker, cfg TopicConfig) (publisher target, subs []target, err error) {
	t, err := b.CreateTopic(ctx, "bench")
	if err != nil {
		return nil, nil, err
	}
	for i := range cfg.Subscribers {
		// Raw: the subscriptions hold the published bodies, which the
		// deliver phase checks, rather than JSON envelopes.
		s, err := t.SubscribeDurable(ctx, fmt.Sprintf("sub-%d", i), courier.Raw(), courier.Filter(TopicFilter),
			courier.SubscriptionQueue(courier.VisibilityTimeout(5*time.Minute)))
		if err != nil {
			return nil, nil, err
		}
		subs = append(subs, courierSubscription{s: s})
	}
	headers := map[string]string{"type": "order", "size": strconv.Itoa(cfg.Size)}
	return courierSubscription{s: t.Subscription("sub-0"), headers: headers}, subs, nil
}

// courierSubscription is a durable subscription as a target: publish
// publishes to its topic (so to every subscription), consume reads this
// subscription.
type courierSubscription struct {
	s       *courier.Subscription
	headers map[string]string
}

// publish is Topic.Publish: one message, returned once durable in the
// topic and every subscription.
func (c courierSubscription) publish(ctx context.Context, body []byte) error {
	_, err := c.s.Topic().Publish(ctx, courier.Message{Body: body, Headers: c.headers})
	return err
}

// consume receives up to max messages (waiting up to a second when none is
// visible) and settles them with one Ack call, as courierQueue does.
func (c courierSubscription) consume(ctx context.Context, max int, seen func([]byte)) (int, error) {
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

// jetStreamTopic creates one file-storage stream (the default limits
// retention, so that every consumer sees every message) and a durable pull
// consumer per subscriber whose filter subject matches every message.
func jetStreamTopic(ctx context.Context, s *jetStreamSystem, cfg TopicConfig) (publisher target, subs []target, err error) {
	st, err := s.js.CreateStream(ctx, jetstream.StreamConfig{Name: "bench", Subjects: []string{"bench.orders.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, nil, fmt.Errorf("create stream: %w", err)
	}
	for i := range cfg.Subscribers {
		cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable: fmt.Sprintf("sub-%d", i), FilterSubject: "bench.orders.>",
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: 5 * time.Minute,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("create consumer: %w", err)
		}
		subs = append(subs, &jetStreamQueue{cons: cons})
	}
	return &jetStreamQueue{js: s.js, subject: topicSubject}, subs, nil
}

// deliverPhase drains every subscription at once, each with the queue
// benchmark's consume phase (one receive-and-ack loop that checks every
// message arrives exactly once), and returns the time until the last
// subscription was drained. Progress counts the deliveries to all
// subscriptions.
func deliverPhase(ctx context.Context, cfg Config, peer string, subs []target) (time.Duration, error) {
	var delivered atomic.Int64
	stop := reportProgress(cfg.Progress, peer, "deliver", cfg.N*len(subs), &delivered)
	defer stop()
	var next atomic.Int64
	start := time.Now()
	err := workers(ctx, len(subs), func(ctx context.Context) error {
		i := int(next.Add(1) - 1)
		sub := cfg
		sub.Progress = nil
		if cfg.Progress != nil {
			// Called by one goroutine at a time: add what this subscription
			// settled since its last report.
			last := 0
			sub.Progress = func(p Progress) {
				delivered.Add(int64(p.Done - last))
				last = p.Done
			}
		}
		if _, _, _, err := consumePhase(ctx, sub, peer, subs[i]); err != nil {
			return fmt.Errorf("subscription %d: %w", i, err)
		}
		return nil
	})
	return time.Since(start), err
}

// Targets of `courier bench topic`, from the product requirement:
// publishing to 10 filtered durable subscriptions at least half as fast as
// sending to one queue, and delivering at least 1.5× as fast as JetStream
// with 10 consumers.
const (
	TargetTopicPublishRatio  = 0.5
	TargetTopicDeliveryRatio = 1.5
)

// ReferenceSingleQueue is the Reference of the Ratio that compares
// courier's topic publish rate to its single-queue send rate.
const ReferenceSingleQueue = "single queue"

// TopicRatios returns courier's topic rates divided by its single-queue
// send rate and by each JetStream peer's rates that results contain, with
// the targets of `courier bench topic` (publish ≥0.5× a single queue;
// deliveries ≥1.5× jetstream).
func TopicRatios(results []TopicResult) []Ratio {
	i := slices.IndexFunc(results, func(r TopicResult) bool { return r.System == PeerCourier })
	if i < 0 {
		return nil
	}
	c := results[i]
	var out []Ratio
	if c.QueuePublishMsgsPerSec > 0 {
		out = append(out, Ratio{Metric: "publish", Reference: ReferenceSingleQueue, Value: c.PublishMsgsPerSec / c.QueuePublishMsgsPerSec, Target: TargetTopicPublishRatio})
	}
	for _, ref := range []string{PeerJetStream, PeerJetStreamSync} {
		j := slices.IndexFunc(results, func(r TopicResult) bool { return r.System == ref })
		if j < 0 {
			continue
		}
		r := results[j]
		if r.DeliveriesPerSec > 0 {
			target := 0.0
			if ref == PeerJetStream {
				target = TargetTopicDeliveryRatio
			}
			out = append(out, Ratio{Metric: "deliver", Reference: ref, Value: c.DeliveriesPerSec / r.DeliveriesPerSec, Target: target})
		}
		if r.PublishMsgsPerSec > 0 {
			out = append(out, Ratio{Metric: "publish", Reference: ref, Value: c.PublishMsgsPerSec / r.PublishMsgsPerSec})
		}
	}
	return out
}

// WriteTopicTable writes results as an aligned table (courier's
// single-queue reference as a row of its own), followed by courier's
// ratios against the targets.
func WriteTopicTable(w io.Writer, results []TopicResult) error {
	if len(results) == 0 {
		return nil
	}
	r0 := results[0]
	latency := "skipped"
	if r0.LatencyN > 0 {
		latency = fmt.Sprintf("%d publishes at %d/s from one producer", r0.LatencyN, r0.Rate)
	}
	fmt.Fprintf(w, "topic workload: %d msgs × %d B, %d producers, %d durable subscriptions (JetStream: durable pull consumers on one stream);\n"+
		"each subscription's filter matches every message, so each receives all %d, in batches of %d, acked per batch; latency: %s\n",
		r0.N, r0.Size, r0.Producers, r0.Subscribers, r0.N, r0.Batch, latency)
	fmt.Fprintf(w, "courier filter %s on headers type=order, size=%d; jetstream runs in its default mode (fsync every 2 minutes), jetstream-sync fsyncs every write\n\n",
		TopicFilter, r0.Size)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tfsync\tpublish msg/s\tdeliveries/s\tp50 µs\tp99 µs\tmax µs\t")
	for _, r := range results {
		if r.QueuePublishMsgsPerSec > 0 {
			fmt.Fprintf(tw, "%s (1 queue, no topic)\t%v\t%.0f\t-\t-\t-\t-\t\n", r.System, r.Fsync, r.QueuePublishMsgsPerSec)
		}
		lat := "-\t-\t-"
		if r.LatencyN > 0 {
			lat = fmt.Sprintf("%.0f\t%.0f\t%.0f", r.P50us, r.P99us, r.MaxUs)
		}
		fmt.Fprintf(tw, "%s\t%v\t%.0f\t%.0f\t%s\t\n", r.System, r.Fsync, r.PublishMsgsPerSec, r.DeliveriesPerSec, lat)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	ratios := TopicRatios(results)
	if len(ratios) > 0 {
		fmt.Fprintln(w)
	}
	for _, r := range ratios {
		fmt.Fprintf(w, "courier topic/%-15s %-8s %7.2f×", r.Reference, r.Metric, r.Value)
		if r.Target > 0 {
			fmt.Fprintf(w, "   target ≥%g× %s", r.Target, verdict(r.Met()))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// WriteTopicJSON writes one JSON object per result, one per line.
func WriteTopicJSON(w io.Writer, results []TopicResult) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
