package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

// BusConfig is the workload of Bus: producers put events on a bus whose
// rules route each event to queues, and one receive-and-ack loop per queue
// drains them while the puts run. The zero value runs the default workload.
type BusConfig struct {
	// N is the number of events put (1..10,000,000, default 200,000).
	N int
	// Rules is the number of rules on the bus, each with a distinct
	// pattern (1..10,000, the engine's limit per bus; default 1000). See
	// BusPattern.
	Rules int
	// Matches is the number of rules each event matches (default 1), at
	// most Rules and at most Queues, so that the rules an event matches
	// deliver it to distinct queues. The rules form Rules/Matches groups of
	// Matches rules that all match the same events; with Rules not a
	// multiple of Matches, the last Rules%Matches rules match no event.
	Matches int
	// Queues is the number of queues the rules' targets deliver to (1..100
	// and at most Rules, default 10): rule k targets queue k%Queues.
	Queues int
	// Size is each event's detail size in bytes (256..200,000, default
	// 1024); the detail is padded to it. The envelope the engine stores
	// and delivers adds about 250 bytes. The single-queue reference sends
	// messages of Size bytes.
	Size int
	// Producers is the number of concurrent PutEvents calls, each waiting
	// for its durable acknowledgement (1..1024, default 64). The
	// single-queue reference runs with the same number.
	Producers int
	// Batch is the number of events per PutEvents call, and of messages
	// per SendBatch in the reference (1..1000, default 10: EventBridge's
	// PutEvents limit).
	Batch int
	// Dir is where temporary data directories are created (default
	// os.TempDir()). They are removed before Bus returns.
	Dir string
	// Timeout bounds the whole run (default 10 minutes).
	Timeout time.Duration
	// CPUProfile, if set, receives a CPU profile (runtime/pprof) of the
	// measured bus phase: the puts and the concurrent draining of the
	// queues, not the creation of the rules nor the single-queue
	// reference. Bus fails if another CPU profile is running.
	CPUProfile io.Writer
	// Progress is called as in Config. The systems and phases are
	// "courier-queue"/"publish" (the single-queue reference),
	// "courier"/"rules" (creating the rules, not measured) and
	// "courier"/"deliver" (Done and Total count deliveries acked from the
	// queues, while the puts run).
	Progress func(Progress)
}

// BusResult is what Bus measured. The JSON field names are part of
// `courier bench bus --json`'s output.
type BusResult struct {
	System string `json:"system"` // PeerCourier
	// Fsync reports whether every acknowledged write is fsync'd (file://
	// with sync=always: true).
	Fsync bool `json:"fsync"`
	// PutEventsPerSec is N divided by the time from the first PutEvents
	// call to the last acknowledgement.
	PutEventsPerSec float64 `json:"put_events_per_sec"`
	// E2EEventsPerSec is N divided by the time from the first PutEvents
	// call to the return of the ack that settled the last delivery: every
	// event stored, routed, received from each queue its rules target and
	// acked.
	E2EEventsPerSec float64 `json:"e2e_events_per_sec"`
	// DeliveriesPerSec is N × Matches over the same time.
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	// E2EP50us, E2EP99us and E2EMaxUs are percentiles of every delivery's
	// latency in microseconds: from the timestamp written into the event's
	// detail as its PutEvents batch is built to the return of the receive
	// that got it.
	E2EP50us float64 `json:"e2e_p50_us"`
	E2EP99us float64 `json:"e2e_p99_us"`
	E2EMaxUs float64 `json:"e2e_max_us"`
	// QueuePublishMsgsPerSec is the reference measured in the same run on a
	// fresh engine: N messages of Size bytes sent straight to one queue with
	// Queue.SendBatch, by Producers goroutines in batches of Batch.
	QueuePublishMsgsPerSec float64 `json:"queue_publish_msgs_per_sec"`
	// E2EToQueueRatio is E2EEventsPerSec / QueuePublishMsgsPerSec.
	E2EToQueueRatio float64 `json:"e2e_to_queue_ratio"`
	// Delivered is the number of deliveries received and acked, each
	// checked to be an expected one, once: N × Matches on success.
	Delivered int `json:"delivered"`
	// RulesSetupSec is how long creating the rules took (not measured
	// otherwise).
	RulesSetupSec float64 `json:"rules_setup_sec"`

	N         int `json:"n"`
	Rules     int `json:"rules"`
	Matches   int `json:"matches"`
	Queues    int `json:"queues"`
	Size      int `json:"size"`
	Producers int `json:"producers"`
	Batch     int `json:"batch"`
}

