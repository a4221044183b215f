package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// The WebSocket endpoint, GET /v1/ws: JSON text frames to publish, send,
// append and put events, and to subscribe to topics, queues, durable
// subscriptions and stream partitions with credit-based flow control.
// docs/http-api.md (WebSocket) documents the protocol; this file holds the
// configuration, the connection registry and a connection's life: its
// reader (which runs the ops in order, ws_ops.go), its writer (one bounded
// queue of outgoing frames) and how it ends. Subscriptions are in
// ws_subscription.go, frames in ws_frame.go.
//
// Close codes. A connection ends with one close frame whose code says why:
//
//	1000 normal: the client closed
//	1001 going away: Server.Drain (shutdown), or the backend closed
//	1003 unsupported data: a binary frame
//	1008 policy violation: the client stopped reading (a write blocked for
//	     WSConfig.WriteTimeout: "client too slow: N frames queued"), or
//	     sent no pong within WSConfig.PongTimeout
//	1009 message too big: a frame over WSConfig.MaxFrameBytes
//	1013 try again later: WSConfig.MaxConnections reached
//
// Courier errors that end a connection (1001, 1003, 1009) take their code
// from the error table (httpapi.CloseCodeOf); the conditions that belong
// to the connection itself (slow client, keepalive, connection limit) are
// chosen here. Errors of one op never close the connection: they are
// answered with an error frame.

// WSConfig configures the WebSocket endpoint GET /v1/ws. A zero field
// takes its default; Validate reports fields out of range.
type WSConfig struct {
	// PingInterval is how often the server sends a WebSocket ping on each
	// connection (default 30s).
	PingInterval time.Duration
	// PongTimeout is how long a ping waits for its pong (default 10s); a
	// client that does not answer is closed with 1008.
	PongTimeout time.Duration
	// WriteTimeout bounds the write of one frame (default 10s): a client
	// whose socket accepts nothing for that long has stopped reading, and
	// is cut off with 1008 "client too slow: N frames queued".
	WriteTimeout time.Duration
	// CloseTimeout bounds the close handshake (default 5s): the socket is
	// closed that long after the server decided to close, answered or not.
	// A cut-off client that reads again within it gets the close frame.
	CloseTimeout time.Duration
	// MaxFrameBytes bounds a frame from the client (default 4 MiB, at least
	// 1 KiB): a larger one closes the connection with 1009 before more than
	// the limit is read into memory.
	MaxFrameBytes int
	// QueueFrames and QueueBytes bound the frames waiting to be written to
	// one connection (defaults 1024 frames and 8 MiB; a single frame larger
	// than QueueBytes is still sent alone). While the queue is full, what
	// fills it waits: subscriptions take no more messages from their
	// source, and the connection reads no more frames. So a connection
	// holds at most its queue, whatever the credit, and a client that
	// stops reading fills it and is cut off after WriteTimeout.
	QueueFrames int
	QueueBytes  int
	// MaxSubscriptions bounds the subscriptions of one connection (default
	// 100); a subscribe over it is answered with too_large.
	MaxSubscriptions int
	// MaxConnections bounds the open WebSocket connections of the server
	// (default 10000); a connection over it is closed with 1013 at once.
	MaxConnections int
	// MaxCredit bounds the credit a subscription may hold (default 65536).
	MaxCredit int
	// TailBuffer is the buffer of a topic subscription that does not set
	// "buffer" (default 16): how many messages the ephemeral subscription
	// keeps while its pump has not taken them (the client has no credit,
	// or the connection's queue is full), before "overflow" applies. The
	// engine allocates it whole, about 180 bytes a message, so it is most
	// of an idle subscription's memory; a larger one smooths bursts
	// (BenchmarkWSFanout: 16 or 64 give about 580K or 750K deliveries/s).
	TailBuffer int
	// OriginPatterns lists the browser origins allowed besides the
	// server's own host (patterns as in path.Match, such as
	// "*.example.com"). Requests without an Origin header (non-browser
	// clients) are always allowed; other origins are refused with 403.
	OriginPatterns []string
}

// WSConfig defaults.
const (
	DefaultWSPingInterval     = 30 * time.Second
	DefaultWSPongTimeout      = 10 * time.Second
	DefaultWSWriteTimeout     = 10 * time.Second
	DefaultWSCloseTimeout     = 5 * time.Second
	DefaultWSMaxFrameBytes    = 4 << 20
	DefaultWSQueueFrames      = 1024
	DefaultWSQueueBytes       = 8 << 20
	DefaultWSMaxSubscriptions = 100
	DefaultWSMaxConnections   = 10000
	DefaultWSMaxCredit        = 1 << 16
	DefaultWSTailBuffer       = 16
)

