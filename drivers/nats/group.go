package nats

import (
	"sort"
	"time"

	"github.com/courier-io/courier/driver"
)

// groupState is a consumer group of a stream as stored in the metadata
// bucket (one JSON value per group, updated with compare-and-set on its
// revision, so concurrent members on any connection serialise).
//
// Rebalancing is cooperative and two-phase, as courier's groups are: a
// partition moving from member A to member B stays A's (A may still
// commit it) until A's next call (join, heartbeat, poll) tells A it lost
// it; only then is it B's, in a new generation, and B reads it from the
// committed offset. A commit for a partition the member does not own, or
// owns since a later generation than the commit names, fails with
// ErrFenced.
type groupState struct {
	UID         uint64                  `json:"uid"` // the stream's incarnation
	StartFrom   driver.PositionKind     `json:"start_from"`
	Generation  int64                   `json:"generation"`
	Committed   map[int]int64           `json:"committed"`
	Members     map[string]*memberState `json:"members"`
	Owner       []string                `json:"owner"`        // partition -> owning member, "" when unowned
	AssignedGen []int64                 `json:"assigned_gen"` // partition -> generation its owner got it in
	MoveTo      []string                `json:"move_to"`      // partition -> member it goes to once its owner learns
}

// memberState is one member of a group.
type memberState struct {
	Session   time.Duration `json:"session"`
	LastSeen  int64         `json:"last_seen"` // unix nanoseconds, by the clock of the member's connection
	Positions map[int]int64 `json:"positions"` // where it reads next, per owned partition
}

func newGroupState(uid uint64, startFrom driver.PositionKind, parts int) *groupState {
	g := &groupState{UID: uid, StartFrom: startFrom, Committed: map[int]int64{}, Members: map[string]*memberState{}}
	g.resize(parts)
	return g
}

// normalize repairs the maps and slices a decoded value may lack.
func (g *groupState) normalize(parts int) {
	if g.Committed == nil {
		g.Committed = map[int]int64{}
	}
	if g.Members == nil {
		g.Members = map[string]*memberState{}
	}
	for _, m := range g.Members {
		if m.Positions == nil {
			m.Positions = map[int]int64{}
		}
	}
	for len(g.AssignedGen) < len(g.Owner) {
		g.AssignedGen = append(g.AssignedGen, 0)
	}
	for len(g.MoveTo) < len(g.Owner) {
		g.MoveTo = append(g.MoveTo, "")
	}
	g.resize(parts)
}

// resize grows the per-partition state to n partitions; a stream that
// gained partitions rebalances.
func (g *groupState) resize(n int) {
	grew := len(g.Owner) < n
	for len(g.Owner) < n {
		g.Owner = append(g.Owner, "")
		g.AssignedGen = append(g.AssignedGen, 0)
		g.MoveTo = append(g.MoveTo, "")
	}
	if grew && len(g.Members) > 0 {
		g.rebalance()
	}
}

// owned returns the partitions member name owns, sorted.
func (g *groupState) owned(name string) []int {
	var out []int
	for p, o := range g.Owner {
		if o == name {
			out = append(out, p)
		}
	}
	return out
}

// expire removes members whose session ended by now and rebalances; it
// reports whether any went.
func (g *groupState) expire(now int64) bool {
	gone := false
	for n, m := range g.Members {
		if m.LastSeen+int64(m.Session) <= now {
			delete(g.Members, n)
			gone = true
		}
	}
	if gone {
		g.rebalance()
	}
	return gone
}

