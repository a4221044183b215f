package pattern

import (
	"fmt"
	"strings"
	"unsafe"
)

// Attribute is an SNS message attribute. Type is "String", "Number",
// "String.Array" (Value is a JSON array of strings, numbers, true, false or
// null) or "Binary" (ignored by filter policies, as in SNS); a custom type
// label may follow String, Number or Binary after a dot ("Number.float").
type Attribute struct {
	Type  string
	Value string
}

// scanAttributes validates attrs and emits their values at the trie nodes
// of the attribute names (split at '.' like every path).
func (st *matchState) scanAttributes(attrs map[string]Attribute) error {
	st.err = nil
	for name, a := range attrs {
		n := st.t.lookupString(0, name)
		used := n >= 0 && st.t.nodes[n].used
		base, _, _ := strings.Cut(a.Type, ".")
		switch {
		case a.Type == "String.Array":
			if err := st.stringArray(name, a.Value, n, used); err != nil {
				return err
			}
		case base == "String":
			if used {
				st.emit(n, value{kind: kindString, str: a.Value})
			}
		case base == "Number":
			b := unsafe.Slice(unsafe.StringData(a.Value), len(a.Value))
			if len(b) == 0 || !(b[0] == '-' || b[0]-'0' <= 9) || st.numEnd(b, 0) != len(b) {
				st.err = nil
				return fmt.Errorf("pattern: attribute %q: Number value %q is not a number", name, a.Value)
			}
			if used {
				st.emit(n, value{kind: kindNumber, num: parseNumber(b)})
			}
		case base == "Binary":
		default:
			return fmt.Errorf("pattern: attribute %q: unknown type %q (String, Number, String.Array or Binary)", name, a.Type)
		}
	}
	return nil
}

// stringArray emits the elements of a String.Array attribute.
func (st *matchState) stringArray(name, text string, n int32, used bool) error {
	b := unsafe.Slice(unsafe.StringData(text), len(text))
	bad := func(why string) error {
		st.err = nil
		return fmt.Errorf("pattern: attribute %q: String.Array value is %s", name, why)
	}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return bad("not a JSON array")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			if i >= len(b) {
				return bad("not a JSON array: unexpected end")
			}
			switch c := b[i]; {
			case c == '"':
				s, j := st.stringAt(b, i)
				if j < 0 {
					return bad("not a JSON array: " + st.err.Error())
				}
				if used {
					st.emit(n, value{kind: kindString, str: s})
				}
				i = j
			case c == '-' || c-'0' <= 9:
				j := st.numEnd(b, i)
				if j < 0 {
					return bad("not a JSON array: invalid number")
				}
				if used {
					st.emit(n, value{kind: kindNumber, num: parseNumber(b[i:j])})
				}
				i = j
			case c == 't' || c == 'f' || c == 'n':
				lit, kind := "true", kindTrue
				if c == 'f' {
					lit, kind = "false", kindFalse
				} else if c == 'n' {
					lit, kind = "null", kindNull
				}
				j := st.literalEnd(b, i, lit)
				if j < 0 {
					return bad("not a JSON array: invalid literal")
				}
				if used {
					st.emit(n, value{kind: kind})
				}
				i = j
			default:
				return bad("not an array of strings, numbers, true, false or null")
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return bad("not a JSON array: unterminated")
			}
			if b[i] == ']' {
				i++
				break
			}
			if b[i] != ',' {
				return bad("not a JSON array: expected ',' or ']'")
			}
			i = skipWS(b, i+1)
		}
	}
	if skipWS(b, i) != len(b) {
		return bad("not a JSON array: data after the array")
	}
	return nil
}

// lookupString is lookup for a string key.
func (t *trie) lookupString(n int32, key string) int32 {
	return t.lookup(n, unsafe.Slice(unsafe.StringData(key), len(key)))
}
