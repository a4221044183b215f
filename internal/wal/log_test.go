package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/courier-io/courier/internal/wal/vfs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const dir = "/data"

func openMem(t *testing.T, fs vfs.FS, opts Options) *Log {
	t.Helper()
	opts.FS = fs
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

// replayAll returns every record's payload in order.
func replayAll(t *testing.T, l *Log) []string {
	t.Helper()
	var out []string
	if err := l.Replay(Pos{}, func(r Record) error {
		out = append(out, string(r.Payload))
		return nil
	}); err != nil {
		t.Fatalf("replay: %v", err)
	}
	return out
}

func TestWriteReadReplay(t *testing.T) {
	fs := vfs.NewStrictMem()
	l := openMem(t, fs, Options{SegmentSize: 1 << 10})
	var ps []Pos
	var want []string
	for i := range 100 {
		p := fmt.Sprintf("record-%03d-%s", i, strings.Repeat("x", i))
		pos, err := l.Append(7, []byte(p))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, pos)
		want = append(want, p)
	}
	if len(l.Segments()) < 3 {
		t.Fatalf("100 records in 1 KiB segments made %d segments", len(l.Segments()))
	}
	for i, p := range ps {
		typ, payload, err := l.ReadAt(p)
		if err != nil || typ != 7 || string(payload) != want[i] {
			t.Fatalf("ReadAt(%v) = %d %q %v; want 7 %q", p, typ, payload, err, want[i])
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openMem(t, fs, Options{SegmentSize: 1 << 10})
	defer l.Close()
	if got := replayAll(t, l); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("replay after reopen differs: %d records", len(got))
	}
	// Records still buffered are readable too.
	ps2, c, err := l.Write(9, []byte("a"), []byte("b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, p, err := l.ReadAt(ps2[1]); err != nil || string(p) != "b" {
		t.Fatalf("ReadAt of a fresh record = %q %v", p, err)
	}
	if err := c.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRejectsBadWrites(t *testing.T) {
	l := openMem(t, vfs.NewStrictMem(), Options{MaxRecordSize: 100})
	defer l.Close()
	if _, _, err := l.Write(0, []byte("x")); err == nil {
		t.Fatal("type 0 accepted")
	}
	if _, _, err := l.Write(1, make([]byte, 101)); err == nil {
		t.Fatal("record over the limit accepted")
	}
	if got := replayAll(t, l); len(got) != 0 {
		t.Fatalf("rejected writes left %d records", len(got))
	}
}

// TestPowerLoss writes concurrently, simulates power loss and checks that
// every record whose commit completed survived intact.
func TestPowerLoss(t *testing.T) {
	for _, seg := range []int64{1 << 10, 64 << 10} {
		t.Run(fmt.Sprint("segment=", seg), func(t *testing.T) {
			fs := vfs.NewStrictMem()
			l := openMem(t, fs, Options{SegmentSize: seg})
			var mu sync.Mutex
			acked := map[string]bool{}
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := range 50 {
						p := fmt.Sprintf("w%d-%d", w, i)
						if _, err := l.Append(1, []byte(p)); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						acked[p] = true
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			// Unacknowledged writes in flight at the moment of the crash.
			if _, _, err := l.Write(1, []byte("in-flight")); err != nil {
				t.Fatal(err)
			}
			fs.ResetToSyncedState()
			l.Close() // the old process is gone; release its goroutine
			fs.ResetToSyncedState()

			l = openMem(t, fs, Options{SegmentSize: seg})
			defer l.Close()
			got := map[string]int{}
			for _, p := range replayAll(t, l) {
				got[p]++
				if !acked[p] && p != "in-flight" {
					t.Fatalf("replay returned %q, which was never written", p)
				}
			}
			for p := range acked {
				if got[p] != 1 {
					t.Fatalf("acknowledged record %q found %d times after power loss", p, got[p])
				}
			}
		})
	}
}

// TestTornTail cuts the newest segment at every byte of its last record:
// recovery truncates the tail and keeps everything before.
func TestTornTail(t *testing.T) {
	fs := vfs.NewStrictMem()
	opts := Options{SegmentSize: 4 << 10}
	l := openMem(t, fs, opts)
	for i := range 3 {
		if _, err := l.Append(1, fmt.Appendf(nil, "rec-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := l.Append(1, []byte("last-record"))
	end := l.EndPos().Offset
	l.Close()
	seg := vfs.Join(dir, fmt.Sprintf("%020d.log", last.Segment))
	full := fileBytes(t, fs, seg)
	if int64(len(full)) <= end || !allZero(full[end:]) {
		t.Fatalf("segment of %d bytes does not end in zero-filled space after its records (%d bytes)", len(full), end)
	}
	for cut := last.Offset; cut < end; cut++ {
		// A crash cut the last record short, inside the zero-filled
		// space or at the end of the file.
		torn := append(bytes.Clone(full[:cut]), make([]byte, int(end)-int(cut))...)
		for _, data := range [][]byte{full[:cut], torn} {
			restore(t, fs, seg, data)
			l := openMem(t, fs, opts)
			got := replayAll(t, l)
			if len(got) != 3 {
				t.Fatalf("cut at %d: %d records; want 3", cut, len(got))
			}
			// The log appends after the truncated tail.
			if _, err := l.Append(1, []byte("after")); err != nil {
				t.Fatal(err)
			}
			l.Close()
		}
	}
	// Garbage (a bad checksum) at the end is a torn tail too.
	restore(t, fs, seg, append(bytes.Clone(full[:end-1]), full[end-1]^0xff))
	l = openMem(t, fs, opts)
	defer l.Close()
	if got := replayAll(t, l); len(got) != 3 {
		t.Fatalf("bad checksum at the tail: %d records; want 3", len(got))
	}
}

// TestMidLogCorruption damages a record followed by valid ones: Open fails
// naming segment and offset; with Repair the range is quarantined.
func TestMidLogCorruption(t *testing.T) {
	fs := vfs.NewStrictMem()
	l := openMem(t, fs, Options{})
	var ps []Pos
	for i := range 5 {
		p, err := l.Append(1, fmt.Appendf(nil, "rec-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	l.Close()
	seg := vfs.Join(dir, fmt.Sprintf("%020d.log", ps[2].Segment))
	if err := fs.Corrupt(seg, func(b []byte) []byte { b[ps[2].Offset+headerSize] ^= 1; return b }); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{FS: fs})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open of a log corrupt in the middle = %v; want ErrCorrupt", err)
	}
	if want := fmt.Sprintf("%020d.log offset %d", ps[2].Segment, ps[2].Offset); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
	l = openMem(t, fs, Options{Repair: true})
	rep := l.Repaired()
	if len(rep) != 1 || rep[0].Offset != ps[2].Offset || rep[0].Length != ps[3].Offset-ps[2].Offset || rep[0].Quarantine == "" {
		t.Fatalf("Repaired = %+v; want the range of record 2", rep)
	}
	if got := replayAll(t, l); strings.Join(got, ",") != "rec-0,rec-1,rec-3,rec-4" {
		t.Fatalf("after repair replay = %v", got)
	}
	l.Close()
	// The quarantine persists: a plain open now succeeds.
	l = openMem(t, fs, Options{})
	defer l.Close()
	if got := replayAll(t, l); len(got) != 4 {
		t.Fatalf("reopen after repair: %d records", len(got))
	}
}

// TestBitFlips flips every bit of a small log, one at a time: each flip is
// either cut off as a torn tail (in the last record) or reported as
// corruption; a replay never returns a changed payload.
func TestBitFlips(t *testing.T) {
	fs := vfs.NewStrictMem()
	opts := Options{SegmentSize: 4 << 10}
	l := openMem(t, fs, opts)
	want := []string{"alpha", "beta", "gamma"}
	var ps []Pos
	for _, w := range want {
		p, _ := l.Append(3, []byte(w))
		ps = append(ps, p)
	}
	end := l.EndPos().Offset
	l.Close()
	seg := vfs.Join(dir, fmt.Sprintf("%020d.log", 1))
	full := fileBytes(t, fs, seg)
	for i := range int(end) * 8 {
		b := bytes.Clone(full)
		b[i/8] ^= 1 << (i % 8)
		restore(t, fs, seg, b)
		l, err := Open(dir, Options{FS: fs, SegmentSize: opts.SegmentSize})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("bit %d: open error %v does not wrap ErrCorrupt", i, err)
			}
			continue
		}
		got := replayAll(t, l)
		l.Close()
		if int64(i/8) < ps[2].Offset {
			t.Fatalf("bit %d (before the last record) was not reported as corruption; replay %v", i, got)
		}
		if strings.Join(got, ",") != "alpha,beta" {
			t.Fatalf("bit %d in the last record: replay %v; want the tail truncated", i, got)
		}
	}
}

// TestSyncFailureStopsWrites makes a sync fail: the commit fails with
// ErrStorage, every later write is refused, the sync is never retried and
// reads keep working.
func TestSyncFailureStopsWrites(t *testing.T) {
	// The first append extends the segment with zeros (write 1), writes
	// its record (write 2) and syncs (sync 1); the second append fails.
	for _, rule := range []string{"sync 2 EIO", "write 3 ENOSPC"} {
		t.Run(rule, func(t *testing.T) {
			r, err := vfs.ParseRule(rule)
			if err != nil {
				t.Fatal(err)
			}
			efs := vfs.NewErrorFS(vfs.NewStrictMem(), r)
			l := openMem(t, efs, Options{SegmentSize: 64 << 10})
			defer l.Close()
			p, err := l.Append(1, []byte("good"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Append(1, []byte("bad")); !errors.Is(err, ErrStorage) {
				t.Fatalf("append through a failing %s = %v; want ErrStorage", r.Op, err)
			}
			syncs := efs.Count(vfs.OpSync)
			for range 3 {
				if _, _, err := l.Write(1, []byte("later")); !errors.Is(err, ErrStorage) {
					t.Fatalf("write after the failure = %v; want ErrStorage", err)
				}
			}
			if err := l.Sync(); !errors.Is(err, ErrStorage) {
				t.Fatalf("Sync after the failure = %v; want ErrStorage", err)
			}
			if n := efs.Count(vfs.OpSync); n != syncs {
				t.Fatalf("sync was attempted %d more times after the failure", n-syncs)
			}
			if _, payload, err := l.ReadAt(p); err != nil || string(payload) != "good" {
				t.Fatalf("read after the failure = %q %v", payload, err)
			}
		})
	}
}

func TestParseRule(t *testing.T) {
	for _, bad := range []string{"", "sync", "sync x", "sync 0", "fly 1", "sync 1 EFOO", "sync 1 EIO extra"} {
		if _, err := vfs.ParseRule(bad); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
	r, err := vfs.ParseRule("write 3+ ENOSPC")
	if err != nil || r.Op != vfs.OpWrite || r.Nth != 3 || !r.Sticky || r.Err != syscall.ENOSPC {
		t.Fatalf("ParseRule = %+v %v", r, err)
	}
}

func TestDirectoryLock(t *testing.T) {
	d := t.TempDir()
	l, err := Open(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(d, Options{})
	if err == nil || !strings.Contains(err.Error(), "is in use by pid") || !strings.Contains(err.Error(), d) {
		t.Fatalf("second open = %v; want \"data directory %s is in use by pid N\"", err, d)
	}
	l.Close()
	l, err = Open(d, Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	l.Close()
}

func TestCheckpoint(t *testing.T) {
	fs := vfs.NewStrictMem()
	l := openMem(t, fs, Options{SegmentSize: 1 << 10})
	if _, _, ok, err := l.LastCheckpoint(); ok || err != nil {
		t.Fatalf("fresh log has a checkpoint: %v %v", ok, err)
	}
	for i := range 40 {
		l.Append(1, fmt.Appendf(nil, "before-%02d-%s", i, strings.Repeat("y", 40)))
	}
	at := l.EndPos()
	if err := l.Checkpoint(at, []byte("state")); err != nil {
		t.Fatal(err)
	}
	l.Append(1, []byte("after"))
	if err := l.Remove(at.Segment); err != nil {
		t.Fatal(err)
	}
	if segs := l.Segments(); segs[0].ID != at.Segment {
		t.Fatalf("segments after Remove(%d) start at %d", at.Segment, segs[0].ID)
	}
	l.Close()
	fs.ResetToSyncedState()
	l = openMem(t, fs, Options{SegmentSize: 1 << 10})
	defer l.Close()
	gotAt, state, ok, err := l.LastCheckpoint()
	if !ok || err != nil || gotAt != at || string(state) != "state" {
		t.Fatalf("LastCheckpoint = %v %q %v %v", gotAt, state, ok, err)
	}
	var after []string
	l.Replay(gotAt, func(r Record) error { after = append(after, string(r.Payload)); return nil })
	if len(after) != 1 || after[0] != "after" {
		t.Fatalf("replay from the checkpoint = %v", after)
	}
	// A damaged checkpoint is reported, not ignored.
	fs.Corrupt(vfs.Join(dir, checkpointName), func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
	l.Close()
	if _, err := Open(dir, Options{FS: fs}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with a damaged checkpoint = %v; want ErrCorrupt", err)
	}
}

func TestParseSync(t *testing.T) {
	for s, want := range map[string]SyncMode{"always": SyncAlways, "none": SyncNone, "interval": SyncInterval, "interval=5ms": SyncInterval} {
		if m, _, err := ParseSync(s); err != nil || m != want {
			t.Errorf("ParseSync(%q) = %v %v", s, m, err)
		}
	}
	for _, bad := range []string{"", "sometimes", "interval=", "interval=0s", "interval=2h", "interval=x"} {
		if _, _, err := ParseSync(bad); err == nil {
			t.Errorf("ParseSync(%q) accepted", bad)
		}
	}
}

func fileBytes(t *testing.T, fs *vfs.MemFS, name string) []byte {
	t.Helper()
	var out []byte
	if err := fs.Corrupt(name, func(b []byte) []byte { out = bytes.Clone(b); return b }); err != nil {
		t.Fatal(err)
	}
	return out
}

func restore(t *testing.T, fs *vfs.MemFS, name string, data []byte) {
	t.Helper()
	if err := fs.Corrupt(name, func([]byte) []byte { return bytes.Clone(data) }); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseSync checks that ParseSync never panics and that what it
// accepts is in range.
func FuzzParseSync(f *testing.F) {
	for _, s := range []string{"always", "none", "interval", "interval=10ms", "interval=-1s", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, d, err := ParseSync(s)
		if err != nil {
			return
		}
		if m == SyncInterval && (d < time.Millisecond || d > time.Minute) {
			t.Fatalf("ParseSync(%q) accepted interval %v", s, d)
		}
	})
}
