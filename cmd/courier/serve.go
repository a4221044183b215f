package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/config"
	"github.com/courier-io/courier/observability"
	"github.com/courier-io/courier/server"
)

// shutdownGrace bounds how long a shutdown waits for requests in flight.
const shutdownGrace = 30 * time.Second

func newServeCmd(e *env) *cobra.Command {
	var configFile string
	var printConfig, hashToken bool
	flags := map[string]*settingFlag{} // by key
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the courier server",
		Long: `Run the courier server: the REST API (docs/http-api.md), the WebSocket endpoint,
/healthz, /readyz and /metrics on one port (HTTP/1.1, HTTP/2 over TLS, and
HTTP/2 without TLS for clients that ask for it), on the embedded durable engine
in the directory --data, or on the backend named by --backend.

Settings come from flags, then environment variables (COURIER_ADDR, ...), then
the config file (--config FILE, YAML or TOML by extension), then defaults:
docs/server.md lists every key. --print-config prints the effective
configuration, secrets redacted, and exits; an invalid one exits 2 naming the
key at fault.

Authentication: with tokens in the config file, an admin token
(COURIER_ADMIN_TOKEN or --admin-token-file) or client certificates, every
request but /healthz needs a bearer token allowed to do it. Without any, the
server runs without authentication only on a loopback address (the default
127.0.0.1:7410), or anywhere with --insecure-no-auth; it refuses to start
otherwise. --hash-token reads a token on stdin and prints the hash that the
config file holds instead.

With --tls-cert and --tls-key it serves TLS (1.2 or later) and loads the pair
again on SIGHUP; a pair that fails to load is logged and the previous one kept.

It logs to stderr where it listens and where the data is. On SIGINT or
SIGTERM it stops accepting connections, ends long polls, finishes the requests
in flight (for up to 30s), syncs and closes the data, and exits 0. A second
signal kills it at once.`,
		Example: `  courier serve
  courier serve --addr 0.0.0.0:7410 --data /var/lib/courier --config /etc/courier.yaml
  COURIER_ADMIN_TOKEN=$(cat /run/secrets/courier) courier serve --addr 0.0.0.0:7410
  courier serve --tls-cert cert.pem --tls-key key.pem --admin-token-file token.txt
  courier serve --config courier.toml --print-config
  printf %s "$TOKEN" | courier serve --hash-token
  courier serve --addr 127.0.0.1:0      # any free port; the log says which
  courier serve --backend mem://        # nothing on disk, for trying things out`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if hashToken {
				return e.printTokenHash()
			}
			set := map[string]string{}
			for key, f := range flags {
				if cmd.Flags().Changed(f.name) {
					set[key] = f.value
				}
			}
			if !cmd.Flags().Changed("config") {
				configFile = os.Getenv("COURIER_CONFIG")
			}
			cfg, err := config.Load(config.Sources{File: configFile, LookupEnv: os.LookupEnv, Flags: set})
			if err != nil {
				return usageError{fmt.Errorf("invalid configuration: %w", err)}
			}
			if printConfig {
				out, err := cfg.YAML()
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(out)
				return err
			}
			return serve(cmd.Context(), e, cfg)
		},
	}
	defaults := config.Defaults()
	for _, s := range config.Settings {
		if s.Flag == "" {
			continue // a secret: environment only
		}
		value, typ := defaults.Text(s.Key)
		f := &settingFlag{name: s.Flag, typ: typ, def: value}
		flags[s.Key] = f
		help := s.Help + " (env " + s.Env + ")"
		pf := cmd.Flags().VarPF(f, s.Flag, "", help)
		if typ == "bool" {
			pf.NoOptDefVal = "true"
		}
	}
	cmd.Flags().StringVar(&configFile, "config", "", "config file, YAML or TOML by its extension (env COURIER_CONFIG)")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective configuration (YAML, secrets redacted) and exit")
	cmd.Flags().BoolVar(&hashToken, "hash-token", false, "read a token on stdin, print its hash for auth.tokens[].hash, and exit")
	return cmd
}

// settingFlag is the flag of a config setting: it keeps the text given,
// which config.Load parses and checks with the other layers.
type settingFlag struct {
	name, typ, def string
	value          string
}

func (f *settingFlag) String() string     { return f.def }
func (f *settingFlag) Type() string       { return f.typ }
func (f *settingFlag) Set(s string) error { f.value = s; return nil }

