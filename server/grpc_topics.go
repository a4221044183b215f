package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/internal/pbconv"
)

// grpcTopics implements courier.v1.TopicService on the courier API, as
// the REST handlers of topics.go do.
type grpcTopics struct{ *grpcAPI }

var _ courierv1connect.TopicServiceHandler = grpcTopics{}

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
	return &pb.CreateTopicResponse{Topic: pbconv.TopicInfoPB(info), Created: !existed}, nil
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
	return &pb.GetTopicResponse{Topic: pbconv.TopicInfoPB(info)}, nil
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
	spec, err := pbconv.Subscription(req.GetSubscription())
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
	return &pb.SubscribeResponse{Subscription: pbconv.SubscriptionInfoPB(info), Created: !existed}, nil
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
	return &pb.GetSubscriptionResponse{Subscription: pbconv.SubscriptionInfoPB(info)}, nil
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
		out.Subscriptions[i] = pbconv.SubscriptionInfoPB(s)
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
	return &pb.ConfirmSubscriptionResponse{Subscription: pbconv.SubscriptionInfoPB(info)}, nil
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
	vis, err := pbconv.Duration("visibility", req.GetVisibility())
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
	delay, err := pbconv.Duration("delay", req.GetDelay())
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
	vis, err := pbconv.Duration("visibility", req.GetVisibility())
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
	if opts.FilterScope, err = pbconv.EnumOf("filter_scope", req.GetFilterScope(), driver.FilterScope(""), pbconv.FilterScopes); err != nil {
		return err
	}
	if opts.Overflow, err = pbconv.EnumOf("overflow", req.GetOverflow(), driver.Overflow(""), pbconv.Overflows); err != nil {
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
		if err := stream.Send(&pb.TailResponse{Message: pbconv.DeliveryPB(&m), Dropped: tail.Dropped()}); err != nil {
			return err
		}
	}
}
