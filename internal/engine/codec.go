package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// errShort reports a record or snapshot that ends before its fields do.
var errShort = errors.New("truncated")

// encoder appends fields to a byte slice: unsigned and signed varints,
// length-prefixed strings and bytes.
type encoder struct{ b []byte }

func (e *encoder) byte(v byte)    { e.b = append(e.b, v) }
func (e *encoder) uint(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)   { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte) { e.uint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) seqs(s []uint64) {
	e.uint(uint64(len(s)))
	for _, v := range s {
		e.uint(v)
	}
}

// headers writes a string map: its length, then each key and value.
func (e *encoder) headers(h map[string]string) {
	e.uint(uint64(len(h)))
	for k, v := range h {
		e.str(k)
		e.str(v)
	}
}

// headersSize bounds the encoded size of h.
func headersSize(h map[string]string) int {
	n := binary.MaxVarintLen64
	for k, v := range h {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	return n
}

func (e *encoder) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

// decoder reads what encoder wrote. The first failure sticks: later reads
// return zero values and err reports where decoding stopped. Lengths are
// checked against the bytes left before anything is allocated.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at byte %d: %w", what, d.off, errShort)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || d.off >= len(d.b) {
		d.fail("byte")
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) fixed64() uint64 {
	if d.err != nil || len(d.b)-d.off < 8 {
		d.fail("fixed64")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) fixed32() uint32 {
	if d.err != nil || len(d.b)-d.off < 4 {
		d.fail("fixed32")
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.off += n
	return v
}

// count reads a length that must fit in the remaining bytes, each element
// taking at least min bytes.
func (d *decoder) count(min int) int {
	n := d.uint()
	if d.err != nil {
		return 0
	}
	if n > math.MaxInt32 || int(n)*min > len(d.b)-d.off {
		d.fail(fmt.Sprintf("length %d", n))
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	p := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return p
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) seqs() []uint64 {
	s := make([]uint64, d.count(1))
	for i := range s {
		s[i] = d.uint()
	}
	return s
}

func (d *decoder) bool() bool { return d.byte() != 0 }

// headers reads what encoder.headers wrote; nil for an empty map.
func (d *decoder) headers() map[string]string {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	h := make(map[string]string, n)
	for range n {
		k := d.str()
		h[k] = d.str()
	}
	return h
}

// end reports an error if decoding failed or left bytes unread.
func (d *decoder) end() error {
	if d.err != nil {
		return d.err
	}
	if d.off != len(d.b) {
		return fmt.Errorf("%d unexpected bytes after the last field", len(d.b)-d.off)
	}
	return nil
}
