package pattern

import (
	"slices"
	"sync"
	"unicode/utf8"
)

// snapshot is an immutable, published state of a rule set: the trie of
// paths and the segments compiled against it. Matching reads a snapshot
// without locks; updates publish a new one.
type snapshot struct {
	t    *trie
	segs []*segment
	// dead marks, per segment, local rules removed or replaced since the
	// segment was built (nil when none).
	dead [][]bool
	pool sync.Pool
}

func newSnapshot(t *trie, segs []*segment, dead [][]bool) *snapshot {
	s := &snapshot{t: t, segs: segs, dead: dead}
	if s.dead == nil {
		s.dead = make([][]bool, len(segs))
	}
	s.pool.New = func() any { return s.newState() }
	return s
}

// segState is the per-match scratch of one segment.
type segState struct {
	seg  *segment
	dead []bool
	// memo is gen<<1 | result for conditions evaluated this match (eager
	// ones are set when satisfied).
	memo    []uint32
	ruleGen []uint32 // rules matched this match
	altGen  []uint32 // alternatives made candidates by composite anchors
	altCnt  []uint32 // gen<<2 | anchors satisfied, for two-anchor alternatives
	cands   []int32  // candidate alternatives
	matched []int32  // matched local rules
}

// matchState is the per-call scratch of a match, pooled per snapshot so
// that matching allocates nothing in proportion to the rules.
type matchState struct {
	snap *snapshot
	t    *trie
	gen  uint32

	// scanner
	err    error
	arena  []byte // unescaped strings of this event
	keybuf []byte

	// values by node: vals is an arena, head/next link each node's values
	vals       []value
	head       []int32
	headGen    []uint32
	presentGen []uint32 // nodes with a value that is neither null nor ""
	arrGen     []uint32 // nodes where an array was seen

	ctxs      []ctxNode
	cur       int32
	nextArray int32

	segs    []segState
	active  []*segState // segments matching this call's kind
	folded  []byte
	witness []int32
}

func (s *snapshot) newState() any {
	n := len(s.t.nodes)
	st := &matchState{
		snap:       s,
		t:          s.t,
		head:       make([]int32, n),
		headGen:    make([]uint32, n),
		presentGen: make([]uint32, n),
		arrGen:     make([]uint32, n),
		segs:       make([]segState, len(s.segs)),
	}
	for i, seg := range s.segs {
		st.segs[i] = segState{
			seg:     seg,
			dead:    s.dead[i],
			memo:    make([]uint32, len(seg.conds)),
			ruleGen: make([]uint32, len(seg.ids)),
			altGen:  make([]uint32, len(seg.altOff)),
			altCnt:  make([]uint32, len(seg.altOff)),
		}
	}
	return st
}

// acquire returns a reset state whose active segments are those for
// attribute matching (attrs) or JSON matching.
func (s *snapshot) acquire(attrs bool) *matchState {
	st := s.pool.Get().(*matchState)
	st.gen++
	if st.gen >= 1<<29 { // memo holds gen<<1, altCnt gen<<2: start over
		clear(st.headGen)
		clear(st.presentGen)
		clear(st.arrGen)
		for i := range st.segs {
			clear(st.segs[i].memo)
			clear(st.segs[i].ruleGen)
			clear(st.segs[i].altGen)
			clear(st.segs[i].altCnt)
		}
		st.gen = 1
	}
	st.vals = st.vals[:0]
	st.arena = st.arena[:0]
	st.ctxs = append(st.ctxs[:0], ctxNode{array: -1})
	st.cur, st.nextArray = 0, 0
	st.active = st.active[:0]
	for i := range st.segs {
		ss := &st.segs[i]
		if ss.seg.attrs == attrs && len(ss.seg.altOff) > 0 {
			ss.cands = ss.cands[:0]
			ss.matched = ss.matched[:0]
			st.active = append(st.active, ss)
		}
	}
	return st
}

func (s *snapshot) release(st *matchState) {
	st.err = nil
	if cap(st.vals) > 1<<16 {
		st.vals = nil // do not keep a huge event's arena alive
	}
	if cap(st.arena) > 1<<20 {
		st.arena = nil
	}
	if cap(st.ctxs) > 1<<16 {
		st.ctxs = nil
	}
	s.pool.Put(st)
}

// emit records value v at node n and runs the anchor tables of every
// active segment on it.
func (st *matchState) emit(n int32, v value) {
	v.ctx = st.cur
	v.next = -1
	if st.headGen[n] == st.gen {
		v.next = st.head[n]
	} else {
		st.headGen[n] = st.gen
	}
	idx := int32(len(st.vals))
	st.head[n] = idx
	if v.present() {
		st.presentGen[n] = st.gen
	}
	st.vals = append(st.vals, v)
	for _, ss := range st.active {
		if int(n) < len(ss.seg.paths) {
			if pi := ss.seg.paths[n]; pi != nil {
				ss.process(st, pi, idx)
			}
		}
	}
}

