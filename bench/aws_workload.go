package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// The workloads of `courier bench aws`. Each is one function that runs
// unchanged against every system through the clients of aws_clients.go
// and aws_sqsquery.go, and checks every delivered message.

// awsIndexDigits is the width of the decimal index that starts every body.
const awsIndexDigits = 10

// awsVisibility is the visibility timeout of the benchmark's queues: long
// enough that a slow consumer's message is not redelivered during a run.
const awsVisibility = 60 * time.Second

// awsBody returns message i's body: its index in awsIndexDigits decimal
// digits, then ASCII filler up to size bytes. Bodies are text, since SQS
// and SNS carry text. It runs once per message sent, so it allocates only
// the body.
func awsBody(i, size int, filler string) string {
	var b strings.Builder
	b.Grow(size)
	var digits [awsIndexDigits]byte
	idx := strconv.AppendInt(digits[:0], int64(i), 10)
	b.WriteString("0000000000"[:awsIndexDigits-len(idx)])
	b.Write(idx)
	b.WriteString(filler[:size-awsIndexDigits])
	return b.String()
}

// awsFiller returns size bytes of printable ASCII.
func awsFiller(size int) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, size)
	for i := range b {
		b[i] = chars[i%len(chars)]
	}
	return string(b)
}

// deliveries checks the messages one queue or stream delivered: every
// body must be one that was sent, intact; a body seen again is counted as
// a duplicate (at-least-once redelivery), not as progress.
type deliveries struct {
	n, size    int
	filler     string
	seen       []atomic.Bool
	distinct   atomic.Int64
	duplicates atomic.Int64
}

func newDeliveries(n, size int, filler string) *deliveries {
	return &deliveries{n: n, size: size, filler: filler, seen: make([]atomic.Bool, n)}
}

// see records body and reports whether it was its first delivery.
func (d *deliveries) see(body string) (bool, error) {
	if len(body) != d.size {
		return false, fmt.Errorf("received a body of %d bytes, sent were %d", len(body), d.size)
	}
	i, err := strconv.Atoi(body[:awsIndexDigits])
	if err != nil || i < 0 || i >= d.n {
		return false, fmt.Errorf("received a body starting %q, sent were indexes 0..%d", body[:awsIndexDigits], d.n-1)
	}
	if body[awsIndexDigits:] != d.filler[:d.size-awsIndexDigits] {
		return false, fmt.Errorf("message %d: the body arrived altered", i)
	}
	if d.seen[i].Swap(true) {
		d.duplicates.Add(1)
		return false, nil
	}
	d.distinct.Add(1)
	return true, nil
}

// complete reports whether every message was delivered.
func (d *deliveries) complete() bool { return d.distinct.Load() >= int64(d.n) }

// runStats is what one workload run measured.
type runStats struct {
	elapsed        time.Duration // first send to last message settled or read
	publishElapsed time.Duration // first send to last send acknowledged
	delivered      int           // deliveries, duplicates included
	duplicates     int
	retries        int // Kinesis records put again after a failed entry
	latency        []time.Duration
	// serverCPU is the CPU time the server process used from the first
	// send until every producer and consumer returned (0: not measured).
	serverCPU time.Duration
}

// count adds d's deliveries, duplicates included, and duplicates to st.
func (st *runStats) count(d *deliveries) {
	st.delivered += int(d.distinct.Load() + d.duplicates.Load())
	st.duplicates += int(d.duplicates.Load())
}

// awsRun is one workload run's settings.
type awsRun struct {
	cfg    AWSConfig
	system string // the progress label: "courier sqs-json", "goaws sqs-query", ...
	filler string
	// serverPID is the server's process, whose CPU time each workload
	// measures over its run (0: none).
	serverPID int
}

// progress reports done against total under phase until stop is called.
func (r awsRun) progress(phase string, total int, done *atomic.Int64) (stop func()) {
	return reportProgress(r.cfg.Progress, r.system, phase, total, done)
}

// drainQueue is one consumer of queue url: it receives through q (up to 10
// messages, waiting wait), checks each body in d, deletes what it received
// with DeleteMessageBatch and adds the first deliveries to c, until d has
// every message.
func drainQueue(ctx context.Context, q sqsAPI, url string, wait time.Duration, d *deliveries, c *completion) error {
	receipts := make([]string, 0, 10)
	for !d.complete() {
		msgs, err := q.receive(ctx, url, 10, wait)
		if err != nil {
			return err
		}
		receipts = receipts[:0]
		fresh := 0
		for _, m := range msgs {
			ok, err := d.see(m.Body)
			if err != nil {
				return err
			}
			if ok {
				fresh++
			}
			receipts = append(receipts, m.Receipt)
		}
		if len(receipts) == 0 {
			continue
		}
		if err := q.deleteBatch(ctx, url, receipts); err != nil {
			return err
		}
		c.add(fresh)
	}
	return nil
}

