package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// BenchmarkPutEvents measures PutEvents of 1 KiB events in batches of 10
// from 16 producers on a bus with 1,000 rules, each event matching one rule
// whose target is one of 10 queues: the engine's cost per accepted event
// (matching, envelope, record), reported as events/s.
func BenchmarkPutEvents(b *testing.B) {
	for _, url := range benchURLs {
		b.Run(url, func(b *testing.B) {
			br := openBench(b, url)
			ctx := context.Background()
			bus := br.Bus(courier.DefaultBus)
			for q := range 10 {
				if _, err := br.CreateQueue(ctx, fmt.Sprint("q", q)); err != nil {
					b.Fatal(err)
				}
			}
			for r := range 1000 {
				pattern := fmt.Sprintf(`{"source": ["shop.svc%d"], "detail-type": ["Order Placed"], "detail": {"total": [{"numeric": [">", %d]}]}}`, r, r%50)
				if _, err := bus.PutRule(ctx, fmt.Sprint("r", r), courier.Rule{Pattern: json.RawMessage(pattern),
					Targets: []courier.Target{{ID: "q", Kind: courier.TargetQueue, Queue: fmt.Sprint("q", r%10)}}}); err != nil {
					b.Fatal(err)
				}
			}
			pad := strings.Repeat("x", 900)
			const producers, batch = 16, 10
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			per := b.N/(producers*batch) + 1
			for p := range producers {
				wg.Go(func() {
					evs := make([]courier.Event, batch)
					for i := range per {
						for k := range evs {
							r := (p*per*batch + i*batch + k) % 1000
							evs[k] = courier.Event{Source: fmt.Sprintf("shop.svc%d", r), DetailType: "Order Placed",
								Detail: json.RawMessage(fmt.Sprintf(`{"total": 100, "pad": %q}`, pad))}
						}
						if _, err := bus.PutEvents(ctx, evs...); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(producers*per*batch)/time.Since(start).Seconds(), "events/s")
		})
	}
}
