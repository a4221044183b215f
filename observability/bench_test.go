package observability_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/courier-io/courier"
)

// BenchmarkSend measures a mem:// send without tracing (no wrapper: the
// default), with a no-op tracer provider, and with the SDK recording every
// span, so the cost of tracing is visible per message.
func BenchmarkSend(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []courier.Option
	}{
		{"off", nil},
		{"noop", []courier.Option{courier.WithTracerProvider(noop.NewTracerProvider())}},
		{"sdk", []courier.Option{courier.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter())))}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			br, err := courier.Open(ctx, "mem://", c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			q, err := br.CreateQueue(ctx, "q")
			if err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 1024)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := q.Send(ctx, courier.Message{Body: body}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
