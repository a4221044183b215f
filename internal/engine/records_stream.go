package engine

import (
	"encoding/binary"
	"sort"
	"time"

	"github.com/courier-io/courier/driver"
)

// Record types of streams; numbers are on disk like those in records.go.
const (
	recCreateStream   byte = 17 // streamRecord
	recSetStream      byte = 18 // streamRecord
	recDeleteStream   byte = 19 // sidRecord
	recAppend         byte = 20 // appendRecord; one per stream record
	recStreamRelocate byte = 21 // appendRecord of a retained record copied by compaction
	recGroup          byte = 22 // groupRecord: create, commit, reset or delete a consumer group
)

// streamRecord creates a stream or replaces its attributes.
type streamRecord struct {
	SID   uint64
	Name  string
	Attrs driver.StreamAttributes
	At    int64
}

func (r *streamRecord) encode(e *encoder) {
	e.uint(r.SID)
	e.str(r.Name)
	a := &r.Attrs
	e.uint(uint64(a.Partitions))
	e.int(int64(a.Retention))
	e.int(a.RetentionBytes)
	e.bool(a.Compact)
	e.int(int64(a.DeleteRetention))
	e.uint(uint64(a.MaxRecordSize))
	e.int(r.At)
}

func (r *streamRecord) decode(d *decoder) {
	r.SID = d.uint()
	r.Name = d.str()
	a := &r.Attrs
	a.Partitions = int(d.uint() & 0xffff)
	a.Retention = time.Duration(d.int())
	a.RetentionBytes = d.int()
	a.Compact = d.bool()
	a.DeleteRetention = time.Duration(d.int())
	a.MaxRecordSize = int(d.uint() & 0x7fffffff)
	r.At = d.int()
}

// sidRecord names one stream incarnation.
type sidRecord struct{ SID uint64 }

func (r *sidRecord) encode(e *encoder) { e.uint(r.SID) }
func (r *sidRecord) decode(d *decoder) { r.SID = d.uint() }

// appendRecord stores one stream record. SID, Partition, Offset and
// Timestamp are fixed-width so that Append encodes before the lock and
// patches the numbers it assigns under it.
type appendRecord struct {
	SID       uint64
	Partition uint32
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   map[string]string
}

// appendHeaderSize is the fixed-width start of an appendRecord.
const appendHeaderSize = 28

func (r *appendRecord) encode(e *encoder) {
	e.b = binary.LittleEndian.AppendUint64(e.b, r.SID)
	e.b = binary.LittleEndian.AppendUint32(e.b, r.Partition)
	e.b = binary.LittleEndian.AppendUint64(e.b, uint64(r.Offset))
	e.b = binary.LittleEndian.AppendUint64(e.b, uint64(r.Timestamp))
	e.bytes(r.Key)
	e.bytes(r.Value)
	e.headers(r.Headers)
}

func (r *appendRecord) decode(d *decoder) {
	r.SID = d.fixed64()
	r.Partition = d.fixed32()
	r.Offset = int64(d.fixed64())
	r.Timestamp = int64(d.fixed64())
	r.Key = d.raw()
	r.Value = d.raw()
	r.Headers = d.headers()
}

// patch sets the numbers of an encoded appendRecord.
func (r *appendRecord) patch(payload []byte) {
	binary.LittleEndian.PutUint64(payload[0:8], r.SID)
	binary.LittleEndian.PutUint32(payload[8:12], r.Partition)
	binary.LittleEndian.PutUint64(payload[12:20], uint64(r.Offset))
	binary.LittleEndian.PutUint64(payload[20:28], uint64(r.Timestamp))
}

func (r *appendRecord) sizeHint() int {
	n := appendHeaderSize + 3*binary.MaxVarintLen64 + len(r.Key) + len(r.Value)
	n += headersSize(r.Headers)
	return n
}

// groupRecord changes a consumer group's durable state: it creates the
// group (StartFrom), commits or resets offsets, or deletes it.
type groupRecord struct {
	SID        uint64
	Group      string
	StartFrom  driver.PositionKind
	Generation int64
	Offsets    map[int]int64
	Delete     bool
}

func (r *groupRecord) encode(e *encoder) {
	e.uint(r.SID)
	e.str(r.Group)
	e.str(string(r.StartFrom))
	e.int(r.Generation)
	parts := make([]int, 0, len(r.Offsets))
	for p := range r.Offsets {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	e.uint(uint64(len(parts)))
	for _, p := range parts {
		e.uint(uint64(p))
		e.int(r.Offsets[p])
	}
	e.bool(r.Delete)
}

func (r *groupRecord) decode(d *decoder) {
	r.SID = d.uint()
	r.Group = d.str()
	r.StartFrom = driver.PositionKind(d.str())
	r.Generation = d.int()
	if n := d.count(2); n > 0 {
		r.Offsets = make(map[int]int64, n)
		for range n {
			p := int(d.uint() & 0xffff)
			r.Offsets[p] = d.int()
		}
	}
	r.Delete = d.bool()
}
