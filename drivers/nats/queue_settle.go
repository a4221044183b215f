package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// Bodies of the JetStream acknowledgement protocol.
var (
	ackBody = []byte("+ACK")
	nakBody = []byte("-NAK")
)

func nakDelayBody(d time.Duration) []byte {
	return fmt.Appendf(nil, `-NAK {"delay": %d}`, max(d.Nanoseconds(), 1))
}

// nak makes the copy behind the ack subject subj visible again after d,
// waiting for the server's answer when sync is set. JetStream keeps a nak
// with a delay in the consumer's stored state, a plain nak only in memory
// (a restarted server would wait for the AckWait instead); so a nak to
// "now" is sent as a 1ns delay, which is stored, followed by a plain nak,
// which redelivers at once.
func (c *conn) nak(ctx context.Context, subj string, d time.Duration, sync bool) error {
	send := func(body []byte) error {
		if !sync {
			return c.nc.Publish(subj, body)
		}
		_, err := c.nc.RequestWithContext(ctx, subj, body)
		return err
	}
	if d > 0 {
		return send(nakDelayBody(d))
	}
	if err := c.nc.Publish(subj, nakDelayBody(0)); err != nil {
		return err
	}
	return send(nakBody)
}

// settle sends an acknowledgement body (ack, nak) for a delivery of m's
// main consumer and waits for the server's answer, retrying while the
// consumer has no leader; a consumer that is gone fails with its
// not-found error.
func (c *conn) settle(ctx context.Context, m *queueMeta, subj string, body []byte) error {
	return retryErr(ctx, c, "settle", func() error {
		_, err := c.nc.RequestWithContext(ctx, subj, body)
		return c.probeConsumer(ctx, m.main, err)
	})
}

// retryNak is nak with the server's answer awaited, retried as settle.
func (c *conn) retryNak(ctx context.Context, m *queueMeta, subj string, d time.Duration) error {
	return retryErr(ctx, c, "nak", func() error {
		return c.probeConsumer(ctx, m.main, c.nak(ctx, subj, d, true))
	})
}

// deleteMsg deletes a stored message, retrying while JetStream is
// unavailable.
func (c *conn) deleteMsg(ctx context.Context, st jetstream.Stream, seq uint64) error {
	return retryErr(ctx, c, "delete message", func() error { return st.DeleteMsg(ctx, seq) })
}

// marker records that an in-flight copy's visibility was changed: its
// new end and the message's first receive time, for the stats and for
// the receive that moves the copy once it is due.
type marker struct {
	Seq       uint64 `json:"seq"`
	VisibleAt int64  `json:"visible_at"`
	FirstRecv int64  `json:"first_received"`
}

func decodeMarker(b []byte) marker {
	var mk marker
	_ = json.Unmarshal(b, &mk) // a malformed marker reads as zero: already due, no first receive time
	return mk
}

// Ack deletes the messages of receipts.
//
// A receipt whose visibility has not ended (as far as this connection
// knows) is acked directly: its copy cannot have been delivered again,
// since a copy is handed to one receiver only. Others are checked: a copy
// that still exists is acked; a message that is gone is acked already
// (success); a message that was delivered again since the receipt is
// stale (ErrReceiptInvalid), and one that was moved but not delivered
// again yet is deleted.
func (c *conn) Ack(ctx context.Context, name string, receipts []string) ([]error, error) {
	return c.ack(ctx, c.lay.queue(name), receipts)
}

func (c *conn) ack(ctx context.Context, ref qref, receipts []string) ([]error, error) {
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	m, err := c.queueMeta(ctx, ref)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(receipts))
	rs := make([]receipt, len(receipts))
	var fast []int
	var slow []int
	for i, s := range receipts {
		rs[i], errs[i] = c.checkReceipt(m, i, s)
	}
	fresh := c.deliveries.freshAll(ref.stream, rs, errs, time.Now())
	for i := range receipts {
		switch {
		case errs[i] != nil:
		case fresh[i]:
			fast = append(fast, i)
		default:
			slow = append(slow, i)
		}
	}
	if len(fast) > 0 {
		seqs := make([]uint64, len(fast))
		for j, i := range fast {
			seqs[j] = rs[i].seq
			if j < len(fast)-1 {
				if err := c.nc.Publish(rs[i].subject, ackBody); err != nil {
					return nil, mapErr(err)
				}
			}
		}
		// The server handles one consumer's acks in order: the answer to
		// the last says all are done.
		if err := c.settle(ctx, m, rs[fast[len(fast)-1]].subject, ackBody); err != nil {
			return nil, c.queueErr(ref, err)
		}
		for _, s := range c.deliveries.remove(ref.stream, seqs) {
			c.purgeSubject(ctx, ref.aux, ref.marker(s))
		}
	}
	for _, i := range slow {
		e, err := c.ackChecked(ctx, m, rs[i], i)
		if err != nil {
			return nil, err
		}
		errs[i] = e
	}
	return errs, nil
}

