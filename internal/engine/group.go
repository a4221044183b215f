package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/cooperative"
)

// cgroup is a consumer group of a stream. Committed offsets and the start
// policy are durable (groupRecord); membership lives in memory, as members
// heartbeat: after a restart members join again.
//
// Rebalancing is cooperative and two-phase, so that no record is processed
// by two members at once: a partition that moves from A to B stays A's
// (A may still commit it) until A's next call (join, heartbeat or poll)
// tells A it lost it; only then does it become B's, at a new generation,
// and B reads it from the committed offset. A commit for a partition the
// member does not own, or owns since a later generation than the commit
// names, fails with ErrFenced.
type cgroup struct {
	name      string
	startFrom driver.PositionKind
	committed map[int]int64
	members   map[string]*member
	// Ownership is who owns each partition, by the cooperative rules.
	cooperative.Ownership
}

// member is one member of a group.
type member struct {
	name      string
	session   time.Duration
	lastSeen  int64
	positions map[int]int64 // where the member reads next, per owned partition
}

func newGroup(name string, startFrom driver.PositionKind, parts int) *cgroup {
	g := &cgroup{name: name, startFrom: startFrom, committed: make(map[int]int64), members: make(map[string]*member)}
	g.resize(parts)
	return g
}

// resize grows the per-partition state to n partitions (partitions are
// only ever added).
func (g *cgroup) resize(n int) {
	if n > len(g.Owner) {
		g.Resize(n)
	}
}

func (g *cgroup) info(s *stream, now int64) driver.GroupInfo {
	info := driver.GroupInfo{Name: g.name, Generation: g.Generation, StartFrom: g.startFrom, Committed: map[int]int64{}, Lag: map[int]int64{}}
	for i, p := range s.parts {
		c, ok := g.committed[i]
		if ok {
			info.Committed[i] = c
		} else {
			c = p.first()
		}
		info.Lag[i] = max(p.durable-max(c, p.first()), 0)
	}
	names := make([]string, 0, len(g.members))
	for n := range g.members {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := g.members[n]
		info.Members = append(info.Members, driver.MemberInfo{Name: n, Partitions: g.Owned(n), LastSeen: time.Unix(0, m.lastSeen)})
	}
	return info
}

// rebalance computes the target assignment for the current members and
// partitions: each member gets len/members partitions (some one more),
// members keep what they own up to their share, and the rest moves.
// Unowned partitions are assigned at once; owned ones are marked to move
// when their owner next calls.
func (g *cgroup) rebalance(s *stream) {
	g.resize(len(s.parts))
	names := make([]string, 0, len(g.members))
	for n := range g.members {
		names = append(names, n)
	}
	g.Rebalance(names)
}

// settle completes the moves away from member name, which now learns of
// them; the caller holds e.mu.
func (g *cgroup) settle(name string) {
	g.Settle(name)
	if m := g.members[name]; m != nil {
		for p := range m.positions {
			if g.Owner[p] != name {
				delete(m.positions, p)
			}
		}
	}
}

// assignment returns member name's assignment, resolving its read
// positions.
func (g *cgroup) assignment(s *stream, name string) driver.Assignment {
	m := g.members[name]
	a := driver.Assignment{Generation: g.Generation, Partitions: g.Owned(name), Offsets: map[int]int64{}}
	for _, p := range a.Partitions {
		a.Offsets[p] = g.position(s, m, p)
	}
	return a
}

// position is where member m reads partition p next.
func (g *cgroup) position(s *stream, m *member, p int) int64 {
	part := s.parts[p]
	off, ok := m.positions[p]
	if !ok {
		// A group that starts from latest committed the partitions' ends
		// when it was created; partitions added later start empty.
		if c, ok := g.committed[p]; ok {
			off = c
		} else {
			off = part.first()
		}
		m.positions[p] = off
	}
	return max(off, part.first())
}

// expireMembers removes the members of s's groups whose session ended;
// the caller holds e.mu.
func (e *Engine) expireMembers(s *stream, now int64) {
	for _, g := range s.groups {
		gone := false
		for n, m := range g.members {
			if m.lastSeen+int64(m.session) <= now {
				delete(g.members, n)
				gone = true
			}
		}
		if gone {
			g.rebalance(s)
		}
	}
}

// lockMember takes e.mu and returns the stream, the group and the member;
// the member's session is renewed and pending moves away from it settled.
// A member that is not in the group gets ErrFenced. On error e.mu is
// released.
func (e *Engine) lockMember(stream, group, name string) (*stream, *cgroup, *member, error) {
	s, err := e.lockStream(stream, false)
	if err != nil {
		return nil, nil, nil, err
	}
	t := now()
	e.expireMembers(s, t)
	g := s.groups[group]
	var m *member
	if g != nil {
		m = g.members[name]
	}
	if m == nil {
		e.mu.Unlock()
		return nil, nil, nil, fmt.Errorf("stream %q group %q: member %q is not in the group (its session ended or it left); join again: %w", stream, group, name, driver.ErrFenced)
	}
	m.lastSeen = t
	g.settle(name)
	return s, g, m, nil
}