// rebalance computes the target assignment: each member gets an equal
// share (some one more), members keep what they own up to their share and
// the rest moves. Unowned partitions are assigned at once; owned ones are
// marked to move when their owner next calls.
func (g *groupState) rebalance() {
	for p := range g.Owner {
		g.MoveTo[p] = ""
		if g.Owner[p] != "" && g.Members[g.Owner[p]] == nil {
			g.Owner[p] = ""
		}
	}
	if len(g.Members) == 0 {
		return
	}
	count := map[string]int{}
	for _, o := range g.Owner {
		if o != "" {
			count[o]++
		}
	}
	names := make([]string, 0, len(g.Members))
	for n := range g.Members {
		names = append(names, n)
	}
	// Members owning more get the larger shares, so fewer partitions move.
	sort.Slice(names, func(i, j int) bool {
		if count[names[i]] != count[names[j]] {
			return count[names[i]] > count[names[j]]
		}
		return names[i] < names[j]
	})
	share := map[string]int{}
	for i, n := range names {
		share[n] = len(g.Owner) / len(names)
		if i < len(g.Owner)%len(names) {
			share[n]++
		}
	}
	kept := map[string]int{}
	var free []int
	for p, o := range g.Owner {
		if o != "" && kept[o] < share[o] {
			kept[o]++
			continue
		}
		free = append(free, p)
	}
	assigned := false
	for _, n := range names {
		for kept[n] < share[n] && len(free) > 0 {
			p := free[0]
			free = free[1:]
			kept[n]++
			switch g.Owner[p] {
			case "":
				g.Owner[p] = n
				g.AssignedGen[p] = g.Generation + 1
				assigned = true
			case n:
			default:
				g.MoveTo[p] = n
			}
		}
	}
	if assigned {
		g.Generation++
	}
}

// settle completes the moves away from member name, which learns of them
// now, and drops its positions of partitions it no longer owns.
func (g *groupState) settle(name string) {
	moved := false
	for p, o := range g.Owner {
		if o == name && g.MoveTo[p] != "" {
			g.Owner[p] = g.MoveTo[p]
			g.MoveTo[p] = ""
			g.AssignedGen[p] = g.Generation + 1
			moved = true
		}
	}
	if moved {
		g.Generation++
	}
	if m := g.Members[name]; m != nil {
		for p := range m.Positions {
			if p >= len(g.Owner) || g.Owner[p] != name {
				delete(m.Positions, p)
			}
		}
	}
}

// position is where member m reads partition p next: its own position, or
// the group's committed offset (0, the earliest, without one). It records
// the position in m.
func (g *groupState) position(m *memberState, p int) int64 {
	off, ok := m.Positions[p]
	if !ok {
		off = g.Committed[p]
		m.Positions[p] = off
	}
	return off
}

// assignment is member name's assignment; first gives each partition's
// oldest retained offset (positions below it read from it), or nil.
func (g *groupState) assignment(name string, first func(p int) int64) driver.Assignment {
	m := g.Members[name]
	a := driver.Assignment{Generation: g.Generation, Partitions: g.owned(name), Offsets: map[int]int64{}}
	for _, p := range a.Partitions {
		off := g.position(m, p)
		if first != nil {
			off = max(off, first(p))
		}
		a.Offsets[p] = off
	}
	if a.Partitions == nil {
		a.Partitions = []int{}
	}
	return a
}

// canCommit reports whether member name may commit partition p in
// generation gen.
func (g *groupState) canCommit(name string, p int, gen int64) bool {
	return p < len(g.Owner) && g.Owner[p] == name && gen >= g.AssignedGen[p] && gen <= g.Generation
}

// info describes the group; bounds gives each partition's first and end
// offsets.
func (g *groupState) info(name string, bounds []partBounds) driver.GroupInfo {
	gi := driver.GroupInfo{Name: name, Generation: g.Generation, StartFrom: g.StartFrom, Committed: map[int]int64{}, Lag: map[int]int64{}}
	for p, b := range bounds {
		c, ok := g.Committed[p]
		if ok {
			gi.Committed[p] = c
		} else {
			c = b.first
		}
		gi.Lag[p] = max(b.end-max(c, b.first), 0)
	}
	names := make([]string, 0, len(g.Members))
	for n := range g.Members {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		gi.Members = append(gi.Members, driver.MemberInfo{Name: n, Partitions: g.owned(n), LastSeen: time.Unix(0, g.Members[n].LastSeen)})
	}
	return gi
}

// partBounds are a partition's oldest retained offset and its end (the
// next offset to be written).
type partBounds struct{ first, end int64 }
