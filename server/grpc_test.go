package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/courier-io/courier"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

// rpc is a running server over a mem:// broker, reached over HTTP/2
// without TLS (h2c) by the generated connect clients of every service.
// The test's cleanup stops the server and closes the broker.
type rpc struct {
	t        *testing.T
	b        *courier.Broker
	srv      *server.Server
	url      string
	hc       *http.Client
	queues   courierv1connect.QueueServiceClient
	topics   courierv1connect.TopicServiceClient
	streams  courierv1connect.StreamServiceClient
	buses    courierv1connect.BusServiceClient
	consumer courierv1connect.ConsumerServiceClient
}

// protocols are the wire protocols the clients speak in the tests.
var protocols = []struct {
	name string
	opts []connect.ClientOption
}{
	{"grpc", []connect.ClientOption{connect.WithGRPC()}},
	{"connect", nil},
}

// newRPC starts a server with opts and returns clients speaking the
// protocol of copts (the Connect protocol without options).
func newRPC(t *testing.T, copts []connect.ClientOption, opts ...server.Option) *rpc {
	t.Helper()
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(b, opts...)
	ts := httptest.NewUnstartedServer(srv)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	ts.Config.Protocols = &p
	ts.Start()
	var cp http.Protocols
	cp.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &cp}
	t.Cleanup(func() {
		srv.Drain()
		tr.CloseIdleConnections()
		ts.Close()
		if err := b.Close(); err != nil {
			t.Errorf("closing the broker: %v", err)
		}
	})
	hc := &http.Client{Transport: tr}
	return &rpc{
		t: t, b: b, srv: srv, url: ts.URL, hc: hc,
		queues:   courierv1connect.NewQueueServiceClient(hc, ts.URL, copts...),
		topics:   courierv1connect.NewTopicServiceClient(hc, ts.URL, copts...),
		streams:  courierv1connect.NewStreamServiceClient(hc, ts.URL, copts...),
		buses:    courierv1connect.NewBusServiceClient(hc, ts.URL, copts...),
		consumer: courierv1connect.NewConsumerServiceClient(hc, ts.URL, copts...),
	}
}

// result is the result of a call, for try(call(...)).must(t).
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

// must fails the test on the call's error and returns its value.
func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

// wantErr checks that err is a gRPC status with code whose ErrorInfo has
// reason (the REST error code in upper case) and, when field is not
// empty, whose BadRequest names field.
func wantErr(t *testing.T, err error, code connect.Code, reason, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %s", code, reason)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a connect error", err)
	}
	if ce.Code() != code {
		t.Fatalf("code %v (%v), want %v", ce.Code(), err, code)
	}
	var gotReason, gotField string
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			t.Fatalf("detail %s: %v", d.Type(), err)
		}
		switch v := v.(type) {
		case *errdetails.ErrorInfo:
			gotReason = v.Reason
			if v.Domain != "courier" {
				t.Errorf("ErrorInfo domain %q, want courier", v.Domain)
			}
		case *errdetails.BadRequest:
			if len(v.FieldViolations) != 1 {
				t.Fatalf("BadRequest %v: want one field violation", v)
			}
			gotField = v.FieldViolations[0].Field
		}
	}
	if gotReason != reason {
		t.Errorf("reason %q (%v), want %q", gotReason, err, reason)
	}
	if gotField != field {
		t.Errorf("field %q (%v), want %q", gotField, err, field)
	}
	if field != "" && !strings.HasPrefix(ce.Message(), field+": ") {
		t.Errorf("message %q does not start with the field %q", ce.Message(), field)
	}
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

// msgs makes messages with the bodies given.
func msgs(bodies ...string) []*pb.Message {
	out := make([]*pb.Message, len(bodies))
	for i, b := range bodies {
		out[i] = &pb.Message{Body: []byte(b)}
	}
	return out
}

// send sends bodies to queue and fails on any refusal.
func (r *rpc) send(queue string, bodies ...string) []string {
	r.t.Helper()
	res := try(r.queues.Send(r.t.Context(), &pb.SendRequest{Queue: queue, Messages: msgs(bodies...)})).must(r.t)
	ids := make([]string, len(res.Results))
	for i, x := range res.Results {
		if x.Error != nil || x.Id == "" {
			r.t.Fatalf("send to %s: result %d: %v", queue, i, x)
		}
		ids[i] = x.Id
	}
	return ids
}

// stats returns a queue's visible count and its in-flight count, which
// includes the deliveries whose visibility was extended (the stats count
// them as delayed).
func (r *rpc) stats(queue string) [2]int64 {
	r.t.Helper()
	st := try(r.queues.GetQueue(r.t.Context(), &pb.GetQueueRequest{Name: queue})).must(r.t).Queue.Stats
	return [2]int64{st.Visible, st.InFlight + st.Delayed}
}

