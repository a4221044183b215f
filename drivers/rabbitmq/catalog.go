package rabbitmq

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
)

// The catalog is the driver's metadata: which queues, topics and
// subscriptions exist, with their attributes. AMQP 0.9.1 can neither list
// queues nor read back or change their arguments, so the catalog lives in
// a RabbitMQ stream of its own (<namespace>.catalog) as a log of events.
// Every connection tails the stream from the start and applies the events
// in log order to its replica; the outcome of an event (created, exists,
// conflict, not found) is decided by applying it, so every replica agrees.
// A writer appends an event with a publisher confirm and waits until its
// own replica has applied it to learn the outcome. Reads are served from
// the replica; a lookup that misses first catches up with the log by
// appending a marker event and waiting for it.

// Event operations.
const (
	opMarker      = "marker"
	opQueueCreate = "queue.create"
	opQueueSet    = "queue.set"
	opQueueDelete = "queue.delete"
	opQueueDelay  = "queue.delay"
	opTopicCreate = "topic.create"
	opTopicDelete = "topic.delete"
	opSubPut      = "sub.put"
	opSubDelete   = "sub.delete"
)

// event is one catalog change.
type event struct {
	Op    string                  `json:"op"`
	ID    string                  `json:"id"`
	At    int64                   `json:"at"` // writer's clock, Unix ns
	Name  string                  `json:"name,omitempty"`
	Gen   string                  `json:"gen,omitempty"`
	Queue *driver.QueueAttributes `json:"queue,omitempty"`
	Topic *driver.TopicAttributes `json:"topic,omitempty"`
	Sub   string                  `json:"sub,omitempty"`
	Spec  *driver.Subscription    `json:"spec,omitempty"`
	Delay int64                   `json:"delay,omitempty"` // ms
}

// queueMeta is a queue in the catalog: a user queue, or the queue a
// durable subscription owns (Owner "topic/sub").
type queueMeta struct {
	Name    string // user name, or "topic/sub" for a subscription's queue
	Owner   string // "" for user queues
	Attrs   driver.QueueAttributes
	Gen     string // incarnation: part of the physical names
	Created int64
	Updated int64
	Delays  []int64 // ms of the delay queues in use, sorted
}

// topicMeta is a topic in the catalog.
type topicMeta struct {
	Name    string
	Attrs   driver.TopicAttributes
	Gen     string
	Created int64
	Subs    map[string]*subMeta
}

// subMeta is a subscription in the catalog.
type subMeta struct {
	Name    string
	Spec    driver.Subscription
	Created int64
	Updated int64
	Queue   *queueMeta // the subscription's own queue (durable)
}

// outcome is what applying an event decided.
type outcome struct {
	err     error
	created bool       // the event created its object
	queue   *queueMeta // the queue concerned, after the event
	topic   *topicMeta // the topic concerned (a deleted one for topic.delete)
	sub     *subMeta   // the subscription concerned (old one for sub.delete)
}

// catalog is a connection's replica of the catalog stream.
type catalog struct {
	c      *Conn
	stream string

	mu      sync.RWMutex
	queues  map[string]*queueMeta // user queues by name
	topics  map[string]*topicMeta
	next    int64 // next stream offset to apply
	waiters map[string]chan outcome
	// Observers of deletions: the connection ends tails and forgets the
	// state of queues that are gone.
	onTopicDelete func(name string)
	onQueueGone   func(q *queueMeta)

	resub chan struct{} // reconnect: subscribe again from next
}

func newCatalog(c *Conn) *catalog {
	return &catalog{
		c:       c,
		stream:  c.cfg.namespace + ".catalog",
		queues:  make(map[string]*queueMeta),
		topics:  make(map[string]*topicMeta),
		waiters: make(map[string]chan outcome),
		resub:   make(chan struct{}, 1),
	}
}

// start declares the stream, starts tailing it and catches up with it.
func (cat *catalog) start(ctx context.Context) error {
	ch, err := cat.c.conn.Channel()
	if err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(cat.stream, true, false, false, false, amqp.Table{"x-queue-type": "stream"}); err != nil {
		return fmt.Errorf("declare catalog stream %s: %w", cat.stream, cat.c.mapErr(err))
	}
	if err := ch.Qos(1000, 0, false); err != nil {
		return err
	}
	dch, err := cat.subscribe(ch)
	if err != nil {
		return err
	}
	cat.c.wg.Go(func() { cat.tail(ch, dch) })
	return cat.sync(ctx)
}

