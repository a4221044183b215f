package kafka

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// readAhead keeps, per partition, the records a Read fetched beyond what
// it returned (a Fetch answers whole batches, up to the byte limit), so
// that a sequential reader's next Read from Next starts without a round
// trip. An entry serves only a read from exactly its first offset and
// lives readAheadTTL: records at an offset never change, but a stream
// deleted and created again elsewhere reuses offsets.
type readAhead struct {
	mu      sync.Mutex
	entries map[raKey]raEntry
}

type raKey struct {
	topic     string
	partition int
}

type raEntry struct {
	from    int64 // the offset a read must start at to use the entry
	recs    []*kgo.Record
	hwm     int64
	fetched time.Time
}

const (
	readAheadTTL     = time.Second
	readAheadMaxRecs = 20000
)

// take returns the cached records of (topic, partition) from offset, if
// any, and forgets them.
func (r *readAhead) take(topic string, partition int, offset int64) ([]*kgo.Record, int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := raKey{topic, partition}
	e, ok := r.entries[k]
	if !ok {
		return nil, 0, false
	}
	delete(r.entries, k)
	if e.from != offset || time.Since(e.fetched) > readAheadTTL || len(e.recs) == 0 {
		return nil, 0, false
	}
	return e.recs, e.hwm, true
}

// put keeps recs (starting at from) for the next read.
func (r *readAhead) put(topic string, partition int, from int64, recs []*kgo.Record, hwm int64, fetched time.Time) {
	if len(recs) == 0 || len(recs) > readAheadMaxRecs {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries == nil {
		r.entries = map[raKey]raEntry{}
	}
	r.entries[raKey{topic, partition}] = raEntry{from: from, recs: recs, hwm: hwm, fetched: fetched}
}

// forget drops the entries of topic (deleted through this connection).
func (r *readAhead) forget(topic string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.entries {
		if k.topic == topic {
			delete(r.entries, k)
		}
	}
}
