package courier

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"time"

	"github.com/courier-io/courier/driver"
)

// IteratorType is where a Kinesis-style shard iterator starts.
type IteratorType string

// The iterator types, as Kinesis names them.
const (
	TrimHorizon          IteratorType = "TRIM_HORIZON"          // the oldest retained record
	LatestIterator       IteratorType = "LATEST"                // just after the newest record when the iterator is made
	AtSequenceNumber     IteratorType = "AT_SEQUENCE_NUMBER"    // the record with the sequence number
	AfterSequenceNumber  IteratorType = "AFTER_SEQUENCE_NUMBER" // the record after it
	AtTimestampIterator  IteratorType = "AT_TIMESTAMP"          // the first record at or after a time
	shardIteratorVersion              = 1
)

// ShardIteratorTTL is how long a shard iterator stays valid, as in Kinesis.
const ShardIteratorTTL = 5 * time.Minute

// SequenceNumber formats a record's offset as a Kinesis-style sequence
// number: a decimal string, zero-padded to 20 digits so that sequence
// numbers of a partition sort as strings in offset order.
func SequenceNumber(offset int64) string { return fmt.Sprintf("%020d", offset) }

// ParseSequenceNumber reads a sequence number made by SequenceNumber.
func ParseSequenceNumber(s string) (int64, error) {
	if s == "" || len(s) > 20 {
		return 0, driver.Invalid("sequence_number", "%q is not a sequence number (1 to 20 digits)", s)
	}
	off, err := strconv.ParseInt(s, 10, 64)
	if err != nil || off < 0 || s[0] == '+' || s[0] == '-' {
		return 0, driver.Invalid("sequence_number", "%q is not a sequence number (1 to 20 digits)", s)
	}
	return off, nil
}

// shardIterator is what an iterator string encodes.
type shardIterator struct {
	stream    string
	partition int
	offset    int64
	issued    time.Time
}

func (it shardIterator) encode() string {
	b := []byte{shardIteratorVersion}
	b = binary.AppendUvarint(b, uint64(len(it.stream)))
	b = append(b, it.stream...)
	b = binary.AppendUvarint(b, uint64(it.partition))
	b = binary.AppendUvarint(b, uint64(it.offset))
	b = binary.AppendVarint(b, it.issued.Unix())
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeShardIterator parses an iterator string; it checks the checksum,
// not the expiry.
func decodeShardIterator(s string) (shardIterator, error) {
	bad := driver.Invalid("shard_iterator", "%.40q is not a shard iterator", s)
	if len(s) > 512 {
		return shardIterator{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 5 || b[0] != shardIteratorVersion {
		return shardIterator{}, bad
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) != sum {
		return shardIterator{}, bad
	}
	rest := body[1:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return shardIterator{}, bad
	}
	it := shardIterator{stream: string(rest[k : k+int(n)])}
	rest = rest[k+int(n):]
	p, k := binary.Uvarint(rest)
	if k <= 0 || p >= driver.MaxPartitions {
		return shardIterator{}, bad
	}
	rest = rest[k:]
	off, k := binary.Uvarint(rest)
	if k <= 0 || off > 1<<62 {
		return shardIterator{}, bad
	}
	rest = rest[k:]
	issued, k := binary.Varint(rest)
	if k <= 0 || k != len(rest) {
		return shardIterator{}, bad
	}
	it.partition, it.offset, it.issued = int(p), int64(off), time.Unix(issued, 0)
	return it, nil
}

// ShardIterator returns a Kinesis-style iterator over partition, valid for
// ShardIteratorTTL: seq is used by the *_SEQUENCE_NUMBER types, at by
// AT_TIMESTAMP.
func (s *Stream) ShardIterator(ctx context.Context, partition int, typ IteratorType, seq string, at time.Time) (string, error) {
	var from Position
	switch typ {
	case TrimHorizon:
		from = Earliest()
	case LatestIterator:
		from = Latest()
	case AtSequenceNumber, AfterSequenceNumber:
		off, err := ParseSequenceNumber(seq)
		if err != nil {
			return "", s.wrap("shard iterator", err)
		}
		if typ == AfterSequenceNumber {
			off++
		}
		from = AtOffset(off)
	case AtTimestampIterator:
		if at.IsZero() {
			return "", s.wrap("shard iterator", driver.Invalid("timestamp", "required for %s", typ))
		}
		from = AtTime(at)
	default:
		return "", s.wrap("shard iterator", driver.Invalid("shard_iterator_type", "%q: use TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP", typ))
	}
	// Resolve the position to an offset now: LATEST means the end at this
	// moment, not whenever the iterator is used.
	recs, next, err := s.Read(ctx, partition, from, ReadMax(1))
	if err != nil {
		return "", err
	}
	off := next
	if len(recs) > 0 {
		off = recs[0].Offset
	}
	return shardIterator{stream: s.name, partition: partition, offset: off, issued: time.Now()}.encode(), nil
}

// GetRecords reads up to limit records (1..10000) at a shard iterator and
// returns them with the iterator for the next call and how far the last
// record is behind the newest one in time (0 at the end).
func (s *Stream) GetRecords(ctx context.Context, iterator string, limit int) ([]StreamRecord, string, time.Duration, error) {
	it, err := decodeShardIterator(iterator)
	if err != nil {
		return nil, "", 0, s.wrap("get records", err)
	}
	if it.stream != s.name {
		return nil, "", 0, s.wrap("get records", driver.Invalid("shard_iterator", "the iterator belongs to stream %q", it.stream))
	}
	if time.Since(it.issued) > ShardIteratorTTL {
		return nil, "", 0, s.wrap("get records", expiredIterator{driver.Invalid("shard_iterator", "expired: iterators are valid for %v", ShardIteratorTTL)})
	}
	sd, err := s.driver("get records")
	if err != nil {
		return nil, "", 0, err
	}
	req := driver.StreamReadRequest{Partition: it.partition, From: AtOffset(it.offset), Max: limit}
	if err := req.Validate(); err != nil {
		return nil, "", 0, s.wrap("get records", err)
	}
	res, err := sd.Read(ctx, s.name, req)
	if err != nil {
		return nil, "", 0, s.wrap("get records", err)
	}
	var behind time.Duration
	if n := len(res.Records); n > 0 && res.Next < res.End {
		// Behind by the age of the last returned record, as Kinesis's
		// MillisBehindLatest approximates.
		behind = max(time.Since(res.Records[n-1].Timestamp), 0)
	}
	next := shardIterator{stream: s.name, partition: it.partition, offset: res.Next, issued: time.Now()}.encode()
	return res.Records, next, behind, nil
}

// ErrIteratorExpired is what the error of GetRecords with an iterator
// older than ShardIteratorTTL matches (besides ErrInvalid).
var ErrIteratorExpired = errors.New("shard iterator expired")

// expiredIterator is the error of an expired iterator: the
// *ValidationError that names the iterator, which is also
// ErrIteratorExpired.
type expiredIterator struct{ *driver.ValidationError }

func (e expiredIterator) Unwrap() error        { return e.ValidationError }
func (e expiredIterator) Is(target error) bool { return target == ErrIteratorExpired }
