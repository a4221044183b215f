package courier

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier/driver"
)

// Message is a message to send: body, headers, and optional delay, dedup
// ID and group. See driver.Message for each field.
type Message = driver.Message

// SendResult is the outcome of one message of SendBatch.
type SendResult = driver.SendResult

// QueueAttributes are a queue's settings; see driver.QueueAttributes for
// each field's range and default.
type QueueAttributes = driver.QueueAttributes

// QueueInfo describes a queue: name, attributes, timestamps and stats.
type QueueInfo = driver.QueueInfo

// QueueStats are a queue's approximate counters.
type QueueStats = driver.QueueStats

// DefaultQueueAttributes returns the attributes of a queue created without
// options: visibility 30s, retention 4 days, max message size 1 MiB.
func DefaultQueueAttributes() QueueAttributes { return driver.DefaultQueueAttributes() }

// QueueOption sets one queue attribute in CreateQueue or SetAttributes.
type QueueOption func(*QueueAttributes)

// VisibilityTimeout sets how long a received message stays hidden before
// redelivery (0..12h, default 30s).
func VisibilityTimeout(d time.Duration) QueueOption {
	return func(a *QueueAttributes) { a.VisibilityTimeout = d }
}

// Retention sets how long unacknowledged messages are kept (1m..14d,
// default 4 days).
func Retention(d time.Duration) QueueOption {
	return func(a *QueueAttributes) { a.RetentionPeriod = d }
}

// DeliveryDelay delays every message's first delivery (0..15m, default 0).
func DeliveryDelay(d time.Duration) QueueOption {
	return func(a *QueueAttributes) { a.DeliveryDelay = d }
}

// ReceiveWait sets the default long-poll wait of Receive (0..20s, default 0).
func ReceiveWait(d time.Duration) QueueOption {
	return func(a *QueueAttributes) { a.ReceiveWait = d }
}

// MaxMessageSize limits body plus headers (1 KiB..1 MiB, default 1 MiB).
func MaxMessageSize(n int) QueueOption {
	return func(a *QueueAttributes) { a.MaxMessageSize = n }
}

// DeadLetter moves a message to the queue dlq when a receive would be its
// maxReceives+1-th (maxReceives 1..1000). The dead-letter queue must exist.
func DeadLetter(dlq string, maxReceives int) QueueOption {
	return func(a *QueueAttributes) { a.DeadLetterQueue, a.MaxReceives = dlq, maxReceives }
}

// NoDeadLetter removes a queue's dead-letter queue.
func NoDeadLetter() QueueOption {
	return func(a *QueueAttributes) { a.DeadLetterQueue, a.MaxReceives = "", 0 }
}

// FIFO makes a queue deliver in order per message group (set at creation).
func FIFO() QueueOption { return func(a *QueueAttributes) { a.FIFO = true } }

// ContentBasedDedup dedups messages without a dedup ID by the SHA-256 of
// their body.
func ContentBasedDedup(on bool) QueueOption {
	return func(a *QueueAttributes) { a.ContentBasedDedup = on }
}

// WithAttributes replaces all attributes at once (for callers that hold a
// complete QueueAttributes, such as a server decoding a request).
func WithAttributes(attrs QueueAttributes) QueueOption {
	return func(a *QueueAttributes) { *a = attrs }
}

// Queue is a handle to a named queue. Getting one does not contact the
// backend; calls on a queue that does not exist fail with ErrNotFound.
type Queue struct {
	b    *Broker
	name string
}

// Queue returns a handle for the queue name.
func (b *Broker) Queue(name string) *Queue { return &Queue{b: b, name: name} }