// receiver is an open QueueService.Receive stream.
type receiver struct {
	t      *testing.T
	stream *connect.ServerStreamForClient[pb.ReceiveResponse]
	cancel context.CancelFunc
	queued []*pb.Delivery
}

func (r *rpc) receive(req *pb.ReceiveRequest) *receiver {
	r.t.Helper()
	ctx, cancel := context.WithCancel(r.t.Context())
	stream, err := r.queues.Receive(ctx, req)
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	rc := &receiver{t: r.t, stream: stream, cancel: cancel}
	r.t.Cleanup(rc.close)
	return rc
}

// next returns the next n deliveries, whatever responses carry them.
func (rc *receiver) next(n int) []*pb.Delivery {
	rc.t.Helper()
	for len(rc.queued) < n {
		if !rc.stream.Receive() {
			rc.t.Fatalf("receive stream ended: %v", rc.stream.Err())
		}
		rc.queued = append(rc.queued, rc.stream.Msg().Deliveries...)
	}
	out := rc.queued[:n:n]
	rc.queued = rc.queued[n:]
	return out
}

func (rc *receiver) close() {
	rc.cancel()
	_ = rc.stream.Close()
}

func TestGRPCQueues(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) { testGRPCQueues(t, p.opts) })
	}
}

func testGRPCQueues(t *testing.T, copts []connect.ClientOption) {
	r := newRPC(t, copts)
	ctx := t.Context()
	q := r.queues

	// Create, idempotently; other attributes conflict.
	created := try(q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "dlq"})).must(t)
	if !created.Created || created.Queue.Name != "dlq" || created.Queue.Attributes.VisibilityTimeout.AsDuration() != 30*time.Second {
		t.Fatalf("CreateQueue: %v", created)
	}
	attrs := &pb.QueueAttributes{VisibilityTimeout: dur(time.Minute), MaxReceives: ptr(int32(1)), DeadLetterQueue: ptr("dlq")}
	try(q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "orders", Attributes: attrs})).must(t)
	again := try(q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "orders", Attributes: attrs})).must(t)
	if again.Created {
		t.Error("CreateQueue of an equal queue: created = true")
	}
	_, err := q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "orders", Attributes: &pb.QueueAttributes{VisibilityTimeout: dur(time.Hour)}})
	wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	_, err = q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "bad name"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "name")
	_, err = q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "x", Attributes: &pb.QueueAttributes{VisibilityTimeout: dur(13 * time.Hour)}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "visibility_timeout")

	// Get, update, list.
	info := try(q.GetQueue(ctx, &pb.GetQueueRequest{Name: "orders"})).must(t)
	if info.Queue.Attributes.GetDeadLetterQueue() != "dlq" || info.Queue.Attributes.GetMaxReceives() != 1 {
		t.Errorf("GetQueue: %v", info)
	}
	_, err = q.GetQueue(ctx, &pb.GetQueueRequest{Name: "nope"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
	up := try(q.UpdateQueue(ctx, &pb.UpdateQueueRequest{Name: "orders", Attributes: &pb.QueueAttributes{ReceiveWait: dur(time.Second)}})).must(t)
	if up.Queue.Attributes.ReceiveWait.AsDuration() != time.Second || up.Queue.Attributes.VisibilityTimeout.AsDuration() != time.Minute {
		t.Errorf("UpdateQueue changed more than asked: %v", up)
	}
	_, err = q.UpdateQueue(ctx, &pb.UpdateQueueRequest{Name: "orders", Attributes: &pb.QueueAttributes{Fifo: ptr(true)}})
	wantErr(t, err, connect.CodeFailedPrecondition, "CONFLICT", "")
	list := try(q.ListQueues(ctx, &pb.ListQueuesRequest{})).must(t)
	if !slices.Equal(list.Names, []string{"dlq", "orders"}) {
		t.Errorf("ListQueues = %v", list.Names)
	}

	// Send: a batch with a per-message refusal; whole-batch errors.
	res := try(q.Send(ctx, &pb.SendRequest{Queue: "orders", Messages: []*pb.Message{
		{Body: []byte("a"), Headers: map[string]string{"k": "v"}},
		{Body: []byte("b"), DedupId: "d1"},
		{Body: []byte("b"), DedupId: "d1"},
	}})).must(t)
	if len(res.Results) != 3 || res.Results[0].Id == "" || !res.Results[2].Duplicate || res.Results[2].Id != res.Results[1].Id {
		t.Fatalf("Send results: %v", res.Results)
	}
	_, err = q.Send(ctx, &pb.SendRequest{Queue: "orders"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "messages")
	_, err = q.Send(ctx, &pb.SendRequest{Queue: "orders", Messages: make([]*pb.Message, 1001)})
	wantErr(t, err, connect.CodeResourceExhausted, "TOO_LARGE", "messages")
	_, err = q.Send(ctx, &pb.SendRequest{Queue: "orders", Messages: []*pb.Message{{Body: []byte("x"), Delay: dur(time.Hour)}}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "messages[0].delay")
	_, err = q.Send(ctx, &pb.SendRequest{Queue: "nope", Messages: msgs("x")})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")

	// Receive, ack, nack, extend.
	rc := r.receive(&pb.ReceiveRequest{Queue: "orders", Credit: 2})
	ds := rc.next(2)
	if string(ds[0].Body) != "a" || ds[0].Headers["k"] != "v" || ds[0].ReceiveCount != 1 || ds[0].Receipt == "" || ds[0].SentAt == nil {
		t.Errorf("delivery %v", ds[0])
	}
	ext := try(q.Extend(ctx, &pb.ExtendRequest{Queue: "orders", Receipts: []string{ds[0].Receipt}, Visibility: dur(time.Hour)})).must(t)
	if len(ext.Failed) != 0 {
		t.Errorf("Extend failed: %v", ext.Failed)
	}
	_, err = q.Extend(ctx, &pb.ExtendRequest{Queue: "orders", Receipts: []string{ds[0].Receipt}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "visibility")
	acked := try(q.Ack(ctx, &pb.AckRequest{Queue: "orders", Receipts: []string{ds[0].Receipt}})).must(t)
	if len(acked.Failed) != 0 {
		t.Errorf("Ack failed: %v", acked.Failed)
	}
	_, err = q.Ack(ctx, &pb.AckRequest{Queue: "orders"})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "receipts")
	_, err = q.Ack(ctx, &pb.AckRequest{Queue: "orders", Receipts: []string{"x", ""}})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "receipts[1]")
	nacked := try(q.Nack(ctx, &pb.NackRequest{Queue: "orders", Receipts: []string{ds[1].Receipt}})).must(t)
	if len(nacked.Failed) != 0 {
		t.Errorf("Nack failed: %v", nacked.Failed)
	}
	// The nacked message was on its first and last allowed receive: the
	// stream's next receive moves it to the dead-letter queue.
	dl := r.receive(&pb.ReceiveRequest{Queue: "dlq", Credit: 1})
	got := dl.next(1)
	if string(got[0].Body) != "b" || got[0].SourceQueue != "orders" {
		t.Fatalf("dead-lettered delivery %v", got[0])
	}
	rc.close()
	// Visible again without returning the stream's credit (as a nack
	// would), so that the stream does not take it again.
	try(q.Extend(ctx, &pb.ExtendRequest{Queue: "dlq", Receipts: []string{got[0].Receipt}, Visibility: dur(0)})).must(t)
	dl.close()

	// Redrive from the dead-letter queue (to a queue no stream reads),
	// purge, delete.
	try(q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "again"})).must(t)
	moved := try(q.Redrive(ctx, &pb.RedriveRequest{Queue: "dlq", Destination: "again"})).must(t)
	if moved.Moved != 1 {
		t.Errorf("Redrive moved %d, want 1", moved.Moved)
	}
	_, err = q.Redrive(ctx, &pb.RedriveRequest{Queue: "dlq", Max: -1})
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "max")
	purged := try(q.PurgeQueue(ctx, &pb.PurgeQueueRequest{Name: "again"})).must(t)
	if purged.Purged != 1 {
		t.Errorf("PurgeQueue purged %d, want 1", purged.Purged)
	}

	// A receipt is stale once its message is delivered again.
	try(q.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "solo"})).must(t)
	r.send("solo", "s")
	solo := r.receive(&pb.ReceiveRequest{Queue: "solo", Credit: 1})
	d1 := solo.next(1)[0]
	try(q.Nack(ctx, &pb.NackRequest{Queue: "solo", Receipts: []string{d1.Receipt}})).must(t)
	if d2 := solo.next(1)[0]; d2.Id != d1.Id || d2.ReceiveCount != 2 {
		t.Fatalf("after a nack: %v, want %s again", d2, d1.Id)
	}
	stale := try(q.Ack(ctx, &pb.AckRequest{Queue: "solo", Receipts: []string{d1.Receipt}})).must(t)
	if len(stale.Failed) != 1 || stale.Failed[0].Index != 0 || stale.Failed[0].Error.Code != "receipt_invalid" {
		t.Errorf("Ack of a stale receipt: failed = %v, want receipt_invalid", stale.Failed)
	}
	try(q.DeleteQueue(ctx, &pb.DeleteQueueRequest{Name: "orders"})).must(t)
	_, err = q.DeleteQueue(ctx, &pb.DeleteQueueRequest{Name: "orders"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
	_, err = q.PurgeQueue(ctx, &pb.PurgeQueueRequest{Name: "orders"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
}

func ptr[T any](v T) *T { return &v }

// TestGRPCReceiveCredit checks the flow control of a receive stream: the
// server never has more unsettled deliveries out than the credit, and
// sends more as deliveries are acked or nacked.
func TestGRPCReceiveCredit(t *testing.T) {
	r := newRPC(t, []connect.ClientOption{connect.WithGRPC()})
	ctx := t.Context()
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "q"})).must(t)
	r.send("q", "1", "2", "3", "4", "5")

	rc := r.receive(&pb.ReceiveRequest{Queue: "q", Credit: 2, Visibility: dur(time.Hour)})
	first := rc.next(2)
	// The server received only what it could send: two in flight, three
	// still visible to other consumers.
	if got := r.stats("q"); got != [2]int64{3, 2} {
		t.Fatalf("after 2 deliveries: (visible, in flight) = %v, want [3 2]", got)
	}
	// Extending does not return credit; acking one does.
	try(r.queues.Extend(ctx, &pb.ExtendRequest{Queue: "q", Receipts: []string{first[0].Receipt}, Visibility: dur(time.Hour)})).must(t)
	try(r.queues.Ack(ctx, &pb.AckRequest{Queue: "q", Receipts: []string{first[0].Receipt}})).must(t)
	third := rc.next(1)
	if got := r.stats("q"); got != [2]int64{2, 2} {
		t.Fatalf("after an ack and one more delivery: (visible, in flight) = %v, want [2 2]", got)
	}
	// A nack returns credit too; the nacked message comes back.
	try(r.queues.Nack(ctx, &pb.NackRequest{Queue: "q", Receipts: []string{first[1].Receipt}})).must(t)
	try(r.queues.Ack(ctx, &pb.AckRequest{Queue: "q", Receipts: []string{third[0].Receipt}})).must(t)
	rest := rc.next(2)
	if got := r.stats("q"); got != [2]int64{1, 2} {
		t.Fatalf("after a nack, an ack and two more: (visible, in flight) = %v, want [1 2]", got)
	}
	for _, d := range rest {
		if d.Id == first[0].Id || d.Id == third[0].Id {
			t.Errorf("an acked message was delivered again: %v", d)
		}
	}

	// Credit out of range, unknown queue.
	bad := r.receive(&pb.ReceiveRequest{Queue: "q", Credit: server.MaxCredit + 1})
	if bad.stream.Receive() {
		t.Fatal("receive with too much credit delivered")
	}
	wantErr(t, bad.stream.Err(), connect.CodeInvalidArgument, "INVALID_ARGUMENT", "credit")
	missing := r.receive(&pb.ReceiveRequest{Queue: "nope"})
	if missing.stream.Receive() {
		t.Fatal("receive from a missing queue delivered")
	}
	wantErr(t, missing.stream.Err(), connect.CodeNotFound, "NOT_FOUND", "")
}

