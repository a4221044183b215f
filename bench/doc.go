// Package bench runs courier's side-by-side benchmarks: the same workload,
// in one process and one run, against courier's embedded durable engine and
// against an in-process NATS JetStream server used as a reference.
//
// Queue is the queue benchmark behind `courier bench queue`. For each
// system it measures:
//
//   - publish: N messages of Size bytes sent by Producers concurrent
//     goroutines, each send waiting for the system's durable acknowledgement
//     (courier: Queue.Send; JetStream: a synchronous js.Publish that waits for
//     the PubAck);
//   - consume: all N messages received in batches of up to 100 and acked per
//     batch, the ack awaited (courier: Receive(Max(100)) then one
//     Queue.Ack(receipts...); JetStream: a pull consumer's FetchNoWait(100),
//     then Ack on every message but the last and DoubleAck on the last; the
//     server processes a consumer's acks in order, so the batch is settled
//     when the DoubleAck's reply arrives);
//   - latency: one producer sending LatencyN messages at a fixed Rate,
//     every send's latency recorded and reported as p50 and p99.
//
// Every message carries its index, and the consume phase checks that each
// one arrives exactly once. Everything runs on loopback in temporary
// directories that are removed afterwards; servers and engines are shut
// down before Queue returns.
package bench
