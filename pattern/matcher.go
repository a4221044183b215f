package pattern

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
)

// RuleID names a rule in a Matcher.
type RuleID string

// maxSegments bounds the segments of a snapshot: base and delta, for JSON
// events and for attributes.
const maxSegments = 4

// Matcher is a set of named rules (event patterns and filter policies)
// matched together. MatchAll scans an event once and evaluates every rule
// in that one pass: values are looked up in per-path hash tables and
// interval lists, identical conditions and alternatives are shared between
// rules, and a rule costs work only when one of its selective conditions
// holds.
//
// Updates are serialized and publish a new immutable snapshot; matching
// reads the current snapshot without locking and never waits for an
// update. Rules added since the last full build live in a small delta
// segment, so an update costs time in proportion to the delta, not the
// whole set; the delta is folded into the base when it grows past a
// fraction of it.
//
// The zero value is an empty Matcher ready to use. A Matcher is safe for
// concurrent use.
type Matcher struct {
	mu       sync.Mutex
	rules    map[RuleID]*Pattern // the rule set
	base     map[RuleID]*Pattern // rules compiled into the base segments
	baseTrie *trie
	baseSegs []*segment
	dead     map[RuleID]bool     // base rules removed or replaced since
	delta    map[RuleID]*Pattern // rules added since the base was built
	snap     atomic.Pointer[snapshot]
}

// NewMatcher returns an empty Matcher.
func NewMatcher() *Matcher { return &Matcher{} }

// errNilPattern is returned for a nil *Pattern.
var errNilPattern = errors.New("pattern: nil *Pattern")

