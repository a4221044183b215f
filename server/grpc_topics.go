package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
)

// grpcTopics implements courier.v1.TopicService on the courier API, as
// the REST handlers of topics.go do.
type grpcTopics struct{ *grpcAPI }

var _ courierv1connect.TopicServiceHandler = grpcTopics{}

// The enums of topics, by their courier values.
var (
	subscriptionKinds = map[pb.SubscriptionKind]driver.SubscriptionKind{
		pb.SubscriptionKind_SUBSCRIPTION_KIND_QUEUE:   driver.KindQueue,
		pb.SubscriptionKind_SUBSCRIPTION_KIND_DURABLE: driver.KindDurable,
		pb.SubscriptionKind_SUBSCRIPTION_KIND_HTTP:    driver.KindHTTP,
	}
	filterScopes = map[pb.FilterScope]driver.FilterScope{
		pb.FilterScope_FILTER_SCOPE_ATTRIBUTES: driver.ScopeAttributes,
		pb.FilterScope_FILTER_SCOPE_BODY:       driver.ScopeBody,
	}
	overflows = map[pb.Overflow]driver.Overflow{
		pb.Overflow_OVERFLOW_DROP_OLDEST: driver.DropOldest,
		pb.Overflow_OVERFLOW_BLOCK:       driver.Block,
	}
	subscriptionStatuses = map[pb.SubscriptionStatus]driver.SubscriptionStatus{
		pb.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE:               driver.StatusActive,
		pb.SubscriptionStatus_SUBSCRIPTION_STATUS_PENDING_CONFIRMATION: driver.StatusPendingConfirmation,
	}
)

// topic returns the topic named by the request's field after checking the
// name and that the caller may do one of actions on it.
func (g *grpcAPI) topic(ctx context.Context, field, name string, actions ...Action) (*courier.Topic, error) {
	if err := driver.ValidateTopicName(field, name); err != nil {
		return nil, err
	}
	if err := g.allow(ctx, "topic", name, actions...); err != nil {
		return nil, err
	}
	return g.s.b.Topic(name), nil
}

// subscription returns the subscription named by the request.
func (g *grpcAPI) subscription(ctx context.Context, topic, subField, name string, actions ...Action) (*courier.Subscription, error) {
	t, err := g.topic(ctx, "topic", topic, actions...)
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateSubscriptionName(subField, name); err != nil {
		return nil, err
	}
	return t.Subscription(name), nil
}

func topicInfoPB(i driver.TopicInfo) *pb.TopicInfo {
	return &pb.TopicInfo{
		Name: i.Name,
		Attributes: &pb.TopicAttributes{
			Fifo: ptr(i.Attributes.FIFO), ContentBasedDedup: ptr(i.Attributes.ContentBasedDedup),
			MaxMessageSize: ptr(int32(i.Attributes.MaxMessageSize)),
		},
		CreatedAt: timePB(i.CreatedAt),
		Stats:     &pb.TopicStats{Published: i.Stats.Published, Subscriptions: int32(i.Stats.Subscriptions), Tails: int32(i.Stats.Tails)},
	}
}

// subscriptionDriver converts a subscription request.
func subscriptionDriver(in *pb.Subscription) (driver.Subscription, error) {
	var out driver.Subscription
	var err error
	if out.Kind, err = enumOf("subscription.kind", in.GetKind(), driver.SubscriptionKind(""), subscriptionKinds); err != nil {
		return out, err
	}
	if out.FilterScope, err = enumOf("subscription.filter_scope", in.GetFilterScope(), driver.FilterScope(""), filterScopes); err != nil {
		return out, err
	}
	out.Queue, out.Endpoint, out.FilterPolicy, out.Raw = in.GetQueue(), in.GetEndpoint(), in.GetFilterPolicy(), in.GetRaw()
	if a := in.GetAttributes(); a != nil {
		attrs := courier.DefaultQueueAttributes()
		if err := queueAttributesApply(a, &attrs); err != nil {
			return out, err
		}
		out.Attributes = &attrs
	}
	if p := in.GetPush(); p != nil {
		out.Push = driver.PushPolicy{MaxAttempts: int(p.MaxAttempts), MaxPerSecond: int(p.MaxPerSecond), Concurrency: int(p.Concurrency), DeadLetterQueue: p.DeadLetterQueue}
		if out.Push.MinDelay, err = durationOf("subscription.push.min_delay", p.MinDelay); err != nil {
			return out, err
		}
		if out.Push.MaxDelay, err = durationOf("subscription.push.max_delay", p.MaxDelay); err != nil {
			return out, err
		}
		if out.Push.Timeout, err = durationOf("subscription.push.timeout", p.Timeout); err != nil {
			return out, err
		}
	}
	return out, nil
}

