package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// topic is one topic incarnation: its subscriptions and the routing that
// publishes match against.
type topic struct {
	tid     uint64
	name    string
	attrs   driver.TopicAttributes
	created int64
	fifoSeq uint64
	dedup   dedupWindow
	subs    map[string]*subscription
	feeds   map[*feed]struct{}

	// routes is rebuilt under e.mu on every change of subscriptions or
	// feeds; publishers match against it without the lock.
	routes    atomic.Pointer[routing]
	published atomic.Int64
}

// subscription is a subscription of a topic.
type subscription struct {
	topic   *topic
	name    string
	spec    driver.Subscription
	active  bool
	token   string
	qid     uint64 // the queue a durable or HTTP subscription owns; 0 for queue subscriptions
	created int64
	updated int64

	delivered, filteredOut, pushFailures, deadLettered atomic.Int64

	// pusher runs while an HTTP subscription exists (live engines only).
	pusher *pusher
}

// ownedQueueName is the name of the queue a subscription owns. A '/'
// cannot occur in the names users choose, so it never collides.
func ownedQueueName(topicName, sub string) string { return topicName + "/" + sub }

// routing is an immutable view of where a topic's messages go.
type routing struct {
	subs       map[pattern.RuleID]*subscription
	feeds      map[pattern.RuleID]*feed
	unfiltered []pattern.RuleID
	attrs      *pattern.Matcher // attribute-scope filters; nil when none
	body       *pattern.Matcher // body-scope filters; nil when none
}

// reroute rebuilds t's routing; the caller holds e.mu.
func (t *topic) reroute() {
	rt := &routing{subs: make(map[pattern.RuleID]*subscription), feeds: make(map[pattern.RuleID]*feed)}
	attrRules := map[pattern.RuleID]*pattern.Pattern{}
	bodyRules := map[pattern.RuleID]*pattern.Pattern{}
	add := func(id pattern.RuleID, policy string, scope driver.FilterScope) {
		p, err := driver.CompileFilter("filter_policy", policy, scope)
		switch {
		case err != nil:
			// Stored policies were valid when stored; a policy the
			// current build rejects matches nothing rather than all.
			return
		case p == nil:
			rt.unfiltered = append(rt.unfiltered, id)
		case scope == driver.ScopeBody:
			bodyRules[id] = p
		default:
			attrRules[id] = p
		}
	}
	for name, s := range t.subs {
		if !s.active {
			continue
		}
		id := pattern.RuleID(name)
		rt.subs[id] = s
		add(id, s.spec.FilterPolicy, s.spec.FilterScope)
	}
	for f := range t.feeds {
		rt.feeds[f.id] = f
		add(f.id, f.opts.FilterPolicy, f.opts.FilterScope)
	}
	if len(attrRules) > 0 {
		rt.attrs = pattern.NewMatcher()
		_ = rt.attrs.AddAll(attrRules) // patterns are non-nil
	}
	if len(bodyRules) > 0 {
		rt.body = pattern.NewMatcher()
		_ = rt.body.AddAll(bodyRules)
	}
	sort.Slice(rt.unfiltered, func(i, j int) bool { return rt.unfiltered[i] < rt.unfiltered[j] })
	t.routes.Store(rt)
}

// lockTopic takes e.mu and returns the topic named name, checking that
// the engine accepts changes (write) or at least calls. On error e.mu is
// released.
func (e *Engine) lockTopic(name string, write bool) (*topic, error) {
	e.mu.Lock()
	err := e.usable()
	if write {
		err = e.writable()
	}
	var t *topic
	if err == nil {
		if t = e.topics[name]; t == nil {
			err = fmt.Errorf("topic %q: %w", name, driver.ErrNotFound)
		}
	}
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	return t, nil
}

// lockSubscription takes e.mu and returns a subscription; on error e.mu is
// released.
func (e *Engine) lockSubscription(topicName, name string, write bool) (*subscription, error) {
	t, err := e.lockTopic(topicName, write)
	if err != nil {
		return nil, err
	}
	s := t.subs[name]
	if s == nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("topic %q has no subscription %q: %w", topicName, name, driver.ErrNotFound)
	}
	return s, nil
}

