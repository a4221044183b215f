package wal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/courier-io/courier/internal/wal/vfs"
)

// Damage is a range of the log that recovery quarantined (Options.Repair)
// or, at the tail, truncated.
type Damage struct {
	Segment uint64
	Offset  int64
	Length  int64
	// Reason says what was wrong.
	Reason string
	// Quarantine names the file the damaged bytes were copied to; empty
	// for a truncated torn tail.
	Quarantine string
}

const (
	lockName       = "LOCK"
	checkpointName = "CHECKPOINT"
	quarantineDir  = "quarantine"
	quarantineIdx  = "index"
)

// Open opens (or creates) the log in dir. It takes an exclusive lock on
// the directory, loads the last checkpoint and checks every record after
// it: a torn tail of the newest segment is truncated and logged;
// corruption anywhere else fails Open with an error naming the segment and
// offset, unless opts.Repair quarantines the damaged range.
func Open(dir string, opts Options) (*Log, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = 64 << 20
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.MaxRecordSize <= 0 {
		opts.MaxRecordSize = 16 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	fs := opts.FS
	if err := fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	lock, err := fs.Lock(vfs.Join(dir, lockName))
	if err != nil {
		if errors.Is(err, vfs.ErrLocked) {
			return nil, fmt.Errorf("data directory %s is %v", dir, strings.TrimSuffix(err.Error(), ": "+vfs.ErrLocked.Error()))
		}
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, err)
	}
	l := &Log{
		dir: dir, fs: fs, opts: opts, logger: opts.Logger, lock: lock,
		pending:  newBatch(),
		kick:     make(chan struct{}, 1),
		gathered: make(chan struct{}, 1),
		syncReq:  make(chan chan error),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	l.space = sync.NewCond(&l.mu)
	if err := l.recover(); err != nil {
		for _, s := range l.segs {
			s.f.Close()
		}
		lock.Close()
		return nil, err
	}
	go l.writer()
	return l, nil
}

// recover finds the segments, checks the records after the checkpoint and
// opens the newest segment for appending.
func (l *Log) recover() error {
	names, err := l.fs.List(l.dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", l.dir, err)
	}
	var ids []uint64
	for _, n := range names {
		if id, ok := parseSegName(n); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if err := l.loadQuarantine(); err != nil {
		return err
	}
	at, _, hasCkpt, err := l.LastCheckpoint()
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		if hasCkpt {
			return fmt.Errorf("%w: %s has a checkpoint at %s but no segment files", ErrCorrupt, l.dir, l.segName(at.Segment))
		}
		f, err := l.fs.Create(l.path(l.segName(1)))
		if err != nil {
			return fmt.Errorf("create %s: %w", l.segName(1), err)
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			f.Close()
			return fmt.Errorf("sync directory %s: %w", l.dir, err)
		}
		l.segs = []*segment{{id: 1, f: f}}
		l.end = Pos{Segment: 1}
		l.stats.Segments = 1
		return nil
	}
	if hasCkpt && (at.Segment < ids[0] || at.Segment > ids[len(ids)-1]) {
		return fmt.Errorf("%w: the checkpoint is at %s, outside the segments present (%s..%s)", ErrCorrupt, l.segName(at.Segment), l.segName(ids[0]), l.segName(ids[len(ids)-1]))
	}
	for i, id := range ids {
		newest := i == len(ids)-1
		var f vfs.File
		if newest {
			f, err = l.fs.OpenReadWrite(l.path(l.segName(id)))
		} else {
			f, err = l.fs.Open(l.path(l.segName(id)))
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", l.segName(id), err)
		}
		s := &segment{id: id, f: f}
		l.segs = append(l.segs, s)
		size, err := f.Size()
		if err != nil {
			return fmt.Errorf("stat %s: %w", l.segName(id), err)
		}
		s.written, s.allocated = size, size
		if id < at.Segment {
			continue // covered by the checkpoint; read back on demand
		}
		from := int64(0)
		if id == at.Segment {
			from = at.Offset
		}
		if err := l.check(s, from, newest); err != nil {
			return err
		}
	}
	last := l.segs[len(l.segs)-1]
	l.end = Pos{Segment: last.id, Offset: last.written}
	l.stats.Segments = len(l.segs)
	return nil
}

func parseSegName(n string) (uint64, bool) {
	if len(n) != 24 || !strings.HasSuffix(n, ".log") {
		return 0, false
	}
	id, err := strconv.ParseUint(n[:20], 10, 64)
	return id, err == nil && id > 0
}

// readSegment reads a whole segment into memory.
func (l *Log) readSegment(s *segment) ([]byte, error) {
	buf := make([]byte, s.written)
	n, err := s.f.ReadAt(buf, 0)
	if int64(n) < s.written {
		return nil, fmt.Errorf("read %s: %v", l.segName(s.id), err)
	}
	return buf, nil
}

// check validates the records of s from offset from, truncating a torn
// tail of the newest segment and quarantining (or reporting) other damage.
func (l *Log) check(s *segment, from int64, newest bool) error {
	data, err := l.readSegment(s)
	if err != nil {
		return err
	}
	off := from
	for off < int64(len(data)) {
		if d, ok := l.skipAt(s.id, off); ok {
			off += d.Length
			continue
		}
		_, _, n, derr := decodeRecord(data[off:], l.opts.MaxRecordSize)
		if derr == nil {
			off += int64(n)
			continue
		}
		if newest && allZero(data[off:]) {
			s.written = off // the zero-filled space ahead of the records
			return nil
		}
		next := l.resync(data, off+1)
		if newest && next < 0 {
			lost := int64(len(data)) - off
			if err := s.f.Truncate(off); err != nil {
				return fmt.Errorf("truncate torn tail of %s at offset %d: %w", l.segName(s.id), off, err)
			}
			if err := s.f.Sync(); err != nil {
				return fmt.Errorf("%w: sync %s after truncating its torn tail: %v", ErrStorage, l.segName(s.id), err)
			}
			s.written, s.allocated = off, off
			l.logger.Warn("truncated a torn tail (a write cut short by a crash)", "segment", l.segName(s.id), "offset", off, "bytes", lost, "reason", derr.Error())
			l.repaired = append(l.repaired, Damage{Segment: s.id, Offset: off, Length: lost, Reason: "torn tail: " + derr.Error()})
			return nil
		}
		end := next
		if end < 0 {
			end = int64(len(data))
		}
		if !l.opts.Repair {
			what := "valid records follow it"
			if !newest {
				what = "it is not the newest segment"
			}
			return fmt.Errorf("%w: %s offset %d: %v; %s, so this is not a torn write. Open with repair to quarantine bytes %d..%d and lose the records in them",
				ErrCorrupt, l.segName(s.id), off, derr, what, off, end)
		}
		if err := l.quarantine(s.id, off, data[off:end], derr.Error()); err != nil {
			return err
		}
		off = end
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// resync returns the offset of the first valid record at or after from,
// or -1.
func (l *Log) resync(data []byte, from int64) int64 {
	for off := from; off+headerSize <= int64(len(data)); off++ {
		if _, _, _, err := decodeRecord(data[off:], l.opts.MaxRecordSize); err == nil {
			return off
		}
	}
	return -1
}

// quarantine copies damaged bytes to the quarantine directory and records
// the range so that reads and Replay skip it from now on.
func (l *Log) quarantine(seg uint64, off int64, bad []byte, reason string) error {
	qdir := l.path(quarantineDir)
	if err := l.fs.MkdirAll(qdir); err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	name := fmt.Sprintf("%020d-%d.bin", seg, off)
	f, err := l.fs.Create(vfs.Join(qdir, name))
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	_, err = f.Write(bad)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", name, err)
	}
	d := Damage{Segment: seg, Offset: off, Length: int64(len(bad)), Reason: reason, Quarantine: vfs.Join(quarantineDir, name)}
	l.skips = append(l.skips, d)
	if err := l.saveQuarantine(); err != nil {
		return err
	}
	l.repaired = append(l.repaired, d)
	l.logger.Error("quarantined a damaged range of the log; the records in it are lost",
		"segment", l.segName(seg), "offset", off, "bytes", len(bad), "reason", reason, "copy", d.Quarantine)
	return nil
}

// saveQuarantine rewrites the quarantine index atomically.
func (l *Log) saveQuarantine() error {
	var b bytes.Buffer
	for _, d := range l.skips {
		fmt.Fprintf(&b, "%d %d %d %s\n", d.Segment, d.Offset, d.Length, d.Quarantine)
	}
	return l.writeAtomic(vfs.Join(quarantineDir, quarantineIdx), b.Bytes())
}

func (l *Log) loadQuarantine() error {
	f, err := l.fs.Open(l.path(vfs.Join(quarantineDir, quarantineIdx)))
	if err != nil {
		return nil // no quarantine
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return err
	}
	data := make([]byte, min(size, 1<<20))
	n, _ := f.ReadAt(data, 0)
	sc := bufio.NewScanner(bytes.NewReader(data[:n]))
	for line := 1; sc.Scan(); line++ {
		var d Damage
		if _, err := fmt.Sscanf(sc.Text(), "%d %d %d %s", &d.Segment, &d.Offset, &d.Length, &d.Quarantine); err != nil || d.Length <= 0 {
			return fmt.Errorf("%w: %s line %d: %q", ErrCorrupt, vfs.Join(quarantineDir, quarantineIdx), line, sc.Text())
		}
		l.skips = append(l.skips, d)
	}
	return nil
}

// skipAt returns the quarantined range starting at seg/off.
func (l *Log) skipAt(seg uint64, off int64) (Damage, bool) {
	for _, d := range l.skips {
		if d.Segment == seg && d.Offset == off {
			return d, true
		}
	}
	return Damage{}, false
}

// Repaired reports the ranges recovery truncated or quarantined when the
// log was opened.
func (l *Log) Repaired() []Damage { return slices.Clone(l.repaired) }

// writeAtomic writes name (relative to the log's directory) through a
// temporary file, fsync, rename and directory fsync.
func (l *Log) writeAtomic(name string, data []byte) error {
	tmp := l.path(name + ".tmp")
	f, err := l.fs.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := l.fs.Rename(tmp, l.path(name)); err != nil {
		return err
	}
	dir := l.dir
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir = l.path(name[:i])
	}
	return l.fs.SyncDir(dir)
}

// checkpointMagic starts the checkpoint file.
var checkpointMagic = []byte("CRCKPT01")

// Checkpoint durably stores state as the snapshot of everything before at:
// recovery then starts at at. It replaces the previous checkpoint
// atomically.
func (l *Log) Checkpoint(at Pos, state []byte) error {
	b := make([]byte, 0, len(checkpointMagic)+24+len(state))
	b = append(b, checkpointMagic...)
	b = binary.LittleEndian.AppendUint64(b, at.Segment)
	b = binary.LittleEndian.AppendUint64(b, uint64(at.Offset))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(state)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(state, castagnoli))
	b = append(b, state...)
	if err := l.writeAtomic(checkpointName, b); err != nil {
		return fmt.Errorf("%w: checkpoint: %v", ErrStorage, err)
	}
	return nil
}

