package bench

import (
	"context"
	"strings"
	"testing"
)

// TestStreamSmall runs the stream workload with small counts against
// courier and JetStream and checks that every phase measured something
// and the report names the ratios.
func TestStreamSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	res, err := Stream(context.Background(), StreamConfig{N: 300, ReplayN: 2000, Producers: 8, Rate: 5000, LatencyN: 200, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].System != PeerCourier || res[1].System != PeerJetStream {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		if r.AppendPerSec <= 0 || r.ReplayPerSec <= 0 || r.E2EP50us <= 0 || r.E2EP99us < r.E2EP50us {
			t.Fatalf("%s measured %+v", r.System, r)
		}
	}
	var b strings.Builder
	if err := WriteStreamTable(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "courier/jetstream append") || !strings.Contains(b.String(), "courier/jetstream replay") {
		t.Fatalf("table:\n%s", b.String())
	}
}

func TestStreamConfigRejectsBadValues(t *testing.T) {
	for _, c := range []StreamConfig{{N: -1}, {Size: 8}, {Partitions: 65}, {Peers: []string{PeerRabbitMQ}}, {Peers: []string{PeerCourier, PeerCourier}}} {
		if _, err := Stream(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
