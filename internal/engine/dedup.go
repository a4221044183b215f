package engine

import "github.com/courier-io/courier/driver"

// dedupWindow remembers the dedup keys of the last driver.DedupWindow, for
// a queue or a topic.
type dedupWindow struct {
	entries map[string]dedupEntry
	order   []dedupKey // in send order, for expiry
}

type dedupEntry struct {
	seq, fifoSeq uint64
	at           int64
}

type dedupKey struct {
	key string
	at  int64
}

// remember records a dedup key sent at at.
func (w *dedupWindow) remember(key string, seq, fifoSeq uint64, at int64) {
	if w.entries == nil {
		w.entries = make(map[string]dedupEntry)
	}
	w.entries[key] = dedupEntry{seq: seq, fifoSeq: fifoSeq, at: at}
	w.order = append(w.order, dedupKey{key: key, at: at})
}

// lookup returns the entry of a dedup key still inside the window.
func (w *dedupWindow) lookup(key string, now int64) (dedupEntry, bool) {
	e, ok := w.entries[key]
	if !ok || e.at+int64(driver.DedupWindow) <= now {
		return dedupEntry{}, false
	}
	return e, true
}

// expire forgets the keys older than the window.
func (w *dedupWindow) expire(now int64) {
	window := int64(driver.DedupWindow)
	for len(w.order) > 0 && w.order[0].at+window <= now {
		k := w.order[0]
		if e, ok := w.entries[k.key]; ok && e.at == k.at {
			delete(w.entries, k.key)
		}
		w.order[0] = dedupKey{}
		w.order = w.order[1:]
	}
	if len(w.order) == 0 && cap(w.order) > 1024 {
		w.order = nil
	}
}

// encode writes the window into a snapshot.
func (w *dedupWindow) encode(enc *encoder) {
	enc.uint(uint64(len(w.order)))
	for _, k := range w.order {
		d, ok := w.entries[k.key]
		enc.str(k.key)
		enc.bool(ok && d.at == k.at)
		enc.uint(d.seq)
		enc.uint(d.fifoSeq)
		enc.int(k.at)
	}
}

// decode reads a window written by encode.
func (w *dedupWindow) decode(d *decoder) {
	n := d.count(5)
	for range n {
		key := d.str()
		live := d.bool()
		seq, fifoSeq, at := d.uint(), d.uint(), d.int()
		if d.err != nil {
			return
		}
		w.order = append(w.order, dedupKey{key: key, at: at})
		if live {
			if w.entries == nil {
				w.entries = make(map[string]dedupEntry)
			}
			w.entries[key] = dedupEntry{seq: seq, fifoSeq: fifoSeq, at: at}
		}
	}
}
