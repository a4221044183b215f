package engine

import (
	"sync"
	"time"

	"github.com/courier-io/courier/driver"
)

// syncStats collects the durations of the log's syncs (wal.Options.OnSync).
type syncStats struct {
	mu sync.Mutex
	h  driver.Histogram
}

func newSyncStats() *syncStats { return &syncStats{h: driver.NewHistogram(driver.SyncBounds)} }

// observe records one sync.
func (s *syncStats) observe(d time.Duration) {
	s.mu.Lock()
	s.h.Observe(d.Seconds())
	s.mu.Unlock()
}

// snapshot returns a copy of the histogram.
func (s *syncStats) snapshot() driver.Histogram {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h.Clone()
}

// StorageStats implements driver.StorageReporter for file://.
func (c *fileConn) StorageStats() driver.StorageStats {
	st := c.l.Stats()
	out := driver.StorageStats{
		Records: st.Records, BytesWritten: st.BytesWritten, Segments: st.Segments,
		DiskFreeBytes: diskFree(c.cfg.dir), Syncs: c.syncs.snapshot(),
	}
	for _, s := range c.l.Segments() {
		out.SegmentBytes += s.Size
	}
	return out
}
