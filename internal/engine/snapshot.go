package engine

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// snapshotVersion is the first byte of every snapshot; bump it when the
// layout changes.
const snapshotVersion = 4

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
		q.dedup.encode(&enc)
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
	e.snapshotTopics(&enc)
	e.snapshotStreams(&enc)
	e.snapshotBuses(&enc)
	return enc.b
}

// restore replaces the engine's state with a snapshot.
func (e *Engine) restore(b []byte) error {
	d := decoder{b: b}
	v := d.byte()
	if d.err == nil && v != snapshotVersion && v != 1 {
		return fmt.Errorf("snapshot version %d; this build reads versions 1 to %d", v, snapshotVersion)
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
		q.dedup.decode(&d)
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
	if v >= 2 {
		e.restoreTopics(&d)
	}
	if v >= 3 {
		e.restoreStreams(&d)
	}
	if v >= 4 {
		e.restoreBuses(&d)
	}
	if err := d.end(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// snapshotTopics encodes the topics and their subscriptions (version 2).
func (e *Engine) snapshotTopics(enc *encoder) {
	enc.uint(e.nextTID)
	names := make([]string, 0, len(e.topics))
	for n := range e.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	enc.uint(uint64(len(names)))
	for _, n := range names {
		t := e.topics[n]
		(&topicRecord{TID: t.tid, Name: t.name, Attrs: t.attrs, At: t.created}).encode(enc)
		enc.uint(t.fifoSeq)
		t.dedup.encode(enc)
		subs := make([]string, 0, len(t.subs))
		for s := range t.subs {
			subs = append(subs, s)
		}
		sort.Strings(subs)
		enc.uint(uint64(len(subs)))
		for _, sn := range subs {
			s := t.subs[sn]
			enc.int(s.created)
			(&subscribeRecord{TID: t.tid, Name: s.name, Spec: s.spec, Active: s.active, Token: s.token, QID: s.qid, At: s.updated}).encode(enc)
		}
	}
}

// restoreTopics decodes what snapshotTopics wrote.
func (e *Engine) restoreTopics(d *decoder) {
	e.nextTID = d.uint()
	nt := d.count(6)
	for range nt {
		var tr topicRecord
		tr.decode(d)
		if d.err != nil {
			return
		}
		e.applyCreateTopic(&tr)
		t := e.topicByID[tr.TID]
		t.fifoSeq = d.uint()
		t.dedup.decode(d)
		ns := d.count(20)
		for range ns {
			created := d.int()
			var sr subscribeRecord
			sr.decode(d)
			if d.err != nil {
				return
			}
			e.applySubscribe(&sr)
			if s := t.subs[sr.Name]; s != nil {
				s.created = created
			}
		}
	}
}

// snapshotStreams encodes the streams: partitions' indexes, compaction
// state and groups' committed offsets (version 3).
func (e *Engine) snapshotStreams(enc *encoder) {
	enc.uint(e.nextSID)
	names := make([]string, 0, len(e.streams))
	for n := range e.streams {
		names = append(names, n)
	}
	sort.Strings(names)
	enc.uint(uint64(len(names)))
	for _, n := range names {
		s := e.streams[n]
		(&streamRecord{SID: s.sid, Name: s.name, Attrs: s.attrs, At: s.created}).encode(enc)
		enc.uint(s.next)
		for _, p := range s.parts {
			enc.int(p.end)
			enc.int(p.lastTS)
			live := p.live()
			enc.uint(uint64(len(live)))
			for _, en := range live {
				enc.int(en.offset)
				enc.int(en.ts)
				enc.uint(en.pos.seg)
				enc.int(en.pos.off)
				enc.uint(uint64(en.size))
			}
			if p.keys != nil {
				keys := make([]string, 0, len(p.keys))
				for k := range p.keys {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				enc.uint(uint64(len(keys)))
				for _, k := range keys {
					enc.str(k)
					enc.int(p.keys[k])
				}
				dead := make([]int64, 0, len(p.dead))
				for off := range p.dead {
					dead = append(dead, off)
				}
				slices.Sort(dead)
				enc.uint(uint64(len(dead)))
				for _, off := range dead {
					enc.int(off)
				}
				enc.uint(uint64(len(p.tombs)))
				for _, tb := range p.tombs {
					enc.int(tb.offset)
					enc.int(tb.ts)
					enc.str(tb.key)
				}
			}
		}
		groups := make([]string, 0, len(s.groups))
		for g := range s.groups {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		enc.uint(uint64(len(groups)))
		for _, gn := range groups {
			g := s.groups[gn]
			(&groupRecord{SID: s.sid, Group: g.name, StartFrom: g.startFrom, Generation: g.Generation, Offsets: g.committed}).encode(enc)
		}
	}
}

// restoreStreams decodes what snapshotStreams wrote.
func (e *Engine) restoreStreams(d *decoder) {
	e.nextSID = d.uint()
	ns := d.count(8)
	for range ns {
		var sr streamRecord
		sr.decode(d)
		if d.err != nil {
			return
		}
		e.applyCreateStream(&sr)
		s := e.streamByID[sr.SID]
		s.next = d.uint()
		for _, p := range s.parts {
			p.end = d.int()
			p.durable = p.end
			p.lastTS = d.int()
			n := d.count(5)
			p.entries = make([]streamEntry, 0, n)
			for range n {
				en := streamEntry{offset: d.int(), ts: d.int(), pos: pos{seg: d.uint(), off: d.int()}, size: int32(d.uint() & math.MaxInt32)}
				if d.err != nil {
					return
				}
				p.entries = append(p.entries, en)
				p.bytes += int64(en.size)
				e.segAdd(en.pos.seg, en.size, 1)
			}
			if p.keys != nil {
				for range d.count(2) {
					k := d.str()
					p.keys[k] = d.int()
				}
				for range d.count(1) {
					p.dead[d.int()] = struct{}{}
				}
				nt := d.count(3)
				for range nt {
					p.tombs = append(p.tombs, tombstone{offset: d.int(), ts: d.int(), key: d.str()})
				}
			}
		}
		ng := d.count(5)
		for range ng {
			var gr groupRecord
			gr.decode(d)
			if d.err != nil {
				return
			}
			e.applyGroup(&gr)
		}
	}
}

// snapshotBuses encodes the buses with their rules and archives, and the
// replays (version 4). Delivery queues and archive streams are in the
// queue and stream sections.
func (e *Engine) snapshotBuses(enc *encoder) {
	enc.uint(e.nextBID)
	names := make([]string, 0, len(e.buses))
	for n := range e.buses {
		names = append(names, n)
	}
	sort.Strings(names)
	enc.uint(uint64(len(names)))
	for _, n := range names {
		b := e.buses[n]
		(&busRecord{BID: b.bid, Name: b.name, Attrs: b.attrs, At: b.created}).encode(enc)
		rules := make([]string, 0, len(b.rules))
		for r := range b.rules {
			rules = append(rules, r)
		}
		sort.Strings(rules)
		enc.uint(uint64(len(rules)))
		for _, rn := range rules {
			r := b.rules[rn]
			spec, _ := marshalSpec(r.spec) // marshalled when stored
			qids := make([]uint64, len(r.targets))
			for i, t := range r.targets {
				qids[i] = t.qid
			}
			(&ruleRecord{BID: b.bid, Name: r.name, Spec: spec, QIDs: qids, Created: r.created, At: r.updated}).encode(enc)
		}
		archives := make([]string, 0, len(b.archives))
		for a := range b.archives {
			archives = append(archives, a)
		}
		sort.Strings(archives)
		enc.uint(uint64(len(archives)))
		for _, an := range archives {
			a := b.archives[an]
			spec, _ := marshalSpec(a.spec)
			(&archiveRecord{BID: b.bid, Name: a.name, Spec: spec, SID: a.sid, At: a.created}).encode(enc)
		}
	}
	replays := make([]string, 0, len(e.replays))
	for n := range e.replays {
		replays = append(replays, n)
	}
	sort.Strings(replays)
	enc.uint(uint64(len(replays)))
	for _, n := range replays {
		rp := e.replays[n]
		state, _ := marshalSpec(replayState{Info: rp.info, Next: rp.next})
		(&replayRecord{Name: n, State: state}).encode(enc)
	}
}

// restoreBuses decodes what snapshotBuses wrote.
func (e *Engine) restoreBuses(d *decoder) {
	e.nextBID = d.uint()
	nb := d.count(4)
	for range nb {
		var br busRecord
		br.decode(d)
		if d.err != nil {
			return
		}
		e.applyCreateBus(&br)
		nr := d.count(6)
		for range nr {
			var rr ruleRecord
			rr.decode(d)
			if d.err != nil {
				return
			}
			e.applyPutRule(&rr)
		}
		na := d.count(5)
		for range na {
			var ar archiveRecord
			ar.decode(d)
			if d.err != nil {
				return
			}
			e.applyCreateArchive(&ar)
		}
	}
	nrp := d.count(2)
	for range nrp {
		var rr replayRecord
		rr.decode(d)
		if d.err != nil {
			return
		}
		e.applyReplay(&rr)
	}
}
