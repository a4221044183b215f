package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/conformance"
)

// TestConformance runs the suite against an in-process three-broker kfake
// cluster that persists to disk; Restart restarts the cluster over its
// data, so the persistence cases test what Kafka stored.
func TestConformance(t *testing.T) {
	cl := startCluster(t, 3)
	urls := map[*courier.Broker]string{}
	conformance.Run(t, func(t *testing.T) *courier.Broker {
		u := withOption(cl.url(), "prefix="+newPrefix())
		b := openBroker(t, u)
		urls[b] = u
		return b
	}, conformance.Features{
		Restart: func(t *testing.T, b *courier.Broker) *courier.Broker {
			u := urls[b]
			b.Close()
			cl.restart()
			nb := openBroker(t, u)
			urls[nb] = u
			return nb
		},
	})
}

// TestConformanceReal runs the suite against $COURIER_KAFKA_URL, each
// case under its own prefix, and deletes what each case created.
func TestConformanceReal(t *testing.T) {
	raw := realURL(t)
	conformance.Run(t, func(t *testing.T) *courier.Broker {
		prefix := newPrefix()
		b := openBroker(t, withOption(raw, "prefix="+prefix))
		t.Cleanup(func() { cleanupPrefix(t, raw, prefix) })
		return b
	}, conformance.Features{})
}

// cleanupPrefix deletes the topics and groups under prefix.
func cleanupPrefix(t testing.TB, raw, prefix string) {
	t.Helper()
	b := openBroker(t, raw)
	_ = b
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := mustParse(t, raw)
	cl, err := kgo.NewClient(kgo.SeedBrokers(hosts(u)...))
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if groups, err := adm.ListGroups(ctx); err == nil {
		var ids []string
		for id := range groups {
			if len(id) >= len(prefix) && id[:len(prefix)] == prefix {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			adm.DeleteGroups(ctx, ids...)
		}
	}
	if topics, err := adm.ListTopics(ctx); err == nil {
		var names []string
		for _, n := range topics.Names() {
			if len(n) >= len(prefix) && n[:len(prefix)] == prefix {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			adm.DeleteTopics(ctx, names...)
		}
	}
}
