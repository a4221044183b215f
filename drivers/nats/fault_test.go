package nats_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// proxy forwards loopback TCP connections to a NATS server and can cut
// every open one, as a network failure would.
type proxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	accepts atomic.Int64
	wg      sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.accepts.Add(1)
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		p.wg.Go(func() { pipe(out, in) })
		p.wg.Go(func() { pipe(in, out) })
	}
}

// cut closes every connection open through the proxy.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}

// traffic runs a producer and a consumer on queue q: the producer sends
// n messages, retrying each with its dedup ID until the send is
// acknowledged; the consumer receives and acks until it has seen every
// acknowledged message. disrupt runs once the consumer has seen a
// quarter of them. traffic fails the test if an acknowledged message is
// never received within the deadline, or if the consumer received
// nothing after the disruption.
func traffic(t *testing.T, q *courier.Queue, n int, disrupt func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	var (
		mu           sync.Mutex
		acked        = map[string]bool{}
		seen         = map[string]bool{}
		sendErrs     atomic.Int64
		receivedLate atomic.Int64
		disrupted    atomic.Bool
		sentAll      atomic.Bool
	)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer sentAll.Store(true)
		for i := range n {
			body := fmt.Sprintf("m-%04d", i)
			for ctx.Err() == nil {
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := q.Send(cctx, courier.Message{Body: []byte(body), DedupID: body})
				ccancel()
				if err == nil {
					mu.Lock()
					acked[body] = true
					mu.Unlock()
					break
				}
				sendErrs.Add(1)
			}
		}
	})
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if !sentAll.Load() {
			return false
		}
		for b := range acked {
			if !seen[b] {
				return false
			}
		}
		return true
	}
	wg.Go(func() {
		for ctx.Err() == nil && !done() {
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			ds, err := q.Receive(cctx, courier.Max(20), courier.Wait(200*time.Millisecond))
			ccancel()
			if err != nil {
				continue // the connection is down; it comes back
			}
			mu.Lock()
			for _, d := range ds {
				seen[string(d.Body)] = true
			}
			mu.Unlock()
			if disrupted.Load() {
				receivedLate.Add(int64(len(ds)))
			}
			for _, d := range ds {
				actx, acancel := context.WithTimeout(ctx, 5*time.Second)
				_ = d.Ack(actx) // a lost ack only means a redelivery
				acancel()
			}
		}
	})
	for {
		mu.Lock()
		progress := len(seen)
		mu.Unlock()
		if progress >= n/4 || ctx.Err() != nil {
			break
		}
		waitFor(10 * time.Millisecond)
	}
	disrupt()
	disrupted.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	var lost []string
	for b := range acked {
		if !seen[b] {
			lost = append(lost, b)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged messages never received (of %d acknowledged): %v", len(lost), len(acked), lost[:min(len(lost), 10)])
	}
	if len(acked) != n {
		t.Fatalf("only %d of %d sends were acknowledged before the deadline", len(acked), n)
	}
	if receivedLate.Load() == 0 {
		t.Fatal("the consumer received nothing after the disruption")
	}
	t.Logf("%d messages acknowledged and received; %d send attempts failed during the disruption", len(acked), sendErrs.Load())
}

// TestFaultConnectionCut cuts the client's TCP connection twice while a
// producer and a consumer run: nats.go reconnects, and no acknowledged
// message is lost.
func TestFaultConnectionCut(t *testing.T) {
	srv := startServer(t, t.TempDir())
	px := newProxy(t, srv.addr())
	u := fmt.Sprintf("nats://%s?prefix=%s&reconnect_wait=20ms", px.addr(), newPrefix(t, srv.url()))
	b := openBroker(t, u)
	q, err := b.CreateQueue(t.Context(), "work", courier.VisibilityTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	traffic(t, q, 400, func() {
		px.cut()
		// Cut again once the client is back, mid-stream once more.
		deadline := time.Now().Add(10 * time.Second)
		for px.accepts.Load() < 2 && time.Now().Before(deadline) {
			waitFor(5 * time.Millisecond)
		}
		px.cut()
	})
	if px.accepts.Load() < 3 {
		t.Fatalf("the client connected %d times; want a reconnect after each cut", px.accepts.Load())
	}
}

// TestFaultServerRestart restarts the in-process server mid-stream: the
// client reconnects to the restarted server, which recovered the stream
// and the consumers from disk, and no acknowledged message is lost.
func TestFaultServerRestart(t *testing.T) {
	srv := startServer(t, t.TempDir())
	u := withOption(srv.url(), "prefix="+newPrefix(t, srv.url())+"&reconnect_wait=20ms")
	b := openBroker(t, u)
	q, err := b.CreateQueue(t.Context(), "work", courier.VisibilityTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	traffic(t, q, 400, srv.restart)
}

// TestClusterNodeLoss shuts down the node leading the queue's stream in a
// three-node cluster (replicas=3) while a producer and a consumer run: the
// remaining nodes elect a new leader, the client moves to them, and no
// acknowledged message is lost.
func TestClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	cl := startCluster(t, 3)
	prefix := newPrefix(t, cl.url())
	b := openBroker(t, withOption(cl.url(), "prefix="+prefix+"&reconnect_wait=20ms"))
	q, err := b.CreateQueue(t.Context(), "work", courier.VisibilityTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	stream := prefix + "_q_work"
	traffic(t, q, 400, func() {
		for _, n := range cl.nodes {
			if n.srv != nil && n.srv.JetStreamIsStreamLeader("$G", stream) {
				t.Logf("shutting down %s, leader of %s", n.opts.ServerName, stream)
				n.stop()
				return
			}
		}
		t.Logf("no node leads %s; shutting down %s", stream, cl.nodes[0].opts.ServerName)
		cl.nodes[0].stop()
	})
}
