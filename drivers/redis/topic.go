package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

func topicNotFound(name string) error { return fmt.Errorf("topic %q: %w", name, driver.ErrNotFound) }

func subNotFound(topic, name string) error {
	return fmt.Errorf("topic %q has no subscription %q: %w", topic, name, driver.ErrNotFound)
}

// ownedQueue is the name of the queue a durable subscription owns; '/'
// never occurs in the names users choose.
func ownedQueue(topic, sub string) string { return topic + "/" + sub }

// CreateTopic creates a topic, or returns the existing one when its
// attributes are equal (ErrConflict otherwise).
func (c *Conn) CreateTopic(ctx context.Context, name string, attrs driver.TopicAttributes) (driver.TopicInfo, error) {
	if err := driver.ValidateTopicName("name", name); err != nil {
		return driver.TopicInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.TopicInfo{}, err
	}
	v, err := c.run(ctx, scriptTopicCreate, name, boolArg(attrs.FIFO), boolArg(attrs.ContentBasedDedup), strconv.Itoa(attrs.MaxMessageSize))
	if err != nil {
		return driver.TopicInfo{}, err
	}
	res := list(v)
	if len(res) < 8 {
		return driver.TopicInfo{}, malformed("topic_create", v)
	}
	if str(res[0]) == "conflict" {
		return driver.TopicInfo{}, fmt.Errorf("topic %q exists with other attributes: %w", name, driver.ErrConflict)
	}
	c.contentDedup.Store("t:"+name, attrs.ContentBasedDedup)
	return topicFields(name, res[1:]), nil
}

// topicFields decodes the TF fields of a topic (see topic_common.lua):
// gen, fifo, cbd, max, created, pub, ver.
func topicFields(name string, f []any) driver.TopicInfo {
	return driver.TopicInfo{
		Name: name,
		Attributes: driver.TopicAttributes{
			FIFO: str(f[1]) == "1", ContentBasedDedup: str(f[2]) == "1", MaxMessageSize: int(num(f[3])),
		},
		CreatedAt: fromMS(num(f[4])),
		Stats:     driver.TopicStats{Published: num(f[5])},
	}
}

// TopicInfo returns a topic's attributes and stats. Tails counts the open
// tails of every process connected to the server.
func (c *Conn) TopicInfo(ctx context.Context, name string) (driver.TopicInfo, error) {
	v, err := c.run(ctx, scriptTopicInfo, name)
	if err != nil {
		return driver.TopicInfo{}, err
	}
	res := list(v)
	if len(res) == 0 {
		return driver.TopicInfo{}, topicNotFound(name)
	}
	if len(res) != 9 {
		return driver.TopicInfo{}, malformed("topic_info", v)
	}
	info := topicFields(name, res)
	info.Stats.Subscriptions = int(num(res[7]))
	info.Stats.Tails = int(num(res[8]))
	return info, nil
}

// ListTopics returns the topic names in sorted order.
func (c *Conn) ListTopics(ctx context.Context) ([]string, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	names, err := c.rdb.SMembers(ctx, c.prefix+":topics").Result()
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	slices.Sort(names)
	return names, nil
}

// DeleteTopic deletes a topic, its subscriptions and the queues they own;
// its tails, in every process, end.
func (c *Conn) DeleteTopic(ctx context.Context, name string) error {
	v, err := c.run(ctx, scriptTopicDelete, name)
	if err != nil {
		return err
	}
	c.forget(name)
	if num(v) == 0 {
		return topicNotFound(name)
	}
	return nil
}

// routing is a topic's subscriptions as last read, compiled for matching.
// Publishes carry its version; the publish script refuses a stale one, and
// the publisher reads the subscriptions again.
type routing struct {
	version    string // gen:ver
	fifo       bool
	subs       map[pattern.RuleID]*route
	unfiltered []pattern.RuleID
	attrs      *pattern.Matcher // attribute-scope filters; nil when none
	body       *pattern.Matcher // body-scope filters; nil when none
}

// route is one subscription of a routing.
type route struct {
	name, queue string
	raw         bool
}

