package nats

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A delayed message (a send with a delay, a queue with a delivery delay,
// a moved message whose visibility was changed) waits on its queue's
// delay subjects, read by the queue's delay consumer. A promoter pulls
// from that consumer: a copy that is not due yet is nak'ed with a delay
// until it is (JetStream's redelivery timer is the scheduler, durable in
// the consumer's state); a due copy is republished on the main subjects,
// where it is visible, and acked. Every connection that receives from a
// queue (or reads its stats) runs one promoter for it, so delayed
// messages become visible while any receiver is about; promoters of
// several connections share the consumer's messages.
type promoter struct {
	stopOnce chan struct{} // closed to stop
	done     chan struct{} // closed when run returned
	iter     jetstream.MessagesContext
}

// ensurePromoter starts the queue's promoter on this connection unless it
// runs.
func (c *conn) ensurePromoter(m *queueMeta) {
	if c.closed.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() || c.promoters[m.ref.stream] != nil {
		return
	}
	iter, err := m.delay.Messages(jetstream.PullMaxMessages(64), jetstream.PullExpiry(10*time.Second))
	if err != nil {
		c.log.Warn("cannot start the delay promoter", "queue", m.ref.name, "error", err)
		return
	}
	p := &promoter{stopOnce: make(chan struct{}), done: make(chan struct{}), iter: iter}
	c.promoters[m.ref.stream] = p
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(p.done)
		c.promote(m, p)
	}()
}

// stop ends the promoter and waits for it.
func (p *promoter) stop() {
	select {
	case <-p.stopOnce:
	default:
		close(p.stopOnce)
	}
	p.iter.Stop()
	<-p.done
}

// stopPromoter stops the promoter of a queue that is being deleted.
func (c *conn) stopPromoter(stream string) {
	c.mu.Lock()
	p := c.promoters[stream]
	delete(c.promoters, stream)
	c.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

// promote runs until the promoter is stopped, the connection closes or
// the queue's delay consumer is gone.
func (c *conn) promote(m *queueMeta, p *promoter) {
	defer func() {
		c.mu.Lock()
		if c.promoters[m.ref.stream] == p {
			delete(c.promoters, m.ref.stream)
		}
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stopOnce:
		case <-c.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		msg, err := p.iter.Next()
		if err != nil {
			switch {
			case errors.Is(err, jetstream.ErrMsgIteratorClosed), ctx.Err() != nil:
				return
			case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound),
				errors.Is(err, jetstream.ErrStreamNotFound):
				p.iter.Stop()
				return
			}
			c.log.Debug("delay promoter", "queue", m.ref.name, "error", err)
			continue
		}
		c.promoteOne(ctx, m, msg)
	}
}

// promoteOne makes one delayed copy visible if it is due.
func (c *conn) promoteOne(ctx context.Context, m *queueMeta, msg jetstream.Msg) {
	h := msg.Headers()
	if due := time.Until(time.Unix(0, headerInt(h, hVisibleAt))); due > 0 {
		if err := msg.NakWithDelay(due); err != nil {
			c.log.Debug("delay promoter: nak", "queue", m.ref.name, "error", err)
		}
		return
	}
	md, ok := parseAck(msg.Reply())
	if !ok {
		return
	}
	next := &nats.Msg{
		Subject: m.ref.subj,
		Data:    msg.Data(),
		Header:  nextCopy(m, msg, md, true, headerInt(h, hReceives), headerInt(h, hFirstRecv)),
	}
	next.Header[hMsgID] = []string{"pr:" + formatSeq(md.seq)}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := c.publish(pctx, next)
	if err == nil && next.Header.Get(hReceives) != "" {
		// A delivered message whose copy was rescheduled: receipts of
		// it may look for its newest copy.
		err = c.recordLineage(pctx, m, next.Header.Get(hRoot), lineageRecord{Seq: a.Sequence, Prior: headerInt(h, hReceives)})
	}
	if err != nil {
		c.log.Warn("promoting a delayed message failed; retrying later", "queue", m.ref.name, "error", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if err := msg.DoubleAck(pctx); err != nil {
		c.log.Debug("delay promoter: ack", "queue", m.ref.name, "error", err)
	}
}