// TargetBusE2EEventsPerSec is the target of `courier bench bus`, from the
// issue: at least 50,000 events/s end to end, durable, with the default
// workload.
const TargetBusE2EEventsPerSec = 50_000

// busIdle is how long a queue may stay empty after the last put was
// acknowledged while deliveries are still missing before Bus gives up:
// queue targets get their deliveries in the same durable record as the
// event, so they are all visible once the puts are acknowledged.
const busIdle = 10 * time.Second

func (c BusConfig) withDefaults() (BusConfig, error) {
	orDefault(&c.N, 200_000)
	orDefault(&c.Rules, 1000)
	orDefault(&c.Matches, 1)
	orDefault(&c.Queues, 10)
	orDefault(&c.Size, 1024)
	orDefault(&c.Producers, 64)
	orDefault(&c.Batch, 10)
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if err := checkBounds(
		bound{"n", c.N, 1, 10_000_000}, bound{"rules", c.Rules, 1, driver.MaxRulesPerBus},
		bound{"queues", c.Queues, 1, 100}, bound{"matches", c.Matches, 1, 100},
		bound{"size", c.Size, minBusDetail, 200_000}, bound{"producers", c.Producers, 1, 1024},
		bound{"batch", c.Batch, 1, driver.MaxPutEvents},
	); err != nil {
		return c, err
	}
	if c.Queues > c.Rules {
		return c, fmt.Errorf("bench: queues: %d is more than rules (%d); each queue is the target of at least one rule", c.Queues, c.Rules)
	}
	if c.Matches > c.Queues {
		return c, fmt.Errorf("bench: matches: %d is more than queues (%d); the rules an event matches deliver it to distinct queues", c.Matches, c.Queues)
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("bench: timeout: %v is negative", c.Timeout)
	}
	return c, nil
}

// Bus runs the event-bus workload on courier's file:// engine (sync=always)
// in a temporary directory and returns one BusResult. It measures, in
// order:
//
//   - the single-queue reference: N messages of Size bytes sent with
//     Queue.SendBatch from Producers goroutines in batches of Batch, on a
//     fresh engine of its own;
//   - on a second fresh engine, after creating Queues queues and a bus with
//     Rules rules (BusPattern, one queue target each): Producers goroutines
//     put N events in PutEvents batches of Batch, each call waiting for its
//     durable acknowledgement, while one loop per queue receives batches of
//     up to 100 and acks each batch, the ack awaited. Every delivery's
//     detail carries its event's index and put time: each event must arrive
//     exactly once in each queue of the rules it matches, and nowhere else,
//     or the run fails.
//
// The directories are removed before Bus returns. On error Bus returns no
// result and the error.
func Bus(ctx context.Context, cfg BusConfig) ([]BusResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r, err := runBus(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: bus: %w", err)
	}
	return []BusResult{r}, nil
}