// session is an open consumer session.
type session struct {
	t      *testing.T
	stream *connect.BidiStreamForClientSimple[pb.ConsumerSessionRequest, pb.ConsumerSessionResponse]
	cancel context.CancelFunc
	queued []*pb.Delivery
}

func (r *rpc) session(start *pb.ConsumerStart) *session {
	r.t.Helper()
	ctx, cancel := context.WithCancel(r.t.Context())
	stream, err := r.consumer.ConsumerSession(ctx)
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	s := &session{t: r.t, stream: stream, cancel: cancel}
	r.t.Cleanup(func() {
		cancel()
		_ = stream.CloseRequest()
		_ = stream.CloseResponse()
	})
	s.sendCmd(&pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Start{Start: start}})
	return s
}

func (s *session) sendCmd(m *pb.ConsumerSessionRequest) {
	s.t.Helper()
	if err := s.stream.Send(m); err != nil {
		s.t.Fatalf("session send: %v", err)
	}
}

// event returns the next event that is not deliveries, queueing the
// deliveries that come before it.
func (s *session) event() *pb.ConsumerSessionResponse {
	s.t.Helper()
	for {
		m, err := s.stream.Receive()
		if err != nil {
			s.t.Fatalf("session ended: %v", err)
		}
		if d := m.GetDeliveries(); d != nil {
			s.queued = append(s.queued, d.Deliveries...)
			continue
		}
		return m
	}
}