// satisfy marks anchor condition c as holding; its alternatives become
// candidates.
func (ss *segState) satisfy(st *matchState, c int32) {
	yes := st.gen<<1 | 1
	if ss.memo[c] == yes {
		return
	}
	ss.memo[c] = yes
	ci := &ss.seg.conds[c]
	seg := ss.seg
	for _, a := range seg.anchored[ci.alt0 : ci.alt0+ci.nalt] {
		need := uint32(seg.altNeed[a])
		if need == 1 {
			ss.cands = append(ss.cands, a)
			continue
		}
		v := ss.altCnt[a]
		if v>>2 != st.gen {
			ss.altCnt[a] = st.gen<<2 | 1
			continue
		}
		ss.altCnt[a] = v + 1
		if v&3+1 == need {
			ss.cands = append(ss.cands, a)
		}
	}
}

func (ss *segState) satisfyAll(st *matchState, cs []int32) {
	for _, c := range cs {
		ss.satisfy(st, c)
	}
}

func (ss *segState) probes(st *matchState, ps []probe, v *value) {
	for i := range ps {
		p := &ps[i]
		if ss.memo[p.cond] != st.gen<<1|1 && (p.check == nil || p.check.test(v)) {
			ss.satisfy(st, p.cond)
		}
	}
}

// process evaluates the anchor conditions at one node on value vi.
func (ss *segState) process(st *matchState, pi *pathIndex, vi int32) {
	v := &st.vals[vi]
	if pi.exact.slots != nil {
		ss.satisfyAll(st, pi.exact.find(st.hash(vi), v))
	}
	switch v.kind {
	case kindString:
		if pi.hasStringWork {
			ss.processString(st, pi, v)
		}
	case kindNumber:
		if r := &pi.ranges; len(r.lo) > 0 {
			x := v.num
			n, _ := slices.BinarySearchFunc(r.lo, x, func(lo, x float64) int {
				if lo <= x {
					return -1
				}
				return 1
			})
			for b := 0; b*rangeBlock < n; b++ {
				if r.blockMax[b] < x {
					continue
				}
				for i := b * rangeBlock; i < min((b+1)*rangeBlock, n); i++ {
					if (x > r.lo[i] || r.loIncl[i] && x == r.lo[i]) && (x < r.hi[i] || r.hiIncl[i] && x == r.hi[i]) {
						ss.satisfy(st, r.cond[i])
					}
				}
			}
		}
	}
	if pi.exists != nil {
		ss.satisfyAll(st, pi.exists)
	}
	if pi.present != nil && v.present() {
		ss.satisfyAll(st, pi.present)
	}
	if pi.others != nil {
		ss.probes(st, pi.others, v)
	}
}

func (ss *segState) processString(st *matchState, pi *pathIndex, v *value) {
	s := v.str
	for _, n := range pi.prefixLens {
		if n > len(s) {
			break
		}
		if ps, ok := pi.prefix[s[:n]]; ok {
			ss.probes(st, ps, v)
		}
	}
	for _, n := range pi.suffixLens {
		if n > len(s) {
			break
		}
		if ps, ok := pi.suffix[s[len(s)-n:]]; ok {
			ss.probes(st, ps, v)
		}
	}
	if pi.fold != nil || pi.prefixFold != nil || pi.suffixFold != nil {
		st.folded = appendFold(st.folded[:0], s)
		f := st.folded
		if pi.fold != nil {
			if cs, ok := pi.fold[string(f)]; ok {
				ss.satisfyAll(st, cs)
			}
		}
		if pi.prefixFold != nil {
			// Folded prefixes of n runes: walk the folded value's runes.
			runes, off := 0, 0
			for _, n := range pi.prefixFoldN {
				for runes < n && off < len(f) {
					_, size := utf8.DecodeRune(f[off:])
					off += size
					runes++
				}
				if runes < n {
					break
				}
				if cs, ok := pi.prefixFold[string(f[:off])]; ok {
					ss.satisfyAll(st, cs)
				}
			}
		}
		if pi.suffixFold != nil {
			runes, off := 0, len(f)
			for _, n := range pi.suffixFoldN {
				for runes < n && off > 0 {
					_, size := utf8.DecodeLastRune(f[:off])
					off -= size
					runes++
				}
				if runes < n {
					break
				}
				if cs, ok := pi.suffixFold[string(f[off:])]; ok {
					ss.satisfyAll(st, cs)
				}
			}
		}
	}
	if pi.cidr != nil {
		if a, ok := parseIP(s); ok {
			for _, k := range pi.cidrBits {
				if k.v4 != a.Is4() {
					continue
				}
				if pfx, err := a.Prefix(k.bits); err == nil {
					if cs, ok := pi.cidr[pfx]; ok {
						ss.satisfyAll(st, cs)
					}
				}
			}
		}
	}
}

