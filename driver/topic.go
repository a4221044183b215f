package driver

import (
	"context"
	"time"
)

// TopicAttributes are a topic's settings.
type TopicAttributes struct {
	// FIFO topics keep order per message group and dedup within
	// DedupWindow; every message needs a group, and their queue and durable
	// subscriptions are FIFO queues. HTTP subscriptions are refused, as SNS
	// refuses them. Cannot be changed after creation.
	FIFO bool `json:"fifo"`
	// ContentBasedDedup uses the SHA-256 of the body as the dedup ID of
	// messages published without one.
	ContentBasedDedup bool `json:"content_based_dedup"`
	// MaxMessageSize limits body plus headers, in bytes. Range 1 KiB..1 MiB,
	// default 1 MiB.
	MaxMessageSize int `json:"max_message_size"`
}

// DefaultTopicAttributes returns the attributes of a topic created without
// options: standard, 1 MiB messages.
func DefaultTopicAttributes() TopicAttributes {
	return TopicAttributes{MaxMessageSize: MaxMessageSizeLimit}
}

// TopicStats are a topic's counters since the backend started.
type TopicStats struct {
	Published     int64 `json:"published"`     // messages stored (duplicates not counted)
	Subscriptions int   `json:"subscriptions"` // durable, queue and HTTP subscriptions
	Tails         int   `json:"tails"`         // open ephemeral subscriptions
}

// TopicInfo describes a topic.
type TopicInfo struct {
	Name       string          `json:"name"`
	Attributes TopicAttributes `json:"attributes"`
	CreatedAt  time.Time       `json:"created_at"`
	Stats      TopicStats      `json:"stats"`
}

// SubscriptionKind says where a subscription delivers.
type SubscriptionKind string

// The subscription kinds.
const (
	// KindQueue delivers into an existing courier queue, so every queue
	// semantic applies (visibility, dead-letter queue, redrive).
	KindQueue SubscriptionKind = "queue"
	// KindDurable delivers into a queue the subscription owns, read with
	// ReceiveSubscription: a consumer that keeps its place across restarts.
	KindDurable SubscriptionKind = "durable"
	// KindHTTP POSTs each message to an endpoint, retrying with backoff and
	// jitter, then moves it to the subscription's dead-letter queue.
	KindHTTP SubscriptionKind = "http"
)

// FilterScope says what a filter policy is matched against.
type FilterScope string

// The filter scopes.
const (
	// ScopeAttributes (the default) matches the message headers.
	ScopeAttributes FilterScope = "attributes"
	// ScopeBody matches the message body, which must be a JSON object;
	// other bodies never match a body-scoped policy.
	ScopeBody FilterScope = "body"
)

// Subscription is what a subscriber asks for. Which fields apply depends on
// Kind.
type Subscription struct {
	Kind SubscriptionKind `json:"kind"`
	// Queue is the queue a KindQueue subscription delivers into. It must
	// exist; a FIFO topic needs a FIFO queue.
	Queue string `json:"queue,omitempty"`
	// Endpoint is the http:// or https:// URL of a KindHTTP subscription.
	Endpoint string `json:"endpoint,omitempty"`
	// FilterPolicy is an SNS filter policy (JSON); empty delivers every
	// message. Changing it applies to messages published afterwards.
	FilterPolicy string `json:"filter_policy,omitempty"`
	// FilterScope is ScopeAttributes (default) or ScopeBody.
	FilterScope FilterScope `json:"filter_scope,omitempty"`
	// Raw delivers the published body as is; otherwise the delivered body
	// is a JSON envelope with the topic, message ID, timestamp and headers
	// (see docs/topics.md).
	Raw bool `json:"raw"`
	// Attributes are the settings of a KindDurable subscription's queue
	// (visibility, retention, dead-letter queue); nil takes the queue
	// defaults. FIFO follows the topic.
	Attributes *QueueAttributes `json:"attributes,omitempty"`
	// Push is the delivery policy of a KindHTTP subscription; zero fields
	// take the defaults of DefaultPushPolicy.
	Push PushPolicy `json:"push,omitzero"`
	// ConfirmURL, when set on a KindHTTP subscription, is the base of the
	// URL the confirmation message tells the endpoint's owner to visit
	// (the engine appends "?token=..."). Servers set it; it is not stored.
	ConfirmURL string `json:"-"`
}