func (c *Conn) forget(topic string) {
	c.mu.Lock()
	delete(c.routes, topic)
	c.mu.Unlock()
}

// routing returns the routing of topic, read again when fresh is set or
// none is cached.
func (c *Conn) routing(ctx context.Context, topic string, fresh bool) (*routing, error) {
	c.mu.Lock()
	rt := c.routes[topic]
	c.mu.Unlock()
	if rt != nil && !fresh {
		return rt, nil
	}
	v, err := c.run(ctx, scriptRoutes, topic)
	if err != nil {
		return nil, err
	}
	res := list(v)
	if len(res) == 0 {
		c.forget(topic)
		return nil, topicNotFound(topic)
	}
	if len(res) < 4 || len(res)%2 != 0 {
		return nil, malformed("routes", v)
	}
	rt = &routing{version: str(res[0]), fifo: str(res[1]) == "1", subs: make(map[pattern.RuleID]*route)}
	c.contentDedup.Store("t:"+topic, str(res[2]) == "1")
	attrRules := map[pattern.RuleID]*pattern.Pattern{}
	bodyRules := map[pattern.RuleID]*pattern.Pattern{}
	for i := 4; i < len(res); i += 2 {
		name := str(res[i])
		var spec driver.Subscription
		if err := json.Unmarshal([]byte(str(res[i+1])), &spec); err != nil {
			return nil, fmt.Errorf("topic %q: subscription %q: %w: %v", topic, name, driver.ErrStorage, err)
		}
		id := pattern.RuleID(name)
		r := &route{name: name, raw: spec.Raw, queue: spec.Queue}
		if spec.Kind != driver.KindQueue {
			r.queue = ownedQueue(topic, name)
		}
		rt.subs[id] = r
		p, err := driver.CompileFilter("filter_policy", spec.FilterPolicy, spec.FilterScope)
		switch {
		case err != nil:
			// Stored policies were valid when stored; one this build
			// rejects matches nothing rather than everything.
		case p == nil:
			rt.unfiltered = append(rt.unfiltered, id)
		case spec.FilterScope == driver.ScopeBody:
			bodyRules[id] = p
		default:
			attrRules[id] = p
		}
	}
	if len(attrRules) > 0 {
		rt.attrs = pattern.NewMatcher()
		if err := rt.attrs.AddAll(attrRules); err != nil {
			return nil, fmt.Errorf("topic %q: filter policies: %w: %v", topic, driver.ErrStorage, err)
		}
	}
	if len(bodyRules) > 0 {
		rt.body = pattern.NewMatcher()
		if err := rt.body.AddAll(bodyRules); err != nil {
			return nil, fmt.Errorf("topic %q: filter policies: %w: %v", topic, driver.ErrStorage, err)
		}
	}
	slices.Sort(rt.unfiltered)
	c.mu.Lock()
	c.routes[topic] = rt
	c.mu.Unlock()
	return rt, nil
}

// match returns the subscriptions m matches.
func (rt *routing) match(m *driver.Message) []pattern.RuleID {
	if rt.attrs == nil && rt.body == nil {
		return rt.unfiltered
	}
	ids := slices.Clone(rt.unfiltered)
	if rt.attrs != nil {
		attrs := make(map[string]pattern.Attribute, len(m.Headers))
		driver.FillHeaderAttributes(attrs, m.Headers)
		if got, err := rt.attrs.MatchAllAttributes(attrs); err == nil {
			ids = append(ids, got...)
		}
	}
	if rt.body != nil {
		if got, err := rt.body.MatchAll(m.Body); err == nil { // a body that is not a JSON object matches no body policy
			ids = append(ids, got...)
		}
	}
	return ids
}

// Publish stores messages in the topic and, in the same script, in every
// matching subscription's queue; filter policies are matched here, against
// the subscriptions as of the routing version the script checks.
func (c *Conn) Publish(ctx context.Context, topic string, msgs []driver.Message) ([]driver.SendResult, error) {
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, err
	}
	for i := range msgs {
		if msgs[i].Delay != 0 {
			return nil, driver.Invalid(fmt.Sprintf("messages[%d].delay", i), "topics deliver at once; set a delivery delay on the subscribed queue instead")
		}
	}
	return c.coalesce(ctx, "t:"+topic, topic, msgs, c.publish)
}

