package nats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// Reads of a partition go through ephemeral JetStream consumers (no acks,
// memory storage, removed by the server after readerIdle without use).
// A connection keeps the consumers of its last reads and reuses one whose
// position is where the next read starts, so a reader or group member
// that reads on costs one pull per read.
const (
	readerIdle       = time.Minute
	maxReadersPerKey = 8
	readChunk        = 256
)

// reader is a cached read consumer of one partition.
type reader struct {
	stream   string // partition stream
	cons     jetstream.Consumer
	next     int64 // offset it delivers next
	lastUsed time.Time
}

// readerCache holds idle readers by partition stream.
type readerCache struct {
	mu   sync.Mutex
	idle map[string][]*reader
}

// checkout takes an idle reader of stream positioned at from.
func (rc *readerCache) checkout(stream string, from int64) *reader {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	list := rc.idle[stream]
	for i, r := range list {
		if r.next == from && time.Since(r.lastUsed) < readerIdle/2 {
			rc.idle[stream] = append(list[:i:i], list[i+1:]...)
			return r
		}
	}
	return nil
}

// checkin returns a reader; it reports a reader that did not fit, for the
// caller to delete.
func (rc *readerCache) checkin(r *reader) (evicted *reader) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.idle == nil {
		rc.idle = make(map[string][]*reader)
	}
	list := append(rc.idle[r.stream], r)
	if len(list) > maxReadersPerKey {
		evicted, list = list[0], list[1:]
	}
	rc.idle[r.stream] = list
	return evicted
}

// take removes and returns the readers of streams with the given name
// prefix (all when prefix is "").
func (rc *readerCache) take(prefix string) []*reader {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*reader
	for k, list := range rc.idle {
		if strings.HasPrefix(k, prefix) {
			out = append(out, list...)
			delete(rc.idle, k)
		}
	}
	return out
}

// dropReaders forgets the readers of a deleted stream.
func (c *conn) dropReaders(name string) {
	c.readers.take(c.lay.partStream(name, 0)[:len(c.lay.partStream(name, 0))-1])
}

// deleteReaders deletes the consumers of readers, best effort.
func (c *conn) deleteReaders(ctx context.Context, rs []*reader) {
	for _, r := range rs {
		_ = c.js.DeleteConsumer(ctx, r.stream, r.cons.CachedInfo().Name)
	}
}

