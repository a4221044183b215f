package kafka

import (
	"slices"
	"sync"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/cooperative"
)

// groupKey names a consumer group of a stream.
type groupKey struct{ stream, group string }

// cgroup is a courier consumer group as this process sees it: the members
// that joined through this connection, which of the stream's partitions
// each owns, and the Kafka group session through which this process holds
// (or waits for) the group's partitions. See the package documentation,
// "Consumer groups".
//
// Rebalancing among the local members is cooperative and two-phase, as in
// courier's embedded engine: a partition that moves from A to B stays A's
// (A may still commit it) until A's next call tells A it lost it; only
// then does it become B's, at a new generation, and B reads it from the
// committed offset. A commit for a partition the member does not own, or
// owns since a later generation than the commit names, fails with
// ErrFenced. All fields below mu are guarded by it.
type cgroup struct {
	c     *conn
	key   groupKey
	topic string
	id    string // the Kafka group ID

	sessMu sync.Mutex // serializes starting and stopping the session
	sess   *session   // non-nil while this process is in the Kafka group; written under sessMu and mu

	mu        sync.Mutex
	startFrom driver.PositionKind
	committed map[int]int64
	hwm       map[int]int64 // partition -> high watermark last seen
	members   map[string]*member
	hosting   bool // the Kafka group gave this process the partitions
	parts     int  // the partitions this process hosts (0 when standing by)
	// Ownership is who owns each hosted partition, by the cooperative
	// rules of the embedded engine.
	cooperative.Ownership
}

// member is one member of a group.
type member struct {
	session   time.Duration
	lastSeen  time.Time
	positions map[int]int64 // where the member reads next, per owned partition
}

// resize sets the hosted partition count, dropping owners of partitions
// that are no longer hosted.
func (g *cgroup) resize(n int) {
	g.Resize(n)
	g.parts = n
	for _, m := range g.members {
		for p := range m.positions {
			if p >= n {
				delete(m.positions, p)
			}
		}
	}
}

// rebalance computes the target assignment: each member gets
// parts/members partitions (some one more), members keep what they own up
// to their share, unowned partitions are assigned at once and owned ones
// are marked to move when their owner next calls.
func (g *cgroup) rebalance() {
	names := make([]string, 0, len(g.members))
	for n := range g.members {
		names = append(names, n)
	}
	g.Rebalance(names)
}

// settle completes the moves away from member name, which now learns of
// them.
func (g *cgroup) settle(name string) {
	g.Settle(name)
	if m := g.members[name]; m != nil {
		for p := range m.positions {
			if p >= len(g.Owner) || g.Owner[p] != name {
				delete(m.positions, p)
			}
		}
	}
}

// setHosting records the outcome of a Kafka rebalance: with hosting the
// process serves n partitions to its members, without it none (its
// members stand by). Losing the partitions takes them from their owners at
// once: Kafka has given them to another process already.
func (g *cgroup) setHosting(hosting bool, n int) {
	if !hosting {
		n = 0
	}
	if !hosting && len(g.Owner) > 0 {
		g.Generation++
	}
	g.hosting = hosting
	g.resize(n)
	g.rebalance()
}

// expire removes members whose session ended and rebalances; it reports
// whether any left.
func (g *cgroup) expire(now time.Time) bool {
	gone := false
	for n, m := range g.members {
		if !m.lastSeen.Add(m.session).After(now) {
			delete(g.members, n)
			gone = true
		}
	}
	if gone {
		g.rebalance()
	}
	return gone
}

// assignment returns name's assignment; offsets of partitions the member
// has not read yet come from the committed offsets (or first, for
// partitions without one).
func (g *cgroup) assignment(name string, first map[int]int64) driver.Assignment {
	m := g.members[name]
	a := driver.Assignment{Generation: g.Generation, Partitions: g.Owned(name), Offsets: map[int]int64{}}
	for _, p := range a.Partitions {
		a.Offsets[p] = g.position(m, p, first)
	}
	return a
}

// position is where m reads partition p next, or -1 when it is unknown
// (neither read nor committed) and first does not say.
func (g *cgroup) position(m *member, p int, first map[int]int64) int64 {
	if off, ok := m.positions[p]; ok {
		return max(off, first[p])
	}
	off, ok := g.committed[p]
	if !ok {
		f, known := first[p]
		if !known {
			return -1
		}
		off = f
	}
	off = max(off, first[p])
	m.positions[p] = off
	return off
}

// needFirst reports whether an assignment of name needs the log start
// offsets: a partition it owns has neither a position nor a commit.
func (g *cgroup) needFirst(name string) bool {
	m := g.members[name]
	if m == nil {
		return false
	}
	return slices.ContainsFunc(g.Owned(name), func(p int) bool {
		_, read := m.positions[p]
		_, committed := g.committed[p]
		return !read && !committed
	})
}
