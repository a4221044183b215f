package pattern

import (
	"math"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// predKind is the kind of one test on a leaf value.
type predKind uint8

const (
	predString      predKind = iota // exact string
	predNumber                      // exact number (numeric equality)
	predTrue                        // JSON true
	predFalse                       // JSON false
	predNull                        // JSON null
	predPrefix                      // string prefix
	predSuffix                      // string suffix
	predPrefixFold                  // prefix, ignoring case
	predSuffixFold                  // suffix, ignoring case
	predEqualsFold                  // equals-ignore-case
	predWildcard                    // wildcard with '*'
	predNumeric                     // numeric range
	predCIDR                        // IP address in a prefix
	predExists                      // exists: true
	predNotExists                   // exists: false (a condition on absence)
	predAnythingBut                 // anything-but: none of the inner tests holds
)

// pred is one test of a leaf value. The value lists of a pattern field are
// ORed preds; anything-but holds its own ANDed-negated inner preds.
type pred struct {
	kind predKind
	str  string  // string operand (lower-cased for the fold kinds)
	num  float64 // predNumber
	// predNumeric: lo < v (or <=) and v < hi (or <=); ±Inf when open.
	lo, hi         float64
	loIncl, hiIncl bool
	cidr           netip.Prefix
	wild           []string // predWildcard: the literal pieces between '*'
	inner          []pred   // predAnythingBut
}

// test reports whether v passes p.
func (p *pred) test(v *value) bool {
	switch p.kind {
	case predString:
		return v.kind == kindString && v.str == p.str
	case predNumber:
		return v.kind == kindNumber && v.num == p.num
	case predTrue:
		return v.kind == kindTrue
	case predFalse:
		return v.kind == kindFalse
	case predNull:
		return v.kind == kindNull
	case predPrefix:
		return v.kind == kindString && strings.HasPrefix(v.str, p.str)
	case predSuffix:
		return v.kind == kindString && strings.HasSuffix(v.str, p.str)
	case predPrefixFold:
		return v.kind == kindString && hasPrefixFold(v.str, p.str)
	case predSuffixFold:
		return v.kind == kindString && hasSuffixFold(v.str, p.str)
	case predEqualsFold:
		return v.kind == kindString && strings.EqualFold(v.str, p.str)
	case predWildcard:
		return v.kind == kindString && wildcardMatch(p.wild, v.str)
	case predNumeric:
		if v.kind != kindNumber {
			return false
		}
		return (v.num > p.lo || p.loIncl && v.num == p.lo) && (v.num < p.hi || p.hiIncl && v.num == p.hi)
	case predCIDR:
		if v.kind != kindString {
			return false
		}
		a, err := netip.ParseAddr(v.str)
		return err == nil && p.cidr.Contains(a.Unmap())
	case predExists:
		return true
	case predNotExists:
		return false
	case predAnythingBut:
		for i := range p.inner {
			if p.inner[i].test(v) {
				return false
			}
		}
		return true
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	// Compare rune by rune so that multi-byte case pairs work.
	for _, pr := range prefix {
		r, size := utf8.DecodeRuneInString(s)
		if size == 0 || !foldEq(r, pr) {
			return false
		}
		s = s[size:]
	}
	return true
}

func hasSuffixFold(s, suffix string) bool {
	for len(suffix) > 0 {
		pr, ps := utf8.DecodeLastRuneInString(suffix)
		r, size := utf8.DecodeLastRuneInString(s)
		if size == 0 || !foldEq(r, pr) {
			return false
		}
		s, suffix = s[:len(s)-size], suffix[:len(suffix)-ps]
	}
	return true
}

func foldEq(a, b rune) bool { return a == b || strings.EqualFold(string(a), string(b)) }

// wildcardMatch matches s against pieces, the literals between '*'s: s
// starts with the first piece, ends with the last, and holds the middle
// ones in order. With one piece (no '*') s must equal it.
func wildcardMatch(pieces []string, s string) bool {
	if len(pieces) == 1 {
		return s == pieces[0]
	}
	first, last := pieces[0], pieces[len(pieces)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, mid := range pieces[1 : len(pieces)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return true
}

// infinity bounds open numeric ranges.
var infinity = math.Inf(1)
