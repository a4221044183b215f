package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier/driver"
)

// pending is a delivery chosen under the lock whose body is read after it.
type pending struct {
	d       driver.Delivery
	seq     uint64
	p       pos
	size    int32
	typ     byte   // of the record holding the body: recSend, recRelocate or recPublish
	payload []byte // set by readBatch (file://) or from the bodies (mem://)
}

// Receive delivers up to req.Max visible messages. With none visible it
// waits as req.Wait says, woken at once by a send, a nack or a message whose
// timer expires. A message received more than its queue's MaxReceives is
// moved to the dead-letter queue instead of being delivered.
func (e *Engine) Receive(ctx context.Context, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	max := max(req.Max, 1)
	var deadline int64
	for first := true; ; first = false {
		q, err := e.lockQueue(name, false)
		if err != nil {
			return nil, err
		}
		t := now()
		if first {
			wait := req.Wait
			switch wait {
			case driver.WaitQueueDefault:
				wait = q.attrs.ReceiveWait
			case driver.NoWait:
				wait = 0
			}
			deadline = t + int64(wait)
		}
		q.advance(t, e.forget)
		got, err := e.take(q, max, req.Visibility, t)
		if err != nil {
			e.mu.Unlock()
			return nil, err
		}
		if len(got) > 0 || t >= deadline {
			e.mu.Unlock()
			return e.read(got)
		}
		signal := q.waitSignal()
		wake := deadline
		if next := q.nextTimer(); next != 0 && next < wake {
			wake = next
		}
		e.mu.Unlock()

		timer := time.NewTimer(time.Duration(wake - t))
		select {
		case <-signal:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-e.done:
			timer.Stop()
			return nil, driver.ErrClosed
		}
		timer.Stop()
	}
}

// take delivers up to max receivable messages of q; the caller holds e.mu.
// The receive record is logged without waiting for it to be durable: a
// receive lost in a crash only makes the message visible again sooner.
func (e *Engine) take(q *queue, max int, visibility time.Duration, t int64) ([]pending, error) {
	if q.nVisible == 0 {
		return nil, nil
	}
	if err := e.writable(); err != nil {
		return nil, err
	}
	if err := e.deadLetter(q, max, t); err != nil {
		return nil, err
	}
	deliver := q.receivable(max, e.deliverable)
	if len(deliver) == 0 {
		return nil, nil
	}
	if visibility == 0 {
		visibility = q.attrs.VisibilityTimeout
	}
	visibleAt := t + int64(visibility)
	rec := &receiveRecord{QID: q.qid, At: t, Items: make([]receiveItem, len(deliver))}
	for i, m := range deliver {
		rec.Items[i] = receiveItem{Seq: m.seq, Receives: uint64(m.receives) + 1, VisibleAt: visibleAt}
	}
	if _, _, err := e.log(recReceive, encodeRecord(rec)); err != nil {
		return nil, err
	}
	e.applyReceive(rec)
	q.counters.Received += int64(len(deliver))
	out := make([]pending, len(deliver))
	for i, m := range deliver {
		q.counters.ReceiveLatency.Observe(float64(t-m.sentAt) / 1e9)
		out[i] = e.pendingOf(m, e.encodeReceipt(receipt{qid: q.qid, seq: m.seq, receives: m.receives}))
	}
	return out, nil
}

// pendingOf is the delivery of m with receipt rc, its body still to be
// read; the caller holds e.mu.
func (e *Engine) pendingOf(m *message, rc string) pending {
	pd := pending{seq: m.seq, p: m.pos, size: m.size, d: driver.Delivery{
		ID:              e.messageID(m.seq),
		Receipt:         rc,
		ReceiveCount:    int(m.receives),
		SentAt:          time.Unix(0, m.sentAt),
		FirstReceivedAt: time.Unix(0, m.firstRecv),
		Sequence:        m.fifoSeq,
	}}
	if m.source != nil {
		pd.d.SourceQueue = *m.source
	}
	if e.bodies != nil {
		b := e.bodies[m.seq]
		pd.typ, pd.payload = b.typ, b.payload
	}
	return pd
}

