package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/courier-io/courier/driver"
)

// groupID is the Kafka group ID of a courier group: the stream's topic and
// the group's name, separated by '/', which neither may contain.
func (c *conn) groupID(stream, group string) string { return c.topicOf(stream) + "/" + group }

// group returns this connection's state of a group, creating it.
func (c *conn) group(stream, group string) *cgroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := groupKey{stream, group}
	g := c.groups[k]
	if g == nil {
		g = &cgroup{c: c, key: k, topic: c.topicOf(stream), id: c.groupID(stream, group), startFrom: driver.FromEarliest,
			committed: map[int]int64{}, hwm: map[int]int64{}, members: map[string]*member{}}
		c.groups[k] = g
	}
	return g
}

// lookupGroup returns this connection's state of a group, or nil.
func (c *conn) lookupGroup(stream, group string) *cgroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups[groupKey{stream, group}]
}

func fenced(stream, group, name string) error {
	return fmt.Errorf("stream %q group %q: member %q is not in the group (its session ended, it left, or it joined through another connection); join again: %w", stream, group, name, driver.ErrFenced)
}

// JoinGroup adds member to the group. The first member joined through this
// connection makes the process a member of the group's Kafka consumer
// group; the process that hosts the group (see the package documentation)
// gives its members the stream's partitions.
func (c *conn) JoinGroup(ctx context.Context, stream, group, name string, req driver.JoinRequest) (driver.Assignment, error) {
	if err := c.check(); err != nil {
		return driver.Assignment{}, err
	}
	if err := validateGroupCall(group, name); err != nil {
		return driver.Assignment{}, err
	}
	if err := req.Normalize(); err != nil {
		return driver.Assignment{}, err
	}
	if _, err := c.topicMetadata(ctx, c.topicOf(stream), 0); err != nil {
		return driver.Assignment{}, fmt.Errorf("stream %q: %w", stream, err)
	}
	g := c.group(stream, group)
	g.sessMu.Lock()
	defer g.sessMu.Unlock()
	g.mu.Lock()
	s := g.sess
	if s != nil && !s.ended {
		a := g.join(name, req.SessionTimeout)
		g.mu.Unlock()
		return g.complete(ctx, name, a)
	}
	g.mu.Unlock()
	if s != nil {
		select {
		case <-s.done:
		case <-ctx.Done():
			return driver.Assignment{}, ctx.Err()
		}
	}
	// Join the Kafka group now, so that the assignment returned is the
	// one this process hosts (or none, standing by).
	s = &session{since: time.Now().UnixNano(), stop: make(chan struct{}), done: make(chan struct{}), rejoin: make(chan struct{}, 1), stable: make(chan struct{})}
	res, err := g.joinKafka(ctx, "", s.since, false, req.StartFrom)
	if err != nil {
		return driver.Assignment{}, fmt.Errorf("stream %q group %q: %w", stream, group, err)
	}
	// Close must not miss the goroutine: check and count it under c.mu,
	// which Close takes to mark the connection closed.
	c.mu.Lock()
	if err := c.check(); err != nil {
		c.mu.Unlock()
		g.leaveKafka(&session{memberID: res.memberID})
		return driver.Assignment{}, err
	}
	c.wg.Add(1)
	c.mu.Unlock()
	g.mu.Lock()
	g.sess = s
	g.members = map[string]*member{}
	g.Owner, g.AssignedGen, g.MoveTo = nil, nil, nil
	g.apply0(s, res)
	a := g.join(name, req.SessionTimeout)
	g.mu.Unlock()
	go g.run(s)
	return g.complete(ctx, name, a)
}

// apply0 is apply for a new session; the caller holds g.mu.
func (g *cgroup) apply0(s *session, res joinResult) {
	s.memberID, s.gen = res.memberID, res.gen
	if res.committed != nil {
		g.committed = res.committed
		if res.startFrom != "" {
			g.startFrom = res.startFrom
		}
	}
	g.hosting = false
	g.setHosting(res.hosting, res.parts)
	close(s.stable)
}

// join adds or renews member name and returns its assignment so far; the
// caller holds g.mu.
func (g *cgroup) join(name string, sessionTimeout time.Duration) driver.Assignment {
	now := time.Now()
	g.expire(now)
	m := g.members[name]
	if m == nil {
		m = &member{positions: map[int]int64{}}
		g.members[name] = m
		g.rebalance()
	}
	m.session, m.lastSeen = sessionTimeout, now
	g.settle(name)
	return g.assignment(name, nil)
}

