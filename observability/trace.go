// Package observability instruments courier: OpenTelemetry spans for every
// produce and consume call of a backend, with W3C trace context (traceparent,
// tracestate, baggage) carried in message headers, so that a message's
// consumers join its producer's trace across queues, topics, streams and
// buses — the engine carries headers through fan-out, bus rules and targets,
// dead-letter moves, redrives and archive replays.
//
// Use it through courier.Open with courier.WithTracerProvider; without that
// option no wrapper exists and tracing costs nothing.
package observability

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/courier-io/courier/driver"
)

// scope is the instrumentation scope of courier's spans.
const scope = "github.com/courier-io/courier"

// Propagator reads and writes W3C trace context and baggage in message
// headers.
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Headers adapts message headers to propagation.TextMapCarrier.
type Headers map[string]string

// Get returns the header k.
func (h Headers) Get(k string) string { return h[k] }

// Set sets the header k.
func (h Headers) Set(k, v string) { h[k] = v }

// Keys lists the headers.
func (h Headers) Keys() []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	return out
}

// Inject returns a copy of headers with ctx's trace context added (the
// original map is not modified; nil when there is nothing to carry).
func Inject(ctx context.Context, headers map[string]string) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() && baggage.FromContext(ctx).Len() == 0 {
		return headers
	}
	out := make(Headers, len(headers)+3)
	for k, v := range headers {
		out[k] = v
	}
	Propagator.Inject(ctx, out)
	return out
}

// Extract returns ctx with the trace context carried by headers.
func Extract(ctx context.Context, headers map[string]string) context.Context {
	if len(headers) == 0 {
		return ctx
	}
	return Propagator.Extract(ctx, Headers(headers))
}

// Trace wraps conn so that its produce and consume calls make spans
// (OpenTelemetry messaging conventions: "send"/"publish" producer spans
// whose context every message carries, "receive" client spans linked to
// each received message's producer span); system names the backend in
// messaging.system. Other calls pass through.
func Trace(conn driver.Conn, tp trace.TracerProvider, system string) driver.Conn {
	t := &traced{Conn: conn, tracer: tp.Tracer(scope), system: system}
	t.Queues, _ = conn.(driver.Queues)
	t.Topics, _ = conn.(driver.Topics)
	t.Streams, _ = conn.(driver.Streams)
	t.Buses, _ = conn.(driver.Buses)
	return t
}

// traced is a traced connection; the embedded interfaces pass the
// untraced calls through (a nil one is never called: the connection's
// capabilities exclude it).
type traced struct {
	driver.Conn
	driver.Queues
	driver.Topics
	driver.Streams
	driver.Buses
	tracer trace.Tracer
	system string
}

// produce starts a producer span for op on destination. When ctx holds
// no span but the first message carries a trace context (a client that
// set traceparent in the message's headers: WebSocket and AWS-compatible
// producers), that context is the parent.
func (t *traced) produce(ctx context.Context, op, kind, destination string, n int, carried map[string]string) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() && carried["traceparent"] != "" {
		ctx = Extract(ctx, carried)
	}
	return t.tracer.Start(ctx, op+" "+destination, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		attribute.String("messaging.system", t.system),
		attribute.String("messaging.operation.type", op),
		attribute.String("messaging.operation.name", op),
		attribute.String("messaging.destination.name", destination),
		attribute.String("messaging.courier.destination.kind", kind),
		attribute.Int("messaging.batch.message_count", n),
	))
}

// consumed records a receive of msgs on destination: a span linked to
// each message's producer span.
func (t *traced) consumed(ctx context.Context, kind, destination string, start time.Time, headers []map[string]string, ids []string, err error) {
	links := make([]trace.Link, 0, len(headers))
	for i, h := range headers {
		sc := trace.SpanContextFromContext(Extract(context.Background(), h))
		if sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("messaging.message.id", ids[i])}})
		}
	}
	_, span := t.tracer.Start(ctx, "receive "+destination, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start), trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.String("messaging.system", t.system),
			attribute.String("messaging.operation.type", "receive"),
			attribute.String("messaging.operation.name", "receive"),
			attribute.String("messaging.destination.name", destination),
			attribute.String("messaging.courier.destination.kind", kind),
			attribute.Int("messaging.batch.message_count", len(headers)),
		))
	end(span, err)
}

