// Package nats is the courier driver for NATS JetStream: importing it
// (blank import) makes courier.Open accept nats:// and nats+tls:// URLs.
//
//	import _ "github.com/courier-io/courier/drivers/nats"
//
//	b, err := courier.Open(ctx, "nats://127.0.0.1:4222?prefix=orders-svc")
//
// It speaks to the server with the official client, nats.go, and its
// jetstream package, and needs a server with JetStream enabled (2.9 or
// later).
//
// # URL
//
//	nats://[user:password@|token@]host[:port][?option=value&...]
//	nats+tls://...   the same, always over TLS
//
// The port defaults to 4222 and the host to 127.0.0.1. Options:
//
//	servers=h2:4222,h3:4222  more servers of the cluster, tried in order
//	                         after the URL's host; the client learns the
//	                         others from the cluster too
//	prefix=courier           namespace of every JetStream object the driver
//	                         makes (1-32 of A-Z a-z 0-9 - _): brokers with
//	                         different prefixes share nothing
//	replicas=1               replicas of every stream (1-5; 3 for a
//	                         cluster that must survive losing a node)
//	storage=file             file or memory; memory is not Persistent
//	name=courier             the connection's name, shown by the server
//	token=T                  authenticate with a token (also token@host)
//	creds=FILE               authenticate with a user JWT and nkey seed
//	                         (a .creds file)
//	nkey=FILE                authenticate with an nkey seed file
//	tls=false                true: speak TLS (implied by nats+tls:// and by
//	                         the tls_ options)
//	tls_ca=FILE              PEM CA certificates to check the server's
//	                         certificate with (default: system roots)
//	tls_cert=FILE, tls_key=FILE  client certificate and key (mutual TLS)
//	connect_timeout=5s       how long Open waits for the first connection
//	                         (also bounded by Open's context)
//	reconnect_wait=500ms     pause between reconnect attempts (jittered)
//	max_reconnects=-1        reconnect attempts before giving up; -1 forever
//	meta_ttl=2s              how long a connection caches a queue's, topic's
//	                         or stream's attributes (see below); 0 reads them
//	                         on every call
//	domain=D                 JetStream domain (leaf-node setups)
//
// A user and password in the URL authenticate with them. Passwords are
// redacted from courier's errors and logs.
//
// # How courier maps onto JetStream
//
// With prefix P, a queue Q is two work-queue streams. The main stream P_q_Q
// has one literal subject, P.q.Q (so acks are as cheap as JetStream's
// own: a work-queue stream with several subjects reloads every acked
// message to check other consumers' interest); its MaxAge is the
// retention period, its duplicate window courier's 5-minute dedup window,
// its description the courier attributes; its durable pull consumer
// "courier" delivers the visible messages, with AckWait the visibility
// timeout. The auxiliary stream P_qx_Q holds delayed copies (P.qx.Q.d.*,
// read by the durable consumer "courier-delay"), markers of changed
// visibility (P.qx.Q.v.*) and lineage records (P.qx.Q.r.*).
//
//   - Send publishes to P.q.Q and returns on the server's acknowledgement
//     (stored, and replicated with replicas > 1); a batch is published
//     pipelined. Dedup IDs (or a body's SHA-256, for content based dedup)
//     are JetStream's Nats-Msg-Id, so a duplicate gets the original's ID.
//     A message ID is the queue's incarnation and the message's root: the
//     sequence its first copy got (prefixed "d" when that copy was stored
//     delayed).
//   - Delay: a delayed message goes to P.qx.Q.d.*; a promoter run by every
//     connection that receives from the queue pulls it, naks it with a
//     delay until it is due (JetStream's redelivery timer, stored with the
//     consumer, is the scheduler), then republishes it to P.q.Q.
//   - Receive pulls from the main consumer: what is available at once, or
//     a long poll for the first message that a publish wakes. A receive
//     with its own visibility restarts the copy's timer with a nak with a
//     delay.
//   - Receipts carry the delivery's JetStream ack subject and are valid on
//     any connection. JetStream acks by sequence and would let a stale
//     receipt ack a newer delivery; so the driver hands each stored copy
//     to one receiver only: when JetStream delivers a copy again (its
//     visibility ended, or it was nacked), the receive that gets it stores
//     a new copy carrying the message's ID, root, receive count and first
//     receive time, records where it is (lineage record P.qx.Q.r.<root>)
//     and acks the old one. A receipt is acked directly while its
//     visibility lasts; later it is checked against the streams (the copy
//     exists: ack it; the message moved on and was delivered again:
//     ErrReceiptInvalid; it is gone: success).
//   - Nack and Extend (ChangeVisibility) nak the copy with a delay, which
//     keeps it in flight until then, and store a marker (P.qx.Q.v.<seq>)
//     so the stats count it as delayed and the next receiver learns its
//     first receive time.
//   - MaxReceives: a receive that would be a message's MaxReceives+1-th
//     moves it to the dead-letter queue instead (publish there, then ack),
//     at once and durably. JetStream's MaxDeliver and its advisory are not
//     used: the advisory is a plain NATS message, lost when nobody listens.
//   - Redrive copies each visible message of the dead-letter queue to its
//     source queue (or the destination), deduplicated by its place in the
//     dead-letter queue, then acks it there.
//   - Stats: visible = the main consumer's pending messages, in flight =
//     its unacked deliveries less the changed ones, delayed = the delay
//     consumer's messages plus the changed ones.
//
// A topic T is a stream P_t_T on one subject, kept for the dedup window:
// Publish stores there first (dedup, and Published is its last sequence),
// then fans out to every matching subscription's queue (filter policies
// are evaluated by the publisher with courier's pattern package; the
// envelope is rendered then). A queue subscription delivers into the named
// courier queue; a durable one into a queue of its own, stream
// P_b_<len>_T_S. The subscriptions are one value in the KV bucket P_meta,
// changed with compare-and-set and read by every publish, so a
// subscription receives what is published after Subscribe returns, on any
// connection. A tail is an ordered consumer of the topic stream from its
// next message, into a bounded buffer.
//
// A stream S is one JetStream stream per partition, P_s_S_<i> (limits
// retention: MaxAge and MaxBytes), so a partition's offsets are its
// stream's sequences minus one, dense and assigned by the server. Keys
// pick partitions with driver.PartitionForKey. Reads use ephemeral
// consumers (a connection reuses the one positioned where a read starts).
// Consumer groups follow courier's cooperative protocol (generations,
// two-phase moves, fencing); a group's state is one value in P_meta,
// updated with compare-and-set on its revision, so members on any number
// of connections and processes serialise through the server. Session
// expiry is checked with the clock of the connection making a call.
//
// # Capabilities
//
// Queues, Dedup, Delay, DeadLetter, Redrive, LongPoll, Topics and Streams
// are supported; Persistent with storage=file. Not supported, with an
// error wrapping ErrUnsupported that names the field:
//
//   - FIFO queues and topics: JetStream cannot hold a message group back
//     while one of its messages is in flight and deliver the group's
//     redelivered message before its later ones.
//   - HTTP push subscriptions (Push): NATS does not POST, and the driver
//     runs no server; subscribe a queue and push from a consumer.
//   - Buses.
//   - Compacted streams: JetStream keeps the last message per subject, but
//     cannot drop delete markers after delete_retention.
//   - Tails with overflow "block": the server cannot hold a publisher back
//     for one slow tail.
//
// # Failure behaviour
//
// The connection reconnects on its own (reconnect_wait, max_reconnects);
// calls made while it is down fail or wait up to their context's deadline.
// Every acknowledged send is stored by the server (by a quorum of
// replicas with replicas > 1); a receive in flight when the connection
// drops loses nothing: an unacked message is delivered again after its
// visibility timeout, and an ack that was lost only causes that
// redelivery. A move (redelivery, dead-letter, redrive, promotion) is a
// deduplicated publish followed by an ack, so a failure between the two
// is repaired by the next attempt within the 5-minute dedup window.
//
// Deviations to know about: dedup IDs are remembered per stream, so a
// message sent with a delay and one sent without, with the same dedup ID,
// are both stored. A connection caches attributes for meta_ttl,
// so changes made through another connection apply there within it. A
// receipt whose visibility another connection shortened (a nack) is
// trusted by this one until its original visibility ends: acking it after
// the message was delivered again then succeeds without effect (the
// message is delivered again rather than lost). FirstReceivedAt of a
// message redelivered after a visibility timeout is exact when the
// redelivering connection received it before or its visibility was
// changed; otherwise it is estimated as the redelivery time minus the
// visibility timeout. A message whose visibility ended counts as in
// flight until a receive picks it up. A redelivered message joins the end
// of the queue. Subscription counters (delivered, filtered out) and
// topic tail counts are per connection. Queues with a retention period
// under 5 minutes remember dedup IDs for the retention period only.
//
// A consumer sees what its stream acknowledged a moment later (the server
// signals consumers asynchronously, and with replicas > 1 a consumer's
// replica applies the stream leader's writes later). So a receive that
// finds nothing waits up to 25ms for a message that was just stored, a
// stream read that finds nothing where the partition's leader has records
// waits for them (up to a second), and with replicas > 1 queue stats are
// read until two reads 25ms apart agree (up to a quarter of a second).
package nats
