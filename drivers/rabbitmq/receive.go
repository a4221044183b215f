package rabbitmq

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
)

// queueState is what a connection keeps for one RabbitMQ queue: a channel
// of its own, on which it consumes, settles and counts (so RabbitMQ
// applies those in the order they were made), and the deliveries it holds.
type queueState struct {
	c    *Conn
	phys string
	name string // courier name, or "topic/sub"

	ch *amqp.Channel

	// rpcMu serializes the channel's synchronous calls: amqp091-go matches
	// replies to calls in order, so two at once could swap replies. It
	// also keeps a Qos with the Consume it applies to.
	rpcMu sync.Mutex
	// qos is the prefetch set on the channel; a channel's close resets it
	// from the client library's goroutine, hence atomic.
	qos atomic.Int64

	mu       sync.Mutex
	epoch    uint64               // raised when the channel's deliveries are lost
	inflight map[string]*inflight // by receipt
	fetching int                  // receives between consume and registration
	first    map[string]time.Time // message ID -> first receive seen here
	nextSeq  uint64
}

// inflight is a delivery this connection holds: unacknowledged on the
// queue's channel until acked, returned, or its visibility ends.
type inflight struct {
	qs       *queueState
	receipt  string
	tag      uint64
	epoch    uint64
	id       string
	sentAt   time.Time
	visible  time.Time // when its visibility ends
	holdEnd  time.Time // when the driver must give it back (hold_limit)
	due      time.Time // min(visible, holdEnd): the reaper's deadline
	delayed  bool      // its visibility was changed (counts as delayed)
	heapIdx  int
	released bool
}

// queueState returns the state of q, opening its channel on first use.
func (c *Conn) queueState(ctx context.Context, q *queueMeta) (*queueState, error) {
	phys := q.physical(c.cfg.namespace)
	c.qmu.Lock()
	qs := c.qstate[phys]
	c.qmu.Unlock()
	if qs != nil {
		return qs, nil
	}
	var ch *amqp.Channel
	if err := c.call(ctx, func() (err error) {
		ch, err = c.conn.Channel()
		return err
	}); err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if qs := c.qstate[phys]; qs != nil {
		_ = ch.Close()
		return qs, nil
	}
	qs = &queueState{c: c, phys: phys, name: q.Name, ch: ch, inflight: map[string]*inflight{}, first: map[string]time.Time{}}
	c.qstate[phys] = qs
	return qs, nil
}

// dropQueueState forgets the state of a deleted queue and closes its
// channel; its deliveries are gone with the queue.
func (c *Conn) dropQueueState(phys string) {
	c.qmu.Lock()
	qs := c.qstate[phys]
	delete(c.qstate, phys)
	c.qmu.Unlock()
	if qs == nil {
		return
	}
	qs.mu.Lock()
	for r, e := range qs.inflight {
		c.acked.add(r)
		qs.release(e)
	}
	qs.epoch++
	qs.mu.Unlock()
	_ = qs.ch.Close()
}

// forgetDeliveries drops the deliveries held on ch (nil: on every
// channel) after the broker closed it: RabbitMQ has returned them to their
// queues, and their delivery tags mean nothing on the reopened channel.
func (c *Conn) forgetDeliveries(ch *amqp.Channel) {
	c.qmu.Lock()
	states := make([]*queueState, 0, len(c.qstate))
	for _, qs := range c.qstate {
		if ch == nil || qs.ch == ch {
			states = append(states, qs)
		}
	}
	c.qmu.Unlock()
	for _, qs := range states {
		qs.mu.Lock()
		qs.epoch++
		for _, e := range qs.inflight {
			qs.release(e)
		}
		clear(qs.inflight)
		qs.qos.Store(0)
		qs.mu.Unlock()
	}
}

// call runs f on the queue's channel.
func (qs *queueState) call(ctx context.Context, f func(ch *amqp.Channel) error) error {
	return qs.c.call(ctx, func() error {
		qs.rpcMu.Lock()
		defer qs.rpcMu.Unlock()
		return f(qs.ch)
	})
}

