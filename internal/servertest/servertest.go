// Package servertest runs a courier server on 127.0.0.1 for tests of its
// clients (the http:// and https:// driver, the CLI). The server runs
// without authentication unless the test passes server options that turn
// it on.
package servertest

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/testcert"
	"github.com/courier-io/courier/server"
)

// Server is a running test server.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT (https:// for
	// StartTLS).
	URL string
	// Broker is the backend the server serves.
	Broker *courier.Broker
	// Certs serves the TLS pair of StartTLS; Reload loads it again.
	Certs *server.CertReloader
	stop  func()
}

// Start opens backend, serves it on a free port of 127.0.0.1 as `courier
// serve` does (HTTP/1.1 and h2c) and registers Stop with t.Cleanup; opts
// configure the server (authentication, limits).
func Start(t testing.TB, backend string, opts ...server.Option) *Server {
	t.Helper()
	return start(t, "127.0.0.1:0", backend, nil, opts)
}

// StartAt is Start on the address addr, for a test that restarts a server
// where its clients know it.
func StartAt(t testing.TB, addr, backend string, opts ...server.Option) *Server {
	t.Helper()
	return start(t, addr, backend, nil, opts)
}

// StartTLS is Start over TLS, with the certificate pair and, when
// clientCA is not empty, client certificates verified by that CA file;
// opts configure the server (authentication, limits).
func StartTLS(t testing.TB, backend string, pair testcert.Pair, clientCA string, opts ...server.Option) *Server {
	t.Helper()
	certs, err := server.NewCertReloader(pair.CertFile, pair.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := server.TLSConfig(certs, clientCA)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, "127.0.0.1:0", backend, cfg, opts)
	s.Certs = certs
	return s
}

// start serves backend with opts, over TLS when tlsConfig is not nil.
func start(t testing.TB, addr, backend string, tlsConfig *tls.Config, opts []server.Option) *Server {
	t.Helper()
	b, err := courier.Open(context.Background(), backend)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	srv := server.New(b, opts...)
	hs := srv.HTTPServer()
	s := &Server{URL: "http://" + ln.Addr().String(), Broker: b}
	var l net.Listener = srv.Listener(ln)
	if tlsConfig != nil {
		l = tls.NewListener(l, tlsConfig)
		s.URL = "https://" + ln.Addr().String()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(l)
	}()
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