// CreateQueue creates a queue with the default attributes changed by opts.
// It is idempotent: if the queue exists with the same attributes it is
// returned; with different attributes the error wraps ErrConflict.
func (b *Broker) CreateQueue(ctx context.Context, name string, opts ...QueueOption) (*Queue, error) {
	qd, err := b.queueDriver()
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateQueueName("name", name); err != nil {
		return nil, fmt.Errorf("create queue: %w", err)
	}
	attrs := DefaultQueueAttributes()
	for _, o := range opts {
		o(&attrs)
	}
	if err := attrs.Validate(); err != nil {
		return nil, fmt.Errorf("create queue %q: %w", name, err)
	}
	if attrs.DeadLetterQueue == name {
		return nil, fmt.Errorf("create queue %q: %w", name, driver.Invalid("dead_letter_queue", "a queue cannot be its own dead-letter queue"))
	}
	if _, err := qd.CreateQueue(ctx, name, attrs); err != nil {
		return nil, fmt.Errorf("create queue %q: %w", name, err)
	}
	return b.Queue(name), nil
}

// ListQueues returns the names of all queues, sorted.
func (b *Broker) ListQueues(ctx context.Context) ([]string, error) {
	qd, err := b.queueDriver()
	if err != nil {
		return nil, err
	}
	return qd.ListQueues(ctx)
}

// DeleteQueue deletes a queue and all its messages.
func (b *Broker) DeleteQueue(ctx context.Context, name string) error {
	return b.Queue(name).Delete(ctx)
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

func (q *Queue) driver(op string) (driver.Queues, error) {
	qd, err := q.b.queueDriver()
	if err != nil {
		return nil, fmt.Errorf("queue %q: %s: %w", q.name, op, err)
	}
	if err := driver.ValidateQueueName("queue", q.name); err != nil {
		return nil, fmt.Errorf("queue %q: %s: %w", q.name, op, err)
	}
	return qd, nil
}

func (q *Queue) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("queue %q: %s: %w", q.name, op, err)
}

// Info returns the queue's attributes and stats.
func (q *Queue) Info(ctx context.Context) (QueueInfo, error) {
	qd, err := q.driver("info")
	if err != nil {
		return QueueInfo{}, err
	}
	info, err := qd.QueueInfo(ctx, q.name)
	return info, q.wrap("info", err)
}

// SetAttributes changes the attributes named by opts and keeps the others.
// FIFO cannot be changed. Two concurrent SetAttributes calls may overwrite
// each other's changes (last writer wins).
func (q *Queue) SetAttributes(ctx context.Context, opts ...QueueOption) (QueueInfo, error) {
	qd, err := q.driver("set attributes")
	if err != nil {
		return QueueInfo{}, err
	}
	info, err := qd.QueueInfo(ctx, q.name)
	if err != nil {
		return QueueInfo{}, q.wrap("set attributes", err)
	}
	attrs := info.Attributes
	for _, o := range opts {
		o(&attrs)
	}
	if err := attrs.Validate(); err != nil {
		return QueueInfo{}, q.wrap("set attributes", err)
	}
	if attrs.DeadLetterQueue == q.name {
		return QueueInfo{}, q.wrap("set attributes", driver.Invalid("dead_letter_queue", "a queue cannot be its own dead-letter queue"))
	}
	info, err = qd.SetQueueAttributes(ctx, q.name, attrs)
	return info, q.wrap("set attributes", err)
}

// Delete deletes the queue and its messages.
func (q *Queue) Delete(ctx context.Context) error {
	qd, err := q.driver("delete")
	if err != nil {
		return err
	}
	return q.wrap("delete", qd.DeleteQueue(ctx, q.name))
}

// Purge deletes every message in the queue and reports how many.
func (q *Queue) Purge(ctx context.Context) (int, error) {
	qd, err := q.driver("purge")
	if err != nil {
		return 0, err
	}
	n, err := qd.PurgeQueue(ctx, q.name)
	return n, q.wrap("purge", err)
}

// PeekedMessage is a stored message seen without receiving it (Peek).
type PeekedMessage = driver.PeekedMessage