// sqsWorkload sends n messages to a fresh queue name with cfg.Concurrency
// producers calling SendMessageBatch (10 per call) while as many consumers
// call ReceiveMessage (up to 10, waiting cfg.Wait) and DeleteMessageBatch,
// until every message was received and deleted. Then, unless skipped, it
// measures SendMessage of single messages at cfg.Rate.
func sqsWorkload(ctx context.Context, r awsRun, api sqsAPI, name string) (runStats, error) {
	cfg := r.cfg
	url, err := api.createQueue(ctx, name, awsVisibility)
	if err != nil {
		return runStats{}, fmt.Errorf("create queue: %w", err)
	}
	d := newDeliveries(cfg.SQSN, cfg.Size, r.filler)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	end := newCompletion(cfg.SQSN, cancel)
	cpu0, err := r.serverCPU()
	if err != nil {
		return runStats{}, err
	}
	stop := r.progress("sqs", cfg.SQSN, &end.done)
	start := time.Now()
	var nextBatch atomic.Int64
	var lastSent atomic.Int64
	producer := func(ctx context.Context) error {
		bodies := make([]string, 0, 10)
		for {
			b := int(nextBatch.Add(1) - 1)
			if b*10 >= cfg.SQSN {
				return nil
			}
			bodies = bodies[:0]
			for i := b * 10; i < min(cfg.SQSN, b*10+10); i++ {
				bodies = append(bodies, awsBody(i, cfg.Size, r.filler))
			}
			if err := api.sendBatch(ctx, url, bodies); err != nil {
				return fmt.Errorf("send batch %d: %w", b, err)
			}
			lastSent.Store(int64(time.Since(start)))
		}
	}
	consumer := func(ctx context.Context) error { return drainQueue(ctx, api, url, cfg.Wait, d, end) }
	err = producersAndConsumers(runCtx, cfg.Concurrency, producer, cfg.Concurrency, consumer, d.complete)
	cpu1, cpuErr := r.serverCPU()
	stop()
	st := runStats{elapsed: end.at.Sub(start), publishElapsed: time.Duration(lastSent.Load()), serverCPU: cpu1 - cpu0}
	st.count(d)
	if err = errors.Join(err, cpuErr); err != nil {
		return st, err
	}
	if !d.complete() {
		return st, fmt.Errorf("%d of %d messages were received", d.distinct.Load(), cfg.SQSN)
	}
	if cfg.LatencyN > 0 {
		lat, err := paced(ctx, r, cfg.LatencyN, func(ctx context.Context, i int) error {
			return api.send(ctx, url, awsBody(i, cfg.Size, r.filler))
		})
		if err != nil {
			return st, fmt.Errorf("latency run: %w", err)
		}
		st.latency = lat
	}
	return st, nil
}