// complete fills in the offsets of an assignment's partitions that have
// neither a position nor a committed offset (partitions added to the
// stream after the group was created start at their oldest record).
func (g *cgroup) complete(ctx context.Context, name string, a driver.Assignment) (driver.Assignment, error) {
	missing := false
	for _, p := range a.Partitions {
		if a.Offsets[p] < 0 {
			missing = true
		}
	}
	if !missing {
		return a, nil
	}
	first, _, err := g.c.offsets(ctx, g.topic)
	if err != nil {
		return driver.Assignment{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members[name] == nil {
		return driver.Assignment{}, fenced(g.key.stream, g.key.group, name)
	}
	return g.assignment(name, first), nil
}

func validateGroupCall(group, member string) error {
	if err := driver.ValidateGroupName("group", group); err != nil {
		return err
	}
	return driver.ValidateMemberName("member", member)
}

// lockMember takes g.mu for a call of member name: it expires silent
// members, renews name's session and settles the moves away from it. A
// member that is not in the group gets ErrFenced (and g.mu is released).
func (c *conn) lockMember(stream, group, name string) (*cgroup, *member, error) {
	g, m, err := c.lockMemberNoSettle(stream, group, name)
	if err == nil {
		g.settle(name)
	}
	return g, m, err
}

// lockMemberNoSettle is lockMember for Commit, which does not tell the
// member of its moves (it learns them from the result of its next join,
// heartbeat or poll).
func (c *conn) lockMemberNoSettle(stream, group, name string) (*cgroup, *member, error) {
	g := c.lookupGroup(stream, group)
	if g == nil {
		return nil, nil, fenced(stream, group, name)
	}
	g.mu.Lock()
	now := time.Now()
	g.expire(now)
	m := g.members[name]
	if m == nil || g.sess == nil || g.sess.ended {
		g.mu.Unlock()
		return nil, nil, fenced(stream, group, name)
	}
	m.lastSeen = now
	return g, m, nil
}

// Heartbeat renews a member's session and returns its assignment.
func (c *conn) Heartbeat(ctx context.Context, stream, group, name string) (driver.Assignment, error) {
	if err := c.check(); err != nil {
		return driver.Assignment{}, err
	}
	if err := validateGroupCall(group, name); err != nil {
		return driver.Assignment{}, err
	}
	g, _, err := c.lockMember(stream, group, name)
	if err != nil {
		return driver.Assignment{}, err
	}
	a := g.assignment(name, nil)
	g.mu.Unlock()
	return g.complete(ctx, name, a)
}

// LeaveGroup removes a member; its partitions go to the other members at
// once. The last local member's leaving takes this process out of the
// Kafka group before it returns.
func (c *conn) LeaveGroup(ctx context.Context, stream, group, name string) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := validateGroupCall(group, name); err != nil {
		return err
	}
	g, _, err := c.lockMember(stream, group, name)
	if err != nil {
		return err
	}
	delete(g.members, name)
	g.rebalance()
	empty := len(g.members) == 0
	g.mu.Unlock()
	if empty {
		g.stopSession(ctx)
	}
	return nil
}

// stopSession stops the Kafka session if no member is left, waiting until
// the process has left the Kafka group.
func (g *cgroup) stopSession(ctx context.Context) {
	g.sessMu.Lock()
	defer g.sessMu.Unlock()
	g.mu.Lock()
	s := g.sess
	if s == nil || len(g.members) > 0 {
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

// Poll reads up to max records from the member's partitions, from its
// positions, waiting up to wait for some; it advances the positions.
func (c *conn) Poll(ctx context.Context, stream, group, name string, maxRecords int, wait time.Duration) ([]driver.StreamRecord, driver.Assignment, error) {
	if err := c.check(); err != nil {
		return nil, driver.Assignment{}, err
	}
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
	deadline := time.Now().Add(wait)
	var first map[int]int64
	for {
		g, m, err := c.lockMember(stream, group, name)
		if err != nil {
			return nil, driver.Assignment{}, err
		}
		if first == nil && g.needFirst(name) {
			g.mu.Unlock()
			if first, _, err = c.offsets(ctx, g.topic); err != nil {
				return nil, driver.Assignment{}, err
			}
			continue
		}
		a := g.assignment(name, first)
		session := m.session
		g.mu.Unlock()
		if len(a.Partitions) == 0 {
			// Nothing to read (more members than partitions, or the
			// group is hosted by another process): wait as asked, and
			// stay alive.
			if d := time.Until(deadline); d > 0 {
				if err := sleepCtx(ctx, min(d, session/2, time.Second)); err != nil {
					return nil, driver.Assignment{}, err
				}
				continue
			}
			return nil, a, nil
		}
		reqs := make([]fetchReq, 0, len(a.Partitions))
		for _, p := range a.Partitions {
			reqs = append(reqs, fetchReq{partition: int32(p), offset: a.Offsets[p]})
		}
		w := min(max(time.Until(deadline), 0), session/2, 5*time.Second)
		perPart := int32(max(driver.DefaultReadMaxBytes/len(reqs), 64<<10))
		res, err := c.fetch(ctx, g.topic, reqs, perPart, w)
		if err != nil {
			return nil, driver.Assignment{}, err
		}
		recs, a, err := g.take(name, a, res, maxRecords)
		if err != nil {
			return nil, driver.Assignment{}, err
		}
		if len(recs) > 0 || !time.Now().Before(deadline) {
			return recs, a, nil
		}
	}
}

// take turns a fetch into the records Poll returns: at most max, starting
// at a rotating partition, only of partitions the member still owns at
// the positions it read from; it advances the positions.
func (g *cgroup) take(name string, a driver.Assignment, res map[int32]fetchResult, maxRecords int) ([]driver.StreamRecord, driver.Assignment, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.members[name]
	if m == nil || g.sess == nil || g.sess.ended {
		return nil, driver.Assignment{}, fenced(g.key.stream, g.key.group, name)
	}
	var out []driver.StreamRecord
	n := len(a.Partitions)
	start := int(time.Now().UnixNano()/int64(time.Millisecond)) % max(n, 1)
	for k := 0; k < n; k++ {
		p := a.Partitions[(start+k)%n]
		r, ok := res[int32(p)]
		if !ok || p >= len(g.Owner) || g.Owner[p] != name || m.positions[p] != a.Offsets[p] {
			continue // lost meanwhile, or read by a concurrent call
		}
		g.hwm[p] = max(g.hwm[p], r.hwm)
		if errors.Is(r.err, kerr.OffsetOutOfRange) {
			if r.logStart > a.Offsets[p] {
				m.positions[p] = r.logStart
			}
			continue
		}
		if r.err != nil {
			return nil, driver.Assignment{}, g.c.mapErr(r.err)
		}
		next := a.Offsets[p]
		for _, kr := range r.records {
			if len(out) >= maxRecords {
				break
			}
			out = append(out, toStreamRecord(kr))
			next = kr.Offset + 1
		}
		if len(r.records) == 0 && r.next > next && r.next <= r.hwm {
			next = r.next // batches that held nothing to return
		}
		m.positions[p] = next
	}
	return out, g.assignment(name, nil), nil
}

// Commit stores the group's offsets in Kafka, checked first against
// courier's fencing (the member owns each partition, since no later than
// generation) and then by Kafka's (this process's membership and Kafka
// generation are current).
func (c *conn) Commit(ctx context.Context, stream, group, name string, generation int64, offsets map[int]int64) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := validateGroupCall(group, name); err != nil {
		return err
	}
	if len(offsets) == 0 {
		return driver.Invalid("offsets", "nothing to commit")
	}
	checkedEnds := false
	for {
		g, _, err := c.lockMemberNoSettle(stream, group, name)
		if err != nil {
			return err
		}
		var needEnds bool
		for p, off := range offsets {
			if p < 0 || p >= driver.MaxPartitions {
				g.mu.Unlock()
				return driver.Invalid(fmt.Sprintf("offsets[%d]", p), "partition out of range")
			}
			if off < 0 {
				g.mu.Unlock()
				return driver.Invalid(fmt.Sprintf("offsets[%d]", p), "offset %d is negative", off)
			}
			if !g.Owns(name, p, generation) {
				g.mu.Unlock()
				return fmt.Errorf("stream %q group %q: member %q does not own partition %d in generation %d: %w", stream, group, name, p, generation, driver.ErrFenced)
			}
			if off > g.hwm[p] {
				needEnds = true
			}
		}
		s := g.sess
		memberID, gen, stable, start := s.memberID, s.gen, s.stable, g.startFrom
		g.mu.Unlock()
		if needEnds && !checkedEnds {
			_, end, err := c.offsets(ctx, g.topic)
			if err != nil {
				return err
			}
			g.mu.Lock()
			for p, e := range end {
				g.hwm[p] = max(g.hwm[p], e)
			}
			g.mu.Unlock()
			for p, off := range offsets {
				if off > end[p] {
					return driver.Invalid(fmt.Sprintf("offsets[%d]", p), "offset %d is past the partition's end (%d)", off, end[p])
				}
			}
			checkedEnds = true
		}
		select {
		case <-stable:
		case <-ctx.Done():
			return ctx.Err()
		}
		err = c.commitOffsets(ctx, g.id, g.topic, memberID, gen, offsets, start)
		switch {
		case err == nil:
			g.mu.Lock()
			for p, off := range offsets {
				g.committed[p] = off
			}
			g.mu.Unlock()
			return nil
		case errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.UnknownMemberID):
			// The Kafka group is rebalancing or moved on: rejoin, then
			// check courier's fencing again with the new membership.
			select {
			case s.rejoin <- struct{}{}:
			default:
			}
			g.mu.Lock()
			if s.stable == stable {
				select {
				case <-stable:
					s.stable = make(chan struct{})
				default:
				}
			}
			g.mu.Unlock()
			if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// commitOffsets commits offsets of topic to the Kafka group id as member
// memberID in generation gen (a simple commit with "" and -1).
func (c *conn) commitOffsets(ctx context.Context, id, topic, memberID string, gen int32, offsets map[int]int64, start driver.PositionKind) error {
	m, err := c.topicMetadata(ctx, topic, 0)
	if err != nil {
		return err
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation, req.MemberID = id, gen, memberID
	req.RetentionTimeMillis = -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = topic, m.id
	meta := offsetMetadata(start)
	for p, off := range offsets {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = int32(p), off, -1, &meta
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return c.mapErr(err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("commit partition %d: %w", p.Partition, err)
			}
		}
	}
	return nil
}

// fetchCommitted reads the committed offsets of topic in Kafka group id
// and the start policy stored with them; found is false when there are
// none.
func (c *conn) fetchCommitted(ctx context.Context, id, topic string) (map[int]int64, driver.PositionKind, bool, error) {
	resps, err := c.adm.FetchOffsetsForTopics(ctx, id, topic)
	if err != nil {
		if errors.Is(err, kerr.GroupIDNotFound) {
			return nil, "", false, nil
		}
		return nil, "", false, c.mapErr(err)
	}
	out := map[int]int64{}
	start := driver.FromEarliest
	for p, r := range resps[topic] {
		if r.Err != nil {
			return nil, "", false, c.mapErr(r.Err)
		}
		if r.At < 0 {
			continue // FetchOffsetsForTopics lists partitions without commits at -1
		}
		out[int(p)] = r.At
		if k, ok := parseOffsetMetadata(r.Metadata); ok {
			start = k
		}
	}
	return out, start, len(out) > 0, nil
}

// ResetOffsets sets the committed offsets of a group without members.
func (c *conn) ResetOffsets(ctx context.Context, stream, group string, partitions []int, pos driver.Position) (map[int]int64, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := driver.ValidateGroupName("group", group); err != nil {
		return nil, err
	}
	if err := pos.Validate("to"); err != nil {
		return nil, err
	}
	if g := c.lookupGroup(stream, group); g != nil {
		g.mu.Lock()
		g.expire(time.Now())
		n := len(g.members)
		g.mu.Unlock()
		if n > 0 {
			return nil, fmt.Errorf("stream %q group %q has %d members; offsets are reset only while no member is in the group: %w", stream, group, n, driver.ErrConflict)
		}
		g.stopSession(ctx)
	}
	topic := c.topicOf(stream)
	m, err := c.topicMetadata(ctx, topic, time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("stream %q: %w", stream, err)
	}
	id := c.groupID(stream, group)
	_, start, found, err := c.fetchCommitted(ctx, id, topic)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("stream %q has no group %q (with committed offsets): %w", stream, group, driver.ErrNotFound)
	}
	if len(partitions) == 0 {
		for p := range m.leaders {
			partitions = append(partitions, p)
		}
	}
	offsets := make(map[int]int64, len(partitions))
	for _, p := range partitions {
		if p < 0 || p >= len(m.leaders) {
			return nil, driver.Invalid("partitions", "stream %q has partitions 0 to %d; got %d", stream, len(m.leaders)-1, p)
		}
		off, _, err := c.resolve(ctx, topic, p, pos)
		if err != nil {
			return nil, err
		}
		offsets[p] = off
	}
	err = c.commitOffsets(ctx, id, topic, "", -1, offsets, start)
	switch {
	case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.RebalanceInProgress):
		return nil, fmt.Errorf("stream %q group %q has members in another process; offsets are reset only while no member is in the group: %w", stream, group, driver.ErrConflict)
	case err != nil:
		return nil, c.mapErr(err)
	}
	return offsets, nil
}

// DeleteGroup deletes a group without members (its Kafka group and
// committed offsets).
func (c *conn) DeleteGroup(ctx context.Context, stream, group string) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := driver.ValidateGroupName("group", group); err != nil {
		return err
	}
	if g := c.lookupGroup(stream, group); g != nil {
		g.mu.Lock()
		g.expire(time.Now())
		n := len(g.members)
		g.mu.Unlock()
		if n > 0 {
			return fmt.Errorf("stream %q group %q has %d members; a group is deleted only without members: %w", stream, group, n, driver.ErrConflict)
		}
		g.stopSession(ctx)
	}
	resps, err := c.adm.DeleteGroups(ctx, c.groupID(stream, group))
	if err != nil {
		return c.mapErr(err)
	}
	for _, r := range resps {
		switch {
		case errors.Is(r.Err, kerr.GroupIDNotFound):
			return fmt.Errorf("stream %q has no group %q: %w", stream, group, driver.ErrNotFound)
		case errors.Is(r.Err, kerr.NonEmptyGroup):
			return fmt.Errorf("stream %q group %q has members in another process; a group is deleted only without members: %w", stream, group, driver.ErrConflict)
		case r.Err != nil:
			return c.mapErr(r.Err)
		}
	}
	return nil
}

// listGroups returns the Kafka group IDs of the stream's groups.
func (c *conn) listGroups(ctx context.Context, stream string) ([]string, error) {
	listed, err := c.adm.ListGroups(ctx)
	if err != nil {
		return nil, c.mapErr(err)
	}
	prefix := c.topicOf(stream) + "/"
	var out []string
	for id, lg := range listed {
		if strings.HasPrefix(id, prefix) && lg.State != "Dead" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// groupInfos describes the stream's groups: committed offsets and lag
// from Kafka, members from this process when it hosts the group (else the
// Kafka members, named by their Kafka member IDs).
func (c *conn) groupInfos(ctx context.Context, stream string, first, end map[int]int64) ([]driver.GroupInfo, error) {
	ids, err := c.listGroups(ctx, stream)
	if err != nil {
		return nil, err
	}
	topic := c.topicOf(stream)
	var out []driver.GroupInfo
	for _, id := range ids {
		name := strings.TrimPrefix(id, topic+"/")
		committed, start, found, err := c.fetchCommitted(ctx, id, topic)
		if err != nil {
			return nil, err
		}
		gi := driver.GroupInfo{Name: name, StartFrom: start, Committed: committed, Lag: map[int]int64{}}
		if gi.Committed == nil {
			gi.Committed = map[int]int64{}
		}
		for p, e := range end {
			off, ok := committed[p]
			if !ok {
				off = first[p]
			}
			gi.Lag[p] = max(e-max(off, first[p]), 0)
		}
		local := false
		if g := c.lookupGroup(stream, name); g != nil {
			g.mu.Lock()
			if len(g.members) > 0 {
				local = true
				gi.Generation = g.Generation
				names := make([]string, 0, len(g.members))
				for n := range g.members {
					names = append(names, n)
				}
				slices.Sort(names)
				for _, n := range names {
					gi.Members = append(gi.Members, driver.MemberInfo{Name: n, Partitions: g.Owned(n), LastSeen: g.members[n].lastSeen})
				}
			}
			g.mu.Unlock()
		}
		if !local {
			dg, err := c.adm.DescribeGroups(ctx, id)
			if err != nil {
				return nil, c.mapErr(err)
			}
			for _, m := range dg[id].Members {
				mi := driver.MemberInfo{Name: m.MemberID}
				if ca, ok := m.Assigned.AsConsumer(); ok {
					for _, t := range ca.Topics {
						for _, p := range t.Partitions {
							mi.Partitions = append(mi.Partitions, int(p))
						}
					}
				}
				gi.Members = append(gi.Members, mi)
			}
			if !found && len(gi.Members) == 0 {
				continue
			}
		}
		out = append(out, gi)
	}
	return out, nil
}
