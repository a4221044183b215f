package pattern

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// trie holds the key paths that conditions name. Paths are dotted names
// split at '.', on the pattern side and on the event side alike, so that a
// key "a.b" and an object a holding b are the same path, as in AWS.
type trie struct{ nodes []tnode }

type tnode struct {
	kids []tedge
	// tab is an open-addressing table over kids (indexes+1, 0 empty),
	// hashed on a key's length and first and last bytes: most event keys
	// that name nothing are rejected by one probe.
	tab []uint32
	// lens has bit n set when a child key is n bytes long (63: 63 or
	// more): most event keys that name nothing fail this test alone.
	lens uint64
	used bool // some condition tests the values at this node
}

type tedge struct {
	key   string
	child int32
}

func newTrie() *trie { return &trie{nodes: make([]tnode, 1)} }

// clone returns a copy that can be extended without changing t.
func (t *trie) clone() *trie {
	c := &trie{nodes: make([]tnode, len(t.nodes), len(t.nodes)+16)}
	for i, n := range t.nodes {
		c.nodes[i] = tnode{kids: append([]tedge(nil), n.kids...), tab: append([]uint32(nil), n.tab...), lens: n.lens, used: n.used}
	}
	return c
}

// keyHash hashes a key on its length and first and last bytes.
func keyHash(key string) uint32 {
	if key == "" {
		return 0
	}
	return uint32(len(key))*0x9E3779B1 ^ uint32(key[0])*0x85EBCA77 ^ uint32(key[len(key)-1])*0xC2B2AE3D
}

// insert adds the path segs (if new) and returns its node.
func (t *trie) insert(segs []string) int32 {
	n := int32(0)
	for _, s := range segs {
		c := t.find(n, s)
		if c < 0 {
			c = int32(len(t.nodes))
			t.nodes = append(t.nodes, tnode{})
			nd := &t.nodes[n]
			nd.kids = append(nd.kids, tedge{key: s, child: c})
			nd.rehash()
		}
		n = c
	}
	return n
}

func (nd *tnode) rehash() {
	size := 4
	for size < 2*len(nd.kids) {
		size *= 2
	}
	nd.tab = make([]uint32, size)
	mask := uint32(size - 1)
	nd.lens = 0
	for k, e := range nd.kids {
		nd.lens |= 1 << min(len(e.key), 63)
		h := keyHash(e.key) >> 16 & mask
		for nd.tab[h] != 0 {
			h = (h + 1) & mask
		}
		nd.tab[h] = uint32(k + 1)
	}
}

func (t *trie) find(n int32, key string) int32 {
	return t.child(n, unsafe.Slice(unsafe.StringData(key), len(key)))
}

// child returns n's child for key, or -1.
func (t *trie) child(n int32, key []byte) int32 {
	nd := &t.nodes[n]
	if nd.lens&(1<<min(len(key), 63)) == 0 {
		return -1
	}
	mask := uint32(len(nd.tab) - 1)
	h := keyHash(unsafe.String(unsafe.SliceData(key), len(key)))
	for h = h >> 16 & mask; ; h = (h + 1) & mask {
		k := nd.tab[h]
		if k == 0 {
			return -1
		}
		if e := &nd.kids[k-1]; e.key == string(key) {
			return e.child
		}
	}
}

// lookup follows a key, which may contain dots, from node n. Children
// keys have no dots, so a whole key that names a child has none either.
func (t *trie) lookup(n int32, key []byte) int32 {
	for {
		if c := t.child(n, key); c >= 0 {
			return c
		}
		dot := bytes.IndexByte(key, '.')
		if dot < 0 {
			return -1
		}
		if n = t.child(n, key[:dot]); n < 0 {
			return -1
		}
		key = key[dot+1:]
	}
}

// syntaxError describes malformed JSON at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("pattern: event is not valid JSON: %s at byte %d", e.msg, e.off)
}

// ctxNode is one array element an event value is inside. Values whose
// context chains hold different elements of the same array come from
// different elements, and the AWS matcher never combines them in one
// match ("array consistency").
type ctxNode struct {
	parent int32
	array  int32
	depth  int32
}

// The scanner is a validating JSON walk over the event that descends only
// along trie paths and hands every leaf at a used node to emit; everything
// else is skipped, but still checked for syntax. Scanning functions take
// and return the byte index; -1 reports an error, left in st.err.

func (st *matchState) fail(i int, msg string) int {
	if st.err == nil {
		st.err = &syntaxError{off: i, msg: msg}
	}
	return -1
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanEvent walks a whole event, which must be a JSON object.
func (st *matchState) scanEvent(b []byte) error {
	st.err = nil
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		st.fail(i, "an event must be a JSON object")
		return st.err
	}
	if i = st.object(b, i, 0, 1); i < 0 {
		return st.err
	}
	if i = skipWS(b, i); i != len(b) {
		st.fail(i, "data after the event")
		return st.err
	}
	return nil
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// strSpecial marks the bytes that end a run of plain string content.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return
}()

