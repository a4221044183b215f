package pbconv

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
)

// The tests convert driver values to protobuf and back, as the server
// encodes and the client decodes, and check that nothing is lost.

var t0 = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s round trip:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestQueueRoundTrip(t *testing.T) {
	info := driver.QueueInfo{
		Name: "orders",
		Attributes: driver.QueueAttributes{VisibilityTimeout: time.Minute, RetentionPeriod: time.Hour, DeliveryDelay: time.Second,
			ReceiveWait: 2 * time.Second, MaxMessageSize: 2048, MaxReceives: 3, DeadLetterQueue: "dlq", FIFO: true, ContentBasedDedup: true},
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second),
		Stats: driver.QueueStats{Visible: 1, InFlight: 2, Delayed: 3, OldestAge: 4 * time.Second},
	}
	same(t, "QueueInfo", QueueInfo(QueueInfoPB(info)), info)

	var applied driver.QueueAttributes
	if err := ApplyQueueAttributes(QueueAttributesPB(info.Attributes), &applied); err != nil {
		t.Fatal(err)
	}
	same(t, "QueueAttributes", applied, info.Attributes)

	d := driver.Delivery{ID: "m1", Body: []byte("x"), Headers: map[string]string{"k": "v"}, Receipt: "r", ReceiveCount: 2,
		SentAt: t0, FirstReceivedAt: t0.Add(time.Second), Group: "g", DedupID: "d", Sequence: 7, SourceQueue: "src"}
	same(t, "Delivery", Delivery(DeliveryPB(&d)), d)
	empty := driver.Delivery{ID: "m2", Body: []byte{}}
	same(t, "empty Delivery", Delivery(DeliveryPB(&empty)), empty)
}

func TestTopicRoundTrip(t *testing.T) {
	attrs := driver.DefaultQueueAttributes()
	info := driver.SubscriptionInfo{
		Topic: "t", Name: "s",
		Subscription: driver.Subscription{Kind: driver.KindHTTP, Endpoint: "http://h/x", FilterPolicy: `{"a":["b"]}`,
			FilterScope: driver.ScopeBody, Raw: true, Attributes: &attrs,
			Push: driver.PushPolicy{MinDelay: time.Second, MaxDelay: time.Minute, MaxAttempts: 5, MaxPerSecond: 10, Timeout: 3 * time.Second, Concurrency: 2, DeadLetterQueue: "dlq"}},
		Status: driver.StatusPendingConfirmation, CreatedAt: t0, UpdatedAt: t0,
		Stats: driver.SubscriptionStats{Delivered: 1, FilteredOut: 2, PushFailures: 3, DeadLettered: 4, Backlog: driver.QueueStats{Visible: 5}},
	}
	got, err := SubscriptionInfo(SubscriptionInfoPB(info))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "SubscriptionInfo", got, info)
	sub, err := Subscription(SubscriptionPB(info.Subscription))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Subscription", sub, info.Subscription)

	topic := driver.TopicInfo{Name: "t", Attributes: driver.TopicAttributes{FIFO: true, MaxMessageSize: 1024}, CreatedAt: t0,
		Stats: driver.TopicStats{Published: 9, Subscriptions: 2, Tails: 1}}
	same(t, "TopicInfo", TopicInfo(TopicInfoPB(topic)), topic)
}

func TestStreamRoundTrip(t *testing.T) {
	info := driver.StreamInfo{
		Name:       "clicks",
		Attributes: driver.StreamAttributes{Partitions: 3, Retention: time.Hour, RetentionBytes: 1 << 20, Compact: true, DeleteRetention: time.Minute, MaxRecordSize: 4096},
		CreatedAt:  t0,
		Partitions: []driver.PartitionInfo{{Partition: 0, First: 1, End: 5, Records: 4, Bytes: 40}},
		Groups: []driver.GroupInfo{{Name: "g", Generation: 2, Committed: map[int]int64{0: 3}, Lag: map[int]int64{0: 2}, StartFrom: driver.FromLatest,
			Members: []driver.MemberInfo{{Name: "m", Partitions: []int{0}, LastSeen: t0}}}},
	}
	got, err := StreamInfo(StreamInfoPB(info))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "StreamInfo", got, info)

	recs := []driver.StreamRecord{{Partition: 1, Offset: 2, Timestamp: t0, Key: []byte("k"), Value: []byte("v"), Headers: map[string]string{"h": "1"}}}
	same(t, "StreamRecords", StreamRecords(StreamRecordsPB(recs)), recs)
	a := driver.Assignment{Generation: 4, Partitions: []int{0, 2}, Offsets: map[int]int64{0: 1, 2: 3}}
	same(t, "Assignment", Assignment(AssignmentPB(a)), a)
	for _, p := range []driver.Position{
		{Kind: driver.FromEarliest}, {Kind: driver.FromLatest}, {Kind: driver.FromOffset, Offset: 42}, {Kind: driver.FromTime, Time: t0},
	} {
		got, err := Position("from", PositionPB(p))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Position", got, p)
	}
}