func runBus(ctx context.Context, cfg BusConfig) (r BusResult, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("timed out after %v", cfg.Timeout))
	defer cancel()
	defer func() {
		if err != nil && context.Cause(ctx) != nil && !errors.Is(err, context.Cause(ctx)) {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
	}()
	dir, err := os.MkdirTemp(cfg.Dir, "courier-bench-bus-")
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()

	r = BusResult{
		System: PeerCourier, Fsync: true,
		N: cfg.N, Rules: cfg.Rules, Matches: cfg.Matches, Queues: cfg.Queues,
		Size: cfg.Size, Producers: cfg.Producers, Batch: cfg.Batch,
	}
	if r.QueuePublishMsgsPerSec, err = queueBatchReference(ctx, cfg, dir+"/queue"); err != nil {
		return r, fmt.Errorf("single-queue reference: %w", err)
	}

	sys, err := openCourier(ctx, "file://"+dir+"/bus")
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, sys.close()) }()
	w := newBusWorkload(cfg)
	setup := time.Now()
	bus, queues, err := w.create(ctx, sys.b, cfg.Progress)
	if err != nil {
		return r, fmt.Errorf("setup: %w", err)
	}
	r.RulesSetupSec = time.Since(setup).Seconds()

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return r, fmt.Errorf("cpu profile: %w", err)
		}
	}
	m, err := w.run(ctx, bus, queues, cfg.Progress)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	r.Delivered = m.delivered
	if err != nil {
		return r, err
	}
	if err := w.checkDrained(ctx, bus, queues); err != nil {
		return r, err
	}
	r.PutEventsPerSec = float64(cfg.N) / m.put.Seconds()
	r.E2EEventsPerSec = float64(cfg.N) / m.e2e.Seconds()
	r.DeliveriesPerSec = float64(cfg.N*cfg.Matches) / m.e2e.Seconds()
	r.E2EToQueueRatio = r.E2EEventsPerSec / r.QueuePublishMsgsPerSec
	r.E2EP50us = micros(percentile(m.latencies, 0.50))
	r.E2EP99us = micros(percentile(m.latencies, 0.99))
	r.E2EMaxUs = micros(percentile(m.latencies, 1))
	return r, nil
}

// queueBatchReference sends cfg.N messages of cfg.Size bytes to one queue
// on a fresh courier engine in dir with Queue.SendBatch, from cfg.Producers
// goroutines in batches of cfg.Batch, and returns the rate.
func queueBatchReference(ctx context.Context, cfg BusConfig, dir string) (rate float64, err error) {
	sys, err := openCourier(ctx, "file://"+dir)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, sys.close()) }()
	q, err := sys.b.CreateQueue(ctx, "reference", courier.VisibilityTimeout(5*time.Minute))
	if err != nil {
		return 0, err
	}
	template := make([]byte, cfg.Size)
	_, _ = rand.Read(template) // incompressible bodies; never fails
	var next, done atomic.Int64
	stop := reportProgress(cfg.Progress, SystemCourierQueue, "publish", cfg.N, &done)
	start := time.Now()
	err = workers(ctx, cfg.Producers, func(ctx context.Context) error {
		msgs := make([]courier.Message, 0, cfg.Batch)
		for {
			first := int(next.Add(int64(cfg.Batch))) - cfg.Batch
			if first >= cfg.N {
				return nil
			}
			last := min(first+cfg.Batch, cfg.N)
			msgs = msgs[:0]
			for i := first; i < last; i++ {
				msgs = append(msgs, courier.Message{Body: body(template, i)})
			}
			res, err := q.SendBatch(ctx, msgs)
			if err != nil {
				return fmt.Errorf("messages %d..%d: %w", first, last-1, err)
			}
			for k := range res {
				if res[k].Err != nil {
					return fmt.Errorf("message %d: %w", first+k, res[k].Err)
				}
			}
			done.Add(int64(last - first))
		}
	})
	elapsed := time.Since(start)
	stop()
	if err != nil {
		return 0, err
	}
	return float64(cfg.N) / elapsed.Seconds(), nil
}

// busWorkload is the bus, its rules and its events for one configuration.
//
// The rules are numbered 0..Rules-1. Rule k belongs to group k/Matches and
// targets queue k%Queues. Event i belongs to group i%groups, where groups
// is Rules/Matches, and its source names its group, so it matches exactly
// the Matches rules of its group: those deliver it to Matches distinct
// queues (Matches ≤ Queues).
type busWorkload struct {
	cfg    BusConfig
	groups int
	pad    string        // random base64 text that pads details
	expect []int         // deliveries each queue receives
	idle   time.Duration // see busIdle
}

