package handler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/courier-io/courier"
)

// Message is one message a handler processes, whatever its source.
type Message struct {
	// ID is the message's ID (a stream record's is "partition/offset").
	ID      string
	Body    []byte
	Headers map[string]string
	// Attempt counts deliveries of this message, this one included.
	Attempt int
	// SentAt is when the message was stored.
	SentAt time.Time
	// Group is the FIFO group of a queue message or the key of a stream
	// record: messages of one group are processed in order when the
	// source is ordered.
	Group string
	// Source names where the message came from ("queue orders",
	// "stream clicks/analytics", ...).
	Source string
	// Partition and Offset locate a stream record; -1 elsewhere.
	Partition int
	Offset    int64

	receipt string // settles it in its source
	fifo    bool   // from a FIFO queue: its group must keep its order
}

// Source is where a route's messages come from: a queue, a durable topic
// subscription, a stream consumer group or a bus handler target. The
// constructors in this package make one for each; a Source is used by one
// route.
type Source interface {
	// Name describes the source in logs and dead-letter headers.
	Name() string
	// Receive returns up to max messages, waiting up to wait for the first,
	// each invisible to other consumers for visibility.
	Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]*Message, error)
	// Ack settles processed messages.
	Ack(ctx context.Context, msgs []*Message) error
	// Retry makes m come back after delay; cause is why it failed.
	Retry(ctx context.Context, m *Message, delay time.Duration, cause error) error
	// Extend keeps m invisible for visibility from now.
	Extend(ctx context.Context, m *Message, visibility time.Duration) error
	// Release gives m back unprocessed (at shutdown, or to keep a FIFO
	// group's order), without counting a failure where the source allows.
	Release(ctx context.Context, m *Message) error
	// Ordered reports that messages must be processed in order per
	// partition (streams): the runtime then retries a failing message in
	// place instead of letting later ones pass it.
	Ordered() bool
}

// receiver is what queues and durable subscriptions have in common.
type receiver interface {
	Receive(ctx context.Context, opts ...courier.ReceiveOption) ([]*courier.Delivery, error)
	Ack(ctx context.Context, receipts ...string) error
	Nack(ctx context.Context, delay time.Duration, receipts ...string) error
	Extend(ctx context.Context, visibility time.Duration, receipts ...string) error
}

// deliverySource reads a queue or a durable subscription.
type deliverySource struct {
	name string
	r    receiver
}

// Queue returns the source that reads q. Failed messages are nacked with
// the route's backoff; after the route's MaxAttempts they go to the route's
// dead-letter queue (or, without one, to the queue's own, by its
// MaxReceives).
func Queue(q *courier.Queue) Source { return &deliverySource{name: "queue " + q.Name(), r: q} }

// Subscription returns the source that reads the durable subscription s.
func Subscription(s *courier.Subscription) Source {
	return &deliverySource{name: "subscription " + s.Topic().Name() + "/" + s.Name(), r: s}
}

func (s *deliverySource) Name() string  { return s.name }
func (s *deliverySource) Ordered() bool { return false }

func (s *deliverySource) Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]*Message, error) {
	ds, err := s.r.Receive(ctx, courier.Max(max), courier.Wait(wait), courier.Visibility(visibility))
	if err != nil {
		return nil, err
	}
	out := make([]*Message, len(ds))
	for i, d := range ds {
		out[i] = &Message{ID: d.ID, Body: d.Body, Headers: d.Headers, Attempt: d.ReceiveCount, SentAt: d.SentAt,
			Group: d.Group, Source: s.name, Partition: -1, Offset: -1, receipt: d.Receipt, fifo: d.Sequence != 0}
	}
	return out, nil
}

// Release makes m visible again at once.
func (s *deliverySource) Release(ctx context.Context, m *Message) error {
	return s.r.Nack(ctx, 0, m.receipt)
}

func (s *deliverySource) Ack(ctx context.Context, msgs []*Message) error {
	receipts := make([]string, len(msgs))
	for i, m := range msgs {
		receipts[i] = m.receipt
	}
	return s.r.Ack(ctx, receipts...)
}

func (s *deliverySource) Retry(ctx context.Context, m *Message, delay time.Duration, _ error) error {
	return s.r.Nack(ctx, delay, m.receipt)
}

func (s *deliverySource) Extend(ctx context.Context, m *Message, visibility time.Duration) error {
	return s.r.Extend(ctx, visibility, m.receipt)
}

// busTargetSource reads a bus handler target.
type busTargetSource struct {
	bus          *courier.Bus
	rule, target string
}

