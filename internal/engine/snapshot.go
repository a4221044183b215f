package engine

import (
	"fmt"
	"math"
	"sort"
)

// snapshotVersion is the first byte of every snapshot; bump it when the
// layout changes.
const snapshotVersion = 1

// snapshot encodes the whole index (queues, messages without bodies, dedup
// IDs); the caller holds e.mu. With the log position it is taken at, it is a
// checkpoint: recovery restores it and replays only the records after.
func (e *Engine) snapshot() []byte {
	enc := encoder{b: make([]byte, 0, 64+len(e.queues)*128)}
	enc.byte(snapshotVersion)
	enc.uint(e.nonce)
	enc.uint(e.nextSeq)
	enc.uint(e.nextQID)
	names := make([]string, 0, len(e.queues))
	for n := range e.queues {
		names = append(names, n)
	}
	sort.Strings(names)
	enc.uint(uint64(len(names)))
	for _, n := range names {
		q := e.queues[n]
		enc.uint(q.qid)
		enc.str(q.name)
		encodeAttrs(&enc, &q.attrs)
		enc.int(q.created)
		enc.int(q.updated)
		enc.uint(q.fifoSeq)
		enc.uint(uint64(len(q.dedupOrder)))
		for _, k := range q.dedupOrder {
			d, ok := q.dedup[k.key]
			enc.str(k.key)
			enc.bool(ok && d.at == k.at)
			enc.uint(d.seq)
			enc.uint(d.fifoSeq)
			enc.int(k.at)
		}
		enc.uint(uint64(len(q.msgs)))
		for m := q.all.head; m != nil; m = m.alink.next {
			enc.uint(m.seq)
			enc.uint(m.pos.seg)
			enc.int(m.pos.off)
			enc.uint(uint64(m.size))
			enc.int(m.sentAt)
			enc.int(m.enq)
			enc.int(m.visibleAt)
			enc.int(m.firstRecv)
			enc.uint(m.fifoSeq)
			enc.uint(uint64(m.receives))
			enc.byte(byte(m.state))
			if m.group != nil {
				enc.str(m.group.name)
			} else {
				enc.str("")
			}
			if m.source != nil {
				enc.str(*m.source)
			} else {
				enc.str("")
			}
		}
	}
	return enc.b
}

// restore replaces the engine's state with a snapshot.
func (e *Engine) restore(b []byte) error {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != snapshotVersion {
		return fmt.Errorf("snapshot version %d; this build reads version %d", v, snapshotVersion)
	}
	e.nonce = d.uint()
	e.nextSeq = d.uint()
	e.nextQID = d.uint()
	nq := d.count(8)
	for range nq {
		var rec queueRecord
		rec.QID = d.uint()
		rec.Name = d.str()
		decodeAttrs(&d, &rec.Attrs)
		rec.At = d.int()
		if d.err != nil {
			break
		}
		e.applyCreate(&rec)
		q := e.byID[rec.QID]
		q.updated = d.int()
		q.fifoSeq = d.uint()
		nd := d.count(5)
		for range nd {
			key := d.str()
			live := d.bool()
			seq, fifoSeq, at := d.uint(), d.uint(), d.int()
			q.dedupOrder = append(q.dedupOrder, dedupKey{key: key, at: at})
			if live {
				q.dedup[key] = dedupEntry{seq: seq, fifoSeq: fifoSeq, at: at}
			}
		}
		nm := d.count(14)
		for range nm {
			m := &message{seq: d.uint()}
			m.pos = pos{seg: d.uint(), off: d.int()}
			m.size = int32(d.uint() & math.MaxInt32)
			m.sentAt = d.int()
			m.enq = d.int()
			m.visibleAt = d.int()
			firstRecv := d.int()
			m.fifoSeq = d.uint()
			receives := int32(d.uint() & math.MaxInt32)
			state := msgState(d.byte())
			groupName := d.str()
			if src := d.str(); src != "" {
				m.source = &src
			}
			if d.err != nil {
				break
			}
			if q.fifo() && groupName == "" {
				return fmt.Errorf("snapshot: message %d of FIFO queue %q has no group", m.seq, q.name)
			}
			switch state {
			case stateVisible:
				q.add(m, groupName, math.MaxInt64)
			case stateDelayed:
				q.add(m, groupName, m.visibleAt-1)
			case stateInFlight:
				q.add(m, groupName, math.MaxInt64)
				m.firstRecv = firstRecv
				q.deliver(m, receives, m.visibleAt, firstRecv)
			default:
				return fmt.Errorf("snapshot: message %d has unknown state %d", m.seq, state)
			}
			m.receives = receives
			m.firstRecv = firstRecv
			e.segUse(m, 1)
		}
	}
	if err := d.end(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}