// PushPolicy is how a KindHTTP subscription delivers.
type PushPolicy struct {
	// MinDelay is the backoff before the first retry; each retry doubles
	// it up to MaxDelay, and the wait is drawn uniformly from [0, backoff]
	// (full jitter). Default 1s, range 1ms..1h.
	MinDelay time.Duration `json:"min_delay"`
	// MaxDelay caps the backoff. Default 60s, range MinDelay..1h.
	MaxDelay time.Duration `json:"max_delay"`
	// MaxAttempts is how many times a message is POSTed before it moves to
	// DeadLetterQueue (or is dropped and logged without one). Default 10,
	// range 1..100.
	MaxAttempts int `json:"max_attempts"`
	// MaxPerSecond limits delivery attempts per second; 0 is unlimited.
	MaxPerSecond int `json:"max_per_second"`
	// Timeout bounds one POST. Default 15s, range 1ms..60s.
	Timeout time.Duration `json:"timeout"`
	// Concurrency is how many POSTs may be in flight. Default 4, range 1..64.
	Concurrency int `json:"concurrency"`
	// DeadLetterQueue receives messages that used up MaxAttempts. It must
	// exist and be a standard queue.
	DeadLetterQueue string `json:"dead_letter_queue,omitempty"`
}

// DefaultPushPolicy returns the push policy of an HTTP subscription that
// chooses none.
func DefaultPushPolicy() PushPolicy {
	return PushPolicy{MinDelay: time.Second, MaxDelay: time.Minute, MaxAttempts: 10, Timeout: 15 * time.Second, Concurrency: 4}
}

// SubscriptionStatus is a subscription's state.
type SubscriptionStatus string

// The subscription states.
const (
	// StatusActive subscriptions receive matching messages.
	StatusActive SubscriptionStatus = "active"
	// StatusPendingConfirmation HTTP subscriptions receive nothing until
	// the endpoint's owner confirms with the token sent to it.
	StatusPendingConfirmation SubscriptionStatus = "pending_confirmation"
)

// SubscriptionStats are a subscription's counters since the backend
// started, and its backlog now.
type SubscriptionStats struct {
	Delivered    int64 `json:"delivered"`     // matched and stored (queue, durable) or POSTed with success (http)
	FilteredOut  int64 `json:"filtered_out"`  // published while subscribed, rejected by the filter policy
	PushFailures int64 `json:"push_failures"` // failed POST attempts (http)
	DeadLettered int64 `json:"dead_lettered"` // moved to the dead-letter queue after MaxAttempts (http)
	// Backlog is the stats of the queue the subscription delivers into.
	Backlog QueueStats `json:"backlog"`
}

