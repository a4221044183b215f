package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier/driver"
)

// resolve checks receipts against q; the caller holds e.mu. It returns the
// messages they settle (nil where the message is already gone) and one
// error per receipt: stale receipts (the message was delivered again) and
// receipts of another queue wrap ErrReceiptInvalid.
func (e *Engine) resolve(q *queue, receipts []string) ([]*message, []error) {
	msgs := make([]*message, len(receipts))
	errs := make([]error, len(receipts))
	for i, s := range receipts {
		r, err := e.decodeReceipt(s)
		switch {
		case err != nil:
			errs[i] = err
		case r.qid != q.qid:
			errs[i] = fmt.Errorf("receipt %d belongs to another queue: %w", i, driver.ErrReceiptInvalid)
		default:
			m := q.msgs[r.seq]
			if m != nil && m.receives != r.receives {
				errs[i] = fmt.Errorf("receipt %d is stale: the message was delivered again: %w", i, driver.ErrReceiptInvalid)
				continue
			}
			msgs[i] = m
		}
	}
	return msgs, errs
}

// Ack deletes the messages of receipts. A receipt whose message is already
// gone succeeds; a stale one fails. It returns once the deletes are durable.
func (e *Engine) Ack(ctx context.Context, name string, receipts []string) ([]error, error) {
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	q, err := e.lockQueue(name, true)
	if err != nil {
		return nil, err
	}
	msgs, errs := e.resolve(q, receipts)
	rec := &ackRecord{QID: q.qid}
	for _, m := range msgs {
		if m != nil {
			rec.Seqs = append(rec.Seqs, m.seq)
		}
	}
	if len(rec.Seqs) == 0 {
		e.mu.Unlock()
		return errs, nil
	}
	_, wait, err := e.log(recAck, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	e.applyAck(rec)
	q.counters.Acked += int64(len(rec.Seqs))
	e.mu.Unlock()
	return errs, e.await(ctx, wait)
}

// ChangeVisibility makes the messages of receipts visible again d from
// now. With d = 0 they are visible at once (a nack); otherwise they count
// as delayed until then, and their receipts stay valid to extend or ack.
func (e *Engine) ChangeVisibility(ctx context.Context, name string, receipts []string, d time.Duration) ([]error, error) {
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	if d < 0 || d > driver.MaxVisibilityTimeout {
		return nil, driver.Invalid("visibility", "%v is out of range; accepted is 0 to %v", d, driver.MaxVisibilityTimeout)
	}
	q, err := e.lockQueue(name, true)
	if err != nil {
		return nil, err
	}
	t := now()
	q.advance(t, e.forget)
	msgs, errs := e.resolve(q, receipts)
	rec := &visibilityRecord{QID: q.qid, At: t, VisibleAt: t + int64(d)}
	for i, m := range msgs {
		switch {
		case m == nil && errs[i] == nil:
			errs[i] = fmt.Errorf("receipt %d: the message no longer exists: %w", i, driver.ErrReceiptInvalid)
		case m != nil && m.receives == 0:
			errs[i] = fmt.Errorf("receipt %d: the message is not in flight: %w", i, driver.ErrReceiptInvalid)
		case m != nil:
			rec.Seqs = append(rec.Seqs, m.seq)
		}
	}
	if len(rec.Seqs) == 0 {
		e.mu.Unlock()
		return errs, nil
	}
	_, wait, err := e.log(recVisibility, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	e.applyVisibility(rec)
	if d == 0 {
		q.counters.Nacked += int64(len(rec.Seqs))
	}
	e.mu.Unlock()
	return errs, e.await(ctx, wait)
}