// printTokenHash reads a token on stdin and prints its hash.
func (e *env) printTokenHash() error {
	data, err := io.ReadAll(io.LimitReader(e.stdin, 1<<16))
	if err != nil {
		return fmt.Errorf("reading the token: %w", err)
	}
	token := strings.TrimRight(string(data), "\r\n")
	if token == "" {
		return usageError{fmt.Errorf("--hash-token: stdin holds no token")}
	}
	_, err = fmt.Fprintln(e.stdout, server.HashToken(token))
	return err
}

// serve serves cfg until ctx ends, then shuts down gracefully: long
// polls end, requests in flight finish, the backend syncs and closes.
func serve(ctx context.Context, e *env, cfg *config.Config) error {
	logger := newLogger(cfg.Log, cfg.LogLevel(), e.stderr)
	backend, dir := cfg.Backend, ""
	if backend == "" {
		abs, err := filepath.Abs(cfg.Data)
		if err != nil {
			return fmt.Errorf("data %s: %w", cfg.Data, err)
		}
		dir = abs
		backend = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	}
	var certs *server.CertReloader
	var tlsConfig *tls.Config
	if cfg.TLS.Cert != "" {
		var err error
		if certs, err = server.NewCertReloader(cfg.TLS.Cert, cfg.TLS.Key); err != nil {
			return usageError{fmt.Errorf("invalid configuration: tls.cert: %w", err)}
		}
		if tlsConfig, err = server.TLSConfig(certs, cfg.TLS.ClientCA); err != nil {
			return usageError{fmt.Errorf("invalid configuration: tls.client_ca: %w", err)}
		}
	}
	// Listen first: a taken port fails at once, before the data is opened
	// (which may mean recovering a large log).
	tcp, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	tp, err := newTracerProvider(ctx, cfg.Tracing, versionLine(), e.stdout)
	if err != nil {
		tcp.Close()
		return usageError{fmt.Errorf("invalid configuration: %w", err)}
	}
	openOpts := []courier.Option{courier.WithLogger(logger)}
	serverOpts := append([]server.Option{server.WithLogger(logger)}, cfg.ServerOptions()...)
	if tp != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
			defer cancel()
			if err := tp.Shutdown(sctx); err != nil {
				logger.Warn("flushing the last spans failed", "err", err)
			}
		}()
		openOpts = append(openOpts, courier.WithTracerProvider(tp))
		serverOpts = append(serverOpts, server.WithTracerProvider(tp))
	}
	b, err := courier.Open(ctx, backend, openOpts...)
	if err != nil {
		tcp.Close()
		return err
	}
	srv := server.New(b, serverOpts...)
	if err := srv.Err(); err != nil {
		srv.Drain()
		b.Close()
		tcp.Close()
		return err
	}
	ln := srv.Listener(tcp)
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	hs := srv.HTTPServer()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	stopReload := reloadOnSIGHUP(certs, logger)
	defer stopReload()

	attrs := []any{"addr", tcp.Addr().String(), "tls", tlsConfig != nil, "auth", authMode(cfg), "backend", b.URL(), "tracing", cfg.Tracing.Exporter}
	if dir != "" {
		attrs = append(attrs, "data", dir)
	}
	logger.Info("courier listening", attrs...)
	if cfg.Auth.InsecureNoAuth && !cfg.AuthEnabled() {
		logger.Warn("authentication is off (--insecure-no-auth): anyone who can connect may do anything")
	}

	select {
	case err = <-served:
		// The listener failed on its own.
		err = fmt.Errorf("serving on %s: %w", tcp.Addr(), err)
		srv.Drain()
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

// authMode says how the server authenticates, for the log.
func authMode(cfg *config.Config) string {
	switch {
	case cfg.AuthEnabled():
		return fmt.Sprintf("tokens (%d identities)", len(cfg.Identities()))
	case cfg.Auth.InsecureNoAuth:
		return "off (--insecure-no-auth)"
	default:
		return "off (loopback only)"
	}
}

// reloadOnSIGHUP loads the TLS pair of certs again on each SIGHUP until
// the returned stop is called; a pair that fails to load is logged and
// the previous one kept. Without certs it does nothing.
func reloadOnSIGHUP(certs *server.CertReloader, logger *slog.Logger) (stop func()) {
	if certs == nil {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-hup:
				if err := certs.Reload(); err != nil {
					logger.Error("TLS reload failed; serving the previous certificate", "err", err)
				} else {
					logger.Info("TLS certificate reloaded")
				}
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(hup)
		close(done)
		wg.Wait()
	}
}

// newLogger returns the server's logger: text or JSON lines on w at level,
// with the trace and span IDs of a traced request's context in each line.
func newLogger(l config.Log, level slog.Level, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if l.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(observability.LogHandler(h))
}
