package nats

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// Receive delivers up to req.Max visible messages of the queue.
//
// A message is delivered by JetStream's main consumer of the queue. The
// first delivery of a copy is the only one handed to a receiver: when
// JetStream delivers a copy again (its visibility timeout ended, or it was
// nacked), Receive moves it instead: it stores a new copy at the end of
// the queue, carrying the message's ID, receive count and first receive
// time, and acks the old one. So every delivery a receiver sees is a copy
// of its own, and a stale receipt (the message was delivered again) can
// never settle a newer delivery of the same message.
func (c *conn) Receive(ctx context.Context, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	return c.receive(ctx, c.lay.queue(name), req)
}

func (c *conn) receive(ctx context.Context, ref qref, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	m, err := c.queueMeta(ctx, ref)
	if err != nil {
		return nil, err
	}
	c.ensurePromoter(m)
	attrs := m.attrs()
	maxN := max(req.Max, 1)
	wait := req.Wait
	switch wait {
	case driver.WaitQueueDefault:
		wait = attrs.ReceiveWait
	case driver.NoWait:
		wait = 0
	}
	vis := req.Visibility
	if vis == 0 {
		vis = attrs.VisibilityTimeout
	}
	until := time.Now().Add(wait)
	catchUpBy := until.Add(catchUpPatience)
	out := make([]driver.Delivery, 0, min(maxN, 256))
	fetched := false
	catchingUp := false
	moved := 0
	for round := 0; round < 64; round++ {
		start := time.Now()
		asked := maxN - len(out)
		w := time.Until(until)
		if moved > 0 || round == 0 {
			// A copy just moved is on its way to the consumer; and a
			// message the stream acknowledged may reach the consumer a
			// moment later (the server signals consumers asynchronously,
			// and with replicas the consumer's replica applies it later).
			// A pull that waits returns as soon as one arrives.
			w = max(w, settleWait(moved > 0))
		}
		if catchingUp {
			w = max(w, catchUpPull)
		}
		msgs, err := c.pull(ctx, m.main, asked, w)
		if err != nil {
			if len(out) > 0 {
				break // what was delivered is the receiver's now
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, ctx.Err()
			}
			return nil, c.queueErr(ref, err)
		}
		fetched = fetched || len(msgs) > 0
		moved = 0
		now := time.Now()
		got := make([]deliveryKey, 0, len(msgs))
		for _, msg := range msgs {
			switch d, seq, fate := c.accept(ctx, m, msg, start, now, vis); fate {
			case delivered:
				out = append(out, d)
				got = append(got, deliveryKey{m.ref.stream, seq})
			case movedOn:
				moved++
			}
		}
		c.deliveries.putAll(got, now.UnixNano())
		switch {
		case len(out) > 0 || len(msgs) == 0 || ctx.Err() != nil:
			// Delivered something, or the fetch waited as long as asked.
		case moved > 0:
			continue // the new copies are visible now
		case wait == 0 && len(msgs) < asked:
			// Everything fetched was dead-lettered or dropped, and nothing
			// else was visible.
		default:
			continue
		}
		if len(out) == 0 && ctx.Err() == nil && time.Now().Before(catchUpBy) {
			// Nothing to deliver, as far as the consumer knows: with
			// replicas it may not know yet what the stream acknowledged.
			behind, err := c.behind(ctx, m.stream, m.main)
			if err != nil {
				return nil, c.queueErr(ref, err)
			}
			if behind {
				catchingUp = true
				continue
			}
		}
		break
	}
	if len(out) == 0 && !fetched {
		// JetStream answers a pull on a deleted consumer with nothing;
		// tell a missing queue apart from an empty one.
		if _, err := c.consumerInfo(ctx, m.main); err != nil && ctx.Err() == nil {
			return nil, c.queueErr(ref, err)
		}
	}
	return out, nil
}

// settleWait is how long a receive that asked not to wait still waits for
// a copy it just moved, or for the consumer to catch up with the stream.
func settleWait(moved bool) time.Duration {
	if moved {
		return time.Second
	}
	return 25 * time.Millisecond
}

