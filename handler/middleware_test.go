package handler_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/idempotency"
	"github.com/courier-io/courier/resilience"
)

func TestChainOrder(t *testing.T) {
	var order []string
	mw := func(name string) handler.Middleware {
		return func(next handler.Handler) handler.Handler {
			return handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
				order = append(order, name+">")
				err := next.Handle(ctx, m)
				order = append(order, "<"+name)
				return err
			})
		}
	}
	h := handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error {
		order = append(order, "h")
		return nil
	}), mw("a"), mw("b"))
	if err := h.Handle(context.Background(), &handler.Message{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, " "); got != "a> b> h <b <a" {
		t.Fatalf("order %q", got)
	}
}

func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := handler.Chain(handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			<-ctx.Done()
			return ctx.Err()
		}), handler.Timeout(3*time.Second))
		start := time.Now()
		err := h.Handle(context.Background(), &handler.Message{})
		if !errors.Is(err, handler.ErrHandlerTimeout) || time.Since(start) != 3*time.Second {
			t.Fatalf("err %v after %v; want ErrHandlerTimeout after 3s", err, time.Since(start))
		}
	})
}

func TestRetryMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		h := handler.Chain(handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			calls++
			if calls < 3 {
				return errors.New("glitch")
			}
			return nil
		}), handler.Retry(5, 10*time.Millisecond, time.Second))
		start := time.Now()
		if err := h.Handle(context.Background(), &handler.Message{}); err != nil || calls != 3 {
			t.Fatalf("err %v after %d calls", err, calls)
		}
		if waited := time.Since(start); waited > 30*time.Millisecond {
			t.Fatalf("waited %v; the full-jitter ceilings were 10ms and 20ms", waited)
		}
		calls = 0
		h = handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error {
			calls++
			return handler.Permanent(errors.New("bad input"))
		}), handler.Retry(5, time.Millisecond, time.Millisecond))
		if err := h.Handle(context.Background(), &handler.Message{}); !handler.IsPermanent(err) || calls != 1 {
			t.Fatalf("permanent error retried: %v after %d calls", err, calls)
		}
	})
}

func TestThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error { return nil }), handler.Throttle(10, 1))
		start := time.Now()
		for range 21 {
			if err := h.Handle(context.Background(), &handler.Message{}); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("21 calls at 10/s with burst 1 took %v; want 2s", d)
		}
	})
}

func TestMetricsAndLogging(t *testing.T) {
	var counters handler.Counters
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := handler.Chain(handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
		if m.ID == "bad" {
			return errors.New("boom")
		}
		return nil
	}), handler.Metrics(&counters), handler.Logging(logger))
	_ = h.Handle(context.Background(), &handler.Message{ID: "ok", Source: "queue q"})
	_ = h.Handle(context.Background(), &handler.Message{ID: "bad", Source: "queue q"})
	if c := counters.Get("queue q"); c.Handled != 1 || c.Failed != 1 {
		t.Fatalf("counts %+v", c)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "msg_id=bad") || !strings.Contains(logs.String(), "err=boom") || !strings.Contains(logs.String(), "level=DEBUG msg=handled") {
		t.Fatalf("logs:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestTracingContinuesTheProducersTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	// The producer's span, carried in the message headers.
	pctx, producer := tp.Tracer("test").Start(context.Background(), "send")
	headers := map[string]string{}
	propagation.TraceContext{}.Inject(pctx, propagation.MapCarrier(headers))
	producer.End()

	h := handler.Chain(handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
		return errors.New("declined")
	}), handler.Tracing(tp))
	_ = h.Handle(context.Background(), &handler.Message{ID: "m1", Source: "queue orders", Headers: headers, Attempt: 2})
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans; want the producer's and the consumer's", len(spans))
	}
	consumer := spans[1]
	if consumer.Name != "process queue orders" || consumer.Parent.SpanID() != producer.SpanContext().SpanID() ||
		consumer.SpanContext.TraceID() != producer.SpanContext().TraceID() || consumer.Status.Description != "declined" {
		t.Fatalf("consumer span %+v", consumer)
	}
	attrs := map[string]string{}
	for _, a := range consumer.Attributes {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs["messaging.system"] != "courier" || attrs["messaging.message.id"] != "m1" || attrs["messaging.operation.type"] != "process" {
		t.Fatalf("attributes %v", attrs)
	}
}

