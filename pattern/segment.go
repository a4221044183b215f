package pattern

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"net/netip"
	"slices"
	"unicode/utf8"
)

// A segment is an immutable compiled rule set: the conditions of all its
// rules, deduplicated, and per trie node the tables that find which
// conditions an event value satisfies.
//
// Matching is anchored: every alternative (conjunction) of every rule is
// filed either under the combined hash of two or three of its exact-value
// conditions (a composite anchor, looked up once the event is scanned) or
// under one or two of its most selective conditions, its anchors. Only
// anchors are evaluated while the event is scanned, through hash tables
// (exact values, prefixes, suffixes, folded strings, CIDR blocks) and a
// sorted interval list (numeric ranges), so their cost does not grow with
// the number of rules. An alternative whose anchors all hold is a
// candidate; a candidate's other conditions are then evaluated on demand,
// once per event each, from the values recorded during the scan.
type segment struct {
	attrs bool     // matches SNS message attributes, not JSON events
	ids   []RuleID // local rule index → ID, sorted
	conds []condInfo
	preds []pred   // the conditions' preds, each condition's contiguous
	phash []uint64 // predHash of exact-value preds (0 for other kinds)
	// anchored lists, per eager condition, the alternatives anchored on it.
	anchored []int32
	// Alternatives, packed: altData[altOff[a]:] is the anchors (count
	// first), then the conditions (count first, in the AWS walk order),
	// the local rules that have exactly this alternative (count first), and
	// the shared nodes (count first): the trie nodes where two of the
	// conditions' paths could meet in one array, so that when the event
	// has an array at one of them array consistency must be checked
	// (matchSlow).
	altOff  []int32
	altData []int32
	altNeed []uint8      // anchors that must hold before an alternative is a candidate
	paths   []*pathIndex // by trie node; nil where this segment tests nothing
	// always are the alternatives without an anchor (only exists:false, or
	// attribute anything-but conditions): they are checked on every match.
	always []int32
	// Composite anchors: alternatives with two or three exact-value
	// conditions are filed under the hash of their values together, per
	// signature (the tuple of nodes); after the scan, every combination of
	// the event's values at a signature's nodes is looked up. A candidate
	// then satisfies all of those conditions at once (up to hash
	// collisions, which the check weeds out).
	sigs  [][]int32
	combo htab
}

// condInfo is a condition, compactly: the data read for every candidate.
type condInfo struct {
	node         int32
	pred0, npred int32 // preds[pred0 : pred0+npred]
	alt0, nalt   int32 // anchored[alt0 : alt0+nalt]
	flags        uint8
}

const (
	cfAbsent    = 1 << iota // exists:false: holds when the node has no value
	cfStrict                // SNS: null and "" are not values for exists
	cfEager                 // an anchor: evaluated during the scan
	cfAllValues             // anything-but must hold for every value (SNS attributes)
	cfExact                 // only exact-value preds (compared by hash first)
)

// alt returns alternative a's anchors, conditions, rules and shared nodes.
func (s *segment) alt(a int32) (anchors, conds, rules, shared []int32) {
	d := s.altData[s.altOff[a]:]
	n := d[0]
	anchors, d = d[1:1+n], d[1+n:]
	n = d[0]
	conds, d = d[1:1+n], d[1+n:]
	n = d[0]
	rules, d = d[1:1+n], d[1+n:]
	return anchors, conds, rules, d[1 : 1+d[0]]
}

// Build-time forms of conditions and alternatives.
type condBuild struct {
	node      int32
	preds     []pred
	absent    bool
	strict    bool
	eager     bool
	allValues bool
	alts      []int32
}

type altBuild struct {
	rules   []int32
	conds   []int32
	anchors []int32
	shared  []int32
}

// pathIndex finds the anchor conditions a value at one node satisfies.
type pathIndex struct {
	exact         htab // exact values (strings, numbers, true, false, null)
	exactB        htabBuilder
	prefix        map[string][]probe
	prefixLens    []int
	suffix        map[string][]probe
	suffixLens    []int
	fold          map[string][]int32 // folded whole strings
	prefixFold    map[string][]int32 // folded prefixes, by rune count
	prefixFoldN   []int
	suffixFold    map[string][]int32
	suffixFoldN   []int
	ranges        rangeIndex
	cidr          map[netip.Prefix][]int32
	cidrBits      []cidrKey
	exists        []int32
	present       []int32
	others        []probe // tests without a table (anything-but, bare wildcards)
	hasStringWork bool
}

