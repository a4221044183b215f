package nats

import (
	"sync"
	"time"
)

// deliveryTable remembers, for the deliveries this connection handed out
// and has not seen settled, what JetStream does not keep per delivery:
// when the message was first received (so that a redelivery after a
// visibility timeout keeps FirstReceivedAt) and, once the connection
// changed the delivery's visibility, its new deadline (so that the
// receipt's own deadline is not trusted any more). Entries go when the
// delivery is acked or moved, or when the table is full (the oldest
// first); a lost entry only makes FirstReceivedAt an estimate and sends a
// settle down the checked path.
type deliveryTable struct {
	mu      sync.Mutex
	entries map[deliveryKey]deliveryEntry
	order   []deliveryKey // insertion order, for eviction
	head    int
}

type deliveryKey struct {
	stream string
	seq    uint64
}

type deliveryEntry struct {
	firstRecv int64
	deadline  int64 // 0: the receipt's deadline holds
	marker    bool  // a visibility marker exists for this copy
}

// maxDeliveries bounds the table.
const maxDeliveries = 1 << 18

func (t *deliveryTable) init() { t.entries = make(map[deliveryKey]deliveryEntry) }

// putAll records copies delivered at firstRecv. (A copy that carries its
// own first receive time in a header keeps that one: the table is
// consulted only for copies without it.)
func (t *deliveryTable) putAll(keys []deliveryKey, firstRecv int64) {
	if len(keys) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if _, ok := t.entries[k]; !ok {
			if len(t.entries) >= maxDeliveries {
				t.evict()
			}
			t.order = append(t.order, k)
		}
		t.entries[k] = deliveryEntry{firstRecv: firstRecv}
	}
}

// evict drops the oldest entries still present until a quarter of the
// room is free; the caller holds t.mu.
func (t *deliveryTable) evict() {
	for len(t.entries) > maxDeliveries*3/4 && t.head < len(t.order) {
		delete(t.entries, t.order[t.head])
		t.head++
	}
	t.compact()
}

// compact drops the keys of deleted entries from the front of the order.
func (t *deliveryTable) compact() {
	for t.head < len(t.order) {
		if _, ok := t.entries[t.order[t.head]]; ok {
			break
		}
		t.head++
	}
	if t.head > len(t.order)/2 && t.head > 1024 {
		live := t.order[:0]
		for _, k := range t.order[t.head:] {
			if _, ok := t.entries[k]; ok {
				live = append(live, k)
			}
		}
		t.order, t.head = live, 0
	}
}

// get returns the entry of a copy, if known.
func (t *deliveryTable) get(stream string, seq uint64) (deliveryEntry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[deliveryKey{stream, seq}]
	return e, ok
}

// changed records that this connection set the copy's visibility to end
// at deadline (and wrote a marker for it).
func (t *deliveryTable) changed(stream string, seq uint64, firstRecv, deadline int64) {
	k := deliveryKey{stream, seq}
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[k]
	if !ok {
		if len(t.entries) >= maxDeliveries {
			t.evict()
		}
		e = deliveryEntry{firstRecv: firstRecv}
		t.order = append(t.order, k)
	}
	e.deadline, e.marker = deadline, true
	t.entries[k] = e
}

// remove forgets copies of stream; it reports which had markers.
func (t *deliveryTable) remove(stream string, seqs []uint64) (marked []uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range seqs {
		k := deliveryKey{stream, s}
		if e, ok := t.entries[k]; ok {
			if e.marker {
				marked = append(marked, s)
			}
			delete(t.entries, k)
		}
	}
	if len(t.order)-t.head > 4*len(t.entries)+1024 {
		t.compact()
	}
	return marked
}

// fresh reports whether the delivery of r cannot have been redelivered
// yet: its visibility ends in the future, as far as this connection
// knows.
func (t *deliveryTable) fresh(stream string, r receipt, now time.Time) bool {
	deadline := r.deadline
	if e, ok := t.get(stream, r.seq); ok && e.deadline != 0 {
		deadline = e.deadline
	}
	return now.UnixNano() < deadline-int64(freshMargin)
}

// freshAll is fresh for a batch (entries with an error are skipped), under
// one lock.
func (t *deliveryTable) freshAll(stream string, rs []receipt, errs []error, now time.Time) []bool {
	out := make([]bool, len(rs))
	n := now.UnixNano() + int64(freshMargin)
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, r := range rs {
		if errs[i] != nil {
			continue
		}
		deadline := r.deadline
		if e, ok := t.entries[deliveryKey{stream, r.seq}]; ok && e.deadline != 0 {
			deadline = e.deadline
		}
		out[i] = n < deadline
	}
	return out
}

// freshMargin keeps settles well clear of the moment JetStream may
// redeliver.
const freshMargin = 20 * time.Millisecond
