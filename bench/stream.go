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
	"github.com/courier-io/courier/driver"
)

// StreamConfig is the workload of Stream. The zero value runs the default
// workload against courier and JetStream (default mode).
type StreamConfig struct {
	// N is the number of records the append phase writes (1..10,000,000,
	// default 20,000).
	N int
	// ReplayN is the number of records loaded and then read back
	// sequentially in the replay phase (1..10,000,000, default 1,000,000).
	ReplayN int
	// Size is each record's value size in bytes (16..1,000,000, default 1024).
	Size int
	// Producers append concurrently, each waiting for its acknowledgement
	// (1..1024, default 64).
	Producers int
	// Partitions of the append phase's stream (1..64, default 8): JetStream
	// gets one subject per partition.
	Partitions int
	// Rate (records/s, default 2000) and LatencyN (default 4000; negative
	// skips) drive the end-to-end run: one producer appends at Rate while a
	// consumer-group member polls and commits; latency is from before the
	// append to the poll that returned the record.
	Rate, LatencyN int
	// Peers are the systems: PeerCourier, PeerJetStream, PeerJetStreamSync
	// (default courier and jetstream).
	Peers []string
	// Dir is where temporary data directories are created; Timeout bounds
	// each system's run (default 10 minutes).
	Dir     string
	Timeout time.Duration
	// Progress is called as in Config.
	Progress func(Progress)
}

// StreamResult is what Stream measured for one system. The JSON field
// names are part of `courier bench stream --json`'s output.
type StreamResult struct {
	System string `json:"system"`
	Fsync  bool   `json:"fsync"`
	// AppendPerSec is N over the time from the first append to the last
	// acknowledgement.
	AppendPerSec float64 `json:"append_records_per_sec"`
	// ReplayPerSec is ReplayN over the time to read them all back in order
	// (courier: a partition Reader; JetStream: an ordered consumer).
	ReplayPerSec float64 `json:"replay_records_per_sec"`
	// End-to-end latency of the group run, in microseconds: from before the
	// append to the consumer holding the record.
	E2EP50us float64 `json:"e2e_p50_us"`
	E2EP99us float64 `json:"e2e_p99_us"`

	N          int `json:"n"`
	ReplayN    int `json:"replay_n"`
	Size       int `json:"size"`
	Producers  int `json:"producers"`
	Partitions int `json:"partitions"`
	Rate       int `json:"rate"`
	LatencyN   int `json:"latency_n"`
}

