package courier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/courier-io/courier/driver"
)

// StreamAttributes are a stream's settings; see driver.StreamAttributes.
type StreamAttributes = driver.StreamAttributes

// StreamInfo describes a stream: attributes, partitions, groups with lag.
type StreamInfo = driver.StreamInfo

// Record is a record to append: key, value, headers, optional partition.
type Record = driver.Record

// StreamRecord is a stored record with its partition, offset and time.
type StreamRecord = driver.StreamRecord

// AppendResult is where one appended record was stored.
type AppendResult = driver.AppendResult

// Position is where a read starts; see Earliest, Latest, AtOffset, AtTime.
type Position = driver.Position

// Assignment is what a group member owns in one generation.
type Assignment = driver.Assignment

// GroupInfo describes a consumer group.
type GroupInfo = driver.GroupInfo

// AnyPartition lets a record's key (or round robin) choose its partition.
const AnyPartition = driver.AnyPartition

// Earliest is the oldest retained record.
func Earliest() Position { return Position{Kind: driver.FromEarliest} }

// Latest is the next record to be appended.
func Latest() Position { return Position{Kind: driver.FromLatest} }

// AtOffset is offset (raised to the oldest retained one).
func AtOffset(offset int64) Position { return Position{Kind: driver.FromOffset, Offset: offset} }

// AtTime is the first record appended at or after t.
func AtTime(t time.Time) Position { return Position{Kind: driver.FromTime, Time: t} }

// StreamOption sets one stream attribute.
type StreamOption func(*StreamAttributes)

// Partitions sets the number of partitions (1..1024, default 1).
func Partitions(n int) StreamOption { return func(a *StreamAttributes) { a.Partitions = n } }

// StreamRetention deletes records older than d (0: no age limit; default 7 days).
func StreamRetention(d time.Duration) StreamOption {
	return func(a *StreamAttributes) { a.Retention = d }
}

// RetentionBytes bounds each partition's retained bytes (0: unlimited).
func RetentionBytes(n int64) StreamOption { return func(a *StreamAttributes) { a.RetentionBytes = n } }

// Compacted keeps only the latest record per key; a record with an empty
// value deletes its key after deleteRetention (0: the default 24h).
func Compacted(deleteRetention time.Duration) StreamOption {
	return func(a *StreamAttributes) {
		a.Compact = true
		if deleteRetention > 0 {
			a.DeleteRetention = deleteRetention
		}
	}
}

// MaxRecordSize limits key plus value plus headers (1 KiB..1 MiB).
func MaxRecordSize(n int) StreamOption { return func(a *StreamAttributes) { a.MaxRecordSize = n } }

// WithStreamAttributes replaces all attributes at once.
func WithStreamAttributes(attrs StreamAttributes) StreamOption {
	return func(a *StreamAttributes) { *a = attrs }
}

// Stream is a handle to a named stream. Getting one does not contact the
// backend.
type Stream struct {
	b    *Broker
	name string
}

// Stream returns a handle for the stream name.
func (b *Broker) Stream(name string) *Stream { return &Stream{b: b, name: name} }

func (b *Broker) streamDriver() (driver.Streams, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if b.streams == nil {
		return nil, fmt.Errorf("streams: %w", ErrUnsupported)
	}
	return b.streams, nil
}

// CreateStream creates a stream; idempotent like CreateQueue.
func (b *Broker) CreateStream(ctx context.Context, name string, opts ...StreamOption) (*Stream, error) {
	sd, err := b.streamDriver()
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateStreamName("name", name); err != nil {
		return nil, fmt.Errorf("create stream: %w", err)
	}
	attrs := driver.DefaultStreamAttributes()
	for _, o := range opts {
		o(&attrs)
	}
	if err := attrs.Validate(); err != nil {
		return nil, fmt.Errorf("create stream %q: %w", name, err)
	}
	if _, err := sd.CreateStream(ctx, name, attrs); err != nil {
		return nil, fmt.Errorf("create stream %q: %w", name, err)
	}
	return b.Stream(name), nil
}

// ListStreams returns the names of all streams, sorted.
func (b *Broker) ListStreams(ctx context.Context) ([]string, error) {
	sd, err := b.streamDriver()
	if err != nil {
		return nil, err
	}
	return sd.ListStreams(ctx)
}

// DeleteStream deletes a stream with its records and groups.
func (b *Broker) DeleteStream(ctx context.Context, name string) error {
	return b.Stream(name).Delete(ctx)
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.name }