// wsDefaultCredit is the credit of a subscribe frame without "credit".
const wsDefaultCredit = 100

// Validate reports the first field out of range, naming it. Zero fields
// are valid (they take the defaults).
func (c WSConfig) Validate() error {
	durations := []struct {
		field string
		v     time.Duration
	}{
		{"ping_interval", c.PingInterval}, {"pong_timeout", c.PongTimeout},
		{"write_timeout", c.WriteTimeout}, {"close_timeout", c.CloseTimeout},
	}
	for _, d := range durations {
		if d.v < 0 || d.v > time.Hour {
			return driver.Invalid(d.field, "%v is out of range; accepted is 0 (the default) to 1h", d.v)
		}
	}
	ints := []struct {
		field     string
		v, lo, hi int
	}{
		{"max_frame_bytes", c.MaxFrameBytes, 1 << 10, 1 << 30},
		{"queue_frames", c.QueueFrames, 1, 1 << 20},
		{"queue_bytes", c.QueueBytes, 1 << 10, 1 << 32},
		{"max_subscriptions", c.MaxSubscriptions, 1, 1 << 16},
		{"max_connections", c.MaxConnections, 1, 1 << 24},
		{"max_credit", c.MaxCredit, 1, 1 << 30},
		{"tail_buffer", c.TailBuffer, 1, driver.MaxTailBuffer},
	}
	for _, f := range ints {
		if f.v != 0 && (f.v < f.lo || f.v > f.hi) {
			return driver.Invalid(f.field, "%d is out of range; accepted is 0 (the default) or %d to %d", f.v, f.lo, f.hi)
		}
	}
	return nil
}

// withDefaults returns c with zero (or invalid) fields set to defaults.
func (c WSConfig) withDefaults() WSConfig {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.PingInterval, DefaultWSPingInterval)
	def(&c.PongTimeout, DefaultWSPongTimeout)
	def(&c.WriteTimeout, DefaultWSWriteTimeout)
	def(&c.CloseTimeout, DefaultWSCloseTimeout)
	defInt(&c.MaxFrameBytes, DefaultWSMaxFrameBytes)
	defInt(&c.QueueFrames, DefaultWSQueueFrames)
	defInt(&c.QueueBytes, DefaultWSQueueBytes)
	defInt(&c.MaxSubscriptions, DefaultWSMaxSubscriptions)
	defInt(&c.MaxConnections, DefaultWSMaxConnections)
	defInt(&c.MaxCredit, DefaultWSMaxCredit)
	defInt(&c.TailBuffer, DefaultWSTailBuffer)
	c.MaxFrameBytes = max(c.MaxFrameBytes, 1<<10)
	c.TailBuffer = min(c.TailBuffer, driver.MaxTailBuffer)
	return c
}

// WithWebSocket configures the WebSocket endpoint (default: WSConfig{}).
// Fields out of range (see WSConfig.Validate) take their defaults.
func WithWebSocket(cfg WSConfig) Option {
	return func(s *Server) { s.ws.cfg = cfg }
}

// wsHub is the server's registry of WebSocket connections: it enforces
// MaxConnections, its keeper pings them and cuts the ones whose writes
// are stuck, and Drain closes them all and waits for them.
type wsHub struct {
	cfg WSConfig // as given; defaults are applied by handler

	mu      sync.Mutex
	conns   map[*wsConn]struct{}
	drained bool
	idle    chan struct{}  // closed when the last connection ends: the keeper stops
	wg      sync.WaitGroup // connection goroutines and the keeper

	// now is the keeper's clock (Unix nanoseconds, updated every tick):
	// writers stamp their writes with it without reading the time.
	now atomic.Int64
	// queuedHigh is the most bytes ever queued on one connection, for
	// tests and metrics.
	queuedHigh atomic.Int64
}

