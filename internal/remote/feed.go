package remote

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/courier-io/courier/driver"
)

// Feed is the client side of a topic tail (driver.Feed): a reader
// goroutine (Start) pushes the messages it receives from the server into
// a ring buffer that applies the tail's overflow policy on this side too,
// so that the connection's buffers do not hide a slow reader. With
// drop_oldest the oldest messages are dropped and counted here as on the
// server; with block the reader stops reading, and the connection's
// backpressure reaches the server's buffer and its publishers.
type Feed struct {
	topic    string
	stop     func() // ends the reader's connection
	overflow driver.Overflow

	mu      sync.Mutex
	buf     []driver.Delivery // ring
	head, n int
	reason  string // why the stream ended, once ended
	ended   bool
	ready   chan struct{} // a message arrived or the stream ended (capacity 1)
	space   chan struct{} // a message left (capacity 1)
	closing chan struct{} // closed by Close

	serverDropped, localDropped atomic.Int64
	wg                          sync.WaitGroup
	once                        sync.Once
}

// NewFeed returns the feed of a tail of topic; stop ends the connection
// its reader reads (Close calls it before it waits for the reader).
func NewFeed(topic string, opts driver.TailOptions, stop func()) *Feed {
	size := opts.Buffer
	if size <= 0 {
		size = driver.DefaultTailBuffer
	}
	return &Feed{topic: topic, stop: stop, overflow: opts.Overflow, buf: make([]driver.Delivery, size),
		ready: make(chan struct{}, 1), space: make(chan struct{}, 1), closing: make(chan struct{})}
}

// Start runs read in the feed's reader goroutine. read pushes messages
// (Push) and returns why the stream ended, which Next then reports.
func (f *Feed) Start(read func() (reason string)) {
	f.wg.Go(func() {
		reason := read()
		f.mu.Lock()
		f.ended, f.reason = true, reason
		f.mu.Unlock()
		notify(f.ready)
	})
}

// Closing is closed when Close is called.
func (f *Feed) Closing() <-chan struct{} { return f.closing }

// SetServerDropped records the server's count of messages it dropped for
// this tail.
func (f *Feed) SetServerDropped(n int64) { f.serverDropped.Store(n) }

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Push adds a message to the ring, applying the overflow policy; it
// reports false when the feed is closing.
func (f *Feed) Push(d driver.Delivery) bool {
	for {
		f.mu.Lock()
		if f.n == len(f.buf) {
			if f.overflow == driver.Block {
				f.mu.Unlock()
				select {
				case <-f.space:
					continue
				case <-f.closing:
					return false
				}
			}
			f.buf[f.head] = driver.Delivery{}
			f.head = (f.head + 1) % len(f.buf)
			f.n--
			f.localDropped.Add(1)
		}
		f.buf[(f.head+f.n)%len(f.buf)] = d
		f.n++
		f.mu.Unlock()
		notify(f.ready)
		return true
	}
}

// Next returns the next message; once the stream ended and the buffered
// messages are read, an error matching driver.ErrClosed that says why.
func (f *Feed) Next(ctx context.Context) (driver.Delivery, error) {
	for {
		f.mu.Lock()
		if f.n > 0 {
			d := f.buf[f.head]
			f.buf[f.head] = driver.Delivery{}
			f.head = (f.head + 1) % len(f.buf)
			f.n--
			more := f.n > 0 || f.ended
			f.mu.Unlock()
			notify(f.space)
			if more {
				notify(f.ready)
			}
			return d, nil
		}
		ended, reason := f.ended, f.reason
		f.mu.Unlock()
		if ended {
			return driver.Delivery{}, fmt.Errorf("tail of topic %q: %s: %w", f.topic, reason, driver.ErrClosed)
		}
		select {
		case <-f.ready:
		case <-ctx.Done():
			return driver.Delivery{}, ctx.Err()
		}
	}
}

// Dropped counts the messages dropped for this subscription, by the server
// and by this side.
func (f *Feed) Dropped() int64 { return f.serverDropped.Load() + f.localDropped.Load() }

// Close ends the stream and waits for its reader.
func (f *Feed) Close() error {
	f.once.Do(func() {
		close(f.closing)
		f.stop()
		f.wg.Wait()
	})
	return nil
}
