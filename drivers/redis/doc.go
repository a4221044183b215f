// Package redis is courier's driver for Redis (6.2 or later): queues,
// topics and streams with courier's semantics, kept in Redis data
// structures and changed only by Lua scripts, so that every operation is
// atomic on the server. Import it for its side effect:
//
//	import _ "github.com/courier-io/courier/drivers/redis"
//
//	b, err := courier.Open(ctx, "redis://127.0.0.1:6379/0")
//
// # URL
//
//	redis://[[username]:password@]host[:port][/db][?option=value&...]
//	rediss://...   (TLS)
//
// The URL is go-redis's (redis.ParseURL): the database number is the path
// (default 0), username and password are the user information (ACL users
// need both, the legacy AUTH only the password), and these go-redis
// options are accepted in the query: protocol (2 or 3), client_name,
// max_retries (default 3; -1 disables), min_retry_backoff (8ms),
// max_retry_backoff (512ms), dial_timeout (5s), read_timeout (3s),
// write_timeout (read_timeout), pool_fifo, pool_size (10 per CPU),
// pool_timeout (read_timeout + 1s), min_idle_conns, max_idle_conns,
// max_active_conns, conn_max_idle_time (30m), conn_max_lifetime, and for
// rediss:// skip_verify (do not check the server's certificate; for tests
// only). Durations are Go durations or whole seconds. Deadlines of the
// caller's context apply to every command (ContextTimeoutEnabled).
//
// Courier's own options:
//
//   - prefix (default "courier"): the prefix of every key the driver
//     uses, 1 to 64 characters from letters, digits and "._:-". Brokers
//     with different prefixes on one database are independent.
//   - persistent (default "auto"): whether Capabilities().Persistent is
//     declared. "auto" reads CONFIG GET appendonly/appendfsync at open and
//     declares it only for appendonly yes with appendfsync always (every
//     write fsync'd before Redis answers); where CONFIG is not allowed
//     (managed services) it is declared off. "yes" declares it on the
//     operator's word, "no" declares it off.
//   - ca_file, cert_file, key_file (rediss:// only): PEM files of the CA
//     that signed the server's certificate (default: the system's roots)
//     and of a client certificate and key for servers that require one.
//     TLS 1.2 is the minimum; the server name checked is the URL's host.
//
// Unknown options are refused, naming the option.
//
// # Reconnects and failures
//
// go-redis redials broken connections from its pool and retries a command
// that failed on the network (max_retries). A command whose answer was
// lost may have been applied: a retried send can then store a message
// twice (use dedup IDs where that matters); retried receives, acks and
// visibility changes are harmless. Errors of an unreachable server wrap
// courier.ErrStorage (retry later); after Close, calls fail with
// ErrClosed. Every operation is one Lua script, so a crash of the client
// or the connection between two calls never leaves half an operation: a
// message is in exactly one queue, an ack either happened or not.
//
// Durability is Redis's: Redis answers before writing to disk unless the
// append-only file is fsync'd always, so with other settings a server
// crash loses the last acknowledged writes (up to a second with
// appendfsync everysec; since the last snapshot without AOF).
// Capabilities().Persistent says which case applies (see persistent
// above). A failover to a replica loses what was not yet replicated.
//
// # Mapping
//
// All keys start with the prefix P. Each queue incarnation has a number
// (gen) so that a queue deleted and created again starts empty and old
// receipts fail.
//
//   - Queue metadata: hash P:q:NAME (attributes in milliseconds, gen,
//     FIFO counter); set P:queues lists the user queues; set P:q:NAME:refs
//     holds what keeps it from deletion (queues using it as dead-letter
//     queue, subscriptions delivering into it).
//   - Messages of a queue: hash P:Q:gen:h holds each message's blob
//     (headers, body, group, dedup ID) and its metadata (sent time,
//     receive count, first receive, sequence numbers, source queue).
//     Sorted set P:Q:gen:v orders every message by the time it is visible
//     next (visibility timeouts, delays and nacks are one score); P:Q:gen:e
//     by enqueue time (retention, oldest age); P:Q:gen:d marks messages
//     delayed rather than in flight. Receive takes the lowest scores up to
//     now and raises them by the visibility timeout; no timer runs
//     anywhere. The receive script returns the chosen IDs and receive
//     counts, and the client reads the messages with one HMGET, so that
//     bodies do not pass through Lua; a message deleted in between (acked
//     after a redelivery, purged) is left out.
//   - Sends: concurrent Send calls to one queue (and Publish calls to one
//     topic) are coalesced, as a group commit is: while a script for the
//     queue runs, later calls wait and go together in the next script (up
//     to 1000 messages), so a busy queue costs one script per batch rather
//     than per message. A call alone runs at once; every caller's context
//     bounds its own wait.
//   - Receipts are "gen.id.receives": a receipt is stale once the message
//     was delivered again, and belongs to one queue incarnation.
//   - FIFO queues add P:Q:gen:f (messages ordered by group and sequence),
//     P:Q:gen:rg (groups with messages, by their head's sequence) and
//     P:Q:gen:gs (each group's messages in flight): a receive takes a
//     group's messages from its head while they are visible and no
//     message of the group is in flight.
//   - Dedup: key P:Q:gen:dd:ID (P:T:gen:dd:ID for topics) with a
//     5-minute TTL holds the first message's ID; content-based dedup uses
//     the SHA-256 of the body, computed by the client.
//   - Dead-letter queues: a receive that would be a message's
//     MaxReceives+1-th moves it, in the same script, to the dead-letter
//     queue with a fresh receive count. Redrive moves messages back (or to
//     a destination), in scripts of up to 500 moves, paced by its rate.
//   - Long polls: scripts that make messages receivable PUBLISH to
//     P:w:NAME; an empty Receive subscribes to it (one Pub/Sub connection
//     per Broker) and waits for that, for the next visibility time or for
//     its deadline.
//   - Topics: hash P:t:NAME (attributes, counters, a version that every
//     subscription change increments), hash P:t:NAME:s (subscriptions),
//     hash P:t:NAME:c (their counters). Publish matches filter policies in
//     the client (package pattern, as the embedded engine does) and one
//     script stores the message in every matching subscription's queue,
//     refusing the publish if the subscriptions changed since they were
//     read (the client reads them again). A durable subscription owns the
//     queue "TOPIC/SUB" (not listed among queues); a queue subscription
//     delivers into a user queue. Non-raw deliveries are rendered as the
//     engine's JSON envelope when received.
//   - Streams: hash P:s:NAME (attributes, gen); partition i is the Redis
//     stream P:S:gen:p:i whose entry IDs are "OFFSET-1", so offsets are
//     dense and a read from an offset is one XRANGE; entries hold the
//     append time (server microseconds, never decreasing in a partition),
//     the size and the record. Reads by time binary-search the offsets.
//     Retention (age, bytes) is applied by appends and reads; compacted
//     streams delete a key's previous record when a new one is appended
//     (hash P:S:gen:k:i) and delete markers after DeleteRetention (sorted
//     set P:S:gen:t:i). Consumer groups are JSON documents (generation,
//     owners, pending moves, committed offsets, members with sessions and
//     positions) changed by scripts that implement the engine's protocol:
//     cooperative two-phase rebalancing, generations and fencing, session
//     expiry. Membership is stored in Redis, so it outlives a client
//     process until its session ends; a member that joins again reads
//     from the committed offsets, not from where it last polled. Long
//     reads and polls wait on P:sw:NAME, which appends publish to.
//   - Tails: the publish script also PUBLISHes each message to the
//     topic's channel P:t:NAME:live; a tail subscribes to it on its own
//     connection (so TopicInfo's Tails counts the tails of every process)
//     and filters and buffers in memory. Overflow "block" is refused
//     (ErrUnsupported): a publisher in another process cannot wait for a
//     tail's buffer. Messages published while a tail's connection is down
//     are not seen by it, as befits an ephemeral subscription.
//
// Not supported, and declared so in Capabilities: HTTP push subscriptions
// (they need a delivery worker; Subscribe fails with ErrUnsupported) and
// buses. Durations are kept in whole milliseconds: attributes
// or delays with a fraction of a millisecond are refused (ErrInvalid).
// Redis Cluster is not supported: scripts touch keys of several queues.
package redis