// probe is a condition to mark, after a full test when check is set (a
// wildcard found through its literal prefix or suffix).
type probe struct {
	cond  int32
	check *pred
}

type cidrKey struct {
	bits int
	v4   bool
}

// rangeIndex finds the numeric ranges containing a value: ranges sorted by
// lower bound, with the maximum upper bound of each block of 16 so that
// blocks that end below the value are skipped.
type rangeIndex struct {
	lo, hi         []float64
	loIncl, hiIncl []bool
	cond           []int32
	blockMax       []float64
}

const rangeBlock = 16

type rangeEntry struct {
	lo, hi         float64
	loIncl, hiIncl bool
	cond           int32
}

// ruleSource is one rule to compile into a segment.
type ruleSource struct {
	id RuleID
	p  *Pattern
}

// buildSegment compiles rules (sorted by ID) against trie t, inserting
// their paths into t.
func buildSegment(t *trie, rules []ruleSource, attrs bool) *segment {
	s := &segment{attrs: attrs, ids: make([]RuleID, len(rules))}
	b := &segBuild{seg: s}
	condIDs := map[string]int32{}
	altIDs := map[string]int32{}
	uses := []int32{}
	var keyBuf []byte
	var altKey []byte
	for r, rs := range rules {
		s.ids[r] = rs.id
		for _, a := range rs.p.alts {
			ids := make([]int32, 0, len(a.conds))
			altKey = altKey[:0]
			for ci := range a.conds {
				c := &a.conds[ci]
				node := t.insert(c.segs)
				t.nodes[node].used = true
				keyBuf = condKey(keyBuf[:0], node, c)
				id, ok := condIDs[string(keyBuf)]
				if !ok {
					id = int32(len(b.conds))
					condIDs[string(keyBuf)] = id
					b.conds = append(b.conds, condBuild{node: node, preds: c.preds, absent: c.absent, strict: c.strict, allValues: attrs})
					uses = append(uses, 0)
				}
				ids = append(ids, id)
				altKey = binary.LittleEndian.AppendUint32(altKey, uint32(id))
			}
			if ai, ok := altIDs[string(altKey)]; ok {
				if rs := b.alts[ai].rules; rs[len(rs)-1] != int32(r) {
					b.alts[ai].rules = append(b.alts[ai].rules, int32(r))
				}
				continue
			}
			altIDs[string(altKey)] = int32(len(b.alts))
			for _, id := range ids {
				uses[id]++
			}
			b.alts = append(b.alts, altBuild{rules: []int32{int32(r)}, conds: ids, shared: sharedNodes(t, a.conds)})
		}
	}
	sigIDs := map[string]int32{}
	for ai := range b.alts {
		a := &b.alts[ai]
		if b.compositeAnchor(int32(ai), sigIDs) {
			continue
		}
		// Up to two anchors, the most selective conditions by estimate: the
		// alternative is a candidate once both hold (counted as they are
		// satisfied), which keeps candidates close to actual matches.
		type scored struct {
			c    int32
			est  float64
			rank int
		}
		var cs []scored
		for _, c := range a.conds {
			ci := &b.conds[c]
			r := anchorRank(ci, attrs)
			if r < 0 {
				continue
			}
			cs = append(cs, scored{c, b.selectivity(ci) * (1 + float64(uses[c])*1e-9), r})
		}
		if len(cs) == 0 {
			s.always = append(s.always, int32(ai))
			continue
		}
		slices.SortStableFunc(cs, func(x, y scored) int {
			switch {
			case x.est < y.est:
				return -1
			case x.est > y.est:
				return 1
			}
			return 0
		})
		for i, sc := range cs {
			if i == 2 || i == 1 && sc.rank >= 3 {
				break
			}
			a.anchors = append(a.anchors, sc.c)
			b.conds[sc.c].alts = append(b.conds[sc.c].alts, int32(ai))
			b.conds[sc.c].eager = true
		}
	}
	b.pack()
	s.combo = b.combo.build()
	s.paths = make([]*pathIndex, len(t.nodes))
	for ci := range b.conds {
		c := &b.conds[ci]
		if !c.eager {
			continue
		}
		pi := s.paths[c.node]
		if pi == nil {
			pi = &pathIndex{}
			s.paths[c.node] = pi
		}
		pi.add(int32(ci), s.preds[s.conds[ci].pred0:s.conds[ci].pred0+s.conds[ci].npred])
	}
	for _, pi := range s.paths {
		if pi != nil {
			pi.finish()
		}
	}
	// Nodes whose values only lazy conditions read still need a (empty)
	// entry so that the segment sees the values.
	for ci := range s.conds {
		if s.paths[s.conds[ci].node] == nil {
			s.paths[s.conds[ci].node] = &pathIndex{}
		}
	}
	return s
}

