package engine

import (
	"slices"

	"github.com/courier-io/courier/internal/wal"
)

// Disk use tracks live data: the maintenance loop checkpoints the index,
// copies the few live messages out of sparse old segments (compaction) and
// deletes the segments that nothing references any more.

const (
	// checkpointIdleTicks checkpoints a log that grew less than
	// checkpointBytes once this many maintenance ticks passed.
	checkpointIdleTicks = 30
	// compactMaxBytes bounds the bytes relocated per maintenance tick.
	compactMaxBytes = 64 << 20
)

// maintain runs once per maintenance tick.
func (c *fileConn) maintain() {
	c.maint.Lock()
	defer c.maint.Unlock()
	c.mu.Lock()
	grown := c.logged - c.loggedAt
	failed := c.failed != nil
	c.mu.Unlock()
	c.idleTicks++
	if failed || grown == 0 || (grown < c.cfg.checkpointBytes && c.idleTicks < checkpointIdleTicks) {
		return
	}
	c.compact()
	if err := c.checkpoint(); err != nil {
		c.logger.Error("checkpoint failed", "err", err)
		return
	}
	c.removeSegments()
}

// checkpoint syncs the log and stores a snapshot of the index taken at the
// log's end.
func (c *fileConn) checkpoint() error {
	c.mu.Lock()
	at := c.l.EndPos()
	state := c.snapshot()
	logged := c.logged
	c.mu.Unlock()
	// Records before at must be durable before a checkpoint claims them.
	if err := c.l.Sync(); err != nil {
		c.mu.Lock()
		c.fail(err)
		c.mu.Unlock()
		return err
	}
	// Everything before at is durable now: messages relocated by
	// compaction become deliverable again.
	c.mu.Lock()
	if p := (pos{seg: at.Segment, off: at.Offset}); c.acked.before(p) {
		c.acked = p
		for _, q := range c.queues {
			q.wake()
		}
	}
	c.mu.Unlock()
	if err := c.l.Checkpoint(at, state); err != nil {
		return err
	}
	c.lastCheckpoint, c.loggedAt, c.idleTicks = at, logged, 0
	return nil
}

// removeSegments deletes the segments before both the last checkpoint and
// the oldest segment holding a live message.
func (c *fileConn) removeSegments() {
	c.mu.Lock()
	before := c.lastCheckpoint.Segment
	for seg := range c.segLive {
		before = min(before, seg)
	}
	c.mu.Unlock()
	if err := c.l.Remove(before); err != nil {
		c.logger.Error("removing old segments failed", "before", before, "err", err)
	}
}

// relocation is a live message (qid, seq) or retained stream record (sid,
// partition, offset) to copy out of a sparse segment.
type relocation struct {
	qid, seq  uint64
	sid       uint64
	partition uint32
	offset    int64
	from      pos
}

// compact copies the live messages of old segments that are less than half
// full of live data to the log's end, so the segments can be deleted.
func (c *fileConn) compact() {
	c.mu.Lock()
	active := c.l.EndPos().Segment
	var sparse []uint64
	budget := int64(compactMaxBytes)
	for seg, use := range c.segLive {
		if seg < active && use.bytes < c.cfg.opts.SegmentSize/2 && use.bytes <= budget {
			sparse = append(sparse, seg)
			budget -= use.bytes
		}
	}
	var moves []relocation
	if len(sparse) > 0 {
		for _, q := range c.queues {
			for _, m := range q.msgs {
				if slices.Contains(sparse, m.pos.seg) {
					moves = append(moves, relocation{qid: q.qid, seq: m.seq, from: m.pos})
				}
			}
		}
		for _, st := range c.streams {
			for i, p := range st.parts {
				for _, en := range p.live() {
					if slices.Contains(sparse, en.pos.seg) {
						moves = append(moves, relocation{sid: st.sid, partition: uint32(i), offset: en.offset, from: en.pos})
					}
				}
			}
		}
	}
	c.mu.Unlock()
	if len(moves) == 0 {
		return
	}
	slices.SortFunc(moves, func(a, b relocation) int {
		if a.from.seg != b.from.seg {
			return int(a.from.seg) - int(b.from.seg)
		}
		return int(a.from.off - b.from.off)
	})
	const batch = 256
	for len(moves) > 0 {
		n := min(batch, len(moves))
		c.relocate(moves[:n])
		moves = moves[n:]
	}
}

// relocate copies one batch: stream records and messages.
func (c *fileConn) relocate(moves []relocation) {
	var msgs []relocation
	for _, mv := range moves {
		if mv.sid != 0 {
			c.relocateRecord(mv)
		} else {
			msgs = append(msgs, mv)
		}
	}
	if len(msgs) > 0 {
		c.relocateMessages(msgs)
	}
}

// relocateRecord copies a retained stream record: it is read without the
// lock, then rewritten under it if the record is still where it was.
func (c *fileConn) relocateRecord(mv relocation) {
	typ, payload, err := c.l.ReadAt(wal.Pos{Segment: mv.from.seg, Offset: mv.from.off})
	if err != nil || (typ != recAppend && typ != recStreamRelocate) {
		return
	}
	r, err := decodeRecord(recAppend, payload)
	if err != nil {
		return
	}
	rec := r.(*appendRecord)
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streamByID[mv.sid]
	if st == nil || int(mv.partition) >= len(st.parts) {
		return
	}
	p := st.parts[mv.partition]
	i := p.find(mv.offset)
	if l := p.live(); i >= len(l) || l[i].offset != mv.offset || l[i].pos != mv.from {
		return
	}
	copied := encodeRecord(rec)
	ps, _, err := c.log(recStreamRelocate, copied)
	if err != nil {
		return
	}
	c.applyStreamRelocate(rec, ps[0], len(copied))
}

// relocateMessages copies one batch of messages: their records are read without
// the lock, then rewritten under it if the message is still there.
func (c *fileConn) relocateMessages(moves []relocation) {
	recs := make([]*sendRecord, len(moves))
	for i, mv := range moves {
		typ, payload, err := c.l.ReadAt(wal.Pos{Segment: mv.from.seg, Offset: mv.from.off})
		if err != nil {
			continue
		}
		recs[i] = c.relocated(typ, payload, mv.seq)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, mv := range moves {
		q := c.byID[mv.qid]
		if recs[i] == nil || q == nil {
			continue
		}
		m := q.msgs[mv.seq]
		if m == nil || m.pos != mv.from {
			continue
		}
		recs[i].QID = mv.qid
		payload := encodeRecord(recs[i])
		ps, _, err := c.log(recRelocate, payload)
		if err != nil {
			return
		}
		c.applyRelocate(recs[i], ps[0], len(payload))
	}
}

// relocated returns the send record that replaces message seq's record
// (of type typ) in compaction, or nil if the record holds no such message.
// A message published to a topic becomes a send record of its own, its
// body rendered as its subscription delivers it.
func (c *fileConn) relocated(typ byte, payload []byte, seq uint64) *sendRecord {
	if typ == recRelocate {
		typ = recSend
	}
	r, err := decodeRecord(typ, payload)
	if err != nil {
		return nil
	}
	switch r := r.(type) {
	case *sendRecord:
		return r
	case *publishRecord:
		tg, ok := r.target(seq)
		if !ok {
			return nil
		}
		body, headers := r.rendered(tg, c.messageID(r.Seq))
		return &sendRecord{Seq: seq, FIFOSeq: tg.FIFOSeq, SentAt: r.PublishedAt, VisibleAt: r.PublishedAt, Group: r.Group, DedupID: r.DedupID, Headers: headers, Body: body}
	}
	return nil
}
