package grpcx_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/grpcx"
)

// faults sits in the server's interceptor chain after grpcx's: it fails
// calls with scripted codes, can hold them, and records what arrived.
type faults struct {
	mu        sync.Mutex
	script    []codes.Code // one per call; codes.OK or past the end: serve normally
	calls     atomic.Int32
	hold      chan struct{} // when set, calls wait for it (or their context)
	holdN     int           // when positive, only the first holdN calls wait
	entered   chan struct{} // when set, receives once per waiting call
	deadlines []string      // the courier-deadline metadata of each call
	left      []time.Duration
}

func (f *faults) next(ctx context.Context) error {
	n := int(f.calls.Add(1)) - 1
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	var dl string
	if v := md.Get(resilience.DeadlineMetadataKey); len(v) > 0 {
		dl = v[0]
	}
	f.deadlines = append(f.deadlines, dl)
	if d, ok := ctx.Deadline(); ok {
		f.left = append(f.left, time.Until(d))
	}
	code := codes.OK
	if n < len(f.script) {
		code = f.script[n]
	}
	hold, entered := f.hold, f.entered
	if f.holdN > 0 && n >= f.holdN {
		hold = nil
	}
	f.mu.Unlock()
	if code != codes.OK {
		return status.Error(code, "injected "+code.String())
	}
	if hold != nil {
		if entered != nil {
			entered <- struct{}{}
		}
		select {
		case <-hold:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	return nil
}

func (f *faults) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := f.next(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (f *faults) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := f.next(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

type fixture struct {
	faults *faults
	client healthpb.HealthClient
}

// start serves the health service over bufconn with serverPolicy (may be
// nil) and returns a client using clientPolicy (nil: no interceptors).
func start(t *testing.T, serverPolicy, clientPolicy *resilience.Policy) *fixture {
	t.Helper()
	f := &faults{}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcx.UnaryServerInterceptor(serverPolicy), f.unary),
		grpc.ChainStreamInterceptor(grpcx.StreamServerInterceptor(serverPolicy), f.stream),
	)
	hs := health.NewServer()
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	opts := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
	if clientPolicy != nil {
		opts = append(opts,
			grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(clientPolicy)),
			grpc.WithChainStreamInterceptor(grpcx.StreamClientInterceptor(clientPolicy)))
	}
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-served
		hs.Shutdown()
	})
	return &fixture{faults: f, client: healthpb.NewHealthClient(conn)}
}

func mustPolicy(t *testing.T, opts ...resilience.Option) *resilience.Policy {
	t.Helper()
	p, err := resilience.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fastRetry(attempts int) resilience.Option {
	return resilience.WithRetry(resilience.RetryConfig{MaxAttempts: attempts, MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
}

func check(f *fixture, ctx context.Context, service string) (*healthpb.HealthCheckResponse, error) {
	return f.client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
}

func TestUnaryRetriesRetryableCodes(t *testing.T) {
	for _, c := range []codes.Code{codes.Unavailable, codes.ResourceExhausted, codes.Aborted} {
		f := start(t, nil, mustPolicy(t, fastRetry(3)))
		f.faults.script = []codes.Code{c, c}
		resp, err := check(f, t.Context(), "orders")
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%v: %v, %v", c, resp, err)
		}
		if n := f.faults.calls.Load(); n != 3 {
			t.Errorf("%v: %d calls, want 3", c, n)
		}
	}
}

func TestUnaryExhaustedKeepsTheCode(t *testing.T) {
	f := start(t, nil, mustPolicy(t, fastRetry(2)))
	f.faults.script = []codes.Code{codes.Unavailable, codes.Unavailable}
	_, err := check(f, t.Context(), "orders")
	if status.Code(err) != codes.Unavailable || !errors.Is(err, resilience.ErrRetriesExhausted) ||
		!strings.Contains(err.Error(), "retries exhausted after 2 attempts") {
		t.Errorf("err = %v (code %v)", err, status.Code(err))
	}
}

func TestUnaryAnswersAndFailures(t *testing.T) {
	p := mustPolicy(t, fastRetry(3), resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2, OpenFor: time.Minute}))
	f := start(t, nil, p)

	// NotFound is the service's answer: returned as is, not retried, not a failure.
	for range 3 {
		_, err := check(f, t.Context(), "no-such-service")
		if status.Code(err) != codes.NotFound {
			t.Fatalf("err = %v, want NotFound", err)
		}
	}
	if n := f.faults.calls.Load(); n != 3 || p.BreakerState() != resilience.BreakerClosed {
		t.Fatalf("%d calls, breaker %v; want 3 calls and a closed breaker", n, p.BreakerState())
	}

	// Internal is a failure, not retried; two open the breaker.
	f.faults.script = []codes.Code{codes.OK, codes.OK, codes.OK, codes.Internal, codes.Internal}
	for range 2 {
		if _, err := check(f, t.Context(), "orders"); status.Code(err) != codes.Internal {
			t.Fatalf("err = %v, want Internal", err)
		}
	}
	if n := f.faults.calls.Load(); n != 5 {
		t.Fatalf("%d calls, want 5: Internal must not be retried", n)
	}
	_, err := check(f, t.Context(), "orders")
	if status.Code(err) != codes.Unavailable || !errors.Is(err, resilience.ErrCircuitOpen) || f.faults.calls.Load() != 5 {
		t.Errorf("open breaker: err %v (code %v)", err, status.Code(err))
	}
}

