package client

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/internal/pbconv"
	"github.com/courier-io/courier/internal/remote"
)

// CreateTopic implements driver.Topics.
func (c *Conn) CreateTopic(ctx context.Context, name string, attrs driver.TopicAttributes) (driver.TopicInfo, error) {
	res, err := call(ctx, c.topics.CreateTopic, &pb.CreateTopicRequest{Name: name, Attributes: pbconv.TopicAttributesPB(attrs)})
	if err != nil {
		return driver.TopicInfo{}, err
	}
	return pbconv.TopicInfo(res.GetTopic()), nil
}

// TopicInfo implements driver.Topics.
func (c *Conn) TopicInfo(ctx context.Context, name string) (driver.TopicInfo, error) {
	res, err := call(ctx, c.topics.GetTopic, &pb.GetTopicRequest{Name: name})
	if err != nil {
		return driver.TopicInfo{}, err
	}
	return pbconv.TopicInfo(res.GetTopic()), nil
}

// ListTopics implements driver.Topics.
func (c *Conn) ListTopics(ctx context.Context) ([]string, error) {
	res, err := call(ctx, c.topics.ListTopics, &pb.ListTopicsRequest{})
	if err != nil {
		return nil, err
	}
	return nonNilNames(res.GetNames()), nil
}

// DeleteTopic implements driver.Topics.
func (c *Conn) DeleteTopic(ctx context.Context, name string) error {
	_, err := call(ctx, c.topics.DeleteTopic, &pb.DeleteTopicRequest{Name: name})
	return err
}

// Publish implements driver.Topics.
func (c *Conn) Publish(ctx context.Context, topic string, msgs []driver.Message) ([]driver.SendResult, error) {
	res, err := call(ctx, c.topics.Publish, &pb.PublishRequest{Topic: topic, Messages: pbconv.MessagesPB(msgs)})
	if err != nil {
		return nil, err
	}
	return pbconv.SendResults(res.GetResults(), len(msgs))
}

// Subscribe implements driver.Topics.
func (c *Conn) Subscribe(ctx context.Context, topic, name string, sub driver.Subscription) (driver.SubscriptionInfo, error) {
	res, err := call(ctx, c.topics.Subscribe, &pb.SubscribeRequest{Topic: topic, Name: name, Subscription: pbconv.SubscriptionPB(sub)})
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	return pbconv.SubscriptionInfo(res.GetSubscription())
}

// SubscriptionInfo implements driver.Topics.
func (c *Conn) SubscriptionInfo(ctx context.Context, topic, name string) (driver.SubscriptionInfo, error) {
	res, err := call(ctx, c.topics.GetSubscription, &pb.GetSubscriptionRequest{Topic: topic, Name: name})
	if err != nil {
		return driver.SubscriptionInfo{}, err
	}
	return pbconv.SubscriptionInfo(res.GetSubscription())
}

