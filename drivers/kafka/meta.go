package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/courier-io/courier/driver"
)

// metaTopicName is the compacted topic (under the prefix) that keeps what
// Kafka's topic configs cannot say about a stream: its MaxRecordSize and
// when it was created. Stream names starting with "__" are reserved, so it
// never collides with a stream.
const metaTopicName = "__courier_streams"

// streamMeta is one stream's entry in the meta topic.
type streamMeta struct {
	MaxRecordSize int       `json:"max_record_size"`
	CreatedAt     time.Time `json:"created_at"`
}

// metaStore caches the meta topic: a compacted log keyed by topic name,
// read up to its end before each answer so that every process sees the
// latest entries.
type metaStore struct {
	c     *conn
	topic string

	mu      sync.Mutex
	next    int64
	entries map[string]streamMeta
	created bool
}

func newMetaStore(c *conn) *metaStore {
	return &metaStore{c: c, topic: c.cfg.prefix + metaTopicName, entries: map[string]streamMeta{}}
}

// get returns the entry of topic, after catching up with the meta topic;
// ok is false for topics created outside courier.
func (m *metaStore) get(ctx context.Context, topic string) (streamMeta, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.sync(ctx); err != nil {
		return streamMeta{}, false, err
	}
	e, ok := m.entries[topic]
	return e, ok, nil
}

// sync reads the meta topic from where the cache stopped to its end; the
// caller holds m.mu.
func (m *metaStore) sync(ctx context.Context) error {
	for {
		res, err := m.c.fetch(ctx, m.topic, []fetchReq{{partition: 0, offset: m.next}}, 1<<20, 0)
		if errors.Is(err, driver.ErrNotFound) {
			return nil // no stream was created through courier yet
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", m.topic, err)
		}
		r := res[0]
		if errors.Is(r.err, kerr.OffsetOutOfRange) {
			m.next = r.logStart
			continue
		}
		if r.err != nil {
			return fmt.Errorf("read %s: %w", m.topic, m.c.mapErr(r.err))
		}
		for _, rec := range r.records {
			topic := string(rec.Key)
			if len(rec.Value) == 0 {
				delete(m.entries, topic)
				continue
			}
			var e streamMeta
			if err := json.Unmarshal(rec.Value, &e); err != nil {
				m.c.log.Warn("skipping a malformed entry of the meta topic", "topic", m.topic, "offset", rec.Offset, "err", err)
				continue
			}
			m.entries[topic] = e
		}
		m.next = max(r.next, m.next)
		if m.next >= r.hwm {
			return nil
		}
	}
}

// put stores topic's entry (nil e deletes it) durably.
func (m *metaStore) put(ctx context.Context, topic string, e *streamMeta) error {
	if err := m.ensure(ctx); err != nil {
		return err
	}
	rec := &kgo.Record{Topic: m.topic, Key: []byte(topic), Partition: 0}
	if e != nil {
		rec.Value, _ = json.Marshal(e)
	}
	if err := m.c.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("write %s: %w", m.topic, m.c.mapErr(err))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e == nil {
		delete(m.entries, topic)
	} else {
		m.entries[topic] = *e
	}
	return nil
}

// ensure creates the meta topic (one partition, compacted) once.
func (m *metaStore) ensure(ctx context.Context) error {
	m.mu.Lock()
	created := m.created
	m.mu.Unlock()
	if created {
		return nil
	}
	cfg := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	_, err := m.c.adm.CreateTopic(ctx, 1, int16(m.c.cfg.replication), cfg, m.topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create %s: %w", m.topic, m.c.mapErr(err))
	}
	if err := m.c.waitTopic(ctx, m.topic, 1); err != nil {
		return err
	}
	m.mu.Lock()
	m.created = true
	m.mu.Unlock()
	return nil
}