func validateGroupCall(group, member string) error {
	if err := driver.ValidateGroupName("group", group); err != nil {
		return err
	}
	return driver.ValidateMemberName("member", member)
}

// JoinGroup adds member to group, creating the group; joining again is a
// heartbeat that may change the session timeout.
func (e *Engine) JoinGroup(ctx context.Context, stream, group, name string, req driver.JoinRequest) (driver.Assignment, error) {
	if err := validateGroupCall(group, name); err != nil {
		return driver.Assignment{}, err
	}
	if err := req.Normalize(); err != nil {
		return driver.Assignment{}, err
	}
	s, err := e.lockStream(stream, true)
	if err != nil {
		return driver.Assignment{}, err
	}
	t := now()
	e.expireMembers(s, t)
	g := s.groups[group]
	var wait func(context.Context) error
	if g == nil {
		rec := &groupRecord{SID: s.sid, Group: group, StartFrom: req.StartFrom}
		if req.StartFrom == driver.FromLatest {
			// Durably: a restart must not move "latest" past records
			// appended after the group was created.
			rec.Offsets = make(map[int]int64, len(s.parts))
			for i, p := range s.parts {
				rec.Offsets[i] = p.end
			}
		}
		if _, wait, err = e.log(recGroup, encodeRecord(rec)); err != nil {
			e.mu.Unlock()
			return driver.Assignment{}, err
		}
		e.applyGroup(rec)
		g = s.groups[group]
	}
	m := g.members[name]
	if m == nil {
		m = &member{name: name, positions: make(map[int]int64)}
		g.members[name] = m
		g.rebalance(s)
	}
	m.session, m.lastSeen = req.SessionTimeout, t
	g.settle(name)
	a := g.assignment(s, name)
	e.mu.Unlock()
	return a, e.await(ctx, wait)
}

// Heartbeat renews a member's session and returns its assignment.
func (e *Engine) Heartbeat(ctx context.Context, stream, group, name string) (driver.Assignment, error) {
	if err := validateGroupCall(group, name); err != nil {
		return driver.Assignment{}, err
	}
	s, g, _, err := e.lockMember(stream, group, name)
	if err != nil {
		return driver.Assignment{}, err
	}
	defer e.mu.Unlock()
	return g.assignment(s, name), nil
}

// LeaveGroup removes a member; its partitions go to the others at once.
func (e *Engine) LeaveGroup(ctx context.Context, stream, group, name string) error {
	if err := validateGroupCall(group, name); err != nil {
		return err
	}
	s, g, _, err := e.lockMember(stream, group, name)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	delete(g.members, name)
	g.rebalance(s)
	return nil
}

// Poll reads up to max records from the member's partitions, from its
// positions, waiting up to wait for some; it advances the positions.
func (e *Engine) Poll(ctx context.Context, stream, group, name string, maxRecords int, wait time.Duration) ([]driver.StreamRecord, driver.Assignment, error) {
	if err := validateGroupCall(group, name); err != nil {
		return nil, driver.Assignment{}, err
	}
	if maxRecords == 0 {
		maxRecords = 100
	}
	if maxRecords < 0 || maxRecords > driver.MaxReadRecords {
		return nil, driver.Assignment{}, driver.Invalid("max", "%d is out of range; accepted is 1 to %d", maxRecords, driver.MaxReadRecords)
	}
	if wait < 0 || wait > driver.MaxReceiveWait {
		return nil, driver.Assignment{}, driver.Invalid("wait", "%v is out of range; accepted is 0 to %v", wait, driver.MaxReceiveWait)
	}
	deadline := now() + int64(wait)
	for {
		s, g, m, err := e.lockMember(stream, group, name)
		if err != nil {
			return nil, driver.Assignment{}, err
		}
		a := g.assignment(s, name)
		type batch struct {
			part    int
			entries []streamEntry
		}
		var got []batch
		left := maxRecords
		// Start at a rotating partition so one busy partition does not
		// starve the others.
		n := len(a.Partitions)
		for k := 0; k < n && left > 0; k++ {
			p := a.Partitions[(int(m.lastSeen/int64(time.Millisecond))+k)%n]
			entries, next := collect(s.parts[p], a.Offsets[p], left, driver.DefaultReadMaxBytes, nil)
			m.positions[p] = next
			if len(entries) > 0 {
				got = append(got, batch{p, entries})
				left -= len(entries)
			}
		}
		t := now()
		if len(got) > 0 || t >= deadline {
			e.mu.Unlock()
			var out []driver.StreamRecord
			for _, b := range got {
				recs, err := e.readEntries(stream, b.part, b.entries)
				if err != nil {
					return nil, a, err
				}
				out = append(out, recs...)
			}
			return out, a, nil
		}
		signal := s.waitSignal()
		e.mu.Unlock()
		if err := e.sleep(ctx, signal, time.Duration(min(deadline-t, int64(m.session/2)))); err != nil {
			return nil, driver.Assignment{}, err
		}
	}
}

