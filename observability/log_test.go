package observability_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/courier-io/courier/observability"
)

func TestLogLinesCarryTheTrace(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(observability.LogHandler(slog.NewJSONHandler(&out, nil))).With("svc", "a").WithGroup("g")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	logger.InfoContext(ctx, "in a span", "k", 1)
	span.End()
	logger.InfoContext(context.Background(), "outside")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log:\n%s", out.String())
	}
	want := `"trace_id":"` + span.SpanContext().TraceID().String() + `"`
	if !strings.Contains(lines[0], want) || !strings.Contains(lines[0], `"span_id":"`+span.SpanContext().SpanID().String()) || !strings.Contains(lines[0], `"svc":"a"`) {
		t.Fatalf("line in a span: %s", lines[0])
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Fatalf("line outside a span: %s", lines[1])
	}
}
