// Package engine implements courier's embedded engine: queue state machines
// over the segmented log of package internal/log, registered as the mem://
// and file:// drivers.
package engine
