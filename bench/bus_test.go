package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/pattern"
)

// smallBusConfig is a bus workload small enough for the test suite.
func smallBusConfig(t testing.TB) BusConfig {
	return BusConfig{N: 2000, Rules: 100, Queues: 10, Producers: 8, Batch: 10, Dir: t.TempDir(), Timeout: time.Minute}
}

// TestBusSmallRun runs the bus workload with small counts and checks that
// every event arrived exactly once, what was measured, the progress
// reports, the CPU profile, the table and the JSON line.
func TestBusSmallRun(t *testing.T) {
	cfg := smallBusConfig(t)
	var progress progressLog
	cfg.Progress = progress.record
	var profile bytes.Buffer
	cfg.CPUProfile = &profile
	res, err := Bus(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	r := res[0]
	if r.System != PeerCourier || !r.Fsync || r.Delivered != 2000 {
		t.Errorf("system %q fsync %v delivered %d; want courier, true, 2000", r.System, r.Fsync, r.Delivered)
	}
	if r.PutEventsPerSec <= 0 || r.E2EEventsPerSec <= 0 || r.E2EEventsPerSec > r.PutEventsPerSec || r.DeliveriesPerSec != r.E2EEventsPerSec {
		t.Errorf("put %v/s, e2e %v/s, deliveries %v/s; want positive, e2e at most put, deliveries = e2e with one match",
			r.PutEventsPerSec, r.E2EEventsPerSec, r.DeliveriesPerSec)
	}
	if r.QueuePublishMsgsPerSec <= 0 || r.E2EToQueueRatio != r.E2EEventsPerSec/r.QueuePublishMsgsPerSec {
		t.Errorf("single-queue reference %v/s, ratio %v", r.QueuePublishMsgsPerSec, r.E2EToQueueRatio)
	}
	if r.E2EP50us <= 0 || r.E2EP99us < r.E2EP50us || r.E2EMaxUs < r.E2EP99us {
		t.Errorf("latencies p50 %v p99 %v max %v are not ordered and positive", r.E2EP50us, r.E2EP99us, r.E2EMaxUs)
	}
	if r.N != 2000 || r.Rules != 100 || r.Matches != 1 || r.Queues != 10 || r.Size != 1024 || r.Producers != 8 || r.Batch != 10 || r.RulesSetupSec <= 0 {
		t.Errorf("workload %+v is not the configured one", r)
	}
	for key, total := range map[string]int{"courier-queue/publish": 2000, "courier/rules": 100, "courier/deliver": 2000} {
		if p, _ := progress.last(key); p.Total != total || p.Done != total {
			t.Errorf("last %s progress %+v, want %d of %d", key, p, total, total)
		}
	}
	if !bytes.HasPrefix(profile.Bytes(), []byte{0x1f, 0x8b}) {
		t.Errorf("CPU profile of %d bytes is not gzipped protobuf", profile.Len())
	}

	var table bytes.Buffer
	if err := WriteBusTable(&table, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"courier (1 queue, SendBatch)", "courier bus", "e2e events/s", BusPattern(0, 1),
		"courier bus e2e/single-queue publish", "target ≥50000 events/s",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := WriteBusJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, js.String())
	}
	for _, k := range []string{"system", "fsync", "put_events_per_sec", "e2e_events_per_sec", "deliveries_per_sec", "e2e_p50_us", "e2e_p99_us",
		"queue_publish_msgs_per_sec", "e2e_to_queue_ratio", "delivered", "rules", "matches", "queues", "producers", "batch"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON %s lacks %q", js.String(), k)
		}
	}
	if entries, err := os.ReadDir(cfg.Dir); err != nil || len(entries) != 0 {
		t.Errorf("temporary directories left in %s: %v (%v)", cfg.Dir, entries, err)
	}
}