// publish stores msgs in topic with one script (see Publish).
func (c *Conn) publish(ctx context.Context, topic string, msgs []driver.Message) ([]driver.SendResult, error) {
	hint := "t:" + topic
	fresh := false
	for range 8 {
		rt, err := c.routing(ctx, topic, fresh)
		if err != nil {
			return nil, err
		}
		hashed := c.hashes(hint)
		args := make([]any, 0, 3+8*len(msgs))
		args = append(args, topic, rt.version, strconv.Itoa(len(msgs)))
		var buf []byte
		for i := range msgs {
			m := &msgs[i]
			key, flag := dedupKey(m, hashed)
			start := len(buf)
			buf = appendBlob(buf, m, key)
			ids := rt.match(m)
			args = append(args, buf[start:len(buf):len(buf)], strconv.Itoa(driver.MessageSize(m)), key, flag, m.Group, strconv.Itoa(len(ids)))
			for _, id := range ids {
				r := rt.subs[id]
				args = append(args, r.name, r.queue, boolArg(r.raw))
			}
		}
		v, err := c.run(ctx, scriptPublish, args...)
		if err != nil {
			return nil, err
		}
		res := list(v)
		if len(res) == 0 {
			return nil, malformed("publish", v)
		}
		switch str(res[0]) {
		case "missing":
			c.forget(topic)
			return nil, topicNotFound(topic)
		case "stale":
			fresh = true
			continue
		case "hash":
			c.contentDedup.Store(hint, true)
			continue
		case "nohash":
			c.contentDedup.Store(hint, false)
			continue
		case "ok":
			return sendResults(res[1:], msgs, topic, "topic")
		}
		return nil, malformed("publish", v)
	}
	return nil, fmt.Errorf("topic %q: its subscriptions keep changing; publish again: %w", topic, driver.ErrConflict)
}

// storedSub is how a subscription is stored: its normalized spec.
func storedSub(spec driver.Subscription) (string, error) {
	b, err := json.Marshal(spec)
	return string(b), err
}

