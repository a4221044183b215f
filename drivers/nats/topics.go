package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// A topic is a JetStream stream on one subject: a publish is stored there
// first (JetStream's dedup window gives topics their 5-minute dedup; its
// last sequence counts what was published; tails read it live), then
// fanned out by the publisher to every matching subscription's queue
// (queue subscriptions: the named courier queue; durable ones: a queue of
// their own). Publish returns once the topic and every queue stored the
// message. The subscriptions of a topic live in one value of the
// metadata bucket, updated with compare-and-set and read by every publish.

// topicDesc is what a topic's stream description holds.
type topicDesc struct {
	Kind    string                 `json:"courier"` // "topic"
	UID     uint64                 `json:"uid"`
	Created int64                  `json:"created"`
	Attrs   driver.TopicAttributes `json:"attributes"`
}

// topicMeta is a topic's cached description.
type topicMeta struct {
	name   string
	desc   topicDesc
	loaded time.Time
}

// subRecord is one stored subscription.
type subRecord struct {
	Spec    driver.Subscription `json:"spec"`
	Created int64               `json:"created"`
	Updated int64               `json:"updated"`
}

// subsValue is the metadata value of a topic's subscriptions.
type subsValue struct {
	UID  uint64                `json:"uid"` // the topic's incarnation
	Subs map[string]*subRecord `json:"subscriptions"`
}

// subCounters count a subscription's deliveries made through this
// connection.
type subCounters struct {
	delivered, filtered atomic.Int64
}

func subsKey(topic string) string { return "sub." + encName(topic) }

func topicNotFound(name string) error { return fmt.Errorf("topic %q: %w", name, driver.ErrNotFound) }

func (c *conn) topicStreamConfig(name string, d topicDesc) jetstream.StreamConfig {
	b, _ := json.Marshal(d) // plain fields only
	return jetstream.StreamConfig{
		Name:        c.lay.topicStream(name),
		Description: string(b),
		Subjects:    []string{c.lay.topicSubject(name)},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      driver.DedupWindow,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Discard:     jetstream.DiscardOld,
		Duplicates:  driver.DedupWindow,
		Storage:     c.cfg.storage,
		Replicas:    c.cfg.replicas,
	}
}

// topicMeta returns a topic's cached description.
func (c *conn) topicMeta(ctx context.Context, name string) (*topicMeta, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	t := c.topics[name]
	c.mu.Unlock()
	if t != nil && time.Since(t.loaded) < c.cfg.metaTTL {
		return t, nil
	}
	return c.loadTopic(ctx, name)
}

func (c *conn) loadTopic(ctx context.Context, name string) (*topicMeta, error) {
	st, err := c.stream(ctx, c.lay.topicStream(name))
	if err != nil {
		c.forgetTopic(name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, topicNotFound(name)
		}
		return nil, mapErr(err)
	}
	t := &topicMeta{name: name, loaded: time.Now()}
	if err := json.Unmarshal([]byte(st.CachedInfo().Config.Description), &t.desc); err != nil || t.desc.Kind != "topic" {
		return nil, fmt.Errorf("stream %s exists but is not a courier topic: %w", c.lay.topicStream(name), driver.ErrConflict)
	}
	c.mu.Lock()
	c.topics[name] = t
	c.mu.Unlock()
	return t, nil
}

func (c *conn) forgetTopic(name string) {
	c.mu.Lock()
	delete(c.topics, name)
	c.mu.Unlock()
}

func (c *conn) topicErr(name string, err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		c.forgetTopic(name)
		return topicNotFound(name)
	}
	return mapErr(err)
}

// CreateTopic creates the topic's stream.
func (c *conn) CreateTopic(ctx context.Context, name string, attrs driver.TopicAttributes) (driver.TopicInfo, error) {
	if err := c.usable(); err != nil {
		return driver.TopicInfo{}, err
	}
	if err := driver.ValidateTopicName("name", name); err != nil {
		return driver.TopicInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.TopicInfo{}, err
	}
	if attrs.FIFO {
		if t, err := c.loadTopic(ctx, name); err == nil && t.desc.Attrs != attrs {
			return driver.TopicInfo{}, fmt.Errorf("topic %q exists with other attributes: %w", name, driver.ErrConflict)
		}
		return driver.TopicInfo{}, fmt.Errorf("%w: %w", driver.ErrUnsupported, driver.Invalid("fifo", "FIFO topics are not supported by the NATS driver: their subscriptions would need FIFO queues"))
	}
	d := topicDesc{Kind: "topic", UID: randomUID(), Created: time.Now().UnixNano(), Attrs: attrs}
	_, err := c.createStream(ctx, c.topicStreamConfig(name, d))
	if apiCode(err) == jetstream.JSErrCodeStreamNameInUse {
		t, lerr := c.loadTopic(ctx, name)
		if lerr != nil {
			return driver.TopicInfo{}, lerr
		}
		if t.desc.Attrs != attrs {
			return driver.TopicInfo{}, fmt.Errorf("topic %q exists with other attributes: %w", name, driver.ErrConflict)
		}
	} else if err != nil {
		return driver.TopicInfo{}, fmt.Errorf("create topic %q: %w", name, mapErr(err))
	}
	c.forgetTopic(name)
	return c.TopicInfo(ctx, name)
}

