package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
)

// publisher is one confirm-mode channel. Each publish waits for its own
// confirm through the client's DeferredConfirmation. A goroutine records
// the messages the broker returned as unroutable (mandatory publishes to a
// queue that no longer exists); the broker sends a return before the
// confirm of the same message, so a publisher that finds its message
// recorded reports ErrNotFound. The record is best effort: a return still
// being recorded when the confirm is read makes the send succeed, which
// is indistinguishable from a send that just preceded the queue's delete.
type publisher struct {
	c  *Conn
	ch *amqp.Channel

	mu       sync.Mutex // protects returned and lost
	returned map[string]bool
	lost     uint64 // raised when the channel's unconfirmed publishes were lost

	returns chan amqp.Return
}

// pubWait is one publish waiting for its confirm.
type pubWait struct {
	p    *publisher
	id   string
	dc   *amqp.DeferredConfirmation
	lost uint64
}

func newPublisher(c *Conn) (*publisher, error) {
	ch, err := c.conn.Channel()
	if err != nil {
		return nil, err
	}
	p := &publisher{c: c, ch: ch, returned: make(map[string]bool), returns: make(chan amqp.Return, 64)}
	ch.NotifyReturn(p.returns)
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	c.wg.Go(p.loop)
	return p, nil
}

// loop records returned messages until the connection closes.
func (p *publisher) loop() {
	for {
		select {
		case r, ok := <-p.returns:
			if !ok {
				return
			}
			p.mu.Lock()
			if len(p.returned) > 4096 {
				clear(p.returned)
			}
			p.returned[r.MessageId] = true
			p.mu.Unlock()
		case <-p.c.done:
			return
		}
	}
}

// failAll marks the unconfirmed publishes of the channel as lost: the
// channel or connection went away before the broker confirmed them, so
// they may or may not be stored. The client resolves their confirmations
// as not acked.
func (p *publisher) failAll() {
	p.mu.Lock()
	p.lost++
	clear(p.returned)
	p.mu.Unlock()
}

// publish sends msgs to exchange with routing key key and returns one
// waiter per message that was handed to the broker; the error reports the
// first that could not be.
func (p *publisher) publish(ctx context.Context, exchange, key string, mandatory bool, msgs []amqp.Publishing) ([]pubWait, error) {
	p.mu.Lock()
	lost := p.lost
	p.mu.Unlock()
	ws := make([]pubWait, 0, len(msgs))
	for i := range msgs {
		dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, mandatory, false, msgs[i])
		if err != nil {
			return ws, p.c.mapErr(err)
		}
		ws = append(ws, pubWait{p: p, id: msgs[i].MessageId, dc: dc, lost: lost})
	}
	return ws, nil
}

// wait waits for w's confirm. An unroutable mandatory message is
// ErrNotFound; a message the broker refused (nack) is ErrStorage.
func (w *pubWait) wait(ctx context.Context) error {
	select {
	case <-w.dc.Done():
	case <-ctx.Done():
		return fmt.Errorf("waiting for the broker's confirm (the message may be stored): %w", ctx.Err())
	}
	acked := w.dc.Acked()
	w.p.mu.Lock()
	lost := w.p.lost != w.lost
	returned := w.p.returned[w.id]
	if returned {
		delete(w.p.returned, w.id)
	}
	w.p.mu.Unlock()
	switch {
	case !acked && lost:
		return fmt.Errorf("before the broker confirmed (the message may be stored): %w", errLost)
	case returned:
		return errUnroutable
	case !acked:
		return fmt.Errorf("the broker refused the message (basic.nack): %w", driver.ErrStorage)
	}
	return nil
}

// errUnroutable is a mandatory publish the broker could not route: its
// queue does not exist (any more).
var errUnroutable = fmt.Errorf("no such queue on the broker: %w", driver.ErrNotFound)

// errLost reports that the connection to RabbitMQ was lost; the driver
// reconnects, and calls made after that succeed again.
var errLost = errors.New("rabbitmq: connection lost (the driver is reconnecting; retry)")

// pub returns the next publisher, round robin.
func (c *Conn) pub() *publisher {
	return c.pubs[int(c.rr.Add(1))%len(c.pubs)]
}

// publishWait publishes msgs to one destination and waits for every
// confirm; errs has one entry per message.
func (c *Conn) publishWait(ctx context.Context, exchange, key string, mandatory bool, msgs []amqp.Publishing) ([]error, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	ws, err := c.pub().publish(ctx, exchange, key, mandatory, msgs)
	if len(ws) == 0 && err != nil {
		return nil, err
	}
	errs := make([]error, len(msgs))
	for i := range ws {
		errs[i] = ws[i].wait(ctx)
	}
	for i := len(ws); i < len(msgs); i++ {
		errs[i] = err
	}
	return errs, nil
}
