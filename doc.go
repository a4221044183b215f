// Package courier is one Go API for the ways services talk asynchronously:
// SQS-style queues (visibility timeouts, retries and dead-letter queues,
// FIFO groups, dedup), SNS-style topics (fan-out to queue, durable, HTTP and
// ephemeral subscriptions with filter policies) and Kafka/Kinesis-style
// streams (partitions, offsets, consumer groups, replay, retention).
//
// Open a broker by URL, like database/sql opens a database:
//
//	b, err := courier.Open(ctx, "file://./data") // embedded durable engine
//	b, err := courier.Open(ctx, "mem://")        // in memory, for tests
//
// The same code runs on every backend; a backend is a driver (package driver)
// registered for a URL scheme. On file:// with the default sync mode an
// acknowledged Send, Publish or Append is fsync'd: it survives kill -9 and
// power loss, and no receiver sees it before then.
//
// Delivery is at least once: a message is delivered again when its
// visibility timeout passes without an Ack. Exactly-once effects come from
// dedup IDs on send plus idempotent consumers.
//
// Errors wrap the sentinel values of this package (ErrNotFound, ErrInvalid,
// ...); test them with errors.Is. Input errors are *ValidationError values
// naming the offending field.
package courier