func TestUnaryPolicyErrorCodes(t *testing.T) {
	empty, err := resilience.NewBudget(0, 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f := start(t, nil, mustPolicy(t, fastRetry(3), resilience.WithBudget(empty)))
	f.faults.script = []codes.Code{codes.Unavailable}
	_, err = check(f, t.Context(), "orders")
	if status.Code(err) != codes.ResourceExhausted || !errors.Is(err, resilience.ErrBudgetExhausted) {
		t.Errorf("budget: err %v (code %v), want ResourceExhausted", err, status.Code(err))
	}

	f = start(t, nil, mustPolicy(t, resilience.WithRateLimit(0.001, 1)))
	_, _ = check(f, t.Context(), "orders")
	_, err = check(f, t.Context(), "orders")
	if status.Code(err) != codes.ResourceExhausted || !errors.Is(err, resilience.ErrRateLimited) {
		t.Errorf("rate limit: err %v (code %v), want ResourceExhausted", err, status.Code(err))
	}

	// The policy's timeout cuts each attempt; timed-out attempts are retried.
	f = start(t, nil, mustPolicy(t, fastRetry(2), resilience.WithTimeout(30*time.Millisecond)))
	f.faults.hold = make(chan struct{})
	_, err = check(f, t.Context(), "orders")
	if status.Code(err) != codes.DeadlineExceeded || !errors.Is(err, resilience.ErrTimeout) || f.faults.calls.Load() != 2 {
		t.Errorf("timeout: err %v (code %v), %d calls", err, status.Code(err), f.faults.calls.Load())
	}
}

func TestDeadlineMetadata(t *testing.T) {
	f := start(t, mustPolicy(t), mustPolicy(t, fastRetry(2)))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := check(f, ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	ms := strings.TrimSuffix(f.faults.deadlines[0], "ms")
	if len(ms) != 4 || ms > "4990" || ms < "4000" {
		t.Errorf("courier-deadline %q, want a little under 4990ms", f.faults.deadlines[0])
	}
	if left := f.faults.left[0]; left > 4990*time.Millisecond || left < 4*time.Second {
		t.Errorf("server context has %v left", left)
	}

	// A malformed value is refused before the handler.
	bad := metadata.AppendToOutgoingContext(t.Context(), resilience.DeadlineMetadataKey, "tomorrow")
	_, err := check(f, bad, "orders")
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `"tomorrow" is not a duration`) {
		t.Errorf("err = %v, want InvalidArgument", err)
	}
}

func TestServerSheds(t *testing.T) {
	f := start(t, mustPolicy(t, resilience.WithBulkhead(1, 0)), nil)
	f.faults.hold = make(chan struct{})
	f.faults.entered = make(chan struct{}, 1)
	done := make(chan error)
	go func() {
		_, err := check(f, t.Context(), "orders")
		done <- err
	}()
	<-f.faults.entered // the first call holds the only slot
	_, err := check(f, t.Context(), "orders")
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "bulkhead is full") {
		t.Errorf("err = %v, want Unavailable from the full bulkhead", err)
	}
	close(f.faults.hold)
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestUnaryHedge(t *testing.T) {
	f := start(t, nil, mustPolicy(t, resilience.WithHedge(resilience.HedgeConfig{Delay: 20 * time.Millisecond})))
	// The primary hangs until cancelled; the hedge is served.
	f.faults.hold, f.faults.holdN = make(chan struct{}), 1
	resp, err := check(f, t.Context(), "orders")
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("%v, %v", resp, err)
	}
	if n := f.faults.calls.Load(); n != 2 {
		t.Errorf("%d calls, want the primary and one hedge", n)
	}
}

func TestStreams(t *testing.T) {
	p := mustPolicy(t, fastRetry(3), resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Minute}))
	f := start(t, mustPolicy(t, resilience.WithBulkhead(1, 0)), p)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w, err := f.client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := w.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch: %v, %v", resp, err)
	}

	// The server's bulkhead is held by the open stream.
	w2, err := f.client.Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "orders"})
	if err == nil {
		_, err = w2.Recv()
	}
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "bulkhead is full") {
		t.Errorf("second stream: %v, want Unavailable from the server's bulkhead", err)
	}
	cancel()

	// An open client breaker refuses to open streams.
	p2 := mustPolicy(t, resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Minute}))
	f2 := start(t, nil, p2)
	f2.faults.script = []codes.Code{codes.Internal}
	_, _ = check(f2, t.Context(), "orders")
	_, err = f2.client.Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "orders"})
	if status.Code(err) != codes.Unavailable || !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Errorf("Watch with an open breaker: %v", err)
	}
}

func TestCallerCancelIsNotAFailure(t *testing.T) {
	p := mustPolicy(t, fastRetry(3), resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Minute}))
	f := start(t, nil, p)
	f.faults.hold = make(chan struct{})
	f.faults.entered = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-f.faults.entered
		cancel()
	}()
	_, err := check(f, ctx, "orders")
	if status.Code(err) != codes.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v (code %v), want Canceled", err, status.Code(err))
	}
	if n := f.faults.calls.Load(); n != 1 || p.BreakerState() != resilience.BreakerClosed {
		t.Errorf("%d calls, breaker %v; want 1 call, closed", n, p.BreakerState())
	}
	close(f.faults.hold)
}
