package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

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
	// Content hashes are computed before taking the lock.
	hashes := make([]string, len(msgs))
	results := make([]driver.SendResult, len(msgs))

	e.mu.Lock()
	if err := e.writable(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	q, err := e.queue(name)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	contentDedup := q.attrs.ContentBasedDedup
	e.mu.Unlock()
	if contentDedup {
		for i := range msgs {
			if msgs[i].DedupID == "" {
				sum := sha256.Sum256(msgs[i].Body)
				hashes[i] = hex.EncodeToString(sum[:])
			}
		}
	}

	e.mu.Lock()
	if err := e.writable(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if q, err = e.queue(name); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	t := now()
	q.advance(t, e.forget)
	recs := make([]*sendRecord, 0, len(msgs))
	payloads := make([][]byte, 0, len(msgs))
	idx := make([]int, 0, len(msgs)) // results index of each record
	var batchKeys map[string]int     // dedup keys first seen in this batch -> results index
	nextSeq, fifoSeq := e.nextSeq, q.fifoSeq
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
		if key == "" {
			key = hashes[i]
		}
		if key != "" {
			if d, ok := q.lookupDedup(key, t); ok {
				results[i] = driver.SendResult{ID: e.messageID(d.seq), Duplicate: true, Sequence: d.fifoSeq}
				continue
			}
			if j, ok := batchKeys[key]; ok {
				results[i] = results[j]
				results[i].Duplicate = true
				continue
			}
			if batchKeys == nil {
				batchKeys = make(map[string]int)
			}
			batchKeys[key] = i
		}
		delay := m.Delay
		if delay == 0 {
			delay = q.attrs.DeliveryDelay
		}
		r := &sendRecord{
			QID: q.qid, Seq: nextSeq, SentAt: t, VisibleAt: t + int64(delay),
			Group: m.Group, DedupID: key, Headers: m.Headers, Body: m.Body,
		}
		nextSeq++
		if q.fifo() {
			fifoSeq++
			r.FIFOSeq = fifoSeq
		}
		results[i] = driver.SendResult{ID: e.messageID(r.Seq), Sequence: r.FIFOSeq}
		recs = append(recs, r)
		payloads = append(payloads, encodeRecord(r))
		idx = append(idx, i)
	}
	if len(recs) == 0 {
		e.mu.Unlock()
		return results, nil
	}
	ps, wait, err := e.log(recSend, payloads...)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	for k, r := range recs {
		var p pos
		if ps != nil {
			p = ps[k]
		}
		e.applySend(r, p, payloads[k])
	}
	e.mu.Unlock()
	if err := e.await(ctx, wait); err != nil {
		return nil, err
	}
	return results, nil
}

// delay returns d as a duration from unix nanoseconds t to u, at least 0.
func delay(t, u int64) time.Duration {
	if u <= t {
		return 0
	}
	return time.Duration(u - t)
}