// How long a receive or redrive that found nothing waits for its consumer
// to catch up with the stream (see behind), and how long each pull of that
// wait lasts before it looks again.
const (
	catchUpPatience = time.Second
	catchUpPull     = 100 * time.Millisecond
)

// behind reports whether the stream's leader holds messages that cons
// neither delivered nor counts as pending: with replicas, the consumer's
// leader applies the stream's writes later than the stream's leader
// acknowledged them. The consumer is read first, so a message stored
// between the two reads counts as not seen (a pull then gets it). An ack
// that the consumer applied and the stream not yet also counts: it ends
// within a moment, and the caller's wait is bounded. Always false without
// replicas.
func (c *conn) behind(ctx context.Context, st jetstream.Stream, cons jetstream.Consumer) (bool, error) {
	if c.cfg.replicas == 1 {
		return false, nil
	}
	ci, err := c.consumerInfo(ctx, cons)
	if err != nil {
		return false, err
	}
	si, err := c.streamInfo(ctx, st)
	if err != nil {
		return false, err
	}
	return si.State.Msgs > ci.NumPending+uint64(ci.NumAckPending), nil
}

// pull is fetch, retried while the consumer has no leader (a pull nobody
// answers); a consumer that is gone fails with its not-found error.
func (c *conn) pull(ctx context.Context, cons jetstream.Consumer, n int, wait time.Duration) ([]jetstream.Msg, error) {
	return retry(ctx, c, "pull", func() ([]jetstream.Msg, error) {
		msgs, err := c.fetch(ctx, cons, n, wait)
		return msgs, c.probeConsumer(ctx, cons, err)
	})
}

// fetch pulls up to n messages: those available at once, or else waits up
// to wait for the first and takes what is available with it.
func (c *conn) fetch(ctx context.Context, cons jetstream.Consumer, n int, wait time.Duration) ([]jetstream.Msg, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	b, err := cons.FetchNoWait(n)
	if err != nil {
		return nil, err
	}
	msgs, err := drain(b)
	if err != nil || len(msgs) > 0 || wait <= 0 {
		return msgs, err
	}
	if dl, ok := ctx.Deadline(); ok {
		// End the pull before the context so the server sends nothing
		// after the receiver stopped listening.
		wait = min(wait, time.Until(dl)-50*time.Millisecond)
	}
	if wait < 10*time.Millisecond {
		return nil, nil
	}
	// The client library sets the pull's expiry to 90% of the context's
	// time left (leaving at most a second): give it room for wait.
	room := time.Duration(float64(wait) / 0.9)
	if wait >= 9*time.Second {
		room = wait + time.Second
	}
	fctx, cancel := context.WithTimeout(ctx, room)
	defer cancel()
	b, err = cons.Fetch(1, jetstream.FetchContext(fctx))
	if err != nil {
		return nil, err
	}
	msgs, err = drain(b)
	if err != nil || len(msgs) == 0 || n == 1 {
		return msgs, err
	}
	b, err = cons.FetchNoWait(n - 1)
	if err != nil {
		return msgs, nil
	}
	more, _ := drain(b)
	return append(msgs, more...), nil
}

// drain collects a fetch's messages; a fetch that ended because its wait
// did is not an error.
func drain(b jetstream.MessageBatch) ([]jetstream.Msg, error) {
	var msgs []jetstream.Msg
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	err := b.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoMessages) {
		err = nil
	}
	return msgs, err
}

// fate is what accept did with a fetched copy.
type fate int

const (
	delivered fate = iota // handed to the receiver
	movedOn               // redelivered: moved to a new copy, visible now
	removed               // dead-lettered, or dropped past the retention period
)

