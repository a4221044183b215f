package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/courier-io/courier/driver"
)

// Send stores messages. Entries that break a rule of the queue (size, a FIFO
// message without a group) fail alone; duplicates within the dedup window
// return the original's ID. It returns after every stored message is
// durable.
func (e *Engine) Send(ctx context.Context, name string, msgs []driver.Message) ([]driver.SendResult, error) {
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, err
	}
	// Encode outside the lock; the lock only assigns numbers, checks
	// dedup and logs. On file:// the encoded messages are copied by the
	// log, so their buffers are recycled; mem:// keeps them as the bodies.
	pooled := e.j != nil
	t := now()
	recs := make([]sendRecord, len(msgs))
	payloads := make([][]byte, len(msgs))
	if pooled {
		defer func() {
			for _, p := range payloads {
				releaseSend(p)
			}
		}()
	}
	for i := range msgs {
		m := &msgs[i]
		recs[i] = sendRecord{SentAt: t, VisibleAt: t, Group: m.Group, DedupID: m.DedupID, Headers: m.Headers, Body: m.Body}
		if pooled {
			payloads[i] = encodeSend(&recs[i])
		} else {
			payloads[i] = encodeRecord(&recs[i])
		}
	}
	results := make([]driver.SendResult, len(msgs))

	q, err := e.lockQueue(name, true)
	if err != nil {
		return nil, err
	}
	q.advance(t, e.forget)
	var batchKeys map[string]int // dedup keys first seen in this batch -> results index
	var origin map[int]int       // duplicates within the batch -> their original's index
	stored := make([]int, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if size := driver.MessageSize(m); size > q.attrs.MaxMessageSize {
			results[i].Err = driver.TooLarge(fmt.Sprintf("messages[%d]", i), "message is %d bytes (body plus headers); queue %q accepts up to %d", size, name, q.attrs.MaxMessageSize)
			continue
		}
		if q.fifo() && m.Group == "" {
			results[i].Err = driver.Invalid(fmt.Sprintf("messages[%d].group", i), "queue %q is a FIFO queue; every message needs a group", name)
			continue
		}
		key := m.DedupID
		if key == "" && q.attrs.ContentBasedDedup {
			sum := sha256.Sum256(m.Body)
			key = hex.EncodeToString(sum[:])
			recs[i].DedupID = key
			releaseSend(payloads[i])
			payloads[i] = encodeRecord(&recs[i])
		}
		if key != "" {
			if d, ok := q.dedup.lookup(key, t); ok {
				results[i] = driver.SendResult{ID: e.messageID(d.seq), Duplicate: true, Sequence: d.fifoSeq}
				continue
			}
			if j, ok := batchKeys[key]; ok {
				results[i] = driver.SendResult{Duplicate: true, Sequence: results[j].Sequence}
				if origin == nil {
					origin = make(map[int]int)
				}
				origin[i] = j
				continue
			}
			if batchKeys == nil {
				batchKeys = make(map[string]int)
			}
			batchKeys[key] = i
		}
		r := &recs[i]
		delay := m.Delay
		if delay == 0 {
			delay = q.attrs.DeliveryDelay
		}
		r.QID, r.Seq, r.VisibleAt = q.qid, e.nextSeq+uint64(len(stored)), t+int64(delay)
		if q.fifo() {
			r.FIFOSeq = q.fifoSeq + uint64(len(stored)) + 1
		}
		if delay != 0 {
			releaseSend(payloads[i])
			payloads[i] = encodeRecord(r) // VisibleAt is a varint: re-encode
		} else {
			patchSend(payloads[i], r.QID, r.Seq, r.FIFOSeq)
		}
		results[i] = driver.SendResult{Sequence: r.FIFOSeq} // ID set after the lock
		stored = append(stored, i)
	}
	if len(stored) == 0 {
		e.mu.Unlock()
		return results, nil
	}
	out := payloads
	if len(stored) != len(msgs) {
		out = make([][]byte, len(stored))
		for k, i := range stored {
			out[k] = payloads[i]
		}
	}
	ps, wait, err := e.log(recSend, out...)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	for k, i := range stored {
		var p pos
		if ps != nil {
			p = ps[k]
		}
		e.applySend(&recs[i], p, out[k])
	}
	e.mu.Unlock()
	for _, i := range stored {
		results[i].ID = e.messageID(recs[i].Seq)
	}
	for i, j := range origin {
		results[i].ID = results[j].ID
	}
	err = e.awaitThen(ctx, wait, func() {
		// Durable now: receivers may have them.
		e.ackThrough(ps[len(ps)-1])
		q.wake()
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}
