package transform

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxPathLen bounds the length of a path in bytes, as EventBridge bounds
// InputPath and the paths of InputPathsMap.
const MaxPathLen = 256

// maxIndex bounds an array index in a path.
const maxIndex = 1<<31 - 1

// Path is a compiled JSON path: "$" (the whole document), "$.a.b",
// "$.a[0].b", "$['key with space']", "$.a['x.y'][2]". A step is a member
// of an object, by name, or an element of an array, by index from 0. Names
// in dot notation may hold any character but white space, control
// characters and . [ ] ' " \ * ( ) ? @ , ; other names are written in
// brackets, quoted with ' or ", where \ escapes the quote and itself.
// Wildcards, recursive descent (..), filters, slices, unions and negative
// indices are not supported and fail to compile.
//
// A Path is immutable and safe for concurrent use. The zero Path is "$".
type Path struct {
	steps []step
	root  *node // the trie of this one path; its end has slot 0
}

// step is a member (index < 0) or an array element.
type step struct {
	name  string
	index int
}

// PathError is a path that does not compile: the path (cut short when it
// is long), the byte offset in it where the problem is, and why. When the
// path is too long, Err is ErrTooLarge.
type PathError struct {
	Path   string
	Offset int
	Reason string
	Err    error
}

// Error returns `path "$.a..b" at offset 4: empty member name`.
func (e *PathError) Error() string {
	return fmt.Sprintf("path %q at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// Unwrap returns ErrTooLarge for a path too long, or nil.
func (e *PathError) Unwrap() error { return e.Err }

// shorten cuts s to at most n bytes (on a rune boundary) plus "...".
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// CompilePath compiles a JSON path. A path that is longer than MaxPathLen
// bytes, is not valid UTF-8, does not start with "$" or uses syntax other
// than the one Path describes fails with a *PathError.
func CompilePath(path string) (*Path, error) {
	fail := func(off int, format string, args ...any) (*Path, error) {
		return nil, &PathError{Path: shorten(path, MaxPathLen), Offset: off, Reason: fmt.Sprintf(format, args...)}
	}
	if len(path) > MaxPathLen {
		return nil, &PathError{Path: shorten(path, 32), Offset: MaxPathLen,
			Reason: fmt.Sprintf("path is %d bytes; accepted is at most %d", len(path), MaxPathLen), Err: ErrTooLarge}
	}
	if !utf8.ValidString(path) {
		i := 0
		for i < len(path) {
			r, size := utf8.DecodeRuneInString(path[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return fail(i, "invalid UTF-8")
	}
	if path == "" || path[0] != '$' {
		return fail(0, `must start with "$"`)
	}
	var steps []step
	for i := 1; i < len(path); {
		switch path[i] {
		case '.':
			i++
			start := i
			for i < len(path) && path[i] != '.' && path[i] != '[' {
				c := path[i]
				if c == '*' {
					return fail(i, "wildcards are not supported")
				}
				if !dotChar(c) {
					return fail(i, "unexpected %s in member name; write such names in brackets: ['...']", quoteRune(path[i:]))
				}
				i++
			}
			if i == start {
				return fail(start, "empty member name")
			}
			steps = append(steps, step{name: path[start:i], index: -1})
		case '[':
			st, next, err := bracket(path, i)
			if err != nil {
				return nil, err
			}
			steps = append(steps, st)
			i = next
		default:
			return fail(i, "unexpected %s; expected '.' or '['", quoteRune(path[i:]))
		}
	}
	p := &Path{steps: steps, root: newNode()}
	p.root.insert(steps).slot = 0
	p.root.finish()
	return p, nil
}

// bracket compiles the step in brackets at path[i] ('[') and returns it
// with the offset after it.
func bracket(path string, i int) (step, int, error) {
	fail := func(off int, format string, args ...any) (step, int, error) {
		return step{}, 0, &PathError{Path: path, Offset: off, Reason: fmt.Sprintf(format, args...)}
	}
	open := i
	i++
	if i >= len(path) {
		return fail(open, "unterminated '['")
	}
	switch c := path[i]; {
	case c == '\'' || c == '"':
		var b strings.Builder
		quote := c
		i++
		for {
			if i >= len(path) {
				return fail(open+1, "unterminated quoted name")
			}
			c := path[i]
			if c == quote {
				break
			}
			if c == '\\' {
				i++
				if i >= len(path) {
					return fail(open+1, "unterminated quoted name")
				}
				if e := path[i]; e != '\\' && e != '\'' && e != '"' {
					_, size := utf8.DecodeRuneInString(path[i:])
					return fail(i-1, "invalid escape %q in quoted name; only \\' \\\" and \\\\ are accepted", path[i-1:i+size])
				}
				c = path[i]
			}
			b.WriteByte(c)
			i++
		}
		i++
		if i >= len(path) || path[i] != ']' {
			return fail(i, "expected ']' after quoted name")
		}
		return step{name: b.String(), index: -1}, i + 1, nil
	case isDigit(c):
		start := i
		for i < len(path) && isDigit(path[i]) {
			i++
		}
		n, err := strconv.Atoi(path[start:i])
		if err != nil || n > maxIndex {
			return fail(start, "index %s is too large; accepted is at most %d", path[start:i], maxIndex)
		}
		if i < len(path) && (path[i] == ':' || path[i] == ',') {
			return fail(i, "slices and unions are not supported")
		}
		if i >= len(path) || path[i] != ']' {
			return fail(i, "expected ']' after index")
		}
		return step{index: n}, i + 1, nil
	case c == '-':
		return fail(i, "negative indices are not supported")
	case c == '*':
		return fail(i, "wildcards are not supported")
	case c == '?' || c == '(':
		return fail(i, "filter and script expressions are not supported")
	case c == ':' || c == ',':
		return fail(i, "slices and unions are not supported")
	case c == ']':
		return fail(i, "empty brackets; expected an index or a quoted name")
	default:
		return fail(i, "unexpected %s; expected an index or a quoted name", quoteRune(path[i:]))
	}
}

// dotChar reports whether c may be part of a name in dot notation.
func dotChar(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	switch c {
	case '.', '[', ']', '\'', '"', '\\', '*', '(', ')', '?', '@', ',':
		return false
	}
	return true
}

// quoteRune quotes the first character of s for an error message.
func quoteRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	return strconv.QuoteRune(r)
}

// String returns the path in canonical form: names in dot notation where
// they can be, otherwise in brackets and single quotes (double quotes when
// the name has more ' than "); indices in decimal without leading zeros.
// The canonical form is never longer than the path compiled, and
// CompilePath(p.String()) compiles the same path.
func (p *Path) String() string {
	if p == nil {
		return "$"
	}
	return pathString(p.steps)
}

func pathString(steps []step) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, st := range steps {
		if st.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(st.index))
			b.WriteByte(']')
			continue
		}
		if plainName(st.name) {
			b.WriteByte('.')
			b.WriteString(st.name)
			continue
		}
		// Single quotes, unless double quotes need fewer escapes: then the
		// canonical form is never longer than the path compiled.
		quote := byte('\'')
		if strings.Count(st.name, "'") > strings.Count(st.name, `"`) {
			quote = '"'
		}
		b.WriteByte('[')
		b.WriteByte(quote)
		for i := 0; i < len(st.name); i++ {
			if c := st.name[i]; c == quote || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(st.name[i])
		}
		b.WriteByte(quote)
		b.WriteByte(']')
	}
	return b.String()
}

// plainName reports whether name can be written in dot notation.
func plainName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !dotChar(name[i]) {
			return false
		}
	}
	return true
}

