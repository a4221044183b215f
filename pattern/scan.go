package pattern

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// valueKind is the JSON type of an event leaf.
type valueKind uint8

const (
	kindString valueKind = iota
	kindNumber
	kindTrue
	kindFalse
	kindNull
)

// value is one leaf of an event at a path the rules use.
type value struct {
	kind valueKind
	str  string  // kindString: the unescaped string (may alias the event)
	num  float64 // kindNumber
}

// pathNode is a node of the trie of the key paths that rules reference.
// The scanner descends into an event only along the trie, so fields no
// rule names are skipped without being decoded.
type pathNode struct {
	children map[string]*pathNode
	id       int32 // path index, or -1 when no rule tests this exact path
}

func newPathNode() *pathNode { return &pathNode{id: -1} }

// maxDepth bounds nesting of events and patterns.
const maxDepth = 256

var errDepth = errors.New("nested deeper than 256 levels")

// scanner walks one event, validating it, and hands the leaves at trie
// paths to emit.
type scanner struct {
	b    []byte
	i    int
	emit func(path int32, v value)
	buf  []byte // unescape scratch
}

// syntaxError describes malformed JSON at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("event is not valid JSON: %s at byte %d", e.msg, e.off)
}

func (s *scanner) fail(msg string) error { return &syntaxError{off: s.i, msg: msg} }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// scanEvent scans a whole event, which must be a JSON object.
func (s *scanner) scanEvent(root *pathNode) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.fail("an event must be a JSON object")
	}
	if err := s.value(root, 0); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return s.fail("data after the event")
	}
	return nil
}

// value scans one JSON value. node is the trie node of the value's path
// (nil when no rule looks here: the value is only validated).
func (s *scanner) value(node *pathNode, depth int) error {
	if depth > maxDepth {
		return errDepth
	}
	s.ws()
	if s.i >= len(s.b) {
		return s.fail("unexpected end")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(node, depth)
	case c == '[':
		return s.array(node, depth)
	case c == '"':
		str, err := s.str(node != nil && node.id >= 0)
		if err != nil {
			return err
		}
		if node != nil && node.id >= 0 {
			s.emit(node.id, value{kind: kindString, str: str})
		}
		return nil
	case c == 't':
		return s.literal("true", node, kindTrue)
	case c == 'f':
		return s.literal("false", node, kindFalse)
	case c == 'n':
		return s.literal("null", node, kindNull)
	case c == '-' || c >= '0' && c <= '9':
		return s.number(node)
	}
	return s.fail(fmt.Sprintf("unexpected character %q", s.b[s.i]))
}

func (s *scanner) literal(lit string, node *pathNode, kind valueKind) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.fail("invalid literal")
	}
	s.i += len(lit)
	if node != nil && node.id >= 0 {
		s.emit(node.id, value{kind: kind})
	}
	return nil
}

func (s *scanner) number(node *pathNode) error {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return s.fail("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.fail("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.fail("invalid number")
		}
	}
	if node != nil && node.id >= 0 {
		raw := s.b[start:s.i]
		// Out of float64 range, ParseFloat returns ±Inf, which compares
		// correctly with every finite pattern number.
		f, _ := strconv.ParseFloat(unsafe.String(&raw[0], len(raw)), 64)
		s.emit(node.id, value{kind: kindNumber, num: f})
	}
	return nil
}

// str scans a string; with decode it returns its value, aliasing the
// event when it has no escapes.
func (s *scanner) str(decode bool) (string, error) {
	s.i++ // opening quote
	start := s.i
	b := s.b
	for i := s.i; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			s.i = i + 1
			if !decode || i == start {
				return "", nil
			}
			return unsafe.String(&b[start], i-start), nil
		}
		if c == '\\' {
			s.i = i
			return s.strEscaped(start, decode)
		}
		if c < 0x20 {
			s.i = i
			return "", s.fail("control character in string")
		}
	}
	s.i = len(b)
	return "", s.fail("unterminated string")
}

// strEscaped continues a string that has escapes, decoding into a fresh
// buffer.
func (s *scanner) strEscaped(start int, decode bool) (string, error) {
	out := append(s.buf[:0], s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			s.buf = out
			if !decode {
				return "", nil
			}
			return string(out), nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return "", s.fail("unterminated escape")
			}
			e := s.b[s.i+1]
			s.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return "", s.fail("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						s.i += 2
						if x, ok := s.hex4(); ok {
							r2 = x
						}
					}
					r = utf16.DecodeRune(r, r2)
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", s.fail("invalid escape")
			}
		case c < 0x20:
			return "", s.fail("control character in string")
		default:
			out = append(out, c)
			s.i++
		}
	}
	return "", s.fail("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

func (s *scanner) object(node *pathNode, depth int) error {
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("expected a key")
		}
		var child *pathNode
		if node != nil && node.children != nil {
			key, err := s.str(true)
			if err != nil {
				return err
			}
			child = node.children[key]
		} else if _, err := s.str(false); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		if err := s.value(child, depth+1); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unterminated object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}

// array scans an array: each element stands at the array's own path
// (an event array matches if any element matches).
func (s *scanner) array(node *pathNode, depth int) error {
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(node, depth+1); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unterminated array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']'")
		}
	}
}