// TopicInfo returns the topic's attributes and counters: Published is the
// number of messages the topic ever stored, Tails the tails open on this
// connection.
func (c *conn) TopicInfo(ctx context.Context, name string) (driver.TopicInfo, error) {
	if err := c.usable(); err != nil {
		return driver.TopicInfo{}, err
	}
	st, err := c.stream(ctx, c.lay.topicStream(name))
	if err != nil {
		return driver.TopicInfo{}, c.topicErr(name, err)
	}
	var d topicDesc
	if err := json.Unmarshal([]byte(st.CachedInfo().Config.Description), &d); err != nil || d.Kind != "topic" {
		return driver.TopicInfo{}, fmt.Errorf("stream %s exists but is not a courier topic: %w", c.lay.topicStream(name), driver.ErrConflict)
	}
	sv, _, err := c.loadSubs(ctx, name, d.UID)
	if err != nil {
		return driver.TopicInfo{}, err
	}
	return driver.TopicInfo{
		Name:       name,
		Attributes: d.Attrs,
		CreatedAt:  time.Unix(0, d.Created),
		Stats: driver.TopicStats{
			Published:     int64(st.CachedInfo().State.LastSeq),
			Subscriptions: len(sv.Subs),
			Tails:         c.tailCount(name),
		},
	}, nil
}

