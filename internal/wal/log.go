package wal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/courier-io/courier/internal/wal/vfs"
)

// Sentinel errors.
var (
	// ErrStorage: a write or sync failed. The log accepts no more writes;
	// reads keep working.
	ErrStorage = errors.New("storage failed")
	// ErrCorrupt: stored data failed its checksum or framing.
	ErrCorrupt = errors.New("log corrupt")
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("log closed")
)

// SyncMode says when appended records become durable.
type SyncMode int

const (
	// SyncAlways: a Commit completes only after fdatasync covered its
	// records (group commit shares one sync among concurrent writers).
	SyncAlways SyncMode = iota
	// SyncInterval: a Commit completes once its records are written to
	// the OS; they are synced within the interval, so a power loss loses
	// at most that much.
	SyncInterval
	// SyncNone: records are written to the OS and synced only on segment
	// roll, checkpoint and Close. A power loss can lose anything since.
	SyncNone
)

// String returns the mode as ParseSync reads it.
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// DefaultSyncInterval is the interval of "interval" without a duration.
const DefaultSyncInterval = 100 * time.Millisecond

// ParseSync parses "always", "none", "interval" or "interval=D" (D a Go
// duration between 1ms and 1m).
func ParseSync(s string) (SyncMode, time.Duration, error) {
	switch {
	case s == "always":
		return SyncAlways, 0, nil
	case s == "none":
		return SyncNone, 0, nil
	case s == "interval":
		return SyncInterval, DefaultSyncInterval, nil
	case strings.HasPrefix(s, "interval="):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "interval="))
		if err != nil || d < time.Millisecond || d > time.Minute {
			return 0, 0, fmt.Errorf("sync mode %q: the interval must be a duration between 1ms and 1m", s)
		}
		return SyncInterval, d, nil
	}
	return 0, 0, fmt.Errorf("sync mode %q: want always, none or interval=D", s)
}

// Options configure Open. The zero value is usable.
type Options struct {
	// FS is the file system; default vfs.Default.
	FS vfs.FS
	// SegmentSize is the size at which the log starts a new segment
	// file; default 64 MiB. A record larger than a segment gets a segment
	// of its own.
	SegmentSize int64
	// Sync is when records become durable; default SyncAlways.
	Sync SyncMode
	// SyncInterval is the interval of SyncInterval; default 100ms.
	SyncInterval time.Duration
	// Repair quarantines corruption found in the middle of the log
	// instead of failing Open; Repaired reports what was lost.
	Repair bool
	// Logger receives recovery and failure reports; default: discarded.
	Logger *slog.Logger
	// MaxRecordSize bounds a record's payload; default 16 MiB.
	MaxRecordSize int
	// OnSync, when set, is told the duration of every successful sync of
	// a segment (for metrics). It runs on the writer goroutine: keep it
	// short.
	OnSync func(time.Duration)
}

// Pos locates a record: its segment and the offset of its header.
type Pos struct {
	Segment uint64
	Offset  int64
}

// Record is one record read by Replay. Payload is valid only during the
// callback.
type Record struct {
	Pos     Pos
	Type    byte
	Payload []byte
}

// SegmentInfo describes a segment file.
type SegmentInfo struct {
	ID   uint64
	Size int64
}

// Stats are the log's counters since Open.
type Stats struct {
	Records      int64
	BytesWritten int64
	Syncs        int64
	Segments     int
	LastSync     time.Duration
}

// maxPending bounds the bytes Write buffers ahead of the disk; writers
// wait beyond it.
const maxPending = 64 << 20