// release removes e from the reaper; the caller holds qs.mu and removes e
// from qs.inflight.
func (qs *queueState) release(e *inflight) {
	e.released = true
	qs.c.reaper.remove(e)
}

// counts returns the deliveries held, in flight and delayed, and the
// oldest store time among them.
func (qs *queueState) counts() (inflight, delayed int64, oldest time.Time) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	for _, e := range qs.inflight {
		if e.delayed {
			delayed++
		} else {
			inflight++
		}
		if oldest.IsZero() || e.sentAt.Before(oldest) {
			oldest = e.sentAt
		}
	}
	return inflight, delayed, oldest
}

// ackAll acks every delivery held (purge) and returns how many.
func (qs *queueState) ackAll() int {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	n := 0
	for r, e := range qs.inflight {
		if e.epoch == qs.epoch && qs.ch.Ack(e.tag, false) == nil {
			n++
		}
		qs.release(e)
		qs.c.acked.add(r)
		delete(qs.first, e.id)
	}
	clear(qs.inflight)
	return n
}

// fetch consumes up to max messages: it registers a consumer whose
// prefetch is max, waits up to wait for the first delivery, cancels the
// consumer and collects everything delivered before the cancel completed.
// RabbitMQ hands a new consumer the ready messages as it registers it, so
// with wait 0 this returns what was ready. The deliveries are
// unacknowledged on qs.ch; epoch is the channel epoch they belong to.
func (qs *queueState) fetch(ctx context.Context, max int, wait time.Duration) (ds []amqp.Delivery, epoch uint64, err error) {
	if err := qs.c.ready(ctx); err != nil {
		return nil, 0, err
	}
	qs.mu.Lock()
	qs.fetching++
	epoch = qs.epoch
	qs.nextSeq++
	tag := "courier-" + strconv.FormatUint(qs.nextSeq, 36) + "-" + newID()[:8]
	qs.mu.Unlock()
	defer func() {
		if err != nil {
			qs.mu.Lock()
			qs.fetching--
			qs.mu.Unlock()
		}
	}()

	var (
		dch    <-chan amqp.Delivery
		mu     sync.Mutex
		gaveUp bool
	)
	err = qs.c.call(ctx, func() error {
		qs.rpcMu.Lock()
		defer qs.rpcMu.Unlock()
		if qs.qos.Load() != int64(max) {
			if err := qs.ch.Qos(max, 0, false); err != nil {
				return err
			}
			qs.qos.Store(int64(max))
		}
		d, err := qs.ch.Consume(qs.phys, tag, false, false, false, false, nil)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if gaveUp {
			qs.c.spawn(func() { qs.abandon(tag, d) })
			return nil
		}
		dch = d
		return nil
	})
	if err != nil {
		mu.Lock()
		gaveUp = true
		d := dch
		mu.Unlock()
		if d != nil {
			qs.c.spawn(func() { qs.abandon(tag, d) })
		}
		return nil, 0, err
	}
	if wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case d, ok := <-dch:
			if ok {
				ds = append(ds, d)
			}
		case <-timer.C:
		case <-ctx.Done():
		case <-qs.c.done:
		}
		timer.Stop()
	}
	if err := qs.cancel(tag); err != nil {
		// The channel or connection is gone: whatever was delivered has
		// been returned by the broker.
		return nil, 0, qs.c.mapErr(err)
	}
	for d := range dch {
		ds = append(ds, d)
	}
	return ds, epoch, nil
}

// cancel cancels a consumer and waits for the broker's answer.
func (qs *queueState) cancel(tag string) error {
	qs.rpcMu.Lock()
	defer qs.rpcMu.Unlock()
	return qs.ch.Cancel(tag, false)
}

// abandon cancels a consumer whose receive gave up and returns what it
// got to the queue.
func (qs *queueState) abandon(tag string, dch <-chan amqp.Delivery) {
	if qs.cancel(tag) != nil {
		return
	}
	for d := range dch {
		_ = d.Nack(false, true)
	}
}

