package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

// archive keeps a bus's events (all, or those matching its pattern) in a
// one-partition stream of its own, with the archive's retention.
type archive struct {
	bus     *bus
	name    string
	spec    driver.Archive
	sid     uint64
	created int64
	pattern *pattern.Pattern // nil: every event
}

// archiveStreamAttributes are the attributes of an archive's stream.
func archiveStreamAttributes(a driver.Archive) driver.StreamAttributes {
	attrs := driver.DefaultStreamAttributes()
	attrs.Retention = a.Retention
	return attrs
}

// CreateArchive creates an archive of a bus.
func (e *Engine) CreateArchive(ctx context.Context, busName, name string, spec driver.Archive) (driver.ArchiveInfo, error) {
	if err := driver.ValidateArchiveName("name", name); err != nil {
		return driver.ArchiveInfo{}, err
	}
	if err := spec.Normalize(); err != nil {
		return driver.ArchiveInfo{}, err
	}
	specJSON, err := marshalSpec(spec)
	if err != nil {
		return driver.ArchiveInfo{}, err
	}
	b, err := e.lockBus(busName, true)
	if err != nil {
		return driver.ArchiveInfo{}, err
	}
	if a := b.archives[name]; a != nil {
		defer e.mu.Unlock()
		if old, _ := marshalSpec(a.spec); string(old) != string(specJSON) {
			return driver.ArchiveInfo{}, fmt.Errorf("bus %q: archive %q exists with other settings: %w", busName, name, driver.ErrConflict)
		}
		return e.archiveInfo(a), nil
	}
	at := now()
	sname := archiveStreamName(busName, name)
	if s := e.streams[sname]; s != nil { // left over in a damaged log
		e.dropStream(s)
	}
	sr := &streamRecord{SID: e.nextSID, Name: sname, Attrs: archiveStreamAttributes(spec), At: at}
	if _, _, err := e.log(recCreateStream, encodeRecord(sr)); err != nil {
		e.mu.Unlock()
		return driver.ArchiveInfo{}, err
	}
	e.applyCreateStream(sr)
	rec := &archiveRecord{BID: b.bid, Name: name, Spec: specJSON, SID: sr.SID, At: at}
	_, wait, err := e.log(recCreateArchive, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return driver.ArchiveInfo{}, err
	}
	e.applyCreateArchive(rec)
	info := e.archiveInfo(b.archives[name])
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// archiveInfo describes a; the caller holds e.mu.
func (e *Engine) archiveInfo(a *archive) driver.ArchiveInfo {
	info := driver.ArchiveInfo{Bus: a.bus.name, Name: a.name, Archive: a.spec, CreatedAt: time.Unix(0, a.created)}
	if s := e.streamByID[a.sid]; s != nil && len(s.parts) > 0 {
		p := s.parts[0]
		info.Events = int64(len(p.live()))
		info.Bytes = p.bytes
	}
	return info
}

// ArchiveInfo returns an archive.
func (e *Engine) ArchiveInfo(ctx context.Context, busName, name string) (driver.ArchiveInfo, error) {
	b, err := e.lockBus(busName, false)
	if err != nil {
		return driver.ArchiveInfo{}, err
	}
	defer e.mu.Unlock()
	a := b.archives[name]
	if a == nil {
		return driver.ArchiveInfo{}, fmt.Errorf("bus %q has no archive %q: %w", busName, name, driver.ErrNotFound)
	}
	return e.archiveInfo(a), nil
}

// ListArchives returns a bus's archives by name.
func (e *Engine) ListArchives(ctx context.Context, busName string) ([]driver.ArchiveInfo, error) {
	b, err := e.lockBus(busName, false)
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	out := make([]driver.ArchiveInfo, 0, len(b.archives))
	for _, a := range b.archives {
		out = append(out, e.archiveInfo(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteArchive deletes an archive and its events.
func (e *Engine) DeleteArchive(ctx context.Context, busName, name string) error {
	b, err := e.lockBus(busName, true)
	if err != nil {
		return err
	}
	if b.archives[name] == nil {
		e.mu.Unlock()
		return fmt.Errorf("bus %q has no archive %q: %w", busName, name, driver.ErrNotFound)
	}
	rec := &busItemRecord{BID: b.bid, Name: name}
	_, wait, err := e.log(recDeleteArchive, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyDeleteArchive(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

func (e *Engine) applyCreateArchive(rec *archiveRecord) {
	b := e.busByID[rec.BID]
	if b == nil {
		return
	}
	var spec driver.Archive
	if err := json.Unmarshal(rec.Spec, &spec); err != nil {
		e.logger.Error("archive record unreadable; archive skipped", "bus", b.name, "archive", rec.Name, "err", err)
		return
	}
	if old := b.archives[rec.Name]; old != nil {
		e.dropArchive(old)
	}
	a := &archive{bus: b, name: rec.Name, spec: spec, sid: rec.SID, created: rec.At}
	a.pattern, _ = driver.CompilePattern("pattern", spec.Pattern)
	b.archives[rec.Name] = a
	b.reroute()
}

func (e *Engine) applyDeleteArchive(rec *busItemRecord) {
	b := e.busByID[rec.BID]
	if b == nil {
		return
	}
	if a := b.archives[rec.Name]; a != nil {
		e.dropArchive(a)
		b.reroute()
	}
}

// dropArchive removes an archive and its stream.
func (e *Engine) dropArchive(a *archive) {
	if s := e.streamByID[a.sid]; s != nil {
		e.dropStream(s)
	}
	delete(a.bus.archives, a.name)
}

// replay is a replay's state. next is the archive offset it goes on from.
type replay struct {
	info   driver.ReplayInfo
	next   int64
	cancel context.CancelFunc // running replays of a live engine
}

// replayState is the stored form of a replay.
type replayState struct {
	Info driver.ReplayInfo `json:"info"`
	Next int64             `json:"next"`
}

// logReplay stores rp's state; the caller holds e.mu.
func (e *Engine) logReplay(rp *replay) (func(context.Context) error, error) {
	state, err := marshalSpec(replayState{Info: rp.info, Next: rp.next})
	if err != nil {
		return nil, err
	}
	rec := &replayRecord{Name: rp.info.Name, State: state}
	_, wait, err := e.log(recReplay, encodeRecord(rec))
	if err != nil {
		return nil, err
	}
	e.applyReplay(rec)
	return wait, nil
}

func (e *Engine) applyReplay(rec *replayRecord) {
	var st replayState
	if err := json.Unmarshal(rec.State, &st); err != nil {
		e.logger.Error("replay record unreadable; replay skipped", "replay", rec.Name, "err", err)
		return
	}
	rp := e.replays[rec.Name]
	if rp == nil {
		rp = &replay{}
		e.replays[rec.Name] = rp
	}
	rp.info, rp.next = st.Info, st.Next
}

// StartReplay starts re-sending an archive's events to its bus.
func (e *Engine) StartReplay(ctx context.Context, name string, spec driver.Replay) (driver.ReplayInfo, error) {
	if err := driver.ValidateReplayName("name", name); err != nil {
		return driver.ReplayInfo{}, err
	}
	if err := spec.Normalize(); err != nil {
		return driver.ReplayInfo{}, err
	}
	b, err := e.lockBus(spec.Bus, true)
	if err != nil {
		return driver.ReplayInfo{}, err
	}
	info, wait, err := e.startReplayLocked(b, name, spec)
	e.mu.Unlock()
	if err != nil {
		return driver.ReplayInfo{}, err
	}
	return info, e.await(ctx, wait)
}

// startReplayLocked records a new replay and starts it; the caller holds
// e.mu.
func (e *Engine) startReplayLocked(b *bus, name string, spec driver.Replay) (driver.ReplayInfo, func(context.Context) error, error) {
	if e.replays[name] != nil {
		return driver.ReplayInfo{}, nil, fmt.Errorf("replay %q: %w", name, driver.ErrExists)
	}
	a := b.archives[spec.Archive]
	if a == nil {
		return driver.ReplayInfo{}, nil, fmt.Errorf("bus %q has no archive %q: %w", spec.Bus, spec.Archive, driver.ErrNotFound)
	}
	s := e.streamByID[a.sid]
	if s == nil {
		return driver.ReplayInfo{}, nil, fmt.Errorf("archive %q lost its events: %w", spec.Archive, driver.ErrStorage)
	}
	start, _ := startOffset(s.parts[0], driver.Position{Kind: driver.FromTime, Time: spec.Start})
	rp := &replay{info: driver.ReplayInfo{Name: name, Replay: spec, State: driver.ReplayRunning, StartedAt: time.Unix(0, now()).UTC()}, next: start}
	wait, err := e.logReplay(rp)
	if err != nil {
		return driver.ReplayInfo{}, nil, err
	}
	rp = e.replays[name]
	e.startReplay(rp)
	return rp.info, wait, nil
}

// ReplayInfo returns a replay.
func (e *Engine) ReplayInfo(ctx context.Context, name string) (driver.ReplayInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return driver.ReplayInfo{}, err
	}
	rp := e.replays[name]
	if rp == nil {
		return driver.ReplayInfo{}, fmt.Errorf("replay %q: %w", name, driver.ErrNotFound)
	}
	return rp.info, nil
}

// ListReplays returns every replay by name.
func (e *Engine) ListReplays(ctx context.Context) ([]driver.ReplayInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return nil, err
	}
	out := make([]driver.ReplayInfo, 0, len(e.replays))
	for _, rp := range e.replays {
		out = append(out, rp.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CancelReplay stops a running replay.
func (e *Engine) CancelReplay(ctx context.Context, name string) (driver.ReplayInfo, error) {
	e.mu.Lock()
	if err := e.writable(); err != nil {
		e.mu.Unlock()
		return driver.ReplayInfo{}, err
	}
	rp := e.replays[name]
	if rp == nil {
		e.mu.Unlock()
		return driver.ReplayInfo{}, fmt.Errorf("replay %q: %w", name, driver.ErrNotFound)
	}
	if rp.info.State != driver.ReplayRunning {
		e.mu.Unlock()
		return driver.ReplayInfo{}, fmt.Errorf("replay %q is %s: %w", name, rp.info.State, driver.ErrConflict)
	}
	if rp.cancel != nil {
		rp.cancel()
		rp.cancel = nil
	}
	rp.info.State = driver.ReplayCancelled
	rp.info.EndedAt = time.Unix(0, now()).UTC()
	wait, err := e.logReplay(rp)
	info := rp.info
	e.mu.Unlock()
	if err != nil {
		return driver.ReplayInfo{}, err
	}
	return info, e.await(ctx, wait)
}

// startReplay runs a running replay; the caller holds e.mu.
func (e *Engine) startReplay(rp *replay) {
	if e.closed || !e.started || rp.info.State != driver.ReplayRunning {
		return
	}
	ctx, cancel := context.WithCancel(e.ctx)
	rp.cancel = cancel
	e.wg.Go(func() { e.runReplay(ctx, rp) })
}

// replayBatch is how many archived events a replay re-sends at a time.
const replayBatch = 100

// runReplay re-sends archived events in order from rp.next, recording its
// progress after every batch, until it passes the replay's end.
func (e *Engine) runReplay(ctx context.Context, rp *replay) {
	e.mu.Lock()
	spec, next, name := rp.info.Replay, rp.next, rp.info.Name
	e.mu.Unlock()
	sname := archiveStreamName(spec.Bus, spec.Archive)
	var only map[string]bool
	if len(spec.Rules) > 0 {
		only = make(map[string]bool, len(spec.Rules))
		for _, r := range spec.Rules {
			only[r] = true
		}
	}
	end := spec.End.UnixNano()
	finish := func(state driver.ReplayState, failure error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if rp.info.State != driver.ReplayRunning || e.replays[name] != rp {
			return // cancelled meanwhile
		}
		rp.info.State = state
		rp.info.EndedAt = time.Unix(0, now()).UTC()
		if failure != nil {
			rp.info.Error = failure.Error()
		}
		rp.cancel = nil
		if _, err := e.logReplay(rp); err != nil {
			e.logger.Error("bus: recording the end of a replay failed", "replay", name, "err", err)
		}
	}
	for ctx.Err() == nil {
		res, err := e.Read(ctx, sname, driver.StreamReadRequest{Partition: 0, From: driver.Position{Kind: driver.FromOffset, Offset: next}, Max: replayBatch})
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, driver.ErrNotFound):
			finish(driver.ReplayFailed, fmt.Errorf("archive %q was deleted", spec.Archive))
			return
		case err != nil:
			finish(driver.ReplayFailed, err)
			return
		}
		events := make([]driver.Event, 0, len(res.Records))
		var last time.Time
		done := len(res.Records) == 0
		for _, r := range res.Records {
			if r.Timestamp.UnixNano() >= end {
				done = true
				break
			}
			ev, _, err := eventOf(r.Value, r.Headers)
			if err != nil {
				e.logger.Warn("bus: replay skips an unreadable archived event", "replay", name, "offset", r.Offset, "err", err)
			} else {
				events = append(events, ev)
			}
			next, last = r.Offset+1, r.Timestamp
		}
		if len(events) > 0 {
			if _, err := e.putEvents(ctx, spec.Bus, events, putOptions{only: only, replay: name}); err != nil {
				if ctx.Err() != nil {
					return
				}
				finish(driver.ReplayFailed, err)
				return
			}
		}
		e.mu.Lock()
		if rp.info.State != driver.ReplayRunning {
			e.mu.Unlock()
			return
		}
		rp.next = next
		rp.info.Replayed += int64(len(events))
		if !last.IsZero() {
			rp.info.LastEvent = last.UTC()
		}
		if len(events) > 0 {
			if _, err := e.logReplay(rp); err != nil {
				e.mu.Unlock()
				return
			}
		}
		e.mu.Unlock()
		if done || next >= res.End {
			finish(driver.ReplayCompleted, nil)
			return
		}
	}
}
