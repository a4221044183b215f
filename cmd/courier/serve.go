package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
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
		Long: `Run the courier server: the REST API (docs/http-api.md), /healthz and /readyz
on one port (HTTP/1.1, and HTTP/2 without TLS for clients that ask for it),
on the embedded durable engine in the directory --data, or on the backend
named by --backend.

It logs to stderr where it listens and where the data is. On SIGINT or
SIGTERM it stops accepting connections, ends long polls, finishes the requests
in flight (for up to 30s), syncs and closes the data, and exits 0. A second
signal kills it at once.`,
		Example: `  courier serve
  courier serve --addr 0.0.0.0:7410 --data /var/lib/courier
  courier serve --addr 127.0.0.1:0      # any free port; the log says which
  courier serve --backend 'file:///var/lib/courier?sync=interval=10ms'
  courier serve --backend mem://        # nothing on disk, for trying things out`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if f.Changed("data") && f.Changed("backend") {
				return usageError{errors.New("--data and --backend exclude each other: --data DIR is short for --backend file://DIR")}
			}
			var dir string
			if backend == "" {
				if data == "" {
					return usageError{errors.New("--data is empty")}
				}
				abs, err := filepath.Abs(data)
				if err != nil {
					return fmt.Errorf("--data %s: %w", data, err)
				}
				dir = abs
				backend = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
			}
			return serve(cmd.Context(), e, addr, backend, dir)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:7410", "address to listen on, host:port (port 0 picks a free one)")
	cmd.Flags().StringVar(&data, "data", "./courier-data", "data directory of the embedded engine (created if missing)")
	cmd.Flags().StringVar(&backend, "backend", "", "backend URL instead of --data: file://DIR?sync=always|none|interval=D, mem://, ...")
	return cmd
}

// serve serves the backend on addr until ctx ends, then shuts down
// gracefully: long polls end, requests in flight finish, the backend
// syncs and closes. dir is the data directory, when --data named it.
func serve(ctx context.Context, e *env, addr, backend, dir string) error {
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	// Listen first: a taken port fails at once, before the data is opened
	// (which may mean recovering a large log).
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	b, err := courier.Open(ctx, backend, courier.WithLogger(logger))
	if err != nil {
		ln.Close()
		return err
	}
	srv := server.New(b, server.WithLogger(logger))
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Handler:           srv,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	attrs := []any{"addr", ln.Addr().String(), "backend", b.URL()}
	if dir != "" {
		attrs = append(attrs, "data", dir)
	}
	logger.Info("courier listening", attrs...)

	select {
	case err = <-served:
		// The listener failed on its own.
		err = fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
		logger.Info("shutting down: ending long polls, finishing requests in flight")
		srv.Drain()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		err = hs.Shutdown(sctx)
		cancel()
		if err != nil {
			hs.Close()
			err = fmt.Errorf("shutdown: requests still running after %v were cut off: %w", shutdownGrace, err)
		}
		<-served
	}
	if cerr := b.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing the backend: %w", cerr)
	}
	if err == nil {
		logger.Info("stopped cleanly: data synced and closed")
	}
	return err
}