func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// firstHeaders returns the headers of the first message, nil for none.
func firstHeaders(msgs []driver.Message) map[string]string {
	if len(msgs) == 0 {
		return nil
	}
	return msgs[0].Headers
}

// settle traces a settlement (ack, nack, extend, commit) of n deliveries
// of destination: a client span as the messaging conventions name it.
func (t *traced) settle(ctx context.Context, op, kind, destination string, n int) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, op+" "+destination, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("messaging.system", t.system),
		attribute.String("messaging.operation.type", "settle"),
		attribute.String("messaging.operation.name", op),
		attribute.String("messaging.destination.name", destination),
		attribute.String("messaging.courier.destination.kind", kind),
		attribute.Int("messaging.batch.message_count", n),
	))
}

// Ack traces an ack of queue deliveries.
func (t *traced) Ack(ctx context.Context, queue string, receipts []string) ([]error, error) {
	ctx, span := t.settle(ctx, "ack", "queue", queue, len(receipts))
	errs, err := t.Queues.Ack(ctx, queue, receipts)
	end(span, err)
	return errs, err
}

// ChangeVisibility traces a nack (d = 0) or an extend of queue deliveries.
func (t *traced) ChangeVisibility(ctx context.Context, queue string, receipts []string, d time.Duration) ([]error, error) {
	ctx, span := t.settle(ctx, settleOp(d), "queue", queue, len(receipts))
	errs, err := t.Queues.ChangeVisibility(ctx, queue, receipts, d)
	end(span, err)
	return errs, err
}

// AckSubscription traces an ack of a durable subscription's deliveries.
func (t *traced) AckSubscription(ctx context.Context, topic, name string, receipts []string) ([]error, error) {
	ctx, span := t.settle(ctx, "ack", "subscription", topic+"/"+name, len(receipts))
	errs, err := t.Topics.AckSubscription(ctx, topic, name, receipts)
	end(span, err)
	return errs, err
}

// ChangeSubscriptionVisibility traces a nack or extend of a durable
// subscription's deliveries.
func (t *traced) ChangeSubscriptionVisibility(ctx context.Context, topic, name string, receipts []string, d time.Duration) ([]error, error) {
	ctx, span := t.settle(ctx, settleOp(d), "subscription", topic+"/"+name, len(receipts))
	errs, err := t.Topics.ChangeSubscriptionVisibility(ctx, topic, name, receipts, d)
	end(span, err)
	return errs, err
}

// SettleTarget traces the settlement of a handler target's delivery.
func (t *traced) SettleTarget(ctx context.Context, bus, rule, target, receipt, failure string) error {
	op := "ack"
	if failure != "" {
		op = "nack"
	}
	ctx, span := t.settle(ctx, op, "bus-target", bus+"/"+rule+"/"+target, 1)
	err := t.Buses.SettleTarget(ctx, bus, rule, target, receipt, failure)
	end(span, err)
	return err
}

// Commit traces a consumer group's commit of offsets.
func (t *traced) Commit(ctx context.Context, stream, group, member string, generation int64, offsets map[int]int64) error {
	ctx, span := t.settle(ctx, "commit", "stream", stream, len(offsets))
	span.SetAttributes(attribute.String("messaging.consumer.group.name", group))
	err := t.Streams.Commit(ctx, stream, group, member, generation, offsets)
	end(span, err)
	return err
}

// settleOp names a visibility change: a nack at 0, an extend otherwise.
func settleOp(d time.Duration) string {
	if d == 0 {
		return "nack"
	}
	return "extend"
}

// injected returns msgs with ctx's trace context in their headers.
func injected(ctx context.Context, msgs []driver.Message) []driver.Message {
	out := make([]driver.Message, len(msgs))
	for i, m := range msgs {
		m.Headers = Inject(ctx, m.Headers)
		out[i] = m
	}
	return out
}

// Send traces a send to a queue.
func (t *traced) Send(ctx context.Context, queue string, msgs []driver.Message) ([]driver.SendResult, error) {
	ctx, span := t.produce(ctx, "send", "queue", queue, len(msgs), firstHeaders(msgs))
	res, err := t.Queues.Send(ctx, queue, injected(ctx, msgs))
	end(span, err)
	return res, err
}