// Receive returns up to req.Max messages, waiting as req.Wait says; see
// queueState.fetch for how. Each delivery is held unacknowledged until it
// is acked, its visibility ends (it is returned to the queue), or the
// connection ends (RabbitMQ returns it).
func (c *Conn) Receive(ctx context.Context, queue string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	q, err := c.cat.queue(ctx, queue)
	if err != nil {
		return nil, err
	}
	return c.receive(ctx, q, req)
}

func (c *Conn) receive(ctx context.Context, q *queueMeta, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	qs, err := c.queueState(ctx, q)
	if err != nil {
		return nil, err
	}
	n := max(req.Max, 1)
	wait := req.Wait
	switch wait {
	case driver.WaitQueueDefault:
		wait = q.Attrs.ReceiveWait
	case driver.NoWait:
		wait = 0
	}
	end := time.Now().Add(wait)
	for {
		left := max(time.Until(end), 0)
		ds, epoch, err := qs.fetch(ctx, n, left)
		if err != nil {
			return nil, err
		}
		// The queue's attributes may have changed while waiting.
		if cur := c.cat.currentQueue(q.Name); cur != nil && cur.Gen == q.Gen {
			q = cur
		}
		out := qs.accept(ctx, q, ds, epoch, req.Visibility)
		if len(out) > 0 || time.Now().After(end) || ctx.Err() != nil {
			return out, nil
		}
	}
}

// accept turns fetched deliveries into courier deliveries: those past the
// queue's retention are deleted, those past MaxReceives move to the
// dead-letter queue, the rest are registered as in flight.
func (qs *queueState) accept(ctx context.Context, q *queueMeta, ds []amqp.Delivery, epoch uint64, vis time.Duration) []driver.Delivery {
	if len(ds) == 0 {
		qs.mu.Lock()
		qs.fetching--
		qs.mu.Unlock()
		return nil
	}
	now := time.Now()
	if vis == 0 {
		vis = q.Attrs.VisibilityTimeout
	}
	var dead []amqp.Delivery
	out := make([]driver.Delivery, 0, len(ds))
	qs.mu.Lock()
	qs.fetching--
	if epoch != qs.epoch {
		// The channel was lost meanwhile; RabbitMQ returned them.
		qs.mu.Unlock()
		return nil
	}
	for i := range ds {
		d := &ds[i]
		sent := sentAt(d)
		if !sent.IsZero() && now.Sub(sent) > q.Attrs.RetentionPeriod {
			_ = qs.ch.Ack(d.DeliveryTag, false)
			delete(qs.first, d.MessageId)
			continue
		}
		if q.Attrs.MaxReceives > 0 && receiveCount(d) > q.Attrs.MaxReceives {
			dead = append(dead, *d)
			continue
		}
		cd, err := toDelivery(d)
		if err != nil {
			qs.c.log.Warn("rabbitmq: message with malformed headers", "queue", qs.name, "id", d.MessageId, "err", err)
		}
		first := now
		if ns := intHeader(d.Headers, hFirst); ns != 0 {
			first = time.Unix(0, ns)
		} else if t, ok := qs.first[cd.ID]; ok && cd.ReceiveCount > 1 {
			first = t
		}
		if len(qs.first) > 1<<16 {
			clear(qs.first)
		}
		qs.first[cd.ID] = first
		cd.FirstReceivedAt = first
		qs.nextSeq++
		e := &inflight{
			qs: qs, tag: d.DeliveryTag, epoch: epoch, id: cd.ID, sentAt: cd.SentAt,
			receipt: qs.c.receipt(qs.nextSeq),
			visible: now.Add(vis), holdEnd: now.Add(qs.c.cfg.holdLimit),
		}
		cd.Receipt = e.receipt
		qs.inflight[e.receipt] = e
		qs.c.reaper.schedule(e)
		out = append(out, cd)
	}
	qs.mu.Unlock()
	if len(dead) > 0 {
		qs.deadLetter(ctx, q, dead, epoch)
	}
	return out
}