// TestBusSeveralMatches runs a workload where each event matches three
// rules, and the rule count is not a multiple of three: every event must
// arrive once in each of three queues.
func TestBusSeveralMatches(t *testing.T) {
	cfg := smallBusConfig(t)
	cfg.N, cfg.Rules, cfg.Matches, cfg.Queues, cfg.Batch, cfg.Size = 600, 31, 3, 4, 7, 300
	res, err := Bus(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Delivered != 1800 || r.Matches != 3 || r.DeliveriesPerSec <= r.E2EEventsPerSec {
		t.Errorf("delivered %d with %d matches, %v deliveries/s for %v events/s; want 1800, 3, three deliveries an event",
			r.Delivered, r.Matches, r.DeliveriesPerSec, r.E2EEventsPerSec)
	}
}

// envelopeOf renders an event as the engine stores it: the EventBridge
// envelope.
func envelopeOf(ev courier.Event) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"x","detail-type":%q,"source":%q,"account":"000000000000","time":"2026-01-02T03:04:05Z","region":"local","resources":[],"detail":%s}`,
		ev.DetailType, ev.Source, ev.Detail)
}

// TestBusPatternsMatchTheirGroup matches events against every rule's
// pattern and checks that each event matches exactly the rules of its
// group, and that those rules' queues are the ones the consumers expect it
// in.
func TestBusPatternsMatchTheirGroup(t *testing.T) {
	for _, cfg := range []BusConfig{
		{N: 5000, Rules: 1000, Matches: 1, Queues: 10, Size: 1024},
		{N: 500, Rules: 50, Matches: 4, Queues: 7, Size: minBusDetail},
		{N: 100, Rules: 10, Matches: 3, Queues: 3, Size: 512},
	} {
		t.Run(fmt.Sprintf("rules=%d,matches=%d,queues=%d", cfg.Rules, cfg.Matches, cfg.Queues), func(t *testing.T) {
			w := newBusWorkload(cfg)
			rules := map[pattern.RuleID]*pattern.Pattern{}
			seen := map[string]bool{}
			for k := range cfg.Rules {
				src := BusPattern(k, cfg.Matches)
				if seen[src] {
					t.Fatalf("rule %d repeats the pattern %s", k, src)
				}
				seen[src] = true
				p, err := pattern.Compile([]byte(src))
				if err != nil {
					t.Fatalf("rule %d: %s: %v", k, src, err)
				}
				rules[pattern.RuleID(strconv.Itoa(k))] = p
			}
			m := pattern.NewMatcher()
			if err := m.AddAll(rules); err != nil {
				t.Fatal(err)
			}
			delivered := make([]int, cfg.Queues)
			for i := range cfg.N {
				env := envelopeOf(w.event(i, time.Now().UnixNano()))
				ids, err := m.MatchAll(env)
				if err != nil {
					t.Fatal(err)
				}
				g := i % w.groups
				var want, got []int
				for j := range cfg.Matches {
					want = append(want, g*cfg.Matches+j)
				}
				queues := map[int]bool{}
				for _, id := range ids {
					k, _ := strconv.Atoi(string(id))
					got = append(got, k)
					queues[k%cfg.Queues] = true
					delivered[k%cfg.Queues]++
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("event %d (source %s) matched rules %v, want %v", i, w.event(i, 0).Source, got, want)
				}
				for q := range cfg.Queues {
					if w.delivers(i, q) != queues[q] {
						t.Fatalf("event %d: delivers(%d) = %v, but its rules target queues %v", i, q, w.delivers(i, q), queues)
					}
				}
			}
			if !slices.Equal(delivered, w.expect) {
				t.Errorf("queues receive %v deliveries; the consumers expect %v", delivered, w.expect)
			}
		})
	}
}

// TestBusDetail checks that details have exactly the configured size, are
// JSON objects, and give back their index and put time.
func TestBusDetail(t *testing.T) {
	for _, size := range []int{minBusDetail, 1024, 200_000} {
		w := newBusWorkload(BusConfig{N: 10_000_000, Rules: 10_000, Matches: 1, Queues: 10, Size: size})
		for _, i := range []int{0, 7, 12345, 9_999_999} {
			sent := time.Now().UnixNano()
			ev := w.event(i, sent)
			if len(ev.Detail) != size || !json.Valid(ev.Detail) {
				t.Fatalf("size %d: event %d's detail is %d bytes (valid JSON: %v)", size, i, len(ev.Detail), json.Valid(ev.Detail))
			}
			seq, at, err := parseBusDelivery(envelopeOf(ev))
			if err != nil || seq != i || at != sent {
				t.Fatalf("size %d: event %d, sent %d: parsed %d, %d, %v", size, i, sent, seq, at, err)
			}
		}
	}
	for _, bad := range []string{`{"detail":{}}`, `{"detail":{"bench-seq":x}}`, `{"detail":{"bench-seq":1,"bench-sent":}}`} {
		if _, _, err := parseBusDelivery([]byte(bad)); err == nil {
			t.Errorf("parsed %s", bad)
		}
	}
}

// TestBusDrainRejects feeds a consumer loop deliveries it must refuse: a
// duplicate, an event for another queue, and too few deliveries.
func TestBusDrainRejects(t *testing.T) {
	ctx := t.Context()
	cfg, err := BusConfig{N: 4, Rules: 2, Queues: 2}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		events []int // put straight into queue 0, which expects events 0 and 2
		want   string
	}{
		{"duplicate", []int{0, 2, 2}, "event 2 was delivered more than once"},
		{"wrong queue", []int{1}, "received event 1, which no rule it matches targets to this queue"},
		{"missing", []int{2}, "1 of 2 deliveries arrived, then none for 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := courier.Open(ctx, "mem://")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			q, err := b.CreateQueue(ctx, busQueueName(0))
			if err != nil {
				t.Fatal(err)
			}
			w := newBusWorkload(cfg)
			w.idle = 0
			for _, i := range tc.events {
				if _, err := q.Send(ctx, courier.Message{Body: envelopeOf(w.event(i, time.Now().UnixNano()))}); err != nil {
					t.Fatal(err)
				}
			}
			var settled, putDone atomic.Int64
			putDone.Store(time.Now().UnixNano())
			var lats []time.Duration
			if _, err := w.drain(ctx, 0, q, &lats, &settled, &putDone); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestBusRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  BusConfig
		want string
	}{
		{BusConfig{N: -1}, "n: -1 is out of range"},
		{BusConfig{Rules: 10_001}, "rules: 10001 is out of range; accepted is 1 to 10000"},
		{BusConfig{Queues: 101}, "queues: 101 is out of range"},
		{BusConfig{Rules: 5}, "queues: 10 is more than rules (5)"},
		{BusConfig{Matches: 11}, "matches: 11 is more than queues (10)"},
		{BusConfig{Size: 100}, "size: 100 is out of range; accepted is 256 to 200000"},
		{BusConfig{Producers: 2000}, "producers: 2000 is out of range"},
		{BusConfig{Batch: 1001}, "batch: 1001 is out of range; accepted is 1 to 1000"},
		{BusConfig{Timeout: -time.Second}, "timeout: -1s is negative"},
	} {
		if _, err := Bus(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %+v: got %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

// BenchmarkBus runs the bus workload with b.N events: 64 producers putting
// batches of 10 on a bus with 1,000 rules that deliver to 10 queues, drained
// concurrently. 1 KiB details.
//
//	go test ./bench -run '^$' -bench Bus -benchtime 200000x
func BenchmarkBus(b *testing.B) {
	cfg, err := BusConfig{N: b.N, Dir: b.TempDir()}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(cfg.Size))
	b.ReportAllocs()
	b.ResetTimer()
	r, err := runBus(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.PutEventsPerSec, "put_events/s")
	b.ReportMetric(r.E2EEventsPerSec, "e2e_events/s")
	b.ReportMetric(r.E2EP99us, "e2e_p99_us")
	b.ReportMetric(r.QueuePublishMsgsPerSec, "queue_send_msgs/s")
}
