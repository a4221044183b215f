package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	_ "github.com/courier-io/courier/drivers/rabbitmq" // registers amqp:// and amqps://
)

// RabbitMQEnv names the variable with the URL of the RabbitMQ server that
// the rabbitmq peers use (default amqp://guest:guest@127.0.0.1:5672/).
const RabbitMQEnv = "COURIER_RABBITMQ_URL"

// rabbitMQURL returns $COURIER_RABBITMQ_URL or the local server.
func rabbitMQURL() string {
	if u := os.Getenv(RabbitMQEnv); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// rabbitPublishers is how many confirm-mode channels the raw client
// publishes on: the same as the driver's default (URL option publishers).
const rabbitPublishers = 4

func rabbitSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// rabbitSystem is RabbitMQ used directly through amqp091-go: durable quorum
// queues, persistent messages, publisher confirms, manual acks. RabbitMQ
// fsyncs a quorum queue's log before it confirms a publish.
type rabbitSystem struct {
	conn   *amqp.Connection
	prefix string

	mu     sync.Mutex
	queues []string
}

// openRabbitMQ connects to the server at $COURIER_RABBITMQ_URL.
func openRabbitMQ(ctx context.Context) (*rabbitSystem, error) {
	type dialed struct {
		c   *amqp.Connection
		err error
	}
	res := make(chan dialed, 1)
	go func() {
		c, err := amqp.Dial(rabbitMQURL())
		res <- dialed{c, err}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			return nil, fmt.Errorf("rabbitmq: %w", r.err)
		}
		return &rabbitSystem{conn: r.c, prefix: "courier-bench-" + rabbitSuffix() + "-"}, nil
	case <-ctx.Done():
		go func() {
			if r := <-res; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// queue declares a quorum queue with a name of its own (the server is
// shared) and opens the channels that publish to and consume from it.
func (s *rabbitSystem) queue(ctx context.Context, name string) (target, error) {
	q := &rabbitQueue{name: s.prefix + name}
	admin, err := s.conn.Channel()
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.QueueDeclare(q.name, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		return nil, fmt.Errorf("declare %s: %w", q.name, err)
	}
	s.mu.Lock()
	s.queues = append(s.queues, q.name)
	s.mu.Unlock()
	for range rabbitPublishers {
		ch, err := s.conn.Channel()
		if err != nil {
			return nil, err
		}
		if err := ch.Confirm(false); err != nil {
			return nil, err
		}
		q.pubs = append(q.pubs, ch)
	}
	if q.sub, err = s.conn.Channel(); err != nil {
		return nil, err
	}
	return q, nil
}

// close deletes the queues and closes the connection.
func (s *rabbitSystem) close() error {
	ch, err := s.conn.Channel()
	if err == nil {
		for _, n := range s.queues {
			if _, e := ch.QueueDelete(n, false, false, false); e != nil {
				err = errors.Join(err, e)
			}
		}
	}
	return errors.Join(err, s.conn.Close())
}

type rabbitQueue struct {
	name string
	pubs []*amqp.Channel
	next sync.Mutex
	rr   int

	mu       sync.Mutex // one consume at a time: one consumer, acks with "multiple"
	sub      *amqp.Channel
	delivery <-chan amqp.Delivery
}

// publish publishes one persistent message and waits for its confirm.
func (q *rabbitQueue) publish(ctx context.Context, body []byte) error {
	q.next.Lock()
	ch := q.pubs[q.rr%len(q.pubs)]
	q.rr++
	q.next.Unlock()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q.name, true, false, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: body})
	if err != nil {
		return err
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("rabbitmq: publish nacked")
	}
	return nil
}

// consume takes up to max deliveries from a long-lived consumer whose
// prefetch is max (waiting up to a second for the first), then acks them
// with one ack ("multiple").
func (q *rabbitQueue) consume(ctx context.Context, max int, seen func([]byte)) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.delivery == nil {
		if err := q.sub.Qos(max, 0, false); err != nil {
			return 0, err
		}
		d, err := q.sub.Consume(q.name, "", false, false, false, false, nil)
		if err != nil {
			return 0, err
		}
		q.delivery = d
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	var last amqp.Delivery
	n := 0
	select {
	case d := <-q.delivery:
		last, n = d, 1
		seen(d.Body)
	case <-t.C:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	for n < max {
		select {
		case d := <-q.delivery:
			last = d
			n++
			seen(d.Body)
			continue
		default:
		}
		break
	}
	return n, last.Ack(true)
}

// courierRabbitSystem is courier over the rabbitmq driver, in a namespace
// of its own that close removes.
type courierRabbitSystem struct {
	*courierSystem
	ns string

	mu     sync.Mutex
	queues []string
}

// openCourierRabbitMQ opens courier on $COURIER_RABBITMQ_URL with a fresh
// namespace and the driver's defaults.
func openCourierRabbitMQ(ctx context.Context) (*courierRabbitSystem, error) {
	u, err := url.Parse(rabbitMQURL())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RabbitMQEnv, err)
	}
	ns := "bench-" + rabbitSuffix()
	q := u.Query()
	q.Set("namespace", ns)
	u.RawQuery = q.Encode()
	s, err := openCourier(ctx, u.String())
	if err != nil {
		return nil, err
	}
	return &courierRabbitSystem{courierSystem: s, ns: ns}, nil
}

func (s *courierRabbitSystem) queue(ctx context.Context, name string) (target, error) {
	t, err := s.courierSystem.queue(ctx, name)
	if err == nil {
		s.mu.Lock()
		s.queues = append(s.queues, name)
		s.mu.Unlock()
	}
	return t, err
}

// close deletes the queues, closes the broker and deletes the
// namespace's catalog stream.
func (s *courierRabbitSystem) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	for _, n := range s.queues {
		err = errors.Join(err, s.b.DeleteQueue(ctx, n))
	}
	err = errors.Join(err, s.b.Close())
	conn, e := amqp.Dial(rabbitMQURL())
	if e != nil {
		return errors.Join(err, e)
	}
	defer conn.Close()
	ch, e := conn.Channel()
	if e == nil {
		_, e = ch.QueueDelete(s.ns+".catalog", false, false, false)
	}
	return errors.Join(err, e)
}
