package observability_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/observability"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// spanNamed returns the ended span called name.
func spanNamed(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q among %d", name, len(exp.GetSpans()))
	return tracetest.SpanStub{}
}

// linksTo reports whether s links to the span of sc.
func linksTo(s tracetest.SpanStub, sc trace.SpanContext) bool {
	for _, l := range s.Links {
		if l.SpanContext.SpanID() == sc.SpanID() && l.SpanContext.TraceID() == sc.TraceID() {
			return true
		}
	}
	return false
}

// TestTraceContextCrossesEveryPattern sends through a queue, a topic to a
// durable subscription, a bus rule to a queue target, and a stream, and
// checks that each receive span links to its producer's span and that the
// delivered headers carry the producer's trace.
func TestTraceContextCrossesEveryPattern(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://", courier.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	q := must(b.CreateQueue(ctx, "orders"))(t)
	tp1 := must(b.CreateTopic(ctx, "events"))(t)
	sub := must(tp1.SubscribeDurable(ctx, "audit", courier.Raw()))(t)
	st := must(b.CreateStream(ctx, "clicks"))(t)
	target := must(b.CreateQueue(ctx, "from-bus"))(t)
	bus := b.Bus(courier.DefaultBus)
	must(bus.PutRule(ctx, "r", courier.Rule{Pattern: json.RawMessage(`{"source": ["shop"]}`), Targets: []courier.Target{{ID: "q", Kind: courier.TargetQueue, Queue: "from-bus",
		InputTransformer: &courier.InputTransformer{InputPaths: map[string]string{"n": "$.detail.n"}, Template: `{"n": <n>}`}}}}))(t)

	// Every producer call runs inside an application span.
	app, root := tp.Tracer("app").Start(ctx, "handle request")
	must(q.Send(app, courier.Message{Body: []byte("o1")}))(t)
	must(tp1.Publish(app, courier.Message{Body: []byte("e1")}))(t)
	must(st.Append(app, courier.Record{Value: []byte("c1"), Partition: courier.AnyPartition}))(t)
	must(bus.PutEvent(app, courier.Event{Source: "shop", DetailType: "x", Detail: json.RawMessage(`{"n": 7}`)}))(t)
	root.End()

	check := func(name, producer string, headers map[string]string) {
		t.Helper()
		p := spanNamed(t, exp, producer)
		if p.Parent.SpanID() != root.SpanContext().SpanID() {
			t.Fatalf("%s is not a child of the application span", producer)
		}
		r := spanNamed(t, exp, name)
		if !linksTo(r, p.SpanContext) {
			t.Fatalf("%s does not link to %s (links %v)", name, producer, r.Links)
		}
		got := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier(headers)))
		if got.TraceID() != root.SpanContext().TraceID() {
			t.Fatalf("%s: the delivered headers %v do not carry the producer's trace", name, headers)
		}
	}
	ds := must(q.Receive(ctx, courier.Wait(time.Second)))(t)
	check("receive orders", "send orders", ds[0].Headers)
	ds = must(sub.Receive(ctx, courier.Wait(time.Second)))(t)
	check("receive events/audit", "publish events", ds[0].Headers)
	recs, _ := must2(st.Read(ctx, 0, courier.Earliest()))(t)
	check("receive clicks", "send clicks", recs[0].Headers)
	ds = must(target.Receive(ctx, courier.Wait(time.Second)))(t)
	if string(ds[0].Body) != `{"n": 7}` {
		t.Fatalf("bus target got %s", ds[0].Body)
	}
	check("receive from-bus", "publish default", ds[0].Headers)
}

// TestInjectKeepsTheCallersMap checks that injecting never modifies the
// caller's headers and adds nothing without a span.
func TestInjectKeepsTheCallersMap(t *testing.T) {
	h := map[string]string{"a": "b"}
	if got := observability.Inject(context.Background(), h); len(got) != 1 {
		t.Fatalf("without a span Inject added %v", got)
	}
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	defer span.End()
	got := observability.Inject(ctx, h)
	if got["traceparent"] == "" || len(h) != 1 {
		t.Fatalf("inject: %v, caller's map now %v", got, h)
	}
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func must2[A, B any](a A, b B, err error) func(t *testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// TestSettleSpansAndCarriedParent checks the settle spans (ack, nack,
// commit) and that a send without a span in its context takes its parent
// from the traceparent the message carries.
func TestSettleSpansAndCarriedParent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	ctx := context.Background()
	b, err := courier.Open(ctx, "mem://", courier.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	q := must(b.CreateQueue(ctx, "orders"))(t)

	// A producer elsewhere (a WebSocket client, say) set the trace context
	// in the message's headers.
	remote, span := tp.Tracer("client").Start(ctx, "client work")
	carried := observability.Inject(remote, nil)
	span.End()
	must(q.Send(ctx, courier.Message{Body: []byte("a"), Headers: carried}))(t)
	send := spanNamed(t, exp, "send orders")
	if send.Parent.SpanID() != span.SpanContext().SpanID() || send.SpanContext.TraceID() != span.SpanContext().TraceID() {
		t.Fatalf("the send's parent is %v; want the carried span %v", send.Parent.SpanID(), span.SpanContext().SpanID())
	}

	must(q.Send(ctx, courier.Message{Body: []byte("b")}))(t)
	ds := must(q.Receive(ctx, courier.Max(2)))(t)
	if len(ds) != 2 {
		t.Fatalf("received %d", len(ds))
	}
	if err := ds[0].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ds[1].Nack(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ack orders", "nack orders"} {
		s := spanNamed(t, exp, name)
		if s.SpanKind != trace.SpanKindClient || !hasAttr(s, "messaging.operation.type", "settle") {
			t.Errorf("%s: kind %v, attributes %v", name, s.SpanKind, s.Attributes)
		}
	}
	st := must(b.CreateStream(ctx, "clicks"))(t)
	must(st.Append(ctx, courier.Record{Value: []byte("c"), Partition: courier.AnyPartition}))(t)
	c := must(st.Group("g").Join(ctx, "m"))(t)
	must(c.Poll(ctx, 10, 0))(t)
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if s := spanNamed(t, exp, "commit clicks"); !hasAttr(s, "messaging.consumer.group.name", "g") {
		t.Errorf("commit span attributes %v", s.Attributes)
	}
}

// hasAttr reports whether s has the string attribute key = value.
func hasAttr(s tracetest.SpanStub, key, value string) bool {
	for _, a := range s.Attributes {
		if string(a.Key) == key && a.Value.AsString() == value {
			return true
		}
	}
	return false
}
