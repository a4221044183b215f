package driver

import "slices"

// Histogram is a distribution of observations over fixed bucket bounds,
// as backends report them for metrics (a Prometheus histogram's data).
type Histogram struct {
	// Bounds are the buckets' upper bounds, increasing. They are shared:
	// do not modify them.
	Bounds []float64
	// Counts are the observations per bucket, not cumulative:
	// len(Bounds)+1 entries, the last for values above every bound.
	Counts []uint64
	// Sum is the sum of the observed values.
	Sum float64
}

// Bucket bounds, in seconds.
var (
	// LatencyBounds suit the time a message waits in a queue: 1ms to an
	// hour.
	LatencyBounds = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600}
	// SyncBounds suit the duration of an fsync: 50µs to 1s.
	SyncBounds = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
)

// NewHistogram returns an empty histogram over bounds.
func NewHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds)+1)}
}

// Observe adds one observation v.
func (h *Histogram) Observe(v float64) {
	i, _ := slices.BinarySearch(h.Bounds, v)
	h.Counts[i]++
	h.Sum += v
}

// Count is the number of observations.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Clone returns a copy whose counts do not change with h's.
func (h Histogram) Clone() Histogram {
	h.Counts = slices.Clone(h.Counts)
	return h
}

// StorageStats describe a backend's storage, for metrics.
type StorageStats struct {
	// Records and BytesWritten count what was appended since the backend
	// started.
	Records      int64
	BytesWritten int64
	// Segments is the number of log segment files, SegmentBytes their
	// size.
	Segments     int
	SegmentBytes int64
	// DiskFreeBytes is the space left to the backend's files on their file
	// system; -1 when unknown.
	DiskFreeBytes int64
	// Syncs is the duration of each fsync (fdatasync) of the log, in
	// seconds.
	Syncs Histogram
}

// StorageReporter is implemented by backends that store data on local
// disk (file://): their storage's stats.
type StorageReporter interface {
	StorageStats() StorageStats
}