// Subscribe creates or updates a subscription. HTTP subscriptions need a
// push worker that this driver does not run: they fail with
// ErrUnsupported.
func (c *Conn) Subscribe(ctx context.Context, topic, name string, spec driver.Subscription) (driver.SubscriptionInfo, error) {
	if err := driver.ValidateSubscriptionName("name", name); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if err := spec.Normalize(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	spec.ConfirmURL = ""
	if err := c.usable(); err != nil {
		return driver.SubscriptionInfo{}, err
	}
	fifoArg, err := c.rdb.HGet(ctx, c.prefix+":t:"+topic, "fifo").Result()
	if err != nil {
		if errors.Is(err, errNil) {
			return driver.SubscriptionInfo{}, topicNotFound(topic)
		}
		return driver.SubscriptionInfo{}, c.fail(ctx, err)
	}
	fifo := fifoArg == "1"
	switch spec.Kind {
	case driver.KindHTTP:
		if fifo {
			return driver.SubscriptionInfo{}, driver.Invalid("kind", "topic %q is a FIFO topic; FIFO topics deliver only to FIFO queues (queue and durable subscriptions)", topic)
		}
		return driver.SubscriptionInfo{}, fmt.Errorf("http subscriptions need a push worker, which the redis driver does not run; subscribe a queue and push from a consumer: %w", driver.ErrUnsupported)
	case driver.KindDurable:
		if spec.Attributes == nil {
			d := driver.DefaultQueueAttributes()
			spec.Attributes = &d
		}
		spec.Attributes.FIFO = fifo
		spec.Attributes.ContentBasedDedup = false
		if err := checkMillis(*spec.Attributes); err != nil {
			var ve *driver.ValidationError
			if errors.As(err, &ve) {
				ve.Field = "attributes." + ve.Field
			}
			return driver.SubscriptionInfo{}, err
		}
	}
	newSpec, err := storedSub(spec)
	if err != nil {
		return driver.SubscriptionInfo{}, fmt.Errorf("encoding subscription: %w: %v", driver.ErrInvalid, err)
	}
	for range 8 {
		old, err := c.rdb.HGet(ctx, c.prefix+":t:"+topic+":s", name).Result()
		if err != nil && !errors.Is(err, errNil) {
			return driver.SubscriptionInfo{}, c.fail(ctx, err)
		}
		if old != "" {
			var prev driver.Subscription
			if err := json.Unmarshal([]byte(old), &prev); err != nil {
				return driver.SubscriptionInfo{}, fmt.Errorf("subscription %q: %w: %v", name, driver.ErrStorage, err)
			}
			if prev.Kind != spec.Kind || prev.Queue != spec.Queue || prev.Endpoint != spec.Endpoint {
				return driver.SubscriptionInfo{}, fmt.Errorf("topic %q: subscription %q exists with another kind or target (%s %s); unsubscribe first: %w",
					topic, name, prev.Kind, prev.Queue, driver.ErrConflict)
			}
			if old == newSpec {
				return c.SubscriptionInfo(ctx, topic, name)
			}
		}
		args := []any{topic, name, old, newSpec}
		if spec.Kind == driver.KindDurable {
			args = append(args, attrArgs(*spec.Attributes)...)
		}
		v, err := c.run(ctx, scriptSubscribe, args...)
		if err != nil {
			return driver.SubscriptionInfo{}, err
		}
		res := list(v)
		if len(res) == 0 {
			return driver.SubscriptionInfo{}, malformed("subscribe", v)
		}
		switch code := str(res[0]); code {
		case "ok":
			c.forget(topic)
			return c.SubscriptionInfo(ctx, topic, name)
		case "retry":
			continue
		case "missing":
			return driver.SubscriptionInfo{}, topicNotFound(topic)
		case "queue_missing":
			return driver.SubscriptionInfo{}, driver.Invalid("queue", "queue %q does not exist; create it first", spec.Queue)
		case "queue_kind":
			kind := map[bool]string{true: "FIFO", false: "standard"}
			return driver.SubscriptionInfo{}, driver.Invalid("queue", "topic %q is a %s topic; it delivers only to %s queues and %q is not one",
				topic, kind[fifo], kind[fifo], spec.Queue)
		case "too_many":
			return driver.SubscriptionInfo{}, driver.TooLarge("name", "topic %q has %d subscriptions, the limit", topic, driver.MaxSubscriptions)
		default:
			if err := deadLetterError(code, *spec.Attributes); err != nil {
				var ve *driver.ValidationError
				if errors.As(err, &ve) {
					ve.Field = "attributes." + ve.Field
				}
				return driver.SubscriptionInfo{}, err
			}
			return driver.SubscriptionInfo{}, malformed("subscribe", v)
		}
	}
	return driver.SubscriptionInfo{}, fmt.Errorf("topic %q: subscription %q keeps changing: %w", topic, name, driver.ErrConflict)
}

// subscriptions reads the subscriptions names of topic (all when none).
func (c *Conn) subscriptions(ctx context.Context, topic string, names ...string) ([]driver.SubscriptionInfo, error) {
	args := make([]any, 0, 1+len(names))
	args = append(args, topic)
	for _, n := range names {
		args = append(args, n)
	}
	v, err := c.run(ctx, scriptSubs, args...)
	if err != nil {
		return nil, err
	}
	res := list(v)
	if len(res) == 0 {
		return nil, topicNotFound(topic)
	}
	if (len(res)-1)%10 != 0 {
		return nil, malformed("subs", v)
	}
	pub := num(res[0])
	var out []driver.SubscriptionInfo
	for i := 1; i < len(res); i += 10 {
		f := res[i : i+10]
		info := driver.SubscriptionInfo{Topic: topic, Name: str(f[0]), Status: driver.StatusActive,
			CreatedAt: fromMS(num(f[2])), UpdatedAt: fromMS(num(f[3]))}
		if err := json.Unmarshal([]byte(str(f[1])), &info.Subscription); err != nil {
			return nil, fmt.Errorf("subscription %q: %w: %v", info.Name, driver.ErrStorage, err)
		}
		delivered := num(f[4])
		info.Stats = driver.SubscriptionStats{
			Delivered:   delivered,
			FilteredOut: max(0, pub-num(f[5])-delivered),
			Backlog: driver.QueueStats{Visible: num(f[6]), InFlight: num(f[7]), Delayed: num(f[8]),
				OldestAge: time.Duration(num(f[9])) * time.Millisecond},
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b driver.SubscriptionInfo) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out, nil
}

// SubscriptionInfo returns one subscription.
func (c *Conn) SubscriptionInfo(ctx context.Context, topic, name string) (driver.SubscriptionInfo, error) {
	subs, err := c.subscriptions(ctx, topic, name)
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	if len(subs) == 0 {
		return driver.SubscriptionInfo{}, subNotFound(topic, name)
	}
	return subs[0], nil
}

// ListSubscriptions returns a topic's subscriptions by name.
func (c *Conn) ListSubscriptions(ctx context.Context, topic string) ([]driver.SubscriptionInfo, error) {
	return c.subscriptions(ctx, topic)
}

// Unsubscribe deletes a subscription and, for a durable one, its queue
// and the messages waiting there.
func (c *Conn) Unsubscribe(ctx context.Context, topic, name string) error {
	v, err := c.run(ctx, scriptUnsubscribe, topic, name)
	if err != nil {
		return err
	}
	c.forget(topic)
	switch str(v) {
	case "ok":
		return nil
	case "missing":
		return topicNotFound(topic)
	case "nosub":
		return subNotFound(topic, name)
	}
	return malformed("unsubscribe", v)
}

// ConfirmSubscription confirms HTTP subscriptions, which this driver does
// not have: it fails with ErrNotFound or ErrInvalid.
func (c *Conn) ConfirmSubscription(ctx context.Context, topic, name, token string) error {
	if err := driver.ValidateConfirmToken(token); err != nil {
		return err
	}
	info, err := c.SubscriptionInfo(ctx, topic, name)
	if err != nil {
		return err
	}
	return driver.Invalid("name", "subscription %q is a %s subscription; only http subscriptions are confirmed", name, info.Kind)
}

// durable turns the not-found error of a subscription's queue into the
// subscription's: missing, or not durable.
func (c *Conn) durable(ctx context.Context, topic, name string, err error) error {
	if !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	info, ierr := c.SubscriptionInfo(ctx, topic, name)
	if ierr != nil {
		return ierr
	}
	return driver.Invalid("name", "subscription %q is a %s subscription; only durable subscriptions are read directly", name, info.Kind)
}

// ReceiveSubscription receives from a durable subscription's queue.
func (c *Conn) ReceiveSubscription(ctx context.Context, topic, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	ds, err := c.Receive(ctx, ownedQueue(topic, name), req)
	if err != nil {
		return nil, c.durable(ctx, topic, name, err)
	}
	return ds, nil
}

// AckSubscription acknowledges deliveries of a durable subscription.
func (c *Conn) AckSubscription(ctx context.Context, topic, name string, receipts []string) ([]error, error) {
	errs, err := c.Ack(ctx, ownedQueue(topic, name), receipts)
	if err != nil {
		return nil, c.durable(ctx, topic, name, err)
	}
	return errs, nil
}

// ChangeSubscriptionVisibility nacks or extends deliveries of a durable
// subscription.
func (c *Conn) ChangeSubscriptionVisibility(ctx context.Context, topic, name string, receipts []string, d time.Duration) ([]error, error) {
	errs, err := c.ChangeVisibility(ctx, ownedQueue(topic, name), receipts, d)
	if err != nil {
		return nil, c.durable(ctx, topic, name, err)
	}
	return errs, nil
}