func (t *topic) info() driver.TopicInfo {
	return driver.TopicInfo{
		Name:       t.name,
		Attributes: t.attrs,
		CreatedAt:  time.Unix(0, t.created),
		Stats:      driver.TopicStats{Published: t.published.Load(), Subscriptions: len(t.subs), Tails: len(t.feeds)},
	}
}

// target returns the queue a subscription delivers into; the caller holds
// e.mu.
func (e *Engine) target(s *subscription) *queue {
	if s.qid != 0 {
		return e.byID[s.qid]
	}
	return e.queues[s.spec.Queue]
}

// subscriptionInfo describes s at now; the caller holds e.mu.
func (e *Engine) subscriptionInfo(s *subscription, now int64) driver.SubscriptionInfo {
	info := driver.SubscriptionInfo{
		Topic:        s.topic.name,
		Name:         s.name,
		Subscription: s.spec,
		Status:       driver.StatusActive,
		CreatedAt:    time.Unix(0, s.created),
		UpdatedAt:    time.Unix(0, s.updated),
		Stats: driver.SubscriptionStats{
			Delivered:    s.delivered.Load(),
			FilteredOut:  s.filteredOut.Load(),
			PushFailures: s.pushFailures.Load(),
			DeadLettered: s.deadLettered.Load(),
		},
	}
	info.ConfirmURL = ""
	if !s.active {
		info.Status = driver.StatusPendingConfirmation
	}
	if q := e.target(s); q != nil {
		q.advance(now, e.forget)
		info.Stats.Backlog = q.stats(now)
	}
	return info
}

