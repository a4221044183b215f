package redis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// errNil is go-redis's "no such key".
var errNil = redis.Nil

// feed is an ephemeral subscription: a Pub/Sub subscription of the topic's
// live channel, which the publish script feeds after storing each message,
// filtered here and buffered in memory.
type feed struct {
	c      *Conn
	topic  string
	opts   driver.TailOptions
	filter *pattern.Pattern
	ps     *redis.PubSub

	mu      sync.Mutex
	buf     []driver.Delivery // ring of len opts.Buffer
	head, n int
	ended   bool // no more messages will come (topic deleted or feed closed)
	closed  bool // Close was called
	ready   chan struct{}
	dropped atomic.Int64

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Tail opens an ephemeral subscription: messages published to the topic
// (by any process) while it is open, kept in memory. Overflow=block is
// refused: a publisher in another process cannot wait for this buffer.
// Messages published while the connection is down are not seen.
func (c *Conn) Tail(ctx context.Context, topic string, opts driver.TailOptions) (driver.Feed, error) {
	if err := opts.Normalize(); err != nil {
		return nil, err
	}
	if opts.Overflow == driver.Block {
		return nil, fmt.Errorf("%w: %w", driver.ErrUnsupported,
			driver.Invalid("overflow", "%q cannot hold publishers of other processes back; use %q", driver.Block, driver.DropOldest))
	}
	filter, err := driver.CompileFilter("filter_policy", opts.FilterPolicy, opts.FilterScope)
	if err != nil {
		return nil, err
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	ps := c.rdb.Subscribe(ctx, c.prefix+":t:"+topic+":live")
	// The confirmation: messages published after Tail returns are seen.
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, c.fail(ctx, err)
	}
	n, err := c.rdb.Exists(ctx, c.prefix+":t:"+topic).Result()
	if err != nil || n == 0 {
		_ = ps.Close()
		if err != nil {
			return nil, c.fail(ctx, err)
		}
		return nil, topicNotFound(topic)
	}
	f := &feed{c: c, topic: topic, opts: opts, filter: filter, ps: ps,
		buf: make([]driver.Delivery, opts.Buffer), ready: make(chan struct{}, 1)}
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		_ = ps.Close()
		return nil, errConnClosed
	}
	c.feeds[f] = struct{}{}
	c.mu.Unlock()
	ch := ps.Channel(redis.WithChannelSize(max(opts.Buffer, 100)))
	f.wg.Add(1)
	go f.pump(ch)
	return f, nil
}

// pump moves messages from the Pub/Sub channel into the buffer until the
// subscription closes.
func (f *feed) pump(ch <-chan *redis.Message) {
	defer f.wg.Done()
	for msg := range ch {
		if msg.Payload == liveDeleted {
			f.end()
			f.closePubSub()
			continue
		}
		l, err := parseLive(msg.Payload)
		if err != nil {
			f.c.log.Warn("redis: tail: skipping a malformed live message", "topic", f.topic, "err", err)
			continue
		}
		b, err := decodeBlob(l.blob)
		if err != nil {
			f.c.log.Warn("redis: tail: skipping a malformed live message", "topic", f.topic, "err", err)
			continue
		}
		if !f.matches(&b) {
			continue
		}
		d := driver.Delivery{ID: l.id, Body: b.body, Headers: b.headers, SentAt: fromMS(l.sent), Group: b.group,
			DedupID: b.dedup, Sequence: l.tseq, ReceiveCount: 1}
		if !f.opts.Raw {
			d.Body = envelope(f.topic, l.id, meta{sent: l.sent, tseq: l.tseq}, b)
		}
		if d.Body == nil {
			d.Body = []byte{}
		}
		f.offer(d)
	}
}

// matches applies the feed's filter policy.
func (f *feed) matches(b *blob) bool {
	if f.filter == nil {
		return true
	}
	var ok bool
	var err error
	if f.opts.FilterScope == driver.ScopeBody {
		ok, err = f.filter.Match(b.body)
	} else {
		attrs := make(map[string]pattern.Attribute, len(b.headers))
		driver.FillHeaderAttributes(attrs, b.headers)
		ok, err = f.filter.MatchAttributes(attrs)
	}
	return err == nil && ok
}

// offer buffers d, dropping the oldest message when full.
func (f *feed) offer(d driver.Delivery) {
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		return
	}
	if f.n == len(f.buf) {
		f.buf[f.head] = driver.Delivery{}
		f.head = (f.head + 1) % len(f.buf)
		f.n--
		f.dropped.Add(1)
	}
	f.buf[(f.head+f.n)%len(f.buf)] = d
	f.n++
	f.mu.Unlock()
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// end marks the feed ended: Next returns what is buffered, then ErrClosed.
func (f *feed) end() {
	f.mu.Lock()
	f.ended = true
	f.mu.Unlock()
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

func (f *feed) closePubSub() {
	f.closeOnce.Do(func() { _ = f.ps.Close() })
}

// Next returns the next message, waiting for one. It fails with ErrClosed
// after Close, or once the topic was deleted and the buffer is empty.
func (f *feed) Next(ctx context.Context) (driver.Delivery, error) {
	for {
		f.mu.Lock()
		switch {
		case f.closed:
			f.mu.Unlock()
			return driver.Delivery{}, fmt.Errorf("tail of topic %q: %w", f.topic, driver.ErrClosed)
		case f.n > 0:
			d := f.buf[f.head]
			f.buf[f.head] = driver.Delivery{}
			f.head = (f.head + 1) % len(f.buf)
			f.n--
			more := f.n > 0 || f.ended
			f.mu.Unlock()
			if more {
				select {
				case f.ready <- struct{}{}:
				default:
				}
			}
			return d, nil
		case f.ended:
			f.mu.Unlock()
			return driver.Delivery{}, fmt.Errorf("tail of topic %q ended: %w", f.topic, driver.ErrClosed)
		}
		f.mu.Unlock()
		select {
		case <-f.ready:
		case <-ctx.Done():
			return driver.Delivery{}, ctx.Err()
		}
	}
}

// Dropped counts messages discarded because the buffer was full.
func (f *feed) Dropped() int64 { return f.dropped.Load() }

// Close ends the subscription and waits for its goroutine. It is
// idempotent.
func (f *feed) Close() error {
	f.mu.Lock()
	f.closed = true
	f.ended = true
	f.mu.Unlock()
	select {
	case f.ready <- struct{}{}:
	default:
	}
	f.closePubSub()
	f.wg.Wait()
	f.c.mu.Lock()
	delete(f.c.feeds, f)
	f.c.mu.Unlock()
	return nil
}
