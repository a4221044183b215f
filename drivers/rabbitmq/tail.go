package rabbitmq

import (
	"context"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// feed is an ephemeral subscription: an exclusive, auto-deleted queue
// bound to the topic's exchange for the tail flag, consumed without acks
// into a bounded buffer that drops its oldest message when full.
type feed struct {
	c      *Conn
	topic  string
	ex     string
	opts   driver.TailOptions
	filter *pattern.Pattern
	ch     *amqp.Channel

	mu      sync.Mutex
	buf     []driver.Delivery // ring of opts.Buffer
	head, n int
	dropped int64
	err     error         // set when the feed ended
	signal  chan struct{} // closed and replaced when buf gains a message or the feed ends
	resub   chan struct{}
}

// Tail opens an ephemeral subscription. Overflow Block is not supported:
// publishers of other processes cannot be made to wait for this one.
func (c *Conn) Tail(ctx context.Context, topic string, opts driver.TailOptions) (driver.Feed, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := opts.Normalize(); err != nil {
		return nil, err
	}
	if opts.Overflow == driver.Block {
		return nil, fmt.Errorf("%w: %w", driver.Invalid("overflow", "%q is not supported by the rabbitmq driver: publishers in other processes cannot wait for this subscriber; use %q", driver.Block, driver.DropOldest), driver.ErrUnsupported)
	}
	filter, err := driver.CompileFilter("filter_policy", opts.FilterPolicy, opts.FilterScope)
	if err != nil {
		return nil, err
	}
	t, err := c.cat.topic(ctx, topic)
	if err != nil {
		return nil, err
	}
	f := &feed{
		c: c, topic: topic, ex: t.exchange(c.cfg.namespace), opts: opts, filter: filter,
		buf: make([]driver.Delivery, opts.Buffer), signal: make(chan struct{}), resub: make(chan struct{}, 1),
	}
	if err := c.call(ctx, func() (err error) {
		f.ch, err = c.conn.Channel()
		return err
	}); err != nil {
		return nil, err
	}
	dch, err := f.subscribe(ctx)
	if err != nil {
		_ = f.ch.Close()
		return nil, err
	}
	c.tmu.Lock()
	if c.closed.Load() {
		c.tmu.Unlock()
		_ = f.ch.Close()
		return nil, driver.ErrClosed
	}
	c.feeds[f] = struct{}{}
	c.counters(topic).tails++
	c.tmu.Unlock()
	if !c.spawn(func() { f.run(dch) }) {
		_ = f.ch.Close()
		return nil, driver.ErrClosed
	}
	return f, nil
}

// subscribe declares the feed's queue, binds it and consumes it.
func (f *feed) subscribe(ctx context.Context) (<-chan amqp.Delivery, error) {
	var dch <-chan amqp.Delivery
	err := f.c.call(ctx, func() error {
		q, err := f.ch.QueueDeclare("", false, true, true, false, amqp.Table{"x-queue-type": "classic"})
		if err != nil {
			return err
		}
		if err := f.ch.QueueBind(q.Name, "", f.ex, false, bindArgs(hTail)); err != nil {
			return err
		}
		dch, err = f.ch.Consume(q.Name, "", true, true, false, false, nil)
		return err
	})
	return dch, err
}

// run moves deliveries into the buffer until the feed ends.
func (f *feed) run(dch <-chan amqp.Delivery) {
	for {
		select {
		case d, ok := <-dch:
			if !ok {
				f.end(driver.ErrClosed)
				return
			}
			f.push(&d)
		case <-f.resub:
			n, err := f.subscribe(context.Background())
			if err != nil {
				f.end(fmt.Errorf("tail lost with the connection: %w", driver.ErrClosed))
				return
			}
			dch = n
		case <-f.c.done:
			return
		}
	}
}

// push filters and renders one message and buffers it.
func (f *feed) push(d *amqp.Delivery) {
	h, _ := decodeHeaders(d.Headers)
	if f.filter != nil {
		var ok bool
		if f.opts.FilterScope == driver.ScopeBody {
			ok, _ = f.filter.Match(d.Body)
		} else if len(h) > 0 {
			ok, _ = f.filter.MatchAttributes(driver.HeaderAttributes(h))
		}
		if !ok {
			return
		}
	}
	m := driver.Delivery{
		ID: d.MessageId, Body: d.Body, Headers: h, SentAt: sentAt(d), ReceiveCount: 1,
		Group: strHeader(d.Headers, hGroup), DedupID: strHeader(d.Headers, hDedup),
	}
	if !f.opts.Raw {
		m.Body = renderEnvelope(f.topic, m.ID, m.SentAt, m.Group, m.DedupID, h, d.Body)
	}
	if m.Body == nil {
		m.Body = []byte{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return
	}
	if f.n == len(f.buf) {
		f.head = (f.head + 1) % len(f.buf)
		f.n--
		f.dropped++
	}
	f.buf[(f.head+f.n)%len(f.buf)] = m
	f.n++
	close(f.signal)
	f.signal = make(chan struct{})
}

// Next returns the next buffered message, waiting for one.
func (f *feed) Next(ctx context.Context) (driver.Delivery, error) {
	for {
		f.mu.Lock()
		if f.n > 0 {
			m := f.buf[f.head]
			f.buf[f.head] = driver.Delivery{}
			f.head = (f.head + 1) % len(f.buf)
			f.n--
			f.mu.Unlock()
			return m, nil
		}
		if f.err != nil {
			err := f.err
			f.mu.Unlock()
			return driver.Delivery{}, err
		}
		sig := f.signal
		f.mu.Unlock()
		select {
		case <-sig:
		case <-ctx.Done():
			return driver.Delivery{}, ctx.Err()
		}
	}
}

// Dropped counts messages dropped because the buffer was full.
func (f *feed) Dropped() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}

// Close ends the subscription; its queue is deleted with its channel.
func (f *feed) Close() error {
	f.mu.Lock()
	f.n = 0
	f.mu.Unlock()
	f.end(driver.ErrClosed)
	return nil
}

// end ends the feed with err (once) and closes its channel.
func (f *feed) end(err error) {
	f.mu.Lock()
	if f.err != nil {
		f.mu.Unlock()
		return
	}
	f.err = err
	close(f.signal)
	f.signal = make(chan struct{})
	f.mu.Unlock()
	_ = f.ch.Close()
	f.c.tmu.Lock()
	if _, ok := f.c.feeds[f]; ok {
		delete(f.c.feeds, f)
		f.c.counters(f.topic).tails--
	}
	f.c.tmu.Unlock()
}

// endFeeds ends the feeds of a deleted topic.
func (c *Conn) endFeeds(topic string) {
	c.tmu.Lock()
	var fs []*feed
	for f := range c.feeds {
		if f.topic == topic {
			fs = append(fs, f)
		}
	}
	c.tmu.Unlock()
	for _, f := range fs {
		f.end(fmt.Errorf("topic %q was deleted: %w", topic, driver.ErrClosed))
	}
}

// resubscribeFeeds makes every feed declare its queue again after a
// reconnect (exclusive queues end with their connection).
func (c *Conn) resubscribeFeeds() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	for f := range c.feeds {
		select {
		case f.resub <- struct{}{}:
		default:
		}
	}
}
