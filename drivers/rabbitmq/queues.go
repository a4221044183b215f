package rabbitmq

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
)

// physical returns the name of the RabbitMQ quorum queue that holds a
// courier queue's messages: <ns>.q.<name>.<gen> for user queues and
// <ns>.s.<topic>/<sub>.<gen> for a durable subscription's queue. The
// incarnation gen makes a queue created again under an old name a new
// RabbitMQ queue.
func (q *queueMeta) physical(ns string) string {
	if q.Owner != "" {
		return ns + ".s." + q.Owner + "." + q.Gen
	}
	return ns + ".q." + q.Name + "." + q.Gen
}

// delayQueue is the name of the queue that holds messages delayed by ms
// milliseconds before they move to the queue.
func delayQueue(phys string, ms int64) string {
	return phys + ".d" + strconv.FormatInt(ms, 10)
}

// roundDelay rounds d up to whole milliseconds with at most two significant
// digits (1234ms becomes 1300ms), so a queue needs few delay queues.
func roundDelay(d time.Duration) int64 {
	ms := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	if ms < 100 {
		return ms
	}
	p := int64(1)
	for ms/p >= 100 {
		p *= 10
	}
	return (ms + p - 1) / p * p
}

var quorumArgs = amqp.Table{"x-queue-type": "quorum"}

// delayArgs declares a delay queue: messages wait ms, then the broker
// dead-letters them, at least once, into the queue phys.
func delayArgs(phys string, ms int64) amqp.Table {
	return amqp.Table{
		"x-queue-type":              "quorum",
		"x-message-ttl":             ms,
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": phys,
		"x-dead-letter-strategy":    "at-least-once",
		"x-overflow":                "reject-publish",
	}
}

// unsupportedQueue refuses attributes RabbitMQ cannot honour.
func unsupportedQueue(attrs driver.QueueAttributes) error {
	switch {
	case attrs.FIFO:
		return fmt.Errorf("%w: RabbitMQ has no message groups, so a queue cannot hold back a group while one of its messages is in flight: %w",
			driver.Invalid("fifo", "FIFO queues are not supported by the rabbitmq driver"), driver.ErrUnsupported)
	case attrs.ContentBasedDedup:
		return fmt.Errorf("%w: %w", driver.Invalid("content_based_dedup", "dedup is not supported by the rabbitmq driver"), driver.ErrUnsupported)
	}
	return nil
}

// CreateQueue declares the queue's quorum queue and records it in the
// catalog. It is idempotent; other attributes than the existing queue's
// are ErrConflict.
func (c *Conn) CreateQueue(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	if err := c.live(); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := driver.ValidateQueueName("name", name); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := unsupportedQueue(attrs); err != nil {
		return driver.QueueInfo{}, err
	}
	c.cat.mu.RLock()
	existing := c.cat.queues[name]
	c.cat.mu.RUnlock()
	if existing != nil && existing.Attrs == attrs {
		return c.QueueInfo(ctx, name)
	}
	q := &queueMeta{Name: name, Attrs: attrs, Gen: newID()[:12]}
	phys := q.physical(c.cfg.namespace)
	if err := c.adminCall(ctx, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(phys, true, false, false, false, quorumArgs)
		return err
	}); err != nil {
		return driver.QueueInfo{}, fmt.Errorf("declare %s: %w", phys, err)
	}
	out, err := c.cat.append(ctx, event{Op: opQueueCreate, Name: name, Gen: q.Gen, Queue: &attrs})
	if err != nil || !out.created {
		c.deletePhysical(ctx, phys)
	}
	if err != nil {
		return driver.QueueInfo{}, err
	}
	if out.err != nil {
		return driver.QueueInfo{}, out.err
	}
	return c.QueueInfo(ctx, name)
}

// deletePhysical deletes RabbitMQ queues, logging failures: it cleans up
// after a failed or redundant create.
func (c *Conn) deletePhysical(ctx context.Context, names ...string) {
	for _, n := range names {
		if err := c.adminCall(ctx, func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(n, false, false, false)
			return err
		}); err != nil {
			c.log.Warn("rabbitmq: delete queue", "queue", n, "err", err)
		}
	}
}

