package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	dto "github.com/prometheus/client_model/go"
	"time"

	"github.com/courier-io/courier"
)

// pipeListener is a net.Listener of in-memory connections (net.Pipe), so
// that an http.Server runs inside a synctest bubble, on its fake clock.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial connects to the listener's server.
func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
	case <-l.done:
		server.Close()
	}
	return client
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// bubbleServer serves a mem:// broker with limits on a pipeListener
// wrapped by Server.Listener, through Server.HTTPServer: the server
// courier serve runs, on the bubble's clock. Call it inside
// synctest.Test; the test's cleanup stops it.
func bubbleServer(t *testing.T, limits Limits, opts ...Option) (*Server, *pipeListener) {
	t.Helper()
	b, err := courier.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	s := New(b, append(opts, WithLimits(limits))...)
	ln := newPipeListener()
	hs := s.HTTPServer()
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(s.Listener(ln))
	}()
	t.Cleanup(func() {
		s.Drain()
		hs.Close()
		<-served
		b.Close()
	})
	return s, ln
}

// roundTrip writes a raw request on c and reads the answer.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, req string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return resp, string(body)
}

const getHealthz = "GET /healthz HTTP/1.1\r\nHost: courier\r\n\r\n"

// TestSlowlorisHeaders checks that a client that dribbles its headers is
// cut off ReadHeaderTimeout after it connected, however long it keeps
// dribbling.
func TestSlowlorisHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ln := bubbleServer(t, Limits{ReadHeaderTimeout: 5 * time.Second})
		c := ln.dial()
		defer c.Close()
		start := time.Now()
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: courier\r\n")
		for i := 0; err == nil && i < 1000; i++ {
			time.Sleep(700 * time.Millisecond)
			_, err = io.WriteString(c, "X-Slow: 1\r\n")
		}
		took := time.Since(start)
		if err == nil {
			t.Fatalf("a client dribbling headers for %v was not cut off", took)
		}
		if took < 5*time.Second || took > 5*time.Second+700*time.Millisecond {
			t.Fatalf("cut off after %v, want right after the 5s read header timeout", took)
		}
	})
}

// TestSlowBody checks that ReadTimeout cuts off a client that dribbles a
// request body.
func TestSlowBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ln := bubbleServer(t, Limits{ReadHeaderTimeout: time.Second, ReadTimeout: 5 * time.Second})
		c := ln.dial()
		defer c.Close()
		start := time.Now()
		dribbled := make(chan time.Duration)
		go func() {
			_, err := io.WriteString(c, "POST /v1/queues/q/messages HTTP/1.1\r\nHost: courier\r\nContent-Length: 1000\r\n\r\n{")
			for err == nil {
				time.Sleep(700 * time.Millisecond)
				_, err = io.WriteString(c, " ")
			}
			dribbled <- time.Since(start)
		}()
		// The server answers the handler's read error, or just closes.
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		answered := time.Since(start)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Fatalf("a dribbled body was answered %s", resp.Status)
			}
		}
		c.Close()
		<-dribbled
		if answered < 5*time.Second || answered > 6*time.Second {
			t.Fatalf("answered after %v, want right after the 5s read timeout", answered)
		}
	})
}

// TestLongPollOutlivesReadTimeout checks that a long poll is not ended by
// ReadTimeout once its body is read (net/http lifts the read deadline
// then; were it to end the request's context, the poll would answer 503
// after 2s).
func TestLongPollOutlivesReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ln := bubbleServer(t, Limits{ReadTimeout: 2 * time.Second})
		c := ln.dial()
		defer c.Close()
		br := bufio.NewReader(c)
		resp, body := roundTrip(t, c, br, "PUT /v1/queues/q HTTP/1.1\r\nHost: courier\r\nContent-Length: 0\r\n\r\n")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %s %s", resp.Status, body)
		}
		start := time.Now()
		const poll = `{"wait": "10s"}`
		resp, body = roundTrip(t, c, br, "POST /v1/queues/q/receive HTTP/1.1\r\nHost: courier\r\nContent-Length: 15\r\n\r\n"+poll)
		if took := time.Since(start); resp.StatusCode != http.StatusOK || took != 10*time.Second {
			t.Fatalf("a 10s long poll with a 2s read timeout: %s %s after %v", resp.Status, body, took)
		}
	})
}