// ListSubscriptions implements driver.Topics.
func (c *Conn) ListSubscriptions(ctx context.Context, topic string) ([]driver.SubscriptionInfo, error) {
	res, err := call(ctx, c.topics.ListSubscriptions, &pb.ListSubscriptionsRequest{Topic: topic})
	if err != nil {
		return nil, err
	}
	out := make([]driver.SubscriptionInfo, len(res.GetSubscriptions()))
	for i, s := range res.GetSubscriptions() {
		if out[i], err = pbconv.SubscriptionInfo(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Unsubscribe implements driver.Topics.
func (c *Conn) Unsubscribe(ctx context.Context, topic, name string) error {
	_, err := call(ctx, c.topics.Unsubscribe, &pb.UnsubscribeRequest{Topic: topic, Name: name})
	return err
}

// ConfirmSubscription implements driver.Topics.
func (c *Conn) ConfirmSubscription(ctx context.Context, topic, name, token string) error {
	_, err := call(ctx, c.topics.ConfirmSubscription, &pb.ConfirmSubscriptionRequest{Topic: topic, Name: name, Token: token})
	return err
}

// ReceiveSubscription implements driver.Topics with one PullSubscription.
func (c *Conn) ReceiveSubscription(ctx context.Context, topic, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	pr := &pb.PullSubscriptionRequest{
		Topic: topic, Subscription: name, Max: int32(req.Max), Wait: durationPtrPB(waitPB(req.Wait)), Visibility: visibilityPB(req.Visibility),
	}
	res, err := call(ctx, c.topics.PullSubscription, pr)
	if err != nil {
		return nil, err
	}
	return pbconv.Deliveries(res.GetDeliveries()), nil
}

// AckSubscription implements driver.Topics.
func (c *Conn) AckSubscription(ctx context.Context, topic, name string, receipts []string) ([]error, error) {
	res, err := call(ctx, c.topics.AckSubscription, &pb.AckSubscriptionRequest{Topic: topic, Subscription: name, Receipts: receipts})
	if err != nil {
		return nil, err
	}
	return pbconv.SettleErrors(res.GetFailed(), len(receipts))
}

// ChangeSubscriptionVisibility implements driver.Topics: d = 0 is a nack,
// otherwise an extend by d.
func (c *Conn) ChangeSubscriptionVisibility(ctx context.Context, topic, name string, receipts []string, d time.Duration) ([]error, error) {
	var failed []*pb.SettleFailure
	if d == 0 {
		res, err := call(ctx, c.topics.NackSubscription, &pb.NackSubscriptionRequest{Topic: topic, Subscription: name, Receipts: receipts, Delay: pbconv.DurationPB(0)})
		if err != nil {
			return nil, err
		}
		failed = res.GetFailed()
	} else {
		res, err := call(ctx, c.topics.ExtendSubscription, &pb.ExtendSubscriptionRequest{Topic: topic, Subscription: name, Receipts: receipts, Visibility: pbconv.DurationPB(d)})
		if err != nil {
			return nil, err
		}
		failed = res.GetFailed()
	}
	return pbconv.SettleErrors(failed, len(receipts))
}

// Tail implements driver.Topics: an ephemeral subscription on a TopicService
// Tail stream that lasts until Close. ctx bounds only the opening. When
// the stream breaks (the connection dropped, the server restarted), the
// feed opens it again with backoff and goes on; messages published in
// between are not delivered. A courier error (the topic was deleted) ends
// the feed.
func (c *Conn) Tail(ctx context.Context, topic string, opts driver.TailOptions) (driver.Feed, error) {
	req := &pb.TailRequest{
		Topic: topic, Credit: int32(opts.Buffer), FilterPolicy: opts.FilterPolicy, Raw: opts.Raw,
		FilterScope: pbconv.EnumPB[pb.FilterScope](opts.FilterScope, pbconv.FilterScopes),
		Overflow:    pbconv.EnumPB[pb.Overflow](opts.Overflow, pbconv.Overflows),
	}
	fctx, cancel := context.WithCancel(c.life)
	stream, err := c.openTail(ctx, fctx, req)
	if err != nil {
		cancel()
		return nil, err
	}
	f := remote.NewFeed(topic, opts, cancel)
	f.Start(func() string { return c.readTail(fctx, f, req, stream) })
	return f, nil
}

// openTail opens a tail stream in fctx (the feed's life) and waits, within
// ctx, for its first response, which says the tail is open. The stream's
// Close also releases its context.
func (c *Conn) openTail(ctx, fctx context.Context, req *pb.TailRequest) (*tailStream, error) {
	sctx, cancel := context.WithCancel(fctx)
	unbind := context.AfterFunc(ctx, cancel)
	stream, err := c.topics.Tail(sctx, req)
	if err == nil && !stream.Receive() {
		err = stream.Err()
		if err == nil {
			err = errors.New("the server ended the tail before it opened")
		}
	}
	opened := unbind()
	if err != nil || !opened {
		cancel()
		if stream != nil {
			stream.Close()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, remoteError(fctx, err)
	}
	return &tailStream{ServerStreamForClient: stream, cancel: cancel}, nil
}

// tailStream is an open tail stream and the cancel of its context.
type tailStream struct {
	*connect.ServerStreamForClient[pb.TailResponse]
	cancel context.CancelFunc
}

// Close ends the stream and releases its context.
func (s *tailStream) Close() error {
	err := s.ServerStreamForClient.Close()
	s.cancel()
	return err
}

// readTail pushes the messages of stream into f, reopening the stream
// with backoff when it breaks (the connection dropped, the server
// restarted or was too busy to take it back), until fctx ends or a
// courier error ends the tail; it returns why it ended.
func (c *Conn) readTail(fctx context.Context, f *remote.Feed, req *pb.TailRequest, stream *tailStream) string {
	var droppedBefore int64 // by the server, on streams that broke
	for {
		var dropped int64
		for stream.Receive() {
			res := stream.Msg()
			dropped = res.GetDropped()
			f.SetServerDropped(droppedBefore + dropped)
			if res.GetMessage() == nil {
				continue
			}
			if !f.Push(pbconv.Delivery(res.GetMessage())) {
				stream.Close()
				return "closed"
			}
		}
		err := stream.Err()
		stream.Close()
		droppedBefore += dropped
		if fctx.Err() != nil {
			return "closed"
		}
		if err == nil {
			return "the server ended the tail"
		}
		if rerr := remoteError(fctx, err); !retryableTail(rerr) {
			return rerr.Error()
		}
		for attempt := 0; ; attempt++ {
			if !sleep(fctx, backoff(attempt)) {
				return "closed"
			}
			s, err := c.openTail(fctx, fctx, req)
			if err == nil {
				stream = s
				break
			}
			if fctx.Err() != nil {
				return "closed"
			}
			if !retryableTail(err) {
				return err.Error()
			}
		}
	}
}

// retryableTail reports whether a tail that failed with err should be
// opened again: the server went away, or was too busy to take it.
func retryableTail(err error) bool {
	return errors.Is(err, driver.ErrClosed) || errors.Is(err, httpapi.ErrRateLimited)
}