// add registers c, starting the keeper with the first connection, unless
// the hub refuses it (shutting down, or MaxConnections reached).
func (h *wsHub) add(c *wsConn, draining bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.wg.Add(1) // refused connections too: Drain waits for their close
	switch {
	case h.drained || draining:
		return fmt.Errorf("server shutting down: %w", driver.ErrClosed)
	case len(h.conns) >= c.cfg.MaxConnections:
		return errTooManyConns{c.cfg.MaxConnections}
	}
	if h.conns == nil {
		h.conns = make(map[*wsConn]struct{})
	}
	h.conns[c] = struct{}{}
	if h.idle == nil {
		h.idle = make(chan struct{})
		h.now.Store(time.Now().UnixNano())
		h.wg.Add(1)
		go h.keep(c.cfg, h.idle)
	}
	c.lastPing = h.now.Load()
	return nil
}

// remove unregisters c; the keeper stops with the last connection.
func (h *wsHub) remove(c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	if len(h.conns) == 0 && h.idle != nil {
		close(h.idle)
		h.idle = nil
	}
}

// keep runs while the hub has connections. Every tick (a quarter of the
// shortest of PingInterval, PongTimeout and WriteTimeout) it pings the
// connections that are due and cuts those whose write has not finished
// within WriteTimeout. One goroutine for all connections keeps an idle
// connection free of timers.
func (h *wsHub) keep(cfg *WSConfig, idle chan struct{}) {
	defer h.wg.Done()
	tick := time.NewTicker(max(min(cfg.PingInterval, cfg.PongTimeout, cfg.WriteTimeout)/4, time.Millisecond))
	defer tick.Stop()
	var conns []*wsConn
	for {
		select {
		case <-idle:
			return
		case now := <-tick.C:
			h.now.Store(now.UnixNano())
			h.mu.Lock()
			conns = conns[:0]
			for c := range h.conns {
				conns = append(conns, c)
			}
			h.mu.Unlock()
			for _, c := range conns {
				c.check(now.UnixNano())
			}
			clear(conns)
		}
	}
}

// wsHandler returns the handler of GET /v1/ws. The connection lives in
// the handler's goroutine, so that the route guard counts it among the
// streams in progress while it lasts.
func (s *Server) wsHandler() http.Handler {
	cfg := s.ws.cfg.withDefaults()
	accept := &websocket.AcceptOptions{OriginPatterns: cfg.OriginPatterns}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj := &corkHijacker{ResponseWriter: w}
		ws, err := websocket.Accept(hj, r, accept)
		if err != nil {
			return // Accept answered the request (400, 403, ...)
		}
		ws.SetReadLimit(int64(cfg.MaxFrameBytes))
		c := newWSConn(s, &cfg, ws, hj.conn, r)
		err = s.ws.add(c, s.draining())
		defer s.ws.wg.Done()
		if err != nil {
			c.refuse(err)
			return
		}
		c.run()
		s.ws.remove(c)
	})
}

// errTooManyConns refuses a connection over MaxConnections.
type errTooManyConns struct{ limit int }

func (e errTooManyConns) Error() string {
	return fmt.Sprintf("too many connections (the limit is %d); try again later", e.limit)
}

// drainWebSockets closes every connection with 1001 (going away) and
// waits until all have ended: at most CloseTimeout, plus the time to stop
// their subscriptions. Later connections are closed at once.
func (s *Server) drainWebSockets() {
	h := &s.ws
	h.mu.Lock()
	h.drained = true
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.stopErr(fmt.Errorf("server shutting down: %w", driver.ErrClosed))
	}
	h.wg.Wait()
}

// wsConns returns the number of open WebSocket connections.
func (s *Server) wsConns() int {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	return len(s.ws.conns)
}

// wsConn is one WebSocket connection. Its goroutines: run (the reader,
// which also runs the ops), writeLoop (the only writer of data frames),
// one pump per subscription and a short-lived one per ping in flight
// (started by the hub's keeper). run owns them all and waits for them.
type wsConn struct {
	s    *Server
	cfg  *WSConfig
	ws   *websocket.Conn
	cork *corkConn // ws's socket: the writer batches its writes
	// ctx carries the request's values (identity, for authorization) and
	// ends when the connection starts to close: ops and pumps use it.
	ctx    context.Context
	cancel context.CancelFunc
	remote string

	mu          sync.Mutex
	out         [][]byte      // frames waiting for the writer
	queued      int           // frames queued or being written
	queuedBytes int           // their bytes
	room        chan struct{} // closed when the writer makes room; nil if nobody waits
	stopping    bool
	closeCode   websocket.StatusCode
	closeReason string
	hardClose   *time.Timer // closes the socket CloseTimeout after stop

	wake    chan struct{} // the writer has frames (capacity 1)
	stopped chan struct{} // closed by stop
	// writing is the hub clock when the write in progress started (0:
	// none); the keeper cuts the connection when it is too old.
	writing  atomic.Int64
	pinging  atomic.Bool
	lastPing int64 // hub clock of the last ping; the keeper's

	subMu   sync.Mutex
	subs    map[string]*wsSub
	nextSub int

	wg sync.WaitGroup // writer, pumps, pings
}

