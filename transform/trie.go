package transform

// node is a node of a path trie: the compiled paths of a Transformer (or
// the one path of a Path) merged on common prefixes. The scanner walks the
// event and the trie together, so that the event is read once whatever the
// number of paths.
type node struct {
	// slot is where the value at this node is recorded, or -1.
	slot int
	// members are the children reached by an object member name; byName
	// indexes them when there are many.
	members []member
	byName  map[string]*node
	// elems are the children reached by an array index.
	elems []elem
	// below are the slots of the nodes under this one, reset when the
	// scanner enters the node again (a repeated member: the last wins).
	below []int
}

type member struct {
	name string
	n    *node
}

type elem struct {
	index int
	n     *node
}

// manyMembers is the number of members from which a node looks them up in
// a map rather than one by one.
const manyMembers = 8

func newNode() *node { return &node{slot: -1} }

// insert adds the path of steps under n and returns the node it ends at.
func (n *node) insert(steps []step) *node {
	for _, st := range steps {
		var next *node
		if st.index < 0 {
			for _, m := range n.members {
				if m.name == st.name {
					next = m.n
					break
				}
			}
			if next == nil {
				next = newNode()
				n.members = append(n.members, member{st.name, next})
			}
		} else {
			for _, e := range n.elems {
				if e.index == st.index {
					next = e.n
					break
				}
			}
			if next == nil {
				next = newNode()
				n.elems = append(n.elems, elem{st.index, next})
			}
		}
		n = next
	}
	return n
}

// finish builds the lookup maps and the below lists of the trie under n and
// returns the slots under and at n.
func (n *node) finish() []int {
	var all []int
	if len(n.members) > manyMembers {
		n.byName = make(map[string]*node, len(n.members))
		for _, m := range n.members {
			n.byName[m.name] = m.n
		}
	}
	for _, m := range n.members {
		all = append(all, m.n.finish()...)
	}
	for _, e := range n.elems {
		all = append(all, e.n.finish()...)
	}
	n.below = all
	if n.slot >= 0 {
		return append(all[:len(all):len(all)], n.slot)
	}
	return all
}

// member returns the child named by key, the raw text of an object key
// between its quotes; esc says whether that text must be decoded first.
func (n *node) member(key []byte, esc bool) *node {
	if esc {
		var buf [64]byte
		key = appendUnquoted(buf[:0], key)
	}
	if n.byName != nil {
		return n.byName[string(key)]
	}
	for _, m := range n.members {
		if m.name == string(key) {
			return m.n
		}
	}
	return nil
}

func (n *node) elem(i int) *node {
	for _, e := range n.elems {
		if e.index == i {
			return e.n
		}
	}
	return nil
}
