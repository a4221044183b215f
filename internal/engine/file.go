package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/wal"
)

// fileJournal adapts internal/wal to the engine's journal.
type fileJournal struct {
	l      *wal.Log
	logger *slog.Logger
}

func (f fileJournal) write(typ byte, payloads [][]byte) ([]pos, func(context.Context) error, error) {
	lps, c, err := f.l.Write(typ, payloads...)
	if err != nil {
		return nil, nil, err
	}
	ps := make([]pos, len(lps))
	for i, p := range lps {
		ps[i] = pos{seg: p.Segment, off: p.Offset}
	}
	return ps, c.Wait, nil
}

func (f fileJournal) readBatch(ps []pending) {
	reqs := make([]wal.ReadRequest, len(ps))
	for i, pd := range ps {
		reqs[i] = wal.ReadRequest{Pos: wal.Pos{Segment: pd.p.seg, Offset: pd.p.off}, Size: int(pd.size)}
	}
	f.l.ReadBatch(reqs)
	for i := range ps {
		r := &reqs[i]
		switch {
		case r.Err != nil:
			f.logger.Warn("receive: message record unreadable; skipped", "msg_id", ps[i].d.ID, "err", r.Err)
		case r.Type != recSend && r.Type != recRelocate && r.Type != recPublish && r.Type != recAppend && r.Type != recStreamRelocate:
			f.logger.Error("receive: message points at a record of the wrong type", "msg_id", ps[i].d.ID, "type", r.Type)
		default:
			ps[i].typ, ps[i].payload = r.Type, r.Payload
		}
	}
}

// fileConfig is what a file:// URL configures.
type fileConfig struct {
	dir  string
	opts wal.Options
	// checkpointBytes is how much log is written between checkpoints.
	checkpointBytes int64
}

// parseFileURL reads file://PATH[?sync=always|none|interval=D]
// [&segment_size=N][&repair=true]. PATH may be relative (file://./data) or
// absolute (file:///var/lib/courier).
func parseFileURL(u *url.URL) (fileConfig, error) {
	var c fileConfig
	switch {
	case u.Opaque != "":
		c.dir = u.Opaque
	case u.Host != "":
		c.dir = u.Host + u.Path
	default:
		c.dir = u.Path
	}
	if c.dir == "" {
		return c, driver.Invalid("url", "file:// needs a directory, as in file://./courier-data or file:///var/lib/courier")
	}
	c.dir = filepath.Clean(c.dir)
	c.opts.SegmentSize = 64 << 20
	for key, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch key {
		case "sync":
			mode, every, err := wal.ParseSync(v)
			if err != nil {
				return c, driver.Invalid("url.sync", "%v", err)
			}
			c.opts.Sync, c.opts.SyncInterval = mode, every
		case "segment_size":
			n, err := parseSize(v)
			if err != nil || n < 1<<20 || n > 1<<30 {
				return c, driver.Invalid("url.segment_size", "%q is not a size between 1MiB and 1GiB (use bytes or a KiB/MiB/GiB suffix)", v)
			}
			c.opts.SegmentSize = n
		case "repair":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return c, driver.Invalid("url.repair", "%q is not true or false", v)
			}
			c.opts.Repair = b
		default:
			return c, driver.Invalid("url", "unknown option %q; file:// accepts sync, segment_size and repair", key)
		}
	}
	c.checkpointBytes = c.opts.SegmentSize
	return c, nil
}

// parseSize parses a byte count with an optional KiB, MiB or GiB suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, errors.New("bad size")
	}
	return n * mult, nil
}

// fileConn is the file:// driver: the engine over a log in a directory.
type fileConn struct {
	*Engine
	l   *wal.Log
	cfg fileConfig
	// syncs are the durations of the log's syncs.
	syncs *syncStats
	// maint serializes maintenance (checkpoints, compaction) and guards
	// the fields below it.
	maint          sync.Mutex
	lastCheckpoint wal.Pos
	loggedAt       int64 // Engine.logged at the last checkpoint
	idleTicks      int   // ticks since the last checkpoint
}

func openFile(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	cfg, err := parseFileURL(u)
	if err != nil {
		return nil, err
	}
	cfg.opts.Logger = opts.Logger
	return openDir(cfg, opts)
}

func openDir(cfg fileConfig, opts driver.Options) (*fileConn, error) {
	syncs := newSyncStats()
	cfg.opts.OnSync = syncs.observe
	l, err := wal.Open(cfg.dir, cfg.opts)
	if err != nil {
		return nil, wrapLogErr(err)
	}
	c := &fileConn{l: l, cfg: cfg, syncs: syncs}
	c.Engine = newEngine(fileJournal{l: l, logger: opts.Logger}, opts.Logger)
	if err := c.recover(); err != nil {
		l.Close()
		return nil, err
	}
	c.onTick = c.maintain
	end := c.l.EndPos()
	c.markDurable(pos{seg: end.Segment, off: end.Offset})
	c.start()
	return c, nil
}

// wrapLogErr maps the log's storage failures to driver.ErrStorage.
func wrapLogErr(err error) error {
	if errors.Is(err, wal.ErrStorage) || errors.Is(err, wal.ErrCorrupt) {
		return fmt.Errorf("%w: %v", driver.ErrStorage, err)
	}
	return err
}

// recover restores the last checkpoint and replays the records after it.
func (c *fileConn) recover() error {
	e := c.Engine
	from := wal.Pos{}
	at, state, ok, err := c.l.LastCheckpoint()
	if err != nil {
		return wrapLogErr(err)
	}
	if ok {
		if err := e.restore(state); err != nil {
			return fmt.Errorf("%w: checkpoint at segment %d offset %d: %v", driver.ErrStorage, at.Segment, at.Offset, err)
		}
		from = at
		c.lastCheckpoint = at
	}
	records := 0
	err = c.l.Replay(from, func(r wal.Record) error {
		rec, err := decodeRecord(r.Type, r.Payload)
		if err != nil {
			return fmt.Errorf("segment %d offset %d: %w", r.Pos.Segment, r.Pos.Offset, err)
		}
		records++
		p := pos{seg: r.Pos.Segment, off: r.Pos.Offset}
		return e.apply(r.Type, rec, p, r.Payload)
	})
	if err != nil {
		return fmt.Errorf("%w: replaying the log: %v", driver.ErrStorage, err)
	}
	t := now()
	for _, q := range e.queues {
		q.advance(t, e.forget)
	}
	if e.nonce == 0 {
		e.nonce = randomNonce()
		if _, err := c.l.Append(recMeta, encodeRecord(&metaRecord{Nonce: e.nonce})); err != nil {
			return wrapLogErr(err)
		}
	}
	if e.buses[driver.DefaultBus] == nil {
		rec := &busRecord{BID: e.nextBID, Name: driver.DefaultBus, At: now()}
		if _, err := c.l.Append(recCreateBus, encodeRecord(rec)); err != nil {
			return wrapLogErr(err)
		}
		e.applyCreateBus(rec)
	}
	e.logger.Info("opened data directory", "dir", c.cfg.dir, "queues", len(e.queues), "replayed_records", records, "checkpoint", ok)
	return nil
}

// Close stops the engine, writes a checkpoint so the next open is quick,
// syncs and releases the directory.
func (c *fileConn) Close() error {
	if !c.stop() {
		return nil
	}
	var errs []error
	c.mu.Lock()
	failed := c.failed
	c.mu.Unlock()
	if failed == nil {
		c.maint.Lock()
		errs = append(errs, c.checkpoint())
		c.maint.Unlock()
	}
	errs = append(errs, c.l.Close())
	return wrapLogErr(errors.Join(errs...))
}
