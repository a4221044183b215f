package pbconv

import (
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
)

// The enums of topics, by their courier values.
var (
	SubscriptionKinds = map[pb.SubscriptionKind]driver.SubscriptionKind{
		pb.SubscriptionKind_SUBSCRIPTION_KIND_QUEUE:   driver.KindQueue,
		pb.SubscriptionKind_SUBSCRIPTION_KIND_DURABLE: driver.KindDurable,
		pb.SubscriptionKind_SUBSCRIPTION_KIND_HTTP:    driver.KindHTTP,
	}
	FilterScopes = map[pb.FilterScope]driver.FilterScope{
		pb.FilterScope_FILTER_SCOPE_ATTRIBUTES: driver.ScopeAttributes,
		pb.FilterScope_FILTER_SCOPE_BODY:       driver.ScopeBody,
	}
	Overflows = map[pb.Overflow]driver.Overflow{
		pb.Overflow_OVERFLOW_DROP_OLDEST: driver.DropOldest,
		pb.Overflow_OVERFLOW_BLOCK:       driver.Block,
	}
	SubscriptionStatuses = map[pb.SubscriptionStatus]driver.SubscriptionStatus{
		pb.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE:               driver.StatusActive,
		pb.SubscriptionStatus_SUBSCRIPTION_STATUS_PENDING_CONFIRMATION: driver.StatusPendingConfirmation,
	}
)

// TopicInfoPB converts a topic's description.
func TopicInfoPB(i driver.TopicInfo) *pb.TopicInfo {
	return &pb.TopicInfo{
		Name: i.Name,
		Attributes: &pb.TopicAttributes{
			Fifo: Ptr(i.Attributes.FIFO), ContentBasedDedup: Ptr(i.Attributes.ContentBasedDedup),
			MaxMessageSize: Ptr(int32(i.Attributes.MaxMessageSize)),
		},
		CreatedAt: TimePB(i.CreatedAt),
		Stats:     &pb.TopicStats{Published: i.Stats.Published, Subscriptions: int32(i.Stats.Subscriptions), Tails: int32(i.Stats.Tails)},
	}
}

// Subscription converts a subscription request.
func Subscription(in *pb.Subscription) (driver.Subscription, error) {
	var out driver.Subscription
	var err error
	if out.Kind, err = EnumOf("subscription.kind", in.GetKind(), driver.SubscriptionKind(""), SubscriptionKinds); err != nil {
		return out, err
	}
	if out.FilterScope, err = EnumOf("subscription.filter_scope", in.GetFilterScope(), driver.FilterScope(""), FilterScopes); err != nil {
		return out, err
	}
	out.Queue, out.Endpoint, out.FilterPolicy, out.Raw = in.GetQueue(), in.GetEndpoint(), in.GetFilterPolicy(), in.GetRaw()
	if a := in.GetAttributes(); a != nil {
		attrs := driver.DefaultQueueAttributes()
		if err := ApplyQueueAttributes(a, &attrs); err != nil {
			return out, err
		}
		out.Attributes = &attrs
	}
	if p := in.GetPush(); p != nil {
		out.Push = driver.PushPolicy{MaxAttempts: int(p.MaxAttempts), MaxPerSecond: int(p.MaxPerSecond), Concurrency: int(p.Concurrency), DeadLetterQueue: p.DeadLetterQueue}
		if out.Push.MinDelay, err = Duration("subscription.push.min_delay", p.MinDelay); err != nil {
			return out, err
		}
		if out.Push.MaxDelay, err = Duration("subscription.push.max_delay", p.MaxDelay); err != nil {
			return out, err
		}
		if out.Push.Timeout, err = Duration("subscription.push.timeout", p.Timeout); err != nil {
			return out, err
		}
	}
	return out, nil
}

// SubscriptionInfoPB converts a subscription's description.
func SubscriptionInfoPB(i driver.SubscriptionInfo) *pb.SubscriptionInfo {
	sub := &pb.Subscription{
		Kind:         EnumPB[pb.SubscriptionKind](i.Kind, SubscriptionKinds),
		Queue:        i.Queue,
		Endpoint:     i.Endpoint,
		FilterPolicy: i.FilterPolicy,
		FilterScope:  EnumPB[pb.FilterScope](i.FilterScope, FilterScopes),
		Raw:          i.Raw,
	}
	if i.Attributes != nil {
		sub.Attributes = QueueAttributesPB(*i.Attributes)
	}
	if i.Kind == driver.KindHTTP {
		p := i.Push
		sub.Push = &pb.PushPolicy{
			MinDelay: DurationPB(p.MinDelay), MaxDelay: DurationPB(p.MaxDelay), MaxAttempts: int32(p.MaxAttempts),
			MaxPerSecond: int32(p.MaxPerSecond), Timeout: DurationPB(p.Timeout), Concurrency: int32(p.Concurrency),
			DeadLetterQueue: p.DeadLetterQueue,
		}
	}
	return &pb.SubscriptionInfo{
		Topic: i.Topic, Name: i.Name, Subscription: sub,
		Status:    EnumPB[pb.SubscriptionStatus](i.Status, SubscriptionStatuses),
		CreatedAt: TimePB(i.CreatedAt), UpdatedAt: TimePB(i.UpdatedAt),
		Stats: &pb.SubscriptionStats{
			Delivered: i.Stats.Delivered, FilteredOut: i.Stats.FilteredOut, PushFailures: i.Stats.PushFailures,
			DeadLettered: i.Stats.DeadLettered, Backlog: QueueStatsPB(i.Stats.Backlog),
		},
	}
}