// subscribe starts a stream consumer at the next offset to apply.
func (cat *catalog) subscribe(ch *amqp.Channel) (<-chan amqp.Delivery, error) {
	cat.mu.RLock()
	var offset any = "first"
	if cat.next > 0 {
		offset = cat.next
	}
	cat.mu.RUnlock()
	return ch.Consume(cat.stream, "courier-catalog-"+newID()[:12], false, false, false, false, amqp.Table{"x-stream-offset": offset})
}

// tail applies the stream's events until the connection closes; after a
// reconnect it subscribes again where it stopped.
func (cat *catalog) tail(ch *amqp.Channel, dch <-chan amqp.Delivery) {
	pending := 0
	for {
		select {
		case d, ok := <-dch:
			if !ok {
				dch = nil
				continue
			}
			cat.apply(&d)
			pending++
			if pending >= 100 || len(dch) == 0 {
				_ = d.Ack(true)
				pending = 0
			}
		case <-cat.resub:
			pending = 0
			n, err := cat.subscribe(ch)
			if err != nil {
				cat.c.log.Warn("rabbitmq: catalog: subscribe after reconnect", "err", err)
				continue
			}
			dch = n
		case <-cat.c.done:
			return
		}
	}
}

// apply applies one stream message, skipping offsets already applied.
func (cat *catalog) apply(d *amqp.Delivery) {
	off := intHeader(d.Headers, "x-stream-offset")
	var ev event
	err := json.Unmarshal(d.Body, &ev)
	cat.mu.Lock()
	if off < cat.next {
		cat.mu.Unlock()
		return
	}
	cat.next = off + 1
	var out outcome
	if err != nil {
		cat.mu.Unlock()
		cat.c.log.Warn("rabbitmq: catalog: skipping a malformed event", "offset", off, "err", err)
		return
	}
	out = cat.applyEvent(&ev)
	w := cat.waiters[ev.ID]
	delete(cat.waiters, ev.ID)
	notify, gone := cat.onTopicDelete, cat.onQueueGone
	cat.mu.Unlock()
	if out.err == nil {
		switch {
		case ev.Op == opTopicDelete:
			if notify != nil {
				notify(ev.Name)
			}
			for _, s := range out.topic.Subs {
				if s.Queue != nil && gone != nil {
					gone(s.Queue)
				}
			}
		case ev.Op == opQueueDelete && gone != nil:
			gone(out.queue)
		case ev.Op == opSubDelete && out.sub.Queue != nil && gone != nil:
			gone(out.sub.Queue)
		}
	}
	if w != nil {
		w <- out
	}
}

