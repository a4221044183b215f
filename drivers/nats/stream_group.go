package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// groupKey is the metadata bucket key of a consumer group.
func groupKey(stream, group string) string { return "grp." + encName(stream) + "." + encName(group) }

// maxCASAttempts bounds the retries of a group update that keeps losing
// to concurrent updates.
const maxCASAttempts = 200

// errNoGroup is returned by update functions for a group that does not
// exist.
var errNoGroup = errors.New("no such group")

// loadGroup reads a group; nil when it does not exist (or belongs to a
// deleted stream of the same name). rev is the key's revision, 0 when the
// key never existed or was deleted.
func (c *conn) loadGroup(ctx context.Context, s *streamMeta, group string) (*groupState, uint64, error) {
	kv, err := c.meta(ctx)
	if err != nil {
		return nil, 0, err
	}
	e, err := c.kvGet(ctx, kv, groupKey(s.name, group))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, mapErr(err)
	}
	var g groupState
	if err := json.Unmarshal(e.Value(), &g); err != nil || g.UID != s.desc.UID {
		return nil, e.Revision(), nil
	}
	g.normalize(s.parts())
	return &g, e.Revision(), nil
}

// updateGroup applies fn to the group's current state and stores the
// result with compare-and-set on the revision it read, retrying when
// another update came first. fn gets nil for a missing group; it returns
// the state to store (nil: store nothing) or an error.
func (c *conn) updateGroup(ctx context.Context, s *streamMeta, group string, fn func(g *groupState) (*groupState, error)) error {
	kv, err := c.meta(ctx)
	if err != nil {
		return err
	}
	key := groupKey(s.name, group)
	for range maxCASAttempts {
		g, rev, err := c.loadGroup(ctx, s, group)
		if err != nil {
			return err
		}
		ng, err := fn(g)
		if err != nil || ng == nil {
			return err
		}
		data, err := json.Marshal(ng)
		if err != nil {
			return err
		}
		err = c.putRevision(ctx, kv, key, data, rev)
		if err == nil {
			return nil
		}
		if !casConflict(err) {
			return mapErr(err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("stream %q group %q: gave up after %d conflicting concurrent updates: %w", s.name, group, maxCASAttempts, driver.ErrConflict)
}

// kvGet reads key from the metadata bucket kv, retrying while JetStream
// is unavailable.
func (c *conn) kvGet(ctx context.Context, kv jetstream.KeyValue, key string) (jetstream.KeyValueEntry, error) {
	return retry(ctx, c, "get "+key, func() (jetstream.KeyValueEntry, error) { return kv.Get(ctx, key) })
}

// kvPurge purges key from the metadata bucket kv, retrying while
// JetStream is unavailable.
func (c *conn) kvPurge(ctx context.Context, kv jetstream.KeyValue, key string, opts ...jetstream.KVDeleteOpt) error {
	return retryErr(ctx, c, "purge "+key, func() error { return kv.Purge(ctx, key, opts...) })
}

// putRevision stores data under key if the key's revision is still rev
// (0: the key does not exist), retrying while JetStream is unavailable.
func (c *conn) putRevision(ctx context.Context, kv jetstream.KeyValue, key string, data []byte, rev uint64) error {
	return retryErr(ctx, c, "put "+key, func() error {
		var err error
		if rev == 0 {
			_, err = kv.Create(ctx, key, data)
		} else {
			_, err = kv.Update(ctx, key, data, rev)
		}
		return err
	})
}

// casConflict reports whether a KV write lost a compare-and-set.
func casConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	switch apiCode(err) {
	case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant:
		return true
	}
	return false
}

func fenced(stream, group, member string) error {
	return fmt.Errorf("stream %q group %q: member %q is not in the group (its session ended or it left); join again: %w", stream, group, member, driver.ErrFenced)
}

func validateGroupCall(group, member string) error {
	if err := driver.ValidateGroupName("group", group); err != nil {
		return err
	}
	return driver.ValidateMemberName("member", member)
}

// JoinGroup adds member to group, creating the group. Joining again with
// the same name renews the session (and may change its timeout) like a
// heartbeat, and restarts the member's reads from the committed offsets:
// group state outlives the processes of the members, so a member that
// restarts joins again.
func (c *conn) JoinGroup(ctx context.Context, stream, group, member string, req driver.JoinRequest) (driver.Assignment, error) {
	var a driver.Assignment
	if err := c.usable(); err != nil {
		return a, err
	}
	if err := validateGroupCall(group, member); err != nil {
		return a, err
	}
	if err := req.Normalize(); err != nil {
		return a, err
	}
	s, err := c.loadStream(ctx, stream)
	if err != nil {
		return a, err
	}
	var latest map[int]int64
	err = c.updateGroup(ctx, s, group, func(g *groupState) (*groupState, error) {
		if g == nil {
			g = newGroupState(s.desc.UID, req.StartFrom, s.parts())
			if req.StartFrom == driver.FromLatest {
				// Durably: "latest" is where the partitions ended when the
				// group was created, not where they end at a later join.
				if latest == nil {
					bs, err := c.bounds(ctx, s)
					if err != nil {
						return nil, err
					}
					latest = map[int]int64{}
					for _, b := range bs {
						latest[b.Partition] = b.End
					}
				}
				for p, off := range latest {
					g.Committed[p] = off
				}
			}
		}
		now := time.Now().UnixNano()
		g.expire(now)
		m := g.Members[member]
		if m == nil {
			m = &memberState{}
			g.Members[member] = m
			g.rebalance()
		}
		// A join (re)starts the member: it reads on from the committed
		// offsets, as a restarted process must, since what it read and
		// did not commit before is not known to have been processed.
		m.Positions = map[int]int64{}
		m.Session, m.LastSeen = req.SessionTimeout, now
		g.settle(member)
		a = g.assignment(member, nil)
		return g, nil
	})
	return a, err
}

// memberCall runs fn on the group with member's session renewed and the
// moves away from it settled; a member that is not in the group gets
// ErrFenced.
func (c *conn) memberCall(ctx context.Context, stream, group, member string, fn func(g *groupState, m *memberState) error) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := validateGroupCall(group, member); err != nil {
		return err
	}
	s, err := c.streamMeta(ctx, stream)
	if err != nil {
		return err
	}
	return c.updateGroup(ctx, s, group, func(g *groupState) (*groupState, error) {
		if g == nil {
			return nil, fenced(stream, group, member)
		}
		now := time.Now().UnixNano()
		g.expire(now)
		m := g.Members[member]
		if m == nil {
			// Expired members are dropped from the stored state by the
			// next update that succeeds.
			return nil, fenced(stream, group, member)
		}
		m.LastSeen = now
		g.settle(member)
		if err := fn(g, m); err != nil {
			return nil, err
		}
		return g, nil
	})
}

// Heartbeat renews member's session and returns its assignment.
func (c *conn) Heartbeat(ctx context.Context, stream, group, member string) (driver.Assignment, error) {
	var a driver.Assignment
	err := c.memberCall(ctx, stream, group, member, func(g *groupState, m *memberState) error {
		a = g.assignment(member, nil)
		return nil
	})
	return a, err
}

// LeaveGroup removes member; its partitions go to the others at once.
func (c *conn) LeaveGroup(ctx context.Context, stream, group, member string) error {
	return c.memberCall(ctx, stream, group, member, func(g *groupState, m *memberState) error {
		delete(g.Members, member)
		g.rebalance()
		return nil
	})
}

// Poll reads up to maxN records of member's partitions from its positions,
// waiting up to wait for some, and advances the positions. Each poll is a
// heartbeat, stored with the new positions in one compare-and-set.
func (c *conn) Poll(ctx context.Context, stream, group, member string, maxN int, wait time.Duration) ([]driver.StreamRecord, driver.Assignment, error) {
	var a driver.Assignment
	if maxN == 0 {
		maxN = 100
	}
	if maxN < 0 || maxN > driver.MaxReadRecords {
		return nil, a, driver.Invalid("max", "%d is out of range; accepted is 1 to %d", maxN, driver.MaxReadRecords)
	}
	if wait < 0 || wait > driver.MaxReceiveWait {
		return nil, a, driver.Invalid("wait", "%v is out of range; accepted is 0 to %v", wait, driver.MaxReceiveWait)
	}
	if err := c.usable(); err != nil {
		return nil, a, err
	}
	s, err := c.streamMeta(ctx, stream)
	if err != nil {
		return nil, a, err
	}
	deadline := time.Now().Add(wait)
	var wake <-chan struct{}
	if wait > 0 {
		w, stop, err := c.appendSignal(s)
		if err != nil {
			return nil, a, err
		}
		defer stop()
		wake = w
	}
	for {
		var recs []driver.StreamRecord
		var session time.Duration
		err := c.memberCall(ctx, stream, group, member, func(g *groupState, m *memberState) error {
			recs = nil
			a = g.assignment(member, nil)
			session = m.Session
			left := maxN
			n := len(a.Partitions)
			start := int(time.Now().UnixMilli())
			for k := 0; k < n && left > 0; k++ {
				p := a.Partitions[(start+k)%n]
				got, next, err := c.readPartition(ctx, s, p, a.Offsets[p], time.Time{}, left, driver.DefaultReadMaxBytes, 0, -1)
				if err != nil {
					return err
				}
				m.Positions[p] = next
				recs = append(recs, got...)
				left -= len(got)
			}
			return nil
		})
		if err != nil {
			return nil, a, err
		}
		left := time.Until(deadline)
		if len(recs) > 0 || left <= 0 {
			if recs == nil {
				recs = []driver.StreamRecord{}
			}
			return recs, a, nil
		}
		// Wait for an append, and poll again at least every half session
		// so the member stays alive while it waits.
		t := time.NewTimer(min(left, max(session/2, 10*time.Millisecond)))
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, a, ctx.Err()
		case <-c.done:
			t.Stop()
			return nil, a, driver.ErrClosed
		}
		t.Stop()
	}
}

