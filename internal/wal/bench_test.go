package wal

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppend measures durable appends of 1 KiB records (SyncAlways)
// from 1, 16 and 64 concurrent writers: latency per append and records per
// second through group commit.
func BenchmarkAppend(b *testing.B) {
	payload := make([]byte, 1024)
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprint("writers=", writers), func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			per := b.N/writers + 1
			lat := make([][]time.Duration, writers)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range writers {
				wg.Go(func() {
					ls := make([]time.Duration, 0, per)
					for range per {
						t0 := time.Now()
						if _, err := l.Append(1, payload); err != nil {
							b.Error(err)
							return
						}
						ls = append(ls, time.Since(t0))
					}
					lat[w] = ls
				})
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			var all []time.Duration
			for _, ls := range lat {
				all = append(all, ls...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			st := l.Stats()
			b.ReportMetric(float64(len(all))/el.Seconds(), "records/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50_us")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99_us")
			b.ReportMetric(float64(st.Records)/float64(max(st.Syncs, 1)), "records/sync")
		})
	}
}

// BenchmarkRecovery1GiB measures Open plus a full Replay of a 1 GiB log
// (1 KiB records in 64 MiB segments), the work of a restart without a
// checkpoint. Target: under 5 s.
func BenchmarkRecovery1GiB(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 1 GiB")
	}
	dir := b.TempDir()
	l, err := Open(dir, Options{Sync: SyncNone})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1024)
	batch := make([][]byte, 1024)
	for i := range batch {
		batch[i] = payload
	}
	const total = 1 << 30
	var c *Commit
	for written := 0; written < total; written += len(batch) * (len(payload) + headerSize) {
		if _, c, err = l.Write(1, batch...); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Wait(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		l, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if err := l.Replay(Pos{}, func(Record) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		l.Close()
		b.ReportMetric(el.Seconds(), "s/GiB")
		b.ReportMetric(float64(n)/el.Seconds(), "records/s")
	}
}
