// Command ws serves index.html, a browser client of courier's WebSocket
// endpoint that subscribes to a topic, shows its messages and publishes.
//
//	go run ./examples/ws
//
// runs an in-memory courier server with the topic "demo" and the page
// together on 127.0.0.1:7411: open http://127.0.0.1:7411/ in two tabs and
// publish from one to the other. With -server it serves only the page and
// forwards /v1/ to a running `courier serve`, so that the page and the
// endpoint share an origin (the server refuses pages of other origins
// unless server.WSConfig.OriginPatterns allows them):
//
//	courier serve --backend mem:// &
//	courier topic create demo --server http://127.0.0.1:7410
//	go run ./examples/ws -server http://127.0.0.1:7410
//
// The protocol is in docs/http-api.md, section WebSocket.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/server"
)

//go:embed index.html
var page []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:7411", "address to serve the page on")
	upstream := flag.String("server", "", "a courier server to forward /v1/ to (default: run one in memory)")
	topic := flag.String("topic", "demo", "the topic the in-memory server creates")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *upstream, *topic); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, addr, upstream, topic string) error {
	h, closeHandler, err := newHandler(ctx, upstream, topic)
	if err != nil {
		return err
	}
	defer closeHandler()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("open http://%s/", ln.Addr())
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	closeHandler() // closes the WebSockets, which Shutdown does not track
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler returns the page at / and a courier server (in memory, or
// upstream through a proxy) for the rest. close releases what it holds;
// it may be called more than once.
func newHandler(ctx context.Context, upstream, topic string) (http.Handler, func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	if upstream != "" {
		u, err := url.Parse(upstream)
		if err != nil || u.Host == "" {
			return nil, nil, fmt.Errorf("-server %q: want a URL such as http://127.0.0.1:7410", upstream)
		}
		// The proxy keeps the page's Host, so the server sees the page's
		// own origin; it forwards WebSocket upgrades.
		mux.Handle("/v1/", httputil.NewSingleHostReverseProxy(u))
		return mux, func() {}, nil
	}
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		return nil, nil, err
	}
	if _, err := b.CreateTopic(ctx, topic); err != nil {
		b.Close()
		return nil, nil, err
	}
	srv := server.New(b, server.WithWebSocket(server.WSConfig{}))
	mux.Handle("/", srv)
	closed := false
	return mux, func() {
		if !closed {
			closed = true
			srv.Drain()
			b.Close()
		}
	}, nil
}
