package rest

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

var _ driver.Streams = (*Conn)(nil)

func streamPath(name, suffix string) string {
	return "/v1/streams/" + url.PathEscape(name) + suffix
}

func groupPath(stream, group, suffix string) string {
	return streamPath(stream, "/groups/"+url.PathEscape(group)+suffix)
}

// CreateStream creates a stream.
func (c *Conn) CreateStream(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	var info httpapi.StreamInfo
	err := c.do(ctx, http.MethodPut, streamPath(name, ""), httpapi.StreamAttributesJSON(attrs), &info)
	return info.Info(), err
}

// SetStreamAttributes changes a stream's attributes.
func (c *Conn) SetStreamAttributes(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	var info httpapi.StreamInfo
	err := c.do(ctx, http.MethodPatch, streamPath(name, ""), httpapi.StreamAttributesJSON(attrs), &info)
	return info.Info(), err
}

// StreamInfo returns a stream's attributes, partitions and groups.
func (c *Conn) StreamInfo(ctx context.Context, name string) (driver.StreamInfo, error) {
	var info httpapi.StreamInfo
	err := c.do(ctx, http.MethodGet, streamPath(name, ""), nil, &info)
	return info.Info(), err
}

// ListStreams returns the stream names.
func (c *Conn) ListStreams(ctx context.Context) ([]string, error) {
	var list httpapi.StreamList
	err := c.do(ctx, http.MethodGet, "/v1/streams", nil, &list)
	return list.Streams, err
}

// DeleteStream deletes a stream.
func (c *Conn) DeleteStream(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, streamPath(name, ""), nil, nil)
}

// Append stores records.
func (c *Conn) Append(ctx context.Context, stream string, recs []driver.Record) ([]driver.AppendResult, error) {
	req := httpapi.AppendRequest{Records: make([]httpapi.Record, len(recs))}
	for i, r := range recs {
		req.Records[i] = httpapi.RecordJSON(r)
	}
	var resp httpapi.AppendResponse
	if err := c.do(ctx, http.MethodPost, streamPath(stream, "/records"), req, &resp); err != nil {
		return nil, err
	}
	return resp.Driver(len(recs))
}

// Read reads one partition.
func (c *Conn) Read(ctx context.Context, stream string, req driver.StreamReadRequest) (driver.StreamReadResult, error) {
	body := httpapi.ReadRequest{Partition: req.Partition, From: &httpapi.PositionJSON{Position: req.From}, Max: req.Max, MaxBytes: req.MaxBytes, Wait: httpapi.Duration(req.Wait)}
	var resp httpapi.ReadResponse
	if err := c.do(ctx, http.MethodPost, streamPath(stream, "/read"), body, &resp); err != nil {
		return driver.StreamReadResult{}, err
	}
	recs, err := httpapi.RecordsDriver(resp.Records)
	return driver.StreamReadResult{Records: recs, Next: resp.Next, End: resp.End}, err
}

func (c *Conn) assignment(ctx context.Context, path string, in any) (driver.Assignment, error) {
	var a httpapi.Assignment
	if err := c.do(ctx, http.MethodPost, path, in, &a); err != nil {
		return driver.Assignment{}, err
	}
	return a.Driver()
}

// JoinGroup joins a member to a group.
func (c *Conn) JoinGroup(ctx context.Context, stream, group, member string, req driver.JoinRequest) (driver.Assignment, error) {
	body := httpapi.JoinRequest{Member: member, SessionTimeout: httpapi.Duration(req.SessionTimeout), StartFrom: string(req.StartFrom)}
	return c.assignment(ctx, groupPath(stream, group, "/join"), body)
}

// Heartbeat keeps a member alive.
func (c *Conn) Heartbeat(ctx context.Context, stream, group, member string) (driver.Assignment, error) {
	return c.assignment(ctx, groupPath(stream, group, "/heartbeat"), httpapi.MemberRequest{Member: member})
}

// Poll reads the member's partitions.
func (c *Conn) Poll(ctx context.Context, stream, group, member string, max int, wait time.Duration) ([]driver.StreamRecord, driver.Assignment, error) {
	body := httpapi.PollRequest{Member: member, Max: max, Wait: httpapi.Duration(wait)}
	var resp httpapi.PollResponse
	if err := c.do(ctx, http.MethodPost, groupPath(stream, group, "/poll"), body, &resp); err != nil {
		return nil, driver.Assignment{}, err
	}
	recs, err := httpapi.RecordsDriver(resp.Records)
	if err != nil {
		return nil, driver.Assignment{}, err
	}
	a, err := resp.Assignment.Driver()
	return recs, a, err
}

// Commit stores a group's offsets.
func (c *Conn) Commit(ctx context.Context, stream, group, member string, generation int64, offsets map[int]int64) error {
	body := httpapi.CommitRequest{Member: member, Generation: generation, Offsets: httpapi.OffsetsJSON(offsets)}
	return c.do(ctx, http.MethodPost, groupPath(stream, group, "/commit"), body, nil)
}

// LeaveGroup removes a member.
func (c *Conn) LeaveGroup(ctx context.Context, stream, group, member string) error {
	return c.do(ctx, http.MethodPost, groupPath(stream, group, "/leave"), httpapi.MemberRequest{Member: member}, nil)
}

// ResetOffsets sets a group's committed offsets.
func (c *Conn) ResetOffsets(ctx context.Context, stream, group string, partitions []int, pos driver.Position) (map[int]int64, error) {
	var resp httpapi.ResetResponse
	body := httpapi.ResetRequest{Partitions: partitions, To: &httpapi.PositionJSON{Position: pos}}
	if err := c.do(ctx, http.MethodPost, groupPath(stream, group, "/reset"), body, &resp); err != nil {
		return nil, err
	}
	return httpapi.OffsetsDriver("offsets", resp.Offsets)
}

// DeleteGroup forgets a group.
func (c *Conn) DeleteGroup(ctx context.Context, stream, group string) error {
	return c.do(ctx, http.MethodDelete, groupPath(stream, group, ""), nil, nil)
}