// TestIdleTimeout checks that a keep-alive connection is closed after
// IdleTimeout without a request.
func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ln := bubbleServer(t, Limits{IdleTimeout: 30 * time.Second})
		c := ln.dial()
		defer c.Close()
		br := bufio.NewReader(c)
		if resp, _ := roundTrip(t, c, br, getHealthz); resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %s", resp.Status)
		}
		start := time.Now()
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("reading an idle connection: %v, want EOF", err)
		}
		if took := time.Since(start); took != 30*time.Second {
			t.Fatalf("idle connection closed after %v, want 30s", took)
		}
	})
}

// TestMaxHeaderBytes checks that headers over MaxHeaderBytes are refused
// with 431 (net/http reads up to 4 KiB more than the limit before it
// decides).
func TestMaxHeaderBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ln := bubbleServer(t, Limits{MaxHeaderBytes: 1024})
		c := ln.dial()
		defer c.Close()
		go io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: courier\r\nX-Big: "+strings.Repeat("x", 8<<10)+"\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("8 KiB of headers with MaxHeaderBytes 1024: %s", resp.Status)
		}
		// The server lingers rstAvoidanceDelay (500ms) before it closes a
		// connection it refused: let that pass on the fake clock.
		time.Sleep(time.Second)
	})
}

// TestMaxConnections checks that a connection over MaxConnections is
// closed at once, counted, and that closing one makes room.
func TestMaxConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ln := bubbleServer(t, Limits{MaxConnections: 2})
		var open []net.Conn
		for range 2 {
			c := ln.dial()
			defer c.Close()
			if resp, _ := roundTrip(t, c, bufio.NewReader(c), getHealthz); resp.StatusCode != http.StatusOK {
				t.Fatalf("healthz: %s", resp.Status)
			}
			open = append(open, c)
		}
		third := ln.dial()
		defer third.Close()
		io.WriteString(third, getHealthz) // fails or not: the server closes it
		if _, err := http.ReadResponse(bufio.NewReader(third), nil); err == nil {
			t.Fatal("a third connection was served with MaxConnections 2")
		}
		synctest.Wait()
		if got := s.conns.Load(); got != 2 {
			t.Fatalf("%d connections counted open, want 2", got)
		}
		var rejected dto.Metric
		if err := s.metrics.connsRejected.Write(&rejected); err != nil {
			t.Fatal(err)
		}
		if got := rejected.GetCounter().GetValue(); got != 1 {
			t.Fatalf("%v connections counted rejected, want 1", got)
		}

		open[0].Close()
		synctest.Wait() // the server sees the close and gives back its place
		c := ln.dial()
		defer c.Close()
		if resp, _ := roundTrip(t, c, bufio.NewReader(c), getHealthz); resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz after a close: %s", resp.Status)
		}
	})
}

// TestRateLimit checks the token bucket of an identity: a burst passes,
// the next request is refused with 429, rate_limited and Retry-After, and
// passes once the bucket has refilled; other identities are not
// affected.
func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		grant := []Grant{{Actions: []Action{ActionAdmin}, Resource: "*"}}
		b, err := courier.Open(context.Background(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		s := New(b, WithLimits(Limits{Rate: 0.5, Burst: 2}), WithIdentities(
			Identity{Name: "slow", TokenHash: HashToken("slow-token"), Allow: grant},
			Identity{Name: "fast", TokenHash: HashToken("fast-token"), Allow: grant, Rate: 100},
		))
		for i := range 2 {
			if w := call(s, "GET", "/v1/queues", "slow-token", ""); w.Code != http.StatusOK {
				t.Fatalf("request %d of the burst: %d %s", i, w.Code, w.Body)
			}
		}
		w := call(s, "GET", "/v1/queues", "slow-token", "")
		if w.Code != http.StatusTooManyRequests || errorCode(w) != "rate_limited" || w.Header().Get("Retry-After") != "2" {
			t.Fatalf("over the rate: %d, Retry-After %q, %s", w.Code, w.Header().Get("Retry-After"), w.Body)
		}
		if w := call(s, "GET", "/v1/queues", "fast-token", ""); w.Code != http.StatusOK {
			t.Fatalf("another identity: %d %s", w.Code, w.Body)
		}
		time.Sleep(2 * time.Second)
		if w := call(s, "GET", "/v1/queues", "slow-token", ""); w.Code != http.StatusOK {
			t.Fatalf("after Retry-After: %d %s", w.Code, w.Body)
		}
		if w := call(s, "GET", "/v1/queues", "slow-token", ""); w.Code != http.StatusTooManyRequests {
			t.Fatalf("again over the rate: %d %s", w.Code, w.Body)
		}
	})
}