func (s *Stream) driver(op string) (driver.Streams, error) {
	sd, err := s.b.streamDriver()
	if err != nil {
		return nil, fmt.Errorf("stream %q: %s: %w", s.name, op, err)
	}
	if err := driver.ValidateStreamName("stream", s.name); err != nil {
		return nil, fmt.Errorf("stream %q: %s: %w", s.name, op, err)
	}
	return sd, nil
}

func (s *Stream) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("stream %q: %s: %w", s.name, op, err)
}

// Info returns attributes, partitions (first and end offsets) and groups
// (committed offsets and lag).
func (s *Stream) Info(ctx context.Context) (StreamInfo, error) {
	sd, err := s.driver("info")
	if err != nil {
		return StreamInfo{}, err
	}
	info, err := sd.StreamInfo(ctx, s.name)
	return info, s.wrap("info", err)
}

// SetAttributes changes retention or adds partitions; compaction cannot
// change and partitions cannot be removed.
func (s *Stream) SetAttributes(ctx context.Context, opts ...StreamOption) (StreamInfo, error) {
	sd, err := s.driver("set attributes")
	if err != nil {
		return StreamInfo{}, err
	}
	info, err := sd.StreamInfo(ctx, s.name)
	if err != nil {
		return StreamInfo{}, s.wrap("set attributes", err)
	}
	attrs := info.Attributes
	for _, o := range opts {
		o(&attrs)
	}
	if err := attrs.Validate(); err != nil {
		return StreamInfo{}, s.wrap("set attributes", err)
	}
	info, err = sd.SetStreamAttributes(ctx, s.name, attrs)
	return info, s.wrap("set attributes", err)
}

// Delete deletes the stream, its records and its groups.
func (s *Stream) Delete(ctx context.Context) error {
	sd, err := s.driver("delete")
	if err != nil {
		return err
	}
	return s.wrap("delete", sd.DeleteStream(ctx, s.name))
}

// Append stores one record and returns its partition and offset once it is
// durable. Set rec.Partition to AnyPartition to let the key choose.
func (s *Stream) Append(ctx context.Context, rec Record) (AppendResult, error) {
	res, err := s.AppendBatch(ctx, []Record{rec})
	if err != nil {
		return AppendResult{}, err
	}
	if res[0].Err != nil {
		return AppendResult{}, s.wrap("append", res[0].Err)
	}
	return res[0], nil
}

// AppendBatch stores up to 1000 records with one durable write; rejected
// records have Err set and do not affect the others.
func (s *Stream) AppendBatch(ctx context.Context, recs []Record) ([]AppendResult, error) {
	sd, err := s.driver("append")
	if err != nil {
		return nil, err
	}
	if err := driver.ValidateRecords(recs); err != nil {
		return nil, s.wrap("append", err)
	}
	res, err := sd.Append(ctx, s.name, recs)
	return res, s.wrap("append", err)
}

// ReadOption configures Read and Reader.
type ReadOption func(*driver.StreamReadRequest)

// ReadMax sets the most records per read (1..10000, default 100).
func ReadMax(n int) ReadOption { return func(r *driver.StreamReadRequest) { r.Max = n } }

// ReadMaxBytes bounds the bytes per read (default 4 MiB).
func ReadMaxBytes(n int) ReadOption { return func(r *driver.StreamReadRequest) { r.MaxBytes = n } }

// ReadWait long-polls up to d for records when there are none (at most 20s).
func ReadWait(d time.Duration) ReadOption { return func(r *driver.StreamReadRequest) { r.Wait = d } }

// Read returns records of partition from a position, in offset order, and
// the offset to read from next.
func (s *Stream) Read(ctx context.Context, partition int, from Position, opts ...ReadOption) ([]StreamRecord, int64, error) {
	sd, err := s.driver("read")
	if err != nil {
		return nil, 0, err
	}
	req := driver.StreamReadRequest{Partition: partition, From: from}
	for _, o := range opts {
		o(&req)
	}
	if err := req.Validate(); err != nil {
		return nil, 0, s.wrap("read", err)
	}
	res, err := sd.Read(ctx, s.name, req)
	if err != nil {
		return nil, 0, s.wrap("read", err)
	}
	return res.Records, res.Next, nil
}

// Reader reads one partition sequentially from a position: an ad-hoc
// replay that never disturbs consumer groups.
type Reader struct {
	s         *Stream
	partition int
	next      Position
	opts      []ReadOption
}