// BusTarget returns the source that reads the handler target (kind
// "handler") of a bus rule. Retries and dead-lettering follow the target's
// retry policy and dead-letter queue, kept by the bus: a failure is
// reported to it with the error as the reason.
func BusTarget(bus *courier.Bus, rule, target string) Source {
	return &busTargetSource{bus: bus, rule: rule, target: target}
}

func (s *busTargetSource) Name() string {
	return "bus " + s.bus.Name() + "/" + s.rule + "/" + s.target
}
func (s *busTargetSource) Ordered() bool { return false }

func (s *busTargetSource) Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]*Message, error) {
	ds, err := s.bus.ReceiveTarget(ctx, s.rule, s.target, courier.Max(max), courier.Wait(wait), courier.Visibility(visibility))
	if err != nil {
		return nil, err
	}
	out := make([]*Message, len(ds))
	for i, d := range ds {
		out[i] = &Message{ID: d.ID, Body: d.Body, Headers: d.Headers, Attempt: d.ReceiveCount, SentAt: d.SentAt,
			Group: d.Group, Source: s.Name(), Partition: -1, Offset: -1, receipt: d.Receipt}
	}
	return out, nil
}

func (s *busTargetSource) Ack(ctx context.Context, msgs []*Message) error {
	var errs []error
	for _, m := range msgs {
		errs = append(errs, s.bus.SettleTarget(ctx, s.rule, s.target, m.receipt, ""))
	}
	return errors.Join(errs...)
}

func (s *busTargetSource) Retry(ctx context.Context, m *Message, _ time.Duration, cause error) error {
	reason := "handler failed"
	if cause != nil && cause.Error() != "" {
		reason = cause.Error()
	}
	return s.bus.SettleTarget(ctx, s.rule, s.target, m.receipt, reason)
}

// Extend is not offered by bus targets: their deliveries stay invisible for
// the visibility they were received with (the route's Visibility).
func (s *busTargetSource) Extend(context.Context, *Message, time.Duration) error { return nil }

// Release leaves m to come back after its visibility: bus targets count
// every settle call as an attempt.
func (s *busTargetSource) Release(context.Context, *Message) error { return nil }

// streamSource reads a stream as a member of a consumer group.
type streamSource struct {
	c    *courier.Consumer
	name string
	mu   sync.Mutex // the consumer is used from one goroutine at a time
	beat time.Time  // last heartbeat
}

// StreamGroup returns the source that reads the partitions c owns.
// Records of a partition are processed in order; a failing record is
// retried in place with the route's backoff, and after MaxAttempts goes to
// the route's dead-letter queue (or is skipped and logged without one).
// Offsets are committed after each batch.
func StreamGroup(c *courier.Consumer, stream, group string) Source {
	return &streamSource{c: c, name: "stream " + stream + "/" + group}
}

func (s *streamSource) Name() string  { return s.name }
func (s *streamSource) Ordered() bool { return true }

func (s *streamSource) Receive(ctx context.Context, max int, wait, _ time.Duration) ([]*Message, error) {
	s.mu.Lock()
	recs, err := s.c.Poll(ctx, max, wait)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]*Message, len(recs))
	for i, r := range recs {
		out[i] = &Message{ID: strconv.Itoa(r.Partition) + "/" + strconv.FormatInt(r.Offset, 10), Body: r.Value,
			Headers: maps.Clone(r.Headers), Attempt: 1, SentAt: r.Timestamp, Group: string(r.Key), Source: s.name,
			Partition: r.Partition, Offset: r.Offset}
	}
	return out, nil
}

// Ack commits the offsets of everything polled so far: the runtime acks a
// stream batch only once every record of it is settled.
func (s *streamSource) Ack(ctx context.Context, _ []*Message) error {
	s.mu.Lock()
	err := s.c.Commit(ctx)
	s.mu.Unlock()
	if errors.Is(err, courier.ErrFenced) {
		return nil // the partitions moved: their new owner reads from the last commit
	}
	return err
}

func (s *streamSource) Retry(context.Context, *Message, time.Duration, error) error {
	return fmt.Errorf("%s: a stream record cannot be put back; the runtime retries it in place", s.name)
}

// Extend sends the member's heartbeat (at most one a second, however many
// records wait), so a long batch does not cost it its partitions.
func (s *streamSource) Extend(ctx context.Context, _ *Message, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.beat) < time.Second {
		return nil
	}
	s.beat = time.Now()
	_, err := s.c.Heartbeat(ctx)
	return err
}

// Release does nothing: an uncommitted record is read again by whoever
// owns its partition next.
func (s *streamSource) Release(context.Context, *Message) error { return nil }
