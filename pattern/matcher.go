package pattern

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// RuleID names a rule in a Matcher.
type RuleID string

// Matcher is a set of named patterns evaluated together: MatchAll scans an
// event once and finds every matching rule, sharing work between rules
// (each distinct field test is evaluated once, values are looked up in
// hash tables by exact value, prefix and suffix rather than tested rule by
// rule). Add and Remove publish a new immutable index; MatchAll never
// waits for them. The zero value is not usable; use NewMatcher.
type Matcher struct {
	mu    sync.Mutex // serializes updates
	rules map[RuleID]*Pattern
	idx   atomic.Pointer[index]
}

// NewMatcher returns an empty Matcher.
func NewMatcher() *Matcher {
	m := &Matcher{rules: map[RuleID]*Pattern{}}
	m.idx.Store(buildIndex(nil, nil))
	return m
}

// Add adds rules, replacing rules with the same IDs, and publishes the new
// index (cost proportional to the whole rule set: add many at once).
func (m *Matcher) Add(rules map[RuleID]*Pattern) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, p := range rules {
		m.rules[id] = p
	}
	m.publish()
}

// AddRule adds one rule; see Add.
func (m *Matcher) AddRule(id RuleID, p *Pattern) { m.Add(map[RuleID]*Pattern{id: p}) }

// Remove removes rules and reports how many were present.
func (m *Matcher) Remove(ids ...RuleID) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := m.rules[id]; ok {
			delete(m.rules, id)
			n++
		}
	}
	if n > 0 {
		m.publish()
	}
	return n
}

// Len returns the number of rules.
func (m *Matcher) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rules)
}