// rootPath is the trie of "$".
var rootPath = func() *node {
	n := newNode()
	n.slot = 0
	return n
}()

// Extract returns the JSON text of the value at the path in doc (a JSON
// document), and whether it exists. Objects and arrays are compacted (as
// json.Compact does); other values are returned exactly as they are written
// in doc, strings with their quotes and escapes, and share doc's memory.
// (A partition key taken from a string value is thus its JSON text,
// quotes included; json.Unmarshal gives the string.)
//
// A path that indexes past an array's end, names a member of a value that
// is not an object or indexes a value that is not an array finds nothing:
// found is false and err nil. When an object repeats a member name, the
// last one counts, as encoding/json decides. doc that is not valid JSON
// (checked in full, as json.Valid does) fails with an error wrapping
// ErrInvalidEvent.
func (p *Path) Extract(doc []byte) (value []byte, found bool, err error) {
	root := rootPath
	if p != nil && p.root != nil {
		root = p.root
	}
	var spans [1]span
	s := scanner{data: doc, spans: spans[:]}
	if _, err := s.document(root); err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	sp := spans[0]
	if sp.end == 0 {
		return nil, false, nil
	}
	v := doc[sp.start:sp.end]
	if needsCompact(v) {
		return appendCompact(make([]byte, 0, len(v)), v), true, nil
	}
	return v, true, nil
}
