package pattern

// htab is an immutable open-addressing hash table from a 64-bit hash
// (never 0) to a list of int32, laid out flat: one probe usually touches
// one slot and then the list. Tables that stand for exact values keep the
// value in the slot, to confirm a match; tables of combined hashes do not
// (their hits are verified by the caller).
type htab struct {
	mask  uint64
	slots []hslot
	data  []int32
}

type hslot struct {
	h      uint64 // 0: empty
	off, n int32  // data[off : off+n]
	key    value  // the exact value, for value tables
}

// htabBuilder collects entries for an htab.
type htabBuilder struct {
	idx  map[htabKey]int
	keys []value
	hs   []uint64
	vals [][]int32
}

type htabKey struct {
	h    uint64
	kind valueKind
	str  string
	num  float64
}

func (b *htabBuilder) add(h uint64, key value, v int32) {
	if b.idx == nil {
		b.idx = map[htabKey]int{}
	}
	k := htabKey{h, key.kind, key.str, key.num}
	i, ok := b.idx[k]
	if !ok {
		i = len(b.hs)
		b.idx[k] = i
		b.keys = append(b.keys, key)
		b.hs = append(b.hs, h)
		b.vals = append(b.vals, nil)
	}
	b.vals[i] = appendOnce(b.vals[i], v)
}

func (b *htabBuilder) build() htab {
	if len(b.hs) == 0 {
		return htab{}
	}
	size := 4
	for size < 2*len(b.hs) {
		size *= 2
	}
	t := htab{mask: uint64(size - 1), slots: make([]hslot, size)}
	for i, h := range b.hs {
		j := h & t.mask
		for t.slots[j].h != 0 {
			j = (j + 1) & t.mask
		}
		t.slots[j] = hslot{h: h, off: int32(len(t.data)), n: int32(len(b.vals[i])), key: b.keys[i]}
		t.data = append(t.data, b.vals[i]...)
	}
	return t
}

// lookup returns the list for hash h (combined-hash tables).
func (t *htab) lookup(h uint64) []int32 {
	if t.slots == nil {
		return nil
	}
	for j := h & t.mask; ; j = (j + 1) & t.mask {
		s := &t.slots[j]
		if s.h == h {
			return t.data[s.off : s.off+s.n]
		}
		if s.h == 0 {
			return nil
		}
	}
}

// find returns the list for value v, whose valueHash is h (value tables).
func (t *htab) find(h uint64, v *value) []int32 {
	if t.slots == nil {
		return nil
	}
	for j := h & t.mask; ; j = (j + 1) & t.mask {
		s := &t.slots[j]
		if s.h == h && sameKey(&s.key, v) {
			return t.data[s.off : s.off+s.n]
		}
		if s.h == 0 {
			return nil
		}
	}
}

// sameKey reports whether two exact values are equal (numbers as
// numbers).
func sameKey(a, b *value) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kindString:
		return a.str == b.str
	case kindNumber:
		return a.num == b.num
	}
	return true
}

// predValue returns the exact value an exact-value pred stands for.
func predValue(p *pred) value {
	switch p.kind {
	case predString:
		return value{kind: kindString, str: p.str}
	case predNumber, predNumeric:
		f := p.num
		if p.kind == predNumeric {
			f = p.lo
		}
		if f == 0 {
			f = 0 // one key for 0 and -0
		}
		return value{kind: kindNumber, num: f}
	case predTrue:
		return value{kind: kindTrue}
	case predFalse:
		return value{kind: kindFalse}
	}
	return value{kind: kindNull}
}
