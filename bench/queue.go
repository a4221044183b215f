package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what Queue measured for one system. The JSON field names are
// part of `courier bench queue --json`'s output.
type Result struct {
	System string `json:"system"` // peer name
	// PublishMsgsPerSec is N divided by the time from the first send to the
	// last acknowledgement, over all producers.
	PublishMsgsPerSec float64 `json:"publish_msgs_per_sec"`
	// ConsumeMsgsPerSec is N divided by the time from the first receive to
	// the ack that settled the last message.
	ConsumeMsgsPerSec float64 `json:"consume_msgs_per_sec"`
	// P50us and P99us are percentiles of the latency run's send latency, in
	// microseconds (0 when the latency run was skipped).
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	// Fsync reports whether the system fsyncs every acknowledged write.
	Fsync bool `json:"fsync"`

	MaxUs     float64 `json:"max_us"` // slowest send of the latency run
	N         int     `json:"n"`
	Size      int     `json:"size"`
	Producers int     `json:"producers"`
	Consumers int     `json:"consumers"`
	Batch     int     `json:"batch"`
	Rate      int     `json:"rate"`
	LatencyN  int     `json:"latency_n"`
	// Consumed is the number of distinct messages consumed (N on success)
	// and Duplicates the number of deliveries beyond the first.
	Consumed   int `json:"consumed"`
	Duplicates int `json:"duplicates"`
}

// system is one benchmarked backend, opened on its own data directory.
type system interface {
	// queue creates the empty queue name and returns it.
	queue(ctx context.Context, name string) (target, error)
	// close shuts the system down and waits for it.
	close() error
}

// target is one queue of a system.
type target interface {
	// publish stores body and returns once the system acknowledged it.
	publish(ctx context.Context, body []byte) error
	// consume receives up to max messages, calls seen with each body, acks
	// them all, waits for the ack and returns how many it received. It may
	// wait a little when nothing is available.
	consume(ctx context.Context, max int, seen func(body []byte)) (int, error)
}

