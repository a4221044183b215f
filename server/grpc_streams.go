package server

import (
	"context"
	"time"

	"connectrpc.com/connect"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/internal/pbconv"
)

// grpcStreams implements courier.v1.StreamService on the courier API, as
// the REST handlers of streams.go do.
type grpcStreams struct{ *grpcAPI }

var _ courierv1connect.StreamServiceHandler = grpcStreams{}

// Read limits of StreamService.Read.
const (
	// DefaultReadCredit is the credit of a Read that asks for none.
	DefaultReadCredit = 100
	// defaultReadBytes and maxReadBytes bound one response of a Read.
	defaultReadBytes = 1 << 20
	maxReadBytes     = 4 << 20
)

// stream returns the stream named by the request's field after checking
// the name and that the caller may do one of actions on it.
func (g *grpcAPI) stream(ctx context.Context, field, name string, actions ...Action) (*courier.Stream, error) {
	if err := driver.ValidateStreamName(field, name); err != nil {
		return nil, err
	}
	if err := g.allow(ctx, "stream", name, actions...); err != nil {
		return nil, err
	}
	return g.s.b.Stream(name), nil
}

// group returns the consumer group named by the request.
func (g *grpcAPI) group(ctx context.Context, stream, group string, actions ...Action) (*courier.Group, error) {
	st, err := g.stream(ctx, "stream", stream, actions...)
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateGroupName("group", group); err != nil {
		return nil, err
	}
	return st.Group(group), nil
}