// next returns the next n deliveries.
func (s *session) next(n int) []*pb.Delivery {
	s.t.Helper()
	for len(s.queued) < n {
		m, err := s.stream.Receive()
		if err != nil {
			s.t.Fatalf("session ended: %v", err)
		}
		d := m.GetDeliveries()
		if d == nil {
			s.t.Fatalf("event %v, want deliveries", m)
		}
		s.queued = append(s.queued, d.Deliveries...)
	}
	out := s.queued[:n:n]
	s.queued = s.queued[n:]
	return out
}

func (s *session) ack(id uint64, receipts ...string) *pb.ConsumerSettled {
	s.t.Helper()
	s.sendCmd(&pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Ack{Ack: &pb.ConsumerAck{Id: id, Receipts: receipts}}})
	return s.settled(id)
}

func (s *session) settled(id uint64) *pb.ConsumerSettled {
	s.t.Helper()
	ev := s.event().GetSettled()
	if ev == nil || ev.Id != id {
		s.t.Fatalf("event %v, want settled %d", ev, id)
	}
	return ev
}

// TestGRPCConsumerSession runs a consumer session on a queue: deliveries
// within the credit, ack, nack with redelivery, extend, more credit, and
// the nack of unsettled deliveries when the session ends.
func TestGRPCConsumerSession(t *testing.T) {
	r := newRPC(t, []connect.ClientOption{connect.WithGRPC()})
	ctx := t.Context()
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "q"})).must(t)
	r.send("q", "1", "2", "3")

	s := r.session(&pb.ConsumerStart{Source: &pb.ConsumerStart_Queue{Queue: "q"}, Credit: 2, Visibility: dur(time.Hour)})
	if st := s.event().GetStarted(); st == nil || st.Credit != 2 {
		t.Fatalf("first event %v, want started with credit 2", st)
	}
	ds := s.next(2)
	if got := r.stats("q"); got != [2]int64{1, 2} {
		t.Fatalf("with credit 2: (visible, in flight) = %v, want [1 2]", got)
	}
	// Ack one: its unit returns and a third message comes.
	if st := s.ack(1, ds[0].Receipt); len(st.Failed) != 0 || st.Error != nil {
		t.Fatalf("ack: %v", st)
	}
	third := s.next(1)[0]
	// Nack one: it comes back, delivered a second time.
	s.sendCmd(&pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Nack{Nack: &pb.ConsumerNack{Id: 2, Receipts: []string{ds[1].Receipt}}}})
	if st := s.settled(2); len(st.Failed) != 0 || st.Error != nil {
		t.Fatalf("nack: %v", st)
	}
	again := s.next(1)[0]
	if again.Id != ds[1].Id || again.ReceiveCount != 2 {
		t.Fatalf("after a nack: delivery %v, want message %s again with receive count 2", again, ds[1].Id)
	}
	if got := r.stats("q"); got != [2]int64{0, 2} {
		t.Fatalf("after ack and nack: (visible, in flight) = %v, want [0 2]", got)
	}
	// Extend answers but returns no credit; a failed command is answered
	// and the session goes on.
	s.sendCmd(&pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Extend{Extend: &pb.ConsumerExtend{Id: 3, Receipts: []string{third.Receipt}, Visibility: dur(time.Hour)}}})
	if st := s.settled(3); len(st.Failed) != 0 || st.Error != nil {
		t.Fatalf("extend: %v", st)
	}
	s.sendCmd(&pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Ack{Ack: &pb.ConsumerAck{Id: 4}}})
	if st := s.settled(4); st.Error == nil || st.Error.Code != "invalid_argument" || st.Error.Field != "receipts" {
		t.Fatalf("empty ack: %v, want an invalid_argument error on receipts", st)
	}
	if st := s.ack(5, ds[0].Receipt); len(st.Failed) != 0 {
		// Acking a message already gone succeeds.
		t.Fatalf("second ack of a receipt: %v", st)
	}
	if got := r.stats("q"); got != [2]int64{0, 2} {
		t.Fatalf("after extend and failed commands: (visible, in flight) = %v, want [0 2]", got)
	}
	// More credit: a new message comes.
	r.send("q", "4")
	s.sendCmd(&pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Credit{Credit: 1}})
	last := s.next(1)[0]
	if got := r.stats("q"); got != [2]int64{0, 3} {
		t.Fatalf("after one more credit: (visible, in flight) = %v, want [0 3]", got)
	}
	// A unary ack settles a session's delivery too.
	try(r.queues.Ack(ctx, &pb.AckRequest{Queue: "q", Receipts: []string{last.Receipt}})).must(t)

	// Closing the session nacks what it has not settled (third and
	// again): they are visible at once, not after an hour.
	if err := s.stream.CloseRequest(); err != nil {
		t.Fatal(err)
	}
	if m, err := s.stream.Receive(); err == nil {
		t.Fatalf("after closing: event %v, want the end", m)
	} else if !errors.Is(err, io.EOF) {
		t.Fatalf("session ended with %v, want EOF", err)
	}
	if got := r.stats("q"); got != [2]int64{2, 0} {
		t.Fatalf("after the session: (visible, in flight) = %v, want [2 0]", got)
	}
}

