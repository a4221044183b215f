// Package engine implements courier's embedded engine: the state machines of
// queues, topics (fan-out, filter policies, HTTP push, tails) and streams
// (partitions, consumer groups, retention) over the segmented log of package
// internal/wal, registered as the mem:// and file:// drivers.
package engine