// appendSignal returns a channel that receives a value when a record is
// appended to any partition of s (a plain NATS subscription to the
// partition subjects, which see JetStream's stored messages).
func (c *conn) appendSignal(s *streamMeta) (<-chan struct{}, func(), error) {
	ch := make(chan struct{}, 1)
	sub, err := c.nc.Subscribe(c.cfg.prefix+".s."+encName(s.name)+".*", func(*nats.Msg) {
		select {
		case ch <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, nil, mapErr(err)
	}
	return ch, func() { _ = sub.Unsubscribe() }, nil
}

// Commit stores the group's offsets for partitions the member owns in
// generation.
func (c *conn) Commit(ctx context.Context, stream, group, member string, generation int64, offsets map[int]int64) error {
	if len(offsets) == 0 {
		return driver.Invalid("offsets", "nothing to commit")
	}
	if err := c.usable(); err != nil {
		return err
	}
	s, err := c.streamMeta(ctx, stream)
	if err != nil {
		return err
	}
	for p, off := range offsets {
		if p < 0 || p >= s.parts() {
			return driver.Invalid(fmt.Sprintf("offsets[%d]", p), "stream %q has partitions 0 to %d", stream, s.parts()-1)
		}
		pi, err := c.partition(ctx, s, p)
		if err != nil {
			return err
		}
		if off < 0 || off > pi.End {
			return driver.Invalid(fmt.Sprintf("offsets[%d]", p), "offset %d is outside 0 to %d (the partition's end)", off, pi.End)
		}
	}
	if err := validateGroupCall(group, member); err != nil {
		return err
	}
	return c.updateGroup(ctx, s, group, func(g *groupState) (*groupState, error) {
		if g == nil {
			return nil, fenced(stream, group, member)
		}
		now := time.Now().UnixNano()
		g.expire(now)
		m := g.Members[member]
		if m == nil {
			return nil, fenced(stream, group, member)
		}
		m.LastSeen = now
		for p := range offsets {
			if !g.canCommit(member, p, generation) {
				return nil, fmt.Errorf("stream %q group %q: member %q does not own partition %d in generation %d: %w", stream, group, member, p, generation, driver.ErrFenced)
			}
		}
		for p, off := range offsets {
			g.Committed[p] = off
		}
		return g, nil
	})
}

// ResetOffsets sets the committed offsets of a group without members.
func (c *conn) ResetOffsets(ctx context.Context, stream, group string, partitions []int, pos driver.Position) (map[int]int64, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if err := driver.ValidateGroupName("group", group); err != nil {
		return nil, err
	}
	if err := pos.Validate("to"); err != nil {
		return nil, err
	}
	s, err := c.loadStream(ctx, stream)
	if err != nil {
		return nil, err
	}
	if len(partitions) == 0 {
		for p := range s.parts() {
			partitions = append(partitions, p)
		}
	}
	offsets := make(map[int]int64, len(partitions))
	for _, p := range partitions {
		if p < 0 || p >= s.parts() {
			return nil, driver.Invalid("partitions", "stream %q has partitions 0 to %d; got %d", stream, s.parts()-1, p)
		}
		off, err := c.startOffset(ctx, s, p, pos)
		if err != nil {
			return nil, err
		}
		offsets[p] = off
	}
	err = c.updateGroup(ctx, s, group, func(g *groupState) (*groupState, error) {
		if g == nil {
			return nil, fmt.Errorf("stream %q has no group %q: %w", stream, group, driver.ErrNotFound)
		}
		g.expire(time.Now().UnixNano())
		if len(g.Members) > 0 {
			return nil, fmt.Errorf("stream %q group %q has %d members; offsets are reset only while no member is in the group: %w", stream, group, len(g.Members), driver.ErrConflict)
		}
		for p, off := range offsets {
			g.Committed[p] = off
		}
		return g, nil
	})
	if err != nil {
		return nil, err
	}
	return offsets, nil
}

// startOffset resolves a position in partition p.
func (c *conn) startOffset(ctx context.Context, s *streamMeta, p int, pos driver.Position) (int64, error) {
	pi, err := c.partition(ctx, s, p)
	if err != nil {
		return 0, err
	}
	switch pos.Kind {
	case driver.FromLatest:
		return pi.End, nil
	case driver.FromOffset:
		if pos.Offset > pi.End {
			return 0, driver.Invalid("to.offset", "%d is past the end %d of partition %d", pos.Offset, pi.End, p)
		}
		return max(pos.Offset, pi.First), nil
	case driver.FromTime:
		recs, _, err := c.readPartition(ctx, s, p, 0, pos.Time, 1, driver.DefaultReadMaxBytes, 0, -1)
		if err != nil {
			return 0, err
		}
		if len(recs) == 0 {
			return pi.End, nil
		}
		return recs[0].Offset, nil
	default:
		return pi.First, nil
	}
}

// DeleteGroup forgets a group without members.
func (c *conn) DeleteGroup(ctx context.Context, stream, group string) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := driver.ValidateGroupName("group", group); err != nil {
		return err
	}
	s, err := c.loadStream(ctx, stream)
	if err != nil {
		return err
	}
	kv, err := c.meta(ctx)
	if err != nil {
		return err
	}
	for range maxCASAttempts {
		g, rev, err := c.loadGroup(ctx, s, group)
		if err != nil {
			return err
		}
		if g == nil {
			return fmt.Errorf("stream %q has no group %q: %w", stream, group, driver.ErrNotFound)
		}
		g.expire(time.Now().UnixNano())
		if len(g.Members) > 0 {
			return fmt.Errorf("stream %q group %q has %d members; a group is deleted only without members: %w", stream, group, len(g.Members), driver.ErrConflict)
		}
		err = c.kvPurge(ctx, kv, groupKey(stream, group), jetstream.LastRevision(rev))
		if err == nil {
			return nil
		}
		if !casConflict(err) {
			return mapErr(err)
		}
	}
	return fmt.Errorf("stream %q group %q: gave up after %d conflicting concurrent updates: %w", stream, group, maxCASAttempts, driver.ErrConflict)
}

// namedGroup is a group read for StreamInfo.
type namedGroup struct {
	name  string
	state *groupState
}

// groups reads the groups of a stream, by name.
func (c *conn) groups(ctx context.Context, s *streamMeta) ([]namedGroup, error) {
	kv, err := c.meta(ctx)
	if err != nil {
		return nil, err
	}
	prefix := "grp." + encName(s.name) + "."
	entries, err := c.listEntries(ctx, kv, prefix+"*")
	if err != nil {
		return nil, err
	}
	var out []namedGroup
	for _, e := range entries {
		var g groupState
		if json.Unmarshal(e.Value(), &g) != nil || g.UID != s.desc.UID {
			continue
		}
		g.normalize(s.parts())
		out = append(out, namedGroup{name: decName(e.Key()[len(prefix):]), state: &g})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// deleteGroups deletes every group of a deleted stream.
func (c *conn) deleteGroups(ctx context.Context, stream string) error {
	kv, err := c.meta(ctx)
	if err != nil {
		return err
	}
	entries, err := c.listEntries(ctx, kv, "grp."+encName(stream)+".*")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := c.kvPurge(ctx, kv, e.Key()); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// listEntries returns the current entries of the keys matching filter
// (a key pattern; * matches one token). It reads through the bucket
// stream's leader, which has applied every acknowledged write: the
// subjects that hold a message, then each key's value. (A watch would
// read with a consumer that the server may place on a replica that has
// not applied the latest writes yet: a group deleted a moment ago would
// still be listed.)
func (c *conn) listEntries(ctx context.Context, kv jetstream.KeyValue, filter string) ([]jetstream.KeyValueEntry, error) {
	c.kvMu.Lock()
	st := c.kvStream
	c.kvMu.Unlock()
	pre := "$KV." + c.lay.bucket() + "."
	info, err := c.streamInfo(ctx, st, jetstream.WithSubjectFilter(pre+filter))
	if err != nil {
		return nil, mapErr(err)
	}
	keys := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		keys = append(keys, strings.TrimPrefix(subj, pre))
	}
	sort.Strings(keys)
	var out []jetstream.KeyValueEntry
	for _, k := range keys {
		e, err := c.kvGet(ctx, kv, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted (its delete marker holds the subject) or purged since
		}
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, e)
	}
	return out, nil
}