// TestGRPCConsumerSessionSubscription runs a session on a durable
// subscription, and checks the protocol errors that end a session.
func TestGRPCConsumerSessionSubscription(t *testing.T) {
	r := newRPC(t, []connect.ClientOption{connect.WithGRPC()})
	ctx := t.Context()
	try(r.topics.CreateTopic(ctx, &pb.CreateTopicRequest{Name: "events"})).must(t)
	try(r.topics.Subscribe(ctx, &pb.SubscribeRequest{Topic: "events", Name: "eu", Subscription: &pb.Subscription{
		Kind: pb.SubscriptionKind_SUBSCRIPTION_KIND_DURABLE, Raw: true,
	}})).must(t)
	try(r.topics.Publish(ctx, &pb.PublishRequest{Topic: "events", Messages: msgs("hello")})).must(t)

	s := r.session(&pb.ConsumerStart{Source: &pb.ConsumerStart_Subscription{Subscription: &pb.SubscriptionRef{Topic: "events", Name: "eu"}}, Credit: 1})
	s.event()
	d := s.next(1)[0]
	if string(d.Body) != "hello" {
		t.Fatalf("delivery %q, want hello", d.Body)
	}
	if st := s.ack(1, d.Receipt); len(st.Failed) != 0 || st.Error != nil {
		t.Fatalf("ack: %v", st)
	}
	// A second start ends the session.
	s.sendCmd(&pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Start{Start: &pb.ConsumerStart{}}})
	_, err := s.stream.Receive()
	wantErr(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT", "start")

	for _, c := range []struct {
		name  string
		first *pb.ConsumerSessionRequest
		code  connect.Code
		field string
	}{
		{"no start", &pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Credit{Credit: 1}}, connect.CodeInvalidArgument, "start"},
		{"no source", &pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Start{Start: &pb.ConsumerStart{}}}, connect.CodeInvalidArgument, "start.source"},
		{"bad queue name", &pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Start{Start: &pb.ConsumerStart{Source: &pb.ConsumerStart_Queue{Queue: "a b"}}}}, connect.CodeInvalidArgument, "start.queue"},
		{"missing queue", &pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Start{Start: &pb.ConsumerStart{Source: &pb.ConsumerStart_Queue{Queue: "nope"}}}}, connect.CodeNotFound, ""},
		{"credit", &pb.ConsumerSessionRequest{Command: &pb.ConsumerSessionRequest_Start{Start: &pb.ConsumerStart{Source: &pb.ConsumerStart_Subscription{Subscription: &pb.SubscriptionRef{Topic: "events", Name: "eu"}}, Credit: -1}}}, connect.CodeInvalidArgument, "start.credit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stream := try(r.consumer.ConsumerSession(ctx)).must(t)
			defer stream.CloseResponse()
			if err := stream.Send(c.first); err != nil {
				t.Fatal(err)
			}
			_, err := stream.Receive()
			reason := "INVALID_ARGUMENT"
			if c.code == connect.CodeNotFound {
				reason = "NOT_FOUND"
			}
			wantErr(t, err, c.code, reason, c.field)
			_ = stream.CloseRequest()
		})
	}
}