// checkReceipt decodes receipt i and checks that it belongs to this
// incarnation of the queue.
func (c *conn) checkReceipt(m *queueMeta, i int, s string) (receipt, error) {
	r, err := decodeReceipt(s)
	if err != nil {
		return r, fmt.Errorf("receipt %d: %w: %w", i, err, driver.ErrReceiptInvalid)
	}
	if r.stream != m.ref.stream || r.uid != m.desc.UID {
		return r, fmt.Errorf("receipt %d belongs to another queue (or to a deleted queue of this name): %w", i, driver.ErrReceiptInvalid)
	}
	return r, nil
}

func staleReceipt(i int) error {
	return fmt.Errorf("receipt %d is stale: the message was delivered again: %w", i, driver.ErrReceiptInvalid)
}

// ackChecked acks one receipt whose copy may have been delivered again.
func (c *conn) ackChecked(ctx context.Context, m *queueMeta, r receipt, i int) (error, error) {
	_, err := c.getMsg(ctx, m.stream, r.seq)
	if err == nil {
		// The copy is still there, but a redelivery may have made a newer
		// one before this copy was removed (a replicated stream applies
		// the removal a moment later): then the receipt is stale.
		if stale, err := c.supersededCopy(ctx, m, r); err != nil || stale {
			if err != nil {
				return nil, err
			}
			return staleReceipt(i), nil
		}
		if err := c.settle(ctx, m, r.subject, ackBody); err != nil {
			return nil, c.queueErr(m.ref, err)
		}
		for _, s := range c.deliveries.remove(m.ref.stream, []uint64{r.seq}) {
			c.purgeSubject(ctx, m.ref.aux, m.ref.marker(s))
		}
		return nil, nil
	}
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, c.queueErr(m.ref, err)
	}
	c.deliveries.remove(m.ref.stream, []uint64{r.seq})
	cur, err := c.currentCopy(ctx, m, r.root)
	if err != nil {
		return nil, err
	}
	switch {
	case cur == nil:
		return nil, nil // acked before: acking a message that is gone succeeds
	case cur.prior != r.receives || cur.delivered:
		return staleReceipt(i), nil
	}
	// Moved (its visibility ended or was changed) but not delivered
	// again: the receipt still holds.
	if err := c.deleteMsg(ctx, cur.stream(m), cur.seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, c.queueErr(m.ref, err)
	}
	return nil, nil
}

// supersededCopy reports whether the message of r was delivered again
// from a newer copy than the one r delivered: then r is stale. A newer
// copy that was made (its visibility ended or was changed) but not
// delivered yet is removed: r still holds, and settles the message.
func (c *conn) supersededCopy(ctx context.Context, m *queueMeta, r receipt) (bool, error) {
	cur, err := c.currentCopy(ctx, m, r.root)
	if err != nil || cur == nil || cur.seq == r.seq && !cur.delayed {
		return false, err // no newer copy
	}
	if cur.prior != r.receives || cur.delivered {
		return true, nil
	}
	if err := c.deleteMsg(ctx, cur.stream(m), cur.seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, c.queueErr(m.ref, err)
	}
	return false, nil
}

// copyInfo describes the newest copy of a message.
type copyInfo struct {
	seq       uint64
	prior     int64 // deliveries before this copy
	delayed   bool  // in the auxiliary stream, waiting to be due
	delivered bool  // the main consumer delivered it
	raw       *jetstream.RawStreamMsg
}

// stream is the stream holding the copy.
func (ci *copyInfo) stream(m *queueMeta) jetstream.Stream {
	if ci.delayed {
		return m.aux
	}
	return m.stream
}

// currentCopy finds the newest copy of the message with root root from
// its lineage record (the caller knows the copy it holds is gone); nil
// when the message is gone.
func (c *conn) currentCopy(ctx context.Context, m *queueMeta, root string) (*copyInfo, error) {
	raw, err := c.lastMsg(ctx, m.aux, m.ref.lineage(root))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil // never moved: the copy the caller knew was the last
	}
	if err != nil {
		return nil, c.queueErr(m.ref, err)
	}
	var rec lineageRecord
	if json.Unmarshal(raw.Data, &rec) != nil || rec.Seq == 0 {
		return nil, nil
	}
	ci := &copyInfo{seq: rec.Seq, prior: rec.Prior, delayed: rec.Aux}
	ci.raw, err = c.getMsg(ctx, ci.stream(m), rec.Seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil // acked (or expired) since
	}
	if err != nil {
		return nil, c.queueErr(m.ref, err)
	}
	if !ci.delayed {
		info, err := c.consumerInfo(ctx, m.main)
		if err != nil {
			return nil, c.queueErr(m.ref, err)
		}
		ci.delivered = ci.seq <= info.Delivered.Stream
	}
	return ci, nil
}

