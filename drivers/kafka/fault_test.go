package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/courier-io/courier"
)

// cutter tracks the connections the brokers accepted, so that a test can
// drop them all at once, as a network fault would.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
	cuts  int
}

func (c *cutter) listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return &trackedListener{Listener: ln, c: c}, nil
}

// cut closes every connection accepted so far; the brokers keep running
// and franz-go reconnects.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
	c.cuts++
}

type trackedListener struct {
	net.Listener
	c *cutter
}

func (l *trackedListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.c.mu.Lock()
		l.c.conns = append(l.c.conns, conn)
		l.c.mu.Unlock()
	}
	return conn, err
}

// TestFaultConnectionsDropMidStream cuts every broker connection three
// times while a producer appends and a consumer-group member polls and
// commits: every acknowledged record is consumed, and the consumer
// resumes after each cut.
func TestFaultConnectionsDropMidStream(t *testing.T) {
	c := &cutter{}
	cl := startCluster(t, 3, kfake.ListenFn(c.listen))
	runFault(t, cl, func() { c.cut() })
}

// TestFaultBrokersRestartMidStream restarts the whole cluster (over its
// data directory) while a producer appends and a member consumes.
func TestFaultBrokersRestartMidStream(t *testing.T) {
	cl := startCluster(t, 3)
	runFault(t, cl, cl.restart)
}

// runFault appends n records one at a time, calling fault after every
// third of them, while a group member consumes; then it checks that every
// acknowledged record was consumed and that the group's lag drains.
func runFault(t *testing.T, cl *cluster, fault func()) {
	const n = 300
	b := openBroker(t, withOption(cl.url(), "prefix="+newPrefix()+"&group_session_timeout=6s"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := b.CreateStream(ctx, "events", courier.Partitions(3))
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	seen := map[string]bool{}
	consumerCtx, stopConsumer := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		var cons *courier.Consumer
		for consumerCtx.Err() == nil {
			if cons == nil {
				jctx, jcancel := context.WithTimeout(consumerCtx, 10*time.Second)
				cons, err = st.Group("g").Join(jctx, "m", courier.SessionTimeout(time.Minute))
				jcancel()
				if err != nil {
					cons = nil
					continue
				}
			}
			pctx, pcancel := context.WithTimeout(consumerCtx, 10*time.Second)
			recs, err := cons.Poll(pctx, 100, 200*time.Millisecond)
			if err == nil {
				mu.Lock()
				for _, r := range recs {
					seen[string(r.Value)] = true
				}
				mu.Unlock()
				err = cons.Commit(pctx)
			}
			pcancel()
			if errors.Is(err, courier.ErrFenced) {
				cons = nil // join again and resume from the committed offsets
			}
		}
		if cons != nil {
			cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
			cons.Close(cctx)
			ccancel()
		}
	})
	defer func() { stopConsumer(); wg.Wait() }()

	var acked []string
	for i := range n {
		if i > 0 && i%(n/3) == 0 {
			fault()
		}
		v := fmt.Sprint(i)
		actx, acancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := st.Append(actx, courier.Record{Key: []byte(v), Value: []byte(v), Partition: courier.AnyPartition})
		acancel()
		if err == nil {
			acked = append(acked, v)
		}
	}
	if len(acked) < n*9/10 {
		t.Fatalf("only %d of %d appends were acknowledged across the faults", len(acked), n)
	}
	// The consumer catches up with every acknowledged record.
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		missing := ""
		for _, v := range acked {
			if !seen[v] {
				missing = v
				break
			}
		}
		mu.Unlock()
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged record %s was never consumed", missing)
		}
		time.Sleep(20 * time.Millisecond) // polling observable state, bounded by the deadline
	}
	// And its commits reach the end of every partition.
	for {
		info, err := st.Info(ctx)
		if err == nil && len(info.Groups) == 1 {
			lag := int64(0)
			for _, l := range info.Groups[0].Lag {
				lag += l
			}
			if lag == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group's lag did not drain: %+v (%v)", info.Groups, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