// Log is a segmented append-only log with group commit. It is safe for
// concurrent use; one writer goroutine owns the files' write side.
type Log struct {
	dir    string
	fs     vfs.FS
	opts   Options
	logger *slog.Logger
	lock   io.Closer

	mu       sync.Mutex
	space    *sync.Cond // signalled when pending bytes drain
	pending  *batch     // records accepted, not yet handed to the writer
	flushing *batch     // records the writer is writing now
	segs     []*segment // ascending; the last one is active
	end      Pos
	failed   error
	closed   bool
	stats    Stats
	writers  int // records of the last batch plus those pending when it completed
	// gatherTarget, when set, is the batch size at which Write signals
	// gathered to end the writer's wait for stragglers.
	gatherTarget int
	gathered     chan struct{}
	repaired     []Damage
	skips        []Damage // quarantined ranges Replay skips

	kick    chan struct{}   // wakes the writer; buffered 1
	syncReq chan chan error // explicit Sync requests
	quit    chan struct{}
	done    chan struct{}
}

type segment struct {
	id        uint64
	f         vfs.File
	written   int64 // bytes of records in the file (durable or not)
	allocated int64 // file size: records plus zero-filled space ahead of them
}

// extentSize is how far ahead of the records a segment file is extended
// with zeros. Overwriting zeros inside the file lets fdatasync flush only
// data; appending would make every sync also commit a new file size.
const extentSize = 4 << 20

var zeros = make([]byte, 1<<20)

// batch is the records of one group commit.
type batch struct {
	chunks []chunk
	bytes  int
	n      int
	done   chan struct{}
	err    error
}

type chunk struct {
	seg  uint64
	off  int64
	data []byte
}

// bufferPool recycles batch buffers: a batch's bytes are dead once
// written, and reusing them spares the append path growing new ones.
var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 256<<10); return &b }}

func getBuffer(size int) []byte {
	if size > 256<<10 {
		return make([]byte, 0, size)
	}
	return (*bufferPool.Get().(*[]byte))[:0]
}

