package httpapi

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/courier-io/courier/driver"
)

// TopicAttributes is the JSON form of driver.TopicAttributes; unset fields
// keep their defaults.
type TopicAttributes struct {
	FIFO              *bool `json:"fifo,omitempty"`
	ContentBasedDedup *bool `json:"content_based_dedup,omitempty"`
	MaxMessageSize    *int  `json:"max_message_size,omitempty"`
}

// ApplyTo overwrites the fields of a that are set.
func (j *TopicAttributes) ApplyTo(a *driver.TopicAttributes) {
	if j.FIFO != nil {
		a.FIFO = *j.FIFO
	}
	if j.ContentBasedDedup != nil {
		a.ContentBasedDedup = *j.ContentBasedDedup
	}
	if j.MaxMessageSize != nil {
		a.MaxMessageSize = *j.MaxMessageSize
	}
}

// TopicAttributesJSON returns the complete JSON form of a.
func TopicAttributesJSON(a driver.TopicAttributes) TopicAttributes {
	return TopicAttributes{FIFO: &a.FIFO, ContentBasedDedup: &a.ContentBasedDedup, MaxMessageSize: &a.MaxMessageSize}
}

// TopicInfo is the answer of GET /v1/topics/{name} and PUT.
type TopicInfo struct {
	Name       string            `json:"name"`
	Attributes TopicAttributes   `json:"attributes"`
	CreatedAt  time.Time         `json:"created_at"`
	Stats      driver.TopicStats `json:"stats"`
}

// TopicInfoJSON converts a driver.TopicInfo.
func TopicInfoJSON(i driver.TopicInfo) TopicInfo {
	return TopicInfo{Name: i.Name, Attributes: TopicAttributesJSON(i.Attributes), CreatedAt: i.CreatedAt, Stats: i.Stats}
}

// Info converts back.
func (i TopicInfo) Info() driver.TopicInfo {
	var a driver.TopicAttributes
	i.Attributes.ApplyTo(&a)
	return driver.TopicInfo{Name: i.Name, Attributes: a, CreatedAt: i.CreatedAt, Stats: i.Stats}
}

// TopicList is the answer of GET /v1/topics.
type TopicList struct {
	Topics []string `json:"topics"`
}

// PushPolicy is the JSON form of driver.PushPolicy.
type PushPolicy struct {
	MinDelay        Duration `json:"min_delay,omitempty"`
	MaxDelay        Duration `json:"max_delay,omitempty"`
	MaxAttempts     int      `json:"max_attempts,omitempty"`
	MaxPerSecond    int      `json:"max_per_second,omitempty"`
	Timeout         Duration `json:"timeout,omitempty"`
	Concurrency     int      `json:"concurrency,omitempty"`
	DeadLetterQueue string   `json:"dead_letter_queue,omitempty"`
}

func (p PushPolicy) driver() driver.PushPolicy {
	return driver.PushPolicy{MinDelay: time.Duration(p.MinDelay), MaxDelay: time.Duration(p.MaxDelay), MaxAttempts: p.MaxAttempts,
		MaxPerSecond: p.MaxPerSecond, Timeout: time.Duration(p.Timeout), Concurrency: p.Concurrency, DeadLetterQueue: p.DeadLetterQueue}
}

func pushJSON(p driver.PushPolicy) *PushPolicy {
	if p == (driver.PushPolicy{}) {
		return nil
	}
	return &PushPolicy{MinDelay: Duration(p.MinDelay), MaxDelay: Duration(p.MaxDelay), MaxAttempts: p.MaxAttempts,
		MaxPerSecond: p.MaxPerSecond, Timeout: Duration(p.Timeout), Concurrency: p.Concurrency, DeadLetterQueue: p.DeadLetterQueue}
}

// Subscription is the body of PUT /v1/topics/{name}/subscriptions/{sub}.
// FilterPolicy is a JSON object (the SNS filter policy itself).
type Subscription struct {
	Kind         string           `json:"kind"`
	Queue        string           `json:"queue,omitempty"`
	Endpoint     string           `json:"endpoint,omitempty"`
	FilterPolicy json.RawMessage  `json:"filter_policy,omitempty"`
	FilterScope  string           `json:"filter_scope,omitempty"`
	Raw          bool             `json:"raw,omitempty"`
	Attributes   *QueueAttributes `json:"attributes,omitempty"`
	Push         *PushPolicy      `json:"push,omitempty"`
}

