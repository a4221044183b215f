// Package outbox is the transactional outbox for PostgreSQL: a service
// writes its database change and the messages that announce it in one
// transaction, and a relay publishes the messages to courier afterwards.
//
// Without it, a service that updates its database and then sends a message
// makes two writes that can part: the update commits and the process dies
// before the send (the world never hears of the change), or the send
// succeeds and the transaction rolls back (the world hears of a change that
// never happened). With it, the message is a row in the same transaction:
// it exists if and only if the change committed.
//
//	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
//		if _, err := tx.Exec(ctx, "INSERT INTO orders ...", ...); err != nil {
//			return err
//		}
//		_, err := outbox.Write(ctx, tx, "outbox", outbox.Message{
//			Kind: outbox.Topic, Destination: "order-placed", Body: body,
//		})
//		return err
//	})
//
// A Relay (run with Relay.Run, in one or more processes) locks a batch of
// rows with SELECT ... FOR UPDATE SKIP LOCKED, publishes them with
// Queue.SendBatch, Topic.PublishBatch or Bus.PutEvents, and deletes them in
// the same transaction. Each message carries the dedup ID
// "outbox-<random UUID>" (set when the row is written, so unique across
// services and tables), so when a relay dies after publishing and before
// its delete commits, the next relay's second publish is dropped by the
// broker (within its 5-minute dedup window). Write notifies the relays on
// commit (NOTIFY), and a relay with the Listen option publishes within
// milliseconds; without it, within its poll interval.
//
// # Which tool for which duplicate
//
//   - The outbox makes publishing atomic with the producer's database
//     change. Use it whenever a message announces a change in PostgreSQL.
//   - Dedup IDs (courier.Message.DedupID) make a repeated send harmless
//     within the broker's dedup window; the relay relies on them, and any
//     producer that retries a send should set one.
//   - Idempotent consumers (package idempotency) make a repeated delivery
//     harmless, which at-least-once delivery requires anyway: redeliveries
//     after a visibility timeout, a relay down for longer than the dedup
//     window, bus events (which buses do not dedup). Key them on the
//     message ID, or on the outbox dedup ID carried by the message.
//
// Together, outbox, dedup IDs and an idempotent consumer that commits its
// effect with its idempotency record (idempotency.Postgres.DoTx) give an
// exactly-once effect from the producer's transaction to the consumer's.
//
// # Failures and order
//
// A message that fails to publish (its queue does not exist yet, it is too
// large for it) stays in the table with attempts and last_error set and is
// retried with backoff (RetryBackoff); it is never dropped, so watch for
// rows with attempts > 0. Relays working in parallel publish different
// batches at once and retry a failing message after later ones: per-group
// order is not kept. With the Ordered option, one relay at a time publishes
// and a failing message holds back the ones after it, so messages go out in
// the order their transactions committed, when those transactions ran one
// after another (concurrent transactions have no order between them).
//
// Table names are checked against [a-z_][a-z0-9_]{0,62} and quoted; the
// functions take DB, the part of *pgxpool.Pool they use, and pgx.Tx.
package outbox
