package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/courier-io/courier/driver"
)

// Append produces the records with acks from all in-sync replicas through
// the idempotent producer and returns each record's partition and offset.
// A record's partition is its own, or the key's (driver.PartitionForKey),
// or round robin for records without either. Records the stream refuses
// (partition out of range, too large, no key on a compacted stream) fail
// alone; the others are stored.
func (c *conn) Append(ctx context.Context, stream string, recs []driver.Record) ([]driver.AppendResult, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := driver.ValidateRecords(recs); err != nil {
		return nil, err
	}
	topic := c.topicOf(stream)
	lim, err := c.limits(ctx, stream)
	if err != nil {
		return nil, err
	}
	out := make([]driver.AppendResult, len(recs))
	krecs := make([]*kgo.Record, 0, len(recs))
	idx := make([]int, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		p := r.Partition
		switch {
		case p >= lim.partitions:
			out[i].Err = driver.Invalid(fmt.Sprintf("records[%d].partition", i), "%d is out of range; stream %q has partitions 0 to %d", p, stream, lim.partitions-1)
			continue
		case lim.compact && len(r.Key) == 0:
			out[i].Err = driver.Invalid(fmt.Sprintf("records[%d].key", i), "stream %q is compacted: every record needs a key", stream)
			continue
		case driver.RecordSize(r) > lim.maxRecordSize:
			out[i].Err = driver.TooLarge(fmt.Sprintf("records[%d]", i), "record is %d bytes (key, value and headers); stream %q allows %d", driver.RecordSize(r), stream, lim.maxRecordSize)
			continue
		case p == driver.AnyPartition && len(r.Key) > 0:
			p = driver.PartitionForKey(r.Key, lim.partitions)
		case p == driver.AnyPartition:
			p = int(c.rr.Add(1) % uint64(lim.partitions))
		}
		value := r.Value
		if value == nil {
			value = []byte{} // nil is a tombstone in Kafka; courier's empty value is the delete marker on compacted streams only
			if lim.compact {
				value = nil
			}
		} else if len(value) == 0 && lim.compact {
			value = nil
		}
		krecs = append(krecs, &kgo.Record{Topic: topic, Partition: int32(p), Key: r.Key, Value: value, Headers: encodeHeaders(r.Headers)})
		idx = append(idx, i)
	}
	if len(krecs) == 0 {
		return out, nil
	}
	results := c.cl.ProduceSync(ctx, krecs...)
	// ProduceSync reports in completion order: match results by record.
	at := make(map[*kgo.Record]int, len(krecs))
	for j, kr := range krecs {
		at[kr] = idx[j]
	}
	var whole error
	for _, res := range results {
		i := at[res.Record]
		if res.Err != nil {
			switch {
			case errors.Is(res.Err, kerr.MessageTooLarge), errors.Is(res.Err, kerr.InvalidRecord):
				out[i].Err = fmt.Errorf("records[%d]: %w", i, c.mapErr(res.Err))
			default:
				// A failure that is not the record's own (the brokers
				// were unreachable until the context ended, the topic
				// was deleted): the batch failed.
				whole = res.Err
			}
			continue
		}
		out[i].Partition, out[i].Offset = int(res.Record.Partition), res.Record.Offset
	}
	if whole != nil {
		if errors.Is(whole, kerr.UnknownTopicOrPartition) {
			c.invalidate(stream)
		}
		return nil, fmt.Errorf("stream %q: append: %w", stream, c.mapErr(whole))
	}
	return out, nil
}

// streamLimits are what Append checks records against.
type streamLimits struct {
	partitions    int
	compact       bool
	maxRecordSize int
	at            time.Time
}

// limits returns stream's limits, cached for metadata_max_age.
func (c *conn) limits(ctx context.Context, stream string) (streamLimits, error) {
	c.mu.Lock()
	l, ok := c.limitCache[stream]
	c.mu.Unlock()
	if ok && time.Since(l.at) < c.cfg.metaMaxAge {
		return l, nil
	}
	a, err := c.streamAttributes(ctx, stream)
	if err != nil {
		return streamLimits{}, err
	}
	l = streamLimits{partitions: a.Partitions, compact: a.Compact, maxRecordSize: a.MaxRecordSize, at: time.Now()}
	c.mu.Lock()
	c.limitCache[stream] = l
	c.mu.Unlock()
	return l, nil
}