// producersAndConsumers runs np producers and nc consumers until all have
// returned; the first error cancels the others. An error after done()
// turned true is the cancellation of a call that no longer mattered and
// is ignored.
func producersAndConsumers(ctx context.Context, np int, producer func(context.Context) error, nc int, consumer func(context.Context) error, done func() bool) error {
	var role atomic.Int64
	err := workers(ctx, np+nc, func(ctx context.Context) error {
		f := consumer
		if role.Add(1) <= int64(np) {
			f = producer
		}
		if err := f(ctx); err != nil && !(done() && ctx.Err() != nil) {
			return err
		}
		return nil
	})
	if err != nil && done() && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// paced calls f n times from one goroutine at r's rate (pacedCalls),
// reporting progress as the "latency" phase.
func paced(ctx context.Context, r awsRun, n int, f func(context.Context, int) error) ([]time.Duration, error) {
	var done atomic.Int64
	stop := r.progress("latency", n, &done)
	defer stop()
	return pacedCalls(ctx, n, r.cfg.Rate, &done, f)
}

// snsFanout is the number of SQS queues subscribed to the SNS topic.
const snsFanout = 3

// snsWorkload creates a topic with snsFanout SQS queues subscribed with
// RawMessageDelivery, publishes cfg.SNSN messages from cfg.Concurrency
// publishers (Publish, one message each) while cfg.Concurrency consumers
// per queue drain the queues (ReceiveMessage, DeleteMessageBatch) through
// q, until every queue has delivered every message.
func snsWorkload(ctx context.Context, r awsRun, topics *sns.Client, q sqsAPI, name string) (runStats, error) {
	cfg := r.cfg
	topic, err := topics.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return runStats{}, fmt.Errorf("create topic: %w", err)
	}
	urls := make([]string, snsFanout)
	ds := make([]*deliveries, snsFanout)
	for k := range urls {
		qname := fmt.Sprintf("%s-%d", name, k)
		if urls[k], err = q.createQueue(ctx, qname, awsVisibility); err != nil {
			return runStats{}, fmt.Errorf("create queue %s: %w", qname, err)
		}
		arn, err := q.queueARN(ctx, urls[k])
		if err != nil {
			return runStats{}, fmt.Errorf("queue %s: %w", qname, err)
		}
		if _, err := topics.Subscribe(ctx, &sns.SubscribeInput{
			TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(arn),
			Attributes: map[string]string{"RawMessageDelivery": "true"}, ReturnSubscriptionArn: true,
		}); err != nil {
			return runStats{}, fmt.Errorf("subscribe queue %s: %w", qname, err)
		}
		ds[k] = newDeliveries(cfg.SNSN, cfg.Size, r.filler)
	}
	complete := func() bool {
		for _, d := range ds {
			if !d.complete() {
				return false
			}
		}
		return true
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	end := newCompletion(snsFanout*cfg.SNSN, cancel)
	var next, lastPublished atomic.Int64
	cpu0, err := r.serverCPU()
	if err != nil {
		return runStats{}, err
	}
	stop := r.progress("sns", snsFanout*cfg.SNSN, &end.done)
	start := time.Now()
	publisher := func(ctx context.Context) error {
		for {
			i := int(next.Add(1) - 1)
			if i >= cfg.SNSN {
				return nil
			}
			if _, err := topics.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(awsBody(i, cfg.Size, r.filler))}); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
			lastPublished.Store(int64(time.Since(start)))
		}
	}
	var consumerN atomic.Int64
	consumer := func(ctx context.Context) error {
		k := int(consumerN.Add(1)-1) % snsFanout
		if err := drainQueue(ctx, q, urls[k], cfg.Wait, ds[k], end); err != nil {
			return fmt.Errorf("queue %d: %w", k, err)
		}
		return nil
	}
	err = producersAndConsumers(runCtx, cfg.Concurrency, publisher, snsFanout*cfg.Concurrency, consumer, complete)
	cpu1, cpuErr := r.serverCPU()
	stop()
	st := runStats{elapsed: end.at.Sub(start), publishElapsed: time.Duration(lastPublished.Load()), serverCPU: cpu1 - cpu0}
	err = errors.Join(err, cpuErr)
	for _, d := range ds {
		st.count(d)
	}
	if err != nil {
		return st, err
	}
	if !complete() {
		return st, fmt.Errorf("%d of %d deliveries were received", end.done.Load(), snsFanout*cfg.SNSN)
	}
	return st, nil
}

// Kinesis workload settings.
const (
	kinesisShards    = 2
	kinesisPutBatch  = 500   // records per PutRecords, the API's maximum
	kinesisReadLimit = 10000 // records per GetRecords, the API's maximum
	// kinesisIdlePoll is how long a reader waits after an empty
	// GetRecords (real Kinesis allows 5 calls per shard and second).
	kinesisIdlePoll = 10 * time.Millisecond
	// kinesisShardIterator is the iterator type the readers start from.
	kinesisShardIterator = kinesistypes.ShardIteratorTypeTrimHorizon
)