// hasValue reports whether node n has a value this match (for strict
// conditions, one that is neither null nor "").
func (st *matchState) hasValue(n int32, strict bool) bool {
	if strict {
		return st.presentGen[n] == st.gen
	}
	return st.headGen[n] == st.gen
}

// holds evaluates condition c (ignoring array consistency), once per
// match.
func (ss *segState) holds(st *matchState, c int32) bool {
	if memo := ss.memo[c]; memo>>1 == st.gen {
		return memo&1 == 1
	}
	ci := &ss.seg.conds[c]
	if ci.flags&cfEager != 0 {
		return false // evaluated during the scan, and not satisfied
	}
	r := ss.evalLazy(st, ci)
	ss.memo[c] = st.gen<<1 | uint32(boolByte(r))
	return r
}

func (ss *segState) evalLazy(st *matchState, ci *condInfo) bool {
	n := ci.node
	preds := ss.seg.preds[ci.pred0 : ci.pred0+ci.npred]
	if st.headGen[n] == st.gen {
		if ci.flags&cfExact != 0 {
			// Compare hashes first; the string compare happens only on a
			// hash match.
			hs := ss.seg.phash[ci.pred0 : ci.pred0+ci.npred]
			for vi := st.head[n]; vi >= 0; vi = st.vals[vi].next {
				h := st.hash(vi)
				for i, ph := range hs {
					if ph == h && preds[i].test(&st.vals[vi]) {
						return true
					}
				}
			}
		} else {
			all := ci.flags&cfAllValues != 0
			for vi := st.head[n]; vi >= 0; vi = st.vals[vi].next {
				v := &st.vals[vi]
				for i := range preds {
					p := &preds[i]
					if all && p.kind == predAnythingBut {
						continue
					}
					if p.test(v) {
						return true
					}
				}
			}
			if all {
				for i := range preds {
					if p := &preds[i]; p.kind == predAnythingBut && ss.allPass(st, n, p) {
						return true
					}
				}
			}
		}
	}
	return ci.flags&cfAbsent != 0 && !st.hasValue(n, ci.flags&cfStrict != 0)
}

// allPass reports whether every value at n passes p (and there is one).
func (ss *segState) allPass(st *matchState, n int32, p *pred) bool {
	for vi := st.head[n]; vi >= 0; vi = st.vals[vi].next {
		if !p.test(&st.vals[vi]) {
			return false
		}
	}
	return true
}

// check verifies candidate alternative a and records its rules.
func (ss *segState) check(st *matchState, a int32) {
	anchors, conds, rules, shared := ss.seg.alt(a)
	if len(rules) == 1 && ss.ruleGen[rules[0]] == st.gen {
		return
	}
	// With an array where two conditions' paths meet, array consistency
	// decides (matchSlow); the per-condition checks below are then only a
	// necessary condition, and exists:false is left to matchSlow (it may
	// hold inside one element while the path has values elsewhere).
	slow := false
	for _, n := range shared {
		if st.arrGen[n] == st.gen {
			slow = true
			break
		}
	}
outer:
	for _, c := range conds {
		for _, x := range anchors {
			if c == x {
				continue outer
			}
		}
		if slow && ss.seg.conds[c].flags&cfAbsent != 0 {
			continue
		}
		if !ss.holds(st, c) {
			return
		}
	}
	if slow {
		st.witness = st.witness[:0]
		if !ss.matchSlow(st, conds, 0) {
			return
		}
	}
	for _, r := range rules {
		if ss.ruleGen[r] != st.gen {
			ss.ruleGen[r] = st.gen
			if ss.dead == nil || !ss.dead[r] {
				ss.matched = append(ss.matched, r)
			}
		}
	}
}

// matchSlow decides an alternative with array consistency, exactly as the
// AWS matcher walks it: conditions in path order, each choosing a value
// that comes from the same array elements as the values chosen so far
// (backtracking over the choices); exists:false holds when no value at the
// path is consistent with the choices made before it.
func (ss *segState) matchSlow(st *matchState, conds []int32, i int) bool {
	if i == len(conds) {
		return true
	}
	ci := &ss.seg.conds[conds[i]]
	n := ci.node
	has := st.headGen[n] == st.gen
	if ci.flags&cfAbsent != 0 {
		strict := ci.flags&cfStrict != 0
		found := false
		if has {
			for vi := st.head[n]; vi >= 0; vi = st.vals[vi].next {
				v := &st.vals[vi]
				if (!strict || v.present()) && st.consistent(v.ctx) {
					found = true
					break
				}
			}
		}
		if !found && ss.matchSlow(st, conds, i+1) {
			return true
		}
	}
	if !has {
		return false
	}
	preds := ss.seg.preds[ci.pred0 : ci.pred0+ci.npred]
	for vi := st.head[n]; vi >= 0; vi = st.vals[vi].next {
		v := &st.vals[vi]
		if !st.consistent(v.ctx) || !passesAny(preds, v) {
			continue
		}
		st.witness = append(st.witness, v.ctx)
		if ss.matchSlow(st, conds, i+1) {
			return true
		}
		st.witness = st.witness[:len(st.witness)-1]
	}
	return false
}