func newBusWorkload(cfg BusConfig) *busWorkload {
	w := &busWorkload{cfg: cfg, groups: cfg.Rules / cfg.Matches, expect: make([]int, cfg.Queues), idle: busIdle}
	raw := make([]byte, cfg.Size)
	_, _ = rand.Read(raw)
	w.pad = base64.RawURLEncoding.EncodeToString(raw)[:cfg.Size]
	for g := range w.groups {
		events := cfg.N / w.groups
		if g < cfg.N%w.groups {
			events++
		}
		for j := range cfg.Matches {
			w.expect[(g*cfg.Matches+j)%cfg.Queues] += events
		}
	}
	return w
}

// BusPattern returns the EventBridge pattern of rule k of the bus
// benchmark with matches rules per group. Every pattern names its group's
// source (exactly, or by a prefix that ends at a dot), and rules cycle
// through four shapes that mix exact values, prefix, anything-but and
// numeric ranges on the detail, each satisfied by every event of the
// group; within a group rules differ in their numeric threshold. Rule 0
// has the shape of the issue:
//
//	{"source":["shop.svc0.orders"],"detail-type":["Order Placed"],
//	 "detail":{"total":[{"numeric":[">",0]}],"region":["eu","us"]}}
func BusPattern(k, matches int) string {
	g, j := k/matches, k%matches
	switch k % 4 {
	case 0:
		return fmt.Sprintf(`{"source":["shop.svc%d.orders"],"detail-type":["Order Placed"],`+
			`"detail":{"total":[{"numeric":[">",%d]}],"region":["eu","us"]}}`, g, j)
	case 1:
		return fmt.Sprintf(`{"source":[{"prefix":"shop.svc%d."}],"detail-type":["Order Placed","Order Updated"],`+
			`"detail":{"total":[{"numeric":[">=",%d,"<",1000000]}],"customer":{"tier":[{"anything-but":["blocked","test"]}]}}}`, g, j)
	case 2:
		return fmt.Sprintf(`{"source":["shop.svc%d.orders"],"detail-type":[{"anything-but":["Order Cancelled","Order Refunded"]}],`+
			`"detail":{"region":[{"prefix":"e"},{"prefix":"u"}],"items":[{"numeric":[">",0,"<=",100]}],"total":[{"numeric":[">",%d]}]}}`, g, j)
	default:
		return fmt.Sprintf(`{"source":["shop.svc%d.orders","shop.svc%d.legacy"],"detail-type":["Order Placed"],`+
			`"detail":{"currency":["EUR","USD"],"total":[{"numeric":[">",%d]}],"customer":{"tier":["gold","silver","bronze"]}}}`, g, g, j)
	}
}

// busQueueName names the queue the rules k with k%Queues == q target.
func busQueueName(q int) string { return "bus-target-" + strconv.Itoa(q) }

// create makes the queues, the bus and its rules on b.
func (w *busWorkload) create(ctx context.Context, b *courier.Broker, progress func(Progress)) (*courier.Bus, []*courier.Queue, error) {
	queues := make([]*courier.Queue, w.cfg.Queues)
	for q := range queues {
		var err error
		if queues[q], err = b.CreateQueue(ctx, busQueueName(q), courier.VisibilityTimeout(5*time.Minute)); err != nil {
			return nil, nil, err
		}
	}
	bus, err := b.CreateBus(ctx, "bench", courier.BusAttributes{Description: "courier bench bus"})
	if err != nil {
		return nil, nil, err
	}
	var done atomic.Int64
	stop := reportProgress(progress, PeerCourier, "rules", w.cfg.Rules, &done)
	defer stop()
	for k := range w.cfg.Rules {
		_, err := bus.PutRule(ctx, "rule-"+strconv.Itoa(k), courier.Rule{
			Pattern: json.RawMessage(BusPattern(k, w.cfg.Matches)),
			Targets: []courier.Target{{ID: "queue", Kind: courier.TargetQueue, Queue: busQueueName(k % w.cfg.Queues)}},
		})
		if err != nil {
			return nil, nil, err
		}
		done.Add(1)
	}
	return bus, queues, nil
}

