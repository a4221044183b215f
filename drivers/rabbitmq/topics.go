package rabbitmq

import (
	"context"
	"fmt"
	"slices"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// A topic is a RabbitMQ headers exchange, <ns>.t.<name>.<gen>. Each
// durable or queue subscription binds its queue with the argument
// courier-s.<subscription> = "1", and tails bind with courier-tail = "1".
// The publisher evaluates the SNS filter policies (RabbitMQ's headers
// exchange matches equality only, far less than a filter policy says) and
// marks each message with the flags of the subscriptions it matched, so
// RabbitMQ routes and copies it. Subscriptions that want the JSON envelope
// get a second publish carrying the envelope and their flags.

// exchange is the name of a topic's exchange.
func (t *topicMeta) exchange(ns string) string {
	return ns + ".t." + t.Name + "." + t.Gen
}

// subFlag is the routing header of a subscription.
func subFlag(sub string) string { return hSubFlag + sub }

func bindArgs(flag string) amqp.Table { return amqp.Table{"x-match": "all", flag: "1"} }

// topicCounters are a topic's counters on this connection.
type topicCounters struct {
	published int64
	delivered map[string]int64
	filtered  map[string]int64
	tails     int
}

// counters returns the counters of a topic; the caller holds c.tmu.
func (c *Conn) counters(topic string) *topicCounters {
	tc := c.tstats[topic]
	if tc == nil {
		tc = &topicCounters{delivered: map[string]int64{}, filtered: map[string]int64{}}
		c.tstats[topic] = tc
	}
	return tc
}

func unsupportedTopic(attrs driver.TopicAttributes) error {
	switch {
	case attrs.FIFO:
		return fmt.Errorf("%w: %w", driver.Invalid("fifo", "FIFO topics are not supported by the rabbitmq driver (RabbitMQ has no message groups)"), driver.ErrUnsupported)
	case attrs.ContentBasedDedup:
		return fmt.Errorf("%w: %w", driver.Invalid("content_based_dedup", "dedup is not supported by the rabbitmq driver"), driver.ErrUnsupported)
	}
	return nil
}

// CreateTopic declares the topic's exchange and records it in the catalog;
// idempotent like CreateQueue.
func (c *Conn) CreateTopic(ctx context.Context, name string, attrs driver.TopicAttributes) (driver.TopicInfo, error) {
	if err := c.live(); err != nil {
		return driver.TopicInfo{}, err
	}
	if err := driver.ValidateTopicName("name", name); err != nil {
		return driver.TopicInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.TopicInfo{}, err
	}
	c.cat.mu.RLock()
	existing := c.cat.topics[name]
	c.cat.mu.RUnlock()
	if existing != nil && existing.Attrs == attrs {
		return c.TopicInfo(ctx, name)
	}
	if existing != nil {
		return driver.TopicInfo{}, fmt.Errorf("topic %q exists with other attributes: %w", name, driver.ErrConflict)
	}
	if err := unsupportedTopic(attrs); err != nil {
		return driver.TopicInfo{}, err
	}
	t := &topicMeta{Name: name, Gen: newID()[:12]}
	ex := t.exchange(c.cfg.namespace)
	if err := c.adminCall(ctx, func(ch *amqp.Channel) error {
		return ch.ExchangeDeclare(ex, amqp.ExchangeHeaders, true, false, false, false, nil)
	}); err != nil {
		return driver.TopicInfo{}, fmt.Errorf("declare exchange %s: %w", ex, err)
	}
	out, err := c.cat.append(ctx, event{Op: opTopicCreate, Name: name, Gen: t.Gen, Topic: &attrs})
	if err != nil || !out.created {
		c.deleteExchange(ctx, ex)
	}
	if err != nil {
		return driver.TopicInfo{}, err
	}
	if out.err != nil {
		return driver.TopicInfo{}, out.err
	}
	return c.TopicInfo(ctx, name)
}

func (c *Conn) deleteExchange(ctx context.Context, ex string) {
	if err := c.adminCall(ctx, func(ch *amqp.Channel) error { return ch.ExchangeDelete(ex, false, false) }); err != nil {
		c.log.Warn("rabbitmq: delete exchange", "exchange", ex, "err", err)
	}
}

// TopicInfo returns a topic's attributes and counters: Published and
// Tails count this connection's publishes and tails (RabbitMQ keeps no
// such counts).
func (c *Conn) TopicInfo(ctx context.Context, name string) (driver.TopicInfo, error) {
	if err := c.live(); err != nil {
		return driver.TopicInfo{}, err
	}
	t, err := c.cat.topic(ctx, name)
	if err != nil {
		return driver.TopicInfo{}, err
	}
	c.tmu.Lock()
	tc := c.counters(name)
	st := driver.TopicStats{Published: tc.published, Subscriptions: len(t.Subs), Tails: tc.tails}
	c.tmu.Unlock()
	return driver.TopicInfo{Name: name, Attributes: t.Attrs, CreatedAt: time.Unix(0, t.Created), Stats: st}, nil
}

// ListTopics catches up with the catalog and lists the topics.
func (c *Conn) ListTopics(ctx context.Context) ([]string, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := c.cat.sync(ctx); err != nil {
		return nil, err
	}
	c.cat.mu.RLock()
	defer c.cat.mu.RUnlock()
	out := make([]string, 0, len(c.cat.topics))
	for n := range c.cat.topics {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// DeleteTopic removes the topic from the catalog, then deletes its
// exchange and its durable subscriptions' queues. Tails end.
func (c *Conn) DeleteTopic(ctx context.Context, name string) error {
	if err := c.live(); err != nil {
		return err
	}
	if _, err := c.cat.topic(ctx, name); err != nil {
		return err
	}
	out, err := c.cat.append(ctx, event{Op: opTopicDelete, Name: name})
	if err != nil {
		return err
	}
	if out.err != nil {
		return out.err
	}
	c.destroyTopic(ctx, out.topic)
	return nil
}

func (c *Conn) destroyTopic(ctx context.Context, t *topicMeta) {
	c.deleteExchange(ctx, t.exchange(c.cfg.namespace))
	for _, s := range t.Subs {
		if s.Queue != nil {
			c.destroyQueue(ctx, s.Queue)
		}
	}
	c.tmu.Lock()
	delete(c.tstats, t.Name)
	delete(c.routes, t.Name)
	c.tmu.Unlock()
}

// cachedRouting is the routing compiled for one version of a topic.
type cachedRouting struct {
	t  *topicMeta
	rt *routing
}

// routing is a topic's compiled subscriptions, cached per catalog version
// of the topic.
type routing struct {
	unfiltered []string
	attrs      *pattern.Matcher
	body       *pattern.Matcher
	raw        map[string]bool
}

// routingOf returns the routing of t, compiled once per version of t.
func (c *Conn) routingOf(t *topicMeta) *routing {
	c.tmu.Lock()
	cached := c.routes[t.Name]
	c.tmu.Unlock()
	if cached.t == t {
		return cached.rt
	}
	rt := &routing{raw: map[string]bool{}}
	attrRules := map[pattern.RuleID]*pattern.Pattern{}
	bodyRules := map[pattern.RuleID]*pattern.Pattern{}
	for name, s := range t.Subs {
		rt.raw[name] = s.Spec.Raw
		p, err := driver.CompileFilter("filter_policy", s.Spec.FilterPolicy, s.Spec.FilterScope)
		switch {
		case err != nil:
			// A policy this build rejects matches nothing.
		case p == nil:
			rt.unfiltered = append(rt.unfiltered, name)
		case s.Spec.FilterScope == driver.ScopeBody:
			bodyRules[pattern.RuleID(name)] = p
		default:
			attrRules[pattern.RuleID(name)] = p
		}
	}
	if len(attrRules) > 0 {
		rt.attrs = pattern.NewMatcher()
		_ = rt.attrs.AddAll(attrRules)
	}
	if len(bodyRules) > 0 {
		rt.body = pattern.NewMatcher()
		_ = rt.body.AddAll(bodyRules)
	}
	c.tmu.Lock()
	c.routes[t.Name] = cachedRouting{t, rt}
	c.tmu.Unlock()
	return rt
}

// match returns the subscriptions m goes to.
func (rt *routing) match(m *driver.Message) []string {
	out := slices.Clone(rt.unfiltered)
	if rt.attrs != nil && len(m.Headers) > 0 {
		if ids, err := rt.attrs.MatchAllAttributes(driver.HeaderAttributes(m.Headers)); err == nil {
			for _, id := range ids {
				out = append(out, string(id))
			}
		}
	}
	if rt.body != nil {
		if ids, err := rt.body.MatchAll(m.Body); err == nil {
			for _, id := range ids {
				out = append(out, string(id))
			}
		}
	}
	return out
}

// renderEnvelope renders the body delivered to subscriptions without
// Raw, as every backend does (driver.EncodeEnvelope).
func renderEnvelope(topic, id string, at time.Time, group, dedup string, headers map[string]string, body []byte) []byte {
	return driver.EncodeEnvelope(driver.Envelope{MessageID: id, Topic: topic, Timestamp: at, Group: group, DedupID: dedup, Headers: headers}, body)
}

// Publish evaluates the filter policies of the topic's subscriptions for
// each message and publishes it to the topic's exchange marked with the
// subscriptions it matched (and for tails), once raw and, if any matching
// subscription wants it, once as the envelope. It returns after RabbitMQ
// confirmed both, which it does once every queue they were routed to
// stored them.
func (c *Conn) Publish(ctx context.Context, topic string, msgs []driver.Message) ([]driver.SendResult, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, err
	}
	t, err := c.cat.topic(ctx, topic)
	if err != nil {
		return nil, err
	}
	rt := c.routingOf(t)
	res := make([]driver.SendResult, len(msgs))
	now := time.Now()
	var pubs []amqp.Publishing
	var owner []int // message index of each publishing
	matched := make([][]string, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if err := c.checkMessage(fmt.Sprintf("messages[%d]", i), m, t.Attrs.MaxMessageSize); err != nil {
			res[i].Err = err
			continue
		}
		id := newID()
		res[i].ID = id
		subs := rt.match(m)
		matched[i] = subs
		raw := newPublishing(id, m, now)
		raw.Headers[hTopic] = topic
		raw.Headers[hTail] = "1"
		var env *amqp.Publishing
		for _, s := range subs {
			if rt.raw[s] {
				raw.Headers[subFlag(s)] = "1"
				continue
			}
			if env == nil {
				p := newPublishing(id, m, now)
				p.Headers[hTopic] = topic
				p.Body = renderEnvelope(topic, id, now, m.Group, m.DedupID, m.Headers, m.Body)
				p.ContentType = "application/json"
				env = &p
			}
			env.Headers[subFlag(s)] = "1"
		}
		pubs = append(pubs, raw)
		owner = append(owner, i)
		if env != nil {
			pubs = append(pubs, *env)
			owner = append(owner, i)
		}
	}
	if len(pubs) > 0 {
		errs, err := c.publishWait(ctx, t.exchange(c.cfg.namespace), "", false, pubs)
		if err != nil {
			return nil, err
		}
		for j, e := range errs {
			if e != nil && res[owner[j]].Err == nil {
				res[owner[j]] = driver.SendResult{Err: fmt.Errorf("topic %q: %w", topic, e)}
			}
		}
	}
	c.tmu.Lock()
	tc := c.counters(topic)
	for i := range msgs {
		if res[i].Err != nil {
			continue
		}
		tc.published++
		for _, s := range matched[i] {
			tc.delivered[s]++
		}
		for s := range t.Subs {
			if !slices.Contains(matched[i], s) {
				tc.filtered[s]++
			}
		}
	}
	c.tmu.Unlock()
	return res, nil
}

// Subscribe creates or updates a durable or queue subscription. HTTP
// subscriptions are not supported: the broker cannot POST, and a pusher
// inside the driver would push only while some process holds it open.
func (c *Conn) Subscribe(ctx context.Context, topic, name string, sub driver.Subscription) (driver.SubscriptionInfo, error) {
	if err := c.live(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if err := driver.ValidateSubscriptionName("name", name); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if err := sub.Normalize(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if sub.Kind == driver.KindHTTP {
		return driver.SubscriptionInfo{}, fmt.Errorf("%w: %w", driver.Invalid("kind", "http subscriptions are not supported by the rabbitmq driver (RabbitMQ cannot make HTTP requests)"), driver.ErrUnsupported)
	}
	t, err := c.cat.topic(ctx, topic)
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	old := t.Subs[name]
	if old != nil && old.Spec.Kind != sub.Kind {
		return driver.SubscriptionInfo{}, fmt.Errorf("subscription %q is of kind %q; unsubscribe before subscribing as %q: %w", name, old.Spec.Kind, sub.Kind, driver.ErrConflict)
	}
	ex := t.exchange(c.cfg.namespace)
	flag := subFlag(name)
	var undo func()
	ev := event{Op: opSubPut, Name: topic, Sub: name, Spec: &sub}
	switch sub.Kind {
	case driver.KindQueue:
		q, err := c.cat.queue(ctx, sub.Queue)
		if err != nil {
			return driver.SubscriptionInfo{}, driver.Invalid("queue", "queue %q does not exist", sub.Queue)
		}
		if old == nil {
			phys := q.physical(c.cfg.namespace)
			if err := c.adminCall(ctx, func(ch *amqp.Channel) error { return ch.QueueBind(phys, "", ex, false, bindArgs(flag)) }); err != nil {
				return driver.SubscriptionInfo{}, fmt.Errorf("bind %s to %s: %w", phys, ex, err)
			}
			undo = func() {
				_ = c.adminCall(ctx, func(ch *amqp.Channel) error { return ch.QueueUnbind(phys, "", ex, bindArgs(flag)) })
			}
		}
	case driver.KindDurable:
		attrs := driver.DefaultQueueAttributes()
		if sub.Attributes != nil {
			attrs = *sub.Attributes
		}
		attrs.FIFO = t.Attrs.FIFO
		if err := unsupportedQueue(attrs); err != nil {
			return driver.SubscriptionInfo{}, err
		}
		if old == nil {
			qm := &queueMeta{Name: topic + "/" + name, Owner: topic + "/" + name, Gen: newID()[:12]}
			phys := qm.physical(c.cfg.namespace)
			if err := c.adminCall(ctx, func(ch *amqp.Channel) error {
				if _, err := ch.QueueDeclare(phys, true, false, false, false, quorumArgs); err != nil {
					return err
				}
				return ch.QueueBind(phys, "", ex, false, bindArgs(flag))
			}); err != nil {
				c.deletePhysical(ctx, phys)
				return driver.SubscriptionInfo{}, fmt.Errorf("declare subscription queue %s: %w", phys, err)
			}
			ev.Gen = qm.Gen
			undo = func() { c.deletePhysical(ctx, phys) }
		}
	}
	out, err := c.cat.append(ctx, ev)
	if undo != nil && (err != nil || !out.created) {
		undo()
	}
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if out.err != nil {
		return driver.SubscriptionInfo{}, out.err
	}
	return c.subInfo(ctx, out.topic, out.sub)
}

// subInfo renders a subscription with its counters and backlog.
func (c *Conn) subInfo(ctx context.Context, t *topicMeta, s *subMeta) (driver.SubscriptionInfo, error) {
	info := driver.SubscriptionInfo{
		Topic: t.Name, Name: s.Name, Subscription: s.Spec, Status: driver.StatusActive,
		CreatedAt: time.Unix(0, s.Created), UpdatedAt: time.Unix(0, s.Updated),
	}
	c.tmu.Lock()
	tc := c.counters(t.Name)
	info.Stats.Delivered, info.Stats.FilteredOut = tc.delivered[s.Name], tc.filtered[s.Name]
	c.tmu.Unlock()
	q := s.Queue
	if s.Spec.Kind == driver.KindQueue {
		var err error
		if q, err = c.cat.queue(ctx, s.Spec.Queue); err != nil {
			return info, err
		}
	}
	if q != nil {
		if cur := c.cat.currentQueue(q.Name); cur != nil && cur.Gen == q.Gen {
			q = cur
		}
		st, err := c.queueStats(ctx, q)
		if err != nil {
			return info, err
		}
		info.Stats.Backlog = st
	}
	return info, nil
}

// SubscriptionInfo returns one subscription.
func (c *Conn) SubscriptionInfo(ctx context.Context, topic, name string) (driver.SubscriptionInfo, error) {
	if err := c.live(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	t, s, err := c.cat.sub(ctx, topic, name)
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	return c.subInfo(ctx, t, s)
}

// ListSubscriptions returns the topic's subscriptions by name.
func (c *Conn) ListSubscriptions(ctx context.Context, topic string) ([]driver.SubscriptionInfo, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	t, err := c.cat.topic(ctx, topic)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(t.Subs))
	for n := range t.Subs {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]driver.SubscriptionInfo, 0, len(names))
	for _, n := range names {
		info, err := c.subInfo(ctx, t, t.Subs[n])
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Unsubscribe removes a subscription from the catalog, then deletes its
// queue (durable) or unbinds the queue it delivered into.
func (c *Conn) Unsubscribe(ctx context.Context, topic, name string) error {
	if err := c.live(); err != nil {
		return err
	}
	if _, _, err := c.cat.sub(ctx, topic, name); err != nil {
		return err
	}
	out, err := c.cat.append(ctx, event{Op: opSubDelete, Name: topic, Sub: name})
	if err != nil {
		return err
	}
	if out.err != nil {
		return out.err
	}
	s := out.sub
	switch {
	case s.Queue != nil:
		c.destroyQueue(ctx, s.Queue)
	case s.Spec.Kind == driver.KindQueue:
		c.cat.mu.RLock()
		q := c.cat.queues[s.Spec.Queue]
		c.cat.mu.RUnlock()
		if q != nil {
			phys, ex := q.physical(c.cfg.namespace), out.topic.exchange(c.cfg.namespace)
			if err := c.adminCall(ctx, func(ch *amqp.Channel) error { return ch.QueueUnbind(phys, "", ex, bindArgs(subFlag(name))) }); err != nil {
				return err
			}
		}
	}
	c.tmu.Lock()
	tc := c.counters(topic)
	delete(tc.delivered, name)
	delete(tc.filtered, name)
	c.tmu.Unlock()
	return nil
}

// ConfirmSubscription has nothing to confirm: only HTTP subscriptions
// are confirmed, and the driver has none.
func (c *Conn) ConfirmSubscription(ctx context.Context, topic, name, token string) error {
	if err := c.live(); err != nil {
		return err
	}
	if _, _, err := c.cat.sub(ctx, topic, name); err != nil {
		return err
	}
	return driver.Invalid("token", "subscription %q is active; only http subscriptions are confirmed", name)
}

// durableQueue returns the queue of a durable subscription.
func (c *Conn) durableQueue(ctx context.Context, topic, name string) (*queueMeta, error) {
	_, s, err := c.cat.sub(ctx, topic, name)
	if err != nil {
		return nil, err
	}
	if s.Queue == nil {
		return nil, driver.Invalid("subscription", "subscription %q delivers into queue %q; read that queue", name, s.Spec.Queue)
	}
	if cur := c.cat.currentQueue(s.Queue.Name); cur != nil && cur.Gen == s.Queue.Gen {
		return cur, nil
	}
	return s.Queue, nil
}

// ReceiveSubscription receives from a durable subscription's queue.
func (c *Conn) ReceiveSubscription(ctx context.Context, topic, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	q, err := c.durableQueue(ctx, topic, name)
	if err != nil {
		return nil, err
	}
	return c.receive(ctx, q, req)
}

// AckSubscription acks deliveries of a durable subscription.
func (c *Conn) AckSubscription(ctx context.Context, topic, name string, receipts []string) ([]error, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	q, err := c.durableQueue(ctx, topic, name)
	if err != nil {
		return nil, err
	}
	return c.ack(ctx, q, receipts)
}

// ChangeSubscriptionVisibility nacks or extends deliveries of a durable
// subscription.
func (c *Conn) ChangeSubscriptionVisibility(ctx context.Context, topic, name string, receipts []string, d time.Duration) ([]error, error) {
	if err := c.live(); err != nil {
		return nil, err
	}
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	if d < 0 || d > driver.MaxVisibilityTimeout {
		return nil, driver.Invalid("visibility", "%v is out of range; accepted is 0 to %v", d, driver.MaxVisibilityTimeout)
	}
	q, err := c.durableQueue(ctx, topic, name)
	if err != nil {
		return nil, err
	}
	return c.changeVisibility(ctx, q, receipts, d)
}
