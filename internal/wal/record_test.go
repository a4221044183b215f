package wal

import (
	"bytes"
	"testing"
)

func TestRecordFraming(t *testing.T) {
	b := appendRecord(nil, 5, []byte("hello"))
	typ, p, n, err := decodeRecord(b, 100)
	if err != nil || typ != 5 || string(p) != "hello" || n != len(b) {
		t.Fatalf("decode = %d %q %d %v", typ, p, n, err)
	}
	if _, _, _, err := decodeRecord(b, 4); err != errTooLarge {
		t.Fatalf("limit: %v", err)
	}
	if _, _, _, err := decodeRecord(b[:len(b)-1], 100); err != errIncomplete {
		t.Fatalf("short: %v", err)
	}
	if _, _, _, err := decodeRecord(make([]byte, 64), 100); err == nil {
		t.Fatal("zeros decoded as a record")
	}
}

// FuzzDecode feeds arbitrary bytes to the record decoder: it must not
// panic, must respect the length limit, and whatever it accepts must
// re-encode to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(appendRecord(nil, 1, []byte("seed")))
	f.Add(appendRecord(appendRecord(nil, 2, nil), 3, bytes.Repeat([]byte{0xff}, 40)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, p, n, err := decodeRecord(b, 1<<10)
		if err != nil {
			return
		}
		if len(p) > 1<<10 || n > len(b) {
			t.Fatalf("decoded %d payload bytes, record of %d, from %d bytes", len(p), n, len(b))
		}
		if again := appendRecord(nil, typ, p); !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