// ListTopics lists the topics of the prefix.
func (c *conn) ListTopics(ctx context.Context) ([]string, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	names := []string{}
	all, err := c.streamNames(ctx, c.cfg.prefix+".t.*")
	if err != nil {
		return nil, mapErr(err)
	}
	for _, s := range all {
		if n, ok := c.lay.topicName(s); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// DeleteTopic deletes the topic's stream, its subscriptions and their
// queues, and ends its tails on this connection (tails elsewhere end when
// they notice the stream is gone).
func (c *conn) DeleteTopic(ctx context.Context, name string) error {
	if err := c.usable(); err != nil {
		return err
	}
	t, err := c.loadTopic(ctx, name)
	if err != nil {
		return err
	}
	if err := c.deleteStream(ctx, c.lay.topicStream(name)); err != nil {
		return c.topicErr(name, err)
	}
	c.forgetTopic(name)
	c.endTails(name)
	sv, _, err := c.loadSubs(ctx, name, t.desc.UID)
	if err != nil {
		return err
	}
	for sub, r := range sv.Subs {
		if r.Spec.Kind == driver.KindDurable {
			if err := c.deleteQueue(ctx, c.lay.subQueue(name, sub)); err != nil && !errors.Is(err, driver.ErrNotFound) {
				return err
			}
		}
	}
	kv, err := c.meta(ctx)
	if err != nil {
		return err
	}
	if err := c.kvPurge(ctx, kv, subsKey(name)); err != nil {
		return mapErr(err)
	}
	return nil
}

// loadSubs reads a topic's subscriptions and the value's revision (0 when
// there is none).
func (c *conn) loadSubs(ctx context.Context, topic string, uid uint64) (*subsValue, uint64, error) {
	sv := &subsValue{UID: uid, Subs: map[string]*subRecord{}}
	kv, err := c.meta(ctx)
	if err != nil {
		return nil, 0, err
	}
	e, err := c.kvGet(ctx, kv, subsKey(topic))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return sv, 0, nil
	}
	if err != nil {
		return nil, 0, mapErr(err)
	}
	var stored subsValue
	if json.Unmarshal(e.Value(), &stored) == nil && stored.UID == uid && stored.Subs != nil {
		sv = &stored
	}
	return sv, e.Revision(), nil
}

// updateSubs applies fn to a topic's subscriptions with compare-and-set.
func (c *conn) updateSubs(ctx context.Context, topic string, uid uint64, fn func(sv *subsValue) (bool, error)) error {
	kv, err := c.meta(ctx)
	if err != nil {
		return err
	}
	for range maxCASAttempts {
		sv, rev, err := c.loadSubs(ctx, topic, uid)
		if err != nil {
			return err
		}
		write, err := fn(sv)
		if err != nil || !write {
			return err
		}
		data, err := json.Marshal(sv)
		if err != nil {
			return err
		}
		err = c.putRevision(ctx, kv, subsKey(topic), data, rev)
		if err == nil {
			return nil
		}
		if !casConflict(err) {
			return mapErr(err)
		}
	}
	return fmt.Errorf("topic %q: gave up after %d conflicting concurrent subscription changes: %w", topic, maxCASAttempts, driver.ErrConflict)
}

// Subscribe creates or updates a subscription. HTTP subscriptions are not
// supported: NATS has nothing that POSTs, and the driver runs no server.
func (c *conn) Subscribe(ctx context.Context, topic, name string, sub driver.Subscription) (driver.SubscriptionInfo, error) {
	if err := c.usable(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if err := driver.ValidateSubscriptionName("name", name); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if err := sub.Normalize(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	sub.ConfirmURL = ""
	t, err := c.loadTopic(ctx, topic)
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	switch sub.Kind {
	case driver.KindHTTP:
		return driver.SubscriptionInfo{}, fmt.Errorf("%w: %w", driver.ErrUnsupported, driver.Invalid("kind", "http subscriptions are not supported by the NATS driver; subscribe a queue and push from a consumer"))
	case driver.KindQueue:
		if _, err := c.loadQueue(ctx, c.lay.queue(sub.Queue)); err != nil {
			if errors.Is(err, driver.ErrNotFound) {
				return driver.SubscriptionInfo{}, driver.Invalid("queue", "queue %q does not exist; create it first", sub.Queue)
			}
			return driver.SubscriptionInfo{}, err
		}
	case driver.KindDurable:
		attrs := driver.DefaultQueueAttributes()
		if sub.Attributes != nil {
			attrs = *sub.Attributes
		}
		attrs.FIFO = false
		sub.Attributes = &attrs
		ref := c.lay.subQueue(topic, name)
		// The queue comes first, so a stored subscription always has one.
		err := c.createQueue(ctx, ref, attrs)
		if errors.Is(err, driver.ErrConflict) {
			err = c.setQueueAttributes(ctx, ref, attrs)
		}
		if err != nil {
			return driver.SubscriptionInfo{}, err
		}
	}
	err = c.updateSubs(ctx, topic, t.desc.UID, func(sv *subsValue) (bool, error) {
		now := time.Now().UnixNano()
		old := sv.Subs[name]
		if old == nil {
			if len(sv.Subs) >= driver.MaxSubscriptions {
				return false, driver.TooLarge("name", "topic %q has %d subscriptions; the limit is %d", topic, len(sv.Subs), driver.MaxSubscriptions)
			}
			sv.Subs[name] = &subRecord{Spec: sub, Created: now, Updated: now}
			return true, nil
		}
		if old.Spec.Kind != sub.Kind || old.Spec.Queue != sub.Queue {
			return false, fmt.Errorf("subscription %q of topic %q is a %s subscription to %q; its kind and target cannot change (unsubscribe first): %w", name, topic, old.Spec.Kind, old.Spec.Queue, driver.ErrConflict)
		}
		if specEqual(old.Spec, sub) {
			return false, nil
		}
		old.Spec, old.Updated = sub, now
		return true, nil
	})
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	return c.SubscriptionInfo(ctx, topic, name)
}

func specEqual(a, b driver.Subscription) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// subscription reads one subscription.
func (c *conn) subscription(ctx context.Context, topic, name string) (*topicMeta, *subRecord, error) {
	t, err := c.loadTopic(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	sv, _, err := c.loadSubs(ctx, topic, t.desc.UID)
	if err != nil {
		return nil, nil, err
	}
	r := sv.Subs[name]
	if r == nil {
		return nil, nil, fmt.Errorf("subscription %q of topic %q: %w", name, topic, driver.ErrNotFound)
	}
	return t, r, nil
}

// SubscriptionInfo describes a subscription. Delivered and FilteredOut
// count the publishes made through this connection since it opened.
func (c *conn) SubscriptionInfo(ctx context.Context, topic, name string) (driver.SubscriptionInfo, error) {
	if err := c.usable(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	_, r, err := c.subscription(ctx, topic, name)
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	return c.subInfo(ctx, topic, name, r)
}

func (c *conn) subInfo(ctx context.Context, topic, name string, r *subRecord) (driver.SubscriptionInfo, error) {
	info := driver.SubscriptionInfo{
		Topic: topic, Name: name, Subscription: r.Spec, Status: driver.StatusActive,
		CreatedAt: time.Unix(0, r.Created), UpdatedAt: time.Unix(0, r.Updated),
	}
	ref := c.lay.subQueue(topic, name)
	if r.Spec.Kind == driver.KindQueue {
		ref = c.lay.queue(r.Spec.Queue)
	}
	m, err := c.loadQueue(ctx, ref)
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return info, err
	}
	if m != nil {
		if info.Stats.Backlog, err = c.queueStats(ctx, m); err != nil {
			return info, err
		}
	}
	sc := c.counters(topic, name)
	info.Stats.Delivered, info.Stats.FilteredOut = sc.delivered.Load(), sc.filtered.Load()
	return info, nil
}

func (c *conn) counters(topic, name string) *subCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := topic + "/" + name
	sc := c.subStats[k]
	if sc == nil {
		sc = &subCounters{}
		c.subStats[k] = sc
	}
	return sc
}

// ListSubscriptions returns the topic's subscriptions by name.
func (c *conn) ListSubscriptions(ctx context.Context, topic string) ([]driver.SubscriptionInfo, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	t, err := c.loadTopic(ctx, topic)
	if err != nil {
		return nil, err
	}
	sv, _, err := c.loadSubs(ctx, topic, t.desc.UID)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(sv.Subs))
	for n := range sv.Subs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]driver.SubscriptionInfo, 0, len(names))
	for _, n := range names {
		si, err := c.subInfo(ctx, topic, n, sv.Subs[n])
		if err != nil {
			return nil, err
		}
		out = append(out, si)
	}
	return out, nil
}

