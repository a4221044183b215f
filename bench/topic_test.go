package bench

import (
	"context"
	"strings"
	"testing"
)

// TestTopicSmall runs the fan-out workload with small counts against
// courier and JetStream and checks that every phase measured something.
func TestTopicSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	res, err := Topic(context.Background(), TopicConfig{N: 300, Publishers: 8, Subscribers: 3, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].QueuePublishPerSec <= 0 {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		if r.PublishPerSec <= 0 || r.DeliveryPerSec <= 0 {
			t.Fatalf("%s measured %+v", r.System, r)
		}
	}
	var b strings.Builder
	if err := WriteTopicTable(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "single-queue send") || !strings.Contains(b.String(), "courier/jetstream deliveries") {
		t.Fatalf("table:\n%s", b.String())
	}
}

func TestTopicConfigRejectsBadValues(t *testing.T) {
	for _, c := range []TopicConfig{{N: -1}, {Subscribers: 101}, {Publishers: 2000}, {Peers: []string{"redis"}}} {
		if _, err := Topic(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
