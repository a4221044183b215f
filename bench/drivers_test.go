package bench

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

// TestDriverPeersSmallRun runs the queue workload on each existing engine
// and on courier over its driver, small, and checks that every message
// arrives once on both. It skips an engine that is not reachable unless
// COURIER_REQUIRE_SERVICES is set (CI), where it fails.
func TestDriverPeersSmallRun(t *testing.T) {
	for _, c := range []struct {
		addr  string
		peers []string
	}{
		{"127.0.0.1:5672", []string{PeerRabbitMQ, PeerCourierRabbitMQ}},
		{"127.0.0.1:6379", []string{PeerRedis, PeerCourierRedis}},
		{"", []string{PeerJetStream, PeerNATSDriver}}, // in-process nats-server
	} {
		t.Run(c.peers[0], func(t *testing.T) {
			if c.addr != "" {
				conn, err := net.DialTimeout("tcp", c.addr, 2*time.Second)
				if err != nil {
					if os.Getenv("COURIER_REQUIRE_SERVICES") == "" {
						t.Skipf("%s unreachable at %s: %v", c.peers[0], c.addr, err)
					}
					t.Fatalf("%s unreachable at %s (COURIER_REQUIRE_SERVICES is set): %v", c.peers[0], c.addr, err)
				}
				conn.Close()
			}
			cfg := smallConfig(t, c.peers...)
			results, err := Queue(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.Consumed != cfg.N || r.Duplicates != 0 || r.PublishMsgsPerSec <= 0 || r.ConsumeMsgsPerSec <= 0 {
					t.Errorf("%s: consumed %d with %d duplicates (publish %v/s, consume %v/s); want %d once each",
						r.System, r.Consumed, r.Duplicates, r.PublishMsgsPerSec, r.ConsumeMsgsPerSec, cfg.N)
				}
			}
		})
	}
}