func (c StreamConfig) withDefaults() (StreamConfig, error) {
	orDefault(&c.N, 20000)
	orDefault(&c.ReplayN, 1_000_000)
	orDefault(&c.Size, 1024)
	orDefault(&c.Producers, 64)
	orDefault(&c.Partitions, 8)
	orDefault(&c.Rate, 2000)
	orDefault(&c.LatencyN, 4000)
	if c.LatencyN < 0 {
		c.LatencyN = 0
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if len(c.Peers) == 0 {
		c.Peers = []string{PeerCourier, PeerJetStream}
	}
	if err := checkBounds(
		bound{"n", c.N, 1, 10_000_000}, bound{"replay-n", c.ReplayN, 1, 10_000_000}, bound{"size", c.Size, 16, 1_000_000},
		bound{"producers", c.Producers, 1, 1024}, bound{"partitions", c.Partitions, 1, 64},
		bound{"rate", c.Rate, 1, 1_000_000}, bound{"latency-n", c.LatencyN, 0, 10_000_000},
	); err != nil {
		return c, err
	}
	return c, checkDiskPeers("stream", c.Peers, PeerKafka, PeerCourierKafka)
}

// streamSystem is one system of the stream benchmark.
type streamSystem interface {
	// stream creates a stream with parts partitions.
	stream(ctx context.Context, name string, parts int) (streamTarget, error)
	close() error
}

type streamTarget interface {
	// append stores value under key and returns once acknowledged.
	append(ctx context.Context, key, value []byte) error
	// load stores n records as fast as the system takes them (not measured).
	load(ctx context.Context, n int, value func(i int) []byte) error
	// replay reads every record from the start and calls seen with each.
	replay(ctx context.Context, n int, seen func(value []byte)) error
	// consumeGroup polls as a consumer-group member until ctx ends,
	// calling seen with each record and committing after each batch.
	consumeGroup(ctx context.Context, seen func(value []byte)) error
}

// Stream runs the stream workload against each of cfg.Peers in turn.
func Stream(ctx context.Context, cfg StreamConfig) ([]StreamResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var out []StreamResult
	for _, peer := range cfg.Peers {
		r, err := runStreamPeer(ctx, cfg, peer)
		if err != nil {
			return out, fmt.Errorf("bench: %s: %w", peer, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func openStreamPeer(ctx context.Context, peer, dir string) (streamSystem, bool, error) {
	switch peer {
	case PeerCourier:
		b, err := courier.Open(ctx, "file://"+dir)
		return courierStreams{b}, true, err
	case PeerJetStream, PeerJetStreamSync:
		s, err := openJetStream(ctx, dir, peer == PeerJetStreamSync)
		return s, peer == PeerJetStreamSync, err
	case PeerKafka:
		s, err := openKafkaStreams(ctx)
		return s, false, err
	case PeerCourierKafka:
		s, err := openCourierKafkaStreams(ctx)
		return s, false, err
	}
	return nil, false, fmt.Errorf("unknown peer %q", peer)
}

func runStreamPeer(ctx context.Context, cfg StreamConfig, peer string) (r StreamResult, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("timed out after %v", cfg.Timeout))
	defer cancel()
	dir, err := os.MkdirTemp(cfg.Dir, "courier-bench-stream-"+peer+"-")
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	sys, fsync, err := openStreamPeer(ctx, peer, dir)
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, sys.close()) }()
	r = StreamResult{System: peer, Fsync: fsync, N: cfg.N, ReplayN: cfg.ReplayN, Size: cfg.Size, Producers: cfg.Producers,
		Partitions: cfg.Partitions, Rate: cfg.Rate, LatencyN: cfg.LatencyN}
	template := make([]byte, cfg.Size)
	_, _ = rand.Read(template)

	// Append: N records with 1000 distinct keys from Producers goroutines.
	st, err := sys.stream(ctx, "append", cfg.Partitions)
	if err != nil {
		return r, err
	}
	var next, done atomic.Int64
	stop := reportProgress(cfg.Progress, peer, "append", cfg.N, &done)
	start := time.Now()
	err = workers(ctx, cfg.Producers, func(ctx context.Context) error {
		for {
			i := int(next.Add(1) - 1)
			if i >= cfg.N {
				return nil
			}
			if err := st.append(ctx, fmt.Appendf(nil, "key-%d", i%1000), body(template, i)); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			done.Add(1)
		}
	})
	r.AppendPerSec = float64(cfg.N) / time.Since(start).Seconds()
	stop()
	if err != nil {
		return r, fmt.Errorf("append: %w", err)
	}

	// Replay: load ReplayN records into one partition, read them back.
	rs, err := sys.stream(ctx, "replay", 1)
	if err != nil {
		return r, err
	}
	if err := rs.load(ctx, cfg.ReplayN, func(i int) []byte { return body(template, i) }); err != nil {
		return r, fmt.Errorf("replay load: %w", err)
	}
	done.Store(0)
	stop = reportProgress(cfg.Progress, peer, "replay", cfg.ReplayN, &done)
	want := uint64(0)
	var bad error
	start = time.Now()
	err = rs.replay(ctx, cfg.ReplayN, func(v []byte) {
		if got := binary.LittleEndian.Uint64(v); got != want && bad == nil {
			bad = fmt.Errorf("record %d read where %d was expected", got, want)
		}
		want++
		done.Add(1)
	})
	r.ReplayPerSec = float64(cfg.ReplayN) / time.Since(start).Seconds()
	stop()
	if err == nil {
		err = bad
	}
	if err != nil {
		return r, fmt.Errorf("replay: %w", err)
	}

	if cfg.LatencyN > 0 {
		lat, err := streamLatency(ctx, cfg, peer, sys, template)
		if err != nil {
			return r, fmt.Errorf("end-to-end: %w", err)
		}
		r.E2EP50us = micros(percentile(lat, 0.50))
		r.E2EP99us = micros(percentile(lat, 0.99))
	}
	return r, nil
}

// streamLatency appends LatencyN records at Rate from one producer, each
// carrying its send time, while a group member consumes; it returns each
// record's time from before the append to its poll.
func streamLatency(ctx context.Context, cfg StreamConfig, peer string, sys streamSystem, template []byte) ([]time.Duration, error) {
	st, err := sys.stream(ctx, "latency", 1)
	if err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, cfg.LatencyN)
	got := make(chan time.Duration, cfg.LatencyN)
	cctx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	consumed := make(chan error, 1)
	go func() {
		consumed <- st.consumeGroup(cctx, func(v []byte) {
			sent := int64(binary.LittleEndian.Uint64(v[8:]))
			got <- time.Since(time.Unix(0, sent))
		})
	}()
	var done atomic.Int64
	stop := reportProgress(cfg.Progress, peer, "end-to-end", cfg.LatencyN, &done)
	defer stop()
	interval := time.Second / time.Duration(cfg.Rate)
	nextAt := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range cfg.LatencyN {
		if wait := time.Until(nextAt); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		v := body(template, i)
		binary.LittleEndian.PutUint64(v[8:], uint64(time.Now().UnixNano()))
		if err := st.append(ctx, nil, v); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		nextAt = nextAt.Add(interval)
	}
	for len(lat) < cfg.LatencyN {
		select {
		case d := <-got:
			lat = append(lat, d)
			done.Add(1)
		case err := <-consumed:
			return nil, fmt.Errorf("consumer stopped after %d records: %v", len(lat), err)
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	stopConsumer()
	if err := <-consumed; err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	return lat, nil
}

// courierStreams is courier's engine through the public API.
type courierStreams struct{ b *courier.Broker }

func (c courierStreams) stream(ctx context.Context, name string, parts int) (streamTarget, error) {
	s, err := c.b.CreateStream(ctx, name, courier.Partitions(parts), courier.StreamRetention(0))
	return courierStream{s}, err
}

func (c courierStreams) close() error { return c.b.Close() }

type courierStream struct{ s *courier.Stream }

func (c courierStream) append(ctx context.Context, key, value []byte) error {
	_, err := c.s.Append(ctx, courier.Record{Key: key, Value: value, Partition: courier.AnyPartition})
	return err
}

func (c courierStream) load(ctx context.Context, n int, value func(int) []byte) error {
	batch := make([]courier.Record, 0, driver.MaxBatch)
	for i := 0; i < n; i++ {
		batch = append(batch, courier.Record{Value: value(i), Partition: 0})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := c.s.AppendBatch(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

func (c courierStream) replay(ctx context.Context, n int, seen func([]byte)) error {
	r := c.s.Reader(0, courier.Earliest(), courier.ReadMax(1000))
	for read := 0; read < n; {
		recs, err := r.Next(ctx)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return fmt.Errorf("the stream ended after %d of %d records", read, n)
		}
		for _, rec := range recs {
			seen(rec.Value)
		}
		read += len(recs)
	}
	return nil
}

func (c courierStream) consumeGroup(ctx context.Context, seen func([]byte)) error {
	cons, err := c.s.Group("bench").Join(ctx, "member")
	if err != nil {
		return err
	}
	defer cons.Close(context.WithoutCancel(ctx))
	for ctx.Err() == nil {
		recs, err := cons.Poll(ctx, 100, time.Second)
		if err != nil {
			return err
		}
		for _, r := range recs {
			seen(r.Value)
		}
		if len(recs) > 0 {
			if err := cons.Commit(ctx); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// stream creates a JetStream stream with one subject per partition.
func (s *jetStreamSystem) stream(ctx context.Context, name string, parts int) (streamTarget, error) {
	_, err := s.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     name,
		Subjects: []string{"s." + name + ".>"},
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", name, err)
	}
	return &jetStreamStream{s: s, name: name, parts: parts}, nil
}

type jetStreamStream struct {
	s     *jetStreamSystem
	name  string
	parts int
}

// subject is the partition subject of key, by the same hash as courier's.
func (j *jetStreamStream) subject(key []byte) string {
	return fmt.Sprintf("s.%s.%d", j.name, driver.PartitionForKey(key, j.parts))
}

func (j *jetStreamStream) append(ctx context.Context, key, value []byte) error {
	_, err := j.s.js.Publish(ctx, j.subject(key), value)
	return err
}

// load publishes asynchronously with a bounded window, then waits for
// every acknowledgement.
func (j *jetStreamStream) load(ctx context.Context, n int, value func(int) []byte) error {
	subj := j.subject(nil)
	for i := 0; i < n; i++ {
		if _, err := j.s.js.PublishAsync(subj, value(i)); err != nil {
			return err
		}
	}
	select {
	case <-j.s.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// replay reads the stream from the start with an ordered consumer.
func (j *jetStreamStream) replay(ctx context.Context, n int, seen func([]byte)) error {
	cons, err := j.s.js.OrderedConsumer(ctx, j.name, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return err
	}
	defer it.Stop()
	for read := 0; read < n; read++ {
		m, err := it.Next()
		if err != nil {
			return err
		}
		seen(m.Data())
	}
	return nil
}

// consumeGroup reads with a durable pull consumer's message iterator,
// which hands each message over as it arrives, and acks each one without
// waiting for the reply: the closest JetStream analogue of a group member
// (and a lighter commit than courier's awaited, durable one).
func (j *jetStreamStream) consumeGroup(ctx context.Context, seen func([]byte)) error {
	st, err := j.s.js.Stream(ctx, j.name)
	if err != nil {
		return err
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckAllPolicy})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(100))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		seen(m.Data())
		if err := m.Ack(); err != nil {
			return err
		}
	}
}

// Stream targets set by the issue: courier appends ≥1.5× JetStream's
// default publish; replays ≥5× a JetStream ordered consumer.
const (
	TargetAppendRatio = 1.5
	TargetReplayRatio = 5
)

// WriteStreamTable writes stream results as a table, followed by courier's
// ratios to JetStream against the targets.
func WriteStreamTable(w io.Writer, results []StreamResult) error {
	if len(results) == 0 {
		return nil
	}
	r0 := results[0]
	fmt.Fprintf(w, "stream workload: append %d × %d B from %d producers over %d partitions; replay %d records; end-to-end %d records at %d/s\n\n",
		r0.N, r0.Size, r0.Producers, r0.Partitions, r0.ReplayN, r0.LatencyN, r0.Rate)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tfsync\tappend rec/s\treplay rec/s\te2e p50 µs\te2e p99 µs\t")
	byName := map[string]StreamResult{}
	for _, r := range results {
		byName[r.System] = r
		fmt.Fprintf(tw, "%s\t%v\t%.0f\t%.0f\t%.0f\t%.0f\t\n", r.System, r.Fsync, r.AppendPerSec, r.ReplayPerSec, r.E2EP50us, r.E2EP99us)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	c, ok := byName[PeerCourier]
	js, ok2 := byName[PeerJetStream]
	if ok && ok2 && js.AppendPerSec > 0 && js.ReplayPerSec > 0 {
		a, r := c.AppendPerSec/js.AppendPerSec, c.ReplayPerSec/js.ReplayPerSec
		fmt.Fprintf(w, "\ncourier/jetstream append %6.2f×   target ≥%g× %s\n", a, float64(TargetAppendRatio), verdict(a >= TargetAppendRatio))
		fmt.Fprintf(w, "courier/jetstream replay %6.2f×   target ≥%g× %s\n", r, float64(TargetReplayRatio), verdict(r >= TargetReplayRatio))
	}
	return nil
}

// WriteStreamJSON writes one JSON object per result and line.
func WriteStreamJSON(w io.Writer, results []StreamResult) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
