package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// feed is an ephemeral subscription: a bounded in-memory buffer that
// publishers fill after their messages are durable.
type feed struct {
	id    pattern.RuleID
	opts  driver.TailOptions
	e     *Engine
	topic *topic

	mu      sync.Mutex
	buf     []driver.Delivery // ring of len opts.Buffer
	head, n int
	ended   bool
	ready   chan struct{} // a message arrived (capacity 1)
	space   chan struct{} // a message left (capacity 1)
	done    chan struct{} // closed by end
	dropped atomic.Int64
}

// Tail opens an ephemeral subscription of a topic.
func (e *Engine) Tail(ctx context.Context, topicName string, opts driver.TailOptions) (driver.Feed, error) {
	if err := opts.Normalize(); err != nil {
		return nil, err
	}
	t, err := e.lockTopic(topicName, false)
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	if len(t.feeds) >= driver.MaxTails {
		return nil, driver.TooLarge("topic", "topic %q has %d open tails, the limit", topicName, driver.MaxTails)
	}
	e.feedSeq++
	f := &feed{
		id:    pattern.RuleID(fmt.Sprintf("\x00feed/%d", e.feedSeq)),
		opts:  opts,
		e:     e,
		topic: t,
		buf:   make([]driver.Delivery, opts.Buffer),
		ready: make(chan struct{}, 1),
		space: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	t.feeds[f] = struct{}{}
	t.reroute()
	return f, nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// offer adds a message. A full buffer drops its oldest message, or with
// the Block policy waits for room until ctx ends or the feed does.
func (f *feed) offer(ctx context.Context, d driver.Delivery) error {
	for {
		f.mu.Lock()
		if f.ended {
			f.mu.Unlock()
			return nil
		}
		if f.n == len(f.buf) {
			if f.opts.Overflow == driver.Block {
				f.mu.Unlock()
				select {
				case <-f.space:
					continue
				case <-f.done:
					return nil
				case <-ctx.Done():
					f.dropped.Add(1)
					return ctx.Err()
				}
			}
			f.buf[f.head] = driver.Delivery{}
			f.head = (f.head + 1) % len(f.buf)
			f.n--
			f.dropped.Add(1)
		}
		f.buf[(f.head+f.n)%len(f.buf)] = d
		f.n++
		f.mu.Unlock()
		signal(f.ready)
		return nil
	}
}

// Next returns the next buffered message, waiting for one.
func (f *feed) Next(ctx context.Context) (driver.Delivery, error) {
	for {
		f.mu.Lock()
		if f.n > 0 {
			d := f.buf[f.head]
			f.buf[f.head] = driver.Delivery{}
			f.head = (f.head + 1) % len(f.buf)
			f.n--
			more := f.n > 0
			f.mu.Unlock()
			signal(f.space)
			if more {
				signal(f.ready)
			}
			return d, nil
		}
		ended := f.ended
		f.mu.Unlock()
		if ended {
			return driver.Delivery{}, fmt.Errorf("tail of topic %q: %w", f.topic.name, driver.ErrClosed)
		}
		select {
		case <-f.ready:
		case <-f.done:
		case <-ctx.Done():
			return driver.Delivery{}, ctx.Err()
		}
	}
}

// Dropped counts messages dropped because the buffer was full.
func (f *feed) Dropped() int64 { return f.dropped.Load() }

// Close ends the feed and removes it from its topic.
func (f *feed) Close() error {
	f.e.mu.Lock()
	if _, ok := f.topic.feeds[f]; ok {
		delete(f.topic.feeds, f)
		f.topic.reroute()
	}
	f.e.mu.Unlock()
	f.end()
	return nil
}

// end marks the feed ended: Next drains what is buffered, then fails.
func (f *feed) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ended {
		f.ended = true
		close(f.done)
	}
}
