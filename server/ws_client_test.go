package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

// wsWait bounds every wait of the WebSocket tests: a condition that does
// not hold by then fails the test.
const wsWait = 20 * time.Second

// wsEnv is a running server with a WebSocket endpoint configured by cfg,
// the REST helper for it, and the server's log.
type wsEnv struct {
	*api
	wsURL string
	logs  *logCapture
}

// newWSEnv starts a server on a fresh mem:// broker; the test's cleanup
// drains it (closing the WebSockets), stops it and closes the broker.
func newWSEnv(t *testing.T, cfg server.WSConfig, opts ...server.Option) *wsEnv {
	t.Helper()
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logCapture{}
	srv := server.New(b, append([]server.Option{server.WithWebSocket(cfg), server.WithLogger(slog.New(logs))}, opts...)...)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Drain()
		ts.Close()
		if err := b.Close(); err != nil {
			t.Errorf("closing the broker: %v", err)
		}
	})
	return &wsEnv{
		api:   &api{t: t, url: ts.URL, hc: ts.Client(), b: b, srv: srv},
		wsURL: "ws" + strings.TrimPrefix(ts.URL, "http") + "/v1/ws",
		logs:  logs,
	}
}

// logCapture is a slog handler that keeps the records, so that tests can
// wait for the server to log a decision.
type logCapture struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on each record
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logCapture) WithGroup(string) slog.Handler            { return h }

func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, b.String())
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
	h.mu.Unlock()
	return nil
}

// wait waits until a record contains text and returns it.
func (h *logCapture) wait(t *testing.T, text string) string {
	t.Helper()
	timeout := time.After(wsWait)
	for {
		h.mu.Lock()
		for _, l := range h.lines {
			if strings.Contains(l, text) {
				h.mu.Unlock()
				return l
			}
		}
		if h.changed == nil {
			h.changed = make(chan struct{})
		}
		changed := h.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the server did not log %q within %v; log: %q", text, wsWait, h.lines)
		}
	}
}

// eventually waits until cond holds, checking every few milliseconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wsWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v", what, wsWait)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not waiting for an event
	}
}

// wsIn is any frame from the server. Decoding refuses other fields, so
// tests check that frames hold only documented fields.
type wsIn struct {
	Op      string                `json:"op"`
	ID      string                `json:"id"`
	Sub     string                `json:"sub"`
	Result  json.RawMessage       `json:"result"`
	Error   *httpapi.Error        `json:"error"`
	Message *httpapi.Delivery     `json:"message"`
	Record  *httpapi.StreamRecord `json:"record"`
	Dropped int64                 `json:"dropped"`
	// RetryAfterMs is set on rate_limited errors.
	RetryAfterMs int64 `json:"retry_after_ms"`
}

// wsClient is a test client. A goroutine reads every frame into frames
// (so the client answers pings); frames that are not the answer a call
// waits for are kept in held for push.
type wsClient struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan wsIn
	done   chan struct{} // closed when the reader has stopped
	err    error         // why the reader stopped, once done is closed
	held   []wsIn
	nextID int
}

// dialRaw connects without reading: the connection answers nothing
// (pings included) until the test reads it.
func (e *wsEnv) dialRaw(opts *websocket.DialOptions) *websocket.Conn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), wsWait)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.wsURL, opts)
	if err != nil {
		e.t.Fatalf("dial %s: %v", e.wsURL, err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	c.SetReadLimit(64 << 20)
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

// dial connects a reading client.
func (e *wsEnv) dial() *wsClient { return e.dialWith(nil) }

func (e *wsEnv) dialWith(opts *websocket.DialOptions) *wsClient {
	e.t.Helper()
	c := &wsClient{t: e.t, c: e.dialRaw(opts), frames: make(chan wsIn, 1<<16), done: make(chan struct{})}
	go c.read()
	e.t.Cleanup(func() {
		c.c.CloseNow()
		<-c.done
	})
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	for {
		typ, data, err := c.c.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var f wsIn
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if typ != websocket.MessageText || dec.Decode(&f) != nil {
			c.err = fmt.Errorf("not a JSON text frame of the protocol: %s", data)
			return
		}
		c.frames <- f
	}
}

// next returns the next frame, held ones first.
func (c *wsClient) next() wsIn {
	c.t.Helper()
	if len(c.held) > 0 {
		f := c.held[0]
		c.held = c.held[1:]
		return f
	}
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		// Frames read before the end come first.
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("connection ended: %v", c.err)
	case <-time.After(wsWait):
		c.t.Fatalf("no frame within %v", wsWait)
	}
	panic("unreachable")
}

// write sends a frame as text.
func (c *wsClient) write(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatalf("writing %s: %v", frame, err)
	}
}

// do sends frame (a JSON object; do adds an "id") and returns its answer;
// frames that come before the answer are held.
func (c *wsClient) do(frame map[string]any) wsIn {
	c.t.Helper()
	c.nextID++
	id := "r" + strconv.Itoa(c.nextID)
	frame["id"] = id
	c.write(jsonText(c.t, frame))
	var early []wsIn
	defer func() { c.held = append(c.held, early...) }()
	for {
		f := c.next()
		if f.ID == id {
			return f
		}
		early = append(early, f)
	}
}

// ok runs frame and returns its result, failing unless it is "ok".
func (c *wsClient) ok(frame map[string]any) json.RawMessage {
	c.t.Helper()
	a := c.do(frame)
	if a.Op != "ok" {
		c.t.Fatalf("%s answered %+v (error %+v), want ok", frame["op"], a, a.Error)
	}
	return a.Result
}

// fail runs frame and returns its error, failing unless it is an error
// with code and, if field is not empty, that field.
func (c *wsClient) fail(frame map[string]any, code, field string) httpapi.Error {
	c.t.Helper()
	a := c.do(frame)
	if a.Op != "error" || a.Error == nil || a.Error.Code != code || field != "" && a.Error.Field != field || a.Error.Message == "" {
		c.t.Fatalf("%v answered %+v (error %+v), want error %s on field %q", frame, a, a.Error, code, field)
	}
	return *a.Error
}

// push returns the next pushed frame (message or end).
func (c *wsClient) push() wsIn {
	c.t.Helper()
	f := c.next()
	if f.Op != "message" && f.Op != "end" {
		c.t.Fatalf("got %+v, want a message or end", f)
	}
	return f
}

// quiet checks that no frame is pending: it sends a ping and expects the
// pong next (frames queued before the pong would come first).
func (c *wsClient) quiet() {
	c.t.Helper()
	if len(c.held) > 0 {
		c.t.Fatalf("unexpected frames: %+v", c.held)
	}
	a := c.do(map[string]any{"op": "ping"})
	if a.Op != "pong" || len(c.held) > 0 {
		c.t.Fatalf("ping answered %+v after %+v, want only a pong", a, c.held)
	}
}

// closed waits for the end of the connection and returns the close
// status and reason the server sent.
func (c *wsClient) closed() (websocket.StatusCode, string) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(wsWait):
		c.t.Fatalf("connection still open after %v", wsWait)
	}
	var ce websocket.CloseError
	if !errors.As(c.err, &ce) {
		c.t.Fatalf("connection ended with %v, want a close frame", c.err)
	}
	return ce.Code, ce.Reason
}

// readUntilClosed reads a raw connection to its end and returns the
// number of message frames and the close error.
func readUntilClosed(t *testing.T, c *websocket.Conn) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	n := 0
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return n, err
		}
		if strings.HasPrefix(string(data), `{"op":"message"`) {
			n++
		}
	}
}

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// wsMust fails the test on err.
func wsMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
