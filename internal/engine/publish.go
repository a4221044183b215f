package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// Publish stores messages in a topic and fans each out to the matching
// subscriptions in the same record: the body is written once, one queue
// message per durable, queue or HTTP subscription points at it, and one
// group commit makes all of it durable. Ephemeral feeds get the message
// after it is durable. Filter policies are matched before the lock.
func (e *Engine) Publish(ctx context.Context, name string, msgs []driver.Message) ([]driver.SendResult, error) {
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, err
	}
	for i := range msgs {
		if msgs[i].Delay != 0 {
			return nil, driver.Invalid(fmt.Sprintf("messages[%d].delay", i), "topics deliver at once; set a delivery delay on the subscribed queue instead")
		}
	}
	e.mu.Lock()
	t, err := e.topics[name], e.usable()
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("topic %q: %w", name, driver.ErrNotFound)
	}
	rt := t.routes.Load()
	matches := make([][]pattern.RuleID, len(msgs))
	for i := range msgs {
		matches[i] = rt.match(&msgs[i])
	}

	pooled := e.j != nil
	at := now()
	recs := make([]publishRecord, len(msgs))
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
		recs[i] = publishRecord{PublishedAt: at, Topic: name, Group: m.Group, DedupID: m.DedupID, Headers: m.Headers, Body: m.Body}
		payloads[i] = encodePublish(&recs[i], pooled)
	}
	results := make([]driver.SendResult, len(msgs))

	t2, err := e.lockTopic(name, true)
	if err != nil {
		return nil, err
	}
	if t2 != t || t.routes.Load() != rt { // changed meanwhile: match again
		t, rt = t2, t2.routes.Load()
		for i := range msgs {
			matches[i] = rt.match(&msgs[i])
		}
	}
	t.dedup.expire(at)
	var batchKeys map[string]int
	var origin map[int]int
	var fifoNext map[*queue]uint64 // FIFO sequence numbers taken in this batch
	var feeds []feedDelivery
	stored := make([]int, 0, len(msgs))
	seq, topicSeq := e.nextSeq, t.fifoSeq
	for i := range msgs {
		m := &msgs[i]
		if size := driver.MessageSize(m); size > t.attrs.MaxMessageSize {
			results[i].Err = driver.TooLarge(fmt.Sprintf("messages[%d]", i), "message is %d bytes (body plus headers); topic %q accepts up to %d", size, name, t.attrs.MaxMessageSize)
			continue
		}
		if t.attrs.FIFO && m.Group == "" {
			results[i].Err = driver.Invalid(fmt.Sprintf("messages[%d].group", i), "topic %q is a FIFO topic; every message needs a group", name)
			continue
		}
		r := &recs[i]
		key := m.DedupID
		if key == "" && t.attrs.ContentBasedDedup {
			sum := sha256.Sum256(m.Body)
			key = hex.EncodeToString(sum[:])
			r.DedupID = key
			releaseSend(payloads[i])
			payloads[i] = encodePublish(r, false)
		}
		if key != "" {
			if d, ok := t.dedup.lookup(key, at); ok {
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
		r.TID, r.Seq = t.tid, seq
		seq++
		if t.attrs.FIFO {
			topicSeq++
			r.TopicSeq = topicSeq
		}
		matched := 0
		r.Targets = make([]publishTarget, 0, len(matches[i]))
		for _, id := range matches[i] {
			if f := rt.feeds[id]; f != nil {
				feeds = append(feeds, feedDelivery{f: f, msg: i})
				continue
			}
			s := rt.subs[id]
			if s == nil {
				continue
			}
			matched++
			q := e.target(s)
			if q == nil {
				continue
			}
			tg := publishTarget{QID: q.qid, Seq: seq, Raw: s.spec.Raw}
			seq++
			if q.fifo() {
				if fifoNext == nil {
					fifoNext = make(map[*queue]uint64)
				}
				n, ok := fifoNext[q]
				if !ok {
					n = q.fifoSeq
				}
				n++
				fifoNext[q] = n
				tg.FIFOSeq = n
			}
			r.Targets = append(r.Targets, tg)
			if s.spec.Kind != driver.KindHTTP { // HTTP counts successful POSTs
				s.delivered.Add(1)
			}
		}
		if missed := len(rt.subs) - matched; missed > 0 {
			rt.countFilteredOut(matches[i])
		}
		payloads[i] = patchPublish(payloads[i], r)
		results[i] = driver.SendResult{Sequence: r.TopicSeq}
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
	ps, wait, err := e.log(recPublish, out...)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	for k, i := range stored {
		var p pos
		if ps != nil {
			p = ps[k]
		}
		e.applyPublish(&recs[i], p, out[k])
	}
	t.published.Add(int64(len(stored)))
	e.mu.Unlock()
	for _, i := range stored {
		results[i].ID = e.messageID(recs[i].Seq)
	}
	for i, j := range origin {
		results[i].ID = results[j].ID
	}
	err = e.awaitThen(ctx, wait, func() {
		// Durable now: the subscriptions' receivers may have them.
		e.ackThrough(ps[len(ps)-1])
		for _, i := range stored {
			for _, tg := range recs[i].Targets {
				if q := e.byID[tg.QID]; q != nil {
					q.wake()
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, fd := range feeds {
		r := &recs[fd.msg]
		if err := fd.f.offer(ctx, renderFeed(r, results[fd.msg].ID, fd.f.opts.Raw)); err != nil {
			return results, nil // the messages are stored; only this publisher's wait for a blocked feed ended
		}
	}
	return results, nil
}

// feedDelivery is a message bound for an ephemeral feed.
type feedDelivery struct {
	f   *feed
	msg int
}

// match returns the IDs of the subscriptions and feeds that m matches; the
// caller must not modify the result.
func (rt *routing) match(m *driver.Message) []pattern.RuleID {
	if rt.attrs == nil && rt.body == nil {
		return rt.unfiltered
	}
	ids := make([]pattern.RuleID, len(rt.unfiltered), len(rt.subs)+len(rt.feeds))
	copy(ids, rt.unfiltered)
	if rt.attrs != nil {
		attrs := attrMaps.Get().(map[string]pattern.Attribute)
		driver.FillHeaderAttributes(attrs, m.Headers)
		if got, err := rt.attrs.MatchAllAttributes(attrs); err == nil {
			ids = append(ids, got...)
		}
		clear(attrs)
		attrMaps.Put(attrs)
	}
	if rt.body != nil {
		if got, err := rt.body.MatchAll(m.Body); err == nil { // a body that is not a JSON object matches no body policy
			ids = append(ids, got...)
		}
	}
	return ids
}

// attrMaps recycles the attribute maps headers are matched as.
var attrMaps = sync.Pool{New: func() any { return make(map[string]pattern.Attribute, 8) }}

// countFilteredOut counts a message against every subscription it did not
// match.
func (rt *routing) countFilteredOut(matched []pattern.RuleID) {
	for id, s := range rt.subs {
		hit := false
		for _, m := range matched {
			if m == id {
				hit = true
				break
			}
		}
		if !hit {
			s.filteredOut.Add(1)
		}
	}
}

// encodePublish encodes a published message without its targets, into a
// pooled buffer when pooled and small.
func encodePublish(r *publishRecord, pooled bool) []byte {
	var e encoder
	if pooled && r.sizeHint()+64 <= smallPayload {
		e.b = (*smallPayloads.Get().(*[]byte))[:0]
	} else {
		e.b = make([]byte, 0, r.sizeHint()+64)
	}
	r.encodeMessage(&e)
	return e.b
}

// patchPublish sets the numbers of an encoded publishRecord and appends its
// targets, returning the complete payload.
func patchPublish(payload []byte, r *publishRecord) []byte {
	binary.LittleEndian.PutUint64(payload[0:8], r.TID)
	binary.LittleEndian.PutUint64(payload[8:16], r.Seq)
	binary.LittleEndian.PutUint64(payload[16:24], r.TopicSeq)
	e := encoder{b: payload}
	r.encodeTargets(&e)
	if cap(payload) == smallPayload && cap(e.b) != smallPayload {
		releaseSend(payload) // grown out of its pooled buffer
	}
	return e.b
}

func (e *Engine) applyPublish(r *publishRecord, p pos, payload []byte) {
	e.nextSeq = max(e.nextSeq, r.Seq+1)
	if t := e.topicByID[r.TID]; t != nil {
		t.fifoSeq = max(t.fifoSeq, r.TopicSeq)
		if r.DedupID != "" {
			t.dedup.remember(r.DedupID, r.Seq, r.TopicSeq, r.PublishedAt)
		}
	}
	for _, tg := range r.Targets {
		e.nextSeq = max(e.nextSeq, tg.Seq+1)
		q := e.byID[tg.QID]
		if q == nil {
			continue
		}
		q.fifoSeq = max(q.fifoSeq, tg.FIFOSeq)
		// A subscribed queue's delivery delay applies to what the topic
		// delivers, as it does to sends (the attributes replayed before this
		// record are those it was published under).
		visibleAt := r.PublishedAt + int64(q.attrs.DeliveryDelay)
		m := &message{seq: tg.Seq, pos: p, size: int32(len(payload)), sentAt: r.PublishedAt, enq: r.PublishedAt, visibleAt: visibleAt, fifoSeq: tg.FIFOSeq}
		q.add(m, r.Group, r.PublishedAt)
		if e.started {
			q.counters.Sent++
		}
		if e.bodies != nil {
			e.bodies[tg.Seq] = memBody{typ: recPublish, payload: payload}
		} else {
			e.segUse(m, 1)
		}
		q.wake()
	}
}

// envelope renders the envelope of a published message.
func envelope(r *publishRecord, id string) []byte {
	return driver.EncodeEnvelope(driver.Envelope{MessageID: id, Topic: r.Topic, Timestamp: time.Unix(0, r.PublishedAt),
		Sequence: r.TopicSeq, Group: r.Group, DedupID: r.DedupID, Headers: r.Headers}, r.Body)
}

// renderFeed makes the delivery of a published message to a feed.
func renderFeed(r *publishRecord, id string, raw bool) driver.Delivery {
	d := driver.Delivery{ID: id, Body: r.Body, Headers: r.Headers, SentAt: time.Unix(0, r.PublishedAt), Group: r.Group, DedupID: r.DedupID, Sequence: r.TopicSeq, ReceiveCount: 1}
	if !raw {
		d.Body = envelope(r, id)
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	return d
}