// Add adds the rule id, replacing a rule with the same ID. It fails only
// for a nil pattern, and then changes nothing.
func (m *Matcher) Add(id RuleID, p *Pattern) error {
	if p == nil {
		return errNilPattern
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(id, p)
	m.publish()
	return nil
}

// AddAll adds many rules with one update, replacing rules with the same
// IDs. It fails for a nil pattern, and then adds none of them.
func (m *Matcher) AddAll(rules map[RuleID]*Pattern) error {
	for _, p := range rules {
		if p == nil {
			return errNilPattern
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, p := range rules {
		m.put(id, p)
	}
	m.publish()
	return nil
}

// Remove removes rules and reports how many were present.
func (m *Matcher) Remove(ids ...RuleID) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := m.rules[id]; !ok {
			continue
		}
		n++
		delete(m.rules, id)
		delete(m.delta, id)
		if _, ok := m.base[id]; ok {
			m.dead[id] = true
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

// Rule returns the pattern of rule id.
func (m *Matcher) Rule(id RuleID) (*Pattern, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.rules[id]
	return p, ok
}

func (m *Matcher) put(id RuleID, p *Pattern) {
	if m.rules == nil {
		m.rules = map[RuleID]*Pattern{}
		m.base = map[RuleID]*Pattern{}
		m.dead = map[RuleID]bool{}
		m.delta = map[RuleID]*Pattern{}
		m.baseTrie = newTrie()
	}
	m.rules[id] = p
	if bp, ok := m.base[id]; ok {
		if bp == p {
			delete(m.dead, id)
			delete(m.delta, id)
			return
		}
		m.dead[id] = true
	}
	m.delta[id] = p
}

// publish compiles the delta (or, when it has grown, everything) and
// publishes a new snapshot. Called with m.mu held.
func (m *Matcher) publish() {
	if len(m.delta)+len(m.dead) > max(64, len(m.base)/32) {
		m.base = make(map[RuleID]*Pattern, len(m.rules))
		for id, p := range m.rules {
			m.base[id] = p
		}
		clear(m.delta)
		clear(m.dead)
		m.baseTrie = newTrie()
		m.baseSegs = buildSegments(m.baseTrie, m.base)
	}
	t := m.baseTrie
	segs := slices.Clone(m.baseSegs)
	dead := make([][]bool, len(segs))
	if len(m.dead) > 0 {
		for i, s := range segs {
			dead[i] = make([]bool, len(s.ids))
			for r, id := range s.ids {
				dead[i][r] = m.dead[id]
			}
		}
	}
	if len(m.delta) > 0 {
		t = t.clone()
		segs = append(segs, buildSegments(t, m.delta)...)
		dead = append(dead, nil, nil)[:len(segs)]
	}
	m.snap.Store(newSnapshot(t, segs, dead))
}

// buildSegments compiles rules into a JSON segment and an attributes
// segment (each only when it has rules).
func buildSegments(t *trie, rules map[RuleID]*Pattern) []*segment {
	var js, as []ruleSource
	for id, p := range rules {
		if p.dialect == dialectSNSAttributes {
			as = append(as, ruleSource{id, p})
		} else {
			js = append(js, ruleSource{id, p})
		}
	}
	var segs []*segment
	for _, rs := range [][]ruleSource{js, as} {
		if len(rs) == 0 {
			continue
		}
		slices.SortFunc(rs, func(a, b ruleSource) int {
			switch {
			case a.id < b.id:
				return -1
			case a.id > b.id:
				return 1
			}
			return 0
		})
		segs = append(segs, buildSegment(t, rs, rs[0].p.dialect == dialectSNSAttributes))
	}
	return segs
}

var emptySnapshot = newSnapshot(newTrie(), nil, nil)

func (m *Matcher) current() *snapshot {
	if s := m.snap.Load(); s != nil {
		return s
	}
	return emptySnapshot
}

// MatchAll returns the IDs of the rules that event matches, sorted. The
// event is a JSON object; it is matched by the EventBridge patterns and
// the MessageBody filter policies (MessageAttributes policies are matched
// by MatchAllAttributes). Malformed JSON, or a value other than an object,
// is an error, and then no rule matches.
func (m *Matcher) MatchAll(event []byte) ([]RuleID, error) {
	return m.AppendMatches(nil, event)
}

// AppendMatches is MatchAll appending to dst, for callers that reuse a
// slice: with enough capacity, a match allocates nothing.
func (m *Matcher) AppendMatches(dst []RuleID, event []byte) ([]RuleID, error) {
	s := m.current()
	st := s.acquire(false)
	defer s.release(st)
	if err := st.scanEvent(event); err != nil {
		return dst, err
	}
	st.decide()
	return st.appendIDs(dst), nil
}

// MatchAllAttributes returns the IDs of the MessageAttributes filter
// policies that a message with attrs matches, sorted. As in SNS, a message
// without attributes matches no policy, Binary attributes are ignored, and
// a malformed attribute (a Number that is not a number, a String.Array that
// is not a JSON array of scalars) is an error.
func (m *Matcher) MatchAllAttributes(attrs map[string]Attribute) ([]RuleID, error) {
	s := m.current()
	st := s.acquire(true)
	defer s.release(st)
	if err := st.scanAttributes(attrs); err != nil {
		return nil, err
	}
	if len(attrs) == 0 {
		return nil, nil
	}
	st.decide()
	return st.appendIDs(nil), nil
}

// errScope reports a pattern used with the wrong kind of input.
var (
	errNeedsAttributes = errors.New("pattern: a MessageAttributes filter policy matches attributes; use MatchAttributes")
	errNeedsJSON       = errors.New("pattern: only MessageAttributes filter policies match attributes; use Match")
)

func (p *Pattern) snapshot() *snapshot {
	p.once.Do(func() {
		t := newTrie()
		seg := buildSegment(t, []ruleSource{{p: p}}, p.dialect == dialectSNSAttributes)
		p.snap = newSnapshot(t, []*segment{seg}, nil)
	})
	return p.snap
}

// Match reports whether event, a JSON object, matches the pattern (an
// EventBridge pattern or a MessageBody filter policy). Malformed JSON, or a
// value other than an object, is an error.
func (p *Pattern) Match(event []byte) (bool, error) {
	if p.dialect == dialectSNSAttributes {
		return false, errNeedsAttributes
	}
	s := p.snapshot()
	st := s.acquire(false)
	defer s.release(st)
	if err := st.scanEvent(event); err != nil {
		return false, err
	}
	st.decide()
	return st.any(), nil
}

// MatchAttributes reports whether a message with attrs matches the
// policy, which must have been compiled for ScopeMessageAttributes. A
// String.Array attribute matches a value if any element does, and
// anything-but only if no element is excluded; a Number attribute compares
// as a number; Binary attributes are ignored; a message without attributes
// matches nothing. Malformed attributes are errors.
func (p *Pattern) MatchAttributes(attrs map[string]Attribute) (bool, error) {
	if p.dialect != dialectSNSAttributes {
		return false, errNeedsJSON
	}
	s := p.snapshot()
	st := s.acquire(true)
	defer s.release(st)
	if err := st.scanAttributes(attrs); err != nil {
		return false, err
	}
	if len(attrs) == 0 {
		return false, nil
	}
	st.decide()
	return st.any(), nil
}