func TestIdempotentRunsTheEffectOnce(t *testing.T) {
	store := idempotency.NewMemory()
	calls := 0
	h := handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error {
		calls++
		return nil
	}), handler.Idempotent(store, time.Minute, time.Hour, func(m *handler.Message) string { return m.Headers["order"] }))
	for range 3 { // the same order delivered three times
		if err := h.Handle(context.Background(), &handler.Message{ID: "x", Headers: map[string]string{"order": "o-1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("effect ran %d times; want once", calls)
	}
	failing := handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error { return errors.New("db down") }),
		handler.Idempotent(store, time.Minute, time.Hour, nil))
	if err := failing.Handle(context.Background(), &handler.Message{ID: "m-2"}); err == nil {
		t.Fatal("a failing handler's error was swallowed")
	}
	calls = 0
	retry := handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error { calls++; return nil }),
		handler.Idempotent(store, time.Minute, time.Hour, nil))
	if err := retry.Handle(context.Background(), &handler.Message{ID: "m-2"}); err != nil || calls != 1 {
		t.Fatalf("after a failure the key must be free again: %v, %d calls", err, calls)
	}
	if err := h.Handle(context.Background(), &handler.Message{ID: "y"}); !handler.IsPermanent(err) {
		t.Fatalf("a message without a key = %v; want a permanent failure", err)
	}
}

func TestDeadlineTravelsWithTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got time.Time
		called := 0
		h := handler.Chain(handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			called++
			got, _ = ctx.Deadline()
			return nil
		}), handler.Deadline())
		by := time.Now().Add(3 * time.Second)
		m := &handler.Message{Headers: map[string]string{handler.HeaderReplyBy: by.UTC().Format(time.RFC3339Nano)}}
		if err := h.Handle(context.Background(), m); err != nil || !got.Equal(by) {
			t.Fatalf("deadline %v (%v); want %v", got, err, by)
		}
		time.Sleep(4 * time.Second)
		if err := h.Handle(context.Background(), m); err != nil || called != 1 {
			t.Fatalf("an expired request was worked on (%d calls, %v)", called, err)
		}
		bad := &handler.Message{Headers: map[string]string{handler.HeaderReplyBy: "soon"}}
		if err := h.Handle(context.Background(), bad); !handler.IsPermanent(err) {
			t.Fatalf("a garbled deadline = %v; want a permanent failure", err)
		}
	})
}

func TestResilient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 3, MinDelay: time.Millisecond, MaxDelay: time.Millisecond}),
			resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 3, OpenFor: time.Minute}))
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		flaky := handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error {
			calls++
			if calls < 3 {
				return errors.New("glitch")
			}
			return nil
		}), handler.Resilient(p))
		if err := flaky.Handle(context.Background(), &handler.Message{}); err != nil || calls != 3 {
			t.Fatalf("err %v after %d calls; want success on the third", err, calls)
		}
		calls = 0
		poison := handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error {
			calls++
			return handler.Permanent(errors.New("bad input"))
		}), handler.Resilient(p))
		if err := poison.Handle(context.Background(), &handler.Message{}); !handler.IsPermanent(err) || calls != 1 {
			t.Fatalf("permanent failure: %v after %d calls", err, calls)
		}
		down := handler.Chain(handler.HandlerFunc(func(context.Context, *handler.Message) error { return errors.New("down") }), handler.Resilient(p))
		_ = down.Handle(context.Background(), &handler.Message{})
		if err := down.Handle(context.Background(), &handler.Message{}); !errors.Is(err, resilience.ErrCircuitOpen) || handler.IsPermanent(err) {
			t.Fatalf("with the breaker open: %v; want ErrCircuitOpen, not permanent", err)
		}
	})
}