// TestGRPCErrorTable checks that gRPC and REST answer the same errors the
// same way: the table's gRPC code and the REST code as the reason.
func TestGRPCErrorTable(t *testing.T) {
	cases := []struct {
		err    error
		code   connect.Code
		status int
	}{
		{courier.ErrNotFound, connect.CodeNotFound, http.StatusNotFound},
		{courier.ErrExists, connect.CodeAlreadyExists, http.StatusConflict},
		{courier.ErrConflict, connect.CodeFailedPrecondition, http.StatusConflict},
		{courier.ErrFenced, connect.CodeAborted, http.StatusConflict},
		{courier.ErrTooLarge, connect.CodeResourceExhausted, http.StatusRequestEntityTooLarge},
		{courier.ErrInvalid, connect.CodeInvalidArgument, http.StatusBadRequest},
		{courier.ErrReceiptInvalid, connect.CodeFailedPrecondition, http.StatusBadRequest},
		{courier.ErrStorage, connect.CodeUnavailable, http.StatusServiceUnavailable},
		{courier.ErrClosed, connect.CodeUnavailable, http.StatusServiceUnavailable},
		{courier.ErrUnsupported, connect.CodeUnimplemented, http.StatusNotImplemented},
		{httpapi.ErrUnauthenticated, connect.CodeUnauthenticated, http.StatusUnauthorized},
		{httpapi.ErrPermissionDenied, connect.CodePermissionDenied, http.StatusForbidden},
		{httpapi.ErrRateLimited, connect.CodeResourceExhausted, http.StatusTooManyRequests},
		{context.DeadlineExceeded, connect.CodeDeadlineExceeded, http.StatusGatewayTimeout},
		{context.Canceled, connect.CodeCanceled, http.StatusServiceUnavailable},
		{errors.New("boom"), connect.CodeInternal, http.StatusInternalServerError},
	}
	for _, c := range cases {
		code, e := httpapi.GRPCErrorOf(c.err)
		status, e2 := httpapi.ErrorOf(c.err)
		if code != c.code || status != c.status || e != e2 {
			t.Errorf("%v: gRPC %v %+v, REST %d %+v; want gRPC %v and REST %d with the same error object", c.err, code, e, status, e2, c.code, c.status)
		}
	}

	// Over the wire: the same missing queue through REST and gRPC.
	r := newRPC(t, []connect.ClientOption{connect.WithGRPC()})
	resp, err := r.hc.Get(r.url + "/v1/queues/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, gerr := r.queues.GetQueue(t.Context(), &pb.GetQueueRequest{Name: "nope"})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("REST status %d, want 404", resp.StatusCode)
	}
	wantErr(t, gerr, connect.CodeNotFound, "NOT_FOUND", "")
}

