package main

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier"
)

// The broker's resources, by name.
const (
	paymentsQueueName = "payments"         // payment requests: one worker each
	paymentsDLQName   = "payments-dlq"     // payments that failed paymentsMaxReceives receives
	eventsTopicName   = "order-events"     // OrderPaid, fanned out to the warehouses
	ordersStreamName  = "orders"           // OrderPlaced records, for analytics and replay
	auditQueueName    = "audit"            // audit entries, filled by the bus rule
	idempotencyStream = "shop-idempotency" // the idempotency store of payments and shipping
	ordersPartitions  = 4
)

// topology holds the resources the services share.
type topology struct {
	payments, paymentsDLQ, audit *courier.Queue
	events                       *courier.Topic
	orders                       *courier.Stream
	bus                          *courier.Bus
}

// declare creates the shop's resources on b, or finds them as they are
// (every call is idempotent), so the shop restarts on its own data
// directory or shares a courier server: queues with their dead-letter
// queue, the topic with one filtered durable subscription per warehouse,
// the stream, and the bus rule of the audit trail.
func declare(ctx context.Context, b *courier.Broker) (topology, error) {
	var t topology
	var err error
	if t.paymentsDLQ, err = b.CreateQueue(ctx, paymentsDLQName, courier.Retention(14*24*time.Hour)); err != nil {
		return t, err
	}
	// A payment is invisible to other workers for 30s while one works on
	// it (the handler runtime extends that while the work goes on); the
	// receive after paymentsMaxReceives moves it to the dead-letter queue.
	t.payments, err = b.CreateQueue(ctx, paymentsQueueName, courier.VisibilityTimeout(30*time.Second),
		courier.DeadLetter(paymentsDLQName, paymentsMaxReceives))
	if err != nil {
		return t, err
	}
	if t.audit, err = b.CreateQueue(ctx, auditQueueName); err != nil {
		return t, err
	}
	if t.events, err = b.CreateTopic(ctx, eventsTopicName); err != nil {
		return t, err
	}
	for _, w := range warehouses {
		// Raw: the warehouse gets the published body and headers as they
		// are, not the topic's JSON envelope.
		if _, err := t.events.SubscribeDurable(ctx, w.name, courier.Filter(w.filter), courier.Raw()); err != nil {
			return t, err
		}
	}
	if t.orders, err = b.CreateStream(ctx, ordersStreamName, courier.Partitions(ordersPartitions)); err != nil {
		return t, err
	}
	t.bus = b.Bus(courier.DefaultBus)
	if _, err := t.bus.PutRule(ctx, auditRuleName, auditRule(auditQueueName)); err != nil {
		return t, fmt.Errorf("bus %s: %w", courier.DefaultBus, err)
	}
	return t, nil
}
