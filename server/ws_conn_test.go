package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courier-io/courier/server"
)

// fillStream appends n records of size bytes each to a new stream.
func (e *wsEnv) fillStream(name string, n, size int) {
	e.t.Helper()
	e.ok("PUT", "/v1/streams/"+name, "", http.StatusCreated, nil)
	value := strings.Repeat("x", size)
	for done := 0; done < n; done += 1000 {
		recs := make([]map[string]any, min(1000, n-done))
		for i := range recs {
			recs[i] = map[string]any{"value": value}
		}
		e.ok("POST", "/v1/streams/"+name+"/records", jsonText(e.t, map[string]any{"records": recs}), http.StatusOK, nil)
	}
}

// TestWSSlowClientCutOff subscribes a client that reads nothing to a
// stream of 24 MiB with all the credit it needs. The server must not
// buffer the stream: it holds at most the connection's queue, cuts the
// client off with 1008 "client too slow", and its memory and goroutines
// come back to where they were.
func TestWSSlowClientCutOff(t *testing.T) {
	const records, size = 24000, 1024
	e := newWSEnv(t, server.WSConfig{
		QueueFrames:  64,
		QueueBytes:   1 << 20,
		MaxCredit:    records,
		WriteTimeout: 300 * time.Millisecond,
		CloseTimeout: time.Minute, // time for the client to read to the close frame
	})
	e.fillStream("big", records, size)
	heapBefore := heapAfterGC()
	goroutines := runtime.NumGoroutine()

	c := e.dialRaw(nil)
	subscribe(t, c, records)
	// The client reads nothing. The server fills the socket, then its
	// queue, then gives up.
	e.logs.wait(t, "reason=client too slow: 64 frames queued")
	if heapNow := heapAfterGC(); heapNow > heapBefore+8<<20 {
		t.Errorf("server heap grew from %d to %d bytes for a client that reads nothing", heapBefore, heapNow)
	}
	if high := e.srv.WSQueuedHigh(); high > 1<<20 {
		t.Errorf("%d bytes were queued for one connection; the limit is %d", high, 1<<20)
	}

	// Reading now, the client gets what was in the socket, then the close
	// frame with the reason.
	n, err := readUntilClosed(t, c)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "client too slow: 64 frames queued" {
		t.Fatalf("connection ended with %v, want 1008 client too slow", err)
	}
	if n >= records {
		t.Fatalf("the client got all %d records: nothing was cut off", n)
	}
	t.Logf("the client got %d of %d records before the cut", n, records)

	eventually(t, "the connection is released", func() bool { return e.srv.WSConns() == 0 })
	eventually(t, "goroutines are back to their number before", func() bool { return runtime.NumGoroutine() <= goroutines })
	if heapAfter := heapAfterGC(); heapAfter > heapBefore+1<<20 {
		t.Errorf("server heap %d bytes after the connection, %d before", heapAfter, heapBefore)
	}
}

