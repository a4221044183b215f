package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

// The WebSocket fan-out of the gateway benchmark. The subscribers are raw
// RFC 6455 clients written here rather than a WebSocket library's: an idle
// one holds nothing but its socket (no goroutine, no buffer), so that the
// heap the server adds per connection can be told apart from the clients'
// in one process, and a delivery costs the client little CPU, which it
// shares with the server.

const (
	// wsTopic is the fan-out topic.
	wsTopic = "fanout"
	// wsWindow is each subscription's credit window: it starts with
	// wsWindow and grants wsWindow/2 more each wsWindow/2 messages, as a
	// client that keeps up would (the server's BenchmarkWSFanout does the
	// same).
	wsWindow = 256
	// wsPublishBatch is the number of messages per publish request.
	wsPublishBatch = 100
	// wsMaxFrame bounds a frame the clients accept from the server.
	wsMaxFrame = 8 << 20
)

// wsSubscribe is every client's subscribe frame: an ephemeral subscription
// to wsTopic, raw bodies, publishers held back rather than messages
// dropped when the client falls behind.
var wsSubscribe = []byte(fmt.Sprintf(`{"op":"subscribe","id":"s","sub":"f","topic":%q,"raw":true,"overflow":"block","credit":%d}`, wsTopic, wsWindow))

// wsCredit is every client's credit frame.
var wsCredit = []byte(fmt.Sprintf(`{"op":"credit","sub":"f","credit":%d}`, wsWindow/2))

var (
	wsMessagePrefix = []byte(`{"op":"message","sub":"f",`)
	wsOKPrefix      = []byte(`{"op":"ok"`)
	wsSubscribedOK  = []byte(`{"op":"ok","id":"s"`)
	wsBodyField     = []byte(`"body":"`)
)

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	wsOpText  = 0x1
	wsOpClose = 0x8
	wsOpPing  = 0x9
	wsOpPong  = 0xA
)

// wsSubscriber is one subscribed client. Idle, it holds only its socket.
type wsSubscriber struct{ conn net.Conn }

// memUse is the process's live memory after a full collection.
type memUse struct {
	heap, stack uint64 // live heap (HeapAlloc), goroutine stacks (StackInuse)
	goroutines  int
}

func memAfterGC() memUse {
	runtime.GC()
	runtime.GC() // the second clears what sync.Pools kept through the first
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memUse{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// perConn is (b - a) / n, signed.
func perConn(a, b uint64, n int) float64 { return float64(int64(b)-int64(a)) / float64(n) }

// wsFanout measures the memory of idle subscribed connections and the
// fan-out rate on a courier server of its own on backend.
func wsFanout(ctx context.Context, cfg GatewayConfig, backend string) (r GatewayResult, err error) {
	r = GatewayResult{
		System: PeerCourier, Protocol: ProtocolWS, Backend: cfg.Backend, Size: cfg.Size,
		Subscribers: cfg.Subscribers, Messages: cfg.Messages,
	}
	clientHeap, err := wsClientHeap(ctx, cfg.Subscribers)
	if err != nil {
		return r, fmt.Errorf("measuring the clients' heap: %w", err)
	}
	cs, err := startCourierServer(ctx, backend, server.WithWebSocket(server.WSConfig{MaxConnections: cfg.Subscribers + 16}))
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, cs.close()) }()
	if _, err := cs.b.CreateTopic(ctx, wsTopic); err != nil {
		return r, err
	}

	subs := make([]*wsSubscriber, 0, cfg.Subscribers)
	defer func() {
		for _, s := range subs {
			s.conn.Close()
		}
	}()
	br := bufio.NewReaderSize(nil, 4096) // shared by the handshakes
	var connected atomic.Int64
	before := memAfterGC()
	stop := reportProgress(cfg.Progress, PeerCourier+"-"+ProtocolWS, "connect", cfg.Subscribers, &connected)
	for range cfg.Subscribers {
		s, err := dialSubscriber(ctx, cs.addr, br)
		if err != nil {
			stop()
			return r, fmt.Errorf("subscriber %d: %w", len(subs), err)
		}
		subs = append(subs, s)
		connected.Add(1)
	}
	stop()
	after := memAfterGC()
	r.ClientHeapBytesPerConn = clientHeap
	r.HeapBytesPerIdleConn = perConn(before.heap, after.heap, cfg.Subscribers) - clientHeap
	r.StackBytesPerIdleConn = perConn(before.stack, after.stack, cfg.Subscribers)
	r.BytesPerIdleConn = r.HeapBytesPerIdleConn + r.StackBytesPerIdleConn
	r.GoroutinesPerConn = float64(after.goroutines-before.goroutines) / float64(cfg.Subscribers)

	elapsed, delivered, err := fanout(ctx, cfg, cs.addr, subs)
	r.Deliveries = delivered
	if err != nil {
		return r, err
	}
	r.DeliveriesPerSec = float64(cfg.Subscribers*cfg.Messages) / elapsed.Seconds()
	return r, nil
}