// Publish traces a publish to a topic.
func (t *traced) Publish(ctx context.Context, topic string, msgs []driver.Message) ([]driver.SendResult, error) {
	ctx, span := t.produce(ctx, "publish", "topic", topic, len(msgs), firstHeaders(msgs))
	res, err := t.Topics.Publish(ctx, topic, injected(ctx, msgs))
	end(span, err)
	return res, err
}

// Append traces an append to a stream.
func (t *traced) Append(ctx context.Context, stream string, recs []driver.Record) ([]driver.AppendResult, error) {
	var carried map[string]string
	if len(recs) > 0 {
		carried = recs[0].Headers
	}
	ctx, span := t.produce(ctx, "send", "stream", stream, len(recs), carried)
	out := make([]driver.Record, len(recs))
	for i, r := range recs {
		r.Headers = Inject(ctx, r.Headers)
		out[i] = r
	}
	res, err := t.Streams.Append(ctx, stream, out)
	end(span, err)
	return res, err
}

// PutEvents traces a put on a bus.
func (t *traced) PutEvents(ctx context.Context, bus string, events []driver.Event) ([]driver.PutEventsResult, error) {
	var carried map[string]string
	if len(events) > 0 {
		carried = events[0].Headers
	}
	ctx, span := t.produce(ctx, "publish", "bus", bus, len(events), carried)
	out := make([]driver.Event, len(events))
	for i, ev := range events {
		ev.Headers = Inject(ctx, ev.Headers)
		out[i] = ev
	}
	res, err := t.Buses.PutEvents(ctx, bus, out)
	end(span, err)
	return res, err
}

// deliveries traces a receive of deliveries.
func (t *traced) deliveries(ctx context.Context, kind, destination string, start time.Time, ds []driver.Delivery, err error) {
	if err == nil && len(ds) == 0 {
		return // an empty long poll is not worth a span
	}
	headers := make([]map[string]string, len(ds))
	ids := make([]string, len(ds))
	for i, d := range ds {
		headers[i], ids[i] = d.Headers, d.ID
	}
	t.consumed(ctx, kind, destination, start, headers, ids, err)
}

// Receive traces a receive from a queue.
func (t *traced) Receive(ctx context.Context, queue string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	start := time.Now()
	ds, err := t.Queues.Receive(ctx, queue, req)
	t.deliveries(ctx, "queue", queue, start, ds, err)
	return ds, err
}

// ReceiveSubscription traces a receive from a durable subscription.
func (t *traced) ReceiveSubscription(ctx context.Context, topic, name string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	start := time.Now()
	ds, err := t.Topics.ReceiveSubscription(ctx, topic, name, req)
	t.deliveries(ctx, "subscription", topic+"/"+name, start, ds, err)
	return ds, err
}

// ReceiveTarget traces a receive from a bus handler target.
func (t *traced) ReceiveTarget(ctx context.Context, bus, rule, target string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	start := time.Now()
	ds, err := t.Buses.ReceiveTarget(ctx, bus, rule, target, req)
	t.deliveries(ctx, "bus", bus+"/"+rule+"/"+target, start, ds, err)
	return ds, err
}

// records traces a read of stream records.
func (t *traced) records(ctx context.Context, destination string, start time.Time, recs []driver.StreamRecord, err error) {
	if err == nil && len(recs) == 0 {
		return
	}
	headers := make([]map[string]string, len(recs))
	ids := make([]string, len(recs))
	for i, r := range recs {
		headers[i] = r.Headers
		ids[i] = destination
	}
	t.consumed(ctx, "stream", destination, start, headers, ids, err)
}

// Read traces a read of a stream partition.
func (t *traced) Read(ctx context.Context, stream string, req driver.StreamReadRequest) (driver.StreamReadResult, error) {
	start := time.Now()
	res, err := t.Streams.Read(ctx, stream, req)
	t.records(ctx, stream, start, res.Records, err)
	return res, err
}

// Poll traces a consumer group poll.
func (t *traced) Poll(ctx context.Context, stream, group, member string, max int, wait time.Duration) ([]driver.StreamRecord, driver.Assignment, error) {
	start := time.Now()
	recs, a, err := t.Streams.Poll(ctx, stream, group, member, max, wait)
	t.records(ctx, stream+"/"+group, start, recs, err)
	return recs, a, err
}

var (
	_ driver.Queues  = (*traced)(nil)
	_ driver.Topics  = (*traced)(nil)
	_ driver.Streams = (*traced)(nil)
	_ driver.Buses   = (*traced)(nil)
)
