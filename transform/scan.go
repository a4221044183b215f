package transform

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of arrays and objects in an event, as
// encoding/json does: a document nested deeper is invalid.
const MaxDepth = 10000

// span is where a value lies in the event: data[start:end]. end is 0 for a
// value not found (a value found is never empty).
type span struct{ start, end int }

// syntaxError is a JSON syntax error at a byte offset.
type syntaxError struct {
	offset int
	msg    string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("at offset %d: %s", e.offset, e.msg) }

// scanner checks that a document is JSON, exactly as json.Valid does, and
// records in spans where the values at the trie's nodes are.
type scanner struct {
	data  []byte
	pos   int
	spans []span
}

// document scans the whole of s.data, guided by the trie under root (which
// may be nil), and returns the span of the top-level value.
func (s *scanner) document(root *node) (span, error) {
	s.skipSpace()
	start := s.pos
	if err := s.value(root, 0); err != nil {
		return span{}, err
	}
	end := s.pos
	s.skipSpace()
	if s.pos < len(s.data) {
		return span{}, s.unexpected("after top-level value")
	}
	return span{start, end}, nil
}

// strPlain marks the bytes a string holds that need no attention: not '"',
// not '\\', not a control character and not beyond ASCII.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{offset: s.pos, msg: fmt.Sprintf(format, args...)}
}

// unexpected reports the byte at s.pos, or the end of the input.
func (s *scanner) unexpected(context string) error {
	if s.pos >= len(s.data) {
		return &syntaxError{offset: len(s.data), msg: "unexpected end of JSON input"}
	}
	return s.errorf("invalid character %s %s", quoteChar(s.data[s.pos]), context)
}

// quoteChar formats c as encoding/json does in its syntax errors.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// value scans one value at s.pos (after white space) and records its span
// in the slot of n, if any. n is nil where no path leads.
func (s *scanner) value(n *node, depth int) error {
	if s.pos >= len(s.data) {
		return s.unexpected("")
	}
	start := s.pos
	switch c := s.data[s.pos]; c {
	case '{':
		if err := s.object(n, depth+1); err != nil {
			return err
		}
	case '[':
		if err := s.array(n, depth+1); err != nil {
			return err
		}
	case '"':
		if _, err := s.str(); err != nil {
			return err
		}
	case 't':
		if err := s.literal("true"); err != nil {
			return err
		}
	case 'f':
		if err := s.literal("false"); err != nil {
			return err
		}
	case 'n':
		if err := s.literal("null"); err != nil {
			return err
		}
	default:
		if c != '-' && (c < '0' || c > '9') {
			return s.unexpected("looking for beginning of value")
		}
		if err := s.number(); err != nil {
			return err
		}
	}
	if n != nil && n.slot >= 0 {
		s.spans[n.slot] = span{start, s.pos}
	}
	return nil
}

func (s *scanner) object(n *node, depth int) error {
	if depth > MaxDepth {
		return s.errorf("exceeded max depth of %d", MaxDepth)
	}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	look := n != nil && len(n.members) > 0
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.unexpected("looking for beginning of object key string")
		}
		kstart := s.pos + 1
		esc, err := s.str()
		if err != nil {
			return err
		}
		kend := s.pos - 1
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.unexpected("after object key")
		}
		s.pos++
		s.skipSpace()
		var child *node
		if look {
			child = n.member(s.data[kstart:kend], esc)
			if child != nil {
				for _, slot := range child.below {
					s.spans[slot] = span{}
				}
			}
		}
		if err := s.value(child, depth); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.unexpected("")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
		case '}':
			s.pos++
			return nil
		default:
			return s.unexpected("after object key:value pair")
		}
	}
}

func (s *scanner) array(n *node, depth int) error {
	if depth > MaxDepth {
		return s.errorf("exceeded max depth of %d", MaxDepth)
	}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	look := n != nil && len(n.elems) > 0
	for i := 0; ; i++ {
		var child *node
		if look {
			child = n.elem(i)
		}
		if err := s.value(child, depth); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.unexpected("")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
		case ']':
			s.pos++
			return nil
		default:
			return s.unexpected("after array element")
		}
	}
}

// str scans a string at s.pos and reports whether its content must be
// decoded to be compared (it has escapes or invalid UTF-8).
func (s *scanner) str() (decode bool, err error) {
	d := s.data
	i := s.pos + 1
	high := false
	for {
		for i < len(d) && strPlain[d[i]] {
			i++
		}
		if i >= len(d) {
			s.pos = len(d)
			return false, s.unexpected("")
		}
		switch c := d[i]; {
		case c == '"':
			if high && !decode {
				decode = !utf8.Valid(d[s.pos+1 : i])
			}
			s.pos = i + 1
			return decode, nil
		case c == '\\':
			decode = true
			i++
			if i >= len(d) {
				s.pos = i
				return false, s.unexpected("")
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for k := 0; k < 4; k++ {
					if i >= len(d) {
						s.pos = i
						return false, s.unexpected("")
					}
					if !isHex(d[i]) {
						s.pos = i
						return false, s.unexpected("in \\u hexadecimal character escape")
					}
					i++
				}
			default:
				s.pos = i
				return false, s.unexpected("in string escape code")
			}
		case c < 0x20:
			s.pos = i
			return false, s.unexpected("in string literal")
		default:
			high = true
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (s *scanner) literal(word string) error {
	for k := 0; k < len(word); k++ {
		if s.pos >= len(s.data) {
			return s.unexpected("")
		}
		if s.data[s.pos] != word[k] {
			return s.unexpected(fmt.Sprintf("in literal %s (expecting %s)", word, quoteChar(word[k])))
		}
		s.pos++
	}
	return nil
}

func (s *scanner) number() error {
	d := s.data
	if d[s.pos] == '-' {
		s.pos++
		if s.pos >= len(d) {
			return s.unexpected("")
		}
		if !isDigit(d[s.pos]) {
			return s.unexpected("in numeric literal")
		}
	}
	if d[s.pos] == '0' {
		s.pos++
	} else {
		for s.pos < len(d) && isDigit(d[s.pos]) {
			s.pos++
		}
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if s.pos >= len(d) {
			return s.unexpected("")
		}
		if !isDigit(d[s.pos]) {
			return s.unexpected("after decimal point in numeric literal")
		}
		for s.pos < len(d) && isDigit(d[s.pos]) {
			s.pos++
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if s.pos >= len(d) {
			return s.unexpected("")
		}
		if !isDigit(d[s.pos]) {
			return s.unexpected("in exponent of numeric literal")
		}
		for s.pos < len(d) && isDigit(d[s.pos]) {
			s.pos++
		}
	}
	return nil
}

// valid reports whether data is one JSON value, as json.Valid does, and
// otherwise where and why not.
func valid(data []byte) error {
	s := scanner{data: data}
	_, err := s.document(nil)
	return err
}

// firstByte returns the first byte of data that is not JSON white space,
// or 0.
func firstByte(data []byte) byte {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	if i == len(data) {
		return 0
	}
	return data[i]
}