// ChangeVisibility makes the messages of receipts visible again d from
// now: JetStream's nak with a delay on the delivered copy (which keeps it
// in flight until then), and a marker saying so for the stats. Receipts
// are checked as by Ack; a message that is gone or was delivered again
// fails with ErrReceiptInvalid.
func (c *conn) ChangeVisibility(ctx context.Context, name string, receipts []string, d time.Duration) ([]error, error) {
	return c.changeVisibility(ctx, c.lay.queue(name), receipts, d)
}

func (c *conn) changeVisibility(ctx context.Context, ref qref, receipts []string, d time.Duration) ([]error, error) {
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	if d < 0 || d > driver.MaxVisibilityTimeout {
		return nil, driver.Invalid("visibility", "%v is out of range; accepted is 0 to %v", d, driver.MaxVisibilityTimeout)
	}
	m, err := c.queueMeta(ctx, ref)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(receipts))
	now := time.Now()
	for i, s := range receipts {
		r, err := c.checkReceipt(m, i, s)
		if err != nil {
			errs[i] = err
			continue
		}
		if !c.deliveries.fresh(ref.stream, r, now) {
			done, e, err := c.changeChecked(ctx, m, r, i, d)
			if err != nil {
				return nil, err
			}
			if done {
				errs[i] = e
				continue
			}
		}
		if err := c.changeInFlight(ctx, m, r, d); err != nil {
			return nil, err
		}
	}
	return errs, nil
}

// changeInFlight sets the visibility of a copy that is in flight with r.
func (c *conn) changeInFlight(ctx context.Context, m *queueMeta, r receipt, d time.Duration) error {
	visibleAt := time.Now().Add(d).UnixNano()
	body, _ := json.Marshal(marker{Seq: r.seq, VisibleAt: visibleAt, FirstRecv: r.firstRecv})
	mk := &nats.Msg{Subject: m.ref.marker(r.seq), Data: body, Header: nats.Header{"Nats-Rollup": []string{"sub"}}}
	if _, err := c.publish(ctx, mk); err != nil {
		return c.queueErr(m.ref, err)
	}
	if err := c.retryNak(ctx, m, r.subject, d); err != nil {
		return c.queueErr(m.ref, err)
	}
	c.deliveries.changed(m.ref.stream, r.seq, r.firstRecv, visibleAt)
	return nil
}

// changeChecked handles a receipt whose copy may have been delivered
// again. It reports done=false when the copy is still there (in flight
// with r: the caller changes it); otherwise the receipt's error, or nil
// after it rescheduled the message's newest copy, which was moved but not
// delivered again.
func (c *conn) changeChecked(ctx context.Context, m *queueMeta, r receipt, i int, d time.Duration) (done bool, perr, err error) {
	_, err = c.getMsg(ctx, m.stream, r.seq)
	if err == nil {
		// As in ackChecked: a newer copy makes the receipt stale even while
		// this one is still there.
		stale, err := c.supersededCopy(ctx, m, r)
		switch {
		case err != nil:
			return true, nil, err
		case stale:
			return true, staleReceipt(i), nil
		}
		return false, nil, nil
	}
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return true, nil, c.queueErr(m.ref, err)
	}
	cur, err := c.currentCopy(ctx, m, r.root)
	switch {
	case err != nil:
		return true, nil, err
	case cur == nil:
		return true, fmt.Errorf("receipt %d: the message no longer exists: %w", i, driver.ErrReceiptInvalid), nil
	case cur.prior != r.receives || cur.delivered:
		return true, staleReceipt(i), nil
	case d == 0 && !cur.delayed:
		return true, nil, nil // visible already
	}
	h := make(nats.Header, len(cur.raw.Header)+1)
	for k, v := range cur.raw.Header {
		if k != hMsgID && k != hVisibleAt {
			h[k] = v
		}
	}
	next := &nats.Msg{Subject: m.ref.subj, Data: cur.raw.Data, Header: h}
	if d > 0 {
		next.Subject = m.ref.delayed(r.root)
		setInt(h, hVisibleAt, time.Now().Add(d).UnixNano())
	}
	h[hMsgID] = []string{"cv:" + formatSeq(cur.seq) + ":" + strconv.FormatBool(cur.delayed)}
	a, err := c.publish(ctx, next)
	if err == nil {
		err = c.recordLineage(ctx, m, r.root, lineageRecord{Aux: d > 0, Seq: a.Sequence, Prior: cur.prior})
	}
	if err != nil {
		return true, nil, c.queueErr(m.ref, err)
	}
	if err := c.deleteMsg(ctx, cur.stream(m), cur.seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return true, nil, c.queueErr(m.ref, err)
	}
	return true, nil, nil
}