// maxComboKeys bounds the value combinations one alternative files under
// a composite anchor.
const maxComboKeys = 64

// segBuild holds a segment under construction.
type segBuild struct {
	seg      *segment
	conds    []condBuild
	alts     []altBuild
	distinct map[distinctKey]int // distinct operands per node and kind
	combo    htabBuilder
}

type distinctKey struct {
	node int32
	kind predKind
}

// selectivity estimates the probability that a condition holds, assuming
// an event's value at a node is one of the operands rules use there: a
// condition with k operands among D distinct ones holds with k/D.
// Ranges are guessed at one in four, wildcards one in two, and anything-but
// and exists to hold.
func (b *segBuild) selectivity(c *condBuild) float64 {
	if b.distinct == nil {
		b.distinct = map[distinctKey]int{}
		seen := map[string]bool{}
		for i := range b.conds {
			for j := range b.conds[i].preds {
				p := &b.conds[i].preds[j]
				k := distinctKey{b.conds[i].node, p.kind}
				key := string(predKey(binary.LittleEndian.AppendUint32(nil, uint32(k.node)), p))
				if !seen[key] {
					seen[key] = true
					b.distinct[k]++
				}
			}
		}
	}
	est := 0.0
	for i := range c.preds {
		p := &c.preds[i]
		switch p.kind {
		case predString, predNumber, predTrue, predFalse, predNull, predPrefix, predSuffix,
			predEqualsFold, predPrefixFold, predSuffixFold, predCIDR:
			est += 1 / float64(max(b.distinct[distinctKey{c.node, p.kind}], 2))
		case predNumeric:
			if p.lo == p.hi {
				est += 1 / float64(max(b.distinct[distinctKey{c.node, p.kind}], 2))
			} else {
				est += 0.25
			}
		case predWildcard:
			est += 0.5
		default:
			est += 1
		}
	}
	return min(est, 1)
}

// pack lays the built conditions and alternatives out compactly.
func (b *segBuild) pack() {
	s := b.seg
	s.conds = make([]condInfo, len(b.conds))
	for ci := range b.conds {
		c := &b.conds[ci]
		info := condInfo{node: c.node, pred0: int32(len(s.preds)), npred: int32(len(c.preds)), alt0: int32(len(s.anchored)), nalt: int32(len(c.alts))}
		s.anchored = append(s.anchored, c.alts...)
		exact := exactOnly(c)
		for i := range c.preds {
			s.preds = append(s.preds, c.preds[i])
			h := uint64(0)
			if exact {
				h = predHash(&c.preds[i])
			}
			s.phash = append(s.phash, h)
		}
		for _, f := range []struct {
			on  bool
			bit uint8
		}{{c.absent, cfAbsent}, {c.strict, cfStrict}, {c.eager, cfEager}, {c.allValues, cfAllValues}, {exact, cfExact}} {
			if f.on {
				info.flags |= f.bit
			}
		}
		s.conds[ci] = info
	}
	s.altOff = make([]int32, len(b.alts))
	s.altNeed = make([]uint8, len(b.alts))
	for ai := range b.alts {
		a := &b.alts[ai]
		s.altOff[ai] = int32(len(s.altData))
		s.altNeed[ai] = uint8(len(a.anchors))
		s.altData = append(s.altData, int32(len(a.anchors)))
		s.altData = append(s.altData, a.anchors...)
		s.altData = append(s.altData, int32(len(a.conds)))
		s.altData = append(s.altData, a.conds...)
		s.altData = append(s.altData, int32(len(a.rules)))
		s.altData = append(s.altData, a.rules...)
		s.altData = append(s.altData, int32(len(a.shared)))
		s.altData = append(s.altData, a.shared...)
	}
}