func putBuffer(b []byte) {
	if cap(b) == 256<<10 {
		bufferPool.Put(&b)
	}
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// Commit completes when the records of one Write are durable.
type Commit struct{ b *batch }

// Done is closed when the commit completed; then Err tells how.
func (c *Commit) Done() <-chan struct{} { return c.b.done }

// Err returns nil once the records are durable, or the failure (wrapping
// ErrStorage). Before Done is closed it returns nil.
func (c *Commit) Err() error {
	select {
	case <-c.b.done:
		return c.b.err
	default:
		return nil
	}
}

// Wait waits for the commit; it returns ctx's error if ctx ends first (the
// records may still become durable).
func (c *Commit) Wait(ctx context.Context) error {
	select {
	case <-c.b.done:
		return c.b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Write appends one record of type typ per payload, contiguous and in
// order, and returns their positions and a Commit. It does not wait for
// the disk (only for buffer space when far ahead of it). After a storage
// failure it returns an error wrapping ErrStorage.
func (l *Log) Write(typ byte, payloads ...[]byte) ([]Pos, *Commit, error) {
	if typ == 0 {
		return nil, nil, errors.New("wal: record type 0 is reserved")
	}
	total := 0
	for _, p := range payloads {
		if len(p) > l.opts.MaxRecordSize {
			return nil, nil, fmt.Errorf("wal: record of %d bytes exceeds the limit of %d", len(p), l.opts.MaxRecordSize)
		}
		total += headerSize + len(p)
	}
	l.mu.Lock()
	for l.pending.bytes > maxPending && l.failed == nil && !l.closed {
		l.space.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return nil, nil, ErrClosed
	}
	if l.failed != nil {
		err := l.failed
		l.mu.Unlock()
		return nil, nil, err
	}
	if l.end.Offset > 0 && l.end.Offset+int64(total) > l.opts.SegmentSize {
		l.end = Pos{Segment: l.end.Segment + 1}
	}
	b := l.pending
	var c *chunk
	if n := len(b.chunks); n > 0 && b.chunks[n-1].seg == l.end.Segment {
		c = &b.chunks[n-1]
	} else {
		b.chunks = append(b.chunks, chunk{seg: l.end.Segment, off: l.end.Offset, data: getBuffer(total)})
		c = &b.chunks[len(b.chunks)-1]
	}
	ps := make([]Pos, len(payloads))
	for i, p := range payloads {
		ps[i] = l.end
		c.data = appendRecord(c.data, typ, p)
		l.end.Offset += int64(headerSize + len(p))
	}
	b.bytes += total
	b.n += len(payloads)
	if l.gatherTarget > 0 && b.n >= l.gatherTarget {
		l.gatherTarget = 0
		select {
		case l.gathered <- struct{}{}:
		default:
		}
	}
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return ps, &Commit{b}, nil
}

// Append writes one record and waits until it is durable.
func (l *Log) Append(typ byte, payload []byte) (Pos, error) {
	ps, c, err := l.Write(typ, payload)
	if err != nil {
		return Pos{}, err
	}
	return ps[0], c.Wait(context.Background())
}

// writer is the goroutine that owns the files' write side: it takes the
// pending batch, writes it, syncs per the mode and completes its commits.
// Writes that arrive while it syncs form the next batch: group commit.
func (l *Log) writer() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.opts.Sync == SyncInterval {
		t := time.NewTicker(l.opts.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	dirty := false // written but not synced
	for {
		var reply chan error
		select {
		case <-l.kick:
			if l.opts.Sync == SyncAlways {
				l.gather()
			}
		case reply = <-l.syncReq:
		case <-tick:
			if dirty {
				dirty = l.syncActive() != nil
			}
			continue
		case <-l.quit:
			_ = l.flushPending(true) // a failure is recorded in l.failed, which Close returns
			return
		}
		err := l.flushPending(reply != nil)
		if err == nil && reply == nil {
			dirty = l.opts.Sync != SyncAlways
		} else if reply != nil {
			dirty = false
		}
		if reply != nil {
			if err == nil {
				err = l.failedErr()
			}
			reply <- err
		}
	}
}

// gather waits briefly for writers that are about to join the batch. The
// writers released by the last sync re-enter Write a moment later; without
// waiting for them they would form a second, alternating group and each
// writer would wait two syncs. It waits until the batch holds as many
// records as there were writers when the last sync ended (those it
// released plus those already waiting), at most gatherBudget and never
// more than half the last sync's duration.
func (l *Log) gather() {
	l.mu.Lock()
	target := l.writers
	budget := min(gatherBudget, l.stats.LastSync/2)
	if target <= 1 || budget <= 0 || l.pending.n >= target {
		l.mu.Unlock()
		return
	}
	l.gatherTarget = target
	l.mu.Unlock()
	t := time.NewTimer(budget)
	select {
	case <-l.gathered:
	case <-t.C:
	}
	t.Stop()
	l.mu.Lock()
	l.gatherTarget = 0
	l.mu.Unlock()
	select { // drop a signal that raced with the timer
	case <-l.gathered:
	default:
	}
}

// gatherBudget bounds how long gather holds a batch back.
const gatherBudget = 200 * time.Microsecond

func (l *Log) failedErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// flushPending writes the pending batch (if any) and syncs it per the mode
// (or always when forceSync).
func (l *Log) flushPending(forceSync bool) error {
	l.mu.Lock()
	b := l.pending
	if b.n == 0 && !forceSync {
		l.mu.Unlock()
		return nil
	}
	l.pending = newBatch()
	l.flushing = b
	failed := l.failed
	l.mu.Unlock()

	err := failed
	if err == nil {
		err = l.writeBatch(b, forceSync || l.opts.Sync == SyncAlways)
	}
	l.mu.Lock()
	if err != nil && l.failed == nil {
		l.failed = fmt.Errorf("%w: %v (writes stopped; the failed sync is not retried)", ErrStorage, err)
		l.logger.Error("log write failed; no more writes are accepted", "dir", l.dir, "err", err)
	}
	if l.failed != nil {
		b.err = l.failed
	} else {
		l.stats.Records += int64(b.n)
		l.writers = b.n + l.pending.n
		l.stats.BytesWritten += int64(b.bytes)
	}
	l.flushing = nil
	l.space.Broadcast()
	for i := range b.chunks {
		putBuffer(b.chunks[i].data)
		b.chunks[i].data = nil
	}
	l.mu.Unlock()
	close(b.done)
	return b.err
}

// writeBatch writes b's chunks, starting new segment files as they say.
func (l *Log) writeBatch(b *batch, sync bool) error {
	for _, c := range b.chunks {
		s, err := l.segmentForWrite(c.seg)
		if err != nil {
			return err
		}
		if err := l.extend(s, c.off+int64(len(c.data))); err != nil {
			return err
		}
		if _, err := s.f.WriteAt(c.data, c.off); err != nil {
			return fmt.Errorf("write %s: %w", l.segName(s.id), err)
		}
		l.mu.Lock()
		s.written += int64(len(c.data))
		l.mu.Unlock()
	}
	if sync {
		return l.syncActive()
	}
	return nil
}

// extend zero-fills s ahead of its records until it holds end bytes.
func (l *Log) extend(s *segment, end int64) error {
	if end <= s.allocated {
		return nil
	}
	target := max(end, s.allocated+min(extentSize, l.opts.SegmentSize))
	if target > l.opts.SegmentSize {
		target = max(end, l.opts.SegmentSize)
	}
	for off := s.allocated; off < target; {
		n := min(int64(len(zeros)), target-off)
		if _, err := s.f.WriteAt(zeros[:n], off); err != nil {
			return fmt.Errorf("extend %s: %w", l.segName(s.id), err)
		}
		off += n
	}
	s.allocated = target
	return nil
}

// syncActive fdatasyncs the active segment. A failure is final.
func (l *Log) syncActive() error {
	l.mu.Lock()
	s := l.segs[len(l.segs)-1]
	failed := l.failed
	l.mu.Unlock()
	if failed != nil {
		return failed
	}
	start := time.Now()
	if err := s.f.Sync(); err != nil {
		l.mu.Lock()
		if l.failed == nil {
			l.failed = fmt.Errorf("%w: sync %s: %v (writes stopped; the failed sync is not retried)", ErrStorage, l.segName(s.id), err)
			l.logger.Error("log sync failed; no more writes are accepted", "segment", l.segName(s.id), "err", err)
		}
		err = l.failed
		l.mu.Unlock()
		return err
	}
	took := time.Since(start)
	l.mu.Lock()
	l.stats.Syncs++
	l.stats.LastSync = took
	l.mu.Unlock()
	if l.opts.OnSync != nil {
		l.opts.OnSync(took)
	}
	return nil
}

// segmentForWrite returns the segment id, creating it (after syncing the
// previous one, so that every segment but the newest is complete) when it
// is the next one.
func (l *Log) segmentForWrite(id uint64) (*segment, error) {
	l.mu.Lock()
	active := l.segs[len(l.segs)-1]
	l.mu.Unlock()
	if active.id == id {
		return active, nil
	}
	// Seal the active segment: cut its zero-filled space, so that only
	// the newest segment ever ends in zeros, and sync it.
	if active.allocated > active.written {
		if err := active.f.Truncate(active.written); err != nil {
			return nil, fmt.Errorf("truncate %s: %w", l.segName(active.id), err)
		}
		active.allocated = active.written
	}
	if err := l.syncActive(); err != nil {
		return nil, err
	}
	f, err := l.fs.Create(l.path(l.segName(id)))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", l.segName(id), err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync directory %s: %w", l.dir, err)
	}
	s := &segment{id: id, f: f}
	l.mu.Lock()
	l.segs = append(l.segs, s)
	l.stats.Segments = len(l.segs)
	l.mu.Unlock()
	return s, nil
}

// Sync makes every record written so far durable, whatever the mode.
func (l *Log) Sync() error {
	reply := make(chan error, 1)
	select {
	case l.syncReq <- reply:
	case <-l.done:
		return ErrClosed
	}
	select {
	case err := <-reply:
		return err
	case <-l.done:
		return ErrClosed
	}
}

// ReadAt reads the record at p, verifying its checksum. Records still in
// the write buffer are served from memory. A damaged record gives an error
// wrapping ErrCorrupt that names the segment and offset.
func (l *Log) ReadAt(p Pos) (byte, []byte, error) {
	l.mu.Lock()
	if typ, payload, ok := l.readBuffered(p); ok {
		l.mu.Unlock()
		return typ, payload, nil
	}
	var s *segment
	for _, x := range l.segs {
		if x.id == p.Segment {
			s = x
		}
	}
	closed := l.closed && l.flushing == nil
	l.mu.Unlock()
	if closed {
		return 0, nil, ErrClosed
	}
	if s == nil {
		return 0, nil, fmt.Errorf("wal: read %s offset %d: segment does not exist", l.segName(p.Segment), p.Offset)
	}
	var buf [4096]byte
	n, err := s.f.ReadAt(buf[:], p.Offset)
	if n < headerSize {
		return 0, nil, l.corrupt(p, fmt.Errorf("short read: %v", err))
	}
	typ, payload, _, derr := decodeRecord(buf[:n], l.opts.MaxRecordSize)
	if derr == errIncomplete && n >= headerSize {
		// Larger than the first read: read it whole.
		full := make([]byte, headerSize+int(leUint32(buf[0:4])))
		if m, err := s.f.ReadAt(full, p.Offset); m < len(full) {
			return 0, nil, l.corrupt(p, fmt.Errorf("short read: %v", err))
		}
		typ, payload, _, derr = decodeRecord(full, l.opts.MaxRecordSize)
		if derr != nil {
			return 0, nil, l.corrupt(p, derr)
		}
		return typ, payload, nil
	}
	if derr != nil {
		return 0, nil, l.corrupt(p, derr)
	}
	return typ, append([]byte(nil), payload...), nil
}

func leUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func (l *Log) corrupt(p Pos, err error) error {
	return fmt.Errorf("%w: %s offset %d: %v", ErrCorrupt, l.segName(p.Segment), p.Offset, err)
}

// readBuffered serves a record still in the pending or flushing batch;
// the caller holds l.mu.
func (l *Log) readBuffered(p Pos) (byte, []byte, bool) {
	for _, b := range []*batch{l.flushing, l.pending} {
		if b == nil {
			continue
		}
		for _, c := range b.chunks {
			if c.seg != p.Segment || p.Offset < c.off || p.Offset >= c.off+int64(len(c.data)) {
				continue
			}
			typ, payload, _, err := decodeRecord(c.data[p.Offset-c.off:], l.opts.MaxRecordSize)
			if err != nil {
				return 0, nil, false
			}
			return typ, append([]byte(nil), payload...), true
		}
	}
	return 0, nil, false
}

// EndPos returns the position the next record will get (or the start of
// the next segment, if the next record does not fit).
func (l *Log) EndPos() Pos {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.end
}

// Segments lists the segment files.
func (l *Log) Segments() []SegmentInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]SegmentInfo, len(l.segs))
	for i, s := range l.segs {
		out[i] = SegmentInfo{ID: s.id, Size: s.written}
	}
	return out
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stats
	st.Segments = len(l.segs)
	return st
}