func newWSConn(s *Server, cfg *WSConfig, ws *websocket.Conn, cork *corkConn, r *http.Request) *wsConn {
	c := &wsConn{
		s: s, cfg: cfg, ws: ws, cork: cork, remote: r.RemoteAddr,
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(r.Context()))
	return c
}

// refuse closes a connection that was not admitted.
func (c *wsConn) refuse(err error) {
	defer c.cancel()
	code := websocket.StatusCode(httpapi.CloseCodeOf(err))
	if errors.As(err, new(errTooManyConns)) {
		code = websocket.StatusTryAgainLater
	}
	c.s.logger.Warn("websocket refused", "remote", c.remote, "code", int(code), "reason", err.Error())
	t := time.AfterFunc(c.cfg.CloseTimeout, func() { c.ws.CloseNow() })
	defer t.Stop()
	c.ws.Close(code, closeReason(err.Error()))
}

// run serves the connection until it ends, then releases everything:
// subscriptions are closed (queue deliveries not acked come back after
// their visibility timeout) and every goroutine has returned.
func (c *wsConn) run() {
	c.wg.Add(1)
	go c.writeLoop()

	c.readLoop()

	c.stop(websocket.StatusNormalClosure, "")
	c.wg.Wait()
	c.ws.CloseNow()
	c.mu.Lock()
	c.hardClose.Stop()
	c.mu.Unlock()
}

// readPool holds buffers for incoming frames, so that an idle connection
// holds none.
var readPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readLoop reads frames and runs them in order until the connection ends.
func (c *wsConn) readLoop() {
	for {
		typ, r, err := c.ws.Reader(context.Background())
		if err != nil {
			c.readFailed(err)
			return
		}
		if typ != websocket.MessageText {
			c.stopErr(fmt.Errorf("binary frames are not accepted; send JSON text frames: %w", driver.ErrUnsupported))
			return
		}
		buf := readPool.Get().(*bytes.Buffer)
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			readPool.Put(buf)
			c.readFailed(err)
			return
		}
		c.handle(buf.Bytes())
		if buf.Cap() <= 64<<10 {
			readPool.Put(buf)
		}
		if c.isStopping() {
			return
		}
	}
}

// readFailed ends the connection after a failed read: the client closed
// (its code is kept), the read limit was hit (the library has sent 1009),
// or the socket failed.
func (c *wsConn) readFailed(err error) {
	switch {
	case websocket.CloseStatus(err) != -1:
		c.stop(websocket.CloseStatus(err), "")
	case errors.Is(err, websocket.ErrMessageTooBig):
		c.stop(websocket.StatusMessageTooBig, fmt.Sprintf("frame over the limit of %d bytes", c.cfg.MaxFrameBytes))
	default:
		c.stop(websocket.StatusAbnormalClosure, "")
	}
}