// deadLetter moves deliveries to the queue's dead-letter queue: a copy is
// published (with a confirm) to the dead-letter queue, then the original
// is acked. A failure returns the original to its queue instead, for the
// next receive to try again; a crash between the two steps leaves the
// message in both queues, never in neither.
func (qs *queueState) deadLetter(ctx context.Context, q *queueMeta, ds []amqp.Delivery, epoch uint64) {
	settle := func(d *amqp.Delivery, ok bool) {
		qs.mu.Lock()
		defer qs.mu.Unlock()
		if epoch != qs.epoch {
			return
		}
		if ok {
			_ = qs.ch.Ack(d.DeliveryTag, false)
			delete(qs.first, d.MessageId)
		} else {
			_ = qs.ch.Nack(d.DeliveryTag, false, true)
		}
	}
	dlq, err := qs.c.cat.queue(ctx, q.Attrs.DeadLetterQueue)
	if err != nil {
		qs.c.log.Warn("rabbitmq: dead-letter queue", "queue", qs.name, "dlq", q.Attrs.DeadLetterQueue, "err", err)
		for i := range ds {
			settle(&ds[i], false)
		}
		return
	}
	source := q.Name
	if q.Owner != "" {
		source = q.Owner
	}
	pubs := make([]amqp.Publishing, len(ds))
	for i := range ds {
		pubs[i] = copyPublishing(&ds[i])
		delete(pubs[i].Headers, hBase)
		delete(pubs[i].Headers, hFirst)
		pubs[i].Headers[hSource] = source
	}
	errs, err := qs.c.publishWait(ctx, "", dlq.physical(qs.c.cfg.namespace), true, pubs)
	for i := range ds {
		ok := err == nil && errs[i] == nil
		if !ok {
			qs.c.log.Warn("rabbitmq: dead-lettering failed; the message stays", "queue", qs.name, "id", ds[i].MessageId, "err", err)
		}
		settle(&ds[i], ok)
	}
}

// receipt renders a receipt: "r", the connection's identity, ".", and a
// sequence, so that a receipt from another connection is recognizably not
// this one's.
func (c *Conn) receipt(seq uint64) string {
	return "r" + c.id + "." + strconv.FormatUint(seq, 36)
}

// Ack acks the deliveries of receipts. A receipt this connection acked
// before succeeds again; one whose delivery ended otherwise (visibility
// over, returned, connection lost) or that is not this connection's is
// ErrReceiptInvalid.
func (c *Conn) Ack(ctx context.Context, queue string, receipts []string) ([]error, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	q, err := c.cat.queue(ctx, queue)
	if err != nil {
		return nil, err
	}
	return c.ack(ctx, q, receipts)
}

