package client

import (
	"context"
	"time"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/pbconv"
)

// CreateStream implements driver.Streams.
func (c *Conn) CreateStream(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	res, err := call(ctx, c.streams.CreateStream, &pb.CreateStreamRequest{Name: name, Attributes: pbconv.StreamAttributesPB(attrs)})
	if err != nil {
		return driver.StreamInfo{}, err
	}
	return pbconv.StreamInfo(res.GetStream())
}

// SetStreamAttributes implements driver.Streams.
func (c *Conn) SetStreamAttributes(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	res, err := call(ctx, c.streams.UpdateStream, &pb.UpdateStreamRequest{Name: name, Attributes: pbconv.StreamAttributesPB(attrs)})
	if err != nil {
		return driver.StreamInfo{}, err
	}
	return pbconv.StreamInfo(res.GetStream())
}

// StreamInfo implements driver.Streams.
func (c *Conn) StreamInfo(ctx context.Context, name string) (driver.StreamInfo, error) {
	res, err := call(ctx, c.streams.GetStream, &pb.GetStreamRequest{Name: name})
	if err != nil {
		return driver.StreamInfo{}, err
	}
	return pbconv.StreamInfo(res.GetStream())
}

// ListStreams implements driver.Streams.
func (c *Conn) ListStreams(ctx context.Context) ([]string, error) {
	res, err := call(ctx, c.streams.ListStreams, &pb.ListStreamsRequest{})
	if err != nil {
		return nil, err
	}
	return nonNilNames(res.GetNames()), nil
}

// DeleteStream implements driver.Streams.
func (c *Conn) DeleteStream(ctx context.Context, name string) error {
	_, err := call(ctx, c.streams.DeleteStream, &pb.DeleteStreamRequest{Name: name})
	return err
}

// Append implements driver.Streams.
func (c *Conn) Append(ctx context.Context, stream string, recs []driver.Record) ([]driver.AppendResult, error) {
	res, err := call(ctx, c.streams.Append, &pb.AppendRequest{Stream: stream, Records: pbconv.RecordsPB(recs)})
	if err != nil {
		return nil, err
	}
	return pbconv.AppendResults(res.GetResults(), len(recs))
}

// Read implements driver.Streams with one Fetch.
func (c *Conn) Read(ctx context.Context, stream string, req driver.StreamReadRequest) (driver.StreamReadResult, error) {
	fr := &pb.FetchRequest{
		Stream: stream, Partition: int32(req.Partition), From: pbconv.PositionPB(req.From), Max: int32(req.Max),
		MaxBytes: int32(req.MaxBytes), Wait: pbconv.DurationPB(req.Wait),
	}
	res, err := call(ctx, c.streams.Fetch, fr)
	if err != nil {
		return driver.StreamReadResult{}, err
	}
	return driver.StreamReadResult{Records: pbconv.StreamRecords(res.GetRecords()), Next: res.GetNext(), End: res.GetEnd()}, nil
}

// JoinGroup implements driver.Streams.
func (c *Conn) JoinGroup(ctx context.Context, stream, group, member string, req driver.JoinRequest) (driver.Assignment, error) {
	jr := &pb.JoinGroupRequest{
		Stream: stream, Group: group, Member: member, SessionTimeout: pbconv.DurationPB(req.SessionTimeout),
		StartFrom: pbconv.EnumPB[pb.StartFrom](req.StartFrom, pbconv.StartFroms),
	}
	res, err := call(ctx, c.streams.JoinGroup, jr)
	if err != nil {
		return driver.Assignment{}, err
	}
	return pbconv.Assignment(res.GetAssignment()), nil
}

// Heartbeat implements driver.Streams.
func (c *Conn) Heartbeat(ctx context.Context, stream, group, member string) (driver.Assignment, error) {
	res, err := call(ctx, c.streams.Heartbeat, &pb.HeartbeatRequest{Stream: stream, Group: group, Member: member})
	if err != nil {
		return driver.Assignment{}, err
	}
	return pbconv.Assignment(res.GetAssignment()), nil
}

// Poll implements driver.Streams.
func (c *Conn) Poll(ctx context.Context, stream, group, member string, max int, wait time.Duration) ([]driver.StreamRecord, driver.Assignment, error) {
	res, err := call(ctx, c.streams.Poll, &pb.PollRequest{Stream: stream, Group: group, Member: member, Max: int32(max), Wait: pbconv.DurationPB(wait)})
	if err != nil {
		return nil, driver.Assignment{}, err
	}
	return pbconv.StreamRecords(res.GetRecords()), pbconv.Assignment(res.GetAssignment()), nil
}

// Commit implements driver.Streams.
func (c *Conn) Commit(ctx context.Context, stream, group, member string, generation int64, offsets map[int]int64) error {
	_, err := call(ctx, c.streams.Commit, &pb.CommitRequest{Stream: stream, Group: group, Member: member, Generation: generation, Offsets: pbconv.OffsetsPB(offsets)})
	return err
}

// LeaveGroup implements driver.Streams.
func (c *Conn) LeaveGroup(ctx context.Context, stream, group, member string) error {
	_, err := call(ctx, c.streams.LeaveGroup, &pb.LeaveGroupRequest{Stream: stream, Group: group, Member: member})
	return err
}

// ResetOffsets implements driver.Streams.
func (c *Conn) ResetOffsets(ctx context.Context, stream, group string, partitions []int, pos driver.Position) (map[int]int64, error) {
	res, err := call(ctx, c.streams.ResetOffsets, &pb.ResetOffsetsRequest{Stream: stream, Group: group, Partitions: pbconv.PartitionsPB(partitions), To: pbconv.PositionPB(pos)})
	if err != nil {
		return nil, err
	}
	return pbconv.OffsetsOf(res.GetOffsets()), nil
}

// DeleteGroup implements driver.Streams.
func (c *Conn) DeleteGroup(ctx context.Context, stream, group string) error {
	_, err := call(ctx, c.streams.DeleteGroup, &pb.DeleteGroupRequest{Stream: stream, Group: group})
	return err
}
