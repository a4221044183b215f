package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/courier-io/courier/driver"
)

// stream is one stream incarnation: its partitions' indexes and its
// consumer groups.
type stream struct {
	sid     uint64
	name    string
	attrs   driver.StreamAttributes
	created int64
	parts   []*partition
	groups  map[string]*cgroup
	next    uint64 // round robin for records without a key

	// signal, when a reader waits, is closed (and cleared) by the next
	// append to any partition.
	signal chan struct{}
}

// partition indexes one partition's retained records; the records
// themselves stay in the log.
type partition struct {
	entries []streamEntry // retained records in offset order, from head
	head    int           // entries before head are trimmed
	end     int64         // next offset to assign
	// durable is the end of the records known to be durable: readers see
	// only offsets below it, so no consumer reads (and commits past) a
	// record that a crash could still take back.
	durable int64
	lastTS  int64 // timestamp of the last append; timestamps never decrease
	bytes   int64 // retained payload bytes

	// Compacted streams only.
	keys  map[string]int64   // key -> offset of its latest record
	dead  map[int64]struct{} // offsets superseded by a later record of their key
	tombs []tombstone        // delete markers in offset order
}

// streamEntry is the index entry of one stream record.
type streamEntry struct {
	offset int64
	ts     int64
	pos    pos
	size   int32
	mem    []byte // mem:// only: the appendRecord payload
}

// tombstone is a delete marker of a compacted stream.
type tombstone struct {
	offset, ts int64
	key        string
}

func newPartition(compact bool) *partition {
	p := &partition{}
	if compact {
		p.keys = make(map[string]int64)
		p.dead = make(map[int64]struct{})
	}
	return p
}

// live returns the retained entries.
func (p *partition) live() []streamEntry { return p.entries[p.head:] }

// first returns the oldest retained offset (end when empty).
func (p *partition) first() int64 {
	if l := p.live(); len(l) > 0 {
		return l[0].offset
	}
	return p.end
}

// find returns the index (in live) of the first entry with offset >= off.
func (p *partition) find(off int64) int {
	l := p.live()
	return sort.Search(len(l), func(i int) bool { return l[i].offset >= off })
}

// findTime returns the index (in live) of the first entry at or after ts.
func (p *partition) findTime(ts int64) int {
	l := p.live()
	return sort.Search(len(l), func(i int) bool { return l[i].ts >= ts })
}

// markDurable makes every record before end durable as far as readers
// are concerned: after recovery, whose records are all on disk.
func (e *Engine) markDurable(end pos) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.acked = end
	for _, s := range e.streams {
		for _, p := range s.parts {
			p.durable = p.end
		}
	}
}

// wake wakes the stream's waiting readers.
func (s *stream) wake() {
	if s.signal != nil {
		close(s.signal)
		s.signal = nil
	}
}

func (s *stream) waitSignal() <-chan struct{} {
	if s.signal == nil {
		s.signal = make(chan struct{})
	}
	return s.signal
}

func (s *stream) info(now int64) driver.StreamInfo {
	info := driver.StreamInfo{Name: s.name, Attributes: s.attrs, CreatedAt: time.Unix(0, s.created)}
	for i, p := range s.parts {
		n := int64(len(p.live()))
		if p.dead != nil {
			n -= int64(len(p.dead))
		}
		info.Partitions = append(info.Partitions, driver.PartitionInfo{Partition: i, First: p.first(), End: p.durable, Records: n, Bytes: p.bytes})
	}
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		info.Groups = append(info.Groups, s.groups[n].info(s, now))
	}
	return info
}

// lockStream takes e.mu and returns the stream named name; on error e.mu
// is released.
func (e *Engine) lockStream(name string, write bool) (*stream, error) {
	e.mu.Lock()
	err := e.usable()
	if write {
		err = e.writable()
	}
	var s *stream
	if err == nil {
		if s = e.streams[name]; s == nil {
			err = fmt.Errorf("stream %q: %w", name, driver.ErrNotFound)
		}
	}
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	return s, nil
}