// Remove deletes the segments with ID below before, never the active one,
// and syncs the directory.
func (l *Log) Remove(before uint64) error {
	l.mu.Lock()
	var doomed []*segment
	keep := l.segs[:0:0]
	for i, s := range l.segs {
		if s.id < before && i < len(l.segs)-1 {
			doomed = append(doomed, s)
		} else {
			keep = append(keep, s)
		}
	}
	l.segs = keep
	l.stats.Segments = len(l.segs)
	l.mu.Unlock()
	if len(doomed) == 0 {
		return nil
	}
	var errs []error
	for _, s := range doomed {
		s.f.Close()
		if err := l.fs.Remove(l.path(l.segName(s.id))); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		errs = append(errs, err)
	}
	l.logger.Info("removed old segments", "count", len(doomed), "before", l.segName(before))
	return errors.Join(errs...)
}

// Close writes and syncs what is pending, stops the writer, closes the
// files and releases the directory. It is idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.space.Broadcast()
	l.mu.Unlock()
	close(l.quit)
	<-l.done
	l.mu.Lock()
	err := l.failed
	for _, s := range l.segs {
		s.f.Close()
	}
	l.mu.Unlock()
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

func (l *Log) segName(id uint64) string { return fmt.Sprintf("%020d.log", id) }

