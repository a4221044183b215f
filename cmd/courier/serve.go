package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/server"
)

// shutdownGrace bounds how long a shutdown waits for requests in flight.
const shutdownGrace = 30 * time.Second

func newServeCmd(e *env) *cobra.Command {
	var addr, data, backend string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the courier server",
		Long: `Run the courier server: the REST API (docs/http-api.md) on one port, on the
embedded durable engine in --data, or on the backend named by --backend.

On SIGINT or SIGTERM the server stops accepting connections, ends long polls,
finishes the requests in flight, syncs the data and exits.`,
		Example: `  courier serve
  courier serve --addr 0.0.0.0:7410 --data /var/lib/courier
  courier serve --backend 'file:///var/lib/courier?sync=interval=10ms'
  courier serve --backend mem://`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if backend == "" {
				if data == "" {
					return usageError{errors.New("serve: --data is empty")}
				}
				backend = "file://" + data
			}
			return serve(cmd.Context(), e, addr, backend)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:7410", "address to listen on (host:port; port 0 picks one)")
	cmd.Flags().StringVar(&data, "data", "./courier-data", "data directory of the embedded engine")
	cmd.Flags().StringVar(&backend, "backend", "", "backend URL instead of --data (file://DIR?sync=..., mem://, ...)")
	return cmd
}

// serve runs the server until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, e *env, addr, backend string) error {
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	b, err := courier.Open(ctx, backend, courier.WithLogger(logger))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		b.Close()
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := server.New(b, server.WithLogger(logger))
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logger.Info("courier listening", "addr", ln.Addr().String(), "backend", b.URL())

	select {
	case err = <-served:
		// The listener failed on its own.
	case <-ctx.Done():
		logger.Info("shutting down: finishing requests in flight")
		srv.Drain()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		err = hs.Shutdown(sctx)
		cancel()
		<-served
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if cerr := b.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing the backend: %w", cerr)
	}
	if err == nil {
		logger.Info("stopped cleanly")
	}
	return err
}
