package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// newTracerProvider returns an OpenTelemetry SDK tracer provider that
// writes one line per span to stdout (when stdout is not nil) and exports
// to an OTLP/HTTP collector at otlpURL (when not empty, e.g.
// http://localhost:4318 for Jaeger; the path /v1/traces is added when the
// URL has none), or nil when neither is asked for. Shut it down to flush
// the spans.
func newTracerProvider(ctx context.Context, stdout io.Writer, otlpURL string) (*sdktrace.TracerProvider, error) {
	var opts []sdktrace.TracerProviderOption
	if stdout != nil {
		opts = append(opts, sdktrace.WithSyncer(&spanLines{w: stdout}))
	}
	if otlpURL != "" {
		u, err := url.Parse(otlpURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("-otlp %q: want a URL such as http://localhost:4318", otlpURL)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()))
		if err != nil {
			return nil, fmt.Errorf("-otlp %s: %w", otlpURL, err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	if len(opts) == 0 {
		return nil, nil
	}
	opts = append(opts, sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("shop"))))
	return sdktrace.NewTracerProvider(opts...), nil
}

// spanLines is a span exporter that writes one line per span, so that an
// order's trace can be followed with grep:
//
//	span trace=4bf9… span=00f0… parent=a1b2… kind=consumer dur=412µs order=ord-1 name="process queue payments"
type spanLines struct {
	mu sync.Mutex
	w  io.Writer
}

// ExportSpans writes the spans' lines.
func (e *spanLines) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		parent := "-"
		if s.Parent().IsValid() {
			parent = s.Parent().SpanID().String()
		}
		order := "-"
		for _, kv := range s.Attributes() {
			if kv.Key == orderIDAttr {
				order = kv.Value.AsString()
			}
		}
		status := ""
		if s.Status().Code == codes.Error {
			status = fmt.Sprintf(" error=%q", s.Status().Description)
		}
		if _, err := fmt.Fprintf(e.w, "span trace=%s span=%s parent=%s kind=%s dur=%v order=%s name=%q%s\n",
			s.SpanContext().TraceID(), s.SpanContext().SpanID(), parent, s.SpanKind(),
			s.EndTime().Sub(s.StartTime()).Round(time.Microsecond), order, s.Name(), status); err != nil {
			return err
		}
	}
	return nil
}

// Shutdown does nothing: the writer is the caller's.
func (e *spanLines) Shutdown(context.Context) error { return nil }