func subscriptionInfoPB(i driver.SubscriptionInfo) *pb.SubscriptionInfo {
	sub := &pb.Subscription{
		Kind:         enumPB[pb.SubscriptionKind](i.Kind, subscriptionKinds),
		Queue:        i.Queue,
		Endpoint:     i.Endpoint,
		FilterPolicy: i.FilterPolicy,
		FilterScope:  enumPB[pb.FilterScope](i.FilterScope, filterScopes),
		Raw:          i.Raw,
	}
	if i.Attributes != nil {
		sub.Attributes = queueAttributesPB(*i.Attributes)
	}
	if i.Kind == driver.KindHTTP {
		p := i.Push
		sub.Push = &pb.PushPolicy{
			MinDelay: durationPB(p.MinDelay), MaxDelay: durationPB(p.MaxDelay), MaxAttempts: int32(p.MaxAttempts),
			MaxPerSecond: int32(p.MaxPerSecond), Timeout: durationPB(p.Timeout), Concurrency: int32(p.Concurrency),
			DeadLetterQueue: p.DeadLetterQueue,
		}
	}
	return &pb.SubscriptionInfo{
		Topic: i.Topic, Name: i.Name, Subscription: sub,
		Status:    enumPB[pb.SubscriptionStatus](i.Status, subscriptionStatuses),
		CreatedAt: timePB(i.CreatedAt), UpdatedAt: timePB(i.UpdatedAt),
		Stats: &pb.SubscriptionStats{
			Delivered: i.Stats.Delivered, FilteredOut: i.Stats.FilteredOut, PushFailures: i.Stats.PushFailures,
			DeadLettered: i.Stats.DeadLettered, Backlog: queueStatsPB(i.Stats.Backlog),
		},
	}
}

