package idempotency

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

// Embedded is a Store kept in a compacted courier stream, for services that
// run on the courier engine (file://) without Redis or PostgreSQL. Each
// record is appended with the idempotency key as its record key, so
// compaction keeps the latest state of each key; deleting a key appends a
// delete marker (an empty value).
//
// The store works from an in-memory index that NewEmbedded loads by reading
// the whole stream, and serialises the operations on each key with a lock
// in that index. It is therefore correct only for consumers that share one
// Embedded value: goroutines of one process, or the one process that owns a
// courier server's data directory. Two processes (or two Embedded values)
// on the same stream do not see each other's claims: use Redis or Postgres
// for consumers spread over processes.
//
// Every change is durable (appended and, on file:// with the default sync
// mode, fsync'd) before the call that made it returns. The index holds every
// live record, results included, in memory. Purge appends delete markers
// for expired records; NewEmbedded purges once after loading.
type Embedded struct {
	ix     index
	stream *courier.Stream
}

// embeddedStreamOptions are the attributes of the stream NewEmbedded
// creates: compacted, no age or size retention (records leave only through
// delete markers).
func embeddedStreamOptions() []courier.StreamOption {
	return []courier.StreamOption{courier.Compacted(0), courier.StreamRetention(0)}
}

// NewEmbedded opens the store kept in stream of b, creating the stream if
// it is missing (compacted, without retention limits), and loads its
// records. An existing stream must be compacted without age or size
// retention, since retention would drop live records; otherwise NewEmbedded
// fails with an error wrapping courier.ErrConflict. A record the store
// cannot decode fails it too (the stream is not an idempotency store).
func NewEmbedded(ctx context.Context, b *courier.Broker, stream string) (*Embedded, error) {
	st, err := b.CreateStream(ctx, stream, embeddedStreamOptions()...)
	if err != nil && !errors.Is(err, courier.ErrConflict) {
		return nil, fmt.Errorf("idempotency: embedded store: %w", err)
	}
	if err != nil { // it exists with other attributes: usable if they keep records
		st = b.Stream(stream)
		info, ierr := st.Info(ctx)
		if ierr != nil {
			return nil, fmt.Errorf("idempotency: embedded store: %w", ierr)
		}
		if a := info.Attributes; !a.Compact || a.Retention != 0 || a.RetentionBytes != 0 {
			return nil, fmt.Errorf("idempotency: embedded store: stream %q must be compacted without retention limits (compact %v, retention %v, retention bytes %d): %w",
				stream, a.Compact, a.Retention, a.RetentionBytes, courier.ErrConflict)
		}
	}
	e := &Embedded{stream: st}
	e.ix.init("embedded", e.persist)
	if err := e.load(ctx); err != nil {
		return nil, fmt.Errorf("idempotency: embedded store %q: load: %w", stream, err)
	}
	if _, err := e.Purge(ctx); err != nil {
		return nil, fmt.Errorf("idempotency: embedded store %q: purge after load: %w", stream, err)
	}
	return e, nil
}

// Claim implements Store.
func (e *Embedded) Claim(ctx context.Context, key string, lease time.Duration) (Claim, error) {
	return e.ix.claim(ctx, key, lease)
}

// Complete implements Store.
func (e *Embedded) Complete(ctx context.Context, c Claim, result []byte, ttl time.Duration) error {
	return e.ix.complete(ctx, c, result, ttl)
}

// Release implements Store.
func (e *Embedded) Release(ctx context.Context, c Claim) error { return e.ix.release(ctx, c) }

// Purge appends delete markers for the done records whose TTL has passed
// and the claims whose lease ended more than a minute ago, removes them
// from the index and reports how many. Call it periodically (an hour
// apart is plenty); the stream's compaction then drops the records.
func (e *Embedded) Purge(ctx context.Context) (int, error) { return e.ix.purge(ctx) }

// load reads every partition from its earliest record to the end it had
// when loading started, applying records in offset order (a key's records
// are all in its partition, in the order they were written).
func (e *Embedded) load(ctx context.Context) error {
	info, err := e.stream.Info(ctx)
	if err != nil {
		return err
	}
	for _, p := range info.Partitions {
		from, prev := courier.Earliest(), int64(-1)
		for {
			recs, next, err := e.stream.Read(ctx, p.Partition, from, courier.ReadMax(driver.MaxReadRecords))
			if err != nil {
				return err
			}
			for _, r := range recs {
				if err := e.apply(r); err != nil {
					return fmt.Errorf("partition %d offset %d: %w", r.Partition, r.Offset, err)
				}
			}
			if next >= p.End || (len(recs) == 0 && next == prev) {
				break
			}
			from, prev = courier.AtOffset(next), next
		}
	}
	return nil
}

// apply loads one stored record into the index (no lock: load runs before
// the store is shared).
func (e *Embedded) apply(r courier.StreamRecord) error {
	key := string(r.Key)
	s := e.ix.stripe(key)
	if len(r.Value) == 0 {
		delete(s.records, key)
		return nil
	}
	rec, err := decodeRecord(r.Value)
	if err != nil {
		return err
	}
	s.records[key] = rec
	return nil
}

// persist appends the changes, in batches of at most driver.MaxBatch.
func (e *Embedded) persist(ctx context.Context, changes []change) error {
	for len(changes) > 0 {
		n := min(len(changes), driver.MaxBatch)
		recs := make([]courier.Record, n)
		for i, c := range changes[:n] {
			recs[i] = courier.Record{Key: []byte(c.key), Partition: courier.AnyPartition}
			if c.rec != nil {
				recs[i].Value = encodeRecord(c.rec)
			}
		}
		res, err := e.stream.AppendBatch(ctx, recs)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return r.Err
			}
		}
		changes = changes[n:]
	}
	return nil
}

// The stored value of a record: version byte, status byte, expiry in Unix
// nanoseconds (8 bytes, big endian), then for a claim its token and for a
// done record its result, to the end. A delete is an empty value.
const recordVersion = 1

func encodeRecord(r *record) []byte {
	b := make([]byte, 10, 10+len(r.token)+len(r.result))
	b[0], b[1] = recordVersion, byte(r.status)
	binary.BigEndian.PutUint64(b[2:10], uint64(r.expires.UnixNano()))
	if r.status == Claimed {
		return append(b, r.token...)
	}
	return append(b, r.result...)
}

func decodeRecord(v []byte) (*record, error) {
	if len(v) < 10 || v[0] != recordVersion {
		return nil, fmt.Errorf("not an idempotency record of format %d (%d bytes: %.16x)", recordVersion, len(v), v)
	}
	r := &record{status: Status(v[1]), expires: time.Unix(0, int64(binary.BigEndian.Uint64(v[2:10])))}
	switch r.status {
	case Claimed:
		r.token = string(v[10:])
	case Done:
		r.result = clone(v[10:])
	default:
		return nil, fmt.Errorf("not an idempotency record (status %d)", v[1])
	}
	return r, nil
}