// readPartition reads up to maxN records (and about maxBytes) of partition
// p from offset from, or from the first record at or after at when at is
// set, waiting up to wait for the first. A read that finds nothing where
// the partition's leader has records (with replicas: that finds fewer than
// the leader has) waits up to a second for them; end,
// when not -1, is the partition's end as the leader reported it (else it
// is asked). next is the
// offset after the last record returned, from when none was, or -1 for a
// read by time that found nothing.
func (c *conn) readPartition(ctx context.Context, s *streamMeta, p int, from int64, at time.Time, maxN, maxBytes int, wait time.Duration, end int64) (recs []driver.StreamRecord, next int64, err error) {
	stream := c.lay.partStream(s.name, p)
	var r *reader
	if at.IsZero() {
		r = c.readers.checkout(stream, from)
	}
	if r == nil {
		cfg := jetstream.ConsumerConfig{
			AckPolicy:         jetstream.AckNonePolicy,
			InactiveThreshold: readerIdle,
			MemoryStorage:     true,
			Replicas:          1,
			DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:       uint64(from) + 1,
		}
		if !at.IsZero() {
			cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, 0, &at
		}
		cons, err := retry(ctx, c, "create read consumer", func() (jetstream.Consumer, error) { return c.js.CreateConsumer(ctx, stream, cfg) })
		if err != nil {
			return nil, 0, c.streamErr(s.name, err)
		}
		r = &reader{stream: stream, cons: cons, next: from}
	}
	consistent := true
	defer func() {
		r.lastUsed = time.Now()
		if consistent && err == nil {
			if ev := c.readers.checkin(r); ev != nil {
				c.deleteReaders(context.WithoutCancel(ctx), []*reader{ev})
			}
			return
		}
		c.deleteReaders(context.WithoutCancel(ctx), []*reader{r})
	}()
	bytes := 0
	polled := wait >= catchUpPatience // a read that got nothing waited long enough
	var catchUpBy time.Time
	for len(recs) < maxN {
		ask := min(maxN-len(recs), readChunk)
		msgs, err := c.fetchRead(ctx, s, r, ask, wait)
		if err != nil {
			consistent = false
			return nil, 0, err
		}
		wait = 0
		for _, m := range msgs {
			rec, err := recordOf(p, m)
			if err != nil {
				consistent = false
				continue
			}
			size := recordSize(&rec)
			if len(recs) > 0 && bytes+size > maxBytes {
				consistent = false // the consumer delivered past what is returned
				break
			}
			bytes += size
			recs = append(recs, rec)
			r.next = rec.Offset + 1
		}
		if !consistent || bytes >= maxBytes {
			break
		}
		if len(msgs) == ask {
			continue
		}
		// The consumer had no more. The server signals a new record to
		// consumers asynchronously, and with replicas the read consumer
		// (on any server) applies the leader's writes later than the
		// leader acknowledged them: if the partition's leader has records
		// past what this read got, wait for them, up to a second. (Without
		// replicas only a read that got nothing looks.)
		if len(recs) > 0 && c.cfg.replicas == 1 || len(recs) == 0 && polled {
			break
		}
		if catchUpBy.IsZero() {
			catchUpBy = time.Now().Add(catchUpPatience)
		}
		more, err := c.leaderHasMore(ctx, s, p, r.next, at, len(recs) > 0, &end)
		if err != nil {
			return nil, 0, err
		}
		left := time.Until(catchUpBy)
		if !more || left <= 0 {
			break
		}
		wait = left
	}
	switch {
	case len(recs) > 0:
		next = recs[len(recs)-1].Offset + 1
	case !at.IsZero():
		next, consistent = -1, false
	default:
		next = from
	}
	return recs, next, nil
}

// leaderHasMore reports whether partition p's leader holds records that a
// read consumer positioned at next has not delivered: records from next
// on, or for a read by time that found nothing yet (got is false), records
// stored at or after at. end caches the partition's end (-1: not read yet)
// for reads by offset.
func (c *conn) leaderHasMore(ctx context.Context, s *streamMeta, p int, next int64, at time.Time, got bool, end *int64) (bool, error) {
	if at.IsZero() || got {
		if *end < 0 {
			pi, err := c.partition(ctx, s, p)
			if err != nil {
				return false, err
			}
			*end = pi.End
		}
		return *end > next, nil
	}
	st, err := c.stream(ctx, c.lay.partStream(s.name, p))
	if err != nil {
		return false, c.streamErr(s.name, err)
	}
	state := st.CachedInfo().State
	return state.Msgs > 0 && !state.LastTime.Before(at), nil
}

// fetchRead pulls from a read consumer. In a cluster a consumer that was
// just created may not answer pulls for a moment (no responders, retried
// by pull for up to apiPatience, or not found, retried for a second); a
// failure is reported as the stream being gone only when it is.
func (c *conn) fetchRead(ctx context.Context, s *streamMeta, r *reader, n int, wait time.Duration) ([]jetstream.Msg, error) {
	start := time.Now()
	var err error
	for attempt := 1; ; attempt++ {
		var msgs []jetstream.Msg
		msgs, err = c.pull(ctx, r.cons, n, wait)
		if err == nil {
			return msgs, nil
		}
		if ctx.Err() != nil || !errors.Is(err, jetstream.ErrConsumerNotFound) || time.Since(start) > time.Second {
			break
		}
		// A consumer just created may not be known to every server yet.
		t := time.NewTimer(time.Duration(attempt) * 10 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-c.done:
		}
		t.Stop()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if _, serr := c.stream(ctx, r.stream); serr != nil {
		return nil, c.streamErr(s.name, serr)
	}
	return nil, fmt.Errorf("read partition stream %s (it exists but its read consumer does not answer): %w", r.stream, mapErr(err))
}
