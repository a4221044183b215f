package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// smallTopicConfig is a fan-out workload small enough for the test suite.
func smallTopicConfig(t testing.TB, peers ...string) TopicConfig {
	return TopicConfig{
		N: 300, Size: 128, Producers: 8, Subscribers: 3, Batch: 50,
		Rate: 5000, LatencyN: 50, Peers: peers, Dir: t.TempDir(), Timeout: time.Minute,
	}
}

// TestTopicSmallRun runs the fan-out workload with small counts against
// courier and both JetStream modes and checks what every phase measured,
// the progress reports, the table and the JSON lines.
func TestTopicSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	cfg := smallTopicConfig(t, PeerCourier, PeerJetStream, PeerJetStreamSync)
	var progress progressLog
	cfg.Progress = progress.record
	res, err := Topic(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(cfg.Peers) {
		t.Fatalf("got %d results for %d peers", len(res), len(cfg.Peers))
	}
	for i, r := range res {
		if r.System != cfg.Peers[i] {
			t.Errorf("result %d is %q, want %q", i, r.System, cfg.Peers[i])
		}
		if r.PublishMsgsPerSec <= 0 || r.DeliveriesPerSec <= 0 {
			t.Errorf("%s: publish %v/s, deliveries %v/s; want positive", r.System, r.PublishMsgsPerSec, r.DeliveriesPerSec)
		}
		if (r.QueuePublishMsgsPerSec > 0) != (r.System == PeerCourier) {
			t.Errorf("%s: single-queue reference %v/s; want one for courier only", r.System, r.QueuePublishMsgsPerSec)
		}
		if r.P50us <= 0 || r.P99us < r.P50us || r.MaxUs < r.P99us {
			t.Errorf("%s: latencies p50 %v p99 %v max %v are not ordered and positive", r.System, r.P50us, r.P99us, r.MaxUs)
		}
		if want := r.System != PeerJetStream; r.Fsync != want {
			t.Errorf("%s: fsync %v, want %v", r.System, r.Fsync, want)
		}
		if r.Producers != 8 || r.Subscribers != 3 || r.N != 300 {
			t.Errorf("%s: workload %+v is not the configured one", r.System, r)
		}
	}
	for key, total := range map[string]int{
		"courier-queue/publish": 300, "courier/publish": 300, "courier/deliver": 900, "courier/latency": 50,
		"jetstream/publish": 300, "jetstream/deliver": 900, "jetstream/latency": 50,
	} {
		if p, _ := progress.last(key); p.Total != total || p.Done != total {
			t.Errorf("last %s progress %+v, want %d of %d", key, p, total, total)
		}
	}

	var table bytes.Buffer
	if err := WriteTopicTable(&table, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"courier (1 queue, no topic)", "jetstream-sync", TopicFilter, "jetstream runs in its default mode",
		"courier topic/single queue    publish", "target ≥0.5×",
		"courier topic/jetstream       deliver", "target ≥1.5×",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	ratios := TopicRatios(res)
	if len(ratios) != 5 || ratios[0].Reference != ReferenceSingleQueue || ratios[1].Target != TargetTopicDeliveryRatio {
		t.Errorf("ratios %+v; want publish to the single queue, then deliver and publish to each JetStream mode", ratios)
	}

	var js bytes.Buffer
	if err := WriteTopicJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != len(res) {
		t.Fatalf("JSON has %d lines for %d results", len(lines), len(res))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"system", "fsync", "publish_msgs_per_sec", "deliveries_per_sec", "p50_us", "p99_us", "producers", "subscribers"} {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON line %s lacks %q", l, k)
			}
		}
	}
	if entries, err := os.ReadDir(cfg.Dir); err != nil || len(entries) != 0 {
		t.Errorf("temporary directories left in %s: %v (%v)", cfg.Dir, entries, err)
	}
}

func TestTopicRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  TopicConfig
		want string
	}{
		{TopicConfig{N: -1}, "n: -1 is out of range"},
		{TopicConfig{Subscribers: 101}, "subscribers: 101 is out of range"},
		{TopicConfig{Producers: 2000}, "producers: 2000 is out of range"},
		{TopicConfig{Rate: -5}, "rate: -5 is out of range"},
		{TopicConfig{Timeout: -time.Second}, "timeout: -1s is negative"},
		{TopicConfig{Peers: []string{PeerCourierMem}}, `"courier-mem": the topic benchmark runs`},
		{TopicConfig{Peers: []string{PeerJetStream, PeerJetStream}}, `"jetstream" is listed twice`},
	} {
		if _, err := Topic(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %+v: got %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

// replay is a subscription that delivers the message indexes of bodies,
// then nothing.
type replay struct{ indexes []int }

func (r *replay) publish(context.Context, []byte) error { panic("replay does not publish") }

func (r *replay) consume(_ context.Context, max int, seen func([]byte)) (int, error) {
	n := min(max, len(r.indexes))
	for _, i := range r.indexes[:n] {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, uint64(i))
		seen(b)
	}
	r.indexes = r.indexes[n:]
	return n, nil
}

// TestDeliverPhaseChecksEverySubscription checks that the deliver phase
// fails when one subscription receives a message twice, naming it.
func TestDeliverPhaseChecksEverySubscription(t *testing.T) {
	cfg := Config{N: 3, Size: 8, Consumers: 1, Batch: 10}
	if _, err := deliverPhase(context.Background(), cfg, "fake", []target{&replay{[]int{2, 0, 1}}, &replay{[]int{0, 1, 2}}}); err != nil {
		t.Fatalf("every subscription got every message once: %v", err)
	}
	_, err := deliverPhase(context.Background(), cfg, "fake", []target{&replay{[]int{0, 1, 2}}, &replay{[]int{0, 0, 1, 2}}})
	if err == nil || !strings.Contains(err.Error(), "subscription 1: 1 messages were delivered more than once") {
		t.Fatalf("got %v, want subscription 1's duplicate reported", err)
	}
}

// BenchmarkTopic runs the publish and deliver phases of the fan-out
// workload with b.N messages against courier and JetStream: 64 producers
// publishing to 10 durable subscriptions that all match, then all
// subscriptions drained at once. 1 KiB bodies.
//
//	go test ./bench -run '^$' -bench Topic -benchtime 20000x
func BenchmarkTopic(b *testing.B) {
	for _, peer := range []string{PeerCourier, PeerJetStream} {
		b.Run(peer, func(b *testing.B) {
			cfg, err := TopicConfig{N: b.N, LatencyN: -1, Peers: []string{peer}, Dir: b.TempDir()}.withDefaults()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(cfg.Size))
			b.ReportAllocs()
			b.ResetTimer()
			r, err := runTopicPeer(context.Background(), cfg, peer)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.PublishMsgsPerSec, "publish_msgs/s")
			b.ReportMetric(r.DeliveriesPerSec, "deliveries/s")
			if r.QueuePublishMsgsPerSec > 0 {
				b.ReportMetric(r.QueuePublishMsgsPerSec, "queue_send_msgs/s")
			}
		})
	}
}
