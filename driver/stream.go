package driver

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"math/bits"
	"time"
)

// StreamAttributes are a stream's settings.
type StreamAttributes struct {
	// Partitions is the number of partitions, 1..MaxPartitions (default 1).
	// It can be increased, never decreased.
	Partitions int `json:"partitions"`
	// Retention deletes records older than this; 0 keeps them until
	// RetentionBytes says otherwise. Default 168h (7 days), at most 10 years.
	Retention time.Duration `json:"retention"`
	// RetentionBytes deletes a partition's oldest records once its records
	// total more than this many bytes; 0 is unlimited.
	RetentionBytes int64 `json:"retention_bytes"`
	// Compact keeps only the latest record of each key (key-compacted
	// stream); a record with an empty value deletes its key once
	// DeleteRetention has passed. Records without a key are refused.
	Compact bool `json:"compact"`
	// DeleteRetention is how long a compacted stream keeps a delete marker
	// (an empty value) so readers see it. Default 24h.
	DeleteRetention time.Duration `json:"delete_retention"`
	// MaxRecordSize limits key plus value plus headers, 1 KiB..1 MiB
	// (default 1 MiB).
	MaxRecordSize int `json:"max_record_size"`
}

// Limits of streams.
const (
	MaxPartitions         = 1024
	MaxStreamRetention    = 10 * 365 * 24 * time.Hour
	MaxReadRecords        = 10000
	DefaultReadMaxBytes   = 4 << 20
	MaxReadBytes          = 64 << 20
	MaxKeyLen             = 4096
	MinSessionTimeout     = 100 * time.Millisecond
	MaxSessionTimeout     = 30 * time.Minute
	MaxMemberNameLen      = 128
	DefaultStreamRetain   = 7 * 24 * time.Hour
	DefaultDeleteRetain   = 24 * time.Hour
	DefaultSessionTimeout = 30 * time.Second
)

// DefaultStreamAttributes returns the attributes of a stream created
// without options.
func DefaultStreamAttributes() StreamAttributes {
	return StreamAttributes{Partitions: 1, Retention: DefaultStreamRetain, DeleteRetention: DefaultDeleteRetain, MaxRecordSize: MaxMessageSizeLimit}
}

// Record is a record to append.
type Record struct {
	// Key picks the partition (see PartitionForKey) unless Partition is
	// set; records with equal keys keep their order. Optional, except on
	// compacted streams.
	Key []byte
	// Value is the payload; on a compacted stream an empty value deletes
	// the key.
	Value []byte
	// Headers are application metadata (trace context travels here).
	Headers map[string]string
	// Partition, when not AnyPartition, appends to that partition.
	Partition int
}

// AnyPartition (the zero value of Record.Partition is partition 0, so
// callers that want the key to choose set this).
const AnyPartition = -1

// AppendResult is where one record of a batch was stored.
type AppendResult struct {
	Partition int   `json:"partition"`
	Offset    int64 `json:"offset"`
	// Err is set when this record was rejected; the others are unaffected.
	Err error `json:"-"`
}

// StreamRecord is a stored record.
type StreamRecord struct {
	Partition int
	Offset    int64
	Timestamp time.Time // when it was appended; never decreases within a partition
	Key       []byte
	Value     []byte
	Headers   map[string]string
}

// PositionKind says where a read starts.
type PositionKind string

// The position kinds.
const (
	FromEarliest PositionKind = "earliest" // the oldest retained record
	FromLatest   PositionKind = "latest"   // the next record to be appended
	FromOffset   PositionKind = "offset"   // Offset (clamped to the retained range)
	FromTime     PositionKind = "time"     // the first record at or after Time
)

// Position is where a read starts.
type Position struct {
	Kind   PositionKind
	Offset int64
	Time   time.Time
}

// StreamReadRequest asks for records of one partition.
type StreamReadRequest struct {
	Partition int
	From      Position
	// Max is the most records to return, 1..MaxReadRecords (0 means 100).
	Max int
	// MaxBytes bounds the values, keys and headers returned (0 means
	// DefaultReadMaxBytes); at least one record is returned even if it is
	// larger.
	MaxBytes int
	// Wait long-polls up to this long for a record when none is there
	// (0: return at once), at most MaxReceiveWait.
	Wait time.Duration
}

// StreamReadResult is what a read returned.
type StreamReadResult struct {
	Records []StreamRecord
	// Next is the offset to read from next.
	Next int64
	// End is the partition's next offset to be written (high watermark).
	End int64
}

// PartitionInfo describes one partition.
type PartitionInfo struct {
	Partition int   `json:"partition"`
	First     int64 `json:"first_offset"` // oldest retained offset (== End when empty)
	End       int64 `json:"end_offset"`   // next offset to be written
	Records   int64 `json:"records"`      // retained records (fewer than End-First on compacted streams)
	Bytes     int64 `json:"bytes"`        // retained record bytes
}

