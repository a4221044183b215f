// Package metrics exports the state of a courier Broker and of resilience
// policies as Prometheus metrics. Register a Collector with a registry and
// serve it (promhttp); `courier serve` does so at GET /metrics.
//
// The collector reads the broker when it is scraped (Info calls, no
// background work), so the values are as fresh as the scrape. Names follow
// the Prometheus conventions: a courier_ prefix, the unit in the name,
// _total on counters. Counters (sent, received, published, ...) count since
// the backend started; the embedded engine counts everything, other
// backends what they report.
//
//	courier_queue_messages{queue,state}                   gauge: visible, in_flight, delayed
//	courier_queue_oldest_message_age_seconds{queue}       gauge
//	courier_queue_messages_sent_total{queue}              counter (also received, acked, nacked, dead_lettered)
//	courier_queue_receive_latency_seconds{queue}          histogram: storage to delivery
//	courier_topic_messages_published_total{topic}         counter
//	courier_topic_subscriptions{topic}, courier_topic_tails{topic}
//	courier_subscription_messages_delivered_total{topic,subscription}   counter (also filtered_out, dead_lettered)
//	courier_subscription_push_failures_total{topic,subscription}        counter
//	courier_subscription_backlog_messages{topic,subscription}           gauge
//	courier_stream_partition_end_offset{stream,partition}               gauge (also first_offset, records, bytes)
//	courier_stream_group_lag_records{stream,group,partition}            gauge
//	courier_stream_group_members{stream,group}                          gauge
//	courier_bus_events_accepted_total{bus}                              counter (also matched, unmatched)
//	courier_bus_rule_matched_total{bus,rule}                            counter
//	courier_bus_target_deliveries_total{bus,rule,target,outcome}        counter: delivered, retried, failed, dead_lettered, overflowed
//	courier_bus_target_backlog_messages{bus,rule,target}                gauge
//	courier_storage_fsync_duration_seconds                              histogram
//	courier_storage_written_bytes_total, courier_storage_written_records_total
//	courier_storage_segments, courier_storage_segment_bytes, courier_storage_disk_free_bytes
//	courier_resilience_breaker_state{policy}                            gauge: 0 closed, 1 open, 2 half-open
//	courier_resilience_retry_budget_available{policy}                   gauge
package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/resilience"
)

// scrapeTimeout bounds the reads of one scrape.
const scrapeTimeout = 10 * time.Second

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	queueMessages     = desc("courier_queue_messages", "Messages in a queue by state: visible (ready), in_flight (received, not settled), delayed.", "queue", "state")
	queueOldestAge    = desc("courier_queue_oldest_message_age_seconds", "Age of the oldest message of a queue, in any state; 0 when empty.", "queue")
	queueSent         = desc("courier_queue_messages_sent_total", "Messages stored in a queue (sends, fan-out, moves in).", "queue")
	queueReceived     = desc("courier_queue_messages_received_total", "Deliveries made from a queue.", "queue")
	queueAcked        = desc("courier_queue_messages_acked_total", "Deliveries of a queue acknowledged.", "queue")
	queueNacked       = desc("courier_queue_messages_nacked_total", "Deliveries of a queue made visible again by a nack.", "queue")
	queueDeadLettered = desc("courier_queue_messages_dead_lettered_total", "Messages moved from a queue to its dead-letter queue.", "queue")
	queueLatency      = desc("courier_queue_receive_latency_seconds", "Time from a message's storage to each of its deliveries.", "queue")

	topicPublished     = desc("courier_topic_messages_published_total", "Messages published to a topic (duplicates not counted).", "topic")
	topicSubscriptions = desc("courier_topic_subscriptions", "Durable, queue and HTTP subscriptions of a topic.", "topic")
	topicTails         = desc("courier_topic_tails", "Open ephemeral subscriptions (tails) of a topic.", "topic")
	subDelivered       = desc("courier_subscription_messages_delivered_total", "Messages delivered to a subscription (stored in its queue or pushed).", "topic", "subscription")
	subFilteredOut     = desc("courier_subscription_messages_filtered_out_total", "Messages a subscription's filter policy kept out.", "topic", "subscription")
	subPushFailures    = desc("courier_subscription_push_failures_total", "Failed HTTP push attempts of a subscription.", "topic", "subscription")
	subDeadLettered    = desc("courier_subscription_messages_dead_lettered_total", "Messages of a subscription moved to its dead-letter queue.", "topic", "subscription")
	subBacklog         = desc("courier_subscription_backlog_messages", "Messages waiting in a subscription's queue (visible, in flight and delayed).", "topic", "subscription")

	partitionEnd     = desc("courier_stream_partition_end_offset", "Offset of the next record to be appended to a partition.", "stream", "partition")
	partitionFirst   = desc("courier_stream_partition_first_offset", "Offset of the oldest retained record of a partition.", "stream", "partition")
	partitionRecords = desc("courier_stream_partition_records", "Records retained in a partition.", "stream", "partition")
	partitionBytes   = desc("courier_stream_partition_bytes", "Bytes retained in a partition.", "stream", "partition")
	groupLag         = desc("courier_stream_group_lag_records", "Records of a partition appended after a consumer group's committed offset.", "stream", "group", "partition")
	groupMembers     = desc("courier_stream_group_members", "Members of a consumer group.", "stream", "group")

	busAccepted     = desc("courier_bus_events_accepted_total", "Events a bus stored.", "bus")
	busMatched      = desc("courier_bus_events_matched_total", "Accepted events that matched at least one rule.", "bus")
	busUnmatched    = desc("courier_bus_events_unmatched_total", "Accepted events that matched no rule.", "bus")
	ruleMatched     = desc("courier_bus_rule_matched_total", "Events a rule matched (or emitted, for schedules).", "bus", "rule")
	targetOutcomes  = desc("courier_bus_target_deliveries_total", "Deliveries of a rule's target by outcome: delivered, retried, failed, dead_lettered, overflowed.", "bus", "rule", "target", "outcome")
	targetBacklog   = desc("courier_bus_target_backlog_messages", "Deliveries waiting for a rule's target.", "bus", "rule", "target")
	storageSyncs    = desc("courier_storage_fsync_duration_seconds", "Duration of each fsync of the log.")
	storageBytes    = desc("courier_storage_written_bytes_total", "Bytes appended to the log.")
	storageRecords  = desc("courier_storage_written_records_total", "Records appended to the log.")
	storageSegments = desc("courier_storage_segments", "Log segment files.")
	storageSegBytes = desc("courier_storage_segment_bytes", "Size of the log's segment files.")
	storageFree     = desc("courier_storage_disk_free_bytes", "Space left on the log's file system.")

	breakerState    = desc("courier_resilience_breaker_state", "State of a policy's circuit breaker: 0 closed, 1 open, 2 half-open.", "policy")
	budgetAvailable = desc("courier_resilience_retry_budget_available", "Retries a policy's retry budget allows now.", "policy")
)

