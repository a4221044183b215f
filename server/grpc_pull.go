package server

import (
	"context"
	"errors"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/pbconv"
)

// The poll-style calls: Pull, PullSubscription, Fetch and ReceiveTarget
// answer one batch in one call, long-polling like their REST
// counterparts, for clients that poll (the Go client). Drain ends a poll
// with what it has.

// pullRequest converts the fields of a pull: max 0 is 1, an unset wait is
// the queue's default, a zero wait answers at once.
func pullRequest(maxN int32, wait, visibility *durationpb.Duration) (driver.ReceiveRequest, error) {
	req := driver.ReceiveRequest{Max: max(int(maxN), 1)}
	if maxN < 0 {
		return req, driver.Invalid("max", "%d is out of range; accepted is 1 to %d (0 for 1)", maxN, driver.MaxBatch)
	}
	if wait != nil {
		w, err := pbconv.Duration("wait", wait)
		if err != nil {
			return req, err
		}
		req.Wait = w
		if w == 0 {
			req.Wait = driver.NoWait
		}
	}
	vis, err := pbconv.Duration("visibility", visibility)
	if err != nil {
		return req, err
	}
	req.Visibility = vis
	return req, req.Validate()
}

// receiveOptions are the options of the root API's Receive for req.
func receiveOptions(req driver.ReceiveRequest) []courier.ReceiveOption {
	opts := []courier.ReceiveOption{courier.Max(req.Max), courier.Visibility(req.Visibility)}
	switch req.Wait {
	case driver.WaitQueueDefault:
	case driver.NoWait:
		opts = append(opts, courier.Wait(0))
	default:
		opts = append(opts, courier.Wait(req.Wait))
	}
	return opts
}

// poll runs a long poll that Drain ends early: while the server drains it
// does not wait, and a poll that the drain cut short answers what it has.
//
// Deliveries taken for a caller that went away meanwhile are handed to
// release (when not nil) to be made visible again.
func (g *grpcAPI) poll(ctx context.Context, req *driver.ReceiveRequest, receive func(ctx context.Context) ([]*pb.Delivery, error), release func(ctx context.Context, ds []*pb.Delivery)) ([]*pb.Delivery, error) {
	if g.s.draining() {
		req.Wait = driver.NoWait
	}
	pctx, cancel := g.streamContext(ctx)
	defer cancel()
	ds, err := receive(pctx)
	if err != nil && !(g.s.draining() && errors.Is(err, pctx.Err()) && ctx.Err() == nil) {
		return nil, err
	}
	if ctx.Err() != nil && len(ds) > 0 && release != nil {
		// The caller gave up as the messages were taken: they cannot reach
		// it, so make them visible again now rather than after their
		// visibility timeout (best effort: an answer lost later in transit
		// still waits out the timeout).
		release(context.WithoutCancel(ctx), ds)
		return nil, ctx.Err()
	}
	if ds == nil {
		ds = []*pb.Delivery{}
	}
	return ds, nil
}

// receiptsOf returns the receipts of ds.
func receiptsOf(ds []*pb.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.GetReceipt()
	}
	return out
}

// deliveriesPB converts the deliveries of a queue or subscription receive.
func deliveriesPB(ds []*courier.Delivery) []*pb.Delivery {
	out := make([]*pb.Delivery, len(ds))
	for i, d := range ds {
		out[i] = pbconv.DeliveryPB(&d.Delivery)
	}
	return out
}

// pullFrom runs a pull of a queue or a durable subscription: one
// long-polled batch; what a departed caller cannot get is nacked.
func (g *grpcAPI) pullFrom(ctx context.Context, src receiveSource, maxN int32, wait, visibility *durationpb.Duration) ([]*pb.Delivery, error) {
	dr, err := pullRequest(maxN, wait, visibility)
	if err != nil {
		return nil, err
	}
	return g.poll(ctx, &dr, func(ctx context.Context) ([]*pb.Delivery, error) {
		ds, err := src.Receive(ctx, receiveOptions(dr)...)
		return deliveriesPB(ds), err
	}, func(ctx context.Context, ds []*pb.Delivery) { _ = src.Nack(ctx, 0, receiptsOf(ds)...) })
}

// Pull answers one long-polled batch of a queue.
func (g grpcQueues) Pull(ctx context.Context, req *pb.PullRequest) (*pb.PullResponse, error) {
	q, err := g.queue(ctx, "queue", req.GetQueue(), ActionConsume)
	if err != nil {
		return nil, err
	}
	ds, err := g.pullFrom(ctx, q, req.GetMax(), req.GetWait(), req.GetVisibility())
	if err != nil {
		return nil, err
	}
	return &pb.PullResponse{Deliveries: ds}, nil
}

