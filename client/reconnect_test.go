package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/servertest"
	"github.com/courier-io/courier/server"
)

// TestReconnectAfterServerRestart stops the server under an open client
// and starts it again on the same address and data: a send made while it
// is down waits for it (the dial is retried) and succeeds, the message
// sent before the restart is received after it, and a topic tail reopens
// its stream and delivers what is published once it is back.
func TestReconnectAfterServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv := servertest.Start(t, "file://"+dir)
	addr := strings.TrimPrefix(srv.URL, "http://")
	b := openRemote(t, srv.URL)
	ctx := t.Context()
	q, err := b.CreateQueue(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(ctx, courier.Message{Body: []byte("before")}); err != nil {
		t.Fatal(err)
	}
	topic, err := b.CreateTopic(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	tail, err := topic.Tail(ctx, courier.TailRaw())
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()

	srv.Stop()
	sent := make(chan error, 1)
	go func() {
		_, err := q.Send(ctx, courier.Message{Body: []byte("while down")})
		sent <- err
	}()
	// The send cannot succeed until the server is back.
	select {
	case err := <-sent:
		t.Fatalf("a send with the server down returned %v", err)
	default:
	}
	srv = servertest.StartAt(t, addr, "file://"+dir)
	if err := <-sent; err != nil {
		t.Fatalf("the send made while the server was down: %v", err)
	}
	got := map[string]bool{}
	for len(got) < 2 {
		ds, err := q.Receive(ctx, courier.Max(10), courier.Wait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			got[string(d.Body)] = true
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !got["before"] || !got["while down"] {
		t.Fatalf("received %v", got)
	}

	// The tail reopens on its own; publish once the new server has it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := topic.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Stats.Tails == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tail did not reopen within 30s")
		}
		pollPause()
	}
	if _, err := topic.Publish(ctx, courier.Message{Body: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := tail.Next(nctx)
	if err != nil || string(d.Body) != "after" {
		t.Fatalf("tail after the restart: %q, %v", d.Body, err)
	}
}

// pollPause is the pause between two polls of observable state (the test
// waits for a state, not for a guessed time).
func pollPause() {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	<-c.Done()
}

// TestOpenFailsFast checks that Open does not wait for a server that is
// not there.
func TestOpenFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, c := range clients {
		start := time.Now()
		_, err := courier.Open(t.Context(), c.prefix+"http://"+addr)
		if !errors.Is(err, courier.ErrClosed) {
			t.Errorf("%s: Open of a closed port = %v, want ErrClosed", c.name, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("%s: Open took %v", c.name, el)
		}
	}
}

// TestDeadlinePropagates checks that a call's context deadline reaches the
// server (the grpc-timeout header), so the server stops a long poll when
// the caller gives up, and that the caller sees its own context's error.
func TestDeadlinePropagates(t *testing.T) {
	backend, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	srv := server.New(backend)
	var mu sync.Mutex
	timeouts := map[string]string{}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		timeouts[r.URL.Path] = r.Header.Get("Grpc-Timeout")
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	hs.Config.Protocols = srv.HTTPServer().Protocols
	hs.Start()
	defer hs.Close()
	defer srv.Drain()

	b := openRemote(t, hs.URL)
	q, err := b.CreateQueue(t.Context(), "q")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	ds, err := q.Receive(ctx, courier.Wait(20*time.Second))
	if len(ds) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %d, %v; want the context's deadline", len(ds), err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Receive ran %v past a 300ms deadline", el)
	}
	mu.Lock()
	got := timeouts["/courier.v1.QueueService/Pull"]
	mu.Unlock()
	if got == "" {
		t.Fatalf("the pull carried no grpc-timeout; headers seen: %v", timeouts)
	}
	d, err := parseGRPCTimeout(got)
	if err != nil || d <= 0 || d > 300*time.Millisecond {
		t.Fatalf("grpc-timeout %q (%v, %v); want up to 300ms", got, d, err)
	}
}

// parseGRPCTimeout parses a grpc-timeout header value ("295m", "300000u").
func parseGRPCTimeout(v string) (time.Duration, error) {
	units := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second, 'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}
	if len(v) < 2 {
		return 0, errors.New("too short")
	}
	unit, ok := units[v[len(v)-1]]
	if !ok {
		return 0, errors.New("unknown unit")
	}
	var n int64
	for _, c := range v[:len(v)-1] {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int64(c-'0')
	}
	return time.Duration(n) * unit, nil
}

// TestCloseEndsTails checks that closing the broker ends its topic
// tails: Next answers ErrClosed instead of waiting.
func TestCloseEndsTails(t *testing.T) {
	srv := servertest.Start(t, "mem://")
	b, err := courier.Open(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := b.CreateTopic(t.Context(), "news")
	if err != nil {
		t.Fatal(err)
	}
	tail, err := topic.Tail(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := tail.Next(ctx); !errors.Is(err, courier.ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}

// TestOversizedRequestIsTooLarge checks that a request the server refuses
// for its size before any handler reads it is ErrTooLarge.
func TestOversizedRequestIsTooLarge(t *testing.T) {
	srv := servertest.Start(t, "mem://", server.WithLimits(server.Limits{MaxRequestBytes: 1 << 20}))
	b := openRemote(t, srv.URL)
	q, err := b.CreateQueue(t.Context(), "q")
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]courier.Message, 10)
	for i := range msgs {
		msgs[i] = courier.Message{Body: make([]byte, 200<<10)}
	}
	if _, err := q.SendBatch(t.Context(), msgs); !errors.Is(err, courier.ErrTooLarge) {
		t.Fatalf("a 2 MB batch to a 1 MiB server: %v, want ErrTooLarge", err)
	}
}