// compositeAnchor files alternative ai under the combinations of values of
// two or three of its exact-value conditions, if it has them.
func (b *segBuild) compositeAnchor(ai int32, sigIDs map[string]int32) bool {
	s := b.seg
	a := &b.alts[ai]
	var picked []int32
	for _, c := range a.conds {
		if exactOnly(&b.conds[c]) {
			picked = append(picked, c)
		}
	}
	if len(picked) < 2 {
		return false
	}
	slices.SortStableFunc(picked, func(x, y int32) int { return len(b.conds[x].preds) - len(b.conds[y].preds) })
	n, keys := 0, 1
	for _, c := range picked {
		k := len(b.conds[c].preds)
		if n == 3 || keys*k > maxComboKeys {
			break
		}
		keys *= k
		n++
	}
	if n < 2 {
		return false
	}
	picked = picked[:n]
	slices.SortFunc(picked, func(x, y int32) int { return int(b.conds[x].node - b.conds[y].node) })
	var sigKey []byte
	nodes := make([]int32, n)
	for i, c := range picked {
		nodes[i] = b.conds[c].node
		sigKey = binary.LittleEndian.AppendUint32(sigKey, uint32(nodes[i]))
	}
	sig, ok := sigIDs[string(sigKey)]
	if !ok {
		sig = int32(len(s.sigs))
		sigIDs[string(sigKey)] = sig
		s.sigs = append(s.sigs, nodes)
	}
	var rec func(i int, h uint64)
	rec = func(i int, h uint64) {
		if i == len(picked) {
			b.combo.add(h|1, value{}, ai)
			return
		}
		for j := range b.conds[picked[i]].preds {
			rec(i+1, comboStep(h, predHash(&b.conds[picked[i]].preds[j])))
		}
	}
	rec(0, comboSeed(sig))
	return true
}

