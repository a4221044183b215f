package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/server"
)

// The WebSocket fan-out benchmark. N clients (COURIER_WS_BENCH_SUBSCRIBERS,
// default 1000) each subscribe to one topic over their own connection; the
// benchmark publishes b.N messages and times until every client has every
// message. The clients run in a child process (this test binary, running
// TestWSFanoutClients), so that the server's heap is measured alone.
//
// Reported:
//   - deliveries/s: messages received by all clients per second;
//   - B/idle-conn: the server's live heap per connection, subscribed and
//     idle (HeapAlloc after GC, with the clients connected minus before);
//   - stack-B/idle-conn: the goroutine stacks per connection, likewise.
//
// The subscriptions are raw, with overflow "block" so that no message is
// dropped (publishers wait for the slowest subscriber) and credit granted
// in windows of 256, as a client that keeps up would.
//
//	go test ./server -run '^$' -bench WSFanout -benchtime 20000x

const (
	fanoutURLEnv   = "COURIER_WS_FANOUT_URL"
	fanoutNEnv     = "COURIER_WS_FANOUT_N"
	fanoutSubsEnv  = "COURIER_WS_BENCH_SUBSCRIBERS"
	fanoutWindow   = 256
	fanoutBodySize = 64
)

func BenchmarkWSFanout(b *testing.B) {
	n := 1000
	if v := os.Getenv(fanoutSubsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive number", fanoutSubsEnv, v)
		}
	}
	broker, err := courier.Open(context.Background(), "mem://")
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	if _, err := broker.CreateTopic(context.Background(), "fan"); err != nil {
		b.Fatal(err)
	}
	srv := server.New(broker, server.WithWebSocket(server.WSConfig{MaxConnections: n + 10}))
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Drain()

	heap0, stack0 := memAfterGC()
	goroutines0 := runtime.NumGoroutine()

	child := exec.Command(os.Args[0], "-test.run=^TestWSFanoutClients$", "-test.count=1")
	child.Env = append(os.Environ(), fanoutURLEnv+"="+"ws"+strings.TrimPrefix(ts.URL, "http")+"/v1/ws", fanoutNEnv+"="+strconv.Itoa(n))
	child.Stderr = os.Stderr
	toChild, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	fromChild, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewScanner(fromChild)
	expect := func(want string) {
		b.Helper()
		for lines.Scan() {
			if lines.Text() == want {
				return
			}
		}
		b.Fatalf("the client process ended before %q: %v", want, lines.Err())
	}
	defer func() {
		fmt.Fprintln(toChild, "quit")
		_, _ = io.Copy(io.Discard, fromChild)
		_ = child.Wait()
	}()
	expect("ready")

	heap1, stack1 := memAfterGC()
	goroutines := runtime.NumGoroutine() - goroutines0

	body := bytes.Repeat([]byte("x"), fanoutBodySize)
	topic := broker.Topic("fan")
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		batch := make([]courier.Message, min(100, b.N-sent))
		for i := range batch {
			batch[i] = courier.Message{Body: body}
		}
		if _, err := topic.PublishBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		sent += len(batch)
	}
	fmt.Fprintf(toChild, "wait %d\n", n*b.N)
	expect("done")
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "deliveries/s")
	// Reported after ResetTimer, which deletes reported metrics.
	b.ReportMetric(float64(int64(heap1)-int64(heap0))/float64(n), "B/idle-conn")
	b.ReportMetric(float64(int64(stack1)-int64(stack0))/float64(n), "stack-B/idle-conn")
	b.ReportMetric(float64(goroutines)/float64(n), "goroutines/conn")
}

// memAfterGC returns the live heap and the goroutine stacks after a full
// collection.
func memAfterGC() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// TestWSFanoutClients is the client process of BenchmarkWSFanout; it does
// nothing in a normal test run. It connects the clients, says "ready",
// then answers "wait K" with "done" once the clients have received K
// messages in all, and exits on "quit".
func TestWSFanoutClients(t *testing.T) {
	url, n := os.Getenv(fanoutURLEnv), os.Getenv(fanoutNEnv)
	if url == "" {
		t.Skip("the client process of BenchmarkWSFanout")
	}
	count, err := strconv.Atoi(n)
	if err != nil {
		t.Fatal(err)
	}
	var received atomic.Int64
	progress := make(chan struct{}, 1)
	conns := make([]*websocket.Conn, count)
	var wg sync.WaitGroup
	ready := make(chan struct{}, count)
	for i := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		c, _, err := websocket.Dial(ctx, url, nil)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "dial %d: %v\n", i, err)
			os.Exit(1)
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			fanoutClient(c, &received, progress, ready)
		}()
	}
	for range conns {
		<-ready
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		if cmd != "wait" {
			break
		}
		want, _ := strconv.ParseInt(arg, 10, 64)
		for received.Load() < want {
			<-progress
		}
		fmt.Println("done")
	}
	for _, c := range conns {
		c.CloseNow()
	}
	wg.Wait()
	os.Exit(0) // the parent's test binary checks for leaks, not this one
}

// fanoutClient subscribes and reads, granting credit in windows.
func fanoutClient(c *websocket.Conn, received *atomic.Int64, progress, ready chan struct{}) {
	ctx := context.Background()
	sub := fmt.Sprintf(`{"op":"subscribe","id":"s","sub":"f","topic":"fan","raw":true,"overflow":"block","credit":%d}`, fanoutWindow)
	if c.Write(ctx, websocket.MessageText, []byte(sub)) != nil {
		return
	}
	grant := []byte(fmt.Sprintf(`{"op":"credit","sub":"f","credit":%d}`, fanoutWindow/2))
	unacked := 0
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(data, []byte(`{"op":"message"`)):
			received.Add(1)
			select {
			case progress <- struct{}{}:
			default:
			}
			if unacked++; unacked == fanoutWindow/2 {
				unacked = 0
				if c.Write(ctx, websocket.MessageText, grant) != nil {
					return
				}
			}
		case bytes.HasPrefix(data, []byte(`{"op":"ok","id":"s"`)):
			ready <- struct{}{}
		case bytes.HasPrefix(data, []byte(`{"op":"error"`)):
			fmt.Fprintf(os.Stderr, "error: %s\n", data)
			os.Exit(1)
		}
	}
}