func (m *Matcher) publish() {
	ids := make([]RuleID, 0, len(m.rules))
	for id := range m.rules {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	pats := make([]*Pattern, len(ids))
	for i, id := range ids {
		pats[i] = m.rules[id]
	}
	m.idx.Store(buildIndex(ids, pats))
}

// MatchAll returns the IDs of the rules event matches, sorted. The event
// must be a JSON object; malformed JSON is an error.
func (m *Matcher) MatchAll(event []byte) ([]RuleID, error) {
	return m.AppendMatches(nil, event)
}

// AppendMatches is MatchAll appending to dst, for callers that reuse a
// slice (then a match allocates nothing).
func (m *Matcher) AppendMatches(dst []RuleID, event []byte) ([]RuleID, error) {
	idx := m.idx.Load()
	st := idx.state()
	defer idx.release(st)
	if err := st.scan(event); err != nil {
		return dst, err
	}
	return st.finish(dst), nil
}

// Match reports whether event matches p. Malformed JSON is an error.
func (p *Pattern) Match(event []byte) (bool, error) {
	idx := p.index()
	st := idx.state()
	defer idx.release(st)
	if err := st.scan(event); err != nil {
		return false, err
	}
	return st.matched(), nil
}

func (p *Pattern) index() *index {
	p.once.Do(func() { p.idx = buildIndex([]RuleID{""}, []*Pattern{p}) })
	return p.idx
}

// index is an immutable compiled rule set.
type index struct {
	ids   []RuleID
	trie  *pathNode
	paths []pathIndex
	conds []condInfo
	alts  []altInfo
	// always are the alternatives without positive conditions (only
	// exists:false style tests): they are verified on every event.
	always []int32
	pool   sync.Pool
}

type condInfo struct {
	path     int32
	negative bool
	alts     []int32 // alternatives anchored on this condition
	lazy     []pred  // set when evaluated only on demand (see holds)
}

type altInfo struct {
	rule int32
	pos  []int32 // positive conditions: all must hold
	negs []int32 // negative conditions (exists: false ...): hold on absence too
}

// pathIndex holds every test on one key path, organised for lookup.
type pathIndex struct {
	exactStr   map[string][]int32
	exactNum   map[float64][]int32
	trueC      []int32
	falseC     []int32
	nullC      []int32
	prefix     map[string][]int32
	prefixLens []int
	suffix     map[string][]int32
	suffixLens []int
	fold       map[string][]int32 // equals-ignore-case, ASCII operands lower-cased
	exists     []int32
	others     []predRef // tests without a lookup table
	keepValues bool      // lazy conditions read this path's values
}

type predRef struct {
	p    pred
	cond int32
}

// buildIndex compiles patterns into one index, sharing identical
// conditions between rules. Each alternative is anchored on its least
// shared positive condition: only when that one holds is the alternative
// checked, so a popular condition (the same source in hundreds of rules)
// costs one mark per event, not one step per rule.
func buildIndex(ids []RuleID, pats []*Pattern) *index {
	idx := &index{ids: ids, trie: newPathNode()}
	pathIDs := map[string]int32{}
	condIDs := map[string]int32{}
	uses := []int{}    // alternatives using each condition
	breadth := []int{} // how many values a condition tends to accept: a poor anchor when high
	var condPreds [][]pred
	for r, p := range pats {
		for _, a := range p.alts {
			ai := altInfo{rule: int32(r)}
			for ci := range a.conds {
				c := &a.conds[ci]
				pid := idx.pathID(pathIDs, c.path)
				key := fmt.Sprintf("%d|%v", pid, c.preds)
				id, ok := condIDs[key]
				if !ok {
					id = int32(len(idx.conds))
					condIDs[key] = id
					idx.conds = append(idx.conds, condInfo{path: pid, negative: c.negative()})
					uses = append(uses, 0)
					breadth = append(breadth, condBreadth(c.preds))
					condPreds = append(condPreds, c.preds)
				}
				if slices.Contains(ai.pos, id) || slices.Contains(ai.negs, id) {
					continue // the same condition twice in one alternative
				}
				uses[id]++
				if idx.conds[id].negative {
					ai.negs = append(ai.negs, id)
				} else {
					ai.pos = append(ai.pos, id)
				}
			}
			idx.alts = append(idx.alts, ai)
		}
	}
	for a := range idx.alts {
		ai := &idx.alts[a]
		if len(ai.pos) == 0 {
			idx.always = append(idx.always, int32(a))
			continue
		}
		anchor := ai.pos[0]
		for _, c := range ai.pos[1:] {
			if breadth[c] < breadth[anchor] || breadth[c] == breadth[anchor] && uses[c] < uses[anchor] {
				anchor = c
			}
		}
		idx.conds[anchor].alts = append(idx.conds[anchor].alts, int32(a))
	}
	// Conditions that anchor nothing and need a test per value (no lookup
	// table) are evaluated lazily, only for candidate alternatives.
	for id := range idx.conds {
		ci := &idx.conds[id]
		if len(ci.alts) == 0 && !ci.negative && allUnindexed(condPreds[id]) {
			ci.lazy = condPreds[id]
			idx.paths[ci.path].keepValues = true
			continue
		}
		idx.addPreds(ci.path, int32(id), condPreds[id])
	}
	for i := range idx.paths {
		pi := &idx.paths[i]
		slices.Sort(pi.prefixLens)
		pi.prefixLens = slices.Compact(pi.prefixLens)
		slices.Sort(pi.suffixLens)
		pi.suffixLens = slices.Compact(pi.suffixLens)
	}
	idx.pool.New = func() any { return idx.newState() }
	return idx
}

// allUnindexed reports whether every pred needs a test per value (none
// has a lookup table).
func allUnindexed(preds []pred) bool {
	for _, p := range preds {
		switch p.kind {
		case predNumeric, predCIDR, predWildcard, predPrefixFold, predSuffixFold, predAnythingBut:
		default:
			return false
		}
	}
	return true
}

// condBreadth ranks a condition by how much it accepts: exact values
// and prefixes are narrow (0), ranges and patterns middling (1),
// anything-but and exists broad (2).
func condBreadth(preds []pred) int {
	b := 0
	for _, p := range preds {
		switch p.kind {
		case predNumeric, predCIDR, predWildcard, predPrefixFold, predSuffixFold:
			b = max(b, 1)
		case predAnythingBut, predExists, predNotExists:
			b = max(b, 2)
		}
	}
	return b
}

func (idx *index) pathID(ids map[string]int32, path []string) int32 {
	key := strings.Join(path, "\x00")
	if id, ok := ids[key]; ok {
		return id
	}
	n := idx.trie
	for _, k := range path {
		if n.children == nil {
			n.children = map[string]*pathNode{}
		}
		c := n.children[k]
		if c == nil {
			c = newPathNode()
			n.children[k] = c
		}
		n = c
	}
	id := int32(len(idx.paths))
	n.id = id
	ids[key] = id
	idx.paths = append(idx.paths, pathIndex{})
	return id
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func addTo(m *map[string][]int32, key string, c int32) {
	if *m == nil {
		*m = map[string][]int32{}
	}
	(*m)[key] = append((*m)[key], c)
}

func (idx *index) addPreds(pid, c int32, preds []pred) {
	pi := &idx.paths[pid]
	for _, p := range preds {
		switch p.kind {
		case predString:
			addTo(&pi.exactStr, p.str, c)
		case predNumber:
			if pi.exactNum == nil {
				pi.exactNum = map[float64][]int32{}
			}
			pi.exactNum[p.num] = append(pi.exactNum[p.num], c)
		case predTrue:
			pi.trueC = append(pi.trueC, c)
		case predFalse:
			pi.falseC = append(pi.falseC, c)
		case predNull:
			pi.nullC = append(pi.nullC, c)
		case predPrefix:
			addTo(&pi.prefix, p.str, c)
			pi.prefixLens = append(pi.prefixLens, len(p.str))
		case predSuffix:
			addTo(&pi.suffix, p.str, c)
			pi.suffixLens = append(pi.suffixLens, len(p.str))
		case predEqualsFold:
			if isASCII(p.str) {
				addTo(&pi.fold, strings.ToLower(p.str), c)
			} else {
				pi.others = append(pi.others, predRef{p, c})
			}
		case predExists:
			pi.exists = append(pi.exists, c)
		case predNotExists:
			// Holds on absence; checked when the alternative is verified.
		default:
			pi.others = append(pi.others, predRef{p, c})
		}
	}
}

// matchState is the per-call scratch of a match, pooled per index so
// that matching allocates nothing in proportion to the rules.
type matchState struct {
	idx     *index
	gen     uint32
	condGen []uint32
	lazyGen []uint32
	pathGen []uint32
	vals    [][]value // values of keepValues paths, this event
	ruleGen []uint32
	cands   []int32
	rules   []int32
	sc      scanner
	lower   []byte
}

func (idx *index) newState() any {
	st := &matchState{
		idx:     idx,
		condGen: make([]uint32, len(idx.conds)),
		lazyGen: make([]uint32, len(idx.conds)),
		vals:    make([][]value, len(idx.paths)),
		pathGen: make([]uint32, len(idx.paths)),
		ruleGen: make([]uint32, len(idx.ids)),
	}
	st.sc.emit = st.onValue
	return st
}

func (idx *index) state() *matchState {
	st := idx.pool.Get().(*matchState)
	st.gen++
	if st.gen == 0 { // wrapped: forget every mark
		clear(st.condGen)
		clear(st.lazyGen)
		clear(st.pathGen)
		clear(st.ruleGen)
		st.gen = 1
	}
	st.cands = st.cands[:0]
	return st
}

func (idx *index) release(st *matchState) {
	st.sc.b = nil
	idx.pool.Put(st)
}

func (st *matchState) scan(event []byte) error {
	st.sc.b, st.sc.i = event, 0
	return st.sc.scanEvent(st.idx.trie)
}

// satisfy marks condition c as holding for this event; the alternatives
// anchored on it become candidates, checked when the scan is done.
func (st *matchState) satisfy(c int32) {
	if st.condGen[c] == st.gen {
		return
	}
	st.condGen[c] = st.gen
	st.cands = append(st.cands, st.idx.conds[c].alts...)
}

func (st *matchState) satisfyAll(cs []int32) {
	for _, c := range cs {
		st.satisfy(c)
	}
}

// onValue runs every test of path on one event value.
func (st *matchState) onValue(path int32, v value) {
	pi := &st.idx.paths[path]
	if pi.keepValues {
		if st.pathGen[path] != st.gen {
			st.vals[path] = st.vals[path][:0]
		}
		st.vals[path] = append(st.vals[path], v)
	}
	st.pathGen[path] = st.gen
	switch v.kind {
	case kindString:
		s := v.str
		if pi.exactStr != nil {
			st.satisfyAll(pi.exactStr[s])
		}
		for _, n := range pi.prefixLens {
			if n > len(s) {
				break
			}
			st.satisfyAll(pi.prefix[s[:n]])
		}
		for _, n := range pi.suffixLens {
			if n > len(s) {
				break
			}
			st.satisfyAll(pi.suffix[s[len(s)-n:]])
		}
		if pi.fold != nil {
			if isASCII(s) {
				st.lower = appendLowerASCII(st.lower[:0], s)
				st.satisfyAll(pi.fold[string(st.lower)])
			} else {
				for op, cs := range pi.fold {
					if strings.EqualFold(op, s) {
						st.satisfyAll(cs)
					}
				}
			}
		}
	case kindNumber:
		if pi.exactNum != nil {
			st.satisfyAll(pi.exactNum[v.num])
		}
	case kindTrue:
		st.satisfyAll(pi.trueC)
	case kindFalse:
		st.satisfyAll(pi.falseC)
	case kindNull:
		st.satisfyAll(pi.nullC)
	}
	for i := range pi.others {
		o := &pi.others[i]
		if st.condGen[o.cond] != st.gen && o.p.test(&v) {
			st.satisfy(o.cond)
		}
	}
	st.satisfyAll(pi.exists)
}

func appendLowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// holds checks every condition of alternative a.
func (st *matchState) holds(a int32) bool {
	ai := &st.idx.alts[a]
	for _, c := range ai.pos {
		if st.condGen[c] != st.gen && !st.lazyHolds(c) {
			return false
		}
	}
	for _, n := range ai.negs {
		c := &st.idx.conds[n]
		if st.condGen[n] != st.gen && st.pathGen[c.path] == st.gen {
			return false // a value is present and no other test held
		}
	}
	return true
}

// lazyHolds evaluates a lazy condition on the path's values, once per
// event.
func (st *matchState) lazyHolds(c int32) bool {
	ci := &st.idx.conds[c]
	if ci.lazy == nil || st.lazyGen[c] == st.gen {
		return false
	}
	st.lazyGen[c] = st.gen
	if st.pathGen[ci.path] != st.gen {
		return false
	}
	for i := range st.vals[ci.path] {
		for j := range ci.lazy {
			if ci.lazy[j].test(&st.vals[ci.path][i]) {
				st.condGen[c] = st.gen
				return true
			}
		}
	}
	return false
}

// finish appends the matched rules' IDs in ID order (rule indexes follow
// the sorted IDs, so sorting indexes sorts IDs).
func (st *matchState) finish(dst []RuleID) []RuleID {
	st.rules = st.rules[:0]
	add := func(a int32) {
		r := st.idx.alts[a].rule
		if st.ruleGen[r] != st.gen && st.holds(a) {
			st.ruleGen[r] = st.gen
			st.rules = append(st.rules, r)
		}
	}
	for _, a := range st.cands {
		add(a)
	}
	for _, a := range st.idx.always {
		add(a)
	}
	slices.Sort(st.rules)
	for _, r := range st.rules {
		dst = append(dst, st.idx.ids[r])
	}
	return dst
}

// matched reports whether any alternative held (single-pattern index).
func (st *matchState) matched() bool {
	for _, a := range st.cands {
		if st.holds(a) {
			return true
		}
	}
	for _, a := range st.idx.always {
		if st.holds(a) {
			return true
		}
	}
	return false
}
