// Package handler is courier's consumer runtime: it reads a source (a
// queue, a durable topic subscription, a stream consumer group or a bus
// handler target) and calls a handler for each message, with bounded
// concurrency, middleware, retries with jittered backoff, dead-lettering of
// poison messages and graceful shutdown.
//
// # Routes
//
// A Router holds routes; each reads one Source and calls one Handler (or a
// BatchHandler). Router.Run runs them all until its context ends; Run runs
// a single route.
//
//	r := handler.NewRouter(handler.Use(handler.DefaultMiddleware()...), handler.MaxInFlight(64))
//	r.Handle(handler.Queue(orders), handler.HandlerFunc(process),
//		handler.Concurrency(8), handler.MaxAttempts(5), handler.DeadLetter(ordersDLQ))
//	err := r.Run(ctx)
//
// A handler's nil settles its message (acked in batches, one call per
// receive); an error makes it come back after a full-jitter backoff
// (Backoff), and once its delivery count reaches MaxAttempts — or at once
// for an error marked Permanent — it goes to the route's dead-letter queue
// with the error in its headers (HeaderError, HeaderAttempts, HeaderSource,
// HeaderFailedAt). While a handler works, the runtime keeps extending the
// message's visibility, so a slow handler does not lose it to another
// consumer.
//
// # Order
//
// FIFO queues deliver one message of a group at a time, so concurrency
// never reorders a group. Stream groups (StreamGroup) are ordered sources:
// the records of one partition are processed in order, partitions in
// parallel up to Concurrency, and a failing record is retried in place
// (blocking its partition, never skipped silently) before it is
// dead-lettered; offsets are committed after each batch.
//
// # Shutdown
//
// When Run's context ends, routes stop receiving; messages received but
// not started are given back at once, and messages in progress finish
// (ShutdownTimeout bounds the wait; then their context ends too).
//
// # Middleware
//
// Middleware wraps handlers (func(Handler) Handler): Recover, Timeout,
// Retry (brief in-place retries), Logging, Throttle, Metrics, Tracing
// (OpenTelemetry consumer spans continuing the producer's trace), and any
// you write. Router-level middleware (Use) wraps route-level (With).
//
// # Request and reply
//
// Requester sends requests to a queue and waits for replies on a reply
// queue of its own; Reply answers a request. See Requester.
package handler
