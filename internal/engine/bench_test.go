package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// benchURLs are the engines the benchmarks compare; a file:// URL gets a
// fresh temporary directory per run.
var benchURLs = []string{"mem://", "file://"}

func openBench(b *testing.B, url string) *courier.Broker {
	b.Helper()
	if url == "file://" {
		url += b.TempDir()
	}
	br, err := courier.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	return br
}

// BenchmarkSend measures durable single-message sends from one producer
// (latency) and from 64 concurrent producers (throughput through group
// commit).
func BenchmarkSend(b *testing.B) {
	body := make([]byte, 1024)
	for _, url := range benchURLs {
		for _, producers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/producers=%d", url, producers), func(b *testing.B) {
				q, err := openBench(b, url).CreateQueue(context.Background(), "bench")
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				lat := make([][]time.Duration, producers)
				var wg sync.WaitGroup
				per := b.N/producers + 1
				b.ResetTimer()
				start := time.Now()
				for p := range producers {
					wg.Go(func() {
						l := make([]time.Duration, 0, per)
						for range per {
							t0 := time.Now()
							if _, err := q.Send(context.Background(), courier.Message{Body: body}); err != nil {
								b.Error(err)
								return
							}
							l = append(l, time.Since(t0))
						}
						lat[p] = l
					})
				}
				wg.Wait()
				el := time.Since(start)
				b.StopTimer()
				var all []time.Duration
				for _, l := range lat {
					all = append(all, l...)
				}
				sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
				b.ReportMetric(float64(len(all))/el.Seconds(), "msgs/s")
				b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50_us")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99_us")
			})
		}
	}
}

// BenchmarkReceiveAck measures consuming a backlog in batches of 100, each
// batch acked with one call.
func BenchmarkReceiveAck(b *testing.B) {
	body := make([]byte, 1024)
	for _, url := range benchURLs {
		b.Run(url, func(b *testing.B) {
			ctx := context.Background()
			q, err := openBench(b, url).CreateQueue(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]courier.Message, 100)
			for i := range batch {
				batch[i].Body = body
			}
			for sent := 0; sent < b.N; sent += len(batch) {
				if _, err := q.SendBatch(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			got := 0
			for got < b.N {
				ds, err := q.Receive(ctx, courier.Max(100), courier.Wait(0))
				if err != nil {
					b.Fatal(err)
				}
				receipts := make([]string, len(ds))
				for i, d := range ds {
					receipts[i] = d.Receipt
				}
				if err := q.Ack(ctx, receipts...); err != nil {
					b.Fatal(err)
				}
				got += len(ds)
			}
			b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkBacklogMemory measures the heap the engine keeps per queued
// message (bodies excluded on file://, where they stay on disk).
func BenchmarkBacklogMemory(b *testing.B) {
	const n = 100_000
	body := make([]byte, 256)
	for _, url := range benchURLs {
		b.Run(url, func(b *testing.B) {
			for range b.N {
				ctx := context.Background()
				q, err := openBench(b, url).CreateQueue(ctx, fmt.Sprint("backlog-", time.Now().UnixNano()))
				if err != nil {
					b.Fatal(err)
				}
				before := heapInUse()
				batch := make([]courier.Message, 1000)
				for i := range batch {
					batch[i].Body = body
				}
				for sent := 0; sent < n; sent += len(batch) {
					if _, err := q.SendBatch(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/n, "bytes/msg")
			}
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// BenchmarkPublish measures durable publishes to a topic with 10 durable
// subscriptions whose filter policies all match (the fan-out of one
// message is one record and one group commit), beside BenchmarkSend's
// single queue at the same concurrency.
func BenchmarkPublish(b *testing.B) {
	body := make([]byte, 1024)
	headers := map[string]string{"type": "order"}
	for _, url := range benchURLs {
		for _, producers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/subs=10/producers=%d", url, producers), func(b *testing.B) {
				ctx := context.Background()
				tp, err := openBench(b, url).CreateTopic(ctx, "bench")
				if err != nil {
					b.Fatal(err)
				}
				for i := range 10 {
					if _, err := tp.SubscribeDurable(ctx, fmt.Sprintf("s%d", i), courier.Raw(), courier.Filter(`{"type": ["order"]}`)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				var wg sync.WaitGroup
				per := b.N/producers + 1
				b.ResetTimer()
				start := time.Now()
				for range producers {
					wg.Go(func() {
						for range per {
							if _, err := tp.Publish(ctx, courier.Message{Body: body, Headers: headers}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				el := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(per*producers)/el.Seconds(), "msgs/s")
				b.ReportMetric(float64(per*producers*10)/el.Seconds(), "deliveries/s")
			})
		}
	}
}

// BenchmarkAppend measures durable appends of 1 KiB records to an
// 8-partition stream from concurrent producers.
func BenchmarkAppend(b *testing.B) {
	value := make([]byte, 1024)
	for _, url := range benchURLs {
		for _, producers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/producers=%d", url, producers), func(b *testing.B) {
				ctx := context.Background()
				st, err := openBench(b, url).CreateStream(ctx, "bench", courier.Partitions(8))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				var wg sync.WaitGroup
				per := b.N/producers + 1
				b.ResetTimer()
				start := time.Now()
				for p := range producers {
					wg.Go(func() {
						key := fmt.Appendf(nil, "producer-%d", p)
						for range per {
							if _, err := st.Append(ctx, courier.Record{Key: key, Value: value, Partition: courier.AnyPartition}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				el := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(per*producers)/el.Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkReplay measures a sequential read of a partition of 1 KiB
// records from the start, in batches of 1000.
func BenchmarkReplay(b *testing.B) {
	value := make([]byte, 1024)
	for _, url := range benchURLs {
		b.Run(url, func(b *testing.B) {
			ctx := context.Background()
			st, err := openBench(b, url).CreateStream(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]courier.Record, 1000)
			for i := range batch {
				batch[i] = courier.Record{Value: value}
			}
			for n := 0; n < b.N; n += len(batch) {
				if _, err := st.AppendBatch(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			r := st.Reader(0, courier.Earliest(), courier.ReadMax(1000))
			read := 0
			for read < b.N {
				recs, err := r.Next(ctx)
				if err != nil || len(recs) == 0 {
					b.Fatalf("read %d of %d: %v", read, b.N, err)
				}
				read += len(recs)
			}
			b.ReportMetric(float64(read)/time.Since(start).Seconds(), "records/s")
		})
	}
}