// Reader returns a reader of partition starting at from.
func (s *Stream) Reader(partition int, from Position, opts ...ReadOption) *Reader {
	return &Reader{s: s, partition: partition, next: from, opts: opts}
}

// Next returns the next records (waiting as ReadWait says; none when the
// wait ends empty) and advances the reader.
func (r *Reader) Next(ctx context.Context) ([]StreamRecord, error) {
	recs, next, err := r.s.Read(ctx, r.partition, r.next, r.opts...)
	if err != nil {
		return nil, err
	}
	r.next = AtOffset(next)
	return recs, nil
}

// Offset returns the offset the reader reads next, once it has read.
func (r *Reader) Offset() int64 { return r.next.Offset }

// Group returns a handle for the consumer group name of the stream.
func (s *Stream) Group(name string) *Group { return &Group{s: s, name: name} }

// Group is a handle to a consumer group.
type Group struct {
	s    *Stream
	name string
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

func (g *Group) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("stream %q group %q: %s: %w", g.s.name, g.name, op, err)
}

// ResetOffsets sets the committed offsets of a group without members to
// to, for partitions (all when none are given), and returns them.
func (g *Group) ResetOffsets(ctx context.Context, to Position, partitions ...int) (map[int]int64, error) {
	sd, err := g.s.driver("reset offsets")
	if err != nil {
		return nil, err
	}
	offs, err := sd.ResetOffsets(ctx, g.s.name, g.name, partitions, to)
	return offs, g.wrap("reset offsets", err)
}

// Delete forgets a group without members.
func (g *Group) Delete(ctx context.Context) error {
	sd, err := g.s.driver("delete group")
	if err != nil {
		return err
	}
	return g.wrap("delete", sd.DeleteGroup(ctx, g.s.name, g.name))
}

// JoinOption configures Join.
type JoinOption func(*joinConfig)

type joinConfig struct {
	req        driver.JoinRequest
	autoCommit bool
}

// SessionTimeout removes the member when it neither polls nor heartbeats
// for d (default 30s).
func SessionTimeout(d time.Duration) JoinOption {
	return func(c *joinConfig) { c.req.SessionTimeout = d }
}

// StartFromLatest makes a new group start at the end of each partition
// instead of the earliest retained record.
func StartFromLatest() JoinOption {
	return func(c *joinConfig) { c.req.StartFrom = driver.FromLatest }
}

// AutoCommit commits the records a Poll returned when the next Poll (or
// Close) is called: at-least-once without explicit commits.
func AutoCommit() JoinOption { return func(c *joinConfig) { c.autoCommit = true } }

// Consumer is a member of a consumer group: it polls records of the
// partitions it owns and commits offsets. Use it from one goroutine.
type Consumer struct {
	g          *Group
	member     string
	autoCommit bool

	mu         sync.Mutex
	assignment Assignment
	pending    map[int]int64 // partition -> next offset after records returned, not committed
}

// Join joins the group as member (creating the group) and returns the
// consumer. Members with the same name are the same member.
func (g *Group) Join(ctx context.Context, member string, opts ...JoinOption) (*Consumer, error) {
	sd, err := g.s.driver("join")
	if err != nil {
		return nil, err
	}
	var cfg joinConfig
	for _, o := range opts {
		o(&cfg)
	}
	if err := driver.ValidateGroupName("group", g.name); err != nil {
		return nil, g.wrap("join", err)
	}
	if err := driver.ValidateMemberName("member", member); err != nil {
		return nil, g.wrap("join", err)
	}
	if err := cfg.req.Normalize(); err != nil {
		return nil, g.wrap("join", err)
	}
	a, err := sd.JoinGroup(ctx, g.s.name, g.name, member, cfg.req)
	if err != nil {
		return nil, g.wrap("join", err)
	}
	return &Consumer{g: g, member: member, autoCommit: cfg.autoCommit, assignment: a, pending: map[int]int64{}}, nil
}

// Consumer returns a handle for member without joining: for a process
// that relays a member's calls (a server), or resumes a member that joined
// before. Its calls fail with ErrFenced until the member has joined.
func (g *Group) Consumer(member string) *Consumer {
	return &Consumer{g: g, member: member, pending: map[int]int64{}}
}

// Assignment returns what the member owned at its last call.
func (c *Consumer) Assignment() Assignment {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.assignment
}