// Unsubscribe deletes a subscription and a durable one's queue.
func (c *conn) Unsubscribe(ctx context.Context, topic, name string) error {
	if err := c.usable(); err != nil {
		return err
	}
	t, err := c.loadTopic(ctx, topic)
	if err != nil {
		return err
	}
	var removed *subRecord
	err = c.updateSubs(ctx, topic, t.desc.UID, func(sv *subsValue) (bool, error) {
		removed = sv.Subs[name]
		if removed == nil {
			return false, fmt.Errorf("subscription %q of topic %q: %w", name, topic, driver.ErrNotFound)
		}
		delete(sv.Subs, name)
		return true, nil
	})
	if err != nil {
		return err
	}
	if removed.Spec.Kind == driver.KindDurable {
		if err := c.deleteQueue(ctx, c.lay.subQueue(topic, name)); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return err
		}
	}
	return nil
}

// ConfirmSubscription: only HTTP subscriptions are confirmed, and the
// driver has none.
func (c *conn) ConfirmSubscription(ctx context.Context, topic, name, token string) error {
	if err := c.usable(); err != nil {
		return err
	}
	_, r, err := c.subscription(ctx, topic, name)
	if err != nil {
		return err
	}
	return driver.Invalid("name", "subscription %q is a %s subscription; only http subscriptions are confirmed", name, r.Spec.Kind)
}

// durableQueue resolves the queue of a durable subscription, telling a
// missing subscription from one of another kind.
func (c *conn) durableQueue(ctx context.Context, topic, name string) (qref, error) {
	ref := c.lay.subQueue(topic, name)
	if _, err := c.queueMeta(ctx, ref); err == nil || !errors.Is(err, driver.ErrNotFound) {
		return ref, err
	}
	_, r, err := c.subscription(ctx, topic, name)
	if err != nil {
		return ref, err
	}
	return ref, driver.Invalid("name", "subscription %q is a %s subscription; only durable subscriptions are read directly", name, r.Spec.Kind)
}

// ReceiveSubscription receives from a durable subscription's queue.
func (c *conn) ReceiveSubscription(ctx context.Context, topic, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	ref, err := c.durableQueue(ctx, topic, name)
	if err != nil {
		return nil, err
	}
	return c.receive(ctx, ref, req)
}

// AckSubscription acks deliveries of a durable subscription.
func (c *conn) AckSubscription(ctx context.Context, topic, name string, receipts []string) ([]error, error) {
	ref, err := c.durableQueue(ctx, topic, name)
	if err != nil {
		return nil, err
	}
	return c.ack(ctx, ref, receipts)
}

