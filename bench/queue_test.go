package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// smallConfig is a workload small enough for the test suite.
func smallConfig(t testing.TB, peers ...string) Config {
	return Config{
		N: 200, Size: 128, Producers: 4, Consumers: 2, Batch: 50,
		Rate: 2000, LatencyN: 50, Peers: peers, Dir: t.TempDir(), Timeout: time.Minute,
	}
}

func TestQueueSmallRun(t *testing.T) {
	cfg := smallConfig(t, append([]string{PeerCourierMem}, DefaultPeers...)...)
	var progress progressLog
	cfg.Progress = progress.record
	results, err := Queue(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(cfg.Peers) {
		t.Fatalf("got %d results for %d peers", len(results), len(cfg.Peers))
	}
	for i, r := range results {
		if r.System != cfg.Peers[i] {
			t.Errorf("result %d is %q, want %q", i, r.System, cfg.Peers[i])
		}
		if r.Consumed != cfg.N || r.Duplicates != 0 {
			t.Errorf("%s: consumed %d distinct with %d duplicates, want %d and 0", r.System, r.Consumed, r.Duplicates, cfg.N)
		}
		if r.PublishMsgsPerSec <= 0 || r.ConsumeMsgsPerSec <= 0 {
			t.Errorf("%s: rates publish %v consume %v, want positive", r.System, r.PublishMsgsPerSec, r.ConsumeMsgsPerSec)
		}
		if r.P50us <= 0 || r.P99us < r.P50us || r.MaxUs < r.P99us {
			t.Errorf("%s: latencies p50 %v p99 %v max %v are not ordered and positive", r.System, r.P50us, r.P99us, r.MaxUs)
		}
		wantFsync := r.System == PeerCourier || r.System == PeerJetStreamSync
		if r.Fsync != wantFsync {
			t.Errorf("%s: fsync %v, want %v", r.System, r.Fsync, wantFsync)
		}
		for _, phase := range []string{"publish", "consume", "latency"} {
			p, _ := progress.last(r.System + "/" + phase)
			if p.Total == 0 || p.Done != p.Total {
				t.Errorf("%s: last %s progress %+v, want done = total", r.System, phase, p)
			}
		}
		t.Logf("%s: publish %.0f/s consume %.0f/s p50 %.0fµs p99 %.0fµs", r.System, r.PublishMsgsPerSec, r.ConsumeMsgsPerSec, r.P50us, r.P99us)
	}

	var table bytes.Buffer
	if err := WriteTable(&table, results); err != nil {
		t.Fatal(err)
	}
	for _, p := range cfg.Peers {
		if !strings.Contains(table.String(), p) {
			t.Errorf("table does not name %s:\n%s", p, table.String())
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != len(results) {
		t.Fatalf("JSON has %d lines for %d results", len(lines), len(results))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"system", "publish_msgs_per_sec", "consume_msgs_per_sec", "p50_us", "p99_us", "fsync"} {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON line %s lacks %q", l, k)
			}
		}
	}
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("temporary directories left in %s: %v", cfg.Dir, entries)
	}
}

func TestQueueRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"size", Config{Size: 4}, "size: 4 is out of range"},
		{"producers", Config{Producers: -1}, "producers: -1 is out of range"},
		{"unknown peer", Config{Peers: []string{"kafka"}}, `unknown peer "kafka"`},
		{"twice", Config{Peers: []string{"courier", "courier"}}, `"courier" is listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Queue(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestQueueStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := smallConfig(t, PeerJetStream)
	cfg.N = 1_000_000
	cfg.Progress = func(p Progress) {
		if p.Done > 0 {
			cancel()
		}
	}
	_, err := Queue(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("got %v, want a cancellation error", err)
	}
}

func TestParsePeers(t *testing.T) {
	got, err := ParsePeers(" courier, jetstream-sync ")
	if err != nil || strings.Join(got, ",") != "courier,jetstream-sync" {
		t.Fatalf("got %v, %v", got, err)
	}
	got, err = ParsePeers("")
	if err != nil || strings.Join(got, ",") != strings.Join(DefaultPeers, ",") {
		t.Fatalf("empty: got %v, %v", got, err)
	}
	if _, err := ParsePeers("courier,,jetstream"); err == nil {
		t.Fatal("an empty name was accepted")
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0.001, 1}} {
		if got := percentile(s, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("empty samples")
	}
}
