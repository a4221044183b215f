package bench

import (
	"context"
	"time"

	"github.com/courier-io/courier"
)

// courierSystem is courier's engine opened through the public API.
type courierSystem struct{ b *courier.Broker }

// openCourier opens courier on url, typically file://DIR (sync=always) or
// mem://.
func openCourier(ctx context.Context, url string) (*courierSystem, error) {
	b, err := courier.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	return &courierSystem{b: b}, nil
}

// queue creates name with a visibility timeout long enough that no message
// is redelivered during a run.
func (s *courierSystem) queue(ctx context.Context, name string) (target, error) {
	q, err := s.b.CreateQueue(ctx, name, courier.VisibilityTimeout(5*time.Minute))
	if err != nil {
		return nil, err
	}
	return courierQueue{q}, nil
}

func (s *courierSystem) close() error { return s.b.Close() }

type courierQueue struct{ q *courier.Queue }

// publish is Queue.Send: one message, returned once durable.
func (c courierQueue) publish(ctx context.Context, body []byte) error {
	_, err := c.q.Send(ctx, courier.Message{Body: body})
	return err
}

// consume receives up to max messages (waiting up to a second when none is
// visible) and settles them with one Ack call.
func (c courierQueue) consume(ctx context.Context, max int, seen func([]byte)) (int, error) {
	ds, err := c.q.Receive(ctx, courier.Max(max), courier.Wait(time.Second))
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	receipts := make([]string, len(ds))
	for i, d := range ds {
		seen(d.Body)
		receipts[i] = d.Receipt
	}
	return len(ds), c.q.Ack(ctx, receipts...)
}