// GroupInfo describes a consumer group.
type GroupInfo struct {
	Name       string        `json:"name"`
	Generation int64         `json:"generation"`
	Members    []MemberInfo  `json:"members"`
	Committed  map[int]int64 `json:"committed"` // partition -> next offset to consume
	Lag        map[int]int64 `json:"lag"`       // partition -> End - committed
	StartFrom  PositionKind  `json:"start_from"`
}

// MemberInfo describes one member of a group.
type MemberInfo struct {
	Name       string    `json:"name"`
	Partitions []int     `json:"partitions"`
	LastSeen   time.Time `json:"last_seen"`
}

// StreamInfo describes a stream.
type StreamInfo struct {
	Name       string           `json:"name"`
	Attributes StreamAttributes `json:"attributes"`
	CreatedAt  time.Time        `json:"created_at"`
	Partitions []PartitionInfo  `json:"partitions"`
	Groups     []GroupInfo      `json:"groups"`
}

// JoinRequest joins a member to a consumer group.
type JoinRequest struct {
	// SessionTimeout removes a member that neither heartbeats nor polls for
	// this long; its partitions go to the others. Default 30s.
	SessionTimeout time.Duration
	// StartFrom is where a group with no committed offset for a partition
	// starts: FromEarliest (default) or FromLatest. It is fixed when the
	// group is created.
	StartFrom PositionKind
}

// Assignment is what a member owns in one generation of its group.
type Assignment struct {
	// Generation increases on every rebalance; commits must carry the
	// generation they were assigned in.
	Generation int64
	// Partitions the member owns, sorted. Rebalances are cooperative: a
	// member keeps the partitions it still owns.
	Partitions []int
	// Offsets is where the member reads each owned partition next: its own
	// position if it read it, else the group's committed offset.
	Offsets map[int]int64
}

// Streams is the event-stream pattern (Kafka/Kinesis semantics).
type Streams interface {
	CreateStream(ctx context.Context, name string, attrs StreamAttributes) (StreamInfo, error)
	// SetStreamAttributes changes retention and may increase Partitions;
	// Compact cannot change (ErrConflict) and Partitions cannot decrease.
	SetStreamAttributes(ctx context.Context, name string, attrs StreamAttributes) (StreamInfo, error)
	StreamInfo(ctx context.Context, name string) (StreamInfo, error)
	ListStreams(ctx context.Context) ([]string, error)
	DeleteStream(ctx context.Context, name string) error
	// Append stores records and returns after they are durable.
	Append(ctx context.Context, stream string, recs []Record) ([]AppendResult, error)
	// Read returns records of one partition in offset order.
	Read(ctx context.Context, stream string, req StreamReadRequest) (StreamReadResult, error)

	// JoinGroup adds member to group (creating the group) and returns its
	// assignment; joining again with the same name is a heartbeat.
	JoinGroup(ctx context.Context, stream, group, member string, req JoinRequest) (Assignment, error)
	// Heartbeat keeps a member alive and returns its current assignment.
	Heartbeat(ctx context.Context, stream, group, member string) (Assignment, error)
	// Poll reads up to max records from the member's partitions, from each
	// partition's position, waiting up to wait; it advances the member's
	// positions (not the committed offsets) and counts as a heartbeat.
	Poll(ctx context.Context, stream, group, member string, max int, wait time.Duration) ([]StreamRecord, Assignment, error)
	// Commit stores the group's offsets (next offset to consume per
	// partition). It fails with ErrFenced for a partition the member does
	// not own in generation.
	Commit(ctx context.Context, stream, group, member string, generation int64, offsets map[int]int64) error
	// LeaveGroup removes a member; its partitions go to the others.
	LeaveGroup(ctx context.Context, stream, group, member string) error
	// ResetOffsets sets the committed offsets of a group with no members
	// (ErrConflict otherwise) to pos for the given partitions (all when
	// empty).
	ResetOffsets(ctx context.Context, stream, group string, partitions []int, pos Position) (map[int]int64, error)
	// DeleteGroup forgets a group with no members.
	DeleteGroup(ctx context.Context, stream, group string) error
}

// PartitionForKey is the partition of key among n partitions: the MD5 of
// the key read as a 128-bit big-endian number h, scaled to the partitions
// as floor(h * n / 2^128). Partition i owns the i-th of n equal ranges of
// the hash space, as Kinesis shards own hash-key ranges, so the mapping is
// stable across versions and across the Kinesis-compatible API. Raising n
// moves keys, as it does in Kafka and Kinesis.
func PartitionForKey(key []byte, n int) int {
	sum := md5.Sum(key)
	hi, lo := binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])
	// floor((hi*2^64 + lo) * n / 2^128): the high word of hi*n plus the
	// carry out of (low word of hi*n) + (high word of lo*n).
	h1, l1 := bits.Mul64(hi, uint64(n))
	h2, _ := bits.Mul64(lo, uint64(n))
	_, carry := bits.Add64(l1, h2, 0)
	return int(h1 + carry)
}