// TestMaxStreams checks that a long poll over MaxStreams is refused with
// 429 while the others wait, and that the place is given back.
func TestMaxStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := courier.Open(context.Background(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		s := New(b, WithLimits(Limits{MaxStreams: 1}))
		defer s.Drain()
		call(s, "PUT", "/v1/queues/q", "", "")
		polled := make(chan int)
		go func() { polled <- call(s, "POST", "/v1/queues/q/receive", "", `{"wait": "20s"}`).Code }()
		synctest.Wait() // the poll is waiting
		w := call(s, "POST", "/v1/queues/q/receive", "", `{"wait": "1s"}`)
		if w.Code != http.StatusTooManyRequests || errorCode(w) != "rate_limited" || w.Header().Get("Retry-After") == "" {
			t.Fatalf("a second long poll: %d %s", w.Code, w.Body)
		}
		if w := call(s, "POST", "/v1/queues/q/messages", "", `{"body": "x"}`); w.Code != http.StatusOK {
			t.Fatalf("a send is no stream: %d %s", w.Code, w.Body)
		}
		if code := <-polled; code != http.StatusOK {
			t.Fatalf("the first poll: %d", code)
		}
		if w := call(s, "POST", "/v1/queues/q/receive", "", `{"wait": "0s"}`); w.Code != http.StatusOK {
			t.Fatalf("a poll after the first ended: %d %s", w.Code, w.Body)
		}
	})
}

// TestWriteLimits checks MaxRequestBytes, MaxMessageBytes and MaxBatch
// on the write endpoints.
func TestWriteLimits(t *testing.T) {
	s := newTestServer(t, WithLimits(Limits{MaxRequestBytes: 2048, MaxMessageBytes: 1024, MaxBatch: 2}))
	call(s, "PUT", "/v1/queues/q", "", "")
	call(s, "PUT", "/v1/topics/t", "", "")
	call(s, "PUT", "/v1/streams/s", "", "")
	call(s, "PUT", "/v1/buses/b", "", "")
	big := strings.Repeat("x", 1025)
	for _, c := range []struct {
		name, path, body, field string
	}{
		{"body", "/v1/queues/q/messages", `{"body": "` + strings.Repeat("x", 3000) + `"}`, "body"},
		{"message", "/v1/queues/q/messages", `{"body": "` + big + `"}`, "body"},
		{"batch message", "/v1/queues/q/messages", `{"messages": [{"body": "a"}, {"body": "` + big + `"}]}`, "messages[1]"},
		{"batch", "/v1/queues/q/messages", `{"messages": [{"body": "a"}, {"body": "b"}, {"body": "c"}]}`, "messages"},
		{"publish", "/v1/topics/t/messages", `{"messages": [{"body": "a"}, {"body": "b"}, {"body": "c"}]}`, "messages"},
		{"record", "/v1/streams/s/records", `{"records": [{"value": "` + big + `"}]}`, "records[0]"},
		{"records", "/v1/streams/s/records", `{"records": [{"value": "a"}, {"value": "b"}, {"value": "c"}]}`, "records"},
		{"events", "/v1/buses/b/events", `{"entries": [{"source": "s", "detail-type": "t", "detail": {}}, {"source": "s", "detail-type": "t", "detail": {}}, {"source": "s", "detail-type": "t", "detail": {}}]}`, "entries"},
		{"event", "/v1/buses/b/events", `{"entries": [{"source": "s", "detail-type": "t", "detail": {"x": "` + big + `"}}]}`, "entries[0]"},
	} {
		w := call(s, "POST", c.path, "", c.body)
		var field string
		if w.Code == http.StatusRequestEntityTooLarge {
			var e struct {
				Error struct{ Field string } `json:"error"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &e)
			field = e.Error.Field
		}
		if w.Code != http.StatusRequestEntityTooLarge || errorCode(w) != "too_large" || field != c.field {
			t.Errorf("%s: %d %s, want 413 too_large on %s", c.name, w.Code, w.Body, c.field)
		}
	}
	if w := call(s, "POST", "/v1/queues/q/messages", "", `{"messages": [{"body": "a"}, {"body": "b"}]}`); w.Code != http.StatusOK {
		t.Errorf("a batch at the limits: %d %s", w.Code, w.Body)
	}
}