// Queue runs the queue workload described by cfg against each of
// cfg.Peers in turn and returns one Result per peer, in order. Each system
// gets a fresh temporary directory, removed before Queue returns, and is
// shut down before the next starts. On error (a failed send, a lost or
// unknown message, ctx done, cfg.Timeout passed) Queue returns the results
// of the systems completed so far with the error.
func Queue(ctx context.Context, cfg Config) ([]Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(cfg.Peers))
	for _, peer := range cfg.Peers {
		r, err := runPeer(ctx, cfg, peer)
		if err != nil {
			return out, fmt.Errorf("bench: %s: %w", peer, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func runPeer(ctx context.Context, cfg Config, peer string) (r Result, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("timed out after %v", cfg.Timeout))
	defer cancel()
	defer func() {
		if err != nil && context.Cause(ctx) != nil && !errors.Is(err, context.Cause(ctx)) {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
	}()

	dir, err := os.MkdirTemp(cfg.Dir, "courier-bench-"+peer+"-")
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()

	sys, fsync, err := openPeer(ctx, peer, dir)
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, sys.close()) }()

	r = Result{
		System: peer, Fsync: fsync,
		N: cfg.N, Size: cfg.Size, Producers: cfg.Producers, Consumers: cfg.Consumers,
		Batch: cfg.Batch, Rate: cfg.Rate, LatencyN: cfg.LatencyN,
	}
	q, err := sys.queue(ctx, "bench")
	if err != nil {
		return r, err
	}
	template := make([]byte, cfg.Size)
	_, _ = rand.Read(template) // incompressible bodies; never fails

	d, err := publishPhase(ctx, cfg, peer, q, template)
	if err != nil {
		return r, fmt.Errorf("publish: %w", err)
	}
	r.PublishMsgsPerSec = float64(cfg.N) / d.Seconds()

	d, consumed, dups, err := consumePhase(ctx, cfg, peer, q)
	r.Consumed, r.Duplicates = consumed, dups
	if err != nil {
		return r, fmt.Errorf("consume: %w", err)
	}
	r.ConsumeMsgsPerSec = float64(cfg.N) / d.Seconds()

	if cfg.LatencyN > 0 {
		lq, err := sys.queue(ctx, "bench-latency")
		if err != nil {
			return r, err
		}
		lat, err := latencyPhase(ctx, cfg, peer, lq, template)
		if err != nil {
			return r, fmt.Errorf("latency: %w", err)
		}
		r.P50us = micros(percentile(lat, 0.50))
		r.P99us = micros(percentile(lat, 0.99))
		r.MaxUs = micros(percentile(lat, 1))
	}
	return r, nil
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// body returns a fresh body for message i: the index, then template's
// bytes. Bodies are never reused, since a system may keep the slice.
func body(template []byte, i int) []byte {
	b := make([]byte, len(template))
	copy(b, template)
	binary.LittleEndian.PutUint64(b, uint64(i))
	return b
}

// publishPhase sends cfg.N messages from cfg.Producers goroutines and
// returns the time it took.
func publishPhase(ctx context.Context, cfg Config, peer string, q target, template []byte) (time.Duration, error) {
	var next, done atomic.Int64
	stop := reportProgress(cfg.Progress, peer, "publish", cfg.N, &done)
	start := time.Now()
	err := workers(ctx, cfg.Producers, func(ctx context.Context) error {
		for {
			i := int(next.Add(1) - 1)
			if i >= cfg.N {
				return nil
			}
			if err := q.publish(ctx, body(template, i)); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
			done.Add(1)
		}
	})
	elapsed := time.Since(start)
	stop()
	return elapsed, err
}

// completion counts the messages a run settled or read, first deliveries
// only; once the count reaches total it cancels the run's context and
// remembers when.
type completion struct {
	total  int64
	done   atomic.Int64
	once   sync.Once
	at     time.Time
	cancel context.CancelFunc
}

func newCompletion(total int, cancel context.CancelFunc) *completion {
	return &completion{total: int64(total), cancel: cancel}
}

// add counts n more messages.
func (c *completion) add(n int) {
	if c.done.Add(int64(n)) >= c.total {
		c.once.Do(func() { c.at = time.Now(); c.cancel() })
	}
}

// complete reports whether the count has reached total.
func (c *completion) complete() bool { return c.done.Load() >= c.total }

// consumePhase receives and acks all cfg.N messages from cfg.Consumers
// goroutines and returns the time until the last one was settled, the
// number of distinct messages seen and the number of duplicate deliveries.
func consumePhase(ctx context.Context, cfg Config, peer string, q target) (elapsed time.Duration, distinct, dups int, err error) {
	seen := make([]atomic.Bool, cfg.N)
	var duplicates atomic.Int64
	ctx, finish := context.WithCancel(ctx)
	defer finish()
	settled := newCompletion(cfg.N, finish)

	stop := reportProgress(cfg.Progress, peer, "consume", cfg.N, &settled.done)
	start := time.Now()
	err = workers(ctx, cfg.Consumers, func(ctx context.Context) error {
		var bad error
		for !settled.complete() {
			fresh := 0
			_, err := q.consume(ctx, cfg.Batch, func(b []byte) {
				if len(b) != cfg.Size {
					bad = fmt.Errorf("received a body of %d bytes, sent were %d", len(b), cfg.Size)
					return
				}
				i := binary.LittleEndian.Uint64(b)
				if i >= uint64(cfg.N) {
					bad = fmt.Errorf("received message index %d, sent were 0..%d", i, cfg.N-1)
					return
				}
				if seen[i].Swap(true) {
					duplicates.Add(1)
					return
				}
				fresh++
			})
			if err != nil {
				if settled.complete() {
					return nil // another consumer settled the last message
				}
				return err
			}
			if bad != nil {
				return bad
			}
			settled.add(fresh)
		}
		return nil
	})
	stop()
	distinct, dups = int(settled.done.Load()), int(duplicates.Load())
	if err != nil {
		return 0, distinct, dups, err
	}
	if dups > 0 {
		return 0, distinct, dups, fmt.Errorf("%d messages were delivered more than once", dups)
	}
	return settled.at.Sub(start), distinct, dups, nil
}

// latencyPhase sends cfg.LatencyN messages from one goroutine at
// cfg.Rate (pacedCalls) and returns every send's latency.
func latencyPhase(ctx context.Context, cfg Config, peer string, q target, template []byte) ([]time.Duration, error) {
	var done atomic.Int64
	stop := reportProgress(cfg.Progress, peer, "latency", cfg.LatencyN, &done)
	defer stop()
	return pacedCalls(ctx, cfg.LatencyN, cfg.Rate, &done, func(ctx context.Context, i int) error {
		return q.publish(ctx, body(template, i))
	})
}

// pacedCalls calls f n times from one goroutine, one call every 1/rate
// seconds, counts each in done and returns every call's latency (the
// time of f alone). A call that overruns its slot delays the schedule
// rather than causing a burst.
func pacedCalls(ctx context.Context, n, rate int, done *atomic.Int64, f func(context.Context, int) error) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	interval := time.Second / time.Duration(rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	next := time.Now()
	for i := range n {
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		t0 := time.Now()
		if err := f(ctx, i); err != nil {
			return nil, fmt.Errorf("call %d: %w", i, err)
		}
		t1 := time.Now()
		lat = append(lat, t1.Sub(t0))
		done.Add(1)
		next = next.Add(interval)
		if next.Before(t1) {
			next = t1
		}
	}
	return lat, nil
}

// workers runs n copies of f and returns the first error; the others'
// context is cancelled when one fails.
func workers(ctx context.Context, n int, f func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range n {
		wg.Go(func() {
			if err := f(ctx); err != nil {
				once.Do(func() { first = err })
				cancel(err)
			}
		})
	}
	wg.Wait()
	return first
}

// reportProgress calls progress (when set) about every 100ms with done's
// value out of total until the returned stop is called, and once more
// then.
func reportProgress(progress func(Progress), peer, phase string, total int, done *atomic.Int64) (stop func()) {
	if progress == nil {
		return func() {}
	}
	report := func() {
		progress(Progress{System: peer, Phase: phase, Done: int(done.Load()), Total: total})
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report()
			case <-quit:
				report()
				return
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}
