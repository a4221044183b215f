package grpcx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/grpcx"
)

const pingProcedure = "/courier.test.v1.PingService/Ping"
const watchProcedure = "/courier.test.v1.PingService/Watch"

// pingServer is a connect handler on *emptypb.Empty that fails with
// scripted codes and records the Courier-Deadline header it received.
type pingServer struct {
	script    []connect.Code
	calls     atomic.Int32
	deadlines []string
	hold      chan struct{}
	entered   chan struct{}
}

func (s *pingServer) ping(ctx context.Context, req *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
	n := int(s.calls.Add(1)) - 1
	s.deadlines = append(s.deadlines, req.Header().Get(resilience.DeadlineHeader))
	if n < len(s.script) && s.script[n] != 0 {
		return nil, connect.NewError(s.script[n], errors.New("injected"))
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (s *pingServer) watch(ctx context.Context, req *connect.Request[emptypb.Empty], stream *connect.ServerStream[emptypb.Empty]) error {
	s.calls.Add(1)
	if err := stream.Send(&emptypb.Empty{}); err != nil {
		return err
	}
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	select {
	case <-s.hold:
	case <-ctx.Done():
	}
	return nil
}

func startConnect(t *testing.T, serverPolicy, clientPolicy *resilience.Policy) (*pingServer, *connect.Client[emptypb.Empty, emptypb.Empty], *connect.Client[emptypb.Empty, emptypb.Empty]) {
	t.Helper()
	s := &pingServer{hold: make(chan struct{})}
	mux := http.NewServeMux()
	interceptors := connect.WithInterceptors(grpcx.ConnectInterceptor(serverPolicy))
	mux.Handle(pingProcedure, connect.NewUnaryHandler(pingProcedure, s.ping, interceptors))
	mux.Handle(watchProcedure, connect.NewServerStreamHandler(watchProcedure, s.watch, interceptors))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(s.hold)
		srv.Close()
	})
	opts := []connect.ClientOption{}
	if clientPolicy != nil {
		opts = append(opts, connect.WithInterceptors(grpcx.ConnectInterceptor(clientPolicy)))
	}
	return s,
		connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+pingProcedure, opts...),
		connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+watchProcedure, opts...)
}

func TestConnectClientRetries(t *testing.T) {
	s, ping, _ := startConnect(t, nil, mustPolicy(t, fastRetry(3)))
	s.script = []connect.Code{connect.CodeUnavailable, connect.CodeAborted}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if _, err := ping.CallUnary(ctx, connect.NewRequest(&emptypb.Empty{})); err != nil {
		t.Fatal(err)
	}
	if n := s.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
	for i, d := range s.deadlines {
		if ms := strings.TrimSuffix(d, "ms"); len(ms) != 4 || ms > "2990" || ms < "2000" {
			t.Errorf("call %d: Courier-Deadline %q, want a little under 2990ms", i+1, d)
		}
	}
}

func TestConnectClientAnswersAndBreaker(t *testing.T) {
	p := mustPolicy(t, fastRetry(3), resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Minute}))
	s, ping, _ := startConnect(t, nil, p)
	s.script = []connect.Code{connect.CodeNotFound, connect.CodeInternal}
	_, err := ping.CallUnary(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if connect.CodeOf(err) != connect.CodeNotFound || s.calls.Load() != 1 || p.BreakerState() != resilience.BreakerClosed {
		t.Fatalf("NotFound: %v after %d calls, breaker %v", err, s.calls.Load(), p.BreakerState())
	}
	_, err = ping.CallUnary(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if connect.CodeOf(err) != connect.CodeInternal || s.calls.Load() != 2 {
		t.Fatalf("Internal: %v after %d calls, want one call", err, s.calls.Load())
	}
	_, err = ping.CallUnary(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if connect.CodeOf(err) != connect.CodeUnavailable || !errors.Is(err, resilience.ErrCircuitOpen) || s.calls.Load() != 2 {
		t.Errorf("open breaker: %v (%v)", err, connect.CodeOf(err))
	}
}

func TestConnectServer(t *testing.T) {
	s, ping, watch := startConnect(t, mustPolicy(t, resilience.WithBulkhead(1, 0)), nil)
	s.entered = make(chan struct{}, 1)

	// A stream holds the server's only bulkhead slot...
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream, err := watch.CallServerStream(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatal(stream.Err())
	}
	<-s.entered
	// ...so a unary call is shed.
	_, err = ping.CallUnary(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "bulkhead is full") {
		t.Errorf("err = %v, want Unavailable from the bulkhead", err)
	}
	cancel()
	stream.Close()

	// A malformed header is refused.
	req := connect.NewRequest(&emptypb.Empty{})
	req.Header().Set(resilience.DeadlineHeader, "-3ms")
	_, err = ping.CallUnary(t.Context(), req)
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "is negative") {
		t.Errorf("err = %v, want InvalidArgument", err)
	}
}