// applyEvent changes the replica; the caller holds cat.mu. It must be
// deterministic: every replica applies the same events in the same order.
func (cat *catalog) applyEvent(ev *event) outcome {
	switch ev.Op {
	case opMarker:
		return outcome{}
	case opQueueCreate:
		if q := cat.queues[ev.Name]; q != nil {
			if q.Attrs != *ev.Queue {
				return outcome{err: fmt.Errorf("queue %q exists with other attributes: %w", ev.Name, driver.ErrConflict), queue: q}
			}
			return outcome{queue: q}
		}
		if err := cat.checkDeadLetter(ev.Name, *ev.Queue); err != nil {
			return outcome{err: err}
		}
		q := &queueMeta{Name: ev.Name, Attrs: *ev.Queue, Gen: ev.Gen, Created: ev.At, Updated: ev.At}
		cat.queues[ev.Name] = q
		return outcome{created: true, queue: q}
	case opQueueSet:
		q := cat.findQueue(ev.Name)
		if q == nil || q.Gen != ev.Gen {
			return outcome{err: fmt.Errorf("queue %q: %w", ev.Name, driver.ErrNotFound)}
		}
		if q.Attrs.FIFO != ev.Queue.FIFO {
			return outcome{err: fmt.Errorf("queue %q: fifo cannot change: %w", ev.Name, driver.ErrConflict), queue: q}
		}
		if err := cat.checkDeadLetter(ev.Name, *ev.Queue); err != nil {
			return outcome{err: err, queue: q}
		}
		nq := *q
		nq.Attrs, nq.Updated = *ev.Queue, ev.At
		cat.replaceQueue(q, &nq)
		return outcome{queue: &nq}
	case opQueueDelete:
		q := cat.queues[ev.Name]
		if q == nil || (ev.Gen != "" && q.Gen != ev.Gen) {
			return outcome{err: fmt.Errorf("queue %q: %w", ev.Name, driver.ErrNotFound)}
		}
		if user := cat.deadLetterUser(ev.Name); user != "" {
			return outcome{err: fmt.Errorf("queue %q is the dead-letter queue of %q; change that queue's dead_letter_queue first: %w", ev.Name, user, driver.ErrConflict)}
		}
		if t, s := cat.subscriber(ev.Name); s != "" {
			return outcome{err: fmt.Errorf("queue %q receives topic %q's subscription %q; unsubscribe first: %w", ev.Name, t, s, driver.ErrConflict)}
		}
		delete(cat.queues, ev.Name)
		return outcome{queue: q}
	case opQueueDelay:
		q := cat.findQueue(ev.Name)
		if q == nil || q.Gen != ev.Gen || slices.Contains(q.Delays, ev.Delay) {
			return outcome{queue: q}
		}
		nq := *q
		nq.Delays = append(slices.Clone(q.Delays), ev.Delay)
		slices.Sort(nq.Delays)
		cat.replaceQueue(q, &nq)
		return outcome{queue: &nq}
	case opTopicCreate:
		if t := cat.topics[ev.Name]; t != nil {
			if t.Attrs != *ev.Topic {
				return outcome{err: fmt.Errorf("topic %q exists with other attributes: %w", ev.Name, driver.ErrConflict), topic: t}
			}
			return outcome{topic: t}
		}
		t := &topicMeta{Name: ev.Name, Attrs: *ev.Topic, Gen: ev.Gen, Created: ev.At, Subs: map[string]*subMeta{}}
		cat.topics[ev.Name] = t
		return outcome{created: true, topic: t}
	case opTopicDelete:
		t := cat.topics[ev.Name]
		if t == nil || (ev.Gen != "" && t.Gen != ev.Gen) {
			return outcome{err: fmt.Errorf("topic %q: %w", ev.Name, driver.ErrNotFound)}
		}
		delete(cat.topics, ev.Name)
		return outcome{topic: t}
	case opSubPut:
		return cat.applySubPut(ev)
	case opSubDelete:
		t := cat.topics[ev.Name]
		if t == nil {
			return outcome{err: fmt.Errorf("topic %q: %w", ev.Name, driver.ErrNotFound)}
		}
		s := t.Subs[ev.Sub]
		if s == nil {
			return outcome{err: fmt.Errorf("subscription %q of topic %q: %w", ev.Sub, ev.Name, driver.ErrNotFound)}
		}
		nt := *t
		nt.Subs = maps.Clone(t.Subs)
		delete(nt.Subs, ev.Sub)
		cat.topics[ev.Name] = &nt
		return outcome{topic: &nt, sub: s}
	}
	return outcome{err: fmt.Errorf("unknown catalog operation %q", ev.Op)}
}