// deadLetter moves the receivable messages of q that have used up their
// receives to its dead-letter queue, until the first max receivable
// messages are all deliverable; the caller holds e.mu.
func (e *Engine) deadLetter(q *queue, max int, t int64) error {
	if q.attrs.MaxReceives == 0 {
		return nil
	}
	dlq := e.queues[q.attrs.DeadLetterQueue]
	if dlq == nil {
		return nil
	}
	for {
		var moves []*moveRecord
		var payloads [][]byte
		for _, m := range q.receivable(max, e.deliverable) {
			if int(m.receives) >= q.attrs.MaxReceives {
				mv := &moveRecord{From: q.qid, To: dlq.qid, Seq: m.seq, At: t, Source: q.name}
				moves = append(moves, mv)
				payloads = append(payloads, encodeRecord(mv))
			}
		}
		if len(moves) == 0 {
			return nil
		}
		if _, _, err := e.log(recMove, payloads...); err != nil {
			return err
		}
		for _, mv := range moves {
			e.applyMove(mv)
		}
		q.counters.DeadLettered += int64(len(moves))
	}
}

// read fills in bodies and headers from the send records, outside the
// lock. A message whose record cannot be read any more (deleted meanwhile
// together with its segment) is left out.
func (e *Engine) read(ps []pending) ([]driver.Delivery, error) {
	if e.j != nil && len(ps) > 0 {
		e.j.readBatch(ps)
	}
	out := make([]driver.Delivery, 0, len(ps))
	for _, pd := range ps {
		if pd.payload == nil {
			continue // unreadable; readBatch logged it
		}
		if err := e.render(&pd); err != nil {
			return nil, fmt.Errorf("message %s: %w: %v", pd.d.ID, driver.ErrStorage, err)
		}
		out = append(out, pd.d)
	}
	return out, nil
}

// render sets a delivery's body, headers, group and dedup ID from the
// record holding the message: a send record as stored, a publish record as
// its target says (raw or envelope).
func (e *Engine) render(pd *pending) error {
	typ := pd.typ
	if typ == recRelocate {
		typ = recSend
	}
	r, err := decodeRecord(typ, pd.payload)
	if err != nil {
		return err
	}
	switch r := r.(type) {
	case *sendRecord:
		pd.d.Body, pd.d.Headers, pd.d.Group, pd.d.DedupID = r.Body, r.Headers, r.Group, r.DedupID
	case *publishRecord:
		tg, ok := r.target(pd.seq)
		if !ok {
			return fmt.Errorf("publish record has no target for message %d", pd.seq)
		}
		pd.d.Body, pd.d.Headers = r.rendered(tg, e.messageID(r.Seq))
		pd.d.Group, pd.d.DedupID = r.Group, r.DedupID
	default:
		return fmt.Errorf("record type %d holds no message", pd.typ)
	}
	if pd.d.Body == nil {
		pd.d.Body = []byte{}
	}
	return nil
}

// Peek implements driver.Peeker: up to max messages of the queue, oldest
// first, in any state, without receiving them.
func (e *Engine) Peek(_ context.Context, name string, max int) ([]driver.PeekedMessage, error) {
	if max < 1 || max > driver.MaxPeek {
		return nil, driver.Invalid("max", "%d is out of range; accepted is 1 to %d", max, driver.MaxPeek)
	}
	q, err := e.lockQueue(name, false)
	if err != nil {
		return nil, err
	}
	t := now()
	q.advance(t, e.forget)
	ps := make([]pending, 0, min(max, len(q.msgs)))
	states := make(map[string]driver.PeekedMessage, cap(ps))
	for m := q.all.head; m != nil && len(ps) < max; m = m.alink.next {
		pd := e.pendingOf(m, "")
		ps = append(ps, pd)
		pm := driver.PeekedMessage{State: driver.StateVisible}
		switch m.state {
		case stateDelayed:
			pm.State, pm.VisibleAt = driver.StateDelayed, time.Unix(0, m.visibleAt)
		case stateInFlight:
			pm.State, pm.VisibleAt = driver.StateInFlight, time.Unix(0, m.visibleAt)
		}
		states[pd.d.ID] = pm
	}
	e.mu.Unlock()
	ds, err := e.read(ps)
	if err != nil {
		return nil, err
	}
	out := make([]driver.PeekedMessage, len(ds))
	for i, d := range ds {
		out[i] = states[d.ID]
		out[i].Delivery = d
	}
	return out, nil
}