func (c *Conn) ack(ctx context.Context, q *queueMeta, receipts []string) ([]error, error) {
	qs, err := c.queueState(ctx, q)
	if err != nil {
		return nil, err
	}
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	errs := make([]error, len(receipts))
	qs.mu.Lock()
	defer qs.mu.Unlock()
	var tags []uint64
	for i, r := range receipts {
		e := qs.inflight[r]
		if e == nil || e.epoch != qs.epoch {
			if !c.acked.has(r) {
				errs[i] = c.staleReceipt(r)
			}
			continue
		}
		delete(qs.inflight, r)
		qs.release(e)
		delete(qs.first, e.id)
		c.acked.add(r)
		tags = append(tags, e.tag)
	}
	if len(tags) == 0 {
		return errs, nil
	}
	// One ack with "multiple" settles a run of tags when no other
	// delivery of the channel, held or being received, has a lower tag.
	slices.Sort(tags)
	top := tags[len(tags)-1]
	multiple := qs.fetching == 0 && len(tags) > 1
	if multiple {
		for _, e := range qs.inflight {
			if e.tag < top {
				multiple = false
				break
			}
		}
	}
	if multiple {
		err = qs.ch.Ack(top, true)
	} else {
		for _, t := range tags {
			if e := qs.ch.Ack(t, false); e != nil {
				err = e
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ack (the broker returns unacknowledged messages to the queue): %w", c.mapErr(err))
	}
	return errs, nil
}

// staleReceipt explains why receipt r is not valid.
func (c *Conn) staleReceipt(r string) error {
	if !strings.HasPrefix(r, "r") || len(r) < 2 {
		return fmt.Errorf("receipt %.40q is malformed: %w", r, driver.ErrReceiptInvalid)
	}
	if !strings.HasPrefix(r[1:], c.id+".") {
		return fmt.Errorf("receipt %.40q was issued by another connection; receipts are valid only on the connection that received the message: %w", r, driver.ErrReceiptInvalid)
	}
	return fmt.Errorf("receipt %.40q: the message has been returned to its queue since (visibility ended, nack, or a lost connection): %w", r, driver.ErrReceiptInvalid)
}

// ChangeVisibility makes the deliveries of receipts visible again after d:
// with d = 0 they are returned to the queue at once (RabbitMQ counts the
// return); otherwise the driver keeps holding them and returns them when d
// has passed.
func (c *Conn) ChangeVisibility(ctx context.Context, queue string, receipts []string, d time.Duration) ([]error, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	if d < 0 || d > driver.MaxVisibilityTimeout {
		return nil, driver.Invalid("visibility", "%v is out of range; accepted is 0 to %v", d, driver.MaxVisibilityTimeout)
	}
	q, err := c.cat.queue(ctx, queue)
	if err != nil {
		return nil, err
	}
	return c.changeVisibility(ctx, q, receipts, d)
}

func (c *Conn) changeVisibility(ctx context.Context, q *queueMeta, receipts []string, d time.Duration) ([]error, error) {
	qs, err := c.queueState(ctx, q)
	if err != nil {
		return nil, err
	}
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	errs := make([]error, len(receipts))
	now := time.Now()
	qs.mu.Lock()
	defer qs.mu.Unlock()
	for i, r := range receipts {
		e := qs.inflight[r]
		if e == nil || e.epoch != qs.epoch {
			errs[i] = c.staleReceipt(r)
			if c.acked.has(r) {
				errs[i] = fmt.Errorf("receipt %.40q: the message was acked: %w", r, driver.ErrReceiptInvalid)
			}
			continue
		}
		if d == 0 {
			delete(qs.inflight, r)
			qs.release(e)
			if err := qs.ch.Nack(e.tag, false, true); err != nil {
				errs[i] = fmt.Errorf("nack: %w", c.mapErr(err))
			}
			continue
		}
		e.visible = now.Add(d)
		e.delayed = true
		c.reaper.schedule(e)
	}
	return errs, nil
}

// expire returns a delivery whose visibility ended, or that reached the
// hold limit, to its queue; the reaper calls it.
func (qs *queueState) expire(e *inflight, now time.Time) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if e.released || qs.inflight[e.receipt] != e || e.due.After(now) {
		return
	}
	delete(qs.inflight, e.receipt)
	qs.release(e)
	if e.epoch != qs.epoch {
		return
	}
	if e.holdEnd.Before(e.visible) {
		qs.c.log.Warn("rabbitmq: returning a delivery before its visibility ended: it reached hold_limit (RabbitMQ closes channels whose deliveries stay unacknowledged past its consumer_timeout)",
			"queue", qs.name, "id", e.id, "hold_limit", qs.c.cfg.holdLimit)
	}
	if err := qs.ch.Nack(e.tag, false, true); err != nil {
		qs.c.log.Warn("rabbitmq: returning an expired delivery", "queue", qs.name, "id", e.id, "err", err)
	}
}

// Redrive moves messages from the dead-letter queue dlq to the queue each
// came from (or to req.Destination): each is published (with a confirm)
// to its destination and then acked. A crash between the two steps leaves
// a copy in both queues, never in neither.
func (c *Conn) Redrive(ctx context.Context, dlq string, req driver.RedriveRequest) (driver.RedriveResult, error) {
	var res driver.RedriveResult
	if err := c.live(); err != nil {
		return res, err
	}
	if err := req.Validate(); err != nil {
		return res, err
	}
	q, err := c.cat.queue(ctx, dlq)
	if err != nil {
		return res, err
	}
	var dest *queueMeta
	if req.Destination != "" {
		if dest, err = c.cat.queue(ctx, req.Destination); err != nil {
			return res, err
		}
	}
	qs, err := c.queueState(ctx, q)
	if err != nil {
		return res, err
	}
	start := time.Now()
	for req.Max == 0 || res.Moved < req.Max {
		n := 100
		if req.Max > 0 {
			n = min(n, req.Max-res.Moved)
		}
		if req.Rate > 0 {
			n = min(n, req.Rate)
			// Pace: at most Rate moves per second since the start.
			if ahead := time.Duration(float64(res.Moved)/float64(req.Rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
				t := time.NewTimer(ahead)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return res, ctx.Err()
				}
			}
		}
		ds, epoch, err := qs.fetch(ctx, n, 0)
		if err != nil {
			return res, err
		}
		qs.mu.Lock()
		qs.fetching--
		qs.mu.Unlock()
		if len(ds) == 0 {
			return res, nil
		}
		moved, err := c.redrive(ctx, qs, ds, epoch, dest)
		res.Moved += moved
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// redrive moves fetched deliveries of a dead-letter queue to their
// destination queues.
func (c *Conn) redrive(ctx context.Context, qs *queueState, ds []amqp.Delivery, epoch uint64, dest *queueMeta) (int, error) {
	groups := map[string][]int{}
	var order []string
	var firstErr error
	for i := range ds {
		target := dest
		if target == nil {
			src := strHeader(ds[i].Headers, hSource)
			var err error
			if src == "" {
				err = fmt.Errorf("message %s has no source queue; give a destination", ds[i].MessageId)
			} else if strings.Contains(src, "/") {
				t, s, _ := strings.Cut(src, "/")
				var sm *subMeta
				if _, sm, err = c.cat.sub(ctx, t, s); err == nil {
					target = sm.Queue
				}
			} else {
				target, err = c.cat.queue(ctx, src)
			}
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				qs.settle(&ds[i], epoch, false)
				continue
			}
		}
		key := target.physical(c.cfg.namespace)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	moved := 0
	for _, key := range order {
		idx := groups[key]
		pubs := make([]amqp.Publishing, len(idx))
		for j, i := range idx {
			pubs[j] = copyPublishing(&ds[i])
			delete(pubs[j].Headers, hSource)
			delete(pubs[j].Headers, hBase)
			delete(pubs[j].Headers, hFirst)
		}
		errs, err := c.publishWait(ctx, "", key, true, pubs)
		for j, i := range idx {
			ok := err == nil && errs[j] == nil
			if ok {
				moved++
			} else if firstErr == nil {
				firstErr = err
				if firstErr == nil {
					firstErr = errs[j]
				}
			}
			qs.settle(&ds[i], epoch, ok)
		}
	}
	return moved, firstErr
}

// settle acks (ok) or returns a fetched delivery that was never handed out.
func (qs *queueState) settle(d *amqp.Delivery, epoch uint64, ok bool) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if epoch != qs.epoch {
		return
	}
	if ok {
		_ = qs.ch.Ack(d.DeliveryTag, false)
	} else {
		_ = qs.ch.Nack(d.DeliveryTag, false, true)
	}
}

// receiptSet remembers the receipts acked last, so that acking again
// succeeds.
type receiptSet struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

func newReceiptSet(n int) *receiptSet {
	return &receiptSet{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (s *receiptSet) add(r string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.ring[s.next]; old != "" {
		delete(s.set, old)
	}
	s.ring[s.next] = r
	s.set[r] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
}

func (s *receiptSet) has(r string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[r]
	return ok
}
