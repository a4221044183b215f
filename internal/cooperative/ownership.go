// Package cooperative is the partition assignment of courier's consumer
// groups, shared by the embedded engine and the drivers that keep a
// group's membership themselves: cooperative and two-phase, so that no
// record is processed by two members at once. A partition that moves from
// A to B stays A's (A may still commit it) until A's next call tells A it
// lost it (Settle); only then does it become B's, at a new generation, and
// B reads it from the committed offset. Each member's share is
// partitions/members (some one more); members keep what they own up to
// their share, so few partitions move.
package cooperative

import "sort"

// Ownership is who owns each partition of a group. The zero value has no
// partitions; Resize sets their number. It is not safe for concurrent
// use: its owner guards it.
type Ownership struct {
	// Generation increases whenever an owner changes; commits name the
	// generation they were assigned in.
	Generation int64
	// Owner is partition -> owning member, "" when unowned.
	Owner []string
	// AssignedGen is partition -> the generation its owner got it in.
	AssignedGen []int64
	// MoveTo is partition -> the member it goes to once its owner learns,
	// "" when it stays.
	MoveTo []string
}

// Resize sets the number of partitions to n: new ones are unowned,
// partitions beyond n are dropped.
func (o *Ownership) Resize(n int) {
	for len(o.Owner) < n {
		o.Owner = append(o.Owner, "")
		o.AssignedGen = append(o.AssignedGen, 0)
		o.MoveTo = append(o.MoveTo, "")
	}
	if n < len(o.Owner) {
		o.Owner, o.AssignedGen, o.MoveTo = o.Owner[:n], o.AssignedGen[:n], o.MoveTo[:n]
	}
}

// Owned returns the partitions member owns, sorted.
func (o *Ownership) Owned(member string) []int {
	var out []int
	for p, m := range o.Owner {
		if m == member {
			out = append(out, p)
		}
	}
	return out
}

// Rebalance computes the target assignment for members (the current
// ones; owners not among them lose their partitions at once): unowned
// partitions are assigned at once, at a new generation; owned ones that
// must move are marked (MoveTo) to move when their owner next calls.
func (o *Ownership) Rebalance(members []string) {
	present := make(map[string]bool, len(members))
	for _, m := range members {
		present[m] = true
	}
	for p := range o.Owner {
		o.MoveTo[p] = ""
		if o.Owner[p] != "" && !present[o.Owner[p]] {
			o.Owner[p] = ""
		}
	}
	if len(members) == 0 || len(o.Owner) == 0 {
		return
	}
	names := append([]string(nil), members...)
	// Members owning more get the larger shares, so fewer partitions move.
	count := map[string]int{}
	for _, m := range o.Owner {
		if m != "" {
			count[m]++
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if count[names[i]] != count[names[j]] {
			return count[names[i]] > count[names[j]]
		}
		return names[i] < names[j]
	})
	quota := map[string]int{}
	for i, n := range names {
		quota[n] = len(o.Owner) / len(names)
		if i < len(o.Owner)%len(names) {
			quota[n]++
		}
	}
	kept := map[string]int{}
	var free []int
	for p, m := range o.Owner {
		if m != "" && kept[m] < quota[m] {
			kept[m]++
			continue
		}
		free = append(free, p)
	}
	changed := false
	for _, n := range names {
		for kept[n] < quota[n] && len(free) > 0 {
			p := free[0]
			free = free[1:]
			kept[n]++
			switch o.Owner[p] {
			case "":
				o.Owner[p] = n
				o.AssignedGen[p] = o.Generation + 1
				changed = true
			case n:
			default:
				o.MoveTo[p] = n
			}
		}
	}
	if changed {
		o.Generation++
	}
}

// Settle completes the moves away from member, which now learns of them,
// at a new generation.
func (o *Ownership) Settle(member string) {
	changed := false
	for p, m := range o.Owner {
		if m == member && o.MoveTo[p] != "" {
			o.Owner[p] = o.MoveTo[p]
			o.MoveTo[p] = ""
			o.AssignedGen[p] = o.Generation + 1
			changed = true
		}
	}
	if changed {
		o.Generation++
	}
}

// Owns reports whether a commit made in generation gen by member may store
// partition p's offset: member owns p, got it in gen or earlier, and gen
// is not from the future. Otherwise the commit is fenced.
func (o *Ownership) Owns(member string, p int, gen int64) bool {
	return p >= 0 && p < len(o.Owner) && o.Owner[p] == member && o.AssignedGen[p] <= gen && gen <= o.Generation
}