// enqueue queues a frame for the writer, waiting while the queue is full
// (QueueFrames, QueueBytes): producers are held back, so a connection
// never holds more than its queue. It reports false, without queueing,
// once the connection is closing or ctx is done.
func (c *wsConn) enqueue(ctx context.Context, frame []byte) bool {
	c.mu.Lock()
	for {
		if c.stopping || ctx.Err() != nil {
			c.mu.Unlock()
			return false
		}
		if c.queued < c.cfg.QueueFrames && (c.queued == 0 || c.queuedBytes+len(frame) <= c.cfg.QueueBytes) {
			break
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-c.stopped:
		case <-ctx.Done():
		}
		c.mu.Lock()
	}
	c.out = append(c.out, frame)
	c.queued++
	c.queuedBytes += len(frame)
	qb := int64(c.queuedBytes)
	c.mu.Unlock()
	if qb > c.s.ws.queuedHigh.Load() {
		c.s.ws.queuedHigh.Store(qb) // a racy maximum, good enough for a gauge
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// answer queues an answer to an op.
func (c *wsConn) answer(a wsAnswer) { c.enqueue(c.ctx, marshalFrame(a)) }

// writeLoop writes queued frames, and once the connection stops, the
// close frame.
func (c *wsConn) writeLoop() {
	defer c.wg.Done()
	var batch [][]byte
	for {
		select {
		case <-c.wake:
		case <-c.stopped:
		}
		c.mu.Lock()
		if c.stopping {
			c.mu.Unlock()
			break
		}
		batch, c.out = c.out, batch[:0]
		c.mu.Unlock()
		// One system call for the batch (or one per corkLimit bytes).
		c.cork.cork()
		n := 0
		var err error
		for i, f := range batch {
			if c.isStopping() {
				break // the frames taken before stop are dropped too
			}
			c.writing.Store(c.s.ws.now.Load())
			err = c.ws.Write(context.Background(), websocket.MessageText, f)
			n += len(f)
			batch[i] = nil
			recycleFrame(f)
			if err != nil {
				break
			}
		}
		c.writing.Store(c.s.ws.now.Load())
		if uerr := c.cork.uncork(); err == nil {
			err = uerr
		}
		c.writing.Store(0)
		if err != nil {
			c.stop(websocket.StatusAbnormalClosure, "")
		}
		c.mu.Lock()
		c.queued -= len(batch)
		c.queuedBytes -= n
		if c.room != nil {
			close(c.room) // wake the producers waiting for room
			c.room = nil
		}
		c.mu.Unlock()
		if cap(batch) > 256 {
			batch = nil // a burst is over: an idle connection keeps no large array
		}
	}
	c.mu.Lock()
	code, reason := c.closeCode, c.closeReason
	c.mu.Unlock()
	if code != websocket.StatusAbnormalClosure {
		c.ws.Close(code, reason) // bounded by hardClose
	}
}

// check is the keeper's visit, at hub time now: a write that has not
// finished within WriteTimeout means the client stopped reading (its
// socket accepts nothing, the queue is full or filling): the connection
// stops, and if the client reads again within CloseTimeout it gets the
// close frame with the reason, else the socket is closed. A connection
// due for a ping gets one.
func (c *wsConn) check(now int64) {
	if w := c.writing.Load(); w != 0 && now-w >= int64(c.cfg.WriteTimeout) {
		c.mu.Lock()
		n := c.queued
		c.mu.Unlock()
		c.stop(websocket.StatusPolicyViolation, fmt.Sprintf("client too slow: %d frames queued", n))
		return
	}
	if now-c.lastPing >= int64(c.cfg.PingInterval) {
		c.lastPing = now
		c.startPing()
	}
}

// startPing sends a keepalive ping unless one is in flight; a client that
// does not answer within PongTimeout is closed.
func (c *wsConn) startPing() {
	if !c.pinging.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	if c.stopping { // run may be waiting for its goroutines
		c.mu.Unlock()
		c.pinging.Store(false)
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer c.pinging.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.PongTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil && !c.isStopping() {
			c.stop(websocket.StatusPolicyViolation, fmt.Sprintf("keepalive: no pong within %v", c.cfg.PongTimeout))
		}
	}()
}

// stopErr stops the connection for err, with the close code of the error
// table.
func (c *wsConn) stopErr(err error) {
	c.stop(websocket.StatusCode(httpapi.CloseCodeOf(err)), err.Error())
}

// stop starts closing the connection; the first call decides the close
// code and reason. Queued frames are dropped, ops and pumps are canceled,
// and the writer sends the close frame; CloseTimeout later the socket is
// closed whatever the client does.
func (c *wsConn) stop(code websocket.StatusCode, reason string) {
	reason = closeReason(reason)
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	c.stopping = true
	c.closeCode, c.closeReason = code, reason
	c.out = nil
	c.hardClose = time.AfterFunc(c.cfg.CloseTimeout, func() { c.ws.CloseNow() })
	c.mu.Unlock()
	close(c.stopped)
	c.cancel()
	c.cancelSubs()
	// The server's own decisions have a reason; a client's close has none.
	if reason != "" && code != websocket.StatusGoingAway {
		c.s.logger.Warn("websocket closed", "remote", c.remote, "code", int(code), "reason", reason)
	} else {
		c.s.logger.Debug("websocket closed", "remote", c.remote, "code", int(code), "reason", reason)
	}
}

func (c *wsConn) isStopping() bool {
	select {
	case <-c.stopped:
		return true
	default:
		return false
	}
}

// closeReason fits a reason into a close frame (123 bytes), cutting at a
// character boundary.
func closeReason(s string) string {
	const limit = 123
	if len(s) <= limit {
		return s
	}
	s = s[:limit]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
