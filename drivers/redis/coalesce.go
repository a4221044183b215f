package redis

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/courier-io/courier/driver"
)

// Concurrent sends to one queue (or publishes to one topic) are coalesced:
// while a script for it runs, later calls wait and then go together, up to
// driver.MaxBatch messages, in the next script, as a group commit does.
// One script per batch costs Redis far less than one per message. A call
// alone (no other in flight) runs at once. Each caller's context still
// bounds its own wait; a caller that gives up while its messages are in a
// script may find them stored, as after any interrupted network call.

// maxInFlight is how many scripts of one queue or topic run at once, so
// that the next batch is on its way while Redis runs the previous one.
const maxInFlight = 4

// batchFunc stores msgs as one script; it is Conn.send or Conn.publish.
type batchFunc func(ctx context.Context, name string, msgs []driver.Message) ([]driver.SendResult, error)

// coalescer collects the calls of one queue or topic.
type coalescer struct {
	name    string
	run     batchFunc
	mu      sync.Mutex
	pending []*call
	running int
}

// call is one caller's messages and, once done is closed, its results.
type call struct {
	ctx  context.Context
	msgs []driver.Message
	res  []driver.SendResult
	err  error
	done chan struct{}
}

// coalesce stores msgs through the coalescer of key, creating it with run.
func (c *Conn) coalesce(ctx context.Context, key, name string, msgs []driver.Message, run batchFunc) ([]driver.SendResult, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	v, ok := c.coalescers.Load(key)
	if !ok {
		v, _ = c.coalescers.LoadOrStore(key, &coalescer{name: name, run: run})
	}
	co := v.(*coalescer)
	co.mu.Lock()
	if co.running == 0 {
		// Alone: run in this goroutine, under the caller's context.
		co.running++
		co.mu.Unlock()
		res, err := run(ctx, name, msgs)
		co.mu.Lock()
		co.running--
		co.mu.Unlock()
		return res, err
	}
	cl := &call{ctx: ctx, msgs: msgs, done: make(chan struct{})}
	co.pending = append(co.pending, cl)
	start := co.running < maxInFlight
	if start {
		co.running++
	}
	co.mu.Unlock()
	if start {
		c.mu.Lock()
		if c.closed.Load() {
			c.mu.Unlock()
			return nil, errConnClosed
		}
		c.wg.Add(1) // under c.mu, so that Close waits for it
		c.mu.Unlock()
		go c.drain(co)
	}
	select {
	case <-cl.done:
		return cl.res, cl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, errConnClosed
	}
}

// drain runs batches of co's pending calls until none is left.
func (c *Conn) drain(co *coalescer) {
	defer c.wg.Done()
	for {
		co.mu.Lock()
		var batch []*call
		n := 0
		for len(co.pending) > 0 {
			cl := co.pending[0]
			if cl.ctx.Err() != nil { // gave up before its turn: nothing was sent
				co.pending = co.pending[1:]
				continue
			}
			if len(batch) > 0 && n+len(cl.msgs) > driver.MaxBatch {
				break
			}
			batch = append(batch, cl)
			n += len(cl.msgs)
			co.pending = co.pending[1:]
		}
		if len(batch) == 0 {
			co.running--
			co.mu.Unlock()
			return
		}
		co.mu.Unlock()
		c.runBatch(co, batch, n)
	}
}

// runBatch stores the messages of batch as one script and hands each call
// its results.
func (c *Conn) runBatch(co *coalescer, batch []*call, n int) {
	msgs := batch[0].msgs
	if len(batch) > 1 {
		msgs = make([]driver.Message, 0, n)
		for _, cl := range batch {
			msgs = append(msgs, cl.msgs...)
		}
	}
	ctx, cancel := c.batchContext(batch)
	res, err := co.run(ctx, co.name, msgs)
	cancel()
	i := 0
	for _, cl := range batch {
		if err != nil {
			cl.err = err
		} else {
			cl.res = res[i : i+len(cl.msgs) : i+len(cl.msgs)]
			if i > 0 {
				renumber(cl.res)
			}
		}
		i += len(cl.msgs)
		close(cl.done)
	}
}

// batchContext bounds a batch's script by the latest deadline of its
// callers (none if one has none) and by the Conn's life.
func (c *Conn) batchContext(batch []*call) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, cl := range batch {
		d, ok := cl.ctx.Deadline()
		if !ok {
			return context.WithCancel(c.life)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(c.life, latest)
}

// renumber makes the field names of rejected entries ("messages[N]...")
// count from the caller's first message rather than the batch's.
func renumber(res []driver.SendResult) {
	for j := range res {
		ve, ok := res[j].Err.(*driver.ValidationError)
		if !ok || !strings.HasPrefix(ve.Field, "messages[") {
			continue
		}
		if k := strings.IndexByte(ve.Field, ']'); k > 0 {
			ve.Field = "messages[" + strconv.Itoa(j) + ve.Field[k:]
		}
	}
}
