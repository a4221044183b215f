package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// proxy forwards loopback TCP connections to RabbitMQ and can cut them
// all at once, as a network failure would.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
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

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		p.wg.Go(func() { pipe(out, in) })
		p.wg.Go(func() { pipe(in, out) })
	}
}

// cut closes every forwarded connection; new ones are still accepted.
func (p *proxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	return len(p.conns) / 2
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}

// TestConnectionDropMidStream cuts the TCP connection to RabbitMQ while a
// producer sends and a consumer receives and acks. Every send the driver
// acknowledged must be received afterwards (at least once), and the
// consumer must resume after the driver reconnects.
func TestConnectionDropMidStream(t *testing.T) {
	direct := namespaceURL(t, serverURL())
	u, _ := url.Parse(direct)
	p := startProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("reconnect_wait", "20ms")
	u.RawQuery = q.Encode()
	b := openURL(t, u.String())

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	queue, err := b.CreateQueue(ctx, "fault", courier.VisibilityTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}

	const n = 400
	var (
		mu        sync.Mutex
		acked     = map[int]bool{}
		seen      = map[int]bool{}
		afterCut  atomic.Int64
		cutDone   atomic.Bool
		sendFails atomic.Int64
		sent      atomic.Int64
	)
	var wg sync.WaitGroup
	wg.Go(func() { // producer: retries a send until the driver acknowledges it
		for i := 0; i < n && ctx.Err() == nil; {
			_, err := queue.Send(ctx, courier.Message{Body: []byte(strconv.Itoa(i))})
			if err != nil {
				sendFails.Add(1)
				continue
			}
			mu.Lock()
			acked[i] = true
			mu.Unlock()
			sent.Add(1)
			i++
		}
	})
	stop := make(chan struct{})
	wg.Go(func() { // consumer
		for {
			select {
			case <-stop:
				return
			default:
			}
			ds, err := queue.Receive(ctx, courier.Max(20), courier.Wait(200*time.Millisecond))
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			mu.Lock()
			for _, d := range ds {
				i, _ := strconv.Atoi(string(d.Body))
				seen[i] = true
			}
			mu.Unlock()
			if cutDone.Load() {
				afterCut.Add(int64(len(ds)))
			}
			for _, d := range ds {
				_ = d.Ack(ctx) // a failed ack means a redelivery, which is fine
			}
		}
	})

	// Cut the connection once the producer is half way.
	for sent.Load() < n/2 {
		if ctx.Err() != nil {
			t.Fatalf("producer stuck at %d before the cut", sent.Load())
		}
		waitTick()
	}
	if cut := p.cut(); cut == 0 {
		t.Fatal("no connection to cut")
	}
	cutDone.Store(true)

	// Wait until every acknowledged send was received.
	missing := func() []int {
		mu.Lock()
		defer mu.Unlock()
		var out []int
		for i := range acked {
			if !seen[i] {
				out = append(out, i)
			}
		}
		return out
	}
	for sent.Load() < n || len(missing()) > 0 {
		if ctx.Err() != nil {
			t.Fatalf("after the cut: %d of %d sent, missing %v", sent.Load(), n, missing())
		}
		waitTick()
	}
	close(stop)
	wg.Wait()
	if afterCut.Load() == 0 {
		t.Fatal("the consumer received nothing after the connection was cut")
	}
	t.Logf("sends retried after the cut: %d; received after the cut: %d", sendFails.Load(), afterCut.Load())

	// The connection is usable for everything again.
	info, err := queue.Info(ctx)
	if err != nil {
		t.Fatalf("info after reconnect: %v", err)
	}
	if info.Stats.InFlight != 0 {
		t.Fatalf("after the test, %d deliveries are still held", info.Stats.InFlight)
	}
	if _, err := b.CreateQueue(ctx, "after-fault"); err != nil {
		t.Fatalf("create after reconnect: %v", err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal(fmt.Errorf("ran out of time"))
	}
}

// waitTick paces polling loops that wait for state reached through the
// broker: a short timer, not a synchronization sleep.
func waitTick() {
	t := time.NewTimer(10 * time.Millisecond)
	<-t.C
}
