package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	courier "github.com/courier-io/courier"
)

// MetaStream is the compacted stream in which Meta keeps its entries.
// Kinesis does not list it and refuses to create or touch it.
const MetaStream = "_courier-aws-meta"

// Meta keeps what AWS attributes courier resources have no field for
// (tags, SNS topic attributes, SQS policies, subscription confirmation
// state, ...): JSON values by key, in a key-compacted stream of the
// broker (a plain stream on backends without compaction), so they are as
// durable as the resources they describe. Reads
// come from memory. Writes are serialized and acknowledged once stored.
type Meta struct {
	mu     sync.Mutex
	stream *courier.Stream // nil: memory only (a broker without streams)
	data   map[string]json.RawMessage
}

// OpenMeta loads the metadata of broker b, creating its stream on first
// use. On a broker without streams (courier.Capabilities().Streams
// false) metadata lives in memory only; persistent reports which.
func OpenMeta(ctx context.Context, b *courier.Broker) (m *Meta, persistent bool, err error) {
	m = &Meta{data: map[string]json.RawMessage{}}
	if !b.Capabilities().Streams {
		return m, false, nil
	}
	_, err = b.CreateStream(ctx, MetaStream, courier.Compacted(0), courier.StreamRetention(0))
	if errors.Is(err, courier.ErrUnsupported) {
		// A backend without key compaction (NATS) keeps every version;
		// loading replays them all and the last one wins. Metadata
		// changes at the rate of admin calls, so this stays small.
		_, err = b.CreateStream(ctx, MetaStream, courier.StreamRetention(0))
	}
	if err != nil && !errors.Is(err, courier.ErrExists) {
		return nil, false, fmt.Errorf("aws metadata: %w", err)
	}
	m.stream = b.Stream(MetaStream)
	from := courier.Earliest()
	for {
		recs, next, err := m.stream.Read(ctx, 0, from, courier.ReadMax(1000))
		if err != nil {
			return nil, false, fmt.Errorf("aws metadata: reading %s: %w", MetaStream, err)
		}
		for _, r := range recs {
			if len(r.Value) == 0 {
				delete(m.data, string(r.Key))
			} else {
				m.data[string(r.Key)] = r.Value
			}
		}
		if len(recs) == 0 {
			return m, true, nil
		}
		from = courier.AtOffset(next)
	}
}

// Get decodes the value of key into v and reports whether there is one.
func (m *Meta) Get(key string, v any) (bool, error) {
	m.mu.Lock()
	raw, ok := m.data[key]
	m.mu.Unlock()
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("aws metadata %q: %w", key, err)
	}
	return true, nil
}

// Put stores v (as JSON) under key.
func (m *Meta) Put(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("aws metadata %q: %w", key, err)
	}
	return m.write(ctx, key, raw)
}

// Delete removes key; removing a missing key does nothing.
func (m *Meta) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	_, ok := m.data[key]
	m.mu.Unlock()
	if !ok {
		return nil
	}
	return m.write(ctx, key, nil)
}

// DeletePrefix removes every key that starts with prefix.
func (m *Meta) DeletePrefix(ctx context.Context, prefix string) error {
	for _, k := range m.Keys(prefix) {
		if err := m.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// Keys returns the keys that start with prefix, sorted.
func (m *Meta) Keys(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// write appends key=raw (raw nil deletes) and then applies it, holding
// the lock across both so that the stream and memory agree on the order
// of writes to a key.
func (m *Meta) write(ctx context.Context, key string, raw []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stream != nil {
		if _, err := m.stream.Append(ctx, courier.Record{Key: []byte(key), Value: raw, Partition: 0}); err != nil {
			return fmt.Errorf("aws metadata %q: %w", key, err)
		}
	}
	if raw == nil {
		delete(m.data, key)
	} else {
		m.data[key] = raw
	}
	return nil
}
