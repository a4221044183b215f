package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// Subscriptions of a WebSocket connection. Each has a pump goroutine that
// takes messages from its source only while the subscription has credit,
// encodes them and queues them for the writer: a subscription never has
// more messages on their way to the client than the credit the client
// granted, and the server holds at most that many for it (besides a
// topic subscription's own buffer, which keeps what arrives while the
// client has no credit, bounded by "buffer").

// Batches a pump takes from its source at once (at most the credit).
const (
	wsTailBatch       = 64      // buffered messages of a topic subscription
	wsQueueBatch      = 10      // messages per queue receive
	wsStreamBatch     = 100     // records per stream read
	wsStreamReadBytes = 1 << 20 // bytes per stream read (at least one record)
)

// wsSub is one subscription of a connection.
type wsSub struct {
	id     string
	kind   string // wsSubTail, wsSubQueue, wsSubDurable or wsSubStream
	c      *wsConn
	credit atomic.Int64
	more   chan struct{} // credit was added (capacity 1)
	cancel context.CancelFunc
	done   chan struct{} // closed when the pump has returned
	// settle is the queue or durable subscription that the receipts of
	// pushed messages belong to; nil for topics and streams.
	settle settler
}

// fetchFunc takes up to n messages from a subscription's source, waiting
// for at least one (or returning none when a long poll ends empty), and
// returns them encoded as frames.
type fetchFunc func(ctx context.Context, n int) ([][]byte, error)

// subscribe opens a subscription and answers {"sub": id}; its messages
// follow the answer.
func (c *wsConn) subscribe(req *wsRequest) {
	f := &req.frame
	credit := wsDefaultCredit
	if f.Credit != nil {
		credit = *f.Credit
	}
	if credit > c.cfg.MaxCredit {
		c.answerError(f.ID, driver.TooLarge("credit", "%d is over the limit of %d", credit, c.cfg.MaxCredit))
		return
	}
	id, err := c.newSubID(f.Sub)
	if err != nil {
		c.answerError(f.ID, err)
		return
	}
	sub := &wsSub{id: id, kind: f.kind(), c: c, more: make(chan struct{}, 1), done: make(chan struct{})}
	sub.credit.Store(int64(credit))
	// Not a child of c.ctx (whose list of children would cost an idle
	// connection memory): stop cancels the subscriptions itself.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.ctx))
	sub.cancel = cancel
	fetch, closeSource, err := c.openSource(ctx, sub, req)
	if err != nil {
		cancel()
		c.answerAPIError(f.ID, err)
		return
	}
	c.subMu.Lock()
	if c.subs == nil {
		c.subs = make(map[string]*wsSub)
	}
	c.subs[id] = sub
	c.subMu.Unlock()
	if c.isStopping() {
		cancel() // stop may have canceled the subscriptions before this one
	}
	c.answerOK(f.ID, map[string]string{"sub": id})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(sub.done)
		defer cancel()
		defer closeSource()
		sub.pump(ctx, fetch)
	}()
}

// newSubID checks the client's subscription id, or picks one ("s1",
// "s2", ...), and checks MaxSubscriptions.
func (c *wsConn) newSubID(id string) (string, error) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if len(c.subs) >= c.cfg.MaxSubscriptions {
		return "", driver.TooLarge("sub", "this connection has %d subscriptions, the limit; unsubscribe first", len(c.subs))
	}
	if id != "" {
		if _, ok := c.subs[id]; ok {
			return "", driver.Invalid("sub", "%q is already a subscription of this connection", id)
		}
		return id, nil
	}
	for {
		c.nextSub++
		id = "s" + strconv.Itoa(c.nextSub)
		if _, ok := c.subs[id]; !ok {
			return id, nil
		}
	}
}

// lookupSub returns the subscription id of this connection, or nil.
func (c *wsConn) lookupSub(id string) *wsSub {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	return c.subs[id]
}

// cancelSubs cancels every subscription's pump (stop calls it).
func (c *wsConn) cancelSubs() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for _, sub := range c.subs {
		sub.cancel()
	}
}

