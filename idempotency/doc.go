// Package idempotency makes consumers idempotent: a message delivered twice
// has its effect once.
//
// courier delivers at least once. A message comes again when its
// visibility timeout passes before the Ack (the consumer crashed, or was
// slow), a producer retries a send, or an archive is replayed. Three tools
// deal with this, at different points:
//
//   - Dedup IDs (courier.Message.DedupID): the broker drops a second send
//     with the same ID within 5 minutes. They protect against producer
//     retries, including the outbox relay's (package outbox); they do
//     nothing for redeliveries to consumers.
//   - The transactional outbox (package outbox): the producer writes its
//     database change and the message in one transaction, and a relay
//     publishes the message afterwards, so a message is sent if and only if
//     the change committed.
//   - Idempotent consumers (this package): the consumer records, per key,
//     that it processed a message, and skips a message whose key is
//     recorded, returning the recorded result.
//
// A reliable pipeline uses all three: outbox on the producer side, dedup IDs
// between relay and broker, idempotent consumers at the end.
//
// # The protocol
//
// A consumer claims the message's key for a lease (its bound on processing
// time), processes, then completes the claim with a result that is kept for
// a TTL (at least as long as duplicates can arrive), or releases it if
// processing failed. Do runs the protocol around a function:
//
//	result, dup, err := idempotency.Do(ctx, store, d.ID, 30*time.Second, 24*time.Hour,
//		func(ctx context.Context) ([]byte, error) { return handle(ctx, d) })
//
// Claim says one of three things. Claimed: process. Done: the key was
// processed; skip, with the recorded result. Busy: another consumer holds an
// unexpired claim; retry later (nack with a delay until BusyError.Until),
// since it may yet fail and release. Of two consumers that get the same
// message at once, exactly one claims it. A consumer that crashes while
// holding a claim leaves it until the lease ends; then the next Claim takes
// the key over, and the crashed consumer's claim is lost: its Complete or
// Release fails with ErrLostClaim.
//
// The key is usually the message ID (courier Delivery.ID), which stays the
// same across redeliveries. When the same logical request may arrive as
// different messages (a client that retries by sending again), use a key
// from the content instead: the request's idempotency key, an order ID.
// Keys are 1 to 512 bytes of UTF-8.
//
// # Exactly once needs one transaction
//
// With Memory, Embedded and Redis, the effect and the record are two
// writes: a consumer that crashes between them, or whose effect outlasts
// the lease, can have its effect repeated by the next consumer. This is
// at-least-once with a narrow window; keep handlers well inside the lease
// and make the effect itself tolerate a repeat where it can (pass the key
// to the downstream API).
//
// With Postgres, when the effect is a write to the same database,
// Postgres.DoTx (or CompleteTx in your own transaction) commits the effect
// and the record in one transaction: both happen or neither does, and a
// consumer that lost its claim cannot commit. That is exactly-once effect
// under any crash; this package's tests prove it on a file:// queue with
// consumers that crash before commit, after commit and before ack.
//
// # Choosing a store
//
//   - Postgres: consumers on several machines, durable records, and the only
//     store with exactly-once effects (DoTx, CompleteTx). Call Purge
//     periodically to delete expired rows.
//   - Redis: consumers on several machines, fast; records expire by Redis
//     TTL. Durability is Redis's: a record lost in a crash or failover lets
//     its key be processed again.
//   - Embedded: services on the courier engine without other
//     infrastructure. Records live in a compacted courier stream, durable on
//     file://, with an in-memory index: correct only for consumers that share
//     one Embedded value (one process, such as the one that runs a courier
//     server). Several processes must use Redis or Postgres.
//   - Memory: tests and single-process consumers that need no durability.
//
// Postgres takes a DB, the subset of *pgxpool.Pool it uses, and Redis a
// redis.Scripter such as *redis.Client.
package idempotency