// SubscriptionInfo describes a subscription.
type SubscriptionInfo struct {
	Topic        string             `json:"topic"`
	Name         string             `json:"name"`
	Subscription                    // as requested, defaults applied
	Status       SubscriptionStatus `json:"status"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
	Stats        SubscriptionStats  `json:"stats"`
}

// Overflow is what an ephemeral subscription does when its buffer is full.
type Overflow string

// The overflow policies.
const (
	// DropOldest (the default) discards the oldest buffered message to make
	// room and counts it in Feed.Dropped. Publishers never wait.
	DropOldest Overflow = "drop_oldest"
	// Block makes publishers of the topic wait (after their message is
	// durable, bounded by their context) until the subscriber makes room:
	// backpressure, chosen explicitly.
	Block Overflow = "block"
)

// Limits of subscriptions.
const (
	DefaultTailBuffer = 1024
	MaxTailBuffer     = 1 << 16
	// MaxSubscriptions bounds the durable, queue and HTTP subscriptions of
	// one topic (each matching one adds an entry to every publish record).
	MaxSubscriptions = 1000
	// MaxTails bounds the open ephemeral subscriptions of one topic.
	MaxTails = 1000
)

// TailOptions configure an ephemeral subscription.
type TailOptions struct {
	FilterPolicy string      `json:"filter_policy,omitempty"`
	FilterScope  FilterScope `json:"filter_scope,omitempty"`
	Raw          bool        `json:"raw"`
	// Buffer is how many messages wait for the subscriber; default
	// DefaultTailBuffer, at most MaxTailBuffer.
	Buffer   int      `json:"buffer"`
	Overflow Overflow `json:"overflow,omitempty"`
}

// Feed is an ephemeral subscription: messages published while it is open,
// kept in memory only.
type Feed interface {
	// Next returns the next message, waiting for one. It fails with
	// ErrClosed after Close, or when the topic is deleted or the backend
	// closed.
	Next(ctx context.Context) (Delivery, error)
	// Dropped counts messages discarded because the buffer was full.
	Dropped() int64
	// Close ends the subscription; it is idempotent.
	Close() error
}

// Topics is the publish/subscribe pattern (SNS semantics).
type Topics interface {
	// CreateTopic creates a topic; idempotent like CreateQueue.
	CreateTopic(ctx context.Context, name string, attrs TopicAttributes) (TopicInfo, error)
	// TopicInfo returns attributes and stats, or ErrNotFound.
	TopicInfo(ctx context.Context, name string) (TopicInfo, error)
	// ListTopics returns all topic names in sorted order.
	ListTopics(ctx context.Context) ([]string, error)
	// DeleteTopic deletes a topic, its subscriptions and their queues
	// (not the queues of KindQueue subscriptions); open feeds end.
	DeleteTopic(ctx context.Context, name string) error
	// Publish stores msgs in the topic and in every matching subscription
	// and returns after all of it is durable. Results are as for Send.
	Publish(ctx context.Context, topic string, msgs []Message) ([]SendResult, error)
	// Subscribe creates the subscription name, or updates it: the filter
	// policy, raw flag and push policy may change; the kind and target
	// may not (ErrConflict).
	Subscribe(ctx context.Context, topic, name string, sub Subscription) (SubscriptionInfo, error)
	// SubscriptionInfo returns one subscription, or ErrNotFound.
	SubscriptionInfo(ctx context.Context, topic, name string) (SubscriptionInfo, error)
	// ListSubscriptions returns the topic's subscriptions by name.
	ListSubscriptions(ctx context.Context, topic string) ([]SubscriptionInfo, error)
	// Unsubscribe deletes a subscription and, for durable and HTTP ones,
	// the messages waiting in it.
	Unsubscribe(ctx context.Context, topic, name string) error
	// ConfirmSubscription activates a pending HTTP subscription with the
	// token its endpoint received; ErrInvalid for a wrong token.
	ConfirmSubscription(ctx context.Context, topic, name, token string) error
	// ReceiveSubscription, AckSubscription and ChangeSubscriptionVisibility
	// read a durable subscription as Receive, Ack and ChangeVisibility read
	// a queue.
	ReceiveSubscription(ctx context.Context, topic, name string, req ReceiveRequest) ([]Delivery, error)
	AckSubscription(ctx context.Context, topic, name string, receipts []string) ([]error, error)
	ChangeSubscriptionVisibility(ctx context.Context, topic, name string, receipts []string, d time.Duration) ([]error, error)
	// Tail opens an ephemeral subscription that lasts until Close.
	Tail(ctx context.Context, topic string, opts TailOptions) (Feed, error)
}
