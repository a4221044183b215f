package pattern

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Attribute is an SNS message attribute: Type is "String", "Number",
// "String.Array" (Value is a JSON array) or "Binary" (never matched, as in
// SNS).
type Attribute struct {
	Type  string
	Value string
}

// MatchAttributes matches an SNS MessageAttributes policy against message
// attributes. A String.Array attribute matches if any element matches; a
// Number attribute compares as a number. It fails for a pattern not
// compiled with ScopeMessageAttributes and for malformed attributes.
func (p *Pattern) MatchAttributes(attrs map[string]Attribute) (bool, error) {
	if !p.attrs {
		return false, fmt.Errorf("pattern: MatchAttributes needs a policy compiled for ScopeMessageAttributes")
	}
	idx := p.index()
	st := idx.state()
	defer idx.release(st)
	for name, a := range attrs {
		node := idx.trie.children[name]
		if node == nil || node.id < 0 {
			continue
		}
		switch a.Type {
		case "String":
			st.onValue(node.id, value{kind: kindString, str: a.Value})
		case "Number":
			f, err := strconv.ParseFloat(a.Value, 64)
			if err != nil {
				return false, fmt.Errorf("attribute %q: %q is not a number", name, a.Value)
			}
			st.onValue(node.id, value{kind: kindNumber, num: f})
		case "String.Array":
			var elems []any
			dec := json.NewDecoder(strings.NewReader(a.Value))
			dec.UseNumber()
			if err := dec.Decode(&elems); err != nil {
				return false, fmt.Errorf("attribute %q: String.Array value is not a JSON array: %v", name, err)
			}
			for _, e := range elems {
				switch x := e.(type) {
				case string:
					st.onValue(node.id, value{kind: kindString, str: x})
				case json.Number:
					f, err := strconv.ParseFloat(string(x), 64)
					if err == nil {
						st.onValue(node.id, value{kind: kindNumber, num: f})
					}
				case bool:
					k := kindFalse
					if x {
						k = kindTrue
					}
					st.onValue(node.id, value{kind: k})
				case nil:
					st.onValue(node.id, value{kind: kindNull})
				}
			}
		case "Binary":
		default:
			return false, fmt.Errorf("attribute %q: unknown type %q (String, Number, String.Array or Binary)", name, a.Type)
		}
	}
	return st.matched(), nil
}
