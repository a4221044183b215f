package engine

import "fmt"

// The apply functions change the in-memory state as one record says. Live
// calls run them right after logging the record; recovery runs them on the
// records replayed from the log. They never fail: a record that refers to
// something gone (a message acked before a replayed receive) is a no-op.

// apply dispatches a decoded record; p is its position (bodies of send and
// relocate records are read back from there) and payload its bytes.
func (e *Engine) apply(typ byte, r record, p pos, payload []byte) error {
	switch rec := r.(type) {
	case *metaRecord:
		e.nonce = rec.Nonce
	case *queueRecord:
		if typ == recCreateQueue {
			e.applyCreate(rec)
		} else {
			e.applySetAttrs(rec)
		}
	case *qidRecord:
		if typ == recDeleteQueue {
			e.applyDelete(rec)
		} else {
			e.applyPurge(rec)
		}
	case *sendRecord:
		if typ == recSend {
			e.applySend(rec, p, payload)
		} else {
			e.applyRelocate(rec, p, len(payload))
		}
	case *receiveRecord:
		e.applyReceive(rec)
	case *ackRecord:
		e.applyAck(rec)
	case *visibilityRecord:
		e.applyVisibility(rec)
	case *moveRecord:
		e.applyMove(rec)
	case *topicRecord:
		e.applyCreateTopic(rec)
	case *tidRecord:
		e.applyDeleteTopic(rec)
	case *subscribeRecord:
		e.applySubscribe(rec)
	case *unsubscribeRecord:
		e.applyUnsubscribe(rec)
	case *publishRecord:
		e.applyPublish(rec, p, payload)
	case *streamRecord:
		if typ == recCreateStream {
			e.applyCreateStream(rec)
		} else {
			e.applySetStream(rec)
		}
	case *sidRecord:
		e.applyDeleteStream(rec)
	case *appendRecord:
		if typ == recAppend {
			e.applyAppend(rec, p, payload)
		} else {
			e.applyStreamRelocate(rec, p, len(payload))
		}
	case *groupRecord:
		e.applyGroup(rec)
	case *busRecord:
		e.applyCreateBus(rec)
	case *bidRecord:
		e.applyDeleteBus(rec)
	case *ruleRecord:
		e.applyPutRule(rec)
	case *busItemRecord:
		if typ == recDeleteRule {
			e.applyDeleteRule(rec)
		} else {
			e.applyDeleteArchive(rec)
		}
	case *archiveRecord:
		e.applyCreateArchive(rec)
	case *replayRecord:
		e.applyReplay(rec)
	default:
		return fmt.Errorf("record type %d has no state change", typ)
	}
	return nil
}

func (e *Engine) applyCreate(r *queueRecord) {
	if old := e.queues[r.Name]; old != nil { // only in a damaged log: keep the newer
		e.dropQueue(old)
	}
	q := newQueue(r.QID, r.Name, r.Attrs, r.At)
	e.queues[r.Name] = q
	e.byID[r.QID] = q
	e.nextQID = max(e.nextQID, r.QID+1)
}

func (e *Engine) applySetAttrs(r *queueRecord) {
	q := e.byID[r.QID]
	if q == nil {
		return
	}
	fifo := q.attrs.FIFO
	q.attrs = r.Attrs
	q.attrs.FIFO = fifo
	q.updated = r.At
	q.wake()
}

func (e *Engine) applyDelete(r *qidRecord) {
	if q := e.byID[r.QID]; q != nil {
		e.dropQueue(q)
	}
}

func (e *Engine) dropQueue(q *queue) {
	for _, m := range q.msgs {
		e.forget(m)
	}
	delete(e.queues, q.name)
	delete(e.byID, q.qid)
	q.wake()
}

func (e *Engine) applyPurge(r *qidRecord) {
	q := e.byID[r.QID]
	if q == nil {
		return
	}
	for m := q.all.head; m != nil; m = q.all.head {
		q.remove(m)
		e.forget(m)
	}
}

func (e *Engine) applySend(r *sendRecord, p pos, payload []byte) {
	e.nextSeq = max(e.nextSeq, r.Seq+1)
	q := e.byID[r.QID]
	if q == nil {
		return
	}
	q.fifoSeq = max(q.fifoSeq, r.FIFOSeq)
	if r.DedupID != "" {
		q.dedup.remember(r.DedupID, r.Seq, r.FIFOSeq, r.SentAt)
	}
	if e.started {
		q.counters.Sent++
	}
	m := &message{seq: r.Seq, pos: p, size: int32(len(payload)), sentAt: r.SentAt, enq: r.SentAt, visibleAt: r.VisibleAt, fifoSeq: r.FIFOSeq}
	q.add(m, r.Group, r.SentAt)
	if e.bodies != nil {
		e.bodies[r.Seq] = memBody{typ: recSend, payload: payload}
	} else {
		e.segUse(m, 1)
	}
	if m.state == stateVisible {
		q.wake()
	}
}

// applyRelocate points a live message at its copy made by compaction.
func (e *Engine) applyRelocate(r *sendRecord, p pos, size int) {
	q := e.byID[r.QID]
	if q == nil {
		return
	}
	m := q.msgs[r.Seq]
	if m == nil {
		return
	}
	e.segUse(m, -1)
	m.pos, m.size = p, int32(size)
	e.segUse(m, 1)
}

func (e *Engine) applyReceive(r *receiveRecord) {
	q := e.byID[r.QID]
	if q == nil {
		return
	}
	for _, it := range r.Items {
		if m := q.msgs[it.Seq]; m != nil {
			q.deliver(m, int32(it.Receives), it.VisibleAt, r.At)
		}
	}
}

func (e *Engine) applyAck(r *ackRecord) {
	q := e.byID[r.QID]
	if q == nil {
		return
	}
	for _, s := range r.Seqs {
		if m := q.msgs[s]; m != nil {
			q.remove(m)
			e.forget(m)
		}
	}
}

func (e *Engine) applyVisibility(r *visibilityRecord) {
	q := e.byID[r.QID]
	if q == nil {
		return
	}
	for _, s := range r.Seqs {
		if m := q.msgs[s]; m != nil {
			q.setVisibleAt(m, r.VisibleAt, r.At)
		}
	}
	q.wake()
}

// applyMove moves a message to another queue, where it starts afresh:
// visible, no receives, retention counted from the move.
func (e *Engine) applyMove(r *moveRecord) {
	from, to := e.byID[r.From], e.byID[r.To]
	if from == nil || to == nil {
		return
	}
	m := from.msgs[r.Seq]
	if m == nil {
		return
	}
	var groupName string
	if m.group != nil {
		groupName = m.group.name
	}
	from.remove(m)
	m.receives, m.firstRecv, m.visibleAt = 0, 0, 0
	m.enq = r.At
	m.source = nil
	if r.Source != "" {
		s := r.Source
		m.source = &s
	}
	to.add(m, groupName, r.At)
	if e.started {
		to.counters.Sent++
	}
	to.wake()
}