// removeSub removes sub and reports whether it was there (so that of an
// unsubscribe and the pump ending on its own, one wins).
func (c *wsConn) removeSub(sub *wsSub) bool {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if c.subs[sub.id] != sub {
		return false
	}
	delete(c.subs, sub.id)
	return true
}

// errNoSub answers a sub that is not a subscription of the connection.
func errNoSub(id string) error {
	return fmt.Errorf("no subscription %q on this connection: %w", id, driver.ErrNotFound)
}

// unsubscribe ends a subscription and answers once its pump has stopped:
// no message of it follows the answer. Queue deliveries not acked come
// back after their visibility timeout.
func (c *wsConn) unsubscribe(f *wsFrame) {
	sub := c.lookupSub(f.Sub)
	if sub == nil || !c.removeSub(sub) {
		c.answerError(f.ID, errNoSub(f.Sub))
		return
	}
	sub.cancel()
	<-sub.done
	c.answerOK(f.ID, nil)
}

// addCredit adds credit to a subscription and answers its credit now.
func (c *wsConn) addCredit(f *wsFrame) {
	sub := c.lookupSub(f.Sub)
	if sub == nil {
		c.answerError(f.ID, errNoSub(f.Sub))
		return
	}
	add := int64(*f.Credit)
	for {
		old := sub.credit.Load()
		if old+add > int64(c.cfg.MaxCredit) {
			c.answerError(f.ID, driver.TooLarge("credit", "the subscription would have %d credit; the limit is %d", old+add, c.cfg.MaxCredit))
			return
		}
		if sub.credit.CompareAndSwap(old, old+add) {
			c.answerOK(f.ID, map[string]int64{"credit": old + add})
			break
		}
	}
	select {
	case sub.more <- struct{}{}:
	default:
	}
}

// waitCredit waits until the subscription has credit and returns it.
func (s *wsSub) waitCredit(ctx context.Context) (int, bool) {
	for {
		if n := s.credit.Load(); n > 0 {
			return int(n), true
		}
		select {
		case <-s.more:
		case <-ctx.Done():
			return 0, false
		}
	}
}

// pump moves messages from the source to the connection while there is
// credit, until ctx ends (unsubscribe, the connection closing) or the
// source fails, which ends the subscription with an "end" frame.
func (s *wsSub) pump(ctx context.Context, fetch fetchFunc) {
	for {
		n, ok := s.waitCredit(ctx)
		if !ok {
			return
		}
		frames, err := fetch(ctx, n)
		if err != nil {
			if ctx.Err() == nil && s.c.removeSub(s) {
				if inner := errors.Unwrap(err); inner != nil {
					err = inner
				}
				_, e := httpapi.ErrorOf(err)
				s.c.answer(wsAnswer{Op: "end", Sub: s.id, Error: &e})
			}
			return
		}
		for _, fr := range frames {
			s.credit.Add(-1)
			if !s.c.enqueue(ctx, fr) {
				return
			}
		}
	}
}