// wsClientHeap returns the live heap of one idle client: n clients are
// connected to a listener that closes each connection as soon as it
// accepts it, so that what the connections add to the heap is the
// clients' alone.
func wsClientHeap(ctx context.Context, n int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	var acceptErr error
	accepted := make(chan struct{}) // closed when the acceptor returns
	go func() {
		defer close(accepted)
		for range n {
			c, err := ln.Accept()
			if err != nil {
				acceptErr = err
				return
			}
			c.Close()
		}
	}()
	subs := make([]*wsSubscriber, 0, n)
	defer func() {
		ln.Close()
		<-accepted
		for _, s := range subs {
			s.conn.Close()
		}
	}()
	var d net.Dialer
	before := memAfterGC()
	for range n {
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return 0, err
		}
		subs = append(subs, &wsSubscriber{conn: c})
	}
	<-accepted // every connection accepted and closed
	if acceptErr != nil {
		return 0, acceptErr
	}
	after := memAfterGC()
	return perConn(before.heap, after.heap, n), nil
}

// dialSubscriber connects to the server's WebSocket endpoint at addr,
// subscribes to wsTopic and returns once the subscription is confirmed.
// br is a reader it may use while it runs.
func dialSubscriber(ctx context.Context, addr string, br *bufio.Reader) (s *wsSubscriber, err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // never fails
	key := base64.StdEncoding.EncodeToString(nonce[:])
	if _, err := fmt.Fprintf(conn, "GET /v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", addr, key); err != nil {
		return nil, err
	}
	br.Reset(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		return nil, fmt.Errorf("upgrade answered %s; want 101 Switching Protocols accepting the key", resp.Status)
	}
	if err := writeWSFrame(conn, wsOpText, wsSubscribe); err != nil {
		return nil, err
	}
	var buf []byte
	for {
		op, p, err := readWSFrame(br, &buf)
		switch {
		case err != nil:
			return nil, fmt.Errorf("subscribe: %w", err)
		case op == wsOpPing:
			if err := writeWSFrame(conn, wsOpPong, p); err != nil {
				return nil, err
			}
			continue
		case op != wsOpText || !bytes.HasPrefix(p, wsSubscribedOK):
			return nil, fmt.Errorf("subscribe answered %s", describeWSFrame(op, p))
		}
		break
	}
	if n := br.Buffered(); n > 0 {
		return nil, fmt.Errorf("the server sent %d more bytes after confirming the subscription, before any message was published", n)
	}
	return &wsSubscriber{conn: conn}, nil
}

// wsAccept is the Sec-WebSocket-Accept answer to key (RFC 6455, 4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// fanout publishes cfg.Messages messages over REST while every subscriber
// reads, and returns the time until the last subscriber had them all and
// the number of deliveries received.
func fanout(ctx context.Context, cfg GatewayConfig, addr string, subs []*wsSubscriber) (time.Duration, int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var delivered atomic.Int64
	stop := reportProgress(cfg.Progress, PeerCourier+"-"+ProtocolWS, "fan-out", len(subs)*cfg.Messages, &delivered)
	published := make(chan error, 1)
	start := time.Now()
	go func() {
		err := publishREST(ctx, addr, cfg)
		if err != nil {
			err = fmt.Errorf("publish: %w", err)
			cancel(err)
		}
		published <- err
	}()
	var next atomic.Int64
	err := workers(ctx, len(subs), func(ctx context.Context) error {
		i := int(next.Add(1) - 1)
		if err := subs[i].receive(ctx, cfg.Messages, &delivered); err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		cancel(err) // the publisher may be held back by the subscriber that failed
	}
	perr := <-published
	stop()
	n := int(delivered.Load())
	if err != nil || perr != nil {
		// The side that failed first cancelled the other: report its
		// error (or the timeout), not the other's cancellation.
		if cause := context.Cause(ctx); cause != nil {
			return 0, n, cause
		}
		return 0, n, errors.Join(err, perr)
	}
	return elapsed, n, nil
}

// publishREST publishes cfg.Messages messages to wsTopic with POST
// /v1/topics/{name}/messages in batches of wsPublishBatch, message i with
// the body messageBody(cfg.Size, i).
func publishREST(ctx context.Context, addr string, cfg GatewayConfig) error {
	var p http.Protocols
	p.SetHTTP1(true)
	tr := &http.Transport{Protocols: &p}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	url := "http://" + addr + "/v1/topics/" + wsTopic + "/messages"
	for first := 0; first < cfg.Messages; first += wsPublishBatch {
		last := min(first+wsPublishBatch, cfg.Messages)
		var req httpapi.SendRequest
		for i := first; i < last; i++ {
			body := string(messageBody(cfg.Size, i))
			req.Messages = append(req.Messages, httpapi.Message{Body: &body})
		}
		payload, err := json.Marshal(req)
		if err != nil {
			return err
		}
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		hreq.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(hreq)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var answer httpapi.SendResponse
		if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &answer) != nil || len(answer.IDs) != last-first {
			return fmt.Errorf("messages %d..%d: answered %s %.200q; want 200 and %d IDs", first, last-1, resp.Status, data, last-first)
		}
		for k, res := range answer.Results {
			if res.Error != nil || res.ID == "" {
				return fmt.Errorf("message %d: refused: %+v", first+k, res.Error)
			}
		}
	}
	return nil
}

