package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/courier-io/courier/internal/gen/courier/v1"
)

func TestGRPCTopics(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) { testGRPCTopics(t, p.opts) })
	}
}

func testGRPCTopics(t *testing.T, copts []connect.ClientOption) {
	r := newRPC(t, copts)
	ctx := t.Context()
	tc := r.topics

	created := try(tc.CreateTopic(ctx, &pb.CreateTopicRequest{Name: "events"})).must(t)
	if !created.Created || created.Topic.Attributes.GetMaxMessageSize() != 1<<20 {
		t.Fatalf("CreateTopic: %v", created)
	}
	if again := try(tc.CreateTopic(ctx, &pb.CreateTopicRequest{Name: "events"})).must(t); again.Created {
		t.Error("CreateTopic of an equal topic: created = true")
	}
	_, err := tc.CreateTopic(ctx, &pb.CreateTopicRequest{Name: "events", Attributes: &pb.TopicAttributes{Fifo: ptr(true)}})
	wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	_, err = tc.CreateTopic(ctx, &pb.CreateTopicRequest{Name: "x", Attributes: &pb.TopicAttributes{MaxMessageSize: ptr(int32(1))}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "max_message_size")
	if got := try(tc.GetTopic(ctx, &pb.GetTopicRequest{Name: "events"})).must(t); got.Topic.Name != "events" {
		t.Errorf("GetTopic: %v", got)
	}
	_, err = tc.GetTopic(ctx, &pb.GetTopicRequest{Name: "nope"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
	if list := try(tc.ListTopics(ctx, &pb.ListTopicsRequest{})).must(t); !slices.Equal(list.Names, []string{"events"}) {
		t.Errorf("ListTopics = %v", list.Names)
	}

	// Subscriptions: a durable one with a filter, a queue one.
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "copy"})).must(t)
	sub := try(tc.Subscribe(ctx, &pb.SubscribeRequest{Topic: "events", Name: "eu", Subscription: &pb.Subscription{
		Kind: pb.SubscriptionKind_SUBSCRIPTION_KIND_DURABLE, FilterPolicy: `{"region": ["eu"]}`, Raw: true,
		Attributes: &pb.QueueAttributes{VisibilityTimeout: dur(time.Hour)},
	}})).must(t)
	if !sub.Created || sub.Subscription.Status != pb.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE ||
		sub.Subscription.Subscription.Kind != pb.SubscriptionKind_SUBSCRIPTION_KIND_DURABLE ||
		sub.Subscription.Subscription.Attributes.VisibilityTimeout.AsDuration() != time.Hour {
		t.Fatalf("Subscribe: %v", sub)
	}
	try(tc.Subscribe(ctx, &pb.SubscribeRequest{Topic: "events", Name: "to-copy", Subscription: &pb.Subscription{
		Kind: pb.SubscriptionKind_SUBSCRIPTION_KIND_QUEUE, Queue: "copy", Raw: true,
	}})).must(t)
	_, err = tc.Subscribe(ctx, &pb.SubscribeRequest{Topic: "events", Name: "x"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "subscription")
	_, err = tc.Subscribe(ctx, &pb.SubscribeRequest{Topic: "events", Name: "x", Subscription: &pb.Subscription{Kind: 42}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "subscription.kind")
	_, err = tc.Subscribe(ctx, &pb.SubscribeRequest{Topic: "events", Name: "eu", Subscription: &pb.Subscription{Kind: pb.SubscriptionKind_SUBSCRIPTION_KIND_QUEUE, Queue: "copy"}})
	wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	if got := try(tc.GetSubscription(ctx, &pb.GetSubscriptionRequest{Topic: "events", Name: "eu"})).must(t); got.Subscription.Subscription.FilterPolicy == "" {
		t.Errorf("GetSubscription lost the filter policy: %v", got)
	}
	subs := try(tc.ListSubscriptions(ctx, &pb.ListSubscriptionsRequest{Topic: "events"})).must(t)
	if len(subs.Subscriptions) != 2 || subs.Subscriptions[0].Name != "eu" || subs.Subscriptions[1].Name != "to-copy" {
		t.Errorf("ListSubscriptions: %v", subs)
	}

	// A tail sees what is published after it opened.
	tctx, cancelTail := context.WithCancel(ctx)
	defer cancelTail()
	tail := try(tc.Tail(tctx, &pb.TailRequest{Topic: "events", Credit: 16, Raw: true})).must(t)
	defer tail.Close()
	if !tail.Receive() || tail.Msg().Message != nil {
		t.Fatalf("tail: first response %v (%v), want one without a message", tail.Msg(), tail.Err())
	}

	// Publish: one for eu, one for us; results per message.
	res := try(tc.Publish(ctx, &pb.PublishRequest{Topic: "events", Messages: []*pb.Message{
		{Body: []byte("for eu"), Headers: map[string]string{"region": "eu"}},
		{Body: []byte("for us"), Headers: map[string]string{"region": "us"}},
	}})).must(t)
	if len(res.Results) != 2 || res.Results[0].Id == "" || res.Results[1].Error != nil {
		t.Fatalf("Publish: %v", res)
	}
	_, err = tc.Publish(ctx, &pb.PublishRequest{Topic: "events", Messages: []*pb.Message{{Body: []byte("x"), Delay: dur(time.Second)}}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "messages[0].delay")
	for _, want := range []string{"for eu", "for us"} {
		if !tail.Receive() {
			t.Fatalf("tail ended: %v", tail.Err())
		}
		if got := string(tail.Msg().Message.GetBody()); got != want {
			t.Errorf("tail: %q, want %q", got, want)
		}
	}
	cancelTail()

	// The durable subscription: stream, ack, nack, extend.
	rctx, cancelRecv := context.WithCancel(ctx)
	defer cancelRecv()
	recv := try(tc.ReceiveSubscription(rctx, &pb.ReceiveSubscriptionRequest{Topic: "events", Subscription: "eu", Credit: 1})).must(t)
	defer recv.Close()
	if !recv.Receive() {
		t.Fatal(recv.Err())
	}
	d := recv.Msg().Deliveries[0]
	if string(d.Body) != "for eu" {
		t.Fatalf("subscription delivery %q, want for eu", d.Body)
	}
	if ext := try(tc.ExtendSubscription(ctx, &pb.ExtendSubscriptionRequest{Topic: "events", Subscription: "eu", Receipts: []string{d.Receipt}, Visibility: dur(time.Hour)})).must(t); len(ext.Failed) != 0 {
		t.Errorf("ExtendSubscription: %v", ext)
	}
	_, err = tc.ExtendSubscription(ctx, &pb.ExtendSubscriptionRequest{Topic: "events", Subscription: "eu", Receipts: []string{d.Receipt}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "visibility")
	// A nack returns the stream's unit: the message comes again.
	if n := try(tc.NackSubscription(ctx, &pb.NackSubscriptionRequest{Topic: "events", Subscription: "eu", Receipts: []string{d.Receipt}})).must(t); len(n.Failed) != 0 {
		t.Errorf("NackSubscription: %v", n)
	}
	if !recv.Receive() {
		t.Fatal(recv.Err())
	}
	d2 := recv.Msg().Deliveries[0]
	if d2.Id != d.Id || d2.ReceiveCount != 2 {
		t.Fatalf("after a nack: %v, want %s again", d2, d.Id)
	}
	a := try(tc.AckSubscription(ctx, &pb.AckSubscriptionRequest{Topic: "events", Subscription: "eu", Receipts: []string{d.Receipt}})).must(t)
	if len(a.Failed) != 1 || a.Failed[0].Error.Code != "receipt_invalid" {
		t.Errorf("AckSubscription of a stale receipt: %v, want receipt_invalid", a)
	}
	if a := try(tc.AckSubscription(ctx, &pb.AckSubscriptionRequest{Topic: "events", Subscription: "eu", Receipts: []string{d2.Receipt}})).must(t); len(a.Failed) != 0 {
		t.Errorf("AckSubscription: %v", a)
	}
	_, err = tc.AckSubscription(ctx, &pb.AckSubscriptionRequest{Topic: "events", Subscription: "nope", Receipts: []string{"x"}})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
	cancelRecv()

	// An HTTP subscription is pending until confirmed with the token its
	// endpoint receives; the confirm URL names this server.
	confirmations := make(chan map[string]string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var c map[string]string
		if json.NewDecoder(req.Body).Decode(&c) == nil && c["type"] == "SubscriptionConfirmation" {
			select {
			case confirmations <- c:
			default:
			}
		}
	}))
	defer hook.Close()
	web := try(tc.Subscribe(ctx, &pb.SubscribeRequest{Topic: "events", Name: "web", Subscription: &pb.Subscription{
		Kind: pb.SubscriptionKind_SUBSCRIPTION_KIND_HTTP, Endpoint: hook.URL, Push: &pb.PushPolicy{MaxAttempts: 1},
	}})).must(t)
	if web.Subscription.Status != pb.SubscriptionStatus_SUBSCRIPTION_STATUS_PENDING_CONFIRMATION || web.Subscription.Subscription.Push.GetMaxAttempts() != 1 {
		t.Fatalf("HTTP subscription: %v", web)
	}
	var c map[string]string
	select {
	case c = <-confirmations:
	case <-ctx.Done():
		t.Fatal("no confirmation request")
	}
	if want := r.url + "/v1/topics/events/subscriptions/web/confirm?token="; !strings.HasPrefix(c["subscribe_url"], want) {
		t.Errorf("subscribe_url %q, want it to start with %q", c["subscribe_url"], want)
	}
	_, err = tc.ConfirmSubscription(ctx, &pb.ConfirmSubscriptionRequest{Topic: "events", Name: "web", Token: "wrong"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "token")
	confirmed := try(tc.ConfirmSubscription(ctx, &pb.ConfirmSubscriptionRequest{Topic: "events", Name: "web", Token: c["token"]})).must(t)
	if confirmed.Subscription.Status != pb.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE {
		t.Errorf("ConfirmSubscription: %v", confirmed)
	}
	try(tc.Unsubscribe(ctx, &pb.UnsubscribeRequest{Topic: "events", Name: "web"})).must(t)

	// Confirming a subscription that is not an HTTP one, or with a wrong
	// token, fails.
	_, err = tc.ConfirmSubscription(ctx, &pb.ConfirmSubscriptionRequest{Topic: "events", Name: "eu"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "token")
	_, err = tc.ConfirmSubscription(ctx, &pb.ConfirmSubscriptionRequest{Topic: "events", Name: "nope", Token: "t"})
	if code := connect.CodeOf(err); code != connect.CodeNotFound && code != connect.CodeInvalidArgument {
		t.Errorf("ConfirmSubscription of a missing subscription: %v", err)
	}

	try(tc.Unsubscribe(ctx, &pb.UnsubscribeRequest{Topic: "events", Name: "eu"})).must(t)
	_, err = tc.GetSubscription(ctx, &pb.GetSubscriptionRequest{Topic: "events", Name: "eu"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
	try(tc.DeleteTopic(ctx, &pb.DeleteTopicRequest{Name: "events"})).must(t)
	_, err = tc.DeleteTopic(ctx, &pb.DeleteTopicRequest{Name: "events"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
	// The queue subscription delivered both messages to its queue.
	if got := r.stats("copy"); got != [2]int64{2, 0} {
		t.Errorf("queue subscription: (visible, in flight) = %v, want [2 0]", got)
	}
}

func TestGRPCStreams(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) { testGRPCStreams(t, p.opts) })
	}
}

func testGRPCStreams(t *testing.T, copts []connect.ClientOption) {
	r := newRPC(t, copts)
	ctx := t.Context()
	sc := r.streams

	created := try(sc.CreateStream(ctx, &pb.CreateStreamRequest{Name: "clicks"})).must(t)
	if !created.Created || created.Stream.Attributes.GetPartitions() != 1 || len(created.Stream.Partitions) != 1 {
		t.Fatalf("CreateStream: %v", created)
	}
	_, err := sc.CreateStream(ctx, &pb.CreateStreamRequest{Name: "clicks", Attributes: &pb.StreamAttributes{Compact: ptr(true)}})
	wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	_, err = sc.CreateStream(ctx, &pb.CreateStreamRequest{Name: "x", Attributes: &pb.StreamAttributes{Partitions: ptr(int32(5000))}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "partitions")
	up := try(sc.UpdateStream(ctx, &pb.UpdateStreamRequest{Name: "clicks", Attributes: &pb.StreamAttributes{Partitions: ptr(int32(2))}})).must(t)
	if up.Stream.Attributes.GetPartitions() != 2 {
		t.Errorf("UpdateStream: %v", up)
	}
	if list := try(sc.ListStreams(ctx, &pb.ListStreamsRequest{})).must(t); !slices.Equal(list.Names, []string{"clicks"}) {
		t.Errorf("ListStreams = %v", list.Names)
	}

	// Append five records to partition 0 and one refused record.
	var recs []*pb.Record
	for _, v := range []string{"a", "b", "c", "d", "e"} {
		recs = append(recs, &pb.Record{Key: []byte("k"), Value: []byte(v), Partition: ptr(int32(0))})
	}
	recs = append(recs, &pb.Record{Value: []byte("x"), Partition: ptr(int32(7))})
	res := try(sc.Append(ctx, &pb.AppendRequest{Stream: "clicks", Records: recs})).must(t)
	if len(res.Results) != 6 || res.Results[4].Offset != 4 || res.Results[5].Error == nil {
		t.Fatalf("Append: %v", res)
	}
	_, err = sc.Append(ctx, &pb.AppendRequest{Stream: "clicks"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "records")

	// Read without follow, 2 records at a time: three responses, then
	// the end.
	read := try(sc.Read(ctx, &pb.ReadRequest{Stream: "clicks", Partition: 0, Credit: 2, From: &pb.Position{Position: &pb.Position_Offset{Offset: 0}}})).must(t)
	var values []string
	for read.Receive() {
		if n := len(read.Msg().Records); n > 2 {
			t.Errorf("a response of %d records with credit 2", n)
		}
		for _, rec := range read.Msg().Records {
			values = append(values, string(rec.Value))
		}
	}
	if err := read.Err(); err != nil {
		t.Fatal(err)
	}
	read.Close()
	if !slices.Equal(values, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("Read = %v", values)
	}
	// Read with follow from the latest: a record appended later comes.
	fctx, cancelFollow := context.WithCancel(ctx)
	follow := try(sc.Read(fctx, &pb.ReadRequest{Stream: "clicks", Partition: 1, Follow: true, From: &pb.Position{Position: &pb.Position_Latest{Latest: &emptypb.Empty{}}}})).must(t)
	try(sc.Append(ctx, &pb.AppendRequest{Stream: "clicks", Records: []*pb.Record{{Value: []byte("late"), Partition: ptr(int32(1))}}})).must(t)
	if !follow.Receive() || string(follow.Msg().Records[0].Value) != "late" || follow.Msg().Next != 1 {
		t.Fatalf("follow: %v %v", follow.Msg(), follow.Err())
	}
	cancelFollow()
	follow.Close()
	bad := try(sc.Read(ctx, &pb.ReadRequest{Stream: "clicks", Partition: 9})).must(t)
	if bad.Receive() {
		t.Fatal("read of a missing partition answered records")
	}
	wantErr(t, bad.Err(), connect.CodeInvalidArgument, "INVALID_ARGUMENT", "partition")
	bad.Close()

	// A consumer group: join, poll, commit, heartbeat, leave.
	join := try(sc.JoinGroup(ctx, &pb.JoinGroupRequest{Stream: "clicks", Group: "g", Member: "m1", SessionTimeout: dur(time.Minute)})).must(t)
	if len(join.Assignment.Partitions) != 2 {
		t.Fatalf("JoinGroup: %v", join)
	}
	poll := try(sc.Poll(ctx, &pb.PollRequest{Stream: "clicks", Group: "g", Member: "m1", Max: 10})).must(t)
	if len(poll.Records) != 6 {
		t.Fatalf("Poll: %d records, want 6", len(poll.Records))
	}
	gen := poll.Assignment.Generation
	try(sc.Commit(ctx, &pb.CommitRequest{Stream: "clicks", Group: "g", Member: "m1", Generation: gen, Offsets: map[int32]int64{0: 5, 1: 1}})).must(t)
	_, err = sc.Commit(ctx, &pb.CommitRequest{Stream: "clicks", Group: "g", Member: "m1", Generation: gen + 7, Offsets: map[int32]int64{0: 5}})
	wantErr(t, err, connect.CodeAborted, "FENCED", "")
	_, err = sc.Commit(ctx, &pb.CommitRequest{Stream: "clicks", Group: "g", Member: "m1", Generation: gen})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "offsets")
	if hb := try(sc.Heartbeat(ctx, &pb.HeartbeatRequest{Stream: "clicks", Group: "g", Member: "m1"})).must(t); hb.Assignment.Generation != gen {
		t.Errorf("Heartbeat: %v", hb)
	}
	info := try(sc.GetStream(ctx, &pb.GetStreamRequest{Name: "clicks"})).must(t)
	if len(info.Stream.Groups) != 1 || info.Stream.Groups[0].Committed[0] != 5 || info.Stream.Groups[0].Lag[0] != 0 {
		t.Errorf("GetStream groups: %v", info.Stream.Groups)
	}
	_, err = sc.ResetOffsets(ctx, &pb.ResetOffsetsRequest{Stream: "clicks", Group: "g", To: &pb.Position{Position: &pb.Position_Earliest{Earliest: &emptypb.Empty{}}}})
	wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	try(sc.LeaveGroup(ctx, &pb.LeaveGroupRequest{Stream: "clicks", Group: "g", Member: "m1"})).must(t)
	reset := try(sc.ResetOffsets(ctx, &pb.ResetOffsetsRequest{Stream: "clicks", Group: "g", To: &pb.Position{Position: &pb.Position_Time{Time: timestamppb.New(time.Unix(0, 0))}}, Partitions: []int32{0}})).must(t)
	if reset.Offsets[0] != 0 {
		t.Errorf("ResetOffsets: %v", reset)
	}
	_, err = sc.ResetOffsets(ctx, &pb.ResetOffsetsRequest{Stream: "clicks", Group: "g"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "to")
	try(sc.DeleteGroup(ctx, &pb.DeleteGroupRequest{Stream: "clicks", Group: "g"})).must(t)
	_, err = sc.JoinGroup(ctx, &pb.JoinGroupRequest{Stream: "clicks", Group: "g", Member: ""})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "member")

	try(sc.DeleteStream(ctx, &pb.DeleteStreamRequest{Name: "clicks"})).must(t)
	_, err = sc.GetStream(ctx, &pb.GetStreamRequest{Name: "clicks"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
}

func TestGRPCBuses(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) { testGRPCBuses(t, p.opts) })
	}
}

func testGRPCBuses(t *testing.T, copts []connect.ClientOption) {
	r := newRPC(t, copts)
	ctx := t.Context()
	bc := r.buses

	created := try(bc.CreateBus(ctx, &pb.CreateBusRequest{Name: "orders", Description: "shop"})).must(t)
	if !created.Created || created.Bus.Description != "shop" {
		t.Fatalf("CreateBus: %v", created)
	}
	_, err := bc.CreateBus(ctx, &pb.CreateBusRequest{Name: "orders", Description: "other"})
	wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	if got := try(bc.GetBus(ctx, &pb.GetBusRequest{Name: "orders"})).must(t); got.Bus.Name != "orders" {
		t.Errorf("GetBus: %v", got)
	}
	if list := try(bc.ListBuses(ctx, &pb.ListBusesRequest{})).must(t); !slices.Equal(list.Names, []string{"default", "orders"}) {
		t.Errorf("ListBuses = %v", list.Names)
	}
	_, err = bc.DeleteBus(ctx, &pb.DeleteBusRequest{Name: "default"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "name")

	// A rule that sends big orders to a queue, reshaped.
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "big"})).must(t)
	rule := &pb.Rule{
		Pattern: `{"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}`,
		Targets: []*pb.Target{{
			Id: "q", Kind: pb.TargetKind_TARGET_KIND_QUEUE, Queue: "big",
			InputTransformer: &pb.InputTransformer{InputPaths: map[string]string{"t": "$.detail.total"}, Template: `{"total": <t>}`},
		}},
	}
	put := try(bc.PutRule(ctx, &pb.PutRuleRequest{Bus: "orders", Name: "big-orders", Rule: rule})).must(t)
	if !put.Created || put.Rule.Rule.State != pb.RuleState_RULE_STATE_ENABLED || len(put.Rule.Rule.Targets) != 1 {
		t.Fatalf("PutRule: %v", put)
	}
	_, err = bc.PutRule(ctx, &pb.PutRuleRequest{Bus: "orders", Name: "bad", Rule: &pb.Rule{Pattern: `{"source": "shop"}`}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "pattern")
	_, err = bc.PutRule(ctx, &pb.PutRuleRequest{Bus: "orders", Name: "bad", Rule: &pb.Rule{Pattern: `{}`, Targets: make([]*pb.Target, 6)}})
	wantErr(t, err, connect.CodeResourceExhausted, "TOO_LARGE", "rule.targets")
	if got := try(bc.GetRule(ctx, &pb.GetRuleRequest{Bus: "orders", Name: "big-orders"})).must(t); got.Rule.Name != "big-orders" {
		t.Errorf("GetRule: %v", got)
	}
	if rules := try(bc.ListRules(ctx, &pb.ListRulesRequest{Bus: "orders"})).must(t); len(rules.Rules) != 1 {
		t.Errorf("ListRules: %v", rules)
	}

	// Put events: one matches, one does not, one is refused.
	res := try(bc.PutEvents(ctx, &pb.PutEventsRequest{Bus: "orders", Entries: []*pb.Event{
		{Source: "shop", DetailType: "Order Placed", Detail: `{"total": 250}`},
		{Source: "shop", DetailType: "Order Placed", Detail: `{"total": 5}`},
		{Source: "shop", DetailType: "Order Placed"},
	}})).must(t)
	if len(res.Entries) != 3 || res.Entries[0].Id == "" || res.Entries[2].Error == nil || res.FailedEntryCount != 1 {
		t.Fatalf("PutEvents: %v", res)
	}
	_, err = bc.PutEvents(ctx, &pb.PutEventsRequest{Bus: "orders"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "entries")
	if d := r.receive(&pb.ReceiveRequest{Queue: "big"}).next(1)[0]; string(d.Body) != `{"total": 250}` {
		t.Errorf("the rule delivered %s", d.Body)
	}

	match := try(bc.TestPattern(ctx, &pb.TestPatternRequest{Bus: "orders", Pattern: `{"source": ["shop"]}`, Event: `{"source": "shop"}`})).must(t)
	if !match.Match {
		t.Error("TestPattern: no match")
	}
	_, err = bc.TestPattern(ctx, &pb.TestPatternRequest{Bus: "orders", Pattern: `{"source": ["shop"]}`})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "event")

	// Targets.
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "all"})).must(t)
	pt := try(bc.PutTargets(ctx, &pb.PutTargetsRequest{Bus: "orders", Rule: "big-orders", Targets: []*pb.Target{{Id: "all", Kind: pb.TargetKind_TARGET_KIND_QUEUE, Queue: "all"}}})).must(t)
	if len(pt.Rule.Rule.Targets) != 2 {
		t.Errorf("PutTargets: %v", pt)
	}
	_, err = bc.PutTargets(ctx, &pb.PutTargetsRequest{Bus: "orders", Rule: "big-orders", Targets: []*pb.Target{{Id: "x", Kind: 99}}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "targets[0].kind")
	rt := try(bc.RemoveTargets(ctx, &pb.RemoveTargetsRequest{Bus: "orders", Rule: "big-orders", Ids: []string{"all"}})).must(t)
	if len(rt.Rule.Rule.Targets) != 1 {
		t.Errorf("RemoveTargets: %v", rt)
	}
	_, err = bc.RemoveTargets(ctx, &pb.RemoveTargetsRequest{Bus: "orders", Rule: "big-orders"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "ids")

	// Archives and replays.
	arch := try(bc.CreateArchive(ctx, &pb.CreateArchiveRequest{Bus: "orders", Name: "all", Archive: &pb.Archive{Retention: dur(24 * time.Hour)}})).must(t)
	if !arch.Created || arch.Archive.Archive.Retention.AsDuration() != 24*time.Hour {
		t.Fatalf("CreateArchive: %v", arch)
	}
	_, err = bc.CreateArchive(ctx, &pb.CreateArchiveRequest{Bus: "orders", Name: "all", Archive: &pb.Archive{Description: "other"}})
	wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	if got := try(bc.GetArchive(ctx, &pb.GetArchiveRequest{Bus: "orders", Name: "all"})).must(t); got.Archive.Name != "all" {
		t.Errorf("GetArchive: %v", got)
	}
	if list := try(bc.ListArchives(ctx, &pb.ListArchivesRequest{Bus: "orders"})).must(t); len(list.Archives) != 1 {
		t.Errorf("ListArchives: %v", list)
	}
	now := time.Now()
	replay := &pb.Replay{Bus: "orders", Archive: "all", Start: timestamppb.New(now.Add(-time.Hour)), End: timestamppb.New(now)}
	started := try(bc.StartReplay(ctx, &pb.StartReplayRequest{Name: "r1", Replay: replay})).must(t)
	if started.Replay.Name != "r1" || started.Replay.State == pb.ReplayState_REPLAY_STATE_UNSPECIFIED {
		t.Fatalf("StartReplay: %v", started)
	}
	_, err = bc.StartReplay(ctx, &pb.StartReplayRequest{Name: "r1", Replay: replay})
	wantErr(t, err, connect.CodeAlreadyExists, "EXISTS", "")
	_, err = bc.StartReplay(ctx, &pb.StartReplayRequest{Name: "r2", Replay: &pb.Replay{Bus: "orders", Archive: "all", Start: replay.End, End: replay.Start}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "end")
	if got := try(bc.GetReplay(ctx, &pb.GetReplayRequest{Name: "r1"})).must(t); got.Replay.Replay.Archive != "all" {
		t.Errorf("GetReplay: %v", got)
	}
	if list := try(bc.ListReplays(ctx, &pb.ListReplaysRequest{})).must(t); len(list.Replays) != 1 {
		t.Errorf("ListReplays: %v", list)
	}
	// Cancelling a replay that has ended is a conflict; one running ends
	// cancelled.
	if c, err := bc.CancelReplay(ctx, &pb.CancelReplayRequest{Name: "r1"}); err != nil {
		wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	} else if c.Replay.State != pb.ReplayState_REPLAY_STATE_CANCELLED {
		t.Errorf("CancelReplay: %v", c)
	}
	_, err = bc.CancelReplay(ctx, &pb.CancelReplayRequest{Name: "nope"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
	try(bc.DeleteArchive(ctx, &pb.DeleteArchiveRequest{Bus: "orders", Name: "all"})).must(t)
	_, err = bc.GetArchive(ctx, &pb.GetArchiveRequest{Bus: "orders", Name: "all"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")

	try(bc.DeleteRule(ctx, &pb.DeleteRuleRequest{Bus: "orders", Name: "big-orders"})).must(t)
	_, err = bc.GetRule(ctx, &pb.GetRuleRequest{Bus: "orders", Name: "big-orders"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
	try(bc.DeleteBus(ctx, &pb.DeleteBusRequest{Name: "orders"})).must(t)
	_, err = bc.GetBus(ctx, &pb.GetBusRequest{Name: "orders"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
}

// TestGRPCJSON checks that the Connect protocol's JSON codec, which
// grpcurl-like tools and browsers use, works end to end.
func TestGRPCJSON(t *testing.T) {
	r := newRPC(t, []connect.ClientOption{connect.WithProtoJSON()})
	ctx := t.Context()
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "q", Attributes: &pb.QueueAttributes{VisibilityTimeout: dur(time.Minute)}})).must(t)
	resp, err := r.hc.Post(r.url+"/courier.v1.QueueService/GetQueue", "application/json", strings.NewReader(jsonText(t, map[string]string{"name": "q"})))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Queue struct {
			Attributes struct {
				VisibilityTimeout string `json:"visibilityTimeout"`
			} `json:"attributes"`
		} `json:"queue"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Queue.Attributes.VisibilityTimeout != "60s" {
		t.Errorf("visibilityTimeout %q, want 60s", got.Queue.Attributes.VisibilityTimeout)
	}
}