// PullSubscription answers one long-polled batch of a durable subscription.
func (g grpcTopics) PullSubscription(ctx context.Context, req *pb.PullSubscriptionRequest) (*pb.PullSubscriptionResponse, error) {
	sub, err := g.subscription(ctx, req.GetTopic(), "subscription", req.GetSubscription(), ActionConsume)
	if err != nil {
		return nil, err
	}
	ds, err := g.pullFrom(ctx, sub, req.GetMax(), req.GetWait(), req.GetVisibility())
	if err != nil {
		return nil, err
	}
	return &pb.PullSubscriptionResponse{Deliveries: ds}, nil
}

// ReceiveTarget answers one long-polled batch of a handler target.
func (g grpcBuses) ReceiveTarget(ctx context.Context, req *pb.ReceiveTargetRequest) (*pb.ReceiveTargetResponse, error) {
	bu, err := g.bus(ctx, "bus", req.GetBus(), ActionConsume)
	if err != nil {
		return nil, err
	}
	dr, err := pullRequest(req.GetMax(), req.GetWait(), req.GetVisibility())
	if err != nil {
		return nil, err
	}
	ds, err := g.poll(ctx, &dr, func(ctx context.Context) ([]*pb.Delivery, error) {
		ds, err := bu.ReceiveTargetRequest(ctx, req.GetRule(), req.GetTarget(), dr)
		out := make([]*pb.Delivery, len(ds))
		for i := range ds {
			out[i] = pbconv.DeliveryPB(&ds[i])
		}
		return out, err
	}, nil) // a handler target's delivery retries by its target's policy
	if err != nil {
		return nil, err
	}
	return &pb.ReceiveTargetResponse{Deliveries: ds}, nil
}

// SettleTarget acks or fails a delivery of a handler target.
func (g grpcBuses) SettleTarget(ctx context.Context, req *pb.SettleTargetRequest) (*pb.SettleTargetResponse, error) {
	bu, err := g.bus(ctx, "bus", req.GetBus(), ActionConsume)
	if err != nil {
		return nil, err
	}
	if req.GetReceipt() == "" {
		return nil, driver.Invalid("receipt", "required: the receipt of the delivery")
	}
	if err := bu.SettleTarget(ctx, req.GetRule(), req.GetTarget(), req.GetReceipt(), req.GetFailure()); err != nil {
		return nil, err
	}
	return &pb.SettleTargetResponse{}, nil
}

// Fetch answers one long-polled read of a partition and its end.
func (g grpcStreams) Fetch(ctx context.Context, req *pb.FetchRequest) (*pb.FetchResponse, error) {
	st, err := g.stream(ctx, "stream", req.GetStream(), ActionConsume)
	if err != nil {
		return nil, err
	}
	from, err := pbconv.Position("from", req.GetFrom())
	if err != nil {
		return nil, err
	}
	wait, err := pbconv.Duration("wait", req.GetWait())
	if err != nil {
		return nil, err
	}
	dr := driver.StreamReadRequest{Partition: int(req.GetPartition()), Max: int(req.GetMax()), MaxBytes: int(req.GetMaxBytes()), Wait: wait}
	if g.s.draining() {
		dr.Wait = 0
	}
	pctx, cancel := g.streamContext(ctx)
	defer cancel()
	recs, next, err := st.Read(pctx, dr.Partition, from, courier.ReadMax(dr.Max), courier.ReadMaxBytes(dr.MaxBytes), courier.ReadWait(dr.Wait))
	if err != nil && g.s.draining() && errors.Is(err, pctx.Err()) && ctx.Err() == nil {
		// The drain cut the wait: read again without waiting, for the
		// records there are and the real next offset.
		recs, next, err = st.Read(ctx, dr.Partition, from, courier.ReadMax(dr.Max), courier.ReadMaxBytes(dr.MaxBytes), courier.ReadWait(0))
	}
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	var end int64
	if dr.Partition < len(info.Partitions) {
		end = info.Partitions[dr.Partition].End
	}
	return &pb.FetchResponse{Records: pbconv.StreamRecordsPB(recs), Next: next, End: end}, nil
}

// grpcServer implements courier.v1.ServerService.
type grpcServer struct{ *grpcAPI }

// GetCapabilities answers the backend's capabilities.
func (g grpcServer) GetCapabilities(context.Context, *pb.GetCapabilitiesRequest) (*pb.GetCapabilitiesResponse, error) {
	c := g.s.b.Capabilities()
	return &pb.GetCapabilitiesResponse{
		Queues: c.Queues, Fifo: c.FIFO, Dedup: c.Dedup, Delay: c.Delay, DeadLetter: c.DeadLetter,
		Redrive: c.Redrive, LongPoll: c.LongPoll, Persistent: c.Persistent,
		Topics: c.Topics, Push: c.Push, Streams: c.Streams, Buses: c.Buses,
	}, nil
}
