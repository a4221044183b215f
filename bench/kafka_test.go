package bench

import (
	"context"
	"testing"
	"time"
)

// TestKafkaStreamPeersSmallRun runs the stream workload, small, on
// franz-go and on courier over the kafka:// driver (each against its own
// in-process kfake cluster) and checks that every record arrives.
// `courier bench stream --peers kafka,courier-kafka` is the measurement.
func TestKafkaStreamPeersSmallRun(t *testing.T) {
	cfg := StreamConfig{N: 200, ReplayN: 400, Size: 128, Producers: 4, Partitions: 4, Rate: 2000, LatencyN: 50,
		Peers: []string{PeerKafka, PeerCourierKafka}, Dir: t.TempDir(), Timeout: time.Minute}
	results, err := Stream(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.AppendPerSec <= 0 || r.ReplayPerSec <= 0 {
			t.Errorf("%s: append %v/s, replay %v/s", r.System, r.AppendPerSec, r.ReplayPerSec)
		}
	}
}