// QueueInfo returns a queue's attributes and stats (see queueStats for
// what the stats can see).
func (c *Conn) QueueInfo(ctx context.Context, name string) (driver.QueueInfo, error) {
	if err := c.live(); err != nil {
		return driver.QueueInfo{}, err
	}
	q, err := c.cat.queue(ctx, name)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	st, err := c.queueStats(ctx, q)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	return driver.QueueInfo{Name: name, Attributes: q.Attrs, CreatedAt: time.Unix(0, q.Created), UpdatedAt: time.Unix(0, q.Updated), Stats: st}, nil
}

// queueStats counts a queue's messages: Visible is RabbitMQ's count of
// ready messages, Delayed the messages in its delay queues plus the
// deliveries this connection holds after a visibility change, InFlight the
// other deliveries this connection holds. Deliveries held by other
// connections are not visible over AMQP 0.9.1 and are counted nowhere.
func (c *Conn) queueStats(ctx context.Context, q *queueMeta) (driver.QueueStats, error) {
	qs, err := c.queueState(ctx, q)
	if err != nil {
		return driver.QueueStats{}, err
	}
	var st driver.QueueStats
	phys := q.physical(c.cfg.namespace)
	err = qs.call(ctx, func(ch *amqp.Channel) error {
		r, err := ch.QueueDeclarePassive(phys, true, false, false, false, quorumArgs)
		if err != nil {
			return err
		}
		st.Visible = int64(r.Messages)
		for _, ms := range q.Delays {
			r, err := ch.QueueDeclarePassive(delayQueue(phys, ms), true, false, false, false, delayArgs(phys, ms))
			if err != nil {
				return err
			}
			st.Delayed += int64(r.Messages)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	inflight, delayed, oldest := qs.counts()
	st.InFlight += inflight
	st.Delayed += delayed
	if !oldest.IsZero() {
		st.OldestAge = time.Since(oldest)
	}
	return st, nil
}

// SetQueueAttributes replaces a queue's attributes in the catalog. They
// apply to receives and sends from then on (retention: to messages sent
// from then on, and to every receive).
func (c *Conn) SetQueueAttributes(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	if err := c.live(); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.QueueInfo{}, err
	}
	q, err := c.cat.queue(ctx, name)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	if attrs.FIFO != q.Attrs.FIFO {
		return driver.QueueInfo{}, fmt.Errorf("queue %q: fifo cannot change: %w", name, driver.ErrConflict)
	}
	if err := unsupportedQueue(attrs); err != nil {
		return driver.QueueInfo{}, err
	}
	out, err := c.cat.append(ctx, event{Op: opQueueSet, Name: name, Gen: q.Gen, Queue: &attrs})
	if err != nil {
		return driver.QueueInfo{}, err
	}
	if out.err != nil {
		return driver.QueueInfo{}, out.err
	}
	return c.QueueInfo(ctx, name)
}

// ListQueues catches up with the catalog and lists the user queues.
func (c *Conn) ListQueues(ctx context.Context) ([]string, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := c.cat.sync(ctx); err != nil {
		return nil, err
	}
	c.cat.mu.RLock()
	defer c.cat.mu.RUnlock()
	out := make([]string, 0, len(c.cat.queues))
	for n := range c.cat.queues {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// DeleteQueue removes the queue from the catalog, then deletes its
// RabbitMQ queues with their messages. A queue that is another queue's
// dead-letter queue, or that a subscription delivers into, is ErrConflict.
func (c *Conn) DeleteQueue(ctx context.Context, name string) error {
	if err := c.live(); err != nil {
		return err
	}
	if _, err := c.cat.queue(ctx, name); err != nil {
		return err
	}
	out, err := c.cat.append(ctx, event{Op: opQueueDelete, Name: name})
	if err != nil {
		return err
	}
	if out.err != nil {
		return out.err
	}
	c.destroyQueue(ctx, out.queue)
	return nil
}

// destroyQueue deletes the RabbitMQ queues of a queue the catalog no
// longer has.
func (c *Conn) destroyQueue(ctx context.Context, q *queueMeta) {
	phys := q.physical(c.cfg.namespace)
	c.dropQueueState(phys)
	names := []string{phys}
	for _, ms := range q.Delays {
		names = append(names, delayQueue(phys, ms))
	}
	c.deletePhysical(ctx, names...)
}

// PurgeQueue deletes the queue's ready and delayed messages and the
// deliveries this connection holds (deliveries other connections hold come
// back when their visibility ends). It reports how many it deleted.
func (c *Conn) PurgeQueue(ctx context.Context, name string) (int, error) {
	if err := c.live(); err != nil {
		return 0, err
	}
	q, err := c.cat.queue(ctx, name)
	if err != nil {
		return 0, err
	}
	return c.purge(ctx, q)
}

func (c *Conn) purge(ctx context.Context, q *queueMeta) (int, error) {
	qs, err := c.queueState(ctx, q)
	if err != nil {
		return 0, err
	}
	phys := q.physical(c.cfg.namespace)
	n := 0
	err = qs.call(ctx, func(ch *amqp.Channel) error {
		k, err := ch.QueuePurge(phys, false)
		if err != nil {
			return err
		}
		n += k
		for _, ms := range q.Delays {
			k, err := ch.QueuePurge(delayQueue(phys, ms), false)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n + qs.ackAll(), nil
}

// Send stores msgs: each in the queue's quorum queue, or, when delayed, in
// the delay queue for its (rounded) delay. It returns after RabbitMQ
// confirmed every stored message.
func (c *Conn) Send(ctx context.Context, queue string, msgs []driver.Message) ([]driver.SendResult, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, err
	}
	q, err := c.cat.queue(ctx, queue)
	if err != nil {
		return nil, err
	}
	res := make([]driver.SendResult, len(msgs))
	now := time.Now()
	type dest struct {
		idx  []int
		pubs []amqp.Publishing
	}
	dests := map[int64]*dest{} // by delay in ms; 0 is the queue itself
	var order []int64
	retention := strconv.FormatInt(q.Attrs.RetentionPeriod.Milliseconds(), 10)
	for i := range msgs {
		m := &msgs[i]
		if err := c.checkMessage(fmt.Sprintf("messages[%d]", i), m, q.Attrs.MaxMessageSize); err != nil {
			res[i].Err = err
			continue
		}
		id := newID()
		p := newPublishing(id, m, now)
		delay := m.Delay
		if delay == 0 {
			delay = q.Attrs.DeliveryDelay
		}
		var ms int64
		if delay > 0 {
			ms = roundDelay(delay)
		} else {
			p.Expiration = retention
		}
		d := dests[ms]
		if d == nil {
			d = &dest{}
			dests[ms] = d
			order = append(order, ms)
		}
		d.idx = append(d.idx, i)
		d.pubs = append(d.pubs, p)
		res[i].ID = id
	}
	phys := q.physical(c.cfg.namespace)
	for _, ms := range order {
		d := dests[ms]
		key := phys
		if ms > 0 {
			if key, err = c.ensureDelayQueue(ctx, q, ms); err != nil {
				return nil, err
			}
		}
		errs, err := c.publishWait(ctx, "", key, true, d.pubs)
		if err != nil {
			return nil, err
		}
		for j, e := range errs {
			if e != nil {
				res[d.idx[j]] = driver.SendResult{Err: fmt.Errorf("queue %q: %w", queue, e)}
			}
		}
	}
	return res, nil
}

// checkMessage refuses what RabbitMQ cannot store with courier semantics.
func (c *Conn) checkMessage(field string, m *driver.Message, maxSize int) error {
	if size := driver.MessageSize(m); size > maxSize {
		return driver.TooLarge(field, "message is %d bytes (body plus headers); the queue's limit is %d", size, maxSize)
	}
	if m.DedupID != "" {
		return fmt.Errorf("%w: %w", driver.Invalid(field+".dedup_id", "dedup is not supported by the rabbitmq driver (RabbitMQ keeps no dedup window)"), driver.ErrUnsupported)
	}
	return nil
}

// ensureDelayQueue declares the delay queue of ms for q and records it in
// the catalog, once per connection and delay.
func (c *Conn) ensureDelayQueue(ctx context.Context, q *queueMeta, ms int64) (string, error) {
	phys := q.physical(c.cfg.namespace)
	name := delayQueue(phys, ms)
	if cur := c.cat.currentQueue(q.Name); cur != nil && cur.Gen == q.Gen && slices.Contains(cur.Delays, ms) {
		return name, nil
	}
	if err := c.adminCall(ctx, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(name, true, false, false, false, delayArgs(phys, ms))
		return err
	}); err != nil {
		return "", fmt.Errorf("declare delay queue %s: %w", name, err)
	}
	if _, err := c.cat.append(ctx, event{Op: opQueueDelay, Name: q.Name, Gen: q.Gen, Delay: ms}); err != nil {
		return "", err
	}
	return name, nil
}

// live fails once the connection is closed.
func (c *Conn) live() error {
	if c.closed.Load() {
		return driver.ErrClosed
	}
	return nil
}