// minBusDetail is the smallest detail size: room for the fields of
// busWorkload.detail with the longest index and an empty pad.
const minBusDetail = 256

// event returns event i, put at sent (unix nanoseconds).
func (w *busWorkload) event(i int, sent int64) courier.Event {
	return courier.Event{
		Source:     "shop.svc" + strconv.Itoa(i%w.groups) + ".orders",
		DetailType: "Order Placed",
		Detail:     w.detail(i, sent),
	}
}

// Fields of an event's detail that the consumers read back.
const (
	busSeqField  = `"bench-seq":`
	busSentField = `,"bench-sent":`
)

// detail returns event i's detail: its index and put time first, then
// order fields that every rule of its group tests, padded to exactly
// cfg.Size bytes.
func (w *busWorkload) detail(i int, sent int64) []byte {
	b := make([]byte, 0, w.cfg.Size)
	b = append(b, '{')
	b = append(b, busSeqField...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, busSentField...)
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(100+i%900), 10)
	b = append(b, `.5,"currency":"`...)
	b = append(b, [...]string{"EUR", "USD"}[i%2]...)
	b = append(b, `","region":"`...)
	b = append(b, [...]string{"eu", "us"}[i%2]...)
	b = append(b, `","customer":{"id":"c-`...)
	b = strconv.AppendInt(b, int64(i%10000), 10)
	b = append(b, `","tier":"`...)
	b = append(b, [...]string{"gold", "silver", "bronze"}[i%3]...)
	b = append(b, `"},"items":`...)
	b = strconv.AppendInt(b, int64(1+i%5), 10)
	b = append(b, `,"pad":"`...)
	b = append(b, w.pad[:max(w.cfg.Size-len(b)-2, 0)]...)
	return append(b, `"}`...)
}

// parseBusDelivery returns the index and put time of the event in a
// delivered envelope.
func parseBusDelivery(envelope []byte) (seq int, sent int64, err error) {
	i := bytes.Index(envelope, []byte(busSeqField))
	if i < 0 {
		return 0, 0, fmt.Errorf("delivery of %d bytes has no %s in its detail", len(envelope), busSeqField)
	}
	rest := envelope[i+len(busSeqField):]
	n, rest, ok := leadingInt(rest)
	if !ok || !bytes.HasPrefix(rest, []byte(busSentField)) {
		return 0, 0, fmt.Errorf("delivery's detail is malformed after %s", busSeqField)
	}
	t, _, ok := leadingInt(rest[len(busSentField):])
	if !ok {
		return 0, 0, fmt.Errorf("delivery's detail is malformed after %s", busSentField)
	}
	return int(n), t, nil
}

// leadingInt parses the decimal digits at the start of b.
func leadingInt(b []byte) (int64, []byte, bool) {
	n := 0
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	v, err := strconv.ParseInt(string(b[:n]), 10, 64)
	return v, b[n:], err == nil
}

// delivers reports whether one of the rules event i matches targets
// queue q.
func (w *busWorkload) delivers(i, q int) bool {
	first := (i % w.groups) * w.cfg.Matches % w.cfg.Queues
	return (q-first+w.cfg.Queues)%w.cfg.Queues < w.cfg.Matches
}

// busMeasure is what one run of the bus phase measured.
type busMeasure struct {
	put, e2e  time.Duration
	delivered int
	latencies []time.Duration
}