// TestGRPCReflection lists the services with gRPC server reflection, as
// grpcurl does, with v1 and v1alpha.
func TestGRPCReflection(t *testing.T) {
	r := newRPC(t, []connect.ClientOption{connect.WithGRPC()})
	want := []string{"courier.v1.BusService", "courier.v1.ConsumerService", "courier.v1.QueueService", "courier.v1.StreamService", "courier.v1.TopicService"}

	client := grpcreflect.NewClient(r.hc, r.url, connect.WithGRPC())
	stream := client.NewStream(t.Context())
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range names {
		got = append(got, string(n))
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("v1: services %v lack %s", got, w)
		}
	}
	files, err := stream.FileContainingSymbol("courier.v1.ConsumerService")
	if err != nil || len(files) == 0 {
		t.Errorf("v1: FileContainingSymbol: %v %v", files, err)
	}
	if _, err := stream.Close(); err != nil {
		t.Error(err)
	}

	alpha := connect.NewClient[rpb.ServerReflectionRequest, rpb.ServerReflectionResponse](
		r.hc, r.url+"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", connect.WithGRPC())
	bidi := alpha.CallBidiStream(t.Context())
	if err := bidi.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := bidi.Receive()
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("v1alpha: services %v lack %s", got, w)
		}
	}
	_ = bidi.CloseRequest()
	_ = bidi.CloseResponse()
}

// TestGRPCLimits checks that the server's limits apply to gRPC requests
// before they are decoded or copied.
func TestGRPCLimits(t *testing.T) {
	r := newRPC(t, []connect.ClientOption{connect.WithGRPC()}, server.WithLimits(server.Limits{MaxRequestBytes: 4096, MaxBatch: 2, MaxMessageBytes: 1024}))
	ctx := t.Context()
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "q"})).must(t)
	_, err := r.queues.Send(ctx, &pb.SendRequest{Queue: "q", Messages: msgs(strings.Repeat("x", 8192))})
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Errorf("a request over the byte limit: %v, want RESOURCE_EXHAUSTED", err)
	}
	_, err = r.queues.Send(ctx, &pb.SendRequest{Queue: "q", Messages: msgs("a", "b", "c")})
	wantErr(t, err, connect.CodeResourceExhausted, "TOO_LARGE", "messages")
	_, err = r.queues.Send(ctx, &pb.SendRequest{Queue: "q", Messages: msgs("a", strings.Repeat("x", 2000))})
	wantErr(t, err, connect.CodeResourceExhausted, "TOO_LARGE", "messages[1]")
	try(r.queues.Send(ctx, &pb.SendRequest{Queue: "q", Messages: msgs("a", "b")})).must(t)
}

// TestGRPCDrain checks that Drain ends the open streams with UNAVAILABLE.
func TestGRPCDrain(t *testing.T) {
	r := newRPC(t, []connect.ClientOption{connect.WithGRPC()})
	ctx := t.Context()
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "q"})).must(t)
	try(r.topics.CreateTopic(ctx, &pb.CreateTopicRequest{Name: "t"})).must(t)
	rc := r.receive(&pb.ReceiveRequest{Queue: "q"})
	tail := try(r.topics.Tail(ctx, &pb.TailRequest{Topic: "t"})).must(t)
	defer tail.Close()
	if !tail.Receive() {
		t.Fatal(tail.Err())
	}
	s := r.session(&pb.ConsumerStart{Source: &pb.ConsumerStart_Queue{Queue: "q"}, Credit: 1})
	s.event()
	r.srv.Drain()
	if rc.stream.Receive() {
		t.Fatal("receive delivered after Drain")
	}
	wantErr(t, rc.stream.Err(), connect.CodeUnavailable, "", "")
	if tail.Receive() {
		t.Fatal("tail delivered after Drain")
	}
	wantErr(t, tail.Err(), connect.CodeUnavailable, "", "")
	_, err := s.stream.Receive()
	wantErr(t, err, connect.CodeUnavailable, "", "")
}