// strEnd returns the index of the closing quote of the string whose
// opening quote is at b[i], and whether it has escapes (all checked).
// end < 0 reports an error.
func (st *matchState) strEnd(b []byte, i int) (end int, esc bool) {
	i++
	for {
		for i+8 <= len(b) {
			if m := specialMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for i < len(b) && !strSpecial[b[i]] {
			i++
		}
		if i >= len(b) {
			return st.fail(i, "unterminated string"), esc
		}
	found:
		switch b[i] {
		case '"':
			return i, esc
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return st.fail(i, "unterminated escape"), esc
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return st.fail(i, "invalid \\u escape"), esc
				}
				i += 6
			default:
				return st.fail(i, "invalid escape"), esc
			}
		default:
			return st.fail(i, "control character in string"), esc
		}
	}
}

// specialMask sets the high bit of each byte of w that is '"', '\\' or a
// control character.
func specialMask(w uint64) uint64 {
	q := w ^ (lsb * '"')
	s := w ^ (lsb * '\\')
	return (((q - lsb) &^ q) | ((s - lsb) &^ s) | ((w - lsb*0x20) &^ w)) & msb
}

func isHex4(h []byte) bool {
	for _, c := range h[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hexVal(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// unescape appends the value of string content s (escapes already
// checked) to dst. Lone surrogates become U+FFFD, as in encoding/json.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := s[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hexVal(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if x := hexVal(s[i+2:]); x >= 0xDC00 && x < 0xE000 {
						r2 = x
						i += 6
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

// stringAt returns the string whose opening quote is at b[i] (aliasing the
// input when it has no escapes, else decoded into the arena) and the index
// after it.
func (st *matchState) stringAt(b []byte, i int) (string, int) {
	end, esc := st.strEnd(b, i)
	if end < 0 {
		return "", -1
	}
	if end == i+1 {
		return "", end + 1
	}
	if !esc {
		return unsafe.String(&b[i+1], end-i-1), end + 1
	}
	mark := len(st.arena)
	st.arena = unescape(st.arena, b[i+1:end])
	if len(st.arena) == mark {
		return "", end + 1
	}
	return unsafe.String(&st.arena[mark], len(st.arena)-mark), end + 1
}

// numEnd checks the syntax of the JSON number at b[i] and returns the
// index after it.
func (st *matchState) numEnd(b []byte, i int) int {
	start := i
	if b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else {
		j := i
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		if i == j {
			return st.fail(start, "invalid number")
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		if i == j {
			return st.fail(start, "invalid number")
		}
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		if i == j {
			return st.fail(start, "invalid number")
		}
	}
	return i
}

// parseNumber converts valid JSON number text. Small integers take a fast
// path; out of float64 range it returns ±Inf, which compares correctly
// with every finite pattern number.
func parseNumber(raw []byte) float64 {
	if len(raw) <= 15 {
		d := raw
		if d[0] == '-' {
			d = d[1:]
		}
		var n uint64
		ok := true
		for _, c := range d {
			if c-'0' > 9 {
				ok = false
				break
			}
			n = n*10 + uint64(c-'0')
		}
		if ok {
			if raw[0] == '-' {
				return -float64(n)
			}
			return float64(n)
		}
	}
	f, _ := strconv.ParseFloat(unsafe.String(&raw[0], len(raw)), 64)
	return f
}

// literalEnd checks the literal lit at b[i] and returns the index after it.
func (st *matchState) literalEnd(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return st.fail(i, "invalid literal")
	}
	return i + len(lit)
}

// value scans the JSON value at b[i] (after whitespace), at trie node n.
func (st *matchState) value(b []byte, i int, n int32, depth int) int {
	if i >= len(b) {
		return st.fail(i, "unexpected end")
	}
	nd := &st.t.nodes[n]
	switch c := b[i]; c {
	case '"':
		if !nd.used {
			end, _ := st.strEnd(b, i)
			if end < 0 {
				return -1
			}
			return end + 1
		}
		s, j := st.stringAt(b, i)
		if j >= 0 {
			st.emit(n, value{kind: kindString, str: s})
		}
		return j
	case '{':
		if depth >= MaxDepth {
			return st.fail(i, fmt.Sprintf("nested deeper than %d levels", MaxDepth))
		}
		if len(nd.kids) == 0 {
			return st.skip(b, i, depth)
		}
		return st.object(b, i, n, depth+1)
	case '[':
		if depth >= MaxDepth {
			return st.fail(i, fmt.Sprintf("nested deeper than %d levels", MaxDepth))
		}
		return st.array(b, i, n, depth+1)
	case 't', 'f', 'n':
		lit, kind := "true", kindTrue
		if c == 'f' {
			lit, kind = "false", kindFalse
		} else if c == 'n' {
			lit, kind = "null", kindNull
		}
		j := st.literalEnd(b, i, lit)
		if j >= 0 && nd.used {
			st.emit(n, value{kind: kind})
		}
		return j
	default:
		if c == '-' || c-'0' <= 9 {
			j := st.numEnd(b, i)
			if j >= 0 && nd.used {
				st.emit(n, value{kind: kindNumber, num: parseNumber(b[i:j])})
			}
			return j
		}
	}
	return st.fail(i, fmt.Sprintf("unexpected character %q", b[i]))
}

// object scans the object at b[i], at trie node n (its members are looked
// up among n's children).
func (st *matchState) object(b []byte, i int, n int32, depth int) int {
	i++
	if i < len(b) && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return st.fail(i, "expected a key")
		}
		end, esc := st.strEnd(b, i)
		if end < 0 {
			return -1
		}
		var child int32
		if !esc {
			child = st.t.lookup(n, b[i+1:end])
		} else {
			st.keybuf = unescape(st.keybuf[:0], b[i+1:end])
			child = st.t.lookup(n, st.keybuf)
		}
		i = end + 1
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= len(b) || b[i] != ':' {
			return st.fail(i, "expected ':'")
		}
		i++
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if child < 0 {
			i = st.skip(b, i, depth)
		} else {
			i = st.value(b, i, child, depth)
		}
		if i < 0 {
			return -1
		}
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= len(b) {
			return st.fail(i, "unterminated object")
		}
		switch b[i] {
		case ',':
			i++
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
		case '}':
			return i + 1
		default:
			return st.fail(i, "expected ',' or '}'")
		}
	}
}

// array scans the array at b[i], at node n: each element stands at the
// array's own path (an event array matches if any element matches),
// inside a new array context.
func (st *matchState) array(b []byte, i int, n int32, depth int) int {
	i++
	if i < len(b) && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	st.arrGen[n] = st.gen
	aid := st.nextArray
	st.nextArray++
	outer := st.cur
	d := st.ctxs[outer].depth + 1
	for {
		st.cur = int32(len(st.ctxs))
		st.ctxs = append(st.ctxs, ctxNode{parent: outer, array: aid, depth: d})
		if i = st.value(b, i, n, depth); i < 0 {
			return -1
		}
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= len(b) {
			return st.fail(i, "unterminated array")
		}
		switch b[i] {
		case ',':
			i++
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
		case ']':
			st.cur = outer
			return i + 1
		default:
			return st.fail(i, "expected ',' or ']'")
		}
	}
}

// skip checks the value at b[i] that no condition looks at and returns
// the index after it.
func (st *matchState) skip(b []byte, i int, depth int) int {
	if i >= len(b) {
		return st.fail(i, "unexpected end")
	}
	switch c := b[i]; c {
	case '"':
		end, _ := st.strEnd(b, i)
		if end < 0 {
			return -1
		}
		return end + 1
	case '{':
		if depth >= MaxDepth {
			return st.fail(i, fmt.Sprintf("nested deeper than %d levels", MaxDepth))
		}
		i++
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return st.fail(i, "expected a key")
			}
			end, _ := st.strEnd(b, i)
			if end < 0 {
				return -1
			}
			i = end + 1
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			if i >= len(b) || b[i] != ':' {
				return st.fail(i, "expected ':'")
			}
			i++
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			if i = st.skip(b, i, depth+1); i < 0 {
				return -1
			}
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			if i >= len(b) {
				return st.fail(i, "unterminated object")
			}
			switch b[i] {
			case ',':
				i++
				if i < len(b) && b[i] <= ' ' {
					i = skipWS(b, i)
				}
			case '}':
				return i + 1
			default:
				return st.fail(i, "expected ',' or '}'")
			}
		}
	case '[':
		if depth >= MaxDepth {
			return st.fail(i, fmt.Sprintf("nested deeper than %d levels", MaxDepth))
		}
		i++
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = st.skip(b, i, depth+1); i < 0 {
				return -1
			}
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			if i >= len(b) {
				return st.fail(i, "unterminated array")
			}
			switch b[i] {
			case ',':
				i++
				if i < len(b) && b[i] <= ' ' {
					i = skipWS(b, i)
				}
			case ']':
				return i + 1
			default:
				return st.fail(i, "expected ',' or ']'")
			}
		}
	case 't':
		return st.literalEnd(b, i, "true")
	case 'f':
		return st.literalEnd(b, i, "false")
	case 'n':
		return st.literalEnd(b, i, "null")
	default:
		if c == '-' || c-'0' <= 9 {
			return st.numEnd(b, i)
		}
	}
	return st.fail(i, fmt.Sprintf("unexpected character %q", b[i]))
}
