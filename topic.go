package courier

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier/driver"
)

// TopicAttributes are a topic's settings; see driver.TopicAttributes.
type TopicAttributes = driver.TopicAttributes

// TopicInfo describes a topic: name, attributes, creation time and stats.
type TopicInfo = driver.TopicInfo

// SubscriptionSpec is a complete subscription request, for callers that
// decode one (servers); most code uses the Subscribe* methods.
type SubscriptionSpec = driver.Subscription

// SubscriptionInfo describes a subscription: its settings, status and stats.
type SubscriptionInfo = driver.SubscriptionInfo

// PushPolicy is how an HTTP subscription retries; see driver.PushPolicy.
type PushPolicy = driver.PushPolicy

// TailMessage is a message received by a Tail.
type TailMessage = driver.Delivery

// TopicOption sets one topic attribute in CreateTopic.
type TopicOption func(*TopicAttributes)

// FIFOTopic makes a topic keep order per message group; its messages need a
// group, and it delivers only to FIFO queues.
func FIFOTopic() TopicOption { return func(a *TopicAttributes) { a.FIFO = true } }

// TopicContentBasedDedup dedups messages published without a dedup ID by
// the SHA-256 of their body.
func TopicContentBasedDedup(on bool) TopicOption {
	return func(a *TopicAttributes) { a.ContentBasedDedup = on }
}

// TopicMaxMessageSize limits body plus headers (1 KiB..1 MiB, default 1 MiB).
func TopicMaxMessageSize(n int) TopicOption {
	return func(a *TopicAttributes) { a.MaxMessageSize = n }
}

// WithTopicAttributes replaces all attributes at once.
func WithTopicAttributes(attrs TopicAttributes) TopicOption {
	return func(a *TopicAttributes) { *a = attrs }
}

// Topic is a handle to a named topic. Getting one does not contact the
// backend.
type Topic struct {
	b    *Broker
	name string
}

// Topic returns a handle for the topic name.
func (b *Broker) Topic(name string) *Topic { return &Topic{b: b, name: name} }

// CreateTopic creates a topic; like CreateQueue it is idempotent, and fails
// with ErrConflict if the topic exists with other attributes.
func (b *Broker) CreateTopic(ctx context.Context, name string, opts ...TopicOption) (*Topic, error) {
	td, err := b.topicDriver()
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateTopicName("name", name); err != nil {
		return nil, fmt.Errorf("create topic: %w", err)
	}
	attrs := driver.DefaultTopicAttributes()
	for _, o := range opts {
		o(&attrs)
	}
	if err := attrs.Validate(); err != nil {
		return nil, fmt.Errorf("create topic %q: %w", name, err)
	}
	if _, err := td.CreateTopic(ctx, name, attrs); err != nil {
		return nil, fmt.Errorf("create topic %q: %w", name, err)
	}
	return b.Topic(name), nil
}

// ListTopics returns the names of all topics, sorted.
func (b *Broker) ListTopics(ctx context.Context) ([]string, error) {
	td, err := b.topicDriver()
	if err != nil {
		return nil, err
	}
	return td.ListTopics(ctx)
}

// DeleteTopic deletes a topic with its subscriptions.
func (b *Broker) DeleteTopic(ctx context.Context, name string) error {
	return b.Topic(name).Delete(ctx)
}

// Name returns the topic's name.
func (t *Topic) Name() string { return t.name }

func (t *Topic) driver(op string) (driver.Topics, error) {
	td, err := t.b.topicDriver()
	if err != nil {
		return nil, fmt.Errorf("topic %q: %s: %w", t.name, op, err)
	}
	if err := driver.ValidateTopicName("topic", t.name); err != nil {
		return nil, fmt.Errorf("topic %q: %s: %w", t.name, op, err)
	}
	return td, nil
}

func (t *Topic) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("topic %q: %s: %w", t.name, op, err)
}

// Info returns the topic's attributes and stats.
func (t *Topic) Info(ctx context.Context) (TopicInfo, error) {
	td, err := t.driver("info")
	if err != nil {
		return TopicInfo{}, err
	}
	info, err := td.TopicInfo(ctx, t.name)
	return info, t.wrap("info", err)
}

// Delete deletes the topic, its subscriptions and the messages waiting in
// its durable and HTTP subscriptions; queues subscribed to it stay.
func (t *Topic) Delete(ctx context.Context) error {
	td, err := t.driver("delete")
	if err != nil {
		return err
	}
	return t.wrap("delete", td.DeleteTopic(ctx, t.name))
}

