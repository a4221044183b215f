// Package servertest runs a courier server on 127.0.0.1 for tests of its
// clients (the http:// driver, the CLI).
package servertest

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/server"
)

// Server is a running test server.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// Broker is the backend the server serves.
	Broker *courier.Broker
	stop   func()
}

// Start opens backend, serves it on a free port of 127.0.0.1 and registers
// Stop with t.Cleanup.
func Start(t testing.TB, backend string) *Server {
	t.Helper()
	b, err := courier.Open(context.Background(), backend)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	srv := server.New(b)
	hs := &http.Server{Handler: srv}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	s := &Server{URL: "http://" + ln.Addr().String(), Broker: b}
	s.stop = sync.OnceFunc(func() {
		srv.Drain()
		hs.Shutdown(context.Background())
		<-done
		b.Close()
	})
	t.Cleanup(s.stop)
	return s
}

// Stop ends long polls, shuts the server down and closes the backend. It
// is idempotent.
func (s *Server) Stop() { s.stop() }
