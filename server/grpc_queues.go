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

// grpcQueues implements courier.v1.QueueService on the courier API, as
// the REST handlers of queues.go do.
type grpcQueues struct{ *grpcAPI }

var _ courierv1connect.QueueServiceHandler = grpcQueues{}

// queue returns the queue named by the request's field after checking the
// name and that the caller may do one of actions on it.
func (g *grpcAPI) queue(ctx context.Context, field, name string, actions ...Action) (*courier.Queue, error) {
	if err := driver.ValidateQueueName(field, name); err != nil {
		return nil, err
	}
	if err := g.allow(ctx, "queue", name, actions...); err != nil {
		return nil, err
	}
	return g.s.b.Queue(name), nil
}

func (g grpcQueues) CreateQueue(ctx context.Context, req *pb.CreateQueueRequest) (*pb.CreateQueueResponse, error) {
	q, err := g.queue(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	attrs := courier.DefaultQueueAttributes()
	if err := pbconv.ApplyQueueAttributes(req.GetAttributes(), &attrs); err != nil {
		return nil, err
	}
	if err := g.s.authorizeDestinations(ctx, destination{"queue", attrs.DeadLetterQueue}); err != nil {
		return nil, err
	}
	_, err = q.Info(ctx)
	existed := err == nil
	if _, err := g.s.b.CreateQueue(ctx, q.Name(), courier.WithAttributes(attrs)); err != nil {
		return nil, err
	}
	info, err := q.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.CreateQueueResponse{Queue: pbconv.QueueInfoPB(info), Created: !existed}, nil
}

func (g grpcQueues) GetQueue(ctx context.Context, req *pb.GetQueueRequest) (*pb.GetQueueResponse, error) {
	q, err := g.queue(ctx, "name", req.GetName(), describe...)
	if err != nil {
		return nil, err
	}
	info, err := q.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.GetQueueResponse{Queue: pbconv.QueueInfoPB(info)}, nil
}

func (g grpcQueues) UpdateQueue(ctx context.Context, req *pb.UpdateQueueRequest) (*pb.UpdateQueueResponse, error) {
	q, err := g.queue(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if dlq := req.GetAttributes().DeadLetterQueue; dlq != nil {
		if err := g.s.authorizeDestinations(ctx, destination{"queue", *dlq}); err != nil {
			return nil, err
		}
	}
	// Check the durations before the update reads the queue.
	if err := pbconv.ApplyQueueAttributes(req.GetAttributes(), &driver.QueueAttributes{}); err != nil {
		return nil, err
	}
	info, err := q.SetAttributes(ctx, func(a *courier.QueueAttributes) { _ = pbconv.ApplyQueueAttributes(req.GetAttributes(), a) })
	if err != nil {
		return nil, err
	}
	return &pb.UpdateQueueResponse{Queue: pbconv.QueueInfoPB(info)}, nil
}

func (g grpcQueues) ListQueues(ctx context.Context, _ *pb.ListQueuesRequest) (*pb.ListQueuesResponse, error) {
	if err := g.allow(ctx, "queue", "*", describe...); err != nil {
		return nil, err
	}
	names, err := g.s.b.ListQueues(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.ListQueuesResponse{Names: names}, nil
}

func (g grpcQueues) DeleteQueue(ctx context.Context, req *pb.DeleteQueueRequest) (*pb.DeleteQueueResponse, error) {
	q, err := g.queue(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := q.Delete(ctx); err != nil {
		return nil, err
	}
	return &pb.DeleteQueueResponse{}, nil
}

func (g grpcQueues) PurgeQueue(ctx context.Context, req *pb.PurgeQueueRequest) (*pb.PurgeQueueResponse, error) {
	q, err := g.queue(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	n, err := q.Purge(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.PurgeQueueResponse{Purged: int64(n)}, nil
}

func (g grpcQueues) Send(ctx context.Context, req *pb.SendRequest) (*pb.SendResponse, error) {
	q, err := g.queue(ctx, "queue", req.GetQueue(), ActionPublish)
	if err != nil {
		return nil, err
	}
	msgs, err := g.messagesDriver(req.GetMessages())
	if err != nil {
		return nil, err
	}
	res, err := q.SendBatch(ctx, msgs)
	if err != nil {
		return nil, err
	}
	return &pb.SendResponse{Results: sendResultsPB(res)}, nil
}

func (g grpcQueues) Receive(ctx context.Context, req *pb.ReceiveRequest, stream *connect.ServerStream[pb.ReceiveResponse]) error {
	q, err := g.queue(ctx, "queue", req.GetQueue(), ActionConsume)
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
	// A queue that does not exist fails now, not at the first receive.
	if _, err := q.Info(ctx); err != nil {
		return err
	}
	// Send the response headers now: clients wait for them.
	if err := stream.Send(nil); err != nil {
		return err
	}
	return g.receiveStream(ctx, "queue:"+q.Name(), q, credit, vis, func(ds []*pb.Delivery) error {
		return stream.Send(&pb.ReceiveResponse{Deliveries: ds})
	})
}

// settleQueue runs an ack or nack on the receipts of a queue and answers
// which failed.
func (g *grpcAPI) settleQueue(ctx context.Context, name string, receipts []string, op func(q *courier.Queue) settleOp) ([]*pb.SettleFailure, error) {
	q, err := g.queue(ctx, "queue", name, ActionConsume)
	if err != nil {
		return nil, err
	}
	return settled(g.settleReceipts(ctx, "queue:"+name, receipts, op(q)))
}

func (g grpcQueues) Ack(ctx context.Context, req *pb.AckRequest) (*pb.AckResponse, error) {
	failed, err := g.settleQueue(ctx, req.GetQueue(), req.GetReceipts(), func(q *courier.Queue) settleOp {
		return func(ctx context.Context, receipts []string) error { return q.Ack(ctx, receipts...) }
	})
	if err != nil {
		return nil, err
	}
	return &pb.AckResponse{Failed: failed}, nil
}

func (g grpcQueues) Nack(ctx context.Context, req *pb.NackRequest) (*pb.NackResponse, error) {
	delay, err := pbconv.Duration("delay", req.GetDelay())
	if err != nil {
		return nil, err
	}
	failed, err := g.settleQueue(ctx, req.GetQueue(), req.GetReceipts(), func(q *courier.Queue) settleOp {
		return func(ctx context.Context, receipts []string) error { return q.Nack(ctx, delay, receipts...) }
	})
	if err != nil {
		return nil, err
	}
	return &pb.NackResponse{Failed: failed}, nil
}

func (g grpcQueues) Extend(ctx context.Context, req *pb.ExtendRequest) (*pb.ExtendResponse, error) {
	if req.GetVisibility() == nil {
		return nil, driver.Invalid("visibility", "required: how long the messages stay invisible from now")
	}
	vis, err := pbconv.Duration("visibility", req.GetVisibility())
	if err != nil {
		return nil, err
	}
	q, err := g.queue(ctx, "queue", req.GetQueue(), ActionConsume)
	if err != nil {
		return nil, err
	}
	failed, err := settled(q.Extend(ctx, vis, req.GetReceipts()...))
	if err != nil {
		return nil, err
	}
	return &pb.ExtendResponse{Failed: failed}, nil
}

func (g grpcQueues) Redrive(ctx context.Context, req *pb.RedriveRequest) (*pb.RedriveResponse, error) {
	q, err := g.queue(ctx, "queue", req.GetQueue(), ActionManage)
	if err != nil {
		return nil, err
	}
	dr := driver.RedriveRequest{Max: int(req.GetMax()), Rate: int(req.GetRate()), Destination: req.GetDestination()}
	if err := dr.Validate(); err != nil {
		return nil, err
	}
	if err := g.s.authorizeDestinations(ctx, destination{"queue", dr.Destination}); err != nil {
		return nil, err
	}
	var opts []courier.RedriveOption
	if dr.Max > 0 {
		opts = append(opts, courier.RedriveMax(dr.Max))
	}
	if dr.Rate > 0 {
		opts = append(opts, courier.RedriveRate(dr.Rate))
	}
	if dr.Destination != "" {
		opts = append(opts, courier.RedriveTo(dr.Destination))
	}
	n, err := q.Redrive(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &pb.RedriveResponse{Moved: int64(n)}, nil
}
