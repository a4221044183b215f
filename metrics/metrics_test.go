package metrics_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/metrics"
	"github.com/courier-io/courier/resilience"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gather returns the samples of reg by metric name and label values in
// the order of the label names ("courier_queue_messages{orders,visible}":
// queue, state).
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.Metric{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var vals []string
			for _, l := range m.GetLabel() {
				vals = append(vals, l.GetValue())
			}
			out[mf.GetName()+"{"+strings.Join(vals, ",")+"}"] = m
		}
	}
	return out
}

func value(t *testing.T, got map[string]*dto.Metric, key string) float64 {
	t.Helper()
	m, ok := got[key]
	if !ok {
		t.Fatalf("no sample %s", key)
	}
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	t.Fatalf("%s has no value", key)
	return 0
}

// TestCollector reads the metrics of a file:// broker after some traffic
// on every kind of resource.
func TestCollector(t *testing.T) {
	ctx := t.Context()
	b, err := courier.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.CreateQueue(ctx, "orders-dlq"); err != nil {
		t.Fatal(err)
	}
	q, err := b.CreateQueue(ctx, "orders", courier.DeadLetter("orders-dlq", 1))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := q.Send(ctx, courier.Message{Body: []byte("o")}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := q.Receive(ctx, courier.Max(2))
	if err != nil || len(ds) != 2 {
		t.Fatalf("receive: %v, %v", ds, err)
	}
	if err := ds[0].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ds[1].Nack(ctx, 0); err != nil {
		t.Fatal(err)
	}
	// The nacked message was received once: the next receive moves it to
	// the dead-letter queue.
	if _, err := q.Receive(ctx, courier.Max(10)); err != nil {
		t.Fatal(err)
	}
	topic, err := b.CreateTopic(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topic.SubscribeDurable(ctx, "red", courier.Filter(`{"color": ["red"]}`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"red", "blue"} {
		if _, err := topic.Publish(ctx, courier.Message{Body: []byte("e"), Headers: map[string]string{"color": c}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.CreateStream(ctx, "clicks", courier.Partitions(2))
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := st.Append(ctx, courier.Record{Key: []byte("k"), Value: []byte("c")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Group("readers").Join(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	bus := b.Bus(courier.DefaultBus)
	if _, err := b.CreateQueue(ctx, "audit"); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.PutRule(ctx, "all", courier.Rule{Pattern: json.RawMessage(`{"source": ["shop"]}`),
		Targets: []courier.Target{{ID: "q", Kind: courier.TargetQueue, Queue: "audit"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.PutEvent(ctx, courier.Event{Source: "shop", DetailType: "order", Detail: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}

	budget, err := resilience.NewBudget(0.1, 5, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	policy, err := resilience.New(resilience.WithName("payments"), resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 3}), resilience.WithBudget(budget))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(b), metrics.NewResilienceCollector(policy))
	got := gather(t, reg)

	for key, want := range map[string]float64{
		"courier_queue_messages{orders,visible}":                       0,
		"courier_queue_messages{orders,in_flight}":                     1,
		"courier_queue_messages_sent_total{orders}":                    3,
		"courier_queue_messages_received_total{orders}":                3,
		"courier_queue_messages_acked_total{orders}":                   1,
		"courier_queue_messages_nacked_total{orders}":                  1,
		"courier_queue_messages_dead_lettered_total{orders}":           1,
		"courier_queue_messages{orders-dlq,visible}":                   1,
		"courier_queue_receive_latency_seconds{orders}":                3,
		"courier_topic_messages_published_total{events}":               2,
		"courier_subscription_messages_delivered_total{red,events}":    1,
		"courier_subscription_messages_filtered_out_total{red,events}": 1,
		"courier_subscription_backlog_messages{red,events}":            1,
		"courier_stream_group_members{readers,clicks}":                 1,
		"courier_bus_events_accepted_total{default}":                   1,
		"courier_bus_rule_matched_total{default,all}":                  1,
		"courier_resilience_breaker_state{payments}":                   0,
	} {
		if v := value(t, got, key); v != want {
			t.Errorf("%s = %v, want %v", key, v, want)
		}
	}
	var end float64
	for _, p := range []string{"0", "1"} {
		end += value(t, got, "courier_stream_partition_end_offset{"+p+",clicks}")
	}
	if end != 4 {
		t.Errorf("the partitions' ends sum to %v, want 4", end)
	}
	if value(t, got, "courier_storage_fsync_duration_seconds{}") == 0 || value(t, got, "courier_storage_written_bytes_total{}") == 0 {
		t.Error("no storage activity reported")
	}
	if v := value(t, got, "courier_storage_disk_free_bytes{}"); v <= 0 {
		t.Errorf("disk free %v", v)
	}
	if v := value(t, got, "courier_resilience_retry_budget_available{payments}"); v <= 0 {
		t.Errorf("retry budget available %v", v)
	}
}

// TestCollectorMem checks that a backend without local storage reports no
// storage metrics, and that an empty broker gathers cleanly.
func TestCollectorMem(t *testing.T) {
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(b))
	for key := range gather(t, reg) {
		if strings.HasPrefix(key, "courier_storage_") {
			t.Errorf("mem:// reported %s", key)
		}
	}
}