func TestBusRoundTrip(t *testing.T) {
	info := driver.RuleInfo{
		Bus: "shop", Name: "orders",
		Rule: driver.Rule{Description: "d", Pattern: json.RawMessage(`{"source":["shop"]}`), State: driver.RuleEnabled, Targets: []driver.Target{
			{ID: "q", Kind: driver.TargetQueue, Queue: "audit", InputPath: "$.detail", CloudEvents: true,
				Retry: driver.RetryPolicy{MaxAttempts: 3, MaxAge: time.Hour, MinDelay: time.Second, MaxDelay: time.Minute}, DeadLetterQueue: "dlq", MaxBacklog: 10},
			{ID: "h", Kind: driver.TargetHTTP, HTTP: &driver.HTTPTarget{Endpoint: "http://h", AuthHeader: "A", AuthValue: "v", Headers: map[string]string{"x": "y"},
				MaxPerSecond: 5, Timeout: time.Second, CloudEventsMode: "binary"},
				InputTransformer: &driver.InputTransformer{InputPaths: map[string]string{"id": "$.id"}, Template: `{"id": <id>}`}},
		}},
		CreatedAt: t0, UpdatedAt: t0, NextFire: t0,
		Stats: driver.RuleStats{Matched: 3, Targets: []driver.TargetStats{{ID: "q", Delivered: 1, Retried: 2, Failed: 3, DeadLettered: 4, Overflowed: 5, Backlog: driver.QueueStats{Visible: 6}}}},
	}
	got, err := RuleInfo(RuleInfoPB(info))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "RuleInfo", got, info)
	rule, err := RuleInfo(RuleInfoPB(driver.RuleInfo{Rule: driver.Rule{Schedule: "rate(1 hour)", State: driver.RuleDisabled}, Stats: driver.RuleStats{Targets: []driver.TargetStats{}}}))
	if err != nil || rule.Targets != nil || rule.Schedule != "rate(1 hour)" {
		t.Errorf("a rule without targets: %+v, %v", rule, err)
	}

	archive := driver.ArchiveInfo{Bus: "shop", Name: "a", Archive: driver.Archive{Description: "d", Pattern: json.RawMessage(`{"a":[1]}`), Retention: time.Hour},
		CreatedAt: t0, Events: 3, Bytes: 30}
	same(t, "ArchiveInfo", ArchiveInfo(ArchiveInfoPB(archive)), archive)
	replay := driver.ReplayInfo{Name: "r", Replay: driver.Replay{Bus: "shop", Archive: "a", Start: t0, End: t0.Add(time.Hour), Rules: []string{"x"}, Description: "d"},
		State: driver.ReplayCompleted, Replayed: 4, LastEvent: t0, StartedAt: t0, EndedAt: t0, Error: ""}
	gotReplay, err := ReplayInfo(ReplayInfoPB(replay))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ReplayInfo", gotReplay, replay)
	bus := driver.BusInfo{Name: "shop", Attributes: driver.BusAttributes{Description: "d"}, CreatedAt: t0,
		Stats: driver.BusStats{Accepted: 1, Matched: 2, Unmatched: 3, Rules: 4, Archives: 5}}
	same(t, "BusInfo", BusInfo(BusInfoPB(bus)), bus)
}

func TestBatchAnswers(t *testing.T) {
	if _, err := SendResults(nil, 2); err == nil {
		t.Error("a send answer with fewer results than messages was accepted")
	}
	errs, err := SettleErrors(nil, 2)
	if err != nil || len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Errorf("SettleErrors(none) = %v, %v", errs, err)
	}
	if _, err := SettleErrors([]*pb.SettleFailure{{Index: 5}}, 2); err == nil {
		t.Error("a failure for a receipt out of range was accepted")
	}
}