// LastCheckpoint returns the last checkpoint; ok is false when there is
// none. A damaged checkpoint is an error wrapping ErrCorrupt.
func (l *Log) LastCheckpoint() (at Pos, state []byte, ok bool, err error) {
	f, err := l.fs.Open(l.path(checkpointName))
	if err != nil {
		return Pos{}, nil, false, nil
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return Pos{}, nil, false, err
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, l.path(checkpointName), why)
	}
	hdr := len(checkpointMagic) + 24
	if size < int64(hdr) || size > 1<<34 {
		return Pos{}, nil, false, bad(fmt.Sprintf("size %d", size))
	}
	data := make([]byte, size)
	if n, err := f.ReadAt(data, 0); int64(n) < size && err != io.EOF {
		return Pos{}, nil, false, bad(err.Error())
	}
	if !bytes.Equal(data[:len(checkpointMagic)], checkpointMagic) {
		return Pos{}, nil, false, bad("bad magic")
	}
	p := data[len(checkpointMagic):]
	at = Pos{Segment: binary.LittleEndian.Uint64(p[0:8]), Offset: int64(binary.LittleEndian.Uint64(p[8:16]))}
	n := binary.LittleEndian.Uint32(p[16:20])
	sum := binary.LittleEndian.Uint32(p[20:24])
	state = data[hdr:]
	if int(n) != len(state) || crc32.Checksum(state, castagnoli) != sum {
		return Pos{}, nil, false, bad("checksum mismatch")
	}
	return at, state, true, nil
}

// Replay calls fn for every record from from to the end of the log, in
// order, skipping quarantined ranges. It stops at fn's first error.
func (l *Log) Replay(from Pos, fn func(Record) error) error {
	l.mu.Lock()
	segs := slices.Clone(l.segs)
	l.mu.Unlock()
	for _, s := range segs {
		if s.id < from.Segment {
			continue
		}
		data, err := l.readSegment(s)
		if err != nil {
			return err
		}
		off := int64(0)
		if s.id == from.Segment {
			off = from.Offset
		}
		for off < int64(len(data)) {
			if d, ok := l.skipAt(s.id, off); ok {
				off += d.Length
				continue
			}
			typ, payload, n, err := decodeRecord(data[off:], l.opts.MaxRecordSize)
			if err != nil {
				return l.corrupt(Pos{Segment: s.id, Offset: off}, err)
			}
			if err := fn(Record{Pos: Pos{Segment: s.id, Offset: off}, Type: typ, Payload: payload}); err != nil {
				return err
			}
			off += int64(n)
		}
	}
	return nil
}