// Peek returns up to max (1..100) of the queue's messages, oldest first,
// in any state (visible, delayed, in flight), without receiving them: no
// receipt is issued and no receive is counted. It is an operator's view
// (the dashboard's): a message seen by Peek may be received by anyone the
// moment after. Backends that cannot peek answer ErrUnsupported.
func (q *Queue) Peek(ctx context.Context, max int) ([]PeekedMessage, error) {
	if _, err := q.driver("peek"); err != nil {
		return nil, err
	}
	if q.b.peeker == nil {
		return nil, q.wrap("peek", fmt.Errorf("%w: this backend cannot show messages without receiving them", driver.ErrUnsupported))
	}
	if max < 1 || max > driver.MaxPeek {
		return nil, q.wrap("peek", driver.Invalid("max", "%d is out of range; accepted is 1 to %d", max, driver.MaxPeek))
	}
	ms, err := q.b.peeker.Peek(ctx, q.name, max)
	return ms, q.wrap("peek", err)
}

// Send stores one message and returns its ID once it is durable. With a
// dedup ID seen in the last 5 minutes it returns the original message's ID
// and stores nothing.
func (q *Queue) Send(ctx context.Context, msg Message) (string, error) {
	res, err := q.SendBatch(ctx, []Message{msg})
	if err != nil {
		return "", err
	}
	if res[0].Err != nil {
		return "", q.wrap("send", res[0].Err)
	}
	return res[0].ID, nil
}

// SendBatch stores up to 1000 messages and returns one result per message,
// after all stored messages are durable. A rejected message (too large for
// this queue, missing group on a FIFO queue) has Err set and does not affect
// the others. A non-nil error means the batch as a whole failed.
func (q *Queue) SendBatch(ctx context.Context, msgs []Message) ([]SendResult, error) {
	qd, err := q.driver("send")
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, q.wrap("send", err)
	}
	res, err := qd.Send(ctx, q.name, msgs)
	return res, q.wrap("send", err)
}

// ReceiveOption configures Receive.
type ReceiveOption func(*driver.ReceiveRequest)

// Max sets the most messages to return (1..1000, default 1).
func Max(n int) ReceiveOption { return func(r *driver.ReceiveRequest) { r.Max = n } }

// Wait sets how long to wait for a message when none is visible (0..20s).
// Wait(0) returns at once; without Wait the queue's ReceiveWait applies.
func Wait(d time.Duration) ReceiveOption {
	return func(r *driver.ReceiveRequest) {
		if d == 0 {
			d = driver.NoWait
		}
		r.Wait = d
	}
}

// Visibility overrides the queue's visibility timeout for these deliveries
// (up to 12h).
func Visibility(d time.Duration) ReceiveOption {
	return func(r *driver.ReceiveRequest) { r.Visibility = d }
}

// Receive returns up to Max visible messages, long-polling as Wait says; it
// returns an empty slice and nil when the wait ends with nothing. Each
// delivery stays invisible to other receivers for the visibility timeout;
// settle it with Ack, Nack or Extend.
func (q *Queue) Receive(ctx context.Context, opts ...ReceiveOption) ([]*Delivery, error) {
	qd, err := q.driver("receive")
	if err != nil {
		return nil, err
	}
	var req driver.ReceiveRequest
	for _, o := range opts {
		o(&req)
	}
	if err := req.Validate(); err != nil {
		return nil, q.wrap("receive", err)
	}
	ds, err := qd.Receive(ctx, q.name, req)
	if err != nil {
		return nil, q.wrap("receive", err)
	}
	out := make([]*Delivery, len(ds))
	for i := range ds {
		out[i] = &Delivery{Delivery: ds[i], from: q}
	}
	return out, nil
}

// Ack deletes the messages of the receipts. A stale receipt (its message
// has been delivered again) fails with ErrReceiptInvalid in a *BatchError;
// acking a message that is already gone succeeds.
func (q *Queue) Ack(ctx context.Context, receipts ...string) error {
	qd, err := q.driver("ack")
	if err != nil {
		return err
	}
	if err := driver.ValidateReceipts(receipts); err != nil {
		return q.wrap("ack", err)
	}
	errs, err := qd.Ack(ctx, q.name, receipts)
	if err != nil {
		return q.wrap("ack", err)
	}
	return q.wrap("ack", batchError(errs))
}

