// Package rabbitmq is courier's driver for RabbitMQ (3.10 or later), over
// AMQP 0.9.1 with the official client, github.com/rabbitmq/amqp091-go.
// Import it for its side effect:
//
//	import _ "github.com/courier-io/courier/drivers/rabbitmq"
//
//	b, err := courier.Open(ctx, "amqp://guest:guest@127.0.0.1:5672/?namespace=orders")
//
// # URL
//
//	amqp://[user[:password]@]host[:port][/vhost][?options]
//	amqps://...   (TLS)
//
// The user and password authenticate with SASL PLAIN (percent-encode
// reserved characters); the path is the virtual host (default "/"). The
// port defaults to 5672 (amqp) or 5671 (amqps). Courier's options:
//
//   - namespace (default "courier"): prefix of every RabbitMQ object the
//     driver creates, 1..64 of A-Z a-z 0-9 - _. Brokers opened with
//     different namespaces share nothing.
//   - publishers (default 4, 1..64): confirm-mode channels that sends and
//     publishes are spread over.
//   - hold_limit (default 29m, 1s..12h): the longest the driver keeps a
//     delivery unacknowledged. RabbitMQ closes a channel whose delivery
//     stays unacknowledged past its consumer_timeout (default 30 minutes),
//     so a visibility timeout longer than hold_limit is cut short: the
//     delivery is returned to its queue at hold_limit (and logged). Raise
//     both together on servers configured with a longer consumer_timeout.
//   - reconnect_wait (default 1s, 1ms..1h): pause between reconnect attempts.
//   - reconnect_attempts (default 0 = forever): attempts per outage before
//     the connection is given up (calls then fail with ErrClosed).
//   - tls_insecure_skip_verify (default false, amqps only): skip checking
//     the server's certificate.
//
// These options of amqp091-go pass through unchanged: heartbeat (seconds),
// connection_timeout (ms), channel_max, auth_mechanism (plain, amqplain or
// external: client-certificate auth), and for TLS cacertfile, certfile,
// keyfile (a client certificate) and server_name_indication. Without
// cacertfile the system roots verify the server.
//
// # How courier maps onto RabbitMQ
//
// The catalog. AMQP 0.9.1 can neither list queues nor read back or change a
// queue's arguments, so the driver keeps its metadata (queues, topics,
// subscriptions, their attributes) in a RabbitMQ stream,
// <namespace>.catalog, as a log of events. Each connection tails the stream
// and applies the events in log order; the outcome of an event (created,
// exists, conflict, not found) is decided by applying it, so every
// connection agrees. A writer learns the outcome when its own replica has
// applied its event; a lookup that misses first catches up with the log.
//
// Queues. A courier queue is a durable quorum queue,
// <namespace>.q.<name>.<incarnation>. Sends are persistent messages
// published with mandatory routing and acknowledged only after RabbitMQ's
// publisher confirm (quorum queues confirm once the message is replicated
// and fsync'd). Message ID, store time, group and dedup ID travel in the
// message properties and courier- headers; user headers are AMQP headers
// (those that cannot be, such as names starting with "x-" or longer than
// 255 bytes, travel packed in one header).
//
// Receive registers a consumer with prefetch Max for the call, waits for
// the first delivery up to Wait, cancels the consumer and returns what
// RabbitMQ delivered before the cancel completed. A delivery stays
// unacknowledged on the connection, which holds its visibility timer:
// Ack acks it; ChangeVisibility with 0 (nack) returns it to the queue with
// basic.nack requeue; with d > 0 (nack with delay, extend) the driver keeps
// holding it and returns it when d has passed; when the visibility ends it
// is returned the same way. ReceiveCount is RabbitMQ's x-delivery-count
// plus one (plus receives recorded on a message copied by the driver).
// Receipts name the connection that issued them: they are valid only on
// that connection, and only while it lives. When the connection drops,
// RabbitMQ returns every held delivery to its queue at once (counted as a
// receive) and their receipts fail with ErrReceiptInvalid.
//
// Delays (DeliveryDelay, Message.Delay) use delay queues: a quorum queue
// per delay value, with that message TTL, dead-lettering at least once into
// the queue. Delays are rounded up to two significant digits of
// milliseconds (1234ms waits 1300ms) so that a queue needs few of them.
//
// Dead-lettering (MaxReceives) happens on the receive that would be a
// message's MaxReceives+1-th: the driver publishes a copy, with the source
// queue, to the dead-letter queue (with a confirm) and acks the original.
// RabbitMQ's own x-delivery-limit cannot be used: it is fixed when a queue
// is declared, and courier's MaxReceives can change. Redrive moves
// messages the same way, to each message's source queue or a destination.
// A crash between the publish and the ack leaves the message in both
// queues, never in neither.
//
// Retention: messages are sent with a per-message TTL of the queue's
// RetentionPeriod, and a receive deletes any message older than the
// queue's current RetentionPeriod instead of delivering it.
//
// Stats: Visible is RabbitMQ's count of ready messages; Delayed counts the
// delay queues plus deliveries this connection holds after a visibility
// change; InFlight counts the deliveries this connection holds. RabbitMQ
// does not report over AMQP 0.9.1 which deliveries other connections hold,
// nor message ages, so those are not counted and OldestAge covers this
// connection's held deliveries only.
//
// Topics. A topic is a headers exchange, <namespace>.t.<name>.<incarnation>.
// Durable subscriptions own a quorum queue bound to it; queue subscriptions
// bind the user's queue; tails bind an exclusive auto-delete queue. The
// publisher evaluates each subscription's SNS filter policy (far richer
// than the headers exchange's equality matching) and marks the message with
// a header per matched subscription, which its binding matches; RabbitMQ
// routes and copies the message. Subscriptions that want the envelope get a
// second publish carrying it. Publish returns after the confirms, which
// RabbitMQ sends once every queue the message went to stored it. Topic and
// subscription counters (published, delivered, filtered out, tails) count
// what this connection did.
//
// # Capabilities
//
// Queues, Delay, DeadLetter, Redrive, LongPoll and Topics are on. Off:
//
//   - FIFO: RabbitMQ has no message groups; a queue cannot hold back one
//     group while one of its messages is in flight and deliver the others.
//   - Dedup: RabbitMQ keeps no dedup window (without the deduplication
//     plugin); sends with a dedup ID and content_based_dedup are refused
//     with ErrUnsupported.
//   - Persistent: messages, queues and receive counts are durable on
//     RabbitMQ, but a delivery's invisibility is held by the connection and
//     ends with it, and there is no dedup window to survive a restart, both
//     of which courier's persistence contract includes.
//   - Push: the broker cannot make HTTP requests; a pusher inside the
//     driver would push only while some process keeps a connection open.
//   - Streams: over AMQP 0.9.1 a RabbitMQ stream's end offset is not
//     observable (queue.declare reports no message count for streams), and
//     consumer groups with committed offsets need the stream protocol
//     (port 5552, the rabbitmq_stream plugin); compaction does not exist.
//   - Buses.
//
// Tails with Overflow Block are refused: publishers in other processes
// cannot be made to wait for a subscriber.
//
// # Failure
//
// The driver uses amqp091-go's connection recovery. When the connection
// drops, calls wait (bounded by their context) until it is back; sends and
// publishes whose confirm had not arrived fail with an error saying the
// message may be stored (retry: delivery is at least once); held
// deliveries are forgotten (RabbitMQ has returned them); the catalog and
// tails subscribe again. Every call returns when its context ends.
package rabbitmq