// exactOnly reports whether a condition tests only exact values.
func exactOnly(c *condBuild) bool {
	if c.absent || len(c.preds) == 0 {
		return false
	}
	for i := range c.preds {
		switch p := &c.preds[i]; p.kind {
		case predString, predNumber, predTrue, predFalse, predNull:
		case predNumeric:
			if p.lo != p.hi {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// anchorRank ranks a condition as an anchor, lower being more selective,
// or -1 when it cannot be one (exists:false holds without any value; for
// attributes, anything-but must see all the attribute's values).
func anchorRank(c *condBuild, attrs bool) int {
	if c.absent {
		return -1
	}
	rank := 0
	for i := range c.preds {
		p := &c.preds[i]
		switch p.kind {
		case predString, predNumber, predTrue, predFalse, predNull:
		case predNumeric:
			if p.lo != p.hi {
				rank = max(rank, 1)
			}
		case predPrefix, predSuffix, predEqualsFold, predPrefixFold, predSuffixFold, predCIDR:
			rank = max(rank, 1)
		case predWildcard:
			rank = max(rank, 2)
		case predAnythingBut:
			if attrs {
				return -1
			}
			rank = max(rank, 3)
		default: // exists
			rank = max(rank, 3)
		}
	}
	return rank
}

// condKey identifies a condition for deduplication.
func condKey(b []byte, node int32, c *cond) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(node))
	flags := byte(0)
	if c.absent {
		flags |= 1
	}
	if c.strict {
		flags |= 2
	}
	b = append(b, flags)
	for i := range c.preds {
		b = predKey(b, &c.preds[i])
	}
	return b
}

func predKey(b []byte, p *pred) []byte {
	b = append(b, byte(p.kind))
	switch p.kind {
	case predString, predPrefix, predSuffix, predPrefixFold, predSuffixFold, predEqualsFold:
		b = binary.AppendUvarint(b, uint64(len(p.str)))
		b = append(b, p.str...)
	case predNumber:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.num))
	case predNumeric:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.lo))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.hi))
		b = append(b, boolByte(p.loIncl), boolByte(p.hiIncl))
	case predCIDR:
		b, _ = p.cidr.AppendBinary(b)
	case predWildcard:
		b = binary.AppendUvarint(b, uint64(len(p.wild)))
		for _, w := range p.wild {
			b = binary.AppendUvarint(b, uint64(len(w)))
			b = append(b, w...)
		}
	case predAnythingBut:
		b = binary.AppendUvarint(b, uint64(len(p.inner)))
		for i := range p.inner {
			b = predKey(b, &p.inner[i])
		}
	}
	return b
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// sharedNodes returns the trie nodes at which two of the conditions'
// paths could meet in one array: every proper or improper common prefix of
// two paths (excluding the root, which is an object).
func sharedNodes(t *trie, conds []cond) []int32 {
	var out []int32
	for i := range conds {
		for j := i + 1; j < len(conds); j++ {
			a, b := conds[i].segs, conds[j].segs
			n := int32(0)
			for k := 0; k < len(a) && k < len(b) && a[k] == b[k]; k++ {
				n = t.find(n, a[k])
				if !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

func (pi *pathIndex) add(c int32, preds []pred) {
	for i := range preds {
		p := &preds[i]
		switch p.kind {
		case predString, predNumber, predTrue, predFalse, predNull:
			pi.exactB.add(predHash(p), predValue(p), c)
		case predNumeric:
			if p.lo == p.hi {
				pi.exactB.add(predHash(p), predValue(p), c)
				continue
			}
			pi.ranges.lo = append(pi.ranges.lo, p.lo)
			pi.ranges.hi = append(pi.ranges.hi, p.hi)
			pi.ranges.loIncl = append(pi.ranges.loIncl, p.loIncl)
			pi.ranges.hiIncl = append(pi.ranges.hiIncl, p.hiIncl)
			pi.ranges.cond = append(pi.ranges.cond, c)
		case predPrefix:
			pi.addPrefix(p.str, probe{cond: c})
		case predSuffix:
			pi.addSuffix(p.str, probe{cond: c})
		case predWildcard:
			switch first, last := p.wild[0], p.wild[len(p.wild)-1]; {
			case len(p.wild) == 1:
				exact := pred{kind: predString, str: first}
				pi.exactB.add(predHash(&exact), predValue(&exact), c)
			case first != "" && len(first) >= len(last):
				pi.addPrefix(first, probe{cond: c, check: p})
			case last != "":
				pi.addSuffix(last, probe{cond: c, check: p})
			default:
				pi.others = append(pi.others, probe{cond: c, check: p})
			}
		case predEqualsFold:
			if pi.fold == nil {
				pi.fold = map[string][]int32{}
			}
			pi.fold[p.str] = appendOnce(pi.fold[p.str], c)
		case predPrefixFold:
			if pi.prefixFold == nil {
				pi.prefixFold = map[string][]int32{}
			}
			pi.prefixFold[p.str] = appendOnce(pi.prefixFold[p.str], c)
			pi.prefixFoldN = append(pi.prefixFoldN, utf8.RuneCountInString(p.str))
		case predSuffixFold:
			if pi.suffixFold == nil {
				pi.suffixFold = map[string][]int32{}
			}
			pi.suffixFold[p.str] = appendOnce(pi.suffixFold[p.str], c)
			pi.suffixFoldN = append(pi.suffixFoldN, utf8.RuneCountInString(p.str))
		case predCIDR:
			if pi.cidr == nil {
				pi.cidr = map[netip.Prefix][]int32{}
			}
			pi.cidr[p.cidr] = appendOnce(pi.cidr[p.cidr], c)
			k := cidrKey{bits: p.cidr.Bits(), v4: p.cidr.Addr().Is4()}
			if !slices.Contains(pi.cidrBits, k) {
				pi.cidrBits = append(pi.cidrBits, k)
			}
		case predExists:
			pi.exists = appendOnce(pi.exists, c)
		case predPresent:
			pi.present = appendOnce(pi.present, c)
		default:
			pi.others = append(pi.others, probe{cond: c, check: p})
		}
	}
}

func appendOnce(s []int32, c int32) []int32 {
	if len(s) > 0 && s[len(s)-1] == c {
		return s
	}
	return append(s, c)
}

func (pi *pathIndex) addPrefix(s string, p probe) {
	if pi.prefix == nil {
		pi.prefix = map[string][]probe{}
	}
	pi.prefix[s] = append(pi.prefix[s], p)
	pi.prefixLens = append(pi.prefixLens, len(s))
}

func (pi *pathIndex) addSuffix(s string, p probe) {
	if pi.suffix == nil {
		pi.suffix = map[string][]probe{}
	}
	pi.suffix[s] = append(pi.suffix[s], p)
	pi.suffixLens = append(pi.suffixLens, len(s))
}

func sortedUnique(s []int) []int {
	slices.Sort(s)
	return slices.Compact(s)
}

func (pi *pathIndex) finish() {
	pi.exact, pi.exactB = pi.exactB.build(), htabBuilder{}
	pi.prefixLens = sortedUnique(pi.prefixLens)
	pi.suffixLens = sortedUnique(pi.suffixLens)
	pi.prefixFoldN = sortedUnique(pi.prefixFoldN)
	pi.suffixFoldN = sortedUnique(pi.suffixFoldN)
	pi.hasStringWork = pi.prefix != nil || pi.suffix != nil || pi.fold != nil ||
		pi.prefixFold != nil || pi.suffixFold != nil || pi.cidr != nil
	r := &pi.ranges
	if len(r.lo) == 0 {
		return
	}
	es := make([]rangeEntry, len(r.lo))
	for i := range es {
		es[i] = rangeEntry{r.lo[i], r.hi[i], r.loIncl[i], r.hiIncl[i], r.cond[i]}
	}
	slices.SortFunc(es, func(a, b rangeEntry) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	for i, e := range es {
		r.lo[i], r.hi[i], r.loIncl[i], r.hiIncl[i], r.cond[i] = e.lo, e.hi, e.loIncl, e.hiIncl, e.cond
	}
	r.blockMax = r.blockMax[:0]
	for i := 0; i < len(es); i += rangeBlock {
		m := math.Inf(-1)
		for _, e := range es[i:min(i+rangeBlock, len(es))] {
			m = max(m, e.hi)
		}
		r.blockMax = append(r.blockMax, m)
	}
}

// Value hashing for composite anchors: a value and an exact-value pred
// that match hash alike.

var hashSeed = maphash.MakeSeed()

const (
	hashTrue  = 0x9e3779b97f4a7c15
	hashFalse = 0xc2b2ae3d27d4eb4f
	hashNull  = 0x165667b19e3779f9
)

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func hashNumber(f float64) uint64 {
	if f == 0 {
		f = 0 // -0 and 0 are equal
	}
	return mix64(math.Float64bits(f) ^ 0x27d4eb2f165667c5)
}

// predHash and valueHash never return 0 (the low bit is set), so that 0
// can mark a value's hash as not computed.
func predHash(p *pred) uint64 { return predHash0(p) | 1 }

func valueHash(v *value) uint64 { return valueHash0(v) | 1 }

func predHash0(p *pred) uint64 {
	switch p.kind {
	case predString:
		return maphash.String(hashSeed, p.str)
	case predNumber:
		return hashNumber(p.num)
	case predNumeric:
		return hashNumber(p.lo)
	case predTrue:
		return hashTrue
	case predFalse:
		return hashFalse
	}
	return hashNull
}

func valueHash0(v *value) uint64 {
	switch v.kind {
	case kindString:
		return maphash.String(hashSeed, v.str)
	case kindNumber:
		return hashNumber(v.num)
	case kindTrue:
		return hashTrue
	case kindFalse:
		return hashFalse
	}
	return hashNull
}

func comboSeed(sig int32) uint64 { return mix64(uint64(sig) + 0x5851f42d4c957f2d) }

func comboStep(h, v uint64) uint64 { return mix64(h ^ v*0x9e3779b97f4a7c15) }