// kinesisWorkload creates a stream of kinesisShards shards, puts
// cfg.KinesisN records (PutRecords of kinesisPutBatch, random partition
// keys, failed entries put again) from cfg.Concurrency producers while one
// reader per shard follows GetRecords from TRIM_HORIZON, until every
// record was read.
func kinesisWorkload(ctx context.Context, r awsRun, kc *kinesis.Client, name string) (runStats, error) {
	cfg := r.cfg
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(kinesisShards)}); err != nil {
		return runStats{}, fmt.Errorf("create stream: %w", err)
	}
	if err := kinesisActive(ctx, kc, name); err != nil {
		return runStats{}, err
	}
	shards, err := kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name)})
	if err != nil {
		return runStats{}, fmt.Errorf("list shards: %w", err)
	}
	if len(shards.Shards) != kinesisShards {
		return runStats{}, fmt.Errorf("list shards: %d shards, created were %d", len(shards.Shards), kinesisShards)
	}
	d := newDeliveries(cfg.KinesisN, cfg.Size, r.filler)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	end := newCompletion(cfg.KinesisN, cancel)
	var nextBatch, lastPut, retried atomic.Int64
	cpu0, err := r.serverCPU()
	if err != nil {
		return runStats{}, err
	}
	stop := r.progress("kinesis", cfg.KinesisN, &end.done)
	start := time.Now()
	producer := func(ctx context.Context) error {
		rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		for {
			b := int(nextBatch.Add(1) - 1)
			if b*kinesisPutBatch >= cfg.KinesisN {
				return nil
			}
			lo, hi := b*kinesisPutBatch, min(cfg.KinesisN, (b+1)*kinesisPutBatch)
			entries := make([]kinesistypes.PutRecordsRequestEntry, 0, hi-lo)
			for i := lo; i < hi; i++ {
				entries = append(entries, kinesistypes.PutRecordsRequestEntry{
					Data: []byte(awsBody(i, cfg.Size, r.filler)), PartitionKey: aws.String(strconv.FormatUint(rnd.Uint64(), 36)),
				})
			}
			for attempt := 0; len(entries) > 0; attempt++ {
				if attempt == 10 {
					return fmt.Errorf("put records batch %d: %d records still failing after %d attempts", b, len(entries), attempt)
				}
				out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: entries})
				if err != nil {
					return fmt.Errorf("put records batch %d: %w", b, err)
				}
				if len(out.Records) != len(entries) {
					return fmt.Errorf("put records batch %d: %d results for %d records", b, len(out.Records), len(entries))
				}
				var failed []kinesistypes.PutRecordsRequestEntry
				for j, res := range out.Records {
					if res.ErrorCode != nil {
						failed = append(failed, entries[j])
					}
				}
				retried.Add(int64(len(failed)))
				entries = failed
			}
			lastPut.Store(int64(time.Since(start)))
		}
	}
	var shardN atomic.Int64
	reader := func(ctx context.Context) error {
		shard := shards.Shards[shardN.Add(1)-1].ShardId
		it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(name), ShardId: shard, ShardIteratorType: kinesisShardIterator,
		})
		if err != nil {
			return fmt.Errorf("shard %s: get shard iterator: %w", aws.ToString(shard), err)
		}
		iter := it.ShardIterator
		for !d.complete() {
			if iter == nil {
				return fmt.Errorf("shard %s: the shard was closed", aws.ToString(shard))
			}
			out, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(kinesisReadLimit)})
			if err != nil {
				return fmt.Errorf("shard %s: get records: %w", aws.ToString(shard), err)
			}
			iter = out.NextShardIterator
			fresh := 0
			for _, rec := range out.Records {
				ok, err := d.see(string(rec.Data))
				if err != nil {
					return fmt.Errorf("shard %s: %w", aws.ToString(shard), err)
				}
				if ok {
					fresh++
				}
			}
			end.add(fresh)
			if len(out.Records) == 0 {
				select {
				case <-time.After(kinesisIdlePoll):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	}
	err = producersAndConsumers(runCtx, cfg.Concurrency, producer, kinesisShards, reader, d.complete)
	cpu1, cpuErr := r.serverCPU()
	stop()
	st := runStats{elapsed: end.at.Sub(start), publishElapsed: time.Duration(lastPut.Load()), retries: int(retried.Load()),
		serverCPU: cpu1 - cpu0}
	st.count(d)
	if err = errors.Join(err, cpuErr); err != nil {
		return st, err
	}
	if !d.complete() {
		return st, fmt.Errorf("%d of %d records were read", d.distinct.Load(), cfg.KinesisN)
	}
	return st, nil
}

// kinesisActive waits until stream name is ACTIVE.
func kinesisActive(ctx context.Context, kc *kinesis.Client, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe stream: %w", err)
		}
		if out.StreamDescriptionSummary.StreamStatus == kinesistypes.StreamStatusActive {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stream %s is still %s after 30s", name, out.StreamDescriptionSummary.StreamStatus)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