// accept turns a fetched copy into a delivery, or moves it (a
// redelivery), dead-letters it (one receive too many) or drops it (past
// the retention period); the fate says which.
func (c *conn) accept(ctx context.Context, m *queueMeta, msg jetstream.Msg, start, now time.Time, vis time.Duration) (driver.Delivery, uint64, fate) {
	md, ok := parseAck(msg.Reply())
	if !ok {
		c.log.Warn("message without a JetStream ack subject", "queue", m.ref.name, "reply", msg.Reply())
		return driver.Delivery{}, 0, removed
	}
	h := msg.Headers()
	attrs := m.attrs()
	sent := headerTime(h, hSent)
	if sent.IsZero() {
		sent = time.Unix(0, md.ts)
	}
	if attrs.RetentionPeriod > 0 && now.Sub(sent) > attrs.RetentionPeriod {
		// A copy made by a move is younger than the message; the
		// retention period counts from the first store.
		c.settleCopy(ctx, m, msg, "expired")
		return driver.Delivery{}, 0, removed
	}
	if md.delivered > 1 {
		c.move(ctx, m, msg, md)
		return driver.Delivery{}, 0, movedOn
	}
	prior := headerInt(h, hReceives)
	if attrs.MaxReceives > 0 && prior+1 > int64(attrs.MaxReceives) {
		err := c.deadLetter(ctx, m, msg, md)
		if err == nil {
			return driver.Delivery{}, 0, removed
		}
		c.log.Error("dead-lettering failed; delivering the message instead", "queue", m.ref.name, "dead_letter_queue", attrs.DeadLetterQueue, "error", err)
	}
	root := h.Get(hRoot)
	if root == "" {
		root = mainRoot(md.seq)
	}
	id := h.Get(hID)
	if id == "" {
		id = m.messageID(root)
	}
	first := headerInt(h, hFirstRecv)
	if first == 0 {
		first = now.UnixNano()
	}
	r := receipt{
		uid: m.desc.UID, root: root, seq: md.seq, receives: prior + 1,
		firstRecv: first, deadline: start.Add(vis).UnixNano(),
		subject: msg.Reply(), stream: md.stream,
	}
	if vis != ackWait(attrs.VisibilityTimeout) {
		// This receive's visibility differs from the consumer's AckWait:
		// restart the copy's timer with it (a nak with a delay keeps the
		// copy in flight until then).
		err := c.nak(ctx, msg.Reply(), vis, false)
		if err != nil {
			c.log.Warn("setting the visibility of a delivery failed", "queue", m.ref.name, "error", err)
		}
	}
	d := driver.Delivery{
		ID:              id,
		Body:            msg.Data(),
		Headers:         userHeaders(h),
		Receipt:         r.encode(),
		ReceiveCount:    int(prior + 1),
		SentAt:          sent,
		FirstReceivedAt: time.Unix(0, first),
		Group:           h.Get(hGroup),
		DedupID:         h.Get(hDedup),
		SourceQueue:     h.Get(hSource),
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	return d, r.seq, delivered
}

// settleCopy acks a copy that leaves the queue without a delivery.
func (c *conn) settleCopy(ctx context.Context, m *queueMeta, msg jetstream.Msg, why string) {
	if err := msg.DoubleAck(ctx); err != nil {
		c.log.Warn("acking a copy failed", "queue", m.ref.name, "why", why, "error", err)
	}
}

// nextCopy is the header of the copy that follows msg, a copy in the
// main stream (or, with aux, in the auxiliary stream): the message's ID,
// root, send time, receive count and first receive time travel with it.
func nextCopy(m *queueMeta, msg jetstream.Msg, md ackInfo, aux bool, receives, firstRecv int64) nats.Header {
	h := msg.Headers()
	out := make(nats.Header, len(h)+6)
	for k, v := range h {
		if reserved(k) && !strings.HasPrefix(k, hEscaped) && k != hGroup && k != hDedup && k != hSource {
			continue
		}
		out[k] = v
	}
	root := h.Get(hRoot)
	switch {
	case root != "":
	case aux:
		root = auxRoot(md.seq)
	default:
		root = mainRoot(md.seq)
	}
	id := h.Get(hID)
	if id == "" {
		id = m.messageID(root)
	}
	sent := headerInt(h, hSent)
	if sent == 0 {
		sent = md.ts
	}
	out[hID] = []string{id}
	out[hRoot] = []string{root}
	setInt(out, hSent, sent)
	if receives > 0 {
		setInt(out, hReceives, receives)
	}
	if firstRecv > 0 {
		setInt(out, hFirstRecv, firstRecv)
	}
	return out
}

// lineageRecord says where the newest copy of a moved message is, for the
// check of receipts whose copy is gone (see Ack).
type lineageRecord struct {
	Aux   bool   `json:"aux,omitempty"` // in the auxiliary stream (delayed), else the main one
	Seq   uint64 `json:"seq"`
	Prior int64  `json:"prior"` // deliveries before that copy
}

// recordLineage stores the lineage record of root, replacing the previous
// one.
func (c *conn) recordLineage(ctx context.Context, m *queueMeta, root string, rec lineageRecord) error {
	b, _ := json.Marshal(rec) // plain fields only
	_, err := c.publish(ctx, &nats.Msg{Subject: m.ref.lineage(root), Data: b, Header: nats.Header{"Nats-Rollup": []string{"sub"}}})
	return err
}

// move replaces a copy that JetStream delivered again by a new copy at
// the end of the queue, one receive further; see Receive.
func (c *conn) move(ctx context.Context, m *queueMeta, msg jetstream.Msg, md ackInfo) {
	h := msg.Headers()
	seq := md.seq
	first := headerInt(h, hFirstRecv)
	var mk marker
	hasMarker := false
	if raw, err := c.lastMsg(ctx, m.aux, m.ref.marker(seq)); err == nil {
		mk, hasMarker = decodeMarker(raw.Data), true
	}
	if first == 0 {
		switch e, ok := c.deliveries.get(m.ref.stream, seq); {
		case hasMarker && mk.FirstRecv > 0:
			first = mk.FirstRecv
		case ok:
			first = e.firstRecv
		default:
			// Only the connection that received the copy knew; estimate
			// from the visibility timeout that just ended.
			first = time.Now().Add(-ackWait(m.attrs().VisibilityTimeout)).UnixNano()
		}
	}
	prior := headerInt(h, hReceives) + 1
	next := &nats.Msg{Subject: m.ref.subj, Data: msg.Data(), Header: nextCopy(m, msg, md, false, prior, first)}
	next.Header[hMsgID] = []string{"mv:" + formatSeq(seq)} // movers racing for the copy store one
	a, err := c.publish(ctx, next)
	if err == nil {
		err = c.recordLineage(ctx, m, next.Header.Get(hRoot), lineageRecord{Seq: a.Sequence, Prior: prior})
	}
	if err != nil {
		c.log.Warn("moving a redelivered message failed; JetStream delivers it again", "queue", m.ref.name, "seq", seq, "error", err)
		return
	}
	c.settleCopy(ctx, m, msg, "moved")
	c.deliveries.remove(m.ref.stream, []uint64{seq})
	if hasMarker {
		c.purgeSubject(ctx, m.ref.aux, m.ref.marker(seq))
	}
}

// deadLetter moves a copy to the queue's dead-letter queue, where it
// starts with a receive count of zero and names its source queue.
func (c *conn) deadLetter(ctx context.Context, m *queueMeta, msg jetstream.Msg, md ackInfo) error {
	dlq, err := c.queueMeta(ctx, c.lay.queue(m.attrs().DeadLetterQueue))
	if err != nil {
		return err
	}
	h := nextCopy(m, msg, md, false, 0, 0)
	h[hMsgID] = []string{"dl:" + m.uid36 + ":" + h.Get(hRoot) + ":" + formatSeq(md.seq)}
	delete(h, hRoot)
	h[hSource] = []string{m.ref.name}
	dm := &nats.Msg{Subject: dlq.ref.subj, Data: msg.Data(), Header: h}
	if _, err := c.publish(ctx, dm); err != nil {
		return c.queueErr(dlq.ref, err)
	}
	c.settleCopy(ctx, m, msg, "dead-lettered")
	return nil
}