func (cat *catalog) applySubPut(ev *event) outcome {
	t := cat.topics[ev.Name]
	if t == nil {
		return outcome{err: fmt.Errorf("topic %q: %w", ev.Name, driver.ErrNotFound)}
	}
	spec := *ev.Spec
	old := t.Subs[ev.Sub]
	if old != nil {
		switch {
		case old.Spec.Kind != spec.Kind:
			return outcome{err: fmt.Errorf("subscription %q is of kind %q; unsubscribe before subscribing as %q: %w", ev.Sub, old.Spec.Kind, spec.Kind, driver.ErrConflict), sub: old, topic: t}
		case old.Spec.Queue != spec.Queue:
			return outcome{err: fmt.Errorf("subscription %q delivers into queue %q; unsubscribe before changing it: %w", ev.Sub, old.Spec.Queue, driver.ErrConflict), sub: old, topic: t}
		}
	}
	ns := &subMeta{Name: ev.Sub, Spec: spec, Created: ev.At, Updated: ev.At}
	switch spec.Kind {
	case driver.KindQueue:
		q := cat.queues[spec.Queue]
		if q == nil {
			return outcome{err: driver.Invalid("queue", "queue %q does not exist", spec.Queue)}
		}
		if q.Attrs.FIFO != t.Attrs.FIFO {
			return outcome{err: driver.Invalid("queue", "queue %q: a standard topic delivers only into standard queues", spec.Queue)}
		}
	case driver.KindDurable:
		attrs := driver.DefaultQueueAttributes()
		if spec.Attributes != nil {
			attrs = *spec.Attributes
		}
		attrs.FIFO = t.Attrs.FIFO
		if err := cat.checkDeadLetter("", attrs); err != nil {
			return outcome{err: err}
		}
		if old != nil {
			nq := *old.Queue
			nq.Attrs, nq.Updated = attrs, ev.At
			ns.Queue = &nq
		} else {
			ns.Queue = &queueMeta{Name: ev.Name + "/" + ev.Sub, Owner: ev.Name + "/" + ev.Sub, Attrs: attrs, Gen: ev.Gen, Created: ev.At, Updated: ev.At}
		}
	}
	if old != nil {
		ns.Created = old.Created
		if old.Spec == spec && (old.Queue == nil || old.Queue.Attrs == ns.Queue.Attrs) {
			ns.Updated = old.Updated
			if ns.Queue != nil {
				ns.Queue = old.Queue
			}
		}
	}
	nt := *t
	nt.Subs = maps.Clone(t.Subs)
	nt.Subs[ev.Sub] = ns
	cat.topics[ev.Name] = &nt
	return outcome{created: old == nil, sub: ns, topic: &nt, queue: ns.Queue}
}

// checkDeadLetter checks that a queue's dead-letter queue exists and is
// not the queue itself; the caller holds cat.mu.
func (cat *catalog) checkDeadLetter(name string, attrs driver.QueueAttributes) error {
	if attrs.DeadLetterQueue == "" {
		return nil
	}
	if attrs.DeadLetterQueue == name {
		return driver.Invalid("dead_letter_queue", "a queue cannot be its own dead-letter queue")
	}
	dlq := cat.queues[attrs.DeadLetterQueue]
	if dlq == nil {
		return driver.Invalid("dead_letter_queue", "queue %q does not exist; create it first", attrs.DeadLetterQueue)
	}
	if dlq.Attrs.FIFO != attrs.FIFO {
		return driver.Invalid("dead_letter_queue", "queue %q must be of the same kind (FIFO or standard) as this one", attrs.DeadLetterQueue)
	}
	return nil
}

// deadLetterUser names a queue (or subscription) whose dead-letter queue
// is name; the caller holds cat.mu.
func (cat *catalog) deadLetterUser(name string) string {
	for _, n := range slices.Sorted(maps.Keys(cat.queues)) {
		if q := cat.queues[n]; n != name && q.Attrs.DeadLetterQueue == name {
			return n
		}
	}
	for _, t := range cat.topics {
		for _, s := range t.Subs {
			if s.Queue != nil && s.Queue.Attrs.DeadLetterQueue == name {
				return s.Queue.Name
			}
		}
	}
	return ""
}

// subscriber names a queue subscription that delivers into queue name.
func (cat *catalog) subscriber(name string) (topic, sub string) {
	for _, t := range cat.topics {
		for _, s := range t.Subs {
			if s.Spec.Kind == driver.KindQueue && s.Spec.Queue == name {
				return t.Name, s.Name
			}
		}
	}
	return "", ""
}

// findQueue finds a user queue by name or a subscription's queue by
// "topic/sub"; the caller holds cat.mu.
func (cat *catalog) findQueue(name string) *queueMeta {
	if q := cat.queues[name]; q != nil {
		return q
	}
	for _, t := range cat.topics {
		for _, s := range t.Subs {
			if s.Queue != nil && s.Queue.Name == name {
				return s.Queue
			}
		}
	}
	return nil
}