// Driver converts to a driver.Subscription; attributes of a durable
// subscription start from the queue defaults.
func (s Subscription) Driver() (driver.Subscription, error) {
	out := driver.Subscription{Kind: driver.SubscriptionKind(s.Kind), Queue: s.Queue, Endpoint: s.Endpoint,
		FilterScope: driver.FilterScope(s.FilterScope), Raw: s.Raw}
	if p := bytes.TrimSpace(s.FilterPolicy); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		if p[0] != '{' {
			return out, driver.Invalid("filter_policy", "must be a JSON object")
		}
		out.FilterPolicy = string(p)
	}
	if s.Attributes != nil {
		a := driver.DefaultQueueAttributes()
		s.Attributes.ApplyTo(&a)
		out.Attributes = &a
	}
	if s.Push != nil {
		out.Push = s.Push.driver()
	}
	return out, nil
}

// SubscriptionJSON converts a driver.Subscription.
func SubscriptionJSON(s driver.Subscription) Subscription {
	out := Subscription{Kind: string(s.Kind), Queue: s.Queue, Endpoint: s.Endpoint, FilterScope: string(s.FilterScope), Raw: s.Raw, Push: pushJSON(s.Push)}
	if s.FilterPolicy != "" {
		out.FilterPolicy = json.RawMessage(s.FilterPolicy)
	}
	if s.Attributes != nil {
		a := AttributesJSON(*s.Attributes)
		out.Attributes = &a
	}
	return out
}

// SubscriptionStats is the JSON form of driver.SubscriptionStats.
type SubscriptionStats struct {
	Delivered    int64      `json:"delivered"`
	FilteredOut  int64      `json:"filtered_out"`
	PushFailures int64      `json:"push_failures"`
	DeadLettered int64      `json:"dead_lettered"`
	Backlog      QueueStats `json:"backlog"`
}

// SubscriptionInfo is the answer of the subscription endpoints.
type SubscriptionInfo struct {
	Topic string `json:"topic"`
	Name  string `json:"name"`
	Subscription
	Status    string            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	Stats     SubscriptionStats `json:"stats"`
}

// SubscriptionInfoJSON converts a driver.SubscriptionInfo.
func SubscriptionInfoJSON(i driver.SubscriptionInfo) SubscriptionInfo {
	st := i.Stats
	return SubscriptionInfo{
		Topic: i.Topic, Name: i.Name, Subscription: SubscriptionJSON(i.Subscription), Status: string(i.Status),
		CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt,
		Stats: SubscriptionStats{Delivered: st.Delivered, FilteredOut: st.FilteredOut, PushFailures: st.PushFailures,
			DeadLettered: st.DeadLettered, Backlog: statsJSON(st.Backlog)},
	}
}

// Info converts back to a driver.SubscriptionInfo.
func (i SubscriptionInfo) Info() (driver.SubscriptionInfo, error) {
	sub, err := i.Subscription.Driver()
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	st := i.Stats
	return driver.SubscriptionInfo{
		Topic: i.Topic, Name: i.Name, Subscription: sub, Status: driver.SubscriptionStatus(i.Status),
		CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt,
		Stats: driver.SubscriptionStats{Delivered: st.Delivered, FilteredOut: st.FilteredOut, PushFailures: st.PushFailures,
			DeadLettered: st.DeadLettered, Backlog: st.Backlog.driver()},
	}, nil
}

// SubscriptionList is the answer of GET /v1/topics/{name}/subscriptions.
type SubscriptionList struct {
	Subscriptions []SubscriptionInfo `json:"subscriptions"`
}

// ConfirmRequest is the body of POST .../confirm.
type ConfirmRequest struct {
	Token string `json:"token"`
}

// TailLine is one line of GET /v1/topics/{name}/tail: a message, a
// heartbeat, or the end of the stream with its reason. Dropped counts the
// messages the subscription dropped so far.
type TailLine struct {
	Type    string    `json:"type"` // "message", "heartbeat" or "end"
	Message *Delivery `json:"message,omitempty"`
	Dropped int64     `json:"dropped"`
	Reason  string    `json:"reason,omitempty"`
}

func statsJSON(s driver.QueueStats) QueueStats {
	return QueueStats{Visible: s.Visible, InFlight: s.InFlight, Delayed: s.Delayed, OldestAge: Duration(s.OldestAge)}
}

func (s QueueStats) driver() driver.QueueStats {
	return driver.QueueStats{Visible: s.Visible, InFlight: s.InFlight, Delayed: s.Delayed, OldestAge: time.Duration(s.OldestAge)}
}