func passesAny(ps []pred, v *value) bool {
	for i := range ps {
		if ps[i].test(v) {
			return true
		}
	}
	return false
}

// consistent reports whether context c is compatible with every chosen
// witness.
func (st *matchState) consistent(c int32) bool {
	if c == 0 {
		return true
	}
	for _, w := range st.witness {
		if !st.compatible(w, c) {
			return false
		}
	}
	return true
}

// compatible reports whether two array contexts can be in one match: they
// do not hold different elements of the same array.
func (st *matchState) compatible(a, b int32) bool {
	if a == 0 || b == 0 || a == b {
		return true
	}
	cs := st.ctxs
	for cs[a].depth > cs[b].depth {
		a = cs[a].parent
	}
	for cs[b].depth > cs[a].depth {
		b = cs[b].parent
	}
	if a == b {
		return true
	}
	for cs[a].parent != cs[b].parent {
		a, b = cs[a].parent, cs[b].parent
	}
	return cs[a].array != cs[b].array
}

// hash returns the cached valueHash of value vi.
func (st *matchState) hash(vi int32) uint64 {
	v := &st.vals[vi]
	if v.h == 0 {
		v.h = valueHash(v)
	}
	return v.h
}

// composites adds the candidates of the composite anchors: every
// combination of the event's values at each signature's nodes.
func (ss *segState) composites(st *matchState) {
	seg := ss.seg
	for si, nodes := range seg.sigs {
		ok := true
		for _, n := range nodes {
			if st.headGen[n] != st.gen {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		seed := comboSeed(int32(si))
		for a := st.head[nodes[0]]; a >= 0; a = st.vals[a].next {
			ha := comboStep(seed, st.hash(a))
			for b := st.head[nodes[1]]; b >= 0; b = st.vals[b].next {
				hb := comboStep(ha, st.hash(b))
				if len(nodes) == 2 {
					ss.addCombo(st, hb)
					continue
				}
				for c := st.head[nodes[2]]; c >= 0; c = st.vals[c].next {
					ss.addCombo(st, comboStep(hb, st.hash(c)))
				}
			}
		}
	}
}

func (ss *segState) addCombo(st *matchState, h uint64) {
	for _, a := range ss.seg.combo.lookup(h | 1) {
		if ss.altGen[a] != st.gen {
			ss.altGen[a] = st.gen
			ss.cands = append(ss.cands, a)
		}
	}
}

// decide verifies all candidates of the active segments.
func (st *matchState) decide() {
	for _, ss := range st.active {
		if ss.seg.sigs != nil {
			ss.composites(st)
		}
		for _, a := range ss.cands {
			ss.check(st, a)
		}
		for _, a := range ss.seg.always {
			ss.check(st, a)
		}
	}
}

// any reports whether any rule matched.
func (st *matchState) any() bool {
	for _, ss := range st.active {
		if len(ss.matched) > 0 {
			return true
		}
	}
	return false
}

// appendIDs appends the matched rules' IDs, sorted, to dst.
func (st *matchState) appendIDs(dst []RuleID) []RuleID {
	var lists [maxSegments][]int32
	var segs [maxSegments]*segment
	k := 0
	for _, ss := range st.active {
		if len(ss.matched) > 0 && k < maxSegments {
			slices.Sort(ss.matched)
			lists[k], segs[k] = ss.matched, ss.seg
			k++
		}
	}
	if k == 1 {
		for _, r := range lists[0] {
			dst = append(dst, segs[0].ids[r])
		}
		return dst
	}
	// Merge the sorted lists of the segments (base and delta).
	var pos [maxSegments]int
	for {
		best := -1
		for j := 0; j < k; j++ {
			if pos[j] < len(lists[j]) {
				if best < 0 || segs[j].ids[lists[j][pos[j]]] < segs[best].ids[lists[best][pos[best]]] {
					best = j
				}
			}
		}
		if best < 0 {
			return dst
		}
		dst = append(dst, segs[best].ids[lists[best][pos[best]]])
		pos[best]++
	}
}