// ChangeSubscriptionVisibility nacks or extends deliveries of a durable
// subscription.
func (c *conn) ChangeSubscriptionVisibility(ctx context.Context, topic, name string, receipts []string, d time.Duration) ([]error, error) {
	ref, err := c.durableQueue(ctx, topic, name)
	if err != nil {
		return nil, err
	}
	return c.changeVisibility(ctx, ref, receipts, d)
}

// queueSubscribers lists the queue subscriptions that deliver into the
// user queue name, as "topic/subscription".
func (c *conn) queueSubscribers(ctx context.Context, name string) ([]string, error) {
	kv, err := c.meta(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := c.listEntries(ctx, kv, "sub.*")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		var sv subsValue
		if json.Unmarshal(e.Value(), &sv) != nil {
			continue
		}
		topic := decName(e.Key()[len("sub."):])
		if t, err := c.loadTopic(ctx, topic); err != nil || t.desc.UID != sv.UID {
			continue // a leftover of a deleted topic
		}
		for n, r := range sv.Subs {
			if r.Spec.Kind == driver.KindQueue && r.Spec.Queue == name {
				out = append(out, topic+"/"+n)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Publish stores msgs in the topic, then in every matching subscription's
// queue, and returns once all of it is stored. A duplicate (its dedup ID
// seen on the topic within the window) is fanned out again from the
// stored original under the same per-queue dedup IDs, which the queues
// drop: so retrying a publish that failed halfway completes it, and
// delivers nothing twice.
func (c *conn) Publish(ctx context.Context, topic string, msgs []driver.Message) ([]driver.SendResult, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, err
	}
	t, err := c.topicMeta(ctx, topic)
	if err != nil {
		return nil, err
	}
	sv, _, err := c.loadSubs(ctx, topic, t.desc.UID)
	if err != nil {
		return nil, err
	}
	routes, err := c.routes(ctx, topic, sv)
	if err != nil {
		return nil, err
	}
	attrs := t.desc.Attrs
	res := make([]driver.SendResult, len(msgs))
	out := make([]*nats.Msg, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		field := fmt.Sprintf("messages[%d]", i)
		if size := driver.MessageSize(m); size > attrs.MaxMessageSize {
			res[i].Err = driver.TooLarge(field, "message is %d bytes (body plus headers); topic %q accepts up to %d", size, topic, attrs.MaxMessageSize)
			continue
		}
		nm := &nats.Msg{Subject: c.lay.topicSubject(topic), Data: m.Body, Header: nats.Header{}}
		putUserHeaders(nm.Header, m.Headers)
		if m.Group != "" {
			nm.Header[hGroup] = []string{m.Group}
		}
		if m.DedupID != "" {
			nm.Header[hDedup] = []string{m.DedupID}
		}
		if id := dedupID(m, attrs.ContentBasedDedup); id != "" {
			nm.Header[hMsgID] = []string{"d:" + id}
		}
		if err := c.checkPayload(nm, field); err != nil {
			res[i].Err = err
			continue
		}
		out[i] = nm
	}
	at := time.Now()
	acks, err := c.publishAll(ctx, out)
	if err != nil {
		return nil, c.topicErr(topic, err)
	}
	var fan []*nats.Msg
	for i, a := range acks {
		if out[i] == nil {
			continue
		}
		if a.err != nil {
			res[i].Err = mapErr(a.err)
			continue
		}
		res[i].ID, res[i].Duplicate = messageID(t.desc.UID, a.seq), a.duplicate
		if len(routes) == 0 {
			continue
		}
		pm := published{topic: topic, id: res[i].ID, at: at, msg: &msgs[i]}
		if a.duplicate {
			orig, err := c.original(ctx, topic, a.seq)
			if err != nil {
				c.log.Warn("cannot read the original of a duplicate publish; not fanning it out again", "topic", topic, "id", res[i].ID, "error", err)
				continue
			}
			pm = orig
			pm.id = res[i].ID
		}
		fan = append(fan, c.fanOut(routes, &pm, !a.duplicate)...)
	}
	facks, err := c.publishAll(ctx, fan)
	if err != nil {
		return nil, fmt.Errorf("topic %q: the messages are stored in the topic but not yet in every subscription (publish again with the same dedup IDs to complete it): %w", topic, mapErr(err))
	}
	for _, a := range facks {
		if a.err != nil {
			return nil, fmt.Errorf("topic %q: the messages are stored in the topic but not yet in every subscription (publish again with the same dedup IDs to complete it): %w", topic, mapErr(a.err))
		}
	}
	return res, nil
}

// published is a message as fanned out.
type published struct {
	topic string
	id    string
	at    time.Time
	msg   *driver.Message
}

// original reads the stored message a duplicate publish refers to.
func (c *conn) original(ctx context.Context, topic string, seq uint64) (published, error) {
	st, err := c.stream(ctx, c.lay.topicStream(topic))
	if err != nil {
		return published{}, err
	}
	raw, err := c.getMsg(ctx, st, seq)
	if err != nil {
		return published{}, err
	}
	m := &driver.Message{Body: raw.Data, Headers: userHeaders(raw.Header), Group: raw.Header.Get(hGroup), DedupID: raw.Header.Get(hDedup)}
	return published{topic: topic, at: raw.Time, msg: m}, nil
}

// route is one subscription as a publish sees it.
type route struct {
	name   string
	spec   driver.Subscription
	filter *pattern.Pattern
	queue  *queueMeta
	counts *subCounters
}

// filterCache keeps compiled filter policies by scope and text.
var filterCache sync.Map

func compiledFilter(policy string, scope driver.FilterScope) (*pattern.Pattern, error) {
	key := string(scope) + "\x00" + policy
	if p, ok := filterCache.Load(key); ok {
		return p.(*pattern.Pattern), nil
	}
	p, err := driver.CompileFilter("filter_policy", policy, scope)
	if err != nil {
		return nil, err
	}
	filterCache.Store(key, p)
	return p, nil
}

// routes resolves a topic's subscriptions to their queues.
func (c *conn) routes(ctx context.Context, topic string, sv *subsValue) ([]route, error) {
	out := make([]route, 0, len(sv.Subs))
	for name, r := range sv.Subs {
		if r.Spec.Kind != driver.KindQueue && r.Spec.Kind != driver.KindDurable {
			continue
		}
		f, err := compiledFilter(r.Spec.FilterPolicy, r.Spec.FilterScope)
		if err != nil {
			return nil, err
		}
		ref := c.lay.subQueue(topic, name)
		if r.Spec.Kind == driver.KindQueue {
			ref = c.lay.queue(r.Spec.Queue)
		}
		m, err := c.queueMeta(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("subscription %q of topic %q: %w", name, topic, err)
		}
		out = append(out, route{name: name, spec: r.Spec, filter: f, queue: m, counts: c.counters(topic, name)})
	}
	return out, nil
}

// fanOut builds the queue messages of one published message.
func (c *conn) fanOut(routes []route, p *published, count bool) []*nats.Msg {
	var out []*nats.Msg
	var attrs map[string]pattern.Attribute
	for _, r := range routes {
		if r.filter != nil {
			var ok bool
			if r.spec.FilterScope == driver.ScopeBody {
				ok, _ = r.filter.Match(p.msg.Body) // a body that is not a JSON object matches nothing
			} else {
				if attrs == nil {
					attrs = driver.HeaderAttributes(p.msg.Headers)
				}
				ok, _ = r.filter.MatchAttributes(attrs)
			}
			if !ok {
				if count {
					r.counts.filtered.Add(1)
				}
				continue
			}
		}
		body := p.msg.Body
		if !r.spec.Raw {
			body = envelope(p)
		}
		h := nats.Header{}
		putUserHeaders(h, p.msg.Headers)
		if p.msg.Group != "" {
			h[hGroup] = []string{p.msg.Group}
		}
		if p.msg.DedupID != "" {
			h[hDedup] = []string{p.msg.DedupID}
		}
		h[hID] = []string{p.id}
		setInt(h, hSent, p.at.UnixNano())
		h[hMsgID] = []string{"tp:" + p.id}
		subj := r.queue.ref.subj
		if d := r.queue.attrs().DeliveryDelay; d > 0 {
			subj = r.queue.ref.delayed(firstToken)
			setInt(h, hVisibleAt, time.Now().Add(d).UnixNano())
		}
		out = append(out, &nats.Msg{Subject: subj, Data: body, Header: h})
		if count {
			r.counts.delivered.Add(1)
		}
	}
	return out
}

// envelope renders a published message for a subscription without Raw,
// as every backend does (driver.EncodeEnvelope).
func envelope(p *published) []byte {
	return driver.EncodeEnvelope(driver.Envelope{MessageID: p.id, Topic: p.topic, Timestamp: p.at,
		Group: p.msg.Group, DedupID: p.msg.DedupID, Headers: p.msg.Headers}, p.msg.Body)
}