// TestGRPCWeb checks a unary call and a server stream over gRPC-Web.
func TestGRPCWeb(t *testing.T) {
	r := newRPC(t, []connect.ClientOption{connect.WithGRPCWeb()})
	ctx := t.Context()
	try(r.queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "q"})).must(t)
	r.send("q", "web")
	if d := r.receive(&pb.ReceiveRequest{Queue: "q"}).next(1)[0]; string(d.Body) != "web" {
		t.Errorf("delivery %q, want web", d.Body)
	}
	_, err := r.queues.GetQueue(ctx, &pb.GetQueueRequest{Name: "nope"})
	wantErr(t, err, connect.CodeNotFound, "NOT_FOUND", "")
}

// TestGRPCGoInterop calls the server with grpc-go, the reference gRPC
// implementation, over h2c: a unary call, a server stream, an error with
// its details, and reflection.
func TestGRPCGoInterop(t *testing.T) {
	r := newRPC(t, nil)
	conn, err := grpc.NewClient(strings.TrimPrefix(r.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := t.Context()

	var created pb.CreateQueueResponse
	if err := conn.Invoke(ctx, courierv1connect.QueueServiceCreateQueueProcedure, &pb.CreateQueueRequest{Name: "q"}, &created); err != nil || !created.Created {
		t.Fatalf("CreateQueue: %v %v", &created, err)
	}
	var sent pb.SendResponse
	if err := conn.Invoke(ctx, courierv1connect.QueueServiceSendProcedure, &pb.SendRequest{Queue: "q", Messages: msgs("hi")}, &sent); err != nil {
		t.Fatal(err)
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	desc := &grpc.StreamDesc{StreamName: "Receive", ServerStreams: true}
	stream, err := conn.NewStream(sctx, desc, courierv1connect.QueueServiceReceiveProcedure)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(&pb.ReceiveRequest{Queue: "q", Credit: 1}); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var got pb.ReceiveResponse
	if err := stream.RecvMsg(&got); err != nil || len(got.Deliveries) != 1 || string(got.Deliveries[0].Body) != "hi" {
		t.Fatalf("Receive: %v %v", &got, err)
	}
	cancel()

	err = conn.Invoke(ctx, courierv1connect.QueueServiceGetQueueProcedure, &pb.GetQueueRequest{Name: "a b"}, &pb.GetQueueResponse{})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("GetQueue of a bad name: %v", err)
	}
	var field string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			field = br.FieldViolations[0].Field
		}
	}
	if field != "name" {
		t.Errorf("bad request details %v, want the field name", st.Details())
	}

	rc, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetListServicesResponse().GetService()); n < 5 {
		t.Errorf("reflection lists %d services: %v", n, resp)
	}
	if err := rc.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Recv(); err != io.EOF {
		t.Errorf("reflection stream end: %v", err)
	}
}

// TestGRPCGuardErrors checks that the route guard refuses gRPC, gRPC-Web
// and Connect requests in their own protocol, with the code and details of
// the error table: no credentials are UNAUTHENTICATED, a token over its
// rate is RESOURCE_EXHAUSTED with a Retry-After header.
func TestGRPCGuardErrors(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			r := newRPC(t, p.opts, server.WithIdentities(server.Identity{
				Name: "app", TokenHash: server.HashToken("s3cret"), Rate: 0.001, Burst: 1,
				Allow: []server.Grant{{Actions: []server.Action{server.ActionAdmin}, Resource: "*"}},
			}))
			_, err := r.queues.ListQueues(t.Context(), &pb.ListQueuesRequest{})
			wantErr(t, err, connect.CodeUnauthenticated, "UNAUTHENTICATED", "")

			q := courierv1connect.NewQueueServiceClient(&http.Client{Transport: bearerTransport{"s3cret", r.hc.Transport}}, r.url, p.opts...)
			if _, err := q.ListQueues(t.Context(), &pb.ListQueuesRequest{}); err != nil {
				t.Fatalf("the first call within the burst: %v", err)
			}
			_, err = q.ListQueues(t.Context(), &pb.ListQueuesRequest{})
			wantErr(t, err, connect.CodeResourceExhausted, "RATE_LIMITED", "")
			var ce *connect.Error
			if errors.As(err, &ce) && ce.Meta().Get("Retry-After") == "" {
				t.Errorf("a rate-limited call without Retry-After: %v", ce.Meta())
			}
		})
	}
}

// bearerTransport adds a bearer token to every request.
type bearerTransport struct {
	token string
	next  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
