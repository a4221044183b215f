package redis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/servicetest"
)

// proxy forwards loopback TCP connections to a Redis server until cut
// closes every connection it carries; new connections are accepted again
// right after, as when a network path flaps.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	cuts   atomic.Int64
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		for _, pair := range [][2]net.Conn{{c, s}, {s, c}} {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				io.Copy(pair[0], pair[1])
				pair[0].Close()
				pair[1].Close()
			}()
		}
	}
}

// cut closes every connection through the proxy.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.cuts.Add(1)
}

// TestConnectionDropsLoseNoAcknowledgedMessage sends and consumes through
// a proxy that cuts every connection twice mid-stream. Sends carry dedup
// IDs, so a producer retries a send whose answer it did not get without
// storing the message twice. Every send that succeeded must be consumed,
// and the consumer must resume after each cut.
func TestConnectionDropsLoseNoAcknowledgedMessage(t *testing.T) {
	base := serverURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("dial_timeout", "1s")
	u.RawQuery = q.Encode()
	b := open(t, u.String())

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	queue, err := b.CreateQueue(ctx, "faulty", courier.VisibilityTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	const n = 600
	var acked sync.Map // body -> true: sends that returned success
	var sent atomic.Int64
	producerDone := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			body := fmt.Sprintf("m-%04d", i)
			for {
				_, err := queue.Send(ctx, courier.Message{Body: []byte(body), DedupID: body})
				if err == nil {
					break
				}
				if ctx.Err() != nil || !errors.Is(err, courier.ErrStorage) {
					producerDone <- fmt.Errorf("send %s: %w", body, err)
					return
				}
			}
			acked.Store(body, true)
			sent.Add(1)
		}
		producerDone <- nil
	}()

	received := map[string]bool{}
	var receivedN atomic.Int64
	var retried int
	cutAt := []int64{150, 400}
	for len(received) < n {
		if len(cutAt) > 0 && receivedN.Load() >= cutAt[0] {
			p.cut()
			cutAt = cutAt[1:]
		}
		ds, err := queue.Receive(ctx, courier.Max(25), courier.Wait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("consumer stalled after %d of %d messages (cuts %d): %v", len(received), n, p.cuts.Load(), err)
			}
			if !errors.Is(err, courier.ErrStorage) {
				t.Fatalf("receive: %v", err)
			}
			retried++
			continue
		}
		for _, d := range ds {
			if !received[string(d.Body)] {
				received[string(d.Body)] = true
				receivedN.Add(1)
			}
			// An ack lost in a cut only means a redelivery after the
			// visibility timeout; the message counts once.
			_ = d.Ack(ctx)
		}
	}
	if err := <-producerDone; err != nil {
		t.Fatal(err)
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !received[k.(string)] {
			missing++
		}
		return true
	})
	if missing > 0 || sent.Load() != n {
		t.Fatalf("%d acknowledged messages were never delivered (%d sent)", missing, sent.Load())
	}
	if p.cuts.Load() < 2 {
		t.Fatalf("the proxy cut %d times; want 2", p.cuts.Load())
	}
	// Nothing is left behind once every delivery was acked.
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := queue.Info(ctx)
		if err == nil && info.Stats.Visible+info.Stats.InFlight+info.Stats.Delayed == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty after consuming everything: %+v (%v)", info.Stats, err)
		}
		ds, _ := queue.Receive(ctx, courier.Max(100), courier.Wait(time.Second))
		for _, d := range ds {
			_ = d.Ack(ctx)
		}
	}
	t.Logf("%d messages through 2 cuts; %d receive errors retried", n, retried)

	// A long poll waiting while the connections are cut is still woken by
	// the next send: the Pub/Sub connection is redialed and subscribes
	// again.
	direct := servicetest.OpenRedis(t, "unused-"+servicetest.Suffix())
	wakeChannel := q.Get("prefix") + ":w:faulty"
	waitSubscribed := func() {
		t.Helper()
		for {
			n, err := direct.PubSubNumSub(ctx, wakeChannel).Result()
			if err == nil && n[wakeChannel] > 0 {
				return
			}
			if ctx.Err() != nil {
				t.Fatal("the long poll never subscribed")
			}
			time.Sleep(5 * time.Millisecond) // polling interval
		}
	}
	got := make(chan []*courier.Delivery, 1)
	go func() {
		ds, err := queue.Receive(ctx, courier.Wait(20*time.Second))
		if err != nil {
			t.Errorf("long poll across a cut: %v", err)
		}
		got <- ds
	}()
	waitSubscribed()
	p.cut()
	waitSubscribed()
	start := time.Now()
	if _, err := queue.Send(ctx, courier.Message{Body: []byte("after the cut")}); err != nil {
		t.Fatal(err)
	}
	ds := <-got
	if len(ds) != 1 || string(ds[0].Body) != "after the cut" {
		t.Fatalf("long poll across a cut returned %d messages", len(ds))
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("long poll woke %v after the send", el)
	}
}

// TestServerCrashKeepsAcknowledgedMessages kills a redis-server that
// fsyncs every write (SIGKILL) while a producer sends, starts it again and
// checks that every acknowledged message is there.
func TestServerCrashKeepsAcknowledgedMessages(t *testing.T) {
	srv := startServer(t)
	b := open(t, srv.URL("courier-test-"+servicetest.Suffix()))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	q, err := b.CreateQueue(ctx, "crashy")
	if err != nil {
		t.Fatal(err)
	}
	var acked []string
	for i := 0; len(acked) < 200; i++ {
		body := fmt.Sprintf("m-%04d", i)
		if _, err := q.Send(ctx, courier.Message{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, body)
		if i == 100 {
			srv.restart() // the next sends fail over to the new process
		}
	}
	got := map[string]bool{}
	for len(got) < len(acked) {
		ds, err := q.Receive(ctx, courier.Max(100), courier.Wait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			got[string(d.Body)] = true
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, body := range acked {
		if !got[body] {
			t.Fatalf("acknowledged message %s lost in the crash (%d of %d delivered)", body, len(got), len(acked))
		}
	}
}

// TestConnectionDropsStreamGroupResumes consumes a stream with a consumer
// group through a proxy that cuts every connection twice: every appended
// record is polled at least once, commits keep working after the cuts and
// the group ends with no lag.
func TestConnectionDropsStreamGroupResumes(t *testing.T) {
	base := serverURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	b := open(t, u.String())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := b.CreateStream(ctx, "events", courier.Partitions(3))
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var recs []courier.Record
	for i := range n {
		recs = append(recs, courier.Record{Key: fmt.Appendf(nil, "k%d", i%17), Value: fmt.Appendf(nil, "%d", i), Partition: courier.AnyPartition})
	}
	if _, err := st.AppendBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	c, err := st.Group("g").Join(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	cuts := []int{60, 180}
	for len(seen) < n {
		if len(cuts) > 0 && len(seen) >= cuts[0] {
			p.cut()
			cuts = cuts[1:]
		}
		got, err := c.Poll(ctx, 40, time.Second)
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, courier.ErrStorage) {
				t.Fatalf("poll after %d records: %v", len(seen), err)
			}
			continue
		}
		for _, r := range got {
			seen[string(r.Value)] = true
		}
		if err := c.Commit(ctx); err != nil && !errors.Is(err, courier.ErrStorage) {
			t.Fatalf("commit: %v", err)
		}
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range info.Groups {
		for part, lag := range g.Lag {
			if lag != 0 {
				t.Fatalf("partition %d has lag %d after consuming everything", part, lag)
			}
		}
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