// Publish stores one message and delivers it to every matching
// subscription; it returns the message ID once the message is durable in
// the topic and in every durable subscription. Messages cannot be delayed
// (delay them on the subscribed queue).
func (t *Topic) Publish(ctx context.Context, msg Message) (string, error) {
	res, err := t.PublishBatch(ctx, []Message{msg})
	if err != nil {
		return "", err
	}
	if res[0].Err != nil {
		return "", t.wrap("publish", res[0].Err)
	}
	return res[0].ID, nil
}

// PublishBatch publishes up to 1000 messages with one durable write; the
// results are as for Queue.SendBatch.
func (t *Topic) PublishBatch(ctx context.Context, msgs []Message) ([]SendResult, error) {
	td, err := t.driver("publish")
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, t.wrap("publish", err)
	}
	res, err := td.Publish(ctx, t.name, msgs)
	return res, t.wrap("publish", err)
}

// SubscribeOption configures a subscription.
type SubscribeOption func(*SubscriptionSpec)

// Filter sets an SNS filter policy matched against the message headers (a
// header whose value is a JSON number matches numeric conditions).
func Filter(policy string) SubscribeOption {
	return func(s *SubscriptionSpec) { s.FilterPolicy, s.FilterScope = policy, driver.ScopeAttributes }
}

// FilterBody sets an SNS filter policy matched against the JSON body.
func FilterBody(policy string) SubscribeOption {
	return func(s *SubscriptionSpec) { s.FilterPolicy, s.FilterScope = policy, driver.ScopeBody }
}

// Raw delivers bodies as published instead of in a JSON envelope.
func Raw() SubscribeOption { return func(s *SubscriptionSpec) { s.Raw = true } }

// SubscriptionQueue sets the attributes of a durable subscription's queue
// (visibility, retention, dead-letter queue); FIFO follows the topic.
func SubscriptionQueue(opts ...QueueOption) SubscribeOption {
	return func(s *SubscriptionSpec) {
		attrs := DefaultQueueAttributes()
		if s.Attributes != nil {
			attrs = *s.Attributes
		}
		for _, o := range opts {
			o(&attrs)
		}
		s.Attributes = &attrs
	}
}

// Push sets the retry policy of an HTTP subscription.
func Push(p PushPolicy) SubscribeOption { return func(s *SubscriptionSpec) { s.Push = p } }

// SubscribeQueue subscribes the existing queue to the topic as subscription
// name: matching messages are sent to it and all queue semantics apply.
func (t *Topic) SubscribeQueue(ctx context.Context, name, queue string, opts ...SubscribeOption) (SubscriptionInfo, error) {
	spec := SubscriptionSpec{Kind: driver.KindQueue, Queue: queue}
	for _, o := range opts {
		o(&spec)
	}
	return t.Subscribe(ctx, name, spec)
}

// SubscribeDurable creates the durable subscription name: a queue of its
// own that keeps matching messages until they are received and acked,
// across restarts.
func (t *Topic) SubscribeDurable(ctx context.Context, name string, opts ...SubscribeOption) (*Subscription, error) {
	spec := SubscriptionSpec{Kind: driver.KindDurable}
	for _, o := range opts {
		o(&spec)
	}
	if _, err := t.Subscribe(ctx, name, spec); err != nil {
		return nil, err
	}
	return t.Subscription(name), nil
}

// SubscribeHTTP subscribes endpoint: matching messages are POSTed to it
// once its owner confirms with the token sent to it in a
// SubscriptionConfirmation request (see ConfirmSubscription).
func (t *Topic) SubscribeHTTP(ctx context.Context, name, endpoint string, opts ...SubscribeOption) (SubscriptionInfo, error) {
	spec := SubscriptionSpec{Kind: driver.KindHTTP, Endpoint: endpoint}
	for _, o := range opts {
		o(&spec)
	}
	return t.Subscribe(ctx, name, spec)
}