func (l *Log) path(name string) string { return vfs.Join(l.dir, name) }

// ReadRequest is one record to read with ReadBatch: its position and
// payload size (as written); ReadBatch fills in Type, Payload or Err.
type ReadRequest struct {
	Pos     Pos
	Size    int
	Type    byte
	Payload []byte
	Err     error
}

// maxReadSpan bounds the bytes one coalesced read covers.
const maxReadSpan = 1 << 20

// ReadBatch reads many records with as few reads as it can: requests for
// records that lie next to each other in a segment are served by one read.
// Each record is checked as ReadAt checks it; failures are per request.
func (l *Log) ReadBatch(reqs []ReadRequest) {
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		pa, pb := reqs[a].Pos, reqs[b].Pos
		if pa.Segment != pb.Segment {
			return cmp.Compare(pa.Segment, pb.Segment)
		}
		return cmp.Compare(pa.Offset, pb.Offset)
	})
	for start := 0; start < len(order); {
		first := &reqs[order[start]]
		end := start + 1
		spanEnd := first.Pos.Offset + int64(headerSize+first.Size)
		for end < len(order) {
			r := &reqs[order[end]]
			if r.Pos.Segment != first.Pos.Segment || r.Pos.Offset != spanEnd || spanEnd-first.Pos.Offset+int64(headerSize+r.Size) > maxReadSpan {
				break
			}
			spanEnd += int64(headerSize + r.Size)
			end++
		}
		if end-start == 1 || first.Size < 0 {
			first.Type, first.Payload, first.Err = l.ReadAt(first.Pos)
			start++
			continue
		}
		l.readSpan(reqs, order[start:end], spanEnd)
		start = end
	}
}

// readSpan reads the contiguous records of reqs (indexes idx, in order)
// ending at spanEnd with one read, falling back to ReadAt per record when
// the span is not all on disk.
func (l *Log) readSpan(reqs []ReadRequest, idx []int, spanEnd int64) {
	first := reqs[idx[0]].Pos
	l.mu.Lock()
	var s *segment
	for _, x := range l.segs {
		if x.id == first.Segment {
			s = x
		}
	}
	onDisk := s != nil && spanEnd <= s.written
	l.mu.Unlock()
	var buf []byte
	if onDisk {
		buf = make([]byte, spanEnd-first.Offset)
		if n, _ := s.f.ReadAt(buf, first.Offset); n < len(buf) {
			onDisk = false
		}
	}
	for _, i := range idx {
		r := &reqs[i]
		if !onDisk {
			r.Type, r.Payload, r.Err = l.ReadAt(r.Pos)
			continue
		}
		typ, payload, _, err := decodeRecord(buf[r.Pos.Offset-first.Offset:], l.opts.MaxRecordSize)
		if err != nil {
			r.Err = l.corrupt(r.Pos, err)
			continue
		}
		r.Type, r.Payload = typ, payload
	}
}