// run puts the events from cfg.Producers goroutines while one loop per
// queue receives and acks, and returns the put and end-to-end times.
func (w *busWorkload) run(ctx context.Context, bus *courier.Bus, queues []*courier.Queue, progress func(Progress)) (m busMeasure, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		settled atomic.Int64
		putDone atomic.Int64 // unix ns when the last put was acknowledged; 0 before
		ends    = make([]time.Time, len(queues))
		lats    = make([][]time.Duration, len(queues))
		start   = time.Now()
	)
	stop := reportProgress(progress, PeerCourier, "deliver", w.cfg.N*w.cfg.Matches, &settled)
	consumed := make(chan error, 1)
	go func() {
		var next atomic.Int64
		err := workers(ctx, len(queues), func(ctx context.Context) error {
			q := int(next.Add(1) - 1)
			lats[q] = make([]time.Duration, 0, w.expect[q])
			var err error
			ends[q], err = w.drain(ctx, q, queues[q], &lats[q], &settled, &putDone)
			return err
		})
		if err != nil {
			cancel(err)
		}
		consumed <- err
	}()

	var next atomic.Int64
	err = workers(ctx, w.cfg.Producers, func(ctx context.Context) error {
		evs := make([]courier.Event, 0, w.cfg.Batch)
		for {
			first := int(next.Add(int64(w.cfg.Batch))) - w.cfg.Batch
			if first >= w.cfg.N {
				return nil
			}
			last := min(first+w.cfg.Batch, w.cfg.N)
			sent := time.Now().UnixNano()
			evs = evs[:0]
			for i := first; i < last; i++ {
				evs = append(evs, w.event(i, sent))
			}
			res, err := bus.PutEvents(ctx, evs...)
			if err != nil {
				return fmt.Errorf("put events %d..%d: %w", first, last-1, err)
			}
			for k := range res {
				if res[k].Err != nil {
					return fmt.Errorf("put event %d: %w", first+k, res[k].Err)
				}
			}
		}
	})
	putEnd := time.Now()
	m.put = putEnd.Sub(start)
	if err != nil {
		cancel(err)
	} else {
		putDone.Store(putEnd.UnixNano())
	}
	cerr := <-consumed
	stop()
	m.delivered = int(settled.Load())
	if err != nil || cerr != nil {
		// The side that failed first cancelled the other: report its error
		// (or the timeout), not the other's cancellation.
		if cause := context.Cause(ctx); cause != nil {
			return m, cause
		}
		return m, errors.Join(err, cerr)
	}
	for q := range queues {
		m.e2e = max(m.e2e, ends[q].Sub(start))
		m.latencies = append(m.latencies, lats[q]...)
	}
	return m, nil
}

// drain receives and acks queue q's expected deliveries, checking each
// one, and returns when the ack of the last one returned.
func (w *busWorkload) drain(ctx context.Context, q int, queue *courier.Queue, lats *[]time.Duration,
	settled, putDone *atomic.Int64) (time.Time, error) {
	want := w.expect[q]
	seen := make([]uint64, (w.cfg.N+63)/64) // owned by this loop
	receipts := make([]string, 0, 100)
	got := 0
	last := time.Now()
	for got < want {
		ds, err := queue.Receive(ctx, courier.Max(100), courier.Wait(time.Second))
		if err != nil {
			return time.Time{}, err
		}
		now := time.Now()
		if len(ds) == 0 {
			if done := putDone.Load(); done != 0 && now.Sub(last) > w.idle && now.Sub(time.Unix(0, done)) > w.idle {
				return time.Time{}, fmt.Errorf("queue %s: %d of %d deliveries arrived, then none for %v after the last put was acknowledged",
					queue.Name(), got, want, w.idle)
			}
			continue
		}
		receipts = receipts[:0]
		for _, d := range ds {
			i, sent, err := parseBusDelivery(d.Body)
			if err != nil {
				return time.Time{}, fmt.Errorf("queue %s: %w", queue.Name(), err)
			}
			switch {
			case i < 0 || i >= w.cfg.N:
				return time.Time{}, fmt.Errorf("queue %s: received event %d; put were 0..%d", queue.Name(), i, w.cfg.N-1)
			case !w.delivers(i, q):
				return time.Time{}, fmt.Errorf("queue %s: received event %d, which no rule it matches targets to this queue", queue.Name(), i)
			case seen[i/64]&(1<<(i%64)) != 0:
				return time.Time{}, fmt.Errorf("queue %s: event %d was delivered more than once", queue.Name(), i)
			}
			seen[i/64] |= 1 << (i % 64)
			*lats = append(*lats, now.Sub(time.Unix(0, sent)))
			receipts = append(receipts, d.Receipt)
		}
		if err := queue.Ack(ctx, receipts...); err != nil {
			return time.Time{}, err
		}
		last = time.Now()
		got += len(ds)
		settled.Add(int64(len(ds)))
	}
	return last, nil
}