// invalidate forgets the cached limits of stream.
func (c *conn) invalidate(stream string) {
	c.mu.Lock()
	delete(c.limitCache, stream)
	c.mu.Unlock()
}

// toStreamRecord converts a fetched record.
func toStreamRecord(r *kgo.Record) driver.StreamRecord {
	return driver.StreamRecord{
		Partition: int(r.Partition),
		Offset:    r.Offset,
		Timestamp: recordTime(r.Timestamp),
		Key:       r.Key,
		Value:     r.Value,
		Headers:   decodeHeaders(r.Headers),
	}
}

// recordTime is the courier timestamp of a Kafka timestamp: Kafka keeps
// milliseconds, and the driver reports the last nanosecond of the record's
// millisecond, so that a record appended after an instant t never shows a
// time before t (and AtTime(t) finds it).
func recordTime(t time.Time) time.Time {
	return t.Truncate(time.Millisecond).Add(time.Millisecond - time.Nanosecond)
}

// recordBytes is what a record counts against a read's MaxBytes.
func recordBytes(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// Read returns records of one partition from a position, long-polling
// with the Fetch request's own wait when there are none.
func (c *conn) Read(ctx context.Context, stream string, req driver.StreamReadRequest) (driver.StreamReadResult, error) {
	if err := c.check(); err != nil {
		return driver.StreamReadResult{}, err
	}
	if err := req.Validate(); err != nil {
		return driver.StreamReadResult{}, err
	}
	if req.Max == 0 {
		req.Max = 100
	}
	if req.MaxBytes == 0 {
		req.MaxBytes = driver.DefaultReadMaxBytes
	}
	topic := c.topicOf(stream)
	m, err := c.topicMetadata(ctx, topic, 0)
	if errors.Is(err, driver.ErrNotFound) {
		m, err = c.topicMetadata(ctx, topic, time.Millisecond)
	}
	if err != nil {
		return driver.StreamReadResult{}, fmt.Errorf("stream %q: %w", stream, err)
	}
	if req.Partition >= len(m.leaders) {
		if m, err = c.topicMetadata(ctx, topic, time.Millisecond); err != nil {
			return driver.StreamReadResult{}, err
		}
		if req.Partition >= len(m.leaders) {
			return driver.StreamReadResult{}, driver.Invalid("partition", "%d is out of range; stream %q has partitions 0 to %d", req.Partition, stream, len(m.leaders)-1)
		}
	}
	// A read from an offset goes straight to the fetch (a sequential
	// reader's common case); the other positions are looked up first.
	start, end := req.From.Offset, int64(0)
	if req.From.Kind != driver.FromOffset {
		if start, end, err = c.resolve(ctx, topic, req.Partition, req.From); err != nil {
			return driver.StreamReadResult{}, err
		}
	}
	recs, next, hwm, err := c.readFrom(ctx, topic, req.Partition, start, req.Max, req.MaxBytes, req.Wait)
	if err != nil {
		return driver.StreamReadResult{}, err
	}
	return driver.StreamReadResult{Records: recs, Next: next, End: max(hwm, end)}, nil
}

// readFrom fetches partition from offset until it has records, the
// partition's end is reached or wait runs out; it returns the records
// (at most max, within maxBytes but at least one), the offset to read
// next and the high watermark.
func (c *conn) readFrom(ctx context.Context, topic string, partition int, offset int64, maxRecs, maxBytes int, wait time.Duration) ([]driver.StreamRecord, int64, int64, error) {
	if recs, hwm, ok := c.ahead.take(topic, partition, offset); ok {
		out, next, rest := cut(recs, offset, maxRecs, maxBytes)
		c.ahead.put(topic, partition, next, rest, hwm, time.Now())
		return out, next, hwm, nil
	}
	deadline := time.Now().Add(wait)
	for {
		w := max(time.Until(deadline), 0)
		fetched := time.Now()
		res, err := c.fetch(ctx, topic, []fetchReq{{partition: int32(partition), offset: offset}}, int32(min(maxBytes, driver.MaxReadBytes)), w)
		if err != nil {
			return nil, 0, 0, err
		}
		r := res[int32(partition)]
		if errors.Is(r.err, kerr.OffsetOutOfRange) {
			// Before the oldest retained record (retention removed it):
			// start there. Past the end: the caller's mistake.
			first, end, err := c.partitionBounds(ctx, topic, partition)
			if err != nil {
				return nil, 0, 0, err
			}
			switch {
			case offset < first:
				offset = first
			case offset > end:
				return nil, 0, 0, driver.Invalid("from.offset", "%d is past the end of partition %d (%d)", offset, partition, end)
			}
			continue
		}
		if r.err != nil {
			return nil, 0, 0, c.mapErr(r.err)
		}
		out, next, rest := cut(r.records, offset, maxRecs, maxBytes)
		c.ahead.put(topic, partition, next, rest, r.hwm, fetched)
		if len(out) == 0 && r.next > offset && r.next <= r.hwm {
			// Batches whose records were all compacted away or were
			// transaction markers: skip past them.
			offset = r.next
			continue
		}
		if len(out) > 0 || !time.Now().Before(deadline) || ctx.Err() != nil {
			return out, next, r.hwm, ctx.Err()
		}
	}
}

// cut returns the first records (at most max, within maxBytes but at
// least one), the offset after them, and the records left over.
func cut(recs []*kgo.Record, offset int64, maxRecs, maxBytes int) ([]driver.StreamRecord, int64, []*kgo.Record) {
	var out []driver.StreamRecord
	next, size, i := offset, 0, 0
	for ; i < len(recs); i++ {
		kr := recs[i]
		if len(out) >= maxRecs || len(out) > 0 && size+recordBytes(kr) > maxBytes {
			break
		}
		size += recordBytes(kr)
		out = append(out, toStreamRecord(kr))
		next = kr.Offset + 1
	}
	return out, next, recs[i:]
}

// partitionBounds returns one partition's log start and end offsets.
func (c *conn) partitionBounds(ctx context.Context, topic string, partition int) (int64, int64, error) {
	first, end, err := c.offsets(ctx, topic)
	if err != nil {
		return 0, 0, err
	}
	return first[partition], end[partition], nil
}

// resolve turns a position into an offset of partition (clamped to the
// retained range), and also returns the partition's end.
func (c *conn) resolve(ctx context.Context, topic string, partition int, pos driver.Position) (int64, int64, error) {
	first, end, err := c.partitionBounds(ctx, topic, partition)
	if err != nil {
		return 0, 0, err
	}
	switch pos.Kind {
	case driver.FromLatest:
		return end, end, nil
	case driver.FromOffset:
		return min(max(pos.Offset, first), end), end, nil
	case driver.FromTime:
		off, err := c.offsetAt(ctx, topic, partition, pos.Time)
		if err != nil {
			return 0, 0, err
		}
		if off < 0 {
			off = end
		}
		return min(max(off, first), end), end, nil
	}
	return first, end, nil
}

// offsetAt returns the first offset of partition whose timestamp is at or
// after t (-1 when there is none), with ListOffsets. Kafka compares
// milliseconds: t is rounded down to its millisecond (see recordTime).
func (c *conn) offsetAt(ctx context.Context, topic string, partition int, t time.Time) (int64, error) {
	lo, err := c.adm.ListOffsetsAfterMilli(ctx, t.UnixMilli(), topic)
	if err == nil {
		err = lo.Error()
	}
	if err != nil {
		return 0, c.mapErr(err)
	}
	o, ok := lo.Lookup(topic, int32(partition))
	if !ok {
		return 0, fmt.Errorf("topic %q partition %d: no offset for time %v", topic, partition, t)
	}
	return o.Offset, nil
}
