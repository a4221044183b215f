package sns

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	courier "github.com/courier-io/courier"
)

// Keys of the metadata store (awsapi.Meta).
const (
	topicKeyPrefix = "sns/topic/" // + topic: topicState
	subKeyPrefix   = "sns/sub/"   // + topic + "/" + id: subState
	signingKey     = "sns/signing-key"
)

// topicState is what SNS knows of a topic that courier does not.
type topicState struct {
	// Attrs are the attributes set through SNS: DisplayName, Policy,
	// DeliveryPolicy, SignatureVersion, TracingConfig,
	// ContentBasedDeduplication.
	Attrs map[string]string `json:"attrs,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
	// FIFO mirrors the courier topic (fixed at creation).
	FIFO bool `json:"fifo,omitempty"`
}

// clone returns a copy of t that the caller may change.
func (t *topicState) clone() *topicState {
	c := *t
	c.Attrs = maps.Clone(t.Attrs)
	c.Tags = maps.Clone(t.Tags)
	if c.Attrs == nil {
		c.Attrs = map[string]string{}
	}
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	return &c
}

// contentDedup reports whether the topic computes dedup IDs from bodies.
func (t *topicState) contentDedup() bool { return t.Attrs["ContentBasedDeduplication"] == "true" }

// subState is an SNS subscription.
type subState struct {
	ID       string `json:"id"`
	Topic    string `json:"topic"`
	Protocol string `json:"protocol"` // sqs, http, https, courier
	Endpoint string `json:"endpoint"`
	Owner    string `json:"owner"`
	// Courier is the courier subscription's name; Queue the courier queue
	// it delivers into (sqs and courier queue:NAME).
	Courier string `json:"courier"`
	Queue   string `json:"queue,omitempty"`
	// Pending HTTP subscriptions wait for ConfirmSubscription with Token;
	// they have no courier subscription yet.
	Pending                      bool   `json:"pending,omitempty"`
	Token                        string `json:"token,omitempty"`
	ConfirmationWasAuthenticated bool   `json:"confirmation_authenticated,omitempty"`
	// Attributes as set: RawMessageDelivery, FilterPolicy,
	// FilterPolicyScope, RedrivePolicy, DeliveryPolicy.
	Attrs map[string]string `json:"attrs,omitempty"`
	// BaseURL is the endpoint's URL as the subscriber reached it, for the
	// SigningCertURL and UnsubscribeURL of HTTP deliveries.
	BaseURL string    `json:"base_url"`
	Created time.Time `json:"created"`
}

// isHTTP reports whether sub is an HTTP or HTTPS subscription.
func (sub *subState) isHTTP() bool { return sub.Protocol == "http" || sub.Protocol == "https" }

// raw reports whether sub delivers raw messages.
func (sub *subState) raw() bool { return sub.Attrs["RawMessageDelivery"] == "true" }

// clone returns a copy of sub that the caller may change.
func (sub *subState) clone() *subState {
	c := *sub
	c.Attrs = maps.Clone(sub.Attrs)
	if c.Attrs == nil {
		c.Attrs = map[string]string{}
	}
	return &c
}

// key is sub's metadata key.
func (sub *subState) key() string { return subKeyPrefix + sub.Topic + "/" + sub.ID }

// topicARN returns the ARN of topic.
func (s *Service) topicARN(topic string) string { return s.env.ARN("sns", topic) }

// subARN returns the ARN of sub.
func (s *Service) subARN(sub *subState) string { return s.env.ARN("sns", sub.Topic+":"+sub.ID) }

// queueKey is the byQueue key of a queue subscribed to topic.
func queueKey(topic, queue string) string { return topic + "\x00" + queue }

// load reads the topics and subscriptions kept in Meta.
func (s *Service) load() error {
	m := s.env.Meta
	for _, k := range m.Keys(topicKeyPrefix) {
		var t topicState
		if _, err := m.Get(k, &t); err != nil {
			return fmt.Errorf("sns: %w", err)
		}
		s.topics[strings.TrimPrefix(k, topicKeyPrefix)] = &t
	}
	for _, k := range m.Keys(subKeyPrefix) {
		var sub subState
		if _, err := m.Get(k, &sub); err != nil {
			return fmt.Errorf("sns: %w", err)
		}
		s.indexLocked(&sub)
	}
	return nil
}

// indexLocked adds or replaces sub in the in-memory index; s.mu is held
// (or the service is not yet shared).
func (s *Service) indexLocked(sub *subState) {
	s.subs[sub.ID] = sub
	if sub.Queue != "" {
		s.byQueue[queueKey(sub.Topic, sub.Queue)] = sub.ID
	}
}

// putSub stores sub and indexes it.
func (s *Service) putSub(ctx context.Context, sub *subState) error {
	if err := s.env.Meta.Put(ctx, sub.key(), sub); err != nil {
		return err
	}
	s.mu.Lock()
	s.indexLocked(sub)
	s.mu.Unlock()
	return nil
}

// dropSub removes sub from Meta and the index and stops its deliveries.
func (s *Service) dropSub(ctx context.Context, sub *subState) error {
	s.stopPusher(sub.ID)
	if err := s.env.Meta.Delete(ctx, sub.key()); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.subs, sub.ID)
	if sub.Queue != "" && s.byQueue[queueKey(sub.Topic, sub.Queue)] == sub.ID {
		delete(s.byQueue, queueKey(sub.Topic, sub.Queue))
	}
	s.mu.Unlock()
	return nil
}

// sub returns the subscription id, or nil.
func (s *Service) sub(id string) *subState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.subs[id]
}

// topicSubs returns the subscriptions of topic ("" for all), sorted by
// topic and ID.
func (s *Service) topicSubs(topic string) []*subState {
	prefix := subKeyPrefix
	if topic != "" {
		prefix += topic + "/"
	}
	keys := s.env.Meta.Keys(prefix)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*subState, 0, len(keys))
	for _, k := range keys {
		id := k[strings.LastIndexByte(k, '/')+1:]
		if sub := s.subs[id]; sub != nil {
			out = append(out, sub)
		}
	}
	return out
}

// topic returns the state of the courier topic name: from the cache, or
// from Meta and the topic's Info. A topic that does not exist is a
// NotFound error.
func (s *Service) topic(ctx context.Context, name string) (*topicState, error) {
	s.mu.RLock()
	t := s.topics[name]
	s.mu.RUnlock()
	if t != nil {
		return t, nil
	}
	info, err := s.env.Broker.Topic(name).Info(ctx)
	if errors.Is(err, courier.ErrNotFound) {
		return nil, notFound("Topic does not exist")
	}
	if err != nil {
		return nil, err
	}
	return s.topicFromInfo(name, info), nil
}

// topicFromInfo returns the cached state of topic name, or caches and
// returns the state of a courier topic with info that SNS has not stored
// (one created by another surface).
func (s *Service) topicFromInfo(name string, info courier.TopicInfo) *topicState {
	t := &topicState{FIFO: info.Attributes.FIFO}
	if info.Attributes.ContentBasedDedup {
		t.Attrs = map[string]string{"ContentBasedDeduplication": "true"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.topics[name]; cur != nil {
		return cur
	}
	s.topics[name] = t
	return t
}

// existingTopic returns the state of topic name after checking that the
// courier topic still exists (another surface may have deleted it).
func (s *Service) existingTopic(ctx context.Context, name string) (*topicState, error) {
	info, err := s.env.Broker.Topic(name).Info(ctx)
	if err != nil {
		if errors.Is(err, courier.ErrNotFound) {
			s.forgetTopic(name)
			return nil, notFound("Topic does not exist")
		}
		return nil, err
	}
	return s.topicFromInfo(name, info), nil
}

// putTopic stores t as the state of topic name.
func (s *Service) putTopic(ctx context.Context, name string, t *topicState) error {
	if err := s.env.Meta.Put(ctx, topicKeyPrefix+name, t); err != nil {
		return err
	}
	s.mu.Lock()
	s.topics[name] = t
	s.mu.Unlock()
	return nil
}

// forgetTopic drops the cached state of topic name.
func (s *Service) forgetTopic(name string) {
	s.mu.Lock()
	delete(s.topics, name)
	s.mu.Unlock()
}
