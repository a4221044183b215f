package pattern

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The reference matcher: a deliberately naive evaluation of a compiled
// pattern's alternatives against an event decoded with encoding/json. It
// shares only the compiled conditions and pred.test with the engine; the
// event walk, path flattening, array bookkeeping and the search are its
// own. Property tests check that the engine (anchors, tables, composite
// keys, the fast path that skips array consistency, the delta segments)
// gives exactly its answers.

// refLeaf is one leaf of a flattened event: its dotted path, its value and
// the array elements it is inside (array id and index, outermost first).
type refLeaf struct {
	path  string
	v     value
	chain []refStep
}

type refStep struct{ array, index int }

// refFlatten decodes event and lists its leaves; repeated keys keep all
// their values. ok is false when event is not a JSON object.
func refFlatten(event []byte) (leaves []refLeaf, ok bool) {
	if !json.Valid(event) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	arrays := 0
	// walk reads the value after the current token position; path is the
	// dotted path of the value, chain its array elements.
	var walk func(path string, tok json.Token, chain []refStep)
	walk = func(path string, tok json.Token, chain []refStep) {
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' {
				for dec.More() {
					k, _ := dec.Token()
					v, _ := dec.Token()
					walk(path+"."+k.(string), v, chain)
				}
				dec.Token() // }
				return
			}
			id := arrays
			arrays++
			for i := 0; dec.More(); i++ {
				v, _ := dec.Token()
				walk(path, v, append(append([]refStep(nil), chain...), refStep{id, i}))
			}
			dec.Token() // ]
		case string:
			leaves = append(leaves, refLeaf{path, value{kind: kindString, str: t}, chain})
		case json.Number:
			f, _ := strconv.ParseFloat(string(t), 64)
			leaves = append(leaves, refLeaf{path, value{kind: kindNumber, num: f}, chain})
		case bool:
			k := kindFalse
			if t {
				k = kindTrue
			}
			leaves = append(leaves, refLeaf{path, value{kind: k}, chain})
		case nil:
			leaves = append(leaves, refLeaf{path, value{kind: kindNull}, chain})
		}
	}
	for dec.More() {
		k, _ := dec.Token()
		v, _ := dec.Token()
		walk(k.(string), v, nil)
	}
	return leaves, true
}

// refConsistent reports whether two chains never hold different elements
// of the same array.
func refConsistent(a, b []refStep) bool {
	for _, x := range a {
		for _, y := range b {
			if x.array == y.array && x.index != y.index {
				return false
			}
		}
	}
	return true
}

// refMatch evaluates p against leaves.
func refMatch(p *Pattern, leaves []refLeaf) bool {
	for _, a := range p.alts {
		if refAlt(a.conds, leaves, nil) {
			return true
		}
	}
	return false
}

// refAlt walks the conditions in order (the AWS order), choosing for each
// a consistent leaf, backtracking; exists:false holds when no leaf at the
// path is consistent with the choices so far.
func refAlt(conds []cond, leaves []refLeaf, chosen [][]refStep) bool {
	if len(conds) == 0 {
		return true
	}
	c := &conds[0]
	ok := func(l *refLeaf) bool {
		for _, w := range chosen {
			if !refConsistent(w, l.chain) {
				return false
			}
		}
		return true
	}
	if c.absent {
		found := false
		for i := range leaves {
			l := &leaves[i]
			if l.path == c.path && (!c.strict || l.v.present()) && ok(l) {
				found = true
				break
			}
		}
		if !found && refAlt(conds[1:], leaves, chosen) {
			return true
		}
	}
	for i := range leaves {
		l := &leaves[i]
		if l.path != c.path || !ok(l) {
			continue
		}
		for j := range c.preds {
			if c.preds[j].test(&l.v) {
				if refAlt(conds[1:], leaves, append(chosen, l.chain)) {
					return true
				}
				break
			}
		}
	}
	return false
}

// refMatchAttributes evaluates an attributes policy the SNS way: an empty
// attribute map matches nothing, Binary attributes do not exist,
// String.Array elements are values, and anything-but must hold for every
// element of a String.Array.
func refMatchAttributes(p *Pattern, attrs map[string]Attribute) bool {
	if len(attrs) == 0 {
		return false
	}
	vals := map[string][]value{}
	for name, a := range attrs {
		switch {
		case a.Type == "String.Array":
			var elems []any
			dec := json.NewDecoder(strings.NewReader(a.Value))
			dec.UseNumber()
			if dec.Decode(&elems) != nil {
				return false
			}
			for _, e := range elems {
				switch t := e.(type) {
				case string:
					vals[name] = append(vals[name], value{kind: kindString, str: t})
				case json.Number:
					f, _ := strconv.ParseFloat(string(t), 64)
					vals[name] = append(vals[name], value{kind: kindNumber, num: f})
				case bool:
					k := kindFalse
					if t {
						k = kindTrue
					}
					vals[name] = append(vals[name], value{kind: k})
				case nil:
					vals[name] = append(vals[name], value{kind: kindNull})
				}
			}
		case strings.HasPrefix(a.Type, "String"):
			vals[name] = append(vals[name], value{kind: kindString, str: a.Value})
		case strings.HasPrefix(a.Type, "Number"):
			f, _ := strconv.ParseFloat(a.Value, 64)
			vals[name] = append(vals[name], value{kind: kindNumber, num: f})
		}
	}
	for _, alt := range p.alts {
		all := true
		for _, c := range alt.conds {
			if !refAttrCond(&c, vals[c.path]) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func refAttrCond(c *cond, vs []value) bool {
	for i := range c.preds {
		p := &c.preds[i]
		if p.kind == predAnythingBut {
			n := 0
			for j := range vs {
				if p.test(&vs[j]) {
					n++
				}
			}
			if n > 0 && n == len(vs) {
				return true
			}
			continue
		}
		for j := range vs {
			if p.test(&vs[j]) {
				return true
			}
		}
	}
	if c.absent {
		for j := range vs {
			if vs[j].present() {
				return false
			}
		}
		return true
	}
	return false
}