// Poll returns up to max records (default 100) of the member's partitions,
// waiting up to wait for some. With AutoCommit it first commits what the
// previous Poll returned.
func (c *Consumer) Poll(ctx context.Context, max int, wait time.Duration) ([]StreamRecord, error) {
	if c.autoCommit {
		if err := c.Commit(ctx); err != nil && !errors.Is(err, ErrFenced) {
			return nil, err
		}
	}
	sd, err := c.g.s.driver("poll")
	if err != nil {
		return nil, err
	}
	recs, a, err := sd.Poll(ctx, c.g.s.name, c.g.name, c.member, max, wait)
	if err != nil {
		return nil, c.g.wrap("poll", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.assignment = a
	owned := map[int]bool{}
	for _, p := range a.Partitions {
		owned[p] = true
	}
	for p := range c.pending {
		if !owned[p] {
			delete(c.pending, p) // lost: another member resumes from the committed offset
		}
	}
	for _, r := range recs {
		c.pending[r.Partition] = r.Offset + 1
	}
	return recs, nil
}

// Commit commits the offsets after the records Poll returned. It fails
// with ErrFenced for partitions the member lost meanwhile.
func (c *Consumer) Commit(ctx context.Context) error {
	c.mu.Lock()
	offs := make(map[int]int64, len(c.pending))
	for p, o := range c.pending {
		offs[p] = o
	}
	gen := c.assignment.Generation
	c.mu.Unlock()
	if len(offs) == 0 {
		return nil
	}
	if err := c.CommitOffsets(ctx, gen, offs); err != nil {
		return err
	}
	c.mu.Lock()
	for p, o := range offs {
		if c.pending[p] == o {
			delete(c.pending, p)
		}
	}
	c.mu.Unlock()
	return nil
}

// CommitOffsets commits explicit offsets (the next offset to consume per
// partition) in generation.
func (c *Consumer) CommitOffsets(ctx context.Context, generation int64, offsets map[int]int64) error {
	sd, err := c.g.s.driver("commit")
	if err != nil {
		return err
	}
	return c.g.wrap("commit", sd.Commit(ctx, c.g.s.name, c.g.name, c.member, generation, offsets))
}

// Heartbeat keeps the member alive between polls and refreshes its
// assignment.
func (c *Consumer) Heartbeat(ctx context.Context) (Assignment, error) {
	sd, err := c.g.s.driver("heartbeat")
	if err != nil {
		return Assignment{}, err
	}
	a, err := sd.Heartbeat(ctx, c.g.s.name, c.g.name, c.member)
	if err != nil {
		return Assignment{}, c.g.wrap("heartbeat", err)
	}
	c.mu.Lock()
	c.assignment = a
	c.mu.Unlock()
	return a, nil
}

// Close commits pending offsets (with AutoCommit) and leaves the group;
// its partitions go to the other members.
func (c *Consumer) Close(ctx context.Context) error {
	var commitErr error
	if c.autoCommit {
		if err := c.Commit(ctx); err != nil && !errors.Is(err, ErrFenced) {
			commitErr = err
		}
	}
	leaveErr := c.Leave(ctx)
	if errors.Is(leaveErr, ErrFenced) {
		leaveErr = nil // already gone
	}
	return errors.Join(commitErr, leaveErr)
}

// Leave leaves the group without committing; its partitions go to the
// other members.
func (c *Consumer) Leave(ctx context.Context) error {
	sd, err := c.g.s.driver("leave")
	if err != nil {
		return err
	}
	return c.g.wrap("leave", sd.LeaveGroup(ctx, c.g.s.name, c.g.name, c.member))
}

// Run polls and calls handle for each record until ctx ends, committing
// after each batch whose records all succeeded. A failing handler stops
// Run with its error after committing the records before it; the record is
// delivered again to whoever owns the partition next.
func (c *Consumer) Run(ctx context.Context, handle func(context.Context, StreamRecord) error) error {
	for ctx.Err() == nil {
		recs, err := c.Poll(ctx, 100, 5*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		done := map[int]int64{}
		for _, r := range recs {
			if err := handle(ctx, r); err != nil {
				c.mu.Lock()
				c.pending = done
				c.mu.Unlock()
				return errors.Join(fmt.Errorf("handler failed at partition %d offset %d: %w", r.Partition, r.Offset, err), c.Commit(context.WithoutCancel(ctx)))
			}
			done[r.Partition] = r.Offset + 1
		}
		if err := c.Commit(ctx); err != nil && !errors.Is(err, ErrFenced) {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// PartitionForKey is the partition that records with key go to in a
// stream of n partitions.
func PartitionForKey(key []byte, n int) int { return driver.PartitionForKey(key, n) }