// CreateStream creates a stream, or returns the existing one if its
// attributes are equal.
func (e *Engine) CreateStream(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if err := driver.ValidateStreamName("name", name); err != nil {
		return driver.StreamInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.StreamInfo{}, err
	}
	e.mu.Lock()
	if err := e.writable(); err != nil {
		e.mu.Unlock()
		return driver.StreamInfo{}, err
	}
	t := now()
	if s := e.streams[name]; s != nil {
		defer e.mu.Unlock()
		if s.attrs != attrs {
			return driver.StreamInfo{}, fmt.Errorf("stream %q exists with other attributes: %w", name, driver.ErrConflict)
		}
		return s.info(t), nil
	}
	rec := &streamRecord{SID: e.nextSID, Name: name, Attrs: attrs, At: t}
	_, wait, err := e.log(recCreateStream, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return driver.StreamInfo{}, err
	}
	e.applyCreateStream(rec)
	info := e.streams[name].info(t)
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// SetStreamAttributes changes retention and may add partitions.
func (e *Engine) SetStreamAttributes(ctx context.Context, name string, attrs driver.StreamAttributes) (driver.StreamInfo, error) {
	if err := attrs.Validate(); err != nil {
		return driver.StreamInfo{}, err
	}
	s, err := e.lockStream(name, true)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	switch {
	case attrs.Compact != s.attrs.Compact:
		err = fmt.Errorf("stream %q: compaction cannot change after creation: %w", name, driver.ErrConflict)
	case attrs.Partitions < s.attrs.Partitions:
		err = fmt.Errorf("stream %q has %d partitions; partitions can be added, never removed: %w", name, s.attrs.Partitions, driver.ErrConflict)
	}
	if err != nil {
		e.mu.Unlock()
		return driver.StreamInfo{}, err
	}
	t := now()
	rec := &streamRecord{SID: s.sid, Name: name, Attrs: attrs, At: t}
	_, wait, err := e.log(recSetStream, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return driver.StreamInfo{}, err
	}
	e.applySetStream(rec)
	info := s.info(t)
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// StreamInfo returns a stream's attributes, partitions and groups.
func (e *Engine) StreamInfo(ctx context.Context, name string) (driver.StreamInfo, error) {
	s, err := e.lockStream(name, false)
	if err != nil {
		return driver.StreamInfo{}, err
	}
	defer e.mu.Unlock()
	t := now()
	e.expireMembers(s, t)
	return s.info(t), nil
}

// ListStreams returns the stream names in order.
func (e *Engine) ListStreams(ctx context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(e.streams))
	for n := range e.streams {
		if !strings.Contains(n, "/") { // archives' streams are listed with their buses
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// DeleteStream deletes a stream, its records and its groups.
func (e *Engine) DeleteStream(ctx context.Context, name string) error {
	s, err := e.lockStream(name, true)
	if err != nil {
		return err
	}
	rec := &sidRecord{SID: s.sid}
	_, wait, err := e.log(recDeleteStream, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyDeleteStream(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

// Append stores records. Records that break a rule of the stream (size,
// partition out of range, no key on a compacted stream) fail alone. It
// returns after every stored record is durable.
func (e *Engine) Append(ctx context.Context, name string, recs []driver.Record) ([]driver.AppendResult, error) {
	if err := driver.ValidateRecords(recs); err != nil {
		return nil, err
	}
	pooled := e.j != nil
	arecs := make([]appendRecord, len(recs))
	payloads := make([][]byte, len(recs))
	if pooled {
		defer func() {
			for _, p := range payloads {
				releaseSend(p)
			}
		}()
	}
	for i := range recs {
		r := &recs[i]
		arecs[i] = appendRecord{Key: r.Key, Value: r.Value, Headers: r.Headers}
		payloads[i] = encodeAppend(&arecs[i], pooled)
	}
	results := make([]driver.AppendResult, len(recs))

	s, err := e.lockStream(name, true)
	if err != nil {
		return nil, err
	}
	t := now()
	stored := make([]int, 0, len(recs))
	ends := make(map[int]int64)   // partition -> next offset within this batch
	lastTS := make(map[int]int64) // partition -> timestamp within this batch
	for i := range recs {
		r := &recs[i]
		field := func() string { return fmt.Sprintf("records[%d]", i) }
		if size := driver.RecordSize(r); size > s.attrs.MaxRecordSize {
			results[i].Err = driver.TooLarge(field(), "record is %d bytes (key, value and headers); stream %q accepts up to %d", size, name, s.attrs.MaxRecordSize)
			continue
		}
		if s.attrs.Compact && len(r.Key) == 0 {
			results[i].Err = driver.Invalid(field()+".key", "stream %q is compacted; every record needs a key", name)
			continue
		}
		part := r.Partition
		switch {
		case part == driver.AnyPartition && len(r.Key) > 0:
			part = driver.PartitionForKey(r.Key, len(s.parts))
		case part == driver.AnyPartition:
			part = int(s.next % uint64(len(s.parts)))
			s.next++
		case part >= len(s.parts):
			results[i].Err = driver.Invalid(field()+".partition", "stream %q has partitions 0 to %d; got %d", name, len(s.parts)-1, part)
			continue
		}
		p := s.parts[part]
		off, ok := ends[part]
		if !ok {
			off = p.end
		}
		ts, ok := lastTS[part]
		if !ok {
			ts = p.lastTS
		}
		ts = max(ts, t)
		ends[part], lastTS[part] = off+1, ts
		a := &arecs[i]
		a.SID, a.Partition, a.Offset, a.Timestamp = s.sid, uint32(part), off, ts
		a.patch(payloads[i])
		results[i] = driver.AppendResult{Partition: part, Offset: off}
		stored = append(stored, i)
	}
	if len(stored) == 0 {
		e.mu.Unlock()
		return results, nil
	}
	out := payloads
	if len(stored) != len(recs) {
		out = make([][]byte, len(stored))
		for k, i := range stored {
			out[k] = payloads[i]
		}
	}
	ps, wait, err := e.log(recAppend, out...)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	for k, i := range stored {
		var p pos
		if ps != nil {
			p = ps[k]
		}
		e.applyAppend(&arecs[i], p, out[k])
	}
	e.mu.Unlock()
	err = e.awaitThen(ctx, wait, func() {
		// The log syncs in order: these records and all before them are
		// durable now.
		for part, end := range ends {
			if part < len(s.parts) {
				p := s.parts[part]
				p.durable = max(p.durable, min(end, p.end))
			}
		}
		s.wake()
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// encodeAppend encodes a record with zero numbers (patched under the
// lock), into a pooled buffer when pooled and small.
func encodeAppend(r *appendRecord, pooled bool) []byte {
	if !pooled || r.sizeHint() > smallPayload {
		return encodeRecord(r)
	}
	e := encoder{b: (*smallPayloads.Get().(*[]byte))[:0]}
	r.encode(&e)
	return e.b
}

// startOffset resolves a position in partition p; the caller holds e.mu.
func startOffset(p *partition, pos driver.Position) (int64, error) {
	switch pos.Kind {
	case "", driver.FromEarliest:
		return p.first(), nil
	case driver.FromLatest:
		return p.end, nil
	case driver.FromOffset:
		if pos.Offset > p.end {
			return 0, driver.Invalid("from.offset", "offset %d is beyond the end of the partition (%d)", pos.Offset, p.end)
		}
		return max(pos.Offset, p.first()), nil
	case driver.FromTime:
		l := p.live()
		if i := p.findTime(pos.Time.UnixNano()); i < len(l) {
			return l[i].offset, nil
		}
		return p.end, nil
	}
	return 0, driver.Invalid("from", "unknown position %q", pos.Kind)
}

// collect returns the entries of p from offset off, up to max records and
// maxBytes (at least one), skipping superseded records of compacted
// streams, and the offset after the last one; the caller holds e.mu.
func collect(p *partition, off int64, max, maxBytes int, dst []streamEntry) ([]streamEntry, int64) {
	l := p.live()
	bytes := 0
	next := off
	for i := p.find(off); i < len(l) && max > 0 && l[i].offset < p.durable; i++ {
		en := l[i]
		if _, dead := p.dead[en.offset]; dead {
			next = en.offset + 1
			continue
		}
		if bytes > 0 && bytes+int(en.size) > maxBytes {
			break
		}
		bytes += int(en.size)
		dst = append(dst, en)
		next = en.offset + 1
		max--
	}
	return dst, next
}

// Read returns records of one partition in offset order.
func (e *Engine) Read(ctx context.Context, name string, req driver.StreamReadRequest) (driver.StreamReadResult, error) {
	if err := req.Validate(); err != nil {
		return driver.StreamReadResult{}, err
	}
	max, maxBytes := req.Max, req.MaxBytes
	if max == 0 {
		max = 100
	}
	if maxBytes == 0 {
		maxBytes = driver.DefaultReadMaxBytes
	}
	deadline := now() + int64(req.Wait)
	var off int64
	for first := true; ; first = false {
		s, err := e.lockStream(name, false)
		if err != nil {
			return driver.StreamReadResult{}, err
		}
		if req.Partition >= len(s.parts) {
			e.mu.Unlock()
			return driver.StreamReadResult{}, driver.Invalid("partition", "stream %q has partitions 0 to %d; got %d", name, len(s.parts)-1, req.Partition)
		}
		p := s.parts[req.Partition]
		if first {
			if off, err = startOffset(p, req.From); err != nil {
				e.mu.Unlock()
				return driver.StreamReadResult{}, err
			}
		}
		off = max64(off, p.first())
		got, next := collect(p, off, max, maxBytes, nil)
		end := p.durable
		t := now()
		if len(got) > 0 || t >= deadline {
			e.mu.Unlock()
			recs, err := e.readEntries(s.name, req.Partition, got)
			return driver.StreamReadResult{Records: recs, Next: next, End: end}, err
		}
		off = next
		signal := s.waitSignal()
		e.mu.Unlock()
		if err := e.sleep(ctx, signal, time.Duration(deadline-t)); err != nil {
			return driver.StreamReadResult{}, err
		}
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// sleep waits for signal, d, ctx or the engine's close.
func (e *Engine) sleep(ctx context.Context, signal <-chan struct{}, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-signal:
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		return driver.ErrClosed
	}
	return nil
}

// readEntries reads and decodes the records of entries, outside the lock.
// Records whose segment is gone (trimmed meanwhile) are left out.
func (e *Engine) readEntries(stream string, part int, entries []streamEntry) ([]driver.StreamRecord, error) {
	ps := make([]pending, len(entries))
	for i, en := range entries {
		ps[i] = pending{p: en.pos, size: en.size, typ: recAppend, payload: en.mem}
	}
	if e.j != nil && len(ps) > 0 {
		e.j.readBatch(ps)
	}
	out := make([]driver.StreamRecord, 0, len(ps))
	for i, pd := range ps {
		if pd.payload == nil {
			continue
		}
		r, err := decodeRecord(recAppend, pd.payload)
		if err != nil {
			return nil, fmt.Errorf("stream %q partition %d offset %d: %w: %v", stream, part, entries[i].offset, driver.ErrStorage, err)
		}
		a := r.(*appendRecord)
		rec := driver.StreamRecord{Partition: int(a.Partition), Offset: a.Offset, Timestamp: time.Unix(0, a.Timestamp), Key: a.Key, Value: a.Value, Headers: a.Headers}
		if rec.Value == nil {
			rec.Value = []byte{}
		}
		out = append(out, rec)
	}
	return out, nil
}

func (e *Engine) applyCreateStream(r *streamRecord) {
	if old := e.streams[r.Name]; old != nil { // only in a damaged log: keep the newer
		e.dropStream(old)
	}
	s := &stream{sid: r.SID, name: r.Name, attrs: r.Attrs, created: r.At, groups: make(map[string]*cgroup)}
	for range r.Attrs.Partitions {
		s.parts = append(s.parts, newPartition(r.Attrs.Compact))
	}
	e.streams[r.Name] = s
	e.streamByID[r.SID] = s
	e.nextSID = max(e.nextSID, r.SID+1)
}

func (e *Engine) applySetStream(r *streamRecord) {
	s := e.streamByID[r.SID]
	if s == nil {
		return
	}
	compact := s.attrs.Compact
	s.attrs = r.Attrs
	s.attrs.Compact = compact
	for len(s.parts) < r.Attrs.Partitions {
		s.parts = append(s.parts, newPartition(compact))
	}
	s.attrs.Partitions = len(s.parts)
	for _, g := range s.groups {
		g.rebalance(s)
	}
	s.wake()
}

func (e *Engine) applyDeleteStream(r *sidRecord) {
	if s := e.streamByID[r.SID]; s != nil {
		e.dropStream(s)
	}
}

func (e *Engine) dropStream(s *stream) {
	for _, p := range s.parts {
		for _, en := range p.live() {
			e.segAdd(en.pos.seg, en.size, -1)
		}
	}
	delete(e.streams, s.name)
	delete(e.streamByID, s.sid)
	s.wake()
}

func (e *Engine) applyAppend(r *appendRecord, at pos, payload []byte) {
	s := e.streamByID[r.SID]
	if s == nil || int(r.Partition) >= len(s.parts) {
		return
	}
	p := s.parts[r.Partition]
	if r.Offset < p.end { // replayed over a snapshot that has it
		return
	}
	en := streamEntry{offset: r.Offset, ts: r.Timestamp, pos: at, size: int32(len(payload))}
	if e.j == nil {
		en.mem = payload
	}
	p.entries = append(p.entries, en)
	p.end = r.Offset + 1
	if e.j == nil { // mem:// has no disk to wait for
		p.durable = p.end
	}
	p.lastTS = max(p.lastTS, r.Timestamp)
	p.bytes += int64(en.size)
	e.segAdd(at.seg, en.size, 1)
	if p.keys != nil {
		key := string(r.Key)
		if old, ok := p.keys[key]; ok {
			p.dead[old] = struct{}{}
		}
		p.keys[key] = r.Offset
		if len(r.Value) == 0 {
			p.tombs = append(p.tombs, tombstone{offset: r.Offset, ts: r.Timestamp, key: key})
		}
	}
	s.wake()
}

// applyStreamRelocate points a retained record at its copy made by
// compaction.
func (e *Engine) applyStreamRelocate(r *appendRecord, at pos, size int) {
	s := e.streamByID[r.SID]
	if s == nil || int(r.Partition) >= len(s.parts) {
		return
	}
	p := s.parts[r.Partition]
	i := p.find(r.Offset)
	l := p.live()
	if i >= len(l) || l[i].offset != r.Offset {
		return
	}
	en := &l[i]
	e.segAdd(en.pos.seg, en.size, -1)
	p.bytes += int64(size) - int64(en.size)
	en.pos, en.size = at, int32(size)
	e.segAdd(at.seg, en.size, 1)
}

// trimStreams applies retention to every stream at now: records older than
// the retention period or beyond the partition's byte budget are dropped
// from the head, expired delete markers of compacted streams are dropped,
// and superseded records are cleared from the index once they are many.
// The caller holds e.mu.
func (e *Engine) trimStreams(now int64) {
	for _, s := range e.streams {
		for _, p := range s.parts {
			e.trimPartition(s, p, now)
		}
		e.expireMembers(s, now)
	}
}

func (e *Engine) trimPartition(s *stream, p *partition, now int64) {
	a := &s.attrs
	trimmed := false
	for p.head < len(p.entries) {
		en := p.entries[p.head]
		old := a.Retention > 0 && en.ts+int64(a.Retention) <= now
		big := a.RetentionBytes > 0 && p.bytes > a.RetentionBytes
		if !old && !big {
			break
		}
		e.segAdd(en.pos.seg, en.size, -1)
		p.bytes -= int64(en.size)
		if p.dead != nil {
			delete(p.dead, en.offset)
		}
		p.entries[p.head] = streamEntry{}
		p.head++
		trimmed = true
	}
	if p.keys != nil {
		first := p.first()
		for len(p.tombs) > 0 && (p.tombs[0].ts+int64(a.DeleteRetention) <= now || p.tombs[0].offset < first) {
			tb := p.tombs[0]
			if p.keys[tb.key] == tb.offset {
				delete(p.keys, tb.key)
				if tb.offset >= first {
					p.dead[tb.offset] = struct{}{}
				}
			}
			p.tombs = p.tombs[1:]
		}
		// Keys whose latest record was trimmed are gone.
		if trimmed {
			for k, off := range p.keys {
				if off < first {
					delete(p.keys, k)
				}
			}
		}
		if len(p.dead) > 64 && len(p.dead) > len(p.live())/2 {
			e.dropDead(p)
		}
	}
	if p.head > 1024 && p.head > len(p.entries)/2 {
		p.entries = append([]streamEntry(nil), p.entries[p.head:]...)
		p.head = 0
	}
}

// dropDead removes superseded records from a compacted partition's index.
func (e *Engine) dropDead(p *partition) {
	kept := make([]streamEntry, 0, len(p.live())-len(p.dead))
	for _, en := range p.live() {
		if _, dead := p.dead[en.offset]; dead {
			e.segAdd(en.pos.seg, en.size, -1)
			p.bytes -= int64(en.size)
			continue
		}
		kept = append(kept, en)
	}
	p.entries, p.head = kept, 0
	clear(p.dead)
}