// Commit stores the group's offsets for partitions the member owns.
func (e *Engine) Commit(ctx context.Context, stream, group, name string, generation int64, offsets map[int]int64) error {
	if err := validateGroupCall(group, name); err != nil {
		return err
	}
	if len(offsets) == 0 {
		return driver.Invalid("offsets", "nothing to commit")
	}
	s, err := e.lockStream(stream, true)
	if err != nil {
		return err
	}
	e.expireMembers(s, now())
	g := s.groups[group]
	if g == nil || g.members[name] == nil {
		e.mu.Unlock()
		return fmt.Errorf("stream %q group %q: member %q is not in the group: %w", stream, group, name, driver.ErrFenced)
	}
	g.members[name].lastSeen = now()
	for p, off := range offsets {
		if p < 0 || p >= len(s.parts) {
			e.mu.Unlock()
			return driver.Invalid(fmt.Sprintf("offsets[%d]", p), "stream %q has partitions 0 to %d", stream, len(s.parts)-1)
		}
		if off < 0 || off > s.parts[p].durable {
			e.mu.Unlock()
			return driver.Invalid(fmt.Sprintf("offsets[%d]", p), "offset %d is outside 0 to %d (the partition's end)", off, s.parts[p].durable)
		}
		if !g.Owns(name, p, generation) {
			e.mu.Unlock()
			return fmt.Errorf("stream %q group %q: member %q does not own partition %d in generation %d: %w", stream, group, name, p, generation, driver.ErrFenced)
		}
	}
	rec := &groupRecord{SID: s.sid, Group: group, Generation: g.Generation, Offsets: offsets}
	_, wait, err := e.log(recGroup, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyGroup(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

// ResetOffsets sets the committed offsets of a group without members.
func (e *Engine) ResetOffsets(ctx context.Context, stream, group string, partitions []int, pos driver.Position) (map[int]int64, error) {
	if err := driver.ValidateGroupName("group", group); err != nil {
		return nil, err
	}
	if err := pos.Validate("to"); err != nil {
		return nil, err
	}
	s, err := e.lockStream(stream, true)
	if err != nil {
		return nil, err
	}
	e.expireMembers(s, now())
	g := s.groups[group]
	switch {
	case g == nil:
		err = fmt.Errorf("stream %q has no group %q: %w", stream, group, driver.ErrNotFound)
	case len(g.members) > 0:
		err = fmt.Errorf("stream %q group %q has %d members; offsets are reset only while no member is in the group: %w", stream, group, len(g.members), driver.ErrConflict)
	}
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if len(partitions) == 0 {
		for p := range s.parts {
			partitions = append(partitions, p)
		}
	}
	offsets := make(map[int]int64, len(partitions))
	for _, p := range partitions {
		if p < 0 || p >= len(s.parts) {
			e.mu.Unlock()
			return nil, driver.Invalid("partitions", "stream %q has partitions 0 to %d; got %d", stream, len(s.parts)-1, p)
		}
		off, err := startOffset(s.parts[p], pos)
		if err != nil {
			e.mu.Unlock()
			return nil, err
		}
		offsets[p] = off
	}
	rec := &groupRecord{SID: s.sid, Group: group, Generation: g.Generation, Offsets: offsets}
	_, wait, err := e.log(recGroup, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	e.applyGroup(rec)
	e.mu.Unlock()
	return offsets, e.await(ctx, wait)
}

// DeleteGroup forgets a group without members.
func (e *Engine) DeleteGroup(ctx context.Context, stream, group string) error {
	if err := driver.ValidateGroupName("group", group); err != nil {
		return err
	}
	s, err := e.lockStream(stream, true)
	if err != nil {
		return err
	}
	e.expireMembers(s, now())
	g := s.groups[group]
	switch {
	case g == nil:
		err = fmt.Errorf("stream %q has no group %q: %w", stream, group, driver.ErrNotFound)
	case len(g.members) > 0:
		err = fmt.Errorf("stream %q group %q has %d members; a group is deleted only without members: %w", stream, group, len(g.members), driver.ErrConflict)
	}
	if err != nil {
		e.mu.Unlock()
		return err
	}
	rec := &groupRecord{SID: s.sid, Group: group, Delete: true}
	_, wait, err := e.log(recGroup, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyGroup(rec)
	e.mu.Unlock()
	return e.await(ctx, wait)
}

func (e *Engine) applyGroup(r *groupRecord) {
	s := e.streamByID[r.SID]
	if s == nil {
		return
	}
	g := s.groups[r.Group]
	if r.Delete {
		delete(s.groups, r.Group)
		return
	}
	if g == nil {
		start := r.StartFrom
		if start == "" {
			start = driver.FromEarliest
		}
		g = newGroup(r.Group, start, len(s.parts))
		s.groups[r.Group] = g
	}
	g.Generation = max(g.Generation, r.Generation)
	for p, off := range r.Offsets {
		g.committed[p] = off
	}
}
