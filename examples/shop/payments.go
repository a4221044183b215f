package main

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/idempotency"
	"github.com/courier-io/courier/resilience"
)

// payments charges orders: a worker on the payments queue (a queue: each
// payment is work for exactly one worker, retried until it succeeds, and
// dead-lettered when it cannot). It publishes OrderPaid to the order-events
// topic for shipping and puts "Order Paid" on the bus for the audit trail.
type payments struct {
	queue   *courier.Queue // payments: max receives 3, then payments-dlq
	dlq     *courier.Queue // payments-dlq
	events  *courier.Topic // order-events
	bus     *courier.Bus
	gateway *gateway
	store   idempotency.Store // which messages and which charges are done
	tracer  trace.Tracer

	gatewayPolicy *resilience.Policy // timeout and breaker around each charge
	brokerPolicy  *resilience.Policy

	handled atomic.Int64 // calls of handle: a duplicate skipped by handler.Idempotent makes none
}

// Tuning of the payments route: retries are quick so that a failing
// payment reaches the dead-letter queue within a second, which suits a
// demo (a real gateway outage wants minutes: Backoff(time.Second,
// time.Minute) and more receives).
const (
	paymentsConcurrency = 8
	paymentsMaxReceives = 3                  // the queue's: the 4th receive moves a message to payments-dlq
	paymentsRetries     = 2                  // in place, per receive (handler.Retry)
	idempotencyLease    = 30 * time.Second   // bound on one handling (the claim's lease)
	idempotencyTTL      = 7 * 24 * time.Hour // longer than duplicates can arrive
)

// route adds the payments worker to r: each message is handled once per
// order ID (handler.Idempotent: a payment request of a paid order,
// delivered again or sent again past the dedup window, is acked without
// doing anything), retried in place briefly (handler.Retry) and then by
// the queue with a jittered backoff; a payment that fails
// paymentsMaxReceives receives is moved to payments-dlq by the queue
// itself, from where Redrive brings it back.
func (p *payments) route(r *handler.Router) error {
	return r.Handle(handler.Queue(p.queue), handler.HandlerFunc(p.handle),
		handler.Concurrency(paymentsConcurrency),
		handler.Backoff(20*time.Millisecond, 200*time.Millisecond),
		handler.With(
			handler.Idempotent(p.store, idempotencyLease, idempotencyTTL, keyByOrder("payments/")),
			handler.Retry(paymentsRetries, 5*time.Millisecond, 50*time.Millisecond),
		))
}

// keyByOrder returns the idempotency key function of a route: prefix and
// the message's order-id header ("" when missing: handler.Idempotent then
// fails the message as permanent).
func keyByOrder(prefix string) func(*handler.Message) string {
	return func(m *handler.Message) string {
		if id := m.Headers[headerOrderID]; id != "" {
			return prefix + id
		}
		return ""
	}
}

// handle charges one order and announces it. An error makes the message
// come back (see route); a body that is not an order fails permanently.
//
// The charge is an effect that must happen once; the announcements after
// it may be repeated (the topic drops a publish with the same dedup ID,
// the audit trail counts an event once). So the charge has its own
// idempotency record, holding the charge's ID: when a later step fails
// and the message comes back, the retry finds the charge done and only
// announces again. handler.Idempotent around the whole handler cannot do
// that alone: a failure anywhere releases its claim.
func (p *payments) handle(ctx context.Context, m *handler.Message) error {
	p.handled.Add(1)
	o, err := decodeOrder(m.Body)
	if err != nil {
		return handler.Permanent(err)
	}
	annotate(ctx, o.ID)
	chargeID, err := p.charge(ctx, o)
	if err != nil {
		return err
	}
	public := o
	public.Card = ""
	// For shipping: a topic fans OrderPaid out to every warehouse whose
	// filter policy matches its headers. The dedup ID keeps a retry of
	// this handler (say, the bus put below failed) from shipping twice.
	headers := map[string]string{headerOrderID: o.ID, headerRegion: o.Region, headerPriority: o.Priority, headerEvent: statePaid}
	err = brokerCall(ctx, p.brokerPolicy, func(ctx context.Context) error {
		_, err := p.events.Publish(ctx, courier.Message{Body: mustJSON(public), Headers: headers, DedupID: "paid-" + o.ID})
		return err
	})
	if err != nil {
		return err
	}
	return putEvent(ctx, p.bus, p.brokerPolicy, sourcePayments, statePaid, public, func(d *stateDetail) { d.ChargeID = chargeID })
}

// charge charges o once: under an idempotency record of its own
// (claim → charge → record the charge's ID), so a repeated call returns
// the first charge's ID without calling the gateway.
func (p *payments) charge(ctx context.Context, o order) (string, error) {
	id, _, err := idempotency.Do(ctx, p.store, "charge/"+o.ID, idempotencyLease, idempotencyTTL,
		func(ctx context.Context) ([]byte, error) {
			id, err := p.callGateway(ctx, o)
			return []byte(id), err
		})
	return string(id), err
}

// callGateway charges o at the gateway under the gateway policy, in a
// client span of its own.
//
// The gateway's answer about one card (errIssuerUnavailable) is returned
// as the failure but hidden from the policy: the gateway is healthy, and
// its breaker must not stop every other card's charges because of one
// issuer. Timeouts and other errors count for the breaker.
func (p *payments) callGateway(ctx context.Context, o order) (string, error) {
	ctx, span := p.tracer.Start(ctx, "gateway charge", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String(orderIDAttr, o.ID), attribute.Int64("shop.amount_cents", o.AmountCents)))
	defer span.End()
	var id string
	var answer error
	err := p.gatewayPolicy.Do(ctx, func(ctx context.Context) error {
		var err error
		id, err = p.gateway.Charge(ctx, o.ID, o.Card, o.AmountCents)
		if errors.Is(err, errIssuerUnavailable) {
			answer, err = err, nil
		}
		return err
	})
	if err == nil {
		err = answer
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return "", err
	}
	span.SetAttributes(attribute.String("shop.charge_id", id))
	return id, nil
}

// redrive moves every payment in payments-dlq back to the payments queue
// (where the worker gets it with a fresh receive count) and reports how
// many moved. Call it once the cause is fixed.
func (p *payments) redrive(ctx context.Context) (int, error) {
	return p.dlq.Redrive(ctx)
}