// Subscribe creates or updates the subscription name from a complete spec.
// Filter policy, raw flag and settings may change; kind and target may not
// (ErrConflict).
func (t *Topic) Subscribe(ctx context.Context, name string, spec SubscriptionSpec) (SubscriptionInfo, error) {
	td, err := t.driver("subscribe")
	if err != nil {
		return SubscriptionInfo{}, err
	}
	if err := driver.ValidateSubscriptionName("name", name); err != nil {
		return SubscriptionInfo{}, t.wrap("subscribe", err)
	}
	if err := spec.Normalize(); err != nil {
		return SubscriptionInfo{}, t.wrap("subscribe "+name, err)
	}
	info, err := td.Subscribe(ctx, t.name, name, spec)
	return info, t.wrap("subscribe "+name, err)
}

// Subscriptions lists the topic's subscriptions by name.
func (t *Topic) Subscriptions(ctx context.Context) ([]SubscriptionInfo, error) {
	td, err := t.driver("list subscriptions")
	if err != nil {
		return nil, err
	}
	subs, err := td.ListSubscriptions(ctx, t.name)
	return subs, t.wrap("list subscriptions", err)
}

// Unsubscribe deletes the subscription name.
func (t *Topic) Unsubscribe(ctx context.Context, name string) error {
	return t.Subscription(name).Delete(ctx)
}

// ConfirmSubscription activates a pending HTTP subscription with the token
// its endpoint received.
func (t *Topic) ConfirmSubscription(ctx context.Context, name, token string) error {
	td, err := t.driver("confirm subscription")
	if err != nil {
		return err
	}
	if err := driver.ValidateConfirmToken(token); err != nil {
		return t.wrap("confirm subscription "+name, err)
	}
	return t.wrap("confirm subscription "+name, td.ConfirmSubscription(ctx, t.name, name, token))
}

// Subscription returns a handle for the subscription name.
func (t *Topic) Subscription(name string) *Subscription { return &Subscription{t: t, name: name} }

// Subscription is a handle to a subscription of a topic; durable
// subscriptions are read with Receive and settled like queues.
type Subscription struct {
	t    *Topic
	name string
}

// Name returns the subscription's name.
func (s *Subscription) Name() string { return s.name }

// Topic returns the subscription's topic.
func (s *Subscription) Topic() *Topic { return s.t }

func (s *Subscription) driver(op string) (driver.Topics, error) {
	td, err := s.t.driver(op)
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateSubscriptionName("subscription", s.name); err != nil {
		return nil, s.wrap(op, err)
	}
	return td, nil
}

func (s *Subscription) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("topic %q subscription %q: %s: %w", s.t.name, s.name, op, err)
}

// Info returns the subscription's settings, status and stats.
func (s *Subscription) Info(ctx context.Context) (SubscriptionInfo, error) {
	td, err := s.driver("info")
	if err != nil {
		return SubscriptionInfo{}, err
	}
	info, err := td.SubscriptionInfo(ctx, s.t.name, s.name)
	return info, s.wrap("info", err)
}

// Delete deletes the subscription (and the messages waiting in a durable or
// HTTP subscription).
func (s *Subscription) Delete(ctx context.Context) error {
	td, err := s.driver("unsubscribe")
	if err != nil {
		return err
	}
	return s.wrap("unsubscribe", td.Unsubscribe(ctx, s.t.name, s.name))
}

// Receive reads a durable subscription like Queue.Receive reads a queue.
func (s *Subscription) Receive(ctx context.Context, opts ...ReceiveOption) ([]*Delivery, error) {
	td, err := s.driver("receive")
	if err != nil {
		return nil, err
	}
	var req driver.ReceiveRequest
	for _, o := range opts {
		o(&req)
	}
	if err := req.Validate(); err != nil {
		return nil, s.wrap("receive", err)
	}
	ds, err := td.ReceiveSubscription(ctx, s.t.name, s.name, req)
	if err != nil {
		return nil, s.wrap("receive", err)
	}
	out := make([]*Delivery, len(ds))
	for i := range ds {
		out[i] = &Delivery{Delivery: ds[i], from: s}
	}
	return out, nil
}

// Ack deletes the messages of the receipts from the subscription.
func (s *Subscription) Ack(ctx context.Context, receipts ...string) error {
	td, err := s.driver("ack")
	if err != nil {
		return err
	}
	if err := driver.ValidateReceipts(receipts); err != nil {
		return s.wrap("ack", err)
	}
	errs, err := td.AckSubscription(ctx, s.t.name, s.name, receipts)
	if err != nil {
		return s.wrap("ack", err)
	}
	return s.wrap("ack", batchError(errs))
}

// Nack makes the messages of the receipts visible again after delay.
func (s *Subscription) Nack(ctx context.Context, delay time.Duration, receipts ...string) error {
	return s.changeVisibility(ctx, "nack", delay, receipts)
}

