package pattern

import (
	"math"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// predKind is the kind of one test of a leaf value.
type predKind uint8

const (
	predString      predKind = iota // exact string (also "exactly")
	predNumber                      // exact number, compared as a number
	predTrue                        // JSON true
	predFalse                       // JSON false
	predNull                        // JSON null
	predPrefix                      // string prefix
	predSuffix                      // string suffix
	predPrefixFold                  // prefix, ignoring case (str is folded)
	predSuffixFold                  // suffix, ignoring case (str is folded)
	predEqualsFold                  // equals-ignore-case (str is folded)
	predWildcard                    // wildcard with '*'
	predNumeric                     // numeric comparison or range
	predCIDR                        // IP address inside a prefix
	predExists                      // exists: true (any leaf)
	predPresent                     // exists: true for SNS (a leaf that is neither null nor "")
	predAnythingBut                 // none of the inner tests holds
)

// pred is one test of a leaf value. The value list of a pattern field is a
// list of preds that are ORed; anything-but holds its own inner preds.
type pred struct {
	kind predKind
	str  string // string operand; folded (see fold) for the fold kinds
	num  float64
	*predExt
}

// predExt holds the operands of the less common kinds, out of line so that
// the common preds stay small.
type predExt struct {
	// predNumeric: lo < v (or <=) and v < hi (or <=); ±Inf when open.
	lo, hi         float64
	loIncl, hiIncl bool
	cidr           netip.Prefix // predCIDR
	wild           []string     // predWildcard: the literal pieces between '*'
	inner          []pred       // predAnythingBut
}

// value is one leaf of an event.
type value struct {
	kind valueKind
	str  string  // kindString: the unescaped string (may alias the event)
	num  float64 // kindNumber
	ctx  int32   // array context (see ctxNode); 0 outside arrays
	next int32   // next value at the same path (match state arena)
	h    uint64  // valueHash, computed on demand (0: not yet)
}

// valueKind is the JSON type of an event leaf.
type valueKind uint8

const (
	kindString valueKind = iota
	kindNumber
	kindTrue
	kindFalse
	kindNull
)

// present reports whether v counts as present for SNS's exists: a leaf
// that is neither null nor the empty string.
func (v *value) present() bool {
	return v.kind != kindNull && !(v.kind == kindString && v.str == "")
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
		return v.kind == kindString && equalFolded(v.str, p.str)
	case predWildcard:
		return v.kind == kindString && wildcardMatch(p.wild, v.str)
	case predNumeric:
		return v.kind == kindNumber && p.inRange(v.num)
	case predCIDR:
		if v.kind != kindString {
			return false
		}
		a, ok := parseIP(v.str)
		return ok && p.cidr.Contains(a)
	case predExists:
		return true
	case predPresent:
		return v.present()
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

func (p *pred) inRange(f float64) bool {
	return (f > p.lo || p.loIncl && f == p.lo) && (f < p.hi || p.hiIncl && f == p.hi)
}

// Case-insensitive comparison uses Unicode simple case folding, the
// relation strings.EqualFold implements: two strings are equal ignoring
// case when they have the same number of runes and each pair of runes is
// in the same fold orbit. fold maps every rune to the smallest rune of its
// orbit, so that folded strings compare (and hash) with ==.

// foldRune returns the smallest rune of r's simple-fold orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

// fold returns s with every rune folded. Invalid UTF-8 bytes fold to
// themselves (as U+FFFD would merge distinct bytes).
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(s); i++ {
			if 'a' <= s[i] && s[i] <= 'z' {
				return string(appendFoldASCII(make([]byte, 0, len(s)), s))
			}
		}
		return s
	}
	return string(appendFold(make([]byte, 0, len(s)), s))
}

func appendFoldASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendFold appends the folded form of s to dst.
func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, foldRune(r))
		}
		i += size
	}
	return dst
}

// equalFolded reports whether s equals the folded string f ignoring case
// (fold(s) == f, without allocating). An invalid UTF-8 byte in s never
// matches: f, from a pattern, is valid UTF-8.
func equalFolded(s, f string) bool {
	for _, fr := range f {
		r, size := utf8.DecodeRuneInString(s)
		if size == 0 || r == utf8.RuneError && size == 1 || foldRune(r) != fr {
			return false
		}
		s = s[size:]
	}
	return len(s) == 0
}

// hasPrefixFold reports whether s starts with the folded string f,
// ignoring case.
func hasPrefixFold(s, f string) bool {
	for _, fr := range f {
		r, size := utf8.DecodeRuneInString(s)
		if size == 0 || r == utf8.RuneError && size == 1 || foldRune(r) != fr {
			return false
		}
		s = s[size:]
	}
	return true
}

// hasSuffixFold reports whether s ends with the folded string f, ignoring
// case.
func hasSuffixFold(s, f string) bool {
	for len(f) > 0 {
		fr, fs := utf8.DecodeLastRuneInString(f)
		r, size := utf8.DecodeLastRuneInString(s)
		if size == 0 || r == utf8.RuneError && size == 1 || foldRune(r) != fr {
			return false
		}
		s, f = s[:len(s)-size], f[:len(f)-fs]
	}
	return true
}

// wildcardMatch matches s against pieces, the literals between '*'s: s
// starts with the first piece, ends with the last and holds the middle ones
// in order, without overlaps. With one piece (no '*') s must equal it. A
// '*' matches any run of bytes, the empty one included.
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

// parseIP reads s as an IP address the way the AWS matcher does: four
// dot-separated runs of decimal digits (leading zeros allowed, each at most
// 255), or hexadecimal digits and colons with at least one colon (no zone,
// no embedded dotted quad). An IPv4-mapped IPv6 address reads as IPv4.
func parseIP(s string) (netip.Addr, bool) {
	if len(s) == 0 {
		return netip.Addr{}, false
	}
	if strings.IndexByte(s, ':') < 0 {
		var oct [4]byte
		part, digits := 0, 0
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= '0' && c <= '9':
				n = n*10 + int(c-'0')
				digits++
				if n > 255 {
					return netip.Addr{}, false
				}
			case c == '.' && digits > 0 && part < 3:
				oct[part] = byte(n)
				part++
				n, digits = 0, 0
			default:
				return netip.Addr{}, false
			}
		}
		if part != 3 || digits == 0 {
			return netip.Addr{}, false
		}
		oct[3] = byte(n)
		return netip.AddrFrom4(oct), true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// infinity bounds open numeric ranges.
var infinity = math.Inf(1)
