package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// DefaultMiddleware is the chain most routes want: Recover, so that a
// panicking handler fails its message instead of the process, and
// Deadline, so that a request nobody waits for any more is not worked on.
func DefaultMiddleware() []Middleware { return []Middleware{Recover(), Deadline()} }

// Deadline gives the handler of a request (a message with HeaderReplyBy,
// sent by a Requester) a context that ends when the requester stops
// waiting, so the deadline travels with the request and every call the
// handler makes inherits what is left of it. A request whose deadline has
// passed is settled without calling the handler: nobody would read the
// reply.
func Deadline() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			raw := m.Headers[HeaderReplyBy]
			if raw == "" {
				return next.Handle(ctx, m)
			}
			by, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return Permanent(fmt.Errorf("handler: header %s: %q is not an RFC 3339 time", HeaderReplyBy, raw))
			}
			if !time.Now().Before(by) {
				return nil // expired: the requester gave up
			}
			ctx, cancel := context.WithDeadline(ctx, by)
			defer cancel()
			return next.Handle(ctx, m)
		})
	}
}

// Recover turns a panic in the handler into an error (with the stack), so
// the message is retried and, if it keeps panicking, dead-lettered.
func Recover() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
				}
			}()
			return next.Handle(ctx, m)
		})
	}
}

// ErrHandlerTimeout is the failure of a handler that ran past Timeout.
var ErrHandlerTimeout = errors.New("handler timed out")

// Timeout gives the handler a context that ends after d; a handler still
// running then fails with ErrHandlerTimeout (once it returns).
func Timeout(d time.Duration) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			ctx, cancel := context.WithTimeoutCause(ctx, d, ErrHandlerTimeout)
			defer cancel()
			err := next.Handle(ctx, m)
			if err != nil && errors.Is(context.Cause(ctx), ErrHandlerTimeout) {
				return fmt.Errorf("%w after %v: %w", ErrHandlerTimeout, d, err)
			}
			return err
		})
	}
}

// Retry retries a failing handler in place up to attempts times in all,
// waiting a full-jitter backoff between min and max, before the failure
// goes back to the source (which redelivers later). Permanent errors are
// not retried. Use it for brief glitches; the source's own retries (with
// their longer backoff and the dead-letter queue) handle the rest.
func Retry(attempts int, min, max time.Duration) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			var err error
			for i := 1; ; i++ {
				if err = next.Handle(ctx, m); err == nil || IsPermanent(err) || i >= attempts {
					return err
				}
				if !sleep(ctx, fullJitter(min, max, i)) {
					return err
				}
			}
		})
	}
}

// Logging logs every processed message at debug level and every failure
// at warn level, with its source, ID, attempt and duration.
func Logging(l *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			start := time.Now()
			err := next.Handle(ctx, m)
			attrs := []any{"source", m.Source, "msg_id", m.ID, "attempt", m.Attempt, "duration", time.Since(start)}
			if err != nil {
				l.WarnContext(ctx, "handler failed", append(attrs, "err", err)...)
			} else {
				l.DebugContext(ctx, "handled", attrs...)
			}
			return err
		})
	}
}

// Throttle limits how many messages per second the handler starts (with a
// burst), waiting for its turn; shared by every route it wraps.
func Throttle(perSecond float64, burst int) Middleware {
	lim := rate.NewLimiter(rate.Limit(perSecond), burst)
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			if err := lim.Wait(ctx); err != nil {
				return fmt.Errorf("throttled: %w", err)
			}
			return next.Handle(ctx, m)
		})
	}
}

// Observer receives the outcome of every handled message (for metrics).
type Observer interface {
	Observe(source string, d time.Duration, err error)
}

// Metrics reports each message's duration and outcome to o.
func Metrics(o Observer) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			start := time.Now()
			err := next.Handle(ctx, m)
			o.Observe(m.Source, time.Since(start), err)
			return err
		})
	}
}

// Counters is an Observer that counts outcomes per source.
type Counters struct {
	mu sync.Mutex
	by map[string]*Count
}

// Count is the outcomes of one source.
type Count struct {
	Handled, Failed int64
	Total           time.Duration // summed handler time
}

// Observe counts one outcome.
func (c *Counters) Observe(source string, d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string]*Count{}
	}
	n := c.by[source]
	if n == nil {
		n = &Count{}
		c.by[source] = n
	}
	if err != nil {
		n.Failed++
	} else {
		n.Handled++
	}
	n.Total += d
}

// Get returns the counts of source.
func (c *Counters) Get(source string) Count {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.by[source]; n != nil {
		return *n
	}
	return Count{}
}

// headerCarrier reads and writes W3C trace context in message headers.
type headerCarrier map[string]string

func (h headerCarrier) Get(k string) string { return h[k] }
func (h headerCarrier) Set(k, v string)     { h[k] = v }
func (h headerCarrier) Keys() []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	return out
}

// Tracing starts a consumer span "process SOURCE" for every message, as a
// child of the producer's span when the message carries W3C trace context
// (traceparent, tracestate, baggage headers), with the OpenTelemetry
// messaging attributes; a failure sets the span's error status.
func Tracing(tp trace.TracerProvider) Middleware {
	tracer := tp.Tracer("github.com/courier-io/courier/handler")
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			if m.Headers != nil {
				ctx = prop.Extract(ctx, headerCarrier(m.Headers))
			}
			ctx, span := tracer.Start(ctx, "process "+m.Source, trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(
					attribute.String("messaging.system", "courier"),
					attribute.String("messaging.operation.type", "process"),
					attribute.String("messaging.destination.name", m.Source),
					attribute.String("messaging.message.id", m.ID),
					attribute.Int("messaging.courier.attempt", m.Attempt),
				))
			defer span.End()
			err := next.Handle(ctx, m)
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			return err
		})
	}
}
