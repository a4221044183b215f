package main

import (
	"context"
	"fmt"
	"io"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/courier-io/courier/internal/config"
)

// newTracerProvider returns the tracer provider of the tracing settings,
// nil when the exporter is none (then nothing is traced and tracing costs
// nothing). Spans are exported in batches; stdout writes them to out.
func newTracerProvider(ctx context.Context, t config.Tracing, version string, out io.Writer) (*sdktrace.TracerProvider, error) {
	var exp sdktrace.SpanExporter
	var err error
	switch t.Exporter {
	case "none":
		return nil, nil
	case "otlp-grpc":
		opts := []otlptracegrpc.Option{}
		if t.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpoint(t.Endpoint))
		}
		if t.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	case "otlp-http":
		opts := []otlptracehttp.Option{}
		if t.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpoint(t.Endpoint))
		}
		if t.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	case "stdout":
		exp, err = stdouttrace.New(stdouttrace.WithWriter(out))
	default:
		return nil, fmt.Errorf("tracing.exporter: %q is not an exporter", t.Exporter)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing.exporter %s: %w", t.Exporter, err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("courier"), semconv.ServiceVersion(version))
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(t.SampleRatio))),
	), nil
}
