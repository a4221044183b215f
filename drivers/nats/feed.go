package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// Tail opens an ephemeral subscription: an ordered JetStream consumer of
// the topic's stream from its next message, read by a goroutine into a
// bounded buffer. Only messages the topic stored reach a tail
// (duplicates do not). Overflow "block" is not supported: a NATS server
// does not wait for one slow reader, so a publisher cannot be held back.
func (c *conn) Tail(ctx context.Context, topic string, opts driver.TailOptions) (driver.Feed, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if err := opts.Normalize(); err != nil {
		return nil, err
	}
	if opts.Overflow == driver.Block {
		return nil, fmt.Errorf("%w: %w", driver.ErrUnsupported, driver.Invalid("overflow", "%q is not supported by the NATS driver: the server does not hold publishers back for a slow tail; use %q", driver.Block, driver.DropOldest))
	}
	filter, err := compiledFilter(opts.FilterPolicy, opts.FilterScope)
	if err != nil {
		return nil, err
	}
	t, err := c.loadTopic(ctx, topic)
	if err != nil {
		return nil, err
	}
	iter, err := retry(ctx, c, "tail", func() (jetstream.MessagesContext, error) {
		cons, err := c.js.OrderedConsumer(ctx, c.lay.topicStream(topic), jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy})
		if err != nil {
			return nil, err
		}
		return cons.Messages()
	})
	if err != nil {
		return nil, c.topicErr(topic, err)
	}
	f := &feed{c: c, topic: topic, uid: t.desc.UID, opts: opts, filter: filter, iter: iter,
		buf: make([]driver.Delivery, 0, min(opts.Buffer, 1024)), notify: make(chan struct{}, 1), done: make(chan struct{})}
	// The ordered consumer recreates itself when its stream goes; the
	// server's advisory says when the topic was deleted, by anyone.
	sub, err := c.nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.DELETED."+c.lay.topicStream(topic), func(*nats.Msg) {
		f.end(fmt.Errorf("topic %q was deleted: %w", topic, driver.ErrClosed))
	})
	if err != nil {
		iter.Stop()
		return nil, mapErr(err)
	}
	f.mu.Lock()
	f.deleted = sub
	ended := f.err != nil
	f.mu.Unlock()
	if ended {
		_ = sub.Unsubscribe()
	}
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		iter.Stop()
		return nil, driver.ErrClosed
	}
	c.tails[f] = struct{}{}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer close(f.done)
		f.run()
	}()
	return f, nil
}

// feed is one tail.
type feed struct {
	c      *conn
	topic  string
	uid    uint64
	opts   driver.TailOptions
	filter *pattern.Pattern
	iter   jetstream.MessagesContext

	mu      sync.Mutex
	deleted *nats.Subscription // advisory of the topic's deletion
	buf     []driver.Delivery  // oldest first
	err     error              // set when the feed ended
	notify  chan struct{}
	dropped atomic.Int64
	done    chan struct{} // closed when run returned
}

// run copies the topic's messages into the buffer until the feed ends.
func (f *feed) run() {
	for {
		msg, err := f.iter.Next()
		if err != nil {
			switch {
			case errors.Is(err, jetstream.ErrMsgIteratorClosed):
				f.end(driver.ErrClosed)
				return
			case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrConsumerNotFound),
				errors.Is(err, jetstream.ErrConsumerDeleted):
				// The topic was deleted, perhaps through another connection.
				if _, lerr := f.c.loadTopic(context.Background(), f.topic); errors.Is(lerr, driver.ErrNotFound) || f.c.closed.Load() {
					f.end(fmt.Errorf("topic %q was deleted: %w", f.topic, driver.ErrClosed))
					return
				}
			}
			if f.c.closed.Load() {
				f.end(driver.ErrClosed)
				return
			}
			// The ordered consumer recreates itself after a reconnect; do
			// not spin while it does.
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-t.C:
			case <-f.c.done:
			}
			t.Stop()
			continue
		}
		d, ok := f.render(msg)
		if ok {
			f.push(d)
		}
	}
}

// render makes a delivery of a topic message, unless the filter rejects it.
func (f *feed) render(msg jetstream.Msg) (driver.Delivery, bool) {
	md, err := msg.Metadata()
	if err != nil {
		return driver.Delivery{}, false
	}
	h := msg.Headers()
	m := &driver.Message{Body: msg.Data(), Headers: userHeaders(h), Group: h.Get(hGroup), DedupID: h.Get(hDedup)}
	if f.filter != nil {
		var ok bool
		if f.opts.FilterScope == driver.ScopeBody {
			ok, _ = f.filter.Match(m.Body)
		} else {
			ok, _ = f.filter.MatchAttributes(driver.HeaderAttributes(m.Headers))
		}
		if !ok {
			return driver.Delivery{}, false
		}
	}
	p := published{topic: f.topic, id: messageID(f.uid, md.Sequence.Stream), at: md.Timestamp, msg: m}
	d := driver.Delivery{ID: p.id, Body: m.Body, Headers: m.Headers, SentAt: md.Timestamp, Group: m.Group, DedupID: m.DedupID, ReceiveCount: 1}
	if !f.opts.Raw {
		d.Body = envelope(&p)
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	return d, true
}

// push appends d, dropping the oldest buffered delivery when full.
func (f *feed) push(d driver.Delivery) {
	f.mu.Lock()
	if f.err != nil {
		f.mu.Unlock()
		return
	}
	if len(f.buf) >= f.opts.Buffer {
		f.buf = f.buf[1:]
		f.dropped.Add(1)
	}
	f.buf = append(f.buf, d)
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// Next returns the next buffered message, waiting for one. It fails with
// ErrClosed once the tail is closed, its topic deleted or the connection
// closed.
func (f *feed) Next(ctx context.Context) (driver.Delivery, error) {
	for {
		f.mu.Lock()
		if len(f.buf) > 0 {
			d := f.buf[0]
			f.buf[0] = driver.Delivery{}
			f.buf = f.buf[1:]
			f.mu.Unlock()
			return d, nil
		}
		err := f.err
		f.mu.Unlock()
		if err != nil {
			return driver.Delivery{}, err
		}
		select {
		case <-f.notify:
		case <-ctx.Done():
			return driver.Delivery{}, ctx.Err()
		}
	}
}

// Dropped counts messages discarded because the buffer was full.
func (f *feed) Dropped() int64 { return f.dropped.Load() }

// Close ends the tail and waits for its reader; it is idempotent.
func (f *feed) Close() error {
	f.end(driver.ErrClosed)
	<-f.done
	return nil
}

// end stops the tail with err (first call wins); it does not wait.
func (f *feed) end(err error) {
	f.mu.Lock()
	first := f.err == nil
	if first {
		f.err = err
		f.buf = nil
	}
	sub := f.deleted
	f.mu.Unlock()
	if !first {
		return
	}
	f.iter.Stop()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	f.c.mu.Lock()
	delete(f.c.tails, f)
	f.c.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// tailCount is the number of tails of topic open on this connection.
func (c *conn) tailCount(topic string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for f := range c.tails {
		if f.topic == topic {
			n++
		}
	}
	return n
}

// endTails ends this connection's tails of a deleted topic.
func (c *conn) endTails(topic string) {
	c.mu.Lock()
	var fs []*feed
	for f := range c.tails {
		if f.topic == topic {
			fs = append(fs, f)
		}
	}
	c.mu.Unlock()
	for _, f := range fs {
		f.end(fmt.Errorf("topic %q was deleted: %w", topic, driver.ErrClosed))
	}
}