// openSource opens what a subscription reads and returns how to fetch
// from it and how to close it. It fails as the target does: not_found for
// a missing topic, queue, subscription or stream.
func (c *wsConn) openSource(ctx context.Context, sub *wsSub, req *wsRequest) (fetchFunc, func(), error) {
	f := &req.frame
	switch sub.kind {
	case wsSubTail:
		opts := req.tail
		if opts.Buffer == 0 {
			opts.Buffer = c.cfg.TailBuffer
		}
		tail, err := c.s.b.Topic(f.Topic).Tail(ctx, courier.WithTailOptions(opts))
		if err != nil {
			return nil, nil, err
		}
		return sub.tailFetch(tail), func() { tail.Close() }, nil
	case wsSubQueue, wsSubDurable:
		var receive func(ctx context.Context, opts ...courier.ReceiveOption) ([]*courier.Delivery, error)
		if sub.kind == wsSubQueue {
			q := c.s.b.Queue(f.Queue)
			if _, err := q.Info(ctx); err != nil {
				return nil, nil, err
			}
			sub.settle, receive = q, q.Receive
		} else {
			ds := c.s.b.Topic(f.Topic).Subscription(f.Subscription)
			info, err := ds.Info(ctx)
			if err != nil {
				return nil, nil, err
			}
			if info.Subscription.Kind != driver.KindDurable {
				return nil, nil, driver.Invalid("subscription", "%q is a %s subscription; only durable ones are read", f.Subscription, info.Subscription.Kind)
			}
			sub.settle, receive = ds, ds.Receive
		}
		var visibility time.Duration
		if f.Visibility != nil {
			visibility = time.Duration(*f.Visibility)
		}
		return sub.receiveFetch(receive, visibility), func() {}, nil
	default:
		st := c.s.b.Stream(f.Stream)
		info, err := st.Info(ctx)
		if err != nil {
			return nil, nil, err
		}
		partition := 0
		if f.Partition != nil {
			partition = *f.Partition
		}
		if partition >= len(info.Partitions) {
			return nil, nil, driver.Invalid("partition", "%d is out of range; stream %q has partitions 0 to %d", partition, f.Stream, len(info.Partitions)-1)
		}
		// "latest" (the default) is the end when subscribing, not when the
		// client first grants credit.
		from := courier.AtOffset(info.Partitions[partition].End)
		if f.From != nil && f.From.Kind != driver.FromLatest {
			from = f.From.Position
		}
		return sub.streamFetch(st, partition, from), func() {}, nil
	}
}

// tailFetch fetches from an ephemeral topic subscription: it waits for one
// message, then takes what else is buffered, up to n.
func (s *wsSub) tailFetch(tail *courier.Tail) fetchFunc {
	return func(ctx context.Context, n int) ([][]byte, error) {
		m, err := tail.Next(ctx)
		if err != nil {
			return nil, err
		}
		frames := [][]byte{s.messageFrame(m, tail.Dropped())}
		for len(frames) < min(n, wsTailBatch) {
			m, err := tail.Next(doneContext)
			if err != nil {
				break // none buffered: the context is done
			}
			frames = append(frames, s.messageFrame(m, tail.Dropped()))
		}
		return frames, nil
	}
}

// doneContext is a context that is already done: Next with it returns a
// buffered message or fails at once.
var doneContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// receiveFetch fetches from a queue or a durable subscription with long
// polls; each delivery carries its receipt.
func (s *wsSub) receiveFetch(receive func(context.Context, ...courier.ReceiveOption) ([]*courier.Delivery, error), visibility time.Duration) fetchFunc {
	return func(ctx context.Context, n int) ([][]byte, error) {
		ds, err := receive(ctx, courier.Max(min(n, wsQueueBatch)), courier.Wait(driver.MaxReceiveWait), courier.Visibility(visibility))
		if err != nil {
			return nil, err
		}
		frames := make([][]byte, len(ds))
		for i, d := range ds {
			frames[i] = s.messageFrame(d.Delivery, 0)
		}
		return frames, nil
	}
}

// streamFetch reads a stream partition in order from a position.
func (s *wsSub) streamFetch(st *courier.Stream, partition int, from courier.Position) fetchFunc {
	return func(ctx context.Context, n int) ([][]byte, error) {
		recs, next, err := st.Read(ctx, partition, from, courier.ReadMax(min(n, wsStreamBatch)),
			courier.ReadMaxBytes(wsStreamReadBytes), courier.ReadWait(driver.MaxReceiveWait))
		if err != nil {
			return nil, err
		}
		from = courier.AtOffset(next)
		frames := make([][]byte, len(recs))
		for i := range recs {
			frames[i] = appendRecordFrame(newFrame(), s.id, &recs[i])
		}
		return frames, nil
	}
}

// messageFrame encodes a pushed message.
func (s *wsSub) messageFrame(d driver.Delivery, dropped int64) []byte {
	return appendMessageFrame(newFrame(), s.id, &d, dropped)
}