// CreateTopic creates a topic, or returns the existing one if its
// attributes are equal.
func (e *Engine) CreateTopic(ctx context.Context, name string, attrs driver.TopicAttributes) (driver.TopicInfo, error) {
	if err := driver.ValidateTopicName("name", name); err != nil {
		return driver.TopicInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.TopicInfo{}, err
	}
	e.mu.Lock()
	if err := e.writable(); err != nil {
		e.mu.Unlock()
		return driver.TopicInfo{}, err
	}
	if t := e.topics[name]; t != nil {
		defer e.mu.Unlock()
		if t.attrs != attrs {
			return driver.TopicInfo{}, fmt.Errorf("topic %q exists with other attributes: %w", name, driver.ErrConflict)
		}
		return t.info(), nil
	}
	rec := &topicRecord{TID: e.nextTID, Name: name, Attrs: attrs, At: now()}
	_, wait, err := e.log(recCreateTopic, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return driver.TopicInfo{}, err
	}
	e.applyCreateTopic(rec)
	info := e.topics[name].info()
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// TopicInfo returns a topic's attributes and stats.
func (e *Engine) TopicInfo(ctx context.Context, name string) (driver.TopicInfo, error) {
	t, err := e.lockTopic(name, false)
	if err != nil {
		return driver.TopicInfo{}, err
	}
	defer e.mu.Unlock()
	return t.info(), nil
}

// ListTopics returns the topic names in order.
func (e *Engine) ListTopics(ctx context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(e.topics))
	for n := range e.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// DeleteTopic deletes a topic, its subscriptions and the queues they own.
func (e *Engine) DeleteTopic(ctx context.Context, name string) error {
	t, err := e.lockTopic(name, true)
	if err != nil {
		return err
	}
	rec := &tidRecord{TID: t.tid}
	_, wait, err := e.log(recDeleteTopic, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyDeleteTopic(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

// ownedQueueAttributes are the attributes of the queue a subscription of
// t owns.
func ownedQueueAttributes(t *topic, spec *driver.Subscription) driver.QueueAttributes {
	attrs := driver.DefaultQueueAttributes()
	switch spec.Kind {
	case driver.KindDurable:
		if spec.Attributes != nil {
			attrs = *spec.Attributes
		}
	case driver.KindHTTP:
		// A POST in progress must not be redelivered by another worker.
		attrs.VisibilityTimeout = spec.Push.Timeout + 30*time.Second
		if spec.Push.DeadLetterQueue != "" {
			attrs.DeadLetterQueue = spec.Push.DeadLetterQueue
			attrs.MaxReceives = spec.Push.MaxAttempts
		}
	}
	attrs.FIFO = t.attrs.FIFO
	attrs.ContentBasedDedup = false
	return attrs
}

// checkSubscription checks a subscription against the engine's state; the
// caller holds e.mu.
func (e *Engine) checkSubscription(t *topic, name string, spec *driver.Subscription) error {
	kind := func(fifo bool) string {
		if fifo {
			return "FIFO"
		}
		return "standard"
	}
	switch spec.Kind {
	case driver.KindQueue:
		q := e.queues[spec.Queue]
		if q == nil || q.owner != nil {
			return driver.Invalid("queue", "queue %q does not exist; create it first", spec.Queue)
		}
		if q.fifo() != t.attrs.FIFO {
			return driver.Invalid("queue", "topic %q is a %s topic; it delivers only to %s queues and %q is %s", t.name, kind(t.attrs.FIFO), kind(t.attrs.FIFO), spec.Queue, kind(q.fifo()))
		}
	case driver.KindHTTP:
		if t.attrs.FIFO {
			return driver.Invalid("kind", "topic %q is a FIFO topic; FIFO topics deliver only to FIFO queues (queue and durable subscriptions)", t.name)
		}
	}
	if spec.Kind != driver.KindQueue {
		attrs := ownedQueueAttributes(t, spec)
		if err := e.checkDeadLetter(ownedQueueName(t.name, name), attrs); err != nil {
			if ve, ok := err.(*driver.ValidationError); ok && spec.Kind == driver.KindHTTP {
				ve.Field = "push.dead_letter_queue"
			} else if ok {
				ve.Field = "attributes." + ve.Field
			}
			return err
		}
	}
	return nil
}

// Subscribe creates or updates a subscription.
func (e *Engine) Subscribe(ctx context.Context, topicName, name string, spec driver.Subscription) (driver.SubscriptionInfo, error) {
	if err := driver.ValidateSubscriptionName("name", name); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if err := spec.Normalize(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	confirmURL := spec.ConfirmURL
	spec.ConfirmURL = ""
	if spec.Kind == driver.KindDurable && spec.Attributes == nil {
		d := driver.DefaultQueueAttributes()
		spec.Attributes = &d
	}
	t, err := e.lockTopic(topicName, true)
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if spec.Attributes != nil {
		spec.Attributes.FIFO = t.attrs.FIFO
		spec.Attributes.ContentBasedDedup = false
	}
	if err := e.checkSubscription(t, name, &spec); err != nil {
		e.mu.Unlock()
		return driver.SubscriptionInfo{}, err
	}
	at := now()
	old := t.subs[name]
	rec := &subscribeRecord{TID: t.tid, Name: name, Spec: spec, Active: spec.Kind != driver.KindHTTP, At: at}
	var payloads [][]byte
	var types []byte
	switch {
	case old != nil && (old.spec.Kind != spec.Kind || old.spec.Queue != spec.Queue || old.spec.Endpoint != spec.Endpoint):
		e.mu.Unlock()
		return driver.SubscriptionInfo{}, fmt.Errorf("topic %q: subscription %q exists with another kind or target (%s %s%s); unsubscribe first: %w",
			topicName, name, old.spec.Kind, old.spec.Queue, old.spec.Endpoint, driver.ErrConflict)
	case old != nil && sameSpec(&old.spec, &spec):
		info := e.subscriptionInfo(old, at)
		e.mu.Unlock()
		return info, nil
	case old != nil:
		rec.Active, rec.Token, rec.QID = old.active, old.token, old.qid
		if rec.QID != 0 {
			attrs := ownedQueueAttributes(t, &spec)
			if q := e.byID[rec.QID]; q != nil && q.attrs != attrs {
				types = append(types, recSetAttrs)
				payloads = append(payloads, encodeRecord(&queueRecord{QID: rec.QID, Name: q.name, Attrs: attrs, At: at}))
			}
		}
	case len(t.subs) >= driver.MaxSubscriptions:
		e.mu.Unlock()
		return driver.SubscriptionInfo{}, driver.TooLarge("name", "topic %q has %d subscriptions, the limit", topicName, driver.MaxSubscriptions)
	default:
		if spec.Kind == driver.KindHTTP {
			rec.Token = newToken()
		}
		if spec.Kind != driver.KindQueue {
			qname := ownedQueueName(t.name, name)
			if e.queues[qname] != nil { // left over in a damaged log
				e.dropQueue(e.queues[qname])
			}
			rec.QID = e.nextQID
			types = append(types, recCreateQueue)
			payloads = append(payloads, encodeRecord(&queueRecord{QID: rec.QID, Name: qname, Attrs: ownedQueueAttributes(t, &spec), At: at}))
		}
	}
	types = append(types, recSubscribe)
	payloads = append(payloads, encodeRecord(rec))
	var wait func(context.Context) error
	for i, typ := range types {
		_, w, err := e.log(typ, payloads[i])
		if err != nil {
			e.mu.Unlock()
			return driver.SubscriptionInfo{}, err
		}
		wait = w
		r, _ := decodeRecord(typ, payloads[i])
		_ = e.apply(typ, r, pos{}, payloads[i])
	}
	s := t.subs[name]
	if s.spec.Kind == driver.KindHTTP {
		e.startPusher(s, confirmURL)
	}
	info := e.subscriptionInfo(s, at)
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// sameSpec reports whether two normalized subscriptions are equal.
func sameSpec(a, b *driver.Subscription) bool {
	if (a.Attributes == nil) != (b.Attributes == nil) || a.Attributes != nil && *a.Attributes != *b.Attributes {
		return false
	}
	x, y := *a, *b
	x.Attributes, y.Attributes = nil, nil
	return x == y
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// SubscriptionInfo returns one subscription.
func (e *Engine) SubscriptionInfo(ctx context.Context, topicName, name string) (driver.SubscriptionInfo, error) {
	s, err := e.lockSubscription(topicName, name, false)
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	defer e.mu.Unlock()
	return e.subscriptionInfo(s, now()), nil
}

// ListSubscriptions returns a topic's subscriptions by name.
func (e *Engine) ListSubscriptions(ctx context.Context, topicName string) ([]driver.SubscriptionInfo, error) {
	t, err := e.lockTopic(topicName, false)
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	at := now()
	out := make([]driver.SubscriptionInfo, 0, len(t.subs))
	for _, s := range t.subs {
		out = append(out, e.subscriptionInfo(s, at))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Unsubscribe deletes a subscription and the queue it owns.
func (e *Engine) Unsubscribe(ctx context.Context, topicName, name string) error {
	s, err := e.lockSubscription(topicName, name, true)
	if err != nil {
		return err
	}
	rec := &unsubscribeRecord{TID: s.topic.tid, Name: name}
	_, wait, err := e.log(recUnsubscribe, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyUnsubscribe(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

// ConfirmSubscription activates a pending HTTP subscription.
func (e *Engine) ConfirmSubscription(ctx context.Context, topicName, name, token string) error {
	if err := driver.ValidateConfirmToken(token); err != nil {
		return err
	}
	s, err := e.lockSubscription(topicName, name, true)
	if err != nil {
		return err
	}
	if s.spec.Kind != driver.KindHTTP {
		e.mu.Unlock()
		return driver.Invalid("name", "subscription %q is a %s subscription; only http subscriptions are confirmed", name, s.spec.Kind)
	}
	if token != s.token {
		e.mu.Unlock()
		return driver.Invalid("token", "does not match the token sent to the endpoint of subscription %q", name)
	}
	if s.active {
		e.mu.Unlock()
		return nil
	}
	rec := &subscribeRecord{TID: s.topic.tid, Name: name, Spec: s.spec, Active: true, Token: s.token, QID: s.qid, At: now()}
	_, wait, err := e.log(recSubscribe, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applySubscribe(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

// durableQueue returns the name of the queue a durable subscription owns.
func (e *Engine) durableQueue(topicName, name string) (string, error) {
	s, err := e.lockSubscription(topicName, name, false)
	if err != nil {
		return "", err
	}
	defer e.mu.Unlock()
	if s.spec.Kind != driver.KindDurable {
		return "", driver.Invalid("name", "subscription %q is a %s subscription; only durable subscriptions are read directly", name, s.spec.Kind)
	}
	return ownedQueueName(topicName, name), nil
}

// ReceiveSubscription receives from a durable subscription.
func (e *Engine) ReceiveSubscription(ctx context.Context, topicName, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	q, err := e.durableQueue(topicName, name)
	if err != nil {
		return nil, err
	}
	return e.Receive(ctx, q, req)
}

// AckSubscription acknowledges deliveries of a durable subscription.
func (e *Engine) AckSubscription(ctx context.Context, topicName, name string, receipts []string) ([]error, error) {
	q, err := e.durableQueue(topicName, name)
	if err != nil {
		return nil, err
	}
	return e.Ack(ctx, q, receipts)
}

// ChangeSubscriptionVisibility nacks or extends deliveries of a durable
// subscription.
func (e *Engine) ChangeSubscriptionVisibility(ctx context.Context, topicName, name string, receipts []string, d time.Duration) ([]error, error) {
	q, err := e.durableQueue(topicName, name)
	if err != nil {
		return nil, err
	}
	return e.ChangeVisibility(ctx, q, receipts, d)
}

func (e *Engine) applyCreateTopic(r *topicRecord) {
	if old := e.topics[r.Name]; old != nil { // only in a damaged log: keep the newer
		e.dropTopic(old)
	}
	t := &topic{tid: r.TID, name: r.Name, attrs: r.Attrs, created: r.At, subs: make(map[string]*subscription), feeds: make(map[*feed]struct{})}
	t.reroute()
	e.topics[r.Name] = t
	e.topicByID[r.TID] = t
	e.nextTID = max(e.nextTID, r.TID+1)
}

func (e *Engine) applyDeleteTopic(r *tidRecord) {
	if t := e.topicByID[r.TID]; t != nil {
		e.dropTopic(t)
	}
}

func (e *Engine) dropTopic(t *topic) {
	for _, s := range t.subs {
		e.dropSubscription(s)
	}
	for f := range t.feeds {
		f.end()
	}
	clear(t.feeds)
	t.reroute()
	delete(e.topics, t.name)
	delete(e.topicByID, t.tid)
}

func (e *Engine) dropSubscription(s *subscription) {
	if s.pusher != nil {
		s.pusher.stop()
		s.pusher = nil
	}
	if q := e.byID[s.qid]; s.qid != 0 && q != nil {
		e.dropQueue(q)
	}
	delete(s.topic.subs, s.name)
}

func (e *Engine) applySubscribe(r *subscribeRecord) {
	t := e.topicByID[r.TID]
	if t == nil {
		return
	}
	s := t.subs[r.Name]
	if s == nil {
		s = &subscription{topic: t, name: r.Name, created: r.At}
		t.subs[r.Name] = s
	}
	s.spec, s.active, s.token, s.qid, s.updated = r.Spec, r.Active, r.Token, r.QID, r.At
	if q := e.byID[r.QID]; r.QID != 0 && q != nil {
		q.owner = s
	}
	if s.pusher != nil && s.active {
		s.pusher.confirm()
	}
	t.reroute()
}

func (e *Engine) applyUnsubscribe(r *unsubscribeRecord) {
	t := e.topicByID[r.TID]
	if t == nil {
		return
	}
	if s := t.subs[r.Name]; s != nil {
		e.dropSubscription(s)
		t.reroute()
	}
}
