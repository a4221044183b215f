package nats

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/courier-io/courier/driver"
)

// Redrive moves the visible messages of the dead-letter queue dlq back to
// the queues they came from (or to req.Destination). A move is a publish
// to the destination, deduplicated by the message's place in the
// dead-letter queue, then an ack in the dead-letter queue: a move cut
// short between the two leaves the message in both, and the next redrive
// (within the 5-minute dedup window) completes it without a duplicate.
func (c *conn) Redrive(ctx context.Context, dlq string, req driver.RedriveRequest) (driver.RedriveResult, error) {
	var res driver.RedriveResult
	if err := req.Validate(); err != nil {
		return res, err
	}
	m, err := c.queueMeta(ctx, c.lay.queue(dlq))
	if err != nil {
		return res, err
	}
	var dest *queueMeta
	if req.Destination != "" {
		if dest, err = c.queueMeta(ctx, c.lay.queue(req.Destination)); err != nil {
			return res, err
		}
	}
	var lim *rate.Limiter
	if req.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(req.Rate), 1)
	}
	targets := map[string]*queueMeta{}
	var catchUpBy time.Time // set when the consumer first had nothing
	var wait time.Duration
	for req.Max == 0 || res.Moved < req.Max {
		n := 64
		if req.Max > 0 {
			n = min(n, req.Max-res.Moved)
		}
		msgs, err := c.pull(ctx, m.main, n, wait)
		if err != nil {
			return res, c.queueErr(m.ref, err)
		}
		if len(msgs) == 0 {
			// The consumer has nothing; with replicas it may not have
			// seen yet what the dead-letter queue acknowledged (a message
			// dead-lettered a moment ago): wait for it, briefly.
			if catchUpBy.IsZero() {
				catchUpBy = time.Now().Add(catchUpPatience)
			}
			if time.Now().After(catchUpBy) {
				return res, nil
			}
			behind, err := c.behind(ctx, m.stream, m.main)
			if err != nil {
				return res, c.queueErr(m.ref, err)
			}
			if !behind {
				return res, nil
			}
			wait = catchUpPull
			continue
		}
		wait = 0
		for j, msg := range msgs {
			if lim != nil {
				if err := lim.Wait(ctx); err != nil {
					c.release(msgs[j:])
					return res, err
				}
			}
			to := dest
			if to == nil {
				src := msg.Headers().Get(hSource)
				if src == "" {
					c.release(msgs[j:])
					return res, fmt.Errorf("a message in %q names no source queue; name a destination: %w", dlq, driver.ErrInvalid)
				}
				if to = targets[src]; to == nil {
					if to, err = c.queueMeta(ctx, c.lay.queueRef(src)); err != nil {
						c.release(msgs[j:])
						return res, fmt.Errorf("source queue %q of a message in %q: %w", src, dlq, err)
					}
					targets[src] = to
				}
			}
			md, ok := parseAck(msg.Reply())
			if !ok {
				continue
			}
			h := nextCopy(m, msg, md, false, 0, 0)
			h[hMsgID] = []string{"rd:" + m.uid36 + ":" + formatSeq(md.seq)}
			delete(h, hRoot)
			delete(h, hSource)
			if _, err := c.publish(ctx, &nats.Msg{Subject: to.ref.subj, Data: msg.Data(), Header: h}); err != nil {
				c.release(msgs[j:])
				return res, c.queueErr(to.ref, err)
			}
			if err := c.settle(ctx, m, msg.Reply(), ackBody); err != nil {
				c.release(msgs[j+1:])
				return res, c.queueErr(m.ref, err)
			}
			res.Moved++
		}
	}
	return res, nil
}

// release makes fetched but unmoved messages visible again at once.
func (c *conn) release(msgs []jetstream.Msg) {
	for _, m := range msgs {
		_ = m.Nak()
	}
}
