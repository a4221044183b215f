package client_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/conformance"
	"github.com/courier-io/courier/internal/servertest"
	"github.com/courier-io/courier/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts a server for backend and returns its URL and its Stop.
func serve(t testing.TB, backend string) (string, func()) {
	t.Helper()
	s := servertest.Start(t, backend)
	return s.URL, s.Stop
}

func openRemote(t *testing.T, url string) *courier.Broker {
	t.Helper()
	b, err := courier.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// clients are the two Go clients of a server: the http:// driver (gRPC)
// and the rest+http:// driver (REST); each test runs against both.
var clients = []struct{ name, prefix string }{{"grpc", ""}, {"rest", "rest+"}}

func TestConformanceOverHTTP(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			conformance.Run(t, func(t *testing.T) *courier.Broker {
				url, _ := serve(t, "mem://")
				return openRemote(t, c.prefix+url)
			}, conformance.Features{})
		})
	}
}

func TestConformanceOverHTTPWithRestart(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { conformanceWithRestart(t, c.prefix) })
	}
}

func conformanceWithRestart(t *testing.T, prefix string) {
	type running struct {
		dir  string
		stop func()
	}
	servers := map[*courier.Broker]running{}
	start := func(t *testing.T, dir string) *courier.Broker {
		url, stop := serve(t, "file://"+dir)
		b := openRemote(t, prefix+url)
		servers[b] = running{dir, stop}
		return b
	}
	conformance.Run(t, func(t *testing.T) *courier.Broker { return start(t, t.TempDir()) }, conformance.Features{
		Restart: func(t *testing.T, b *courier.Broker) *courier.Broker {
			r := servers[b]
			b.Close()
			r.stop()
			return start(t, r.dir)
		},
	})
}

// Example runs a server on the in-memory engine and uses the Go API
// through http://, exactly as against an embedded engine.
func Example() {
	ctx := context.Background()
	backend, _ := courier.Open(ctx, "mem://")
	defer backend.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	hs := server.New(backend).HTTPServer()
	go hs.Serve(ln)
	defer hs.Shutdown(ctx)

	b, err := courier.Open(ctx, "http://"+ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	q, _ := b.CreateQueue(ctx, "greetings")
	q.Send(ctx, courier.Message{Body: []byte("hello over HTTP")})
	ds, _ := q.Receive(ctx, courier.Max(10))
	for _, d := range ds {
		fmt.Println(string(d.Body), d.ReceiveCount)
		d.Ack(ctx)
	}
	_, err = b.Queue("missing").Info(ctx)
	fmt.Println(err)
	// Output:
	// hello over HTTP 1
	// queue "missing": info: queue "missing": not found
}
