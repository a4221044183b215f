package observability_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/observability"
)

// TestOneTraceAcrossServices follows one request through HTTP → service A
// → queue → handler B → topic → handler C → bus rule → stream → handler D
// and checks that it is one trace in which each hop's span is the child of
// the span that produced its message.
func TestOneTraceAcrossServices(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := courier.Open(ctx, "mem://", courier.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	orders := must(b.CreateQueue(ctx, "orders"))(t)
	placed := must(b.CreateTopic(ctx, "placed"))(t)
	billing := must(placed.SubscribeDurable(ctx, "billing", courier.Raw()))(t)
	ledger := must(b.CreateStream(ctx, "ledger"))(t)
	bus := b.Bus(courier.DefaultBus)
	must(bus.PutRule(ctx, "to-ledger", courier.Rule{Pattern: json.RawMessage(`{"source": ["billing"]}`), Targets: []courier.Target{{
		ID: "ledger", Kind: courier.TargetStream, Stream: "ledger",
		InputTransformer: &courier.InputTransformer{InputPaths: map[string]string{"o": "$.detail.order"}, Template: `{"entry": <o>}`},
	}}}))(t)

	// Service A: an HTTP endpoint that queues the order.
	svcA := httptest.NewServer(otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := orders.Send(r.Context(), courier.Message{Body: []byte("o-1")}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}), "POST /orders", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(observability.Propagator),
		otelhttp.WithSpanNameFormatter(func(operation string, _ *http.Request) string { return operation })))
	defer svcA.Close()

	done := make(chan string, 1)
	consumer := must(ledger.Group("d").Join(ctx, "m"))(t)
	r := handler.NewRouter(handler.Use(handler.Tracing(tp)))
	// B: queue → topic.
	_ = r.Handle(handler.Queue(orders), handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
		_, err := placed.Publish(ctx, courier.Message{Body: m.Body})
		return err
	}), handler.PollWait(time.Second))
	// C: topic subscription → bus.
	_ = r.Handle(handler.Subscription(billing), handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
		_, err := bus.PutEvent(ctx, courier.Event{Source: "billing", DetailType: "Charged", Detail: json.RawMessage(`{"order": "` + string(m.Body) + `"}`)})
		return err
	}), handler.PollWait(time.Second))
	// D: stream group, the end of the chain.
	_ = r.Handle(handler.StreamGroup(consumer, "ledger", "d"), handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
		done <- string(m.Body)
		return nil
	}), handler.PollWait(time.Second))
	rctx, stop := context.WithCancel(ctx)
	finished := make(chan error, 1)
	go func() { finished <- r.Run(rctx) }()

	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(observability.Propagator))}
	reqCtx, root := tp.Tracer("test").Start(ctx, "user clicks buy")
	req, _ := http.NewRequestWithContext(reqCtx, http.MethodPost, svcA.URL+"/orders", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	root.End()
	select {
	case body := <-done:
		if body != `{"entry": "o-1"}` {
			t.Fatalf("handler D got %s", body)
		}
	case <-ctx.Done():
		t.Fatal("the order never reached handler D")
	}
	stop()
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
	_ = consumer.Close(ctx)

	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		if s.SpanContext.TraceID() != root.SpanContext().TraceID() {
			continue // e.g. empty polls of other routes
		}
		if _, seen := byName[s.Name]; !seen {
			byName[s.Name] = s
		}
	}
	// Each hop, and the span it must be a child of.
	chain := []struct{ span, parent string }{
		{"user clicks buy", ""},
		{"HTTP POST", "user clicks buy"}, // the client's span
		{"POST /orders", "HTTP POST"},    // service A's server span
		{"send orders", "POST /orders"},
		{"process queue orders", "send orders"},
		{"publish placed", "process queue orders"},
		{"process subscription placed/billing", "publish placed"},
		{"publish default", "process subscription placed/billing"},
		{"process stream ledger/d", "publish default"},
	}
	for _, hop := range chain {
		s, ok := byName[hop.span]
		if !ok {
			names := []string{}
			for n := range byName {
				names = append(names, n)
			}
			t.Fatalf("no span %q in the trace (have %q)", hop.span, names)
		}
		if hop.parent == "" {
			continue
		}
		if p := byName[hop.parent]; s.Parent.SpanID() != p.SpanContext.SpanID() {
			t.Fatalf("span %q has parent %s; want %q (%s)", hop.span, s.Parent.SpanID(), hop.parent, p.SpanContext.SpanID())
		}
	}
	// A receive is a trace of its own (a poll serves many producers), linked
	// to the producer of each message it got.
	linked := false
	for _, s := range spans {
		if s.Name == "receive orders" && linksTo(s, byName["send orders"].SpanContext) {
			linked = true
		}
	}
	if !linked {
		t.Fatal("no receive of orders links to its send")
	}
}