// receive reads until the subscriber has every one of messages messages,
// once each, granting credit as it goes, and adds them to delivered. It
// returns early, with an error, when ctx is done.
func (s *wsSubscriber) receive(ctx context.Context, messages int, delivered *atomic.Int64) error {
	stop := context.AfterFunc(ctx, func() { s.conn.SetDeadline(time.Now()) })
	defer stop()
	br := bufio.NewReaderSize(s.conn, 16<<10)
	seen := make([]uint64, (messages+63)/64)
	var buf []byte
	got, unreported := 0, 0
	for got < messages {
		op, p, err := readWSFrame(br, &buf)
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("after %d messages: %w", got, err)
		}
		switch {
		case op == wsOpText && bytes.HasPrefix(p, wsMessagePrefix):
			i, ok := wsMessageIndex(p)
			switch {
			case !ok || i >= messages:
				return fmt.Errorf("received a message that was not published: %.200s", p)
			case seen[i/64]&(1<<(i%64)) != 0:
				return fmt.Errorf("received message %d twice", i)
			}
			seen[i/64] |= 1 << (i % 64)
			got++
			if unreported++; unreported == wsWindow/2 {
				delivered.Add(int64(unreported))
				unreported = 0
				if err := writeWSFrame(s.conn, wsOpText, wsCredit); err != nil {
					return err
				}
			}
		case op == wsOpText && bytes.HasPrefix(p, wsOKPrefix): // a credit frame's answer
		case op == wsOpPing:
			if err := writeWSFrame(s.conn, wsOpPong, p); err != nil {
				return err
			}
		case op == wsOpPong:
		default:
			return fmt.Errorf("after %d messages: received %s", got, describeWSFrame(op, p))
		}
	}
	delivered.Add(int64(unreported))
	return nil
}

// wsMessageIndex returns the index in the first 8 bytes of the body of a
// message frame.
func wsMessageIndex(frame []byte) (int, bool) {
	k := bytes.Index(frame, wsBodyField)
	if k < 0 || len(frame) < k+len(wsBodyField)+8 {
		return 0, false
	}
	n := 0
	for _, c := range frame[k+len(wsBodyField) : k+len(wsBodyField)+8] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// writeWSFrame writes one client frame: final, masked (RFC 6455, 5.3).
func writeWSFrame(w io.Writer, op byte, payload []byte) error {
	n := len(payload)
	f := make([]byte, 0, 14+n)
	f = append(f, 0x80|op)
	switch {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = binary.BigEndian.AppendUint16(append(f, 0x80|126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 0x80|127), uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], mrand.Uint32())
	f = append(f, mask[:]...)
	for i, b := range payload {
		f = append(f, b^mask[i&3])
	}
	_, err := w.Write(f)
	return err
}

// readWSFrame reads one frame from the server into *buf and returns its
// opcode and payload (valid until the next read). The server sends every
// message as one final, unmasked frame, without extensions (the clients
// negotiate none); anything else is an error.
func readWSFrame(br *bufio.Reader, buf *[]byte) (op byte, payload []byte, err error) {
	var h [8]byte
	if _, err := io.ReadFull(br, h[:2]); err != nil {
		return 0, nil, err
	}
	op = h[0] & 0x0f
	switch {
	case h[0]&0x80 == 0 || op == 0:
		return 0, nil, errors.New("received a fragmented frame")
	case h[0]&0x70 != 0:
		return 0, nil, errors.New("received a frame with reserved bits set")
	case h[1]&0x80 != 0:
		return 0, nil, errors.New("received a masked frame")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(br, h[:2]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err := io.ReadFull(br, h[:8]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(h[:8])
	}
	if n > wsMaxFrame {
		return 0, nil, fmt.Errorf("received a frame of %d bytes", n)
	}
	if uint64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	payload = (*buf)[:n]
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	return op, payload, nil
}

// describeWSFrame describes an unexpected frame for an error.
func describeWSFrame(op byte, p []byte) string {
	switch op {
	case wsOpText:
		return fmt.Sprintf("the frame %.200s", p)
	case wsOpClose:
		if len(p) >= 2 {
			return fmt.Sprintf("a close frame: %d %q", binary.BigEndian.Uint16(p), p[2:])
		}
		return "a close frame"
	}
	return fmt.Sprintf("a frame of opcode %#x", op)
}