// replaceQueue swaps a queue's metadata for a new version; metadata values
// are never changed in place, so readers may keep the pointers they got.
func (cat *catalog) replaceQueue(old, nq *queueMeta) {
	if old.Owner == "" {
		cat.queues[old.Name] = nq
		return
	}
	for tn, t := range cat.topics {
		for sn, s := range t.Subs {
			if s.Queue == old {
				ns := *s
				ns.Queue = nq
				nt := *t
				nt.Subs = maps.Clone(t.Subs)
				nt.Subs[sn] = &ns
				cat.topics[tn] = &nt
				return
			}
		}
	}
}

// append writes ev to the stream and waits until the replica applied it.
func (cat *catalog) append(ctx context.Context, ev event) (outcome, error) {
	ev.ID = newID()
	ev.At = time.Now().UnixNano()
	body, err := json.Marshal(ev)
	if err != nil {
		return outcome{}, err
	}
	w := make(chan outcome, 1)
	cat.mu.Lock()
	cat.waiters[ev.ID] = w
	cat.mu.Unlock()
	defer func() {
		cat.mu.Lock()
		delete(cat.waiters, ev.ID)
		cat.mu.Unlock()
	}()
	msg := amqp.Publishing{MessageId: ev.ID, DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: body}
	errs, err := cat.c.publishWait(ctx, "", cat.stream, true, []amqp.Publishing{msg})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		return outcome{}, fmt.Errorf("catalog: %w", err)
	}
	select {
	case out := <-w:
		return out, nil
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	case <-cat.c.done:
		return outcome{}, driver.ErrClosed
	}
}

// sync waits until the replica has applied every event written before it
// was called.
func (cat *catalog) sync(ctx context.Context) error {
	_, err := cat.append(ctx, event{Op: opMarker})
	return err
}

// queue returns a user queue, catching up with the log once if the replica
// does not know it.
func (cat *catalog) queue(ctx context.Context, name string) (*queueMeta, error) {
	cat.mu.RLock()
	q := cat.queues[name]
	cat.mu.RUnlock()
	if q != nil {
		return q, nil
	}
	if err := cat.sync(ctx); err != nil {
		return nil, err
	}
	cat.mu.RLock()
	q = cat.queues[name]
	cat.mu.RUnlock()
	if q == nil {
		return nil, fmt.Errorf("queue %q: %w", name, driver.ErrNotFound)
	}
	return q, nil
}

// topic returns a topic, catching up once on a miss.
func (cat *catalog) topic(ctx context.Context, name string) (*topicMeta, error) {
	cat.mu.RLock()
	t := cat.topics[name]
	cat.mu.RUnlock()
	if t != nil {
		return t, nil
	}
	if err := cat.sync(ctx); err != nil {
		return nil, err
	}
	cat.mu.RLock()
	t = cat.topics[name]
	cat.mu.RUnlock()
	if t == nil {
		return nil, fmt.Errorf("topic %q: %w", name, driver.ErrNotFound)
	}
	return t, nil
}

// sub returns a subscription of a topic, catching up once on a miss.
func (cat *catalog) sub(ctx context.Context, topic, name string) (*topicMeta, *subMeta, error) {
	look := func() (*topicMeta, *subMeta) {
		cat.mu.RLock()
		defer cat.mu.RUnlock()
		t := cat.topics[topic]
		if t == nil {
			return nil, nil
		}
		return t, t.Subs[name]
	}
	t, s := look()
	if s != nil {
		return t, s, nil
	}
	if err := cat.sync(ctx); err != nil {
		return nil, nil, err
	}
	t, s = look()
	switch {
	case t == nil:
		return nil, nil, fmt.Errorf("topic %q: %w", topic, driver.ErrNotFound)
	case s == nil:
		return nil, nil, fmt.Errorf("subscription %q of topic %q: %w", name, topic, driver.ErrNotFound)
	}
	return t, s, nil
}

// currentQueue returns the latest metadata of a queue by name or
// "topic/sub", without catching up.
func (cat *catalog) currentQueue(name string) *queueMeta {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.findQueue(name)
}