// Nack returns the messages of the receipts to the queue, visible again
// after delay (0: at once). The next delivery counts as another receive.
func (q *Queue) Nack(ctx context.Context, delay time.Duration, receipts ...string) error {
	return q.changeVisibility(ctx, "nack", delay, receipts)
}

// Extend keeps the messages of the receipts invisible for visibility from
// now, for handlers that need more time.
func (q *Queue) Extend(ctx context.Context, visibility time.Duration, receipts ...string) error {
	return q.changeVisibility(ctx, "extend", visibility, receipts)
}

func (q *Queue) changeVisibility(ctx context.Context, op string, d time.Duration, receipts []string) error {
	qd, err := q.driver(op)
	if err != nil {
		return err
	}
	if err := driver.ValidateReceipts(receipts); err != nil {
		return q.wrap(op, err)
	}
	if d < 0 || d > driver.MaxVisibilityTimeout {
		field := "visibility"
		if op == "nack" {
			field = "delay"
		}
		return q.wrap(op, driver.Invalid(field, "%v is out of range; accepted is 0 to %v", d, driver.MaxVisibilityTimeout))
	}
	errs, err := qd.ChangeVisibility(ctx, q.name, receipts, d)
	if err != nil {
		return q.wrap(op, err)
	}
	return q.wrap(op, batchError(errs))
}

// RedriveOption configures Redrive.
type RedriveOption func(*driver.RedriveRequest)

// RedriveMax moves at most n messages (default: all visible).
func RedriveMax(n int) RedriveOption { return func(r *driver.RedriveRequest) { r.Max = n } }

// RedriveRate moves at most n messages per second (default: unlimited).
func RedriveRate(n int) RedriveOption { return func(r *driver.RedriveRequest) { r.Rate = n } }

// RedriveTo moves messages to queue dest instead of each one's source queue.
func RedriveTo(dest string) RedriveOption {
	return func(r *driver.RedriveRequest) { r.Destination = dest }
}

// Redrive moves messages from this dead-letter queue back to the queues
// they came from (or to RedriveTo's queue) and reports how many moved. Each
// move is atomic. It returns when done or when ctx ends (with the count so
// far).
func (q *Queue) Redrive(ctx context.Context, opts ...RedriveOption) (int, error) {
	qd, err := q.driver("redrive")
	if err != nil {
		return 0, err
	}
	var req driver.RedriveRequest
	for _, o := range opts {
		o(&req)
	}
	if err := req.Validate(); err != nil {
		return 0, q.wrap("redrive", err)
	}
	res, err := qd.Redrive(ctx, q.name, req)
	return res.Moved, q.wrap("redrive", err)
}

// Delivery is a received message, settled with Ack, Nack or Extend. The
// fields of driver.Delivery (ID, Body, Headers, Receipt, ReceiveCount,
// SentAt, FirstReceivedAt, Group, DedupID, Sequence, SourceQueue) are
// promoted.
type Delivery struct {
	driver.Delivery
	from settler // the queue or durable subscription it came from
}

// settler is what deliveries are settled on: a Queue or a Subscription.
type settler interface {
	Ack(ctx context.Context, receipts ...string) error
	Nack(ctx context.Context, delay time.Duration, receipts ...string) error
	Extend(ctx context.Context, visibility time.Duration, receipts ...string) error
}

// Ack deletes the message. It fails with ErrReceiptInvalid if the message
// has been delivered again since this delivery.
func (d *Delivery) Ack(ctx context.Context) error { return d.from.Ack(ctx, d.Receipt) }

// Nack makes the message visible again after delay.
func (d *Delivery) Nack(ctx context.Context, delay time.Duration) error {
	return d.from.Nack(ctx, delay, d.Receipt)
}

// Extend keeps the message invisible for visibility from now.
func (d *Delivery) Extend(ctx context.Context, visibility time.Duration) error {
	return d.from.Extend(ctx, visibility, d.Receipt)
}
