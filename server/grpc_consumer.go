package server

import (
	"context"
	"errors"
	"io"
	"sync"

	"connectrpc.com/connect"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/internal/pbconv"
)

// grpcConsumer implements courier.v1.ConsumerService: consumer sessions
// that receive from a queue or a durable subscription and settle on the
// same bidirectional stream, with the flow control of grpc_flow.go.
type grpcConsumer struct{ *grpcAPI }

var _ courierv1connect.ConsumerServiceHandler = grpcConsumer{}

// consumerStream is the server side of a consumer session.
type consumerStream = connect.BidiStream[pb.ConsumerSessionRequest, pb.ConsumerSessionResponse]

// ConsumerSession runs one session. Three goroutines serve it: this one
// owns the session (it runs the client's commands and ends the session),
// a reader passes the client's messages to it, and the pump receives and
// sends deliveries while there is credit. Sends are serialized by a
// mutex. When the session ends, the pump is stopped and waited for, and
// the deliveries still unsettled are nacked. The reader ends when the
// stream does, which happens when this handler returns.
func (g grpcConsumer) ConsumerSession(ctx context.Context, stream *consumerStream) error {
	ctx, cancel := g.streamContext(ctx)
	defer cancel()
	cmds := make(chan *pb.ConsumerSessionRequest)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Receive()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case cmds <- m:
			case <-ctx.Done():
				return
			}
		}
	}()

	var first *pb.ConsumerSessionRequest
	select {
	case first = <-cmds:
	case err := <-readErr:
		if errors.Is(err, io.EOF) {
			return driver.Invalid("start", "the stream ended before the session started")
		}
		return err
	case <-ctx.Done():
		return g.endErr(ctx.Err())
	}
	start := first.GetStart()
	if start == nil {
		return driver.Invalid("start", "required: the first message of a session is start")
	}
	src, source, err := g.consumerSource(ctx, start)
	if err != nil {
		return err
	}
	if start.GetCredit() < 0 || start.GetCredit() > MaxCredit {
		return driver.Invalid("start.credit", "%d is out of range; accepted is 0 to %d", start.GetCredit(), MaxCredit)
	}
	vis, err := pbconv.Duration("start.visibility", start.GetVisibility())
	if err == nil {
		err = (driver.ReceiveRequest{Visibility: vis}).Validate()
	}
	if err != nil {
		return err
	}

	w := g.windows.open(source, int(start.GetCredit()))
	defer func() { nackAll(ctx, src, g.windows.close(w)) }()
	var pumping sync.WaitGroup
	defer pumping.Wait()
	defer cancel() // before the wait: it stops the pump

	var sendMu sync.Mutex
	send := func(r *pb.ConsumerSessionResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(r)
	}
	started := &pb.ConsumerSessionResponse{Event: &pb.ConsumerSessionResponse_Started{Started: &pb.ConsumerStarted{Credit: start.GetCredit()}}}
	if err := send(started); err != nil {
		return err
	}
	pumpErr := make(chan error, 1)
	pumping.Go(func() {
		pumpErr <- g.pump(ctx, src, w, vis, func(ds []*courier.Delivery) error {
			for _, f := range deliveryFrames(ds) {
				r := &pb.ConsumerSessionResponse{Event: &pb.ConsumerSessionResponse_Deliveries{Deliveries: &pb.ConsumerDeliveries{Deliveries: f}}}
				if err := send(r); err != nil {
					return err
				}
			}
			return nil
		})
	})

	for {
		select {
		case m := <-cmds:
			if err := g.command(ctx, src, w, m, send); err != nil {
				return err
			}
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil // the client closed its side: the session is over
			}
			return g.endErr(err)
		case err := <-pumpErr:
			return g.endErr(err)
		case <-ctx.Done():
			return g.endErr(ctx.Err())
		}
	}
}

// consumerSource returns the queue or durable subscription a session
// starts on, after checking the caller may consume from it and that it
// exists; and its name in the registry of windows.
func (g grpcConsumer) consumerSource(ctx context.Context, start *pb.ConsumerStart) (receiveSource, string, error) {
	switch s := start.GetSource().(type) {
	case *pb.ConsumerStart_Queue:
		q, err := g.queue(ctx, "start.queue", s.Queue, ActionConsume)
		if err != nil {
			return nil, "", err
		}
		if _, err := q.Info(ctx); err != nil {
			return nil, "", err
		}
		return q, "queue:" + q.Name(), nil
	case *pb.ConsumerStart_Subscription:
		if err := driver.ValidateTopicName("start.subscription.topic", s.Subscription.GetTopic()); err != nil {
			return nil, "", err
		}
		if err := driver.ValidateSubscriptionName("start.subscription.name", s.Subscription.GetName()); err != nil {
			return nil, "", err
		}
		sub, err := g.subscription(ctx, s.Subscription.GetTopic(), "start.subscription.name", s.Subscription.GetName(), ActionConsume)
		if err != nil {
			return nil, "", err
		}
		if _, err := sub.Info(ctx); err != nil {
			return nil, "", err
		}
		return sub, subscriptionSource(sub), nil
	}
	return nil, "", driver.Invalid("start.source", "required: a queue or a subscription")
}

// command runs one command of the client. An ack, nack or extend is
// answered with a settled event, its failure included; other failures
// (a broken protocol) end the session.
func (g grpcConsumer) command(ctx context.Context, src receiveSource, w *window, m *pb.ConsumerSessionRequest, send func(*pb.ConsumerSessionResponse) error) error {
	var id uint64
	var err error
	switch c := m.GetCommand().(type) {
	case *pb.ConsumerSessionRequest_Ack:
		id = c.Ack.GetId()
		err = g.settleReceipts(ctx, w.source, c.Ack.GetReceipts(), func(ctx context.Context, receipts []string) error {
			return src.Ack(ctx, receipts...)
		})
	case *pb.ConsumerSessionRequest_Nack:
		id = c.Nack.GetId()
		delay, derr := pbconv.Duration("nack.delay", c.Nack.GetDelay())
		if err = derr; err == nil {
			err = g.settleReceipts(ctx, w.source, c.Nack.GetReceipts(), func(ctx context.Context, receipts []string) error {
				return src.Nack(ctx, delay, receipts...)
			})
		}
	case *pb.ConsumerSessionRequest_Extend:
		id = c.Extend.GetId()
		vis, verr := pbconv.Duration("extend.visibility", c.Extend.GetVisibility())
		switch {
		case verr != nil:
			err = verr
		case c.Extend.GetVisibility() == nil:
			err = driver.Invalid("extend.visibility", "required: how long the messages stay invisible from now")
		default:
			err = src.Extend(ctx, vis, c.Extend.GetReceipts()...)
		}
	case *pb.ConsumerSessionRequest_Credit:
		return g.windows.grant(w, int(c.Credit))
	case *pb.ConsumerSessionRequest_Start:
		return driver.Invalid("start", "the session has started: start comes only first")
	default:
		return driver.Invalid("command", "empty: send ack, nack, extend or credit")
	}
	out := &pb.ConsumerSettled{Id: id}
	if out.Failed, err = settled(err); err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // as grpcError answers: without the API's context
		}
		out.Error = pbconv.ErrorPB(err)
	}
	return send(&pb.ConsumerSessionResponse{Event: &pb.ConsumerSessionResponse_Settled{Settled: out}})
}