// Extend keeps the messages of the receipts invisible for visibility.
func (s *Subscription) Extend(ctx context.Context, visibility time.Duration, receipts ...string) error {
	return s.changeVisibility(ctx, "extend", visibility, receipts)
}

func (s *Subscription) changeVisibility(ctx context.Context, op string, d time.Duration, receipts []string) error {
	td, err := s.driver(op)
	if err != nil {
		return err
	}
	if err := driver.ValidateReceipts(receipts); err != nil {
		return s.wrap(op, err)
	}
	if d < 0 || d > driver.MaxVisibilityTimeout {
		return s.wrap(op, driver.Invalid("visibility", "%v is out of range; accepted is 0 to %v", d, driver.MaxVisibilityTimeout))
	}
	errs, err := td.ChangeSubscriptionVisibility(ctx, s.t.name, s.name, receipts, d)
	if err != nil {
		return s.wrap(op, err)
	}
	return s.wrap(op, batchError(errs))
}

// TailOption configures Tail.
type TailOption func(*driver.TailOptions)

// TailFilter sets a filter policy on the message headers.
func TailFilter(policy string) TailOption {
	return func(o *driver.TailOptions) { o.FilterPolicy, o.FilterScope = policy, driver.ScopeAttributes }
}

// TailFilterBody sets a filter policy on the JSON body.
func TailFilterBody(policy string) TailOption {
	return func(o *driver.TailOptions) { o.FilterPolicy, o.FilterScope = policy, driver.ScopeBody }
}

// TailRaw delivers bodies as published instead of in a JSON envelope.
func TailRaw() TailOption { return func(o *driver.TailOptions) { o.Raw = true } }

// TailBuffer sets how many messages wait for the reader (default 1024, at
// most 65536).
func TailBuffer(n int) TailOption { return func(o *driver.TailOptions) { o.Buffer = n } }

// TailBlock makes publishers wait for room in a full buffer instead of
// dropping the oldest message: backpressure, chosen explicitly.
func TailBlock() TailOption { return func(o *driver.TailOptions) { o.Overflow = driver.Block } }

// WithTailOptions sets every option at once (for callers that hold a
// complete driver.TailOptions, such as a server decoding a request).
func WithTailOptions(opts driver.TailOptions) TailOption {
	return func(o *driver.TailOptions) { *o = opts }
}

// Tail is an ephemeral subscription: the messages published while it is
// open, kept in memory only. Close it when done.
type Tail struct {
	t    *Topic
	feed driver.Feed
}

// Tail opens an ephemeral subscription of the topic.
func (t *Topic) Tail(ctx context.Context, opts ...TailOption) (*Tail, error) {
	td, err := t.driver("tail")
	if err != nil {
		return nil, err
	}
	var o driver.TailOptions
	for _, f := range opts {
		f(&o)
	}
	if err := o.Normalize(); err != nil {
		return nil, t.wrap("tail", err)
	}
	f, err := td.Tail(ctx, t.name, o)
	if err != nil {
		return nil, t.wrap("tail", err)
	}
	return &Tail{t: t, feed: f}, nil
}

// Next returns the next message, waiting for one; after Close, or when the
// topic is deleted, it fails with ErrClosed.
func (tl *Tail) Next(ctx context.Context) (TailMessage, error) {
	m, err := tl.feed.Next(ctx)
	if err != nil {
		return TailMessage{}, tl.t.wrap("tail", err)
	}
	return m, nil
}

// Dropped counts messages dropped because the buffer was full.
func (tl *Tail) Dropped() int64 { return tl.feed.Dropped() }

// Close ends the subscription.
func (tl *Tail) Close() error { return tl.feed.Close() }

// TestFilterPolicy reports whether a subscription with the SNS filter
// policy (a JSON object; empty passes everything) would receive msg: with
// ScopeAttributes the policy sees msg's headers as message attributes (a
// header whose value is a JSON number is a Number), with ScopeBody its
// body, which must be a JSON object to match. An invalid policy or scope
// is an ErrInvalid naming it.
func TestFilterPolicy(policy string, scope driver.FilterScope, msg Message) (bool, error) {
	p, err := driver.CompileFilter("filter_policy", policy, scope)
	if err != nil {
		return false, err
	}
	return driver.FilterMatches(p, scope, &msg), nil
}