// subscribe subscribes a raw connection to the stream "big" from its
// start with credit.
func subscribe(t *testing.T, c *websocket.Conn, credit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wsWait)
	defer cancel()
	wsMust(t, c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"op":"subscribe","id":"1","stream":"big","from":"earliest","credit":%d}`, credit))))
}

// TestWSClientNeverReads: a client that never reads again is released
// WriteTimeout plus CloseTimeout after it stopped: the socket is closed
// without a close frame, since none can get through.
func TestWSClientNeverReads(t *testing.T) {
	const records, size = 24000, 1024
	e := newWSEnv(t, server.WSConfig{
		MaxCredit:    records,
		WriteTimeout: 200 * time.Millisecond,
		CloseTimeout: 200 * time.Millisecond,
	})
	e.fillStream("big", records, size)
	heapBefore := heapAfterGC()
	goroutines := runtime.NumGoroutine()
	c := e.dialRaw(nil)
	subscribe(t, c, records)
	e.logs.wait(t, "client too slow: ")
	eventually(t, "the connection is released", func() bool { return e.srv.WSConns() == 0 })
	eventually(t, "goroutines are back to their number before", func() bool { return runtime.NumGoroutine() <= goroutines })
	if heapAfter := heapAfterGC(); heapAfter > heapBefore+1<<20 {
		t.Errorf("server heap %d bytes after the connection, %d before", heapAfter, heapBefore)
	}
	if high := e.srv.WSQueuedHigh(); high > server.DefaultWSQueueBytes {
		t.Errorf("%d bytes were queued for one connection; the limit is %d", high, server.DefaultWSQueueBytes)
	}
	if _, err := readUntilClosed(t, c); websocket.CloseStatus(err) != -1 {
		t.Fatalf("read %v, want the socket closed without a close frame", err)
	}
}

func TestWSKeepalive(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{PingInterval: 20 * time.Millisecond, PongTimeout: time.Second, CloseTimeout: time.Minute})

	// A client that reads answers the pings and stays.
	var pings atomic.Int64
	enough := make(chan struct{})
	c := e.dialWith(&websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		if pings.Add(1) == 5 {
			close(enough)
		}
		return true
	}})
	select {
	case <-enough:
	case <-time.After(wsWait):
		t.Fatalf("%d pings in %v, want 5", pings.Load(), wsWait)
	}
	c.quiet()

	// A client that reads nothing answers no ping: it is closed.
	raw := e.dialRaw(nil)
	e.logs.wait(t, "keepalive: no pong within 1s")
	if _, err := readUntilClosed(t, raw); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("read %v, want close 1008", err)
	}
	c.quiet()
	eventually(t, "one connection left", func() bool { return e.srv.WSConns() == 1 })
}

func TestWSDrain(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{})
	e.create("jobs", "")
	e.ok("PUT", "/v1/topics/t", "", http.StatusCreated, nil)
	c := e.dial()
	c.ok(map[string]any{"op": "subscribe", "queue": "jobs"}) // a long poll in progress
	c.ok(map[string]any{"op": "subscribe", "topic": "t"})
	other := e.dial()
	other.quiet()

	start := time.Now()
	e.srv.Drain() // returns once the connections are closed
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Drain took %v", d)
	}
	if n := e.srv.WSConns(); n != 0 {
		t.Fatalf("%d connections after Drain", n)
	}
	for _, cl := range []*wsClient{c, other} {
		if code, reason := cl.closed(); code != websocket.StatusGoingAway || !strings.Contains(reason, "shutting down") {
			t.Errorf("closed with %d %q, want 1001 going away", code, reason)
		}
	}
	// A connection after Drain is closed at once.
	late := e.dial()
	if code, _ := late.closed(); code != websocket.StatusGoingAway {
		t.Errorf("a connection after Drain closed with %d, want 1001", code)
	}
}

func TestWSConnectionLimits(t *testing.T) {
	e := newWSEnv(t, server.WSConfig{MaxFrameBytes: 2048, MaxConnections: 2})

	// A frame over the limit closes with 1009.
	c := e.dial()
	c.write(`{"op":"ping","id":"` + strings.Repeat("x", 3000) + `"}`)
	if code, _ := c.closed(); code != websocket.StatusMessageTooBig {
		t.Errorf("a large frame closed with %d, want 1009", code)
	}
	eventually(t, "the connection is released", func() bool { return e.srv.WSConns() == 0 })

	// A binary frame closes with 1003.
	c = e.dial()
	ctx, cancel := context.WithTimeout(t.Context(), wsWait)
	defer cancel()
	wsMust(t, c.c.Write(ctx, websocket.MessageBinary, []byte(`{"op":"ping"}`)))
	if code, reason := c.closed(); code != websocket.StatusUnsupportedData || !strings.Contains(reason, "binary") {
		t.Errorf("a binary frame closed with %d %q, want 1003", code, reason)
	}
	eventually(t, "the connection is released", func() bool { return e.srv.WSConns() == 0 })

	// Over MaxConnections: 1013.
	a, b := e.dial(), e.dial()
	a.quiet()
	b.quiet()
	over := e.dial()
	if code, reason := over.closed(); code != websocket.StatusTryAgainLater || !strings.Contains(reason, "too many connections") {
		t.Errorf("a third connection closed with %d %q, want 1013", code, reason)
	}
	a.c.Close(websocket.StatusNormalClosure, "")
	eventually(t, "a is released", func() bool { return e.srv.WSConns() == 1 })
	e.dial().quiet()

	// Origins: a browser page from elsewhere is refused; the server's
	// own host is allowed.
	hdr := http.Header{"Origin": {"http://evil.example"}}
	dctx, dcancel := context.WithTimeout(t.Context(), wsWait)
	defer dcancel()
	if _, resp, err := websocket.Dial(dctx, e.wsURL, &websocket.DialOptions{HTTPHeader: hdr}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("dial from another origin: %v, want 403", err)
	}
}