func (g grpcStreams) CreateStream(ctx context.Context, req *pb.CreateStreamRequest) (*pb.CreateStreamResponse, error) {
	st, err := g.stream(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	attrs := driver.DefaultStreamAttributes()
	if err := pbconv.ApplyStreamAttributes(req.GetAttributes(), &attrs); err != nil {
		return nil, err
	}
	_, err = st.Info(ctx)
	existed := err == nil
	if _, err := g.s.b.CreateStream(ctx, st.Name(), courier.WithStreamAttributes(attrs)); err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.CreateStreamResponse{Stream: pbconv.StreamInfoPB(info), Created: !existed}, nil
}

func (g grpcStreams) GetStream(ctx context.Context, req *pb.GetStreamRequest) (*pb.GetStreamResponse, error) {
	st, err := g.stream(ctx, "name", req.GetName(), describe...)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.GetStreamResponse{Stream: pbconv.StreamInfoPB(info)}, nil
}

func (g grpcStreams) UpdateStream(ctx context.Context, req *pb.UpdateStreamRequest) (*pb.UpdateStreamResponse, error) {
	st, err := g.stream(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := pbconv.ApplyStreamAttributes(req.GetAttributes(), &driver.StreamAttributes{}); err != nil {
		return nil, err
	}
	info, err := st.SetAttributes(ctx, func(a *courier.StreamAttributes) { _ = pbconv.ApplyStreamAttributes(req.GetAttributes(), a) })
	if err != nil {
		return nil, err
	}
	return &pb.UpdateStreamResponse{Stream: pbconv.StreamInfoPB(info)}, nil
}

func (g grpcStreams) ListStreams(ctx context.Context, _ *pb.ListStreamsRequest) (*pb.ListStreamsResponse, error) {
	if err := g.allow(ctx, "stream", "*", describe...); err != nil {
		return nil, err
	}
	names, err := g.s.b.ListStreams(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.ListStreamsResponse{Names: names}, nil
}

func (g grpcStreams) DeleteStream(ctx context.Context, req *pb.DeleteStreamRequest) (*pb.DeleteStreamResponse, error) {
	st, err := g.stream(ctx, "name", req.GetName(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := st.Delete(ctx); err != nil {
		return nil, err
	}
	return &pb.DeleteStreamResponse{}, nil
}

// recordsDriver converts the records of an append after checking the
// batch against the server's limits, so that nothing is copied for a
// batch it refuses.
func (g *grpcAPI) recordsDriver(rs []*pb.Record) ([]courier.Record, error) {
	if err := g.batchSize("records", len(rs)); err != nil {
		return nil, err
	}
	err := g.s.checkBatch("records", len(rs), func(i int) int {
		n := len(rs[i].GetKey()) + len(rs[i].GetValue())
		for k, v := range rs[i].GetHeaders() {
			n += len(k) + len(v)
		}
		return n
	})
	if err != nil {
		return nil, err
	}
	out := make([]courier.Record, len(rs))
	for i, r := range rs {
		out[i] = courier.Record{Key: r.GetKey(), Value: r.GetValue(), Headers: r.GetHeaders(), Partition: courier.AnyPartition}
		if r.Partition != nil {
			out[i].Partition = int(*r.Partition)
		}
		if len(out[i].Key) == 0 {
			out[i].Key = nil
		}
	}
	return out, nil
}

func (g grpcStreams) Append(ctx context.Context, req *pb.AppendRequest) (*pb.AppendResponse, error) {
	st, err := g.stream(ctx, "stream", req.GetStream(), ActionPublish)
	if err != nil {
		return nil, err
	}
	recs, err := g.recordsDriver(req.GetRecords())
	if err != nil {
		return nil, err
	}
	res, err := st.AppendBatch(ctx, recs)
	if err != nil {
		return nil, err
	}
	out := &pb.AppendResponse{Results: make([]*pb.AppendResult, len(res))}
	for i, r := range res {
		out.Results[i] = &pb.AppendResult{Partition: int32(r.Partition), Offset: r.Offset, Error: pbconv.ErrorPB(r.Err)}
	}
	return out, nil
}

// Read streams a partition from a position: it reads at most credit
// records at a time and reads again only once they are sent.
func (g grpcStreams) Read(ctx context.Context, req *pb.ReadRequest, stream *connect.ServerStream[pb.ReadResponse]) error {
	st, err := g.stream(ctx, "stream", req.GetStream(), ActionConsume)
	if err != nil {
		return err
	}
	from, err := pbconv.Position("from", req.GetFrom())
	if err != nil {
		return err
	}
	credit, err := creditOf("credit", req.GetCredit(), DefaultReadCredit)
	if err != nil {
		return err
	}
	if credit > driver.MaxReadRecords {
		return driver.Invalid("credit", "%d is out of range; accepted is 1 to %d", credit, driver.MaxReadRecords)
	}
	maxBytes := int(req.GetMaxBytes())
	switch {
	case maxBytes == 0:
		maxBytes = defaultReadBytes
	case maxBytes < 0 || maxBytes > maxReadBytes:
		return driver.Invalid("max_bytes", "%d is out of range; accepted is 1 to %d (0 for the default %d)", maxBytes, maxReadBytes, defaultReadBytes)
	}
	if g.s.draining() {
		return shuttingDown
	}
	ctx, cancel := g.streamContext(ctx)
	defer cancel()
	var wait time.Duration
	sent := false
	for first := true; ; first = false {
		recs, next, err := st.Read(ctx, int(req.GetPartition()), from, courier.ReadMax(credit), courier.ReadMaxBytes(maxBytes), courier.ReadWait(wait))
		if err != nil {
			if ctx.Err() != nil {
				return g.endErr(ctx.Err())
			}
			return err
		}
		if first && len(recs) == 0 && req.GetFollow() {
			// Send the response headers, which clients wait for, once
			// the position is resolved: a record appended after the call
			// returned is read, even from "latest".
			if err := stream.Send(nil); err != nil {
				return err
			}
		}
		if len(recs) == 0 && !req.GetFollow() {
			if !sent {
				return stream.Send(&pb.ReadResponse{Records: []*pb.StreamRecord{}, Next: next})
			}
			return nil
		}
		if len(recs) > 0 {
			if err := stream.Send(&pb.ReadResponse{Records: pbconv.StreamRecordsPB(recs), Next: next}); err != nil {
				return err
			}
			sent = true
		}
		from = courier.AtOffset(next)
		if req.GetFollow() {
			wait = driver.MaxReceiveWait
		}
	}
}

func (g grpcStreams) JoinGroup(ctx context.Context, req *pb.JoinGroupRequest) (*pb.JoinGroupResponse, error) {
	grp, err := g.group(ctx, req.GetStream(), req.GetGroup(), ActionConsume)
	if err != nil {
		return nil, err
	}
	timeout, err := pbconv.Duration("session_timeout", req.GetSessionTimeout())
	if err != nil {
		return nil, err
	}
	start, err := pbconv.EnumOf("start_from", req.GetStartFrom(), driver.FromEarliest, pbconv.StartFroms)
	if err != nil {
		return nil, err
	}
	opts := []courier.JoinOption{courier.SessionTimeout(timeout)}
	if start == driver.FromLatest {
		opts = append(opts, courier.StartFromLatest())
	}
	c, err := grp.Join(ctx, req.GetMember(), opts...)
	if err != nil {
		return nil, err
	}
	return &pb.JoinGroupResponse{Assignment: pbconv.AssignmentPB(c.Assignment())}, nil
}

func (g grpcStreams) Heartbeat(ctx context.Context, req *pb.HeartbeatRequest) (*pb.HeartbeatResponse, error) {
	grp, err := g.group(ctx, req.GetStream(), req.GetGroup(), ActionConsume)
	if err != nil {
		return nil, err
	}
	a, err := grp.Consumer(req.GetMember()).Heartbeat(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.HeartbeatResponse{Assignment: pbconv.AssignmentPB(a)}, nil
}

// Poll long-polls like the REST poll: Drain ends it with what it has.
func (g grpcStreams) Poll(ctx context.Context, req *pb.PollRequest) (*pb.PollResponse, error) {
	grp, err := g.group(ctx, req.GetStream(), req.GetGroup(), ActionConsume)
	if err != nil {
		return nil, err
	}
	wait, err := pbconv.Duration("wait", req.GetWait())
	if err != nil {
		return nil, err
	}
	if g.s.draining() {
		wait = 0
	}
	pctx, cancel := g.streamContext(ctx)
	defer cancel()
	c := grp.Consumer(req.GetMember())
	recs, err := c.Poll(pctx, int(req.GetMax()), wait)
	if err != nil && !(g.s.draining() && pctx.Err() != nil && ctx.Err() == nil) {
		return nil, err
	}
	return &pb.PollResponse{Records: pbconv.StreamRecordsPB(recs), Assignment: pbconv.AssignmentPB(c.Assignment())}, nil
}

func (g grpcStreams) Commit(ctx context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	grp, err := g.group(ctx, req.GetStream(), req.GetGroup(), ActionConsume)
	if err != nil {
		return nil, err
	}
	if len(req.GetOffsets()) == 0 {
		return nil, driver.Invalid("offsets", "nothing to commit")
	}
	offs := make(map[int]int64, len(req.GetOffsets()))
	for p, o := range req.GetOffsets() {
		offs[int(p)] = o
	}
	if err := grp.Consumer(req.GetMember()).CommitOffsets(ctx, req.GetGeneration(), offs); err != nil {
		return nil, err
	}
	return &pb.CommitResponse{}, nil
}

func (g grpcStreams) LeaveGroup(ctx context.Context, req *pb.LeaveGroupRequest) (*pb.LeaveGroupResponse, error) {
	grp, err := g.group(ctx, req.GetStream(), req.GetGroup(), ActionConsume)
	if err != nil {
		return nil, err
	}
	if err := grp.Consumer(req.GetMember()).Leave(ctx); err != nil {
		return nil, err
	}
	return &pb.LeaveGroupResponse{}, nil
}

func (g grpcStreams) ResetOffsets(ctx context.Context, req *pb.ResetOffsetsRequest) (*pb.ResetOffsetsResponse, error) {
	grp, err := g.group(ctx, req.GetStream(), req.GetGroup(), ActionManage)
	if err != nil {
		return nil, err
	}
	if req.GetTo().GetPosition() == nil {
		return nil, driver.Invalid("to", "required: earliest, latest, an offset or a time")
	}
	to, err := pbconv.Position("to", req.GetTo())
	if err != nil {
		return nil, err
	}
	parts := make([]int, len(req.GetPartitions()))
	for i, p := range req.GetPartitions() {
		parts[i] = int(p)
	}
	offs, err := grp.ResetOffsets(ctx, to, parts...)
	if err != nil {
		return nil, err
	}
	return &pb.ResetOffsetsResponse{Offsets: pbconv.OffsetsPB(offs)}, nil
}

func (g grpcStreams) DeleteGroup(ctx context.Context, req *pb.DeleteGroupRequest) (*pb.DeleteGroupResponse, error) {
	grp, err := g.group(ctx, req.GetStream(), req.GetGroup(), ActionManage)
	if err != nil {
		return nil, err
	}
	if err := grp.Delete(ctx); err != nil {
		return nil, err
	}
	return &pb.DeleteGroupResponse{}, nil
}
