package server

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/courier-io/courier"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/internal/pbconv"
)

// TestGRPCAuthorize checks the permission each gRPC call asks of the
// caller for the resource its request names: the row's action passes,
// the other actions are refused with permission_denied, and a call
// without an identity is unauthenticated. The route guard authenticates
// gRPC requests as it does REST ones; the calls here run with the
// identity it would have put in the context.
func TestGRPCAuthorize(t *testing.T) {
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ids := map[Action]Identity{}
	for _, a := range Actions[1:] {
		tok := "token-" + string(a)
		ids[a] = Identity{Name: string(a), TokenHash: HashToken(tok), Allow: []Grant{
			{Actions: []Action{a}, Resource: "queue:orders"},
			{Actions: []Action{a}, Resource: "topic:orders"},
			{Actions: []Action{a}, Resource: "stream:orders"},
			{Actions: []Action{a}, Resource: "bus:orders"},
			{Actions: []Action{a}, Resource: "queue:*"},
		}}
	}
	s := New(b, WithIdentities(ids[ActionPublish], ids[ActionConsume], ids[ActionManage]))
	defer s.Drain()
	g := &grpcAPI{s: s, windows: newWindows()}
	as := func(a Action) context.Context {
		id := s.auth.byToken("token-" + string(a))
		if id == nil {
			t.Fatalf("no identity for %s", a)
		}
		return withIdentity(t.Context(), id)
	}

	q, tp, st, bu := grpcQueues{g}, grpcTopics{g}, grpcStreams{g}, grpcBuses{g}
	receipts := []string{"r"}
	cases := []struct {
		name string
		need []Action // any one of them suffices
		call func(ctx context.Context) error
	}{
		{"CreateQueue", []Action{ActionManage}, func(ctx context.Context) error {
			_, err := q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "orders"})
			return err
		}},
		{"GetQueue", describe, func(ctx context.Context) error {
			_, err := q.GetQueue(ctx, &pb.GetQueueRequest{Name: "orders"})
			return err
		}},
		{"ListQueues", describe, func(ctx context.Context) error {
			_, err := q.ListQueues(ctx, &pb.ListQueuesRequest{})
			return err
		}},
		{"Send", []Action{ActionPublish}, func(ctx context.Context) error {
			_, err := q.Send(ctx, &pb.SendRequest{Queue: "orders", Messages: []*pb.Message{{Body: []byte("x")}}})
			return err
		}},
		{"Ack", []Action{ActionConsume}, func(ctx context.Context) error {
			_, err := q.Ack(ctx, &pb.AckRequest{Queue: "orders", Receipts: receipts})
			return err
		}},
		{"Pull", []Action{ActionConsume}, func(ctx context.Context) error {
			_, err := q.Pull(ctx, &pb.PullRequest{Queue: "orders", Wait: durationpb.New(0)})
			return err
		}},
		{"PullSubscription", []Action{ActionConsume}, func(ctx context.Context) error {
			_, err := tp.PullSubscription(ctx, &pb.PullSubscriptionRequest{Topic: "orders", Subscription: "s", Wait: durationpb.New(0)})
			return err
		}},
		{"Fetch", []Action{ActionConsume}, func(ctx context.Context) error {
			_, err := st.Fetch(ctx, &pb.FetchRequest{Stream: "orders"})
			return err
		}},
		{"ReceiveTarget", []Action{ActionConsume}, func(ctx context.Context) error {
			_, err := bu.ReceiveTarget(ctx, &pb.ReceiveTargetRequest{Bus: "orders", Rule: "r", Target: "t", Wait: durationpb.New(0)})
			return err
		}},
		{"SettleTarget", []Action{ActionConsume}, func(ctx context.Context) error {
			_, err := bu.SettleTarget(ctx, &pb.SettleTargetRequest{Bus: "orders", Rule: "r", Target: "t", Receipt: "x"})
			return err
		}},
		{"Redrive", []Action{ActionManage}, func(ctx context.Context) error {
			_, err := q.Redrive(ctx, &pb.RedriveRequest{Queue: "orders"})
			return err
		}},
		{"Publish", []Action{ActionPublish}, func(ctx context.Context) error {
			_, err := tp.Publish(ctx, &pb.PublishRequest{Topic: "orders", Messages: []*pb.Message{{Body: []byte("x")}}})
			return err
		}},
		{"AckSubscription", []Action{ActionConsume}, func(ctx context.Context) error {
			_, err := tp.AckSubscription(ctx, &pb.AckSubscriptionRequest{Topic: "orders", Subscription: "s", Receipts: receipts})
			return err
		}},
		{"Subscribe", []Action{ActionManage}, func(ctx context.Context) error {
			_, err := tp.Subscribe(ctx, &pb.SubscribeRequest{Topic: "orders", Name: "s", Subscription: &pb.Subscription{Kind: pb.SubscriptionKind_SUBSCRIPTION_KIND_DURABLE}})
			return err
		}},
		{"Append", []Action{ActionPublish}, func(ctx context.Context) error {
			_, err := st.Append(ctx, &pb.AppendRequest{Stream: "orders", Records: []*pb.Record{{Value: []byte("x")}}})
			return err
		}},
		{"JoinGroup", []Action{ActionConsume}, func(ctx context.Context) error {
			_, err := st.JoinGroup(ctx, &pb.JoinGroupRequest{Stream: "orders", Group: "g", Member: "m"})
			return err
		}},
		{"ResetOffsets", []Action{ActionManage}, func(ctx context.Context) error {
			_, err := st.ResetOffsets(ctx, &pb.ResetOffsetsRequest{Stream: "orders", Group: "g", To: &pb.Position{Position: &pb.Position_Offset{Offset: 0}}})
			return err
		}},
		{"PutEvents", []Action{ActionPublish}, func(ctx context.Context) error {
			_, err := bu.PutEvents(ctx, &pb.PutEventsRequest{Bus: "orders", Entries: []*pb.Event{{Source: "s", DetailType: "t", Detail: "{}"}}})
			return err
		}},
		{"PutRule", []Action{ActionManage}, func(ctx context.Context) error {
			_, err := bu.PutRule(ctx, &pb.PutRuleRequest{Bus: "orders", Name: "r", Rule: &pb.Rule{Pattern: `{"source": ["s"]}`}})
			return err
		}},
		{"TestPattern", describe, func(ctx context.Context) error {
			_, err := bu.TestPattern(ctx, &pb.TestPatternRequest{Bus: "orders", Pattern: `{"source": ["s"]}`, Event: `{"source": "s"}`})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, a := range Actions[1:] {
				err := c.call(as(a))
				denied := errors.Is(err, httpapi.ErrPermissionDenied)
				if allowed := slices.Contains(c.need, a); allowed == denied {
					t.Errorf("as %s: %v (allowed: %v)", a, err, allowed)
				}
			}
			if err := c.call(t.Context()); !errors.Is(err, httpapi.ErrUnauthenticated) {
				t.Errorf("without an identity: %v, want unauthenticated", err)
			}
		})
	}

	// Replays need manage on every bus; destinations named in a request
	// need publish on them.
	replay := &pb.StartReplayRequest{Name: "r", Replay: &pb.Replay{Bus: "orders", Archive: "a", Start: timestamppb.New(time.Unix(0, 0)), End: timestamppb.Now()}}
	if _, err := bu.StartReplay(as(ActionManage), replay); !errors.Is(err, httpapi.ErrPermissionDenied) {
		t.Errorf("StartReplay with manage on bus:orders only: %v, want permission_denied", err)
	}
	_, err = q.CreateQueue(as(ActionManage), &pb.CreateQueueRequest{Name: "orders", Attributes: &pb.QueueAttributes{MaxReceives: pbconv.Ptr(int32(1)), DeadLetterQueue: pbconv.Ptr("elsewhere")}})
	if !errors.Is(err, httpapi.ErrPermissionDenied) {
		t.Errorf("CreateQueue with a dead-letter queue the caller may not publish to: %v, want permission_denied", err)
	}
}