// checkDrained checks that the bus accepted every event and matched each
// to a rule, and that no queue holds anything more: no event was delivered
// to a queue after its loop had every delivery it expected.
func (w *busWorkload) checkDrained(ctx context.Context, bus *courier.Bus, queues []*courier.Queue) error {
	info, err := bus.Info(ctx)
	if err != nil {
		return err
	}
	if s := info.Stats; s.Accepted != int64(w.cfg.N) || s.Matched != int64(w.cfg.N) || s.Unmatched != 0 {
		return fmt.Errorf("bus stats: %d events accepted, %d matched, %d unmatched; want %d, %d, 0", s.Accepted, s.Matched, s.Unmatched, w.cfg.N, w.cfg.N)
	}
	for _, q := range queues {
		info, err := q.Info(ctx)
		if err != nil {
			return err
		}
		if s := info.Stats; s.Visible+s.InFlight+s.Delayed != 0 {
			return fmt.Errorf("queue %s: %d deliveries left after every expected one was acked (visible %d, in flight %d, delayed %d)",
				q.Name(), s.Visible+s.InFlight+s.Delayed, s.Visible, s.InFlight, s.Delayed)
		}
	}
	return nil
}

// WriteBusTable writes the bus results as a table, followed by the
// end-to-end rate against TargetBusE2EEventsPerSec and its ratio to the
// single-queue reference.
func WriteBusTable(w io.Writer, results []BusResult) error {
	if len(results) == 0 {
		return nil
	}
	r0 := results[0]
	fmt.Fprintf(w, "bus workload: %d events (detail %d B) from %d producers in PutEvents batches of %d; %d rules, each event matching %d;\n"+
		"queue targets over %d queues, each drained by one receive-and-ack loop (batches of 100) while the puts run; file://, sync=always\n"+
		"rule 0's pattern: %s (creating the rules took %.1fs, not measured)\n\n",
		r0.N, r0.Size, r0.Producers, r0.Batch, r0.Rules, r0.Matches, r0.Queues, BusPattern(0, r0.Matches), r0.RulesSetupSec)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tfsync\tput events/s\te2e events/s\tdeliveries/s\te2e p50 µs\te2e p99 µs\tmax µs\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s (1 queue, SendBatch)\t%v\t%.0f\t-\t-\t-\t-\t-\t\n", r.System, r.Fsync, r.QueuePublishMsgsPerSec)
		fmt.Fprintf(tw, "%s bus\t%v\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t\n",
			r.System, r.Fsync, r.PutEventsPerSec, r.E2EEventsPerSec, r.DeliveriesPerSec, r.E2EP50us, r.E2EP99us, r.E2EMaxUs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "courier bus e2e/single-queue publish %6.2f×\n", r.E2EToQueueRatio)
		fmt.Fprintf(w, "courier bus end-to-end %10.0f events/s   target ≥%d events/s %s\n",
			r.E2EEventsPerSec, TargetBusE2EEventsPerSec, verdict(r.E2EEventsPerSec >= TargetBusE2EEventsPerSec))
	}
	return nil
}

// WriteBusJSON writes one JSON object per result and line.
func WriteBusJSON(w io.Writer, results []BusResult) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
