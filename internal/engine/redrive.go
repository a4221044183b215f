package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier/driver"
)

// Redrive moves visible messages of the dead-letter queue dlq back to the
// queues they came from (or to req.Destination), oldest first, each move
// one atomic record. With req.Rate it paces itself to that many moves per
// second. It stops when req.Max moved, the queue has no visible message
// left from the start of the redrive, or ctx ends (reporting what moved).
func (e *Engine) Redrive(ctx context.Context, dlqName string, req driver.RedriveRequest) (driver.RedriveResult, error) {
	if err := req.Validate(); err != nil {
		return driver.RedriveResult{}, err
	}
	var res driver.RedriveResult
	start := time.Now()
	var lastWait func(context.Context) error
	since := now() // only messages that entered the queue before the redrive move
	for {
		dlq, err := e.lockQueue(dlqName, true)
		if err != nil {
			return res, err
		}
		var dest *queue
		if req.Destination != "" {
			if dest, err = e.queue(req.Destination); err != nil {
				e.mu.Unlock()
				return res, err
			}
		}
		t := now()
		dlq.advance(t, e.forget)
		allowed := -1 // unlimited
		if req.Rate > 0 {
			allowed = int(time.Since(start).Seconds()*float64(req.Rate)) + 1 - res.Moved
		}
		if req.Max > 0 && (allowed < 0 || allowed > req.Max-res.Moved) {
			allowed = req.Max - res.Moved
		}
		var moves []*moveRecord
		var payloads [][]byte
		var moveErr error
		for m := dlq.all.head; m != nil && allowed != 0; m = m.alink.next {
			if m.state != stateVisible || m.enq > since {
				continue
			}
			to := dest
			if to == nil {
				if m.source == nil {
					moveErr = fmt.Errorf("message %s was not dead-lettered from another queue; name a destination: %w", e.messageID(m.seq), driver.ErrInvalid)
					break
				}
				if to = e.queues[*m.source]; to == nil {
					moveErr = fmt.Errorf("source queue %q of message %s no longer exists; name a destination: %w", *m.source, e.messageID(m.seq), driver.ErrNotFound)
					break
				}
			}
			if to.fifo() && m.group == nil {
				moveErr = fmt.Errorf("queue %q is a FIFO queue and message %s has no group: %w", to.name, e.messageID(m.seq), driver.ErrConflict)
				break
			}
			mv := &moveRecord{From: dlq.qid, To: to.qid, Seq: m.seq, At: t}
			moves = append(moves, mv)
			payloads = append(payloads, encodeRecord(mv))
			allowed--
		}
		if len(moves) > 0 {
			_, wait, err := e.log(recMove, payloads...)
			if err != nil {
				e.mu.Unlock()
				return res, err
			}
			for _, mv := range moves {
				e.applyMove(mv)
			}
			res.Moved += len(moves)
			if wait != nil {
				lastWait = wait
			}
		}
		more := false
		for m := dlq.all.head; m != nil; m = m.alink.next {
			if m.state == stateVisible && m.enq <= since {
				more = true
				break
			}
		}
		e.mu.Unlock()
		if moveErr != nil || !more || (req.Max > 0 && res.Moved >= req.Max) {
			if err := e.await(ctx, lastWait); err != nil {
				return res, err
			}
			return res, moveErr
		}
		if req.Rate > 0 {
			next := start.Add(time.Duration(float64(res.Moved) / float64(req.Rate) * float64(time.Second)))
			timer := time.NewTimer(time.Until(next))
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return res, ctx.Err()
			case <-e.done:
				timer.Stop()
				return res, driver.ErrClosed
			}
		}
	}
}
