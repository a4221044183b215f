package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
)

// progressLog keeps the last Progress report of each system and phase
// (its record is a config's Progress).
type progressLog struct {
	mu      sync.Mutex
	reports map[string]Progress // by "system/phase"
}

func (l *progressLog) record(p Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reports == nil {
		l.reports = map[string]Progress{}
	}
	l.reports[p.System+"/"+p.Phase] = p
}

// last returns the last report of key ("system/phase").
func (l *progressLog) last(key string) (Progress, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.reports[key]
	return p, ok
}

// BenchmarkQueue runs each phase of the queue workload with b.N messages
// against courier (file://, sync=always) and the JetStream peers, side by
// side: publish from 16 producers, consume+ack in batches of 100, and
// closed-loop single-producer sends for p50/p99 latency. 1 KiB bodies.
//
//	go test ./bench -run '^$' -bench Queue -benchtime 20000x
func BenchmarkQueue(b *testing.B) {
	for _, peer := range DefaultPeers {
		b.Run(peer, func(b *testing.B) {
			b.Run("publish", func(b *testing.B) { benchPhase(b, peer, "publish") })
			b.Run("consume", func(b *testing.B) { benchPhase(b, peer, "consume") })
			b.Run("latency", func(b *testing.B) { benchPhase(b, peer, "latency") })
		})
	}
}

func benchPhase(b *testing.B, peer, phase string) {
	ctx := context.Background()
	cfg, err := Config{N: b.N, LatencyN: b.N, Rate: 1_000_000, Dir: b.TempDir()}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	sys, _, err := openPeer(ctx, peer, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := sys.close(); err != nil {
			b.Error(err)
		}
	}()
	q, err := sys.queue(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	template := make([]byte, cfg.Size)
	_, _ = rand.Read(template)
	b.SetBytes(int64(cfg.Size))
	b.ReportAllocs()

	switch phase {
	case "publish":
		b.ResetTimer()
		d, err := publishPhase(ctx, cfg, peer, q, template)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/d.Seconds(), "msgs/s")
	case "consume":
		if _, err := publishPhase(ctx, cfg, peer, q, template); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		d, n, dups, err := consumePhase(ctx, cfg, peer, q)
		if err != nil {
			b.Fatal(err)
		}
		if n != b.N || dups != 0 {
			b.Fatalf("consumed %d distinct with %d duplicates, want %d and 0", n, dups, b.N)
		}
		b.ReportMetric(float64(b.N)/d.Seconds(), "msgs/s")
	case "latency":
		b.ResetTimer()
		lat, err := latencyPhase(ctx, cfg, peer, q, template)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(micros(percentile(lat, 0.50)), "p50_us")
		b.ReportMetric(micros(percentile(lat, 0.99)), "p99_us")
	default:
		panic(fmt.Sprintf("unknown phase %q", phase))
	}
}