func (g grpcTopics) CreateTopic(ctx context.Context, req *pb.CreateTopicRequest) (*pb.CreateTopicResponse, error) {
	t, err := g.topic(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	attrs := driver.DefaultTopicAttributes()
	if a := req.GetAttributes(); a != nil {
		if a.Fifo != nil {
			attrs.FIFO = *a.Fifo
		}
		if a.ContentBasedDedup != nil {
			attrs.ContentBasedDedup = *a.ContentBasedDedup
		}
		if a.MaxMessageSize != nil {
			attrs.MaxMessageSize = int(*a.MaxMessageSize)
		}
	}
	_, err = t.Info(ctx)
	existed := err == nil
	if _, err := g.s.b.CreateTopic(ctx, t.Name(), courier.WithTopicAttributes(attrs)); err != nil {
		return nil, err
	}
	info, err := t.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.CreateTopicResponse{Topic: topicInfoPB(info), Created: !existed}, nil
}

func (g grpcTopics) GetTopic(ctx context.Context, req *pb.GetTopicRequest) (*pb.GetTopicResponse, error) {
	t, err := g.topic(ctx, "name", req.GetName(), describe...)
	if err != nil {
		return nil, err
	}
	info, err := t.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.GetTopicResponse{Topic: topicInfoPB(info)}, nil
}

func (g grpcTopics) ListTopics(ctx context.Context, _ *pb.ListTopicsRequest) (*pb.ListTopicsResponse, error) {
	if err := g.allow(ctx, "topic", "*", describe...); err != nil {
		return nil, err
	}
	names, err := g.s.b.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.ListTopicsResponse{Names: names}, nil
}

func (g grpcTopics) DeleteTopic(ctx context.Context, req *pb.DeleteTopicRequest) (*pb.DeleteTopicResponse, error) {
	t, err := g.topic(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := t.Delete(ctx); err != nil {
		return nil, err
	}
	return &pb.DeleteTopicResponse{}, nil
}

func (g grpcTopics) Publish(ctx context.Context, req *pb.PublishRequest) (*pb.PublishResponse, error) {
	t, err := g.topic(ctx, "topic", req.GetTopic(), ActionPublish)
	if err != nil {
		return nil, err
	}
	msgs, err := g.messagesDriver(req.GetMessages())
	if err != nil {
		return nil, err
	}
	res, err := t.PublishBatch(ctx, msgs)
	if err != nil {
		return nil, err
	}
	return &pb.PublishResponse{Results: sendResultsPB(res)}, nil
}

func (g grpcTopics) Subscribe(ctx context.Context, req *pb.SubscribeRequest) (*pb.SubscribeResponse, error) {
	sub, err := g.subscription(ctx, req.GetTopic(), "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if req.GetSubscription() == nil {
		return nil, driver.Invalid("subscription", "required: the subscription's kind and target")
	}
	spec, err := subscriptionDriver(req.GetSubscription())
	if err != nil {
		return nil, err
	}
	dests := []destination{{"queue", spec.Queue}, {"queue", spec.Push.DeadLetterQueue}}
	if spec.Attributes != nil {
		dests = append(dests, destination{"queue", spec.Attributes.DeadLetterQueue})
	}
	if err := g.s.authorizeDestinations(ctx, dests...); err != nil {
		return nil, err
	}
	if spec.Kind == driver.KindHTTP {
		spec.ConfirmURL = requestBase(ctx) + "/v1/topics/" + sub.Topic().Name() + "/subscriptions/" + sub.Name() + "/confirm"
	}
	_, err = sub.Info(ctx)
	existed := err == nil
	info, err := sub.Topic().Subscribe(ctx, sub.Name(), spec)
	if err != nil {
		return nil, err
	}
	return &pb.SubscribeResponse{Subscription: subscriptionInfoPB(info), Created: !existed}, nil
}

func (g grpcTopics) GetSubscription(ctx context.Context, req *pb.GetSubscriptionRequest) (*pb.GetSubscriptionResponse, error) {
	sub, err := g.subscription(ctx, req.GetTopic(), "name", req.GetName(), describe...)
	if err != nil {
		return nil, err
	}
	info, err := sub.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.GetSubscriptionResponse{Subscription: subscriptionInfoPB(info)}, nil
}

func (g grpcTopics) ListSubscriptions(ctx context.Context, req *pb.ListSubscriptionsRequest) (*pb.ListSubscriptionsResponse, error) {
	t, err := g.topic(ctx, "topic", req.GetTopic(), describe...)
	if err != nil {
		return nil, err
	}
	subs, err := t.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.ListSubscriptionsResponse{Subscriptions: make([]*pb.SubscriptionInfo, len(subs))}
	for i, s := range subs {
		out.Subscriptions[i] = subscriptionInfoPB(s)
	}
	return out, nil
}

func (g grpcTopics) Unsubscribe(ctx context.Context, req *pb.UnsubscribeRequest) (*pb.UnsubscribeResponse, error) {
	sub, err := g.subscription(ctx, req.GetTopic(), "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := sub.Delete(ctx); err != nil {
		return nil, err
	}
	return &pb.UnsubscribeResponse{}, nil
}

// ConfirmSubscription needs manage on the topic: unlike the REST confirm
// URL, which the endpoint's owner visits with the token as credential, a
// gRPC caller is an API client.
func (g grpcTopics) ConfirmSubscription(ctx context.Context, req *pb.ConfirmSubscriptionRequest) (*pb.ConfirmSubscriptionResponse, error) {
	sub, err := g.subscription(ctx, req.GetTopic(), "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := sub.Topic().ConfirmSubscription(ctx, sub.Name(), req.GetToken()); err != nil {
		return nil, err
	}
	info, err := sub.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.ConfirmSubscriptionResponse{Subscription: subscriptionInfoPB(info)}, nil
}

// subscriptionSource is the registry name of a durable subscription's
// receipts.
func subscriptionSource(sub *courier.Subscription) string {
	return "subscription:" + sub.Topic().Name() + "/" + sub.Name()
}

func (g grpcTopics) ReceiveSubscription(ctx context.Context, req *pb.ReceiveSubscriptionRequest, stream *connect.ServerStream[pb.ReceiveSubscriptionResponse]) error {
	sub, err := g.subscription(ctx, req.GetTopic(), "subscription", req.GetSubscription(), ActionConsume)
	if err != nil {
		return err
	}
	credit, err := creditOf("credit", req.GetCredit(), DefaultReceiveCredit)
	if err != nil {
		return err
	}
	vis, err := durationOf("visibility", req.GetVisibility())
	if err != nil {
		return err
	}
	if err := (driver.ReceiveRequest{Visibility: vis}).Validate(); err != nil {
		return err
	}
	if _, err := sub.Info(ctx); err != nil {
		return err
	}
	if err := stream.Send(nil); err != nil { // the response headers, which clients wait for
		return err
	}
	return g.receiveStream(ctx, subscriptionSource(sub), sub, credit, vis, func(ds []*pb.Delivery) error {
		return stream.Send(&pb.ReceiveSubscriptionResponse{Deliveries: ds})
	})
}

// settleSubscription runs an ack or nack on receipts of a durable
// subscription and answers which failed.
func (g *grpcAPI) settleSubscription(ctx context.Context, topic, name string, receipts []string, op func(s *courier.Subscription) settleOp) ([]*pb.SettleFailure, error) {
	sub, err := g.subscription(ctx, topic, "subscription", name, ActionConsume)
	if err != nil {
		return nil, err
	}
	return settled(g.settleReceipts(ctx, subscriptionSource(sub), receipts, op(sub)))
}

func (g grpcTopics) AckSubscription(ctx context.Context, req *pb.AckSubscriptionRequest) (*pb.AckSubscriptionResponse, error) {
	failed, err := g.settleSubscription(ctx, req.GetTopic(), req.GetSubscription(), req.GetReceipts(), func(s *courier.Subscription) settleOp {
		return func(ctx context.Context, receipts []string) error { return s.Ack(ctx, receipts...) }
	})
	if err != nil {
		return nil, err
	}
	return &pb.AckSubscriptionResponse{Failed: failed}, nil
}

func (g grpcTopics) NackSubscription(ctx context.Context, req *pb.NackSubscriptionRequest) (*pb.NackSubscriptionResponse, error) {
	delay, err := durationOf("delay", req.GetDelay())
	if err != nil {
		return nil, err
	}
	failed, err := g.settleSubscription(ctx, req.GetTopic(), req.GetSubscription(), req.GetReceipts(), func(s *courier.Subscription) settleOp {
		return func(ctx context.Context, receipts []string) error { return s.Nack(ctx, delay, receipts...) }
	})
	if err != nil {
		return nil, err
	}
	return &pb.NackSubscriptionResponse{Failed: failed}, nil
}

func (g grpcTopics) ExtendSubscription(ctx context.Context, req *pb.ExtendSubscriptionRequest) (*pb.ExtendSubscriptionResponse, error) {
	if req.GetVisibility() == nil {
		return nil, driver.Invalid("visibility", "required: how long the messages stay invisible from now")
	}
	vis, err := durationOf("visibility", req.GetVisibility())
	if err != nil {
		return nil, err
	}
	sub, err := g.subscription(ctx, req.GetTopic(), "subscription", req.GetSubscription(), ActionConsume)
	if err != nil {
		return nil, err
	}
	failed, err := settled(sub.Extend(ctx, vis, req.GetReceipts()...))
	if err != nil {
		return nil, err
	}
	return &pb.ExtendSubscriptionResponse{Failed: failed}, nil
}

// Tail streams an ephemeral subscription. Its credit is the feed's buffer:
// the messages that may wait in the server for the client.
func (g grpcTopics) Tail(ctx context.Context, req *pb.TailRequest, stream *connect.ServerStream[pb.TailResponse]) error {
	t, err := g.topic(ctx, "topic", req.GetTopic(), ActionConsume)
	if err != nil {
		return err
	}
	opts := driver.TailOptions{FilterPolicy: req.GetFilterPolicy(), Raw: req.GetRaw()}
	if opts.Buffer, err = creditOf("credit", req.GetCredit(), driver.DefaultTailBuffer); err != nil {
		return err
	}
	if opts.Buffer > driver.MaxTailBuffer {
		return driver.Invalid("credit", "%d is out of range; accepted is 1 to %d", opts.Buffer, driver.MaxTailBuffer)
	}
	if opts.FilterScope, err = enumOf("filter_scope", req.GetFilterScope(), driver.FilterScope(""), filterScopes); err != nil {
		return err
	}
	if opts.Overflow, err = enumOf("overflow", req.GetOverflow(), driver.Overflow(""), overflows); err != nil {
		return err
	}
	if g.s.draining() {
		return shuttingDown
	}
	ctx, cancel := g.streamContext(ctx)
	defer cancel()
	tail, err := t.Tail(ctx, courier.WithTailOptions(opts))
	if err != nil {
		return err
	}
	defer tail.Close()
	if err := stream.Send(&pb.TailResponse{}); err != nil {
		return err
	}
	for {
		m, err := tail.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return g.endErr(ctx.Err())
			}
			return err
		}
		if err := stream.Send(&pb.TailResponse{Message: deliveryPB(&m), Dropped: tail.Dropped()}); err != nil {
			return err
		}
	}
}