// Collector is a prometheus.Collector of a Broker's queues, topics,
// streams, buses and storage.
type Collector struct {
	b *courier.Broker
}

// NewCollector returns the collector of b.
func NewCollector(b *courier.Broker) *Collector { return &Collector{b: b} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		queueMessages, queueOldestAge, queueSent, queueReceived, queueAcked, queueNacked, queueDeadLettered, queueLatency,
		topicPublished, topicSubscriptions, topicTails, subDelivered, subFilteredOut, subPushFailures, subDeadLettered, subBacklog,
		partitionEnd, partitionFirst, partitionRecords, partitionBytes, groupLag, groupMembers,
		busAccepted, busMatched, busUnmatched, ruleMatched, targetOutcomes, targetBacklog,
		storageSyncs, storageBytes, storageRecords, storageSegments, storageSegBytes, storageFree,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads the broker now.
// Resources that disappear during the scrape are left out.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	caps := c.b.Capabilities()
	if caps.Queues {
		c.collectQueues(ctx, ch)
	}
	if caps.Topics {
		c.collectTopics(ctx, ch)
	}
	if caps.Streams {
		c.collectStreams(ctx, ch)
	}
	if caps.Buses {
		c.collectBuses(ctx, ch)
	}
	if st, ok := c.b.StorageStats(); ok {
		ch <- histogram(storageSyncs, st.Syncs)
		ch <- prometheus.MustNewConstMetric(storageBytes, prometheus.CounterValue, float64(st.BytesWritten))
		ch <- prometheus.MustNewConstMetric(storageRecords, prometheus.CounterValue, float64(st.Records))
		ch <- prometheus.MustNewConstMetric(storageSegments, prometheus.GaugeValue, float64(st.Segments))
		ch <- prometheus.MustNewConstMetric(storageSegBytes, prometheus.GaugeValue, float64(st.SegmentBytes))
		if st.DiskFreeBytes >= 0 {
			ch <- prometheus.MustNewConstMetric(storageFree, prometheus.GaugeValue, float64(st.DiskFreeBytes))
		}
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v int64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

// histogram converts a driver histogram (per-bucket counts) to a
// Prometheus one (cumulative counts).
func histogram(d *prometheus.Desc, h driver.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, le := range h.Bounds {
		cum += h.Counts[i]
		buckets[le] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count(), h.Sum, buckets, labels...)
}

func (c *Collector) collectQueues(ctx context.Context, ch chan<- prometheus.Metric) {
	names, err := c.b.ListQueues(ctx)
	if err != nil {
		return
	}
	for _, name := range names {
		info, err := c.b.Queue(name).Info(ctx)
		if err != nil {
			continue
		}
		st := info.Stats
		ch <- gauge(queueMessages, float64(st.Visible), name, "visible")
		ch <- gauge(queueMessages, float64(st.InFlight), name, "in_flight")
		ch <- gauge(queueMessages, float64(st.Delayed), name, "delayed")
		ch <- gauge(queueOldestAge, st.OldestAge.Seconds(), name)
		if k := info.Counters; k != nil {
			ch <- counter(queueSent, k.Sent, name)
			ch <- counter(queueReceived, k.Received, name)
			ch <- counter(queueAcked, k.Acked, name)
			ch <- counter(queueNacked, k.Nacked, name)
			ch <- counter(queueDeadLettered, k.DeadLettered, name)
			if len(k.ReceiveLatency.Counts) > 0 {
				ch <- histogram(queueLatency, k.ReceiveLatency, name)
			}
		}
	}
}

func (c *Collector) collectTopics(ctx context.Context, ch chan<- prometheus.Metric) {
	names, err := c.b.ListTopics(ctx)
	if err != nil {
		return
	}
	for _, name := range names {
		t := c.b.Topic(name)
		info, err := t.Info(ctx)
		if err != nil {
			continue
		}
		ch <- counter(topicPublished, info.Stats.Published, name)
		ch <- gauge(topicSubscriptions, float64(info.Stats.Subscriptions), name)
		ch <- gauge(topicTails, float64(info.Stats.Tails), name)
		subs, err := t.Subscriptions(ctx)
		if err != nil {
			continue
		}
		for _, s := range subs {
			st := s.Stats
			ch <- counter(subDelivered, st.Delivered, name, s.Name)
			ch <- counter(subFilteredOut, st.FilteredOut, name, s.Name)
			ch <- counter(subPushFailures, st.PushFailures, name, s.Name)
			ch <- counter(subDeadLettered, st.DeadLettered, name, s.Name)
			ch <- gauge(subBacklog, float64(st.Backlog.Visible+st.Backlog.InFlight+st.Backlog.Delayed), name, s.Name)
		}
	}
}

func (c *Collector) collectStreams(ctx context.Context, ch chan<- prometheus.Metric) {
	names, err := c.b.ListStreams(ctx)
	if err != nil {
		return
	}
	for _, name := range names {
		info, err := c.b.Stream(name).Info(ctx)
		if err != nil {
			continue
		}
		for _, p := range info.Partitions {
			part := strconv.Itoa(p.Partition)
			ch <- gauge(partitionEnd, float64(p.End), name, part)
			ch <- gauge(partitionFirst, float64(p.First), name, part)
			ch <- gauge(partitionRecords, float64(p.Records), name, part)
			ch <- gauge(partitionBytes, float64(p.Bytes), name, part)
		}
		for _, g := range info.Groups {
			ch <- gauge(groupMembers, float64(len(g.Members)), name, g.Name)
			for p, lag := range g.Lag {
				ch <- gauge(groupLag, float64(lag), name, g.Name, strconv.Itoa(p))
			}
		}
	}
}

func (c *Collector) collectBuses(ctx context.Context, ch chan<- prometheus.Metric) {
	names, err := c.b.ListBuses(ctx)
	if err != nil {
		return
	}
	for _, name := range names {
		bus := c.b.Bus(name)
		info, err := bus.Info(ctx)
		if err != nil {
			continue
		}
		ch <- counter(busAccepted, info.Stats.Accepted, name)
		ch <- counter(busMatched, info.Stats.Matched, name)
		ch <- counter(busUnmatched, info.Stats.Unmatched, name)
		rules, err := bus.Rules(ctx)
		if err != nil {
			continue
		}
		for _, r := range rules {
			ch <- counter(ruleMatched, r.Stats.Matched, name, r.Name)
			for _, t := range r.Stats.Targets {
				for _, o := range []struct {
					outcome string
					n       int64
				}{{"delivered", t.Delivered}, {"retried", t.Retried}, {"failed", t.Failed}, {"dead_lettered", t.DeadLettered}, {"overflowed", t.Overflowed}} {
					ch <- counter(targetOutcomes, o.n, name, r.Name, t.ID, o.outcome)
				}
				b := t.Backlog
				ch <- gauge(targetBacklog, float64(b.Visible+b.InFlight+b.Delayed), name, r.Name, t.ID)
			}
		}
	}
}

// ResilienceCollector is a prometheus.Collector of resilience policies:
// their breakers' states and their retry budgets.
type ResilienceCollector struct {
	policies []*resilience.Policy
}

// NewResilienceCollector returns the collector of policies, labelled by
// their names.
func NewResilienceCollector(policies ...*resilience.Policy) *ResilienceCollector {
	return &ResilienceCollector{policies: policies}
}

// Describe implements prometheus.Collector.
func (c *ResilienceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- breakerState
	ch <- budgetAvailable
}

// Collect implements prometheus.Collector.
func (c *ResilienceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.policies {
		ch <- gauge(breakerState, float64(p.BreakerState()), p.Name())
		if n, ok := p.BudgetAvailable(); ok {
			ch <- gauge(budgetAvailable, float64(n), p.Name())
		}
	}
}
