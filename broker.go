package courier

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"

	_ "github.com/courier-io/courier/client"      // registers http:// and https:// (gRPC)
	_ "github.com/courier-io/courier/client/rest" // registers rest+http:// and rest+https://
	"go.opentelemetry.io/otel/trace"

	"github.com/courier-io/courier/driver"
	_ "github.com/courier-io/courier/internal/engine" // registers mem:// and file://
	"github.com/courier-io/courier/observability"
)

// Capabilities declares what the broker's backend supports.
type Capabilities = driver.Capabilities

// Broker is an open connection to a backend. It is safe for concurrent use.
type Broker struct {
	conn    driver.Conn
	queues  driver.Queues
	topics  driver.Topics
	streams driver.Streams
	buses   driver.Buses
	peeker  driver.Peeker          // nil when the backend cannot peek
	storage driver.StorageReporter // nil when the backend has no local storage
	url     string
	closed  atomic.Bool
}

// Option configures Open.
type Option func(*openConfig)

type openConfig struct {
	logger *slog.Logger
	tp     trace.TracerProvider
}

// WithLogger sets the logger the backend logs to. Default: logs are discarded.
func WithLogger(l *slog.Logger) Option {
	return func(c *openConfig) { c.logger = l }
}

// WithTracerProvider traces the broker's produce and consume calls with
// OpenTelemetry, and carries W3C trace context in message headers so that
// consumers continue their producers' traces (see package observability).
// Without it nothing is traced and nothing costs.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *openConfig) { c.tp = tp }
}

// Open connects to the backend named by rawURL:
//
//	mem://                     in-memory engine (lost on Close)
//	file://PATH[?sync=MODE]    embedded durable engine in directory PATH;
//	                           MODE is always (default: every acknowledged
//	                           write is fdatasync'd), interval=D (bounded
//	                           loss of D) or none
//
// Other schemes are available when their driver package is imported.
// Open fails with an error wrapping ErrInvalid for a malformed URL or an
// unknown scheme, and with the driver's error otherwise (for file://, a data
// directory used by another process is reported with its pid).
func Open(ctx context.Context, rawURL string, opts ...Option) (*Broker, error) {
	cfg := openConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("courier: open: %w", driver.Invalid("url", "%v", err))
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("courier: open %q: %w", rawURL, driver.Invalid("url", "no scheme; use one of %s", schemeList()))
	}
	open, ok := driver.Lookup(u.Scheme)
	if !ok {
		return nil, fmt.Errorf("courier: open %q: %w", rawURL, driver.Invalid("url", "unknown scheme %q; registered are %s", u.Scheme, schemeList()))
	}
	conn, err := open(ctx, u, driver.Options{Logger: cfg.logger})
	if err != nil {
		return nil, fmt.Errorf("courier: open %s: %w", redact(u), err)
	}
	// Peeking is an operator's view: it is not traced.
	peeker, _ := conn.(driver.Peeker)
	storage, _ := conn.(driver.StorageReporter)
	if cfg.tp != nil {
		conn = observability.Trace(conn, cfg.tp, "courier-"+u.Scheme)
	}
	b := &Broker{conn: conn, url: redact(u), peeker: peeker, storage: storage}
	if q, ok := conn.(driver.Queues); ok && conn.Capabilities().Queues {
		b.queues = q
	}
	if t, ok := conn.(driver.Topics); ok && conn.Capabilities().Topics {
		b.topics = t
	}
	if s, ok := conn.(driver.Streams); ok && conn.Capabilities().Streams {
		b.streams = s
	}
	if bd, ok := conn.(driver.Buses); ok && conn.Capabilities().Buses {
		b.buses = bd
	}
	return b, nil
}

func schemeList() string {
	s := driver.Schemes()
	for i := range s {
		s[i] += "://"
	}
	return strings.Join(s, ", ")
}

// redact hides a password in a URL for logs and errors.
func redact(u *url.URL) string { return u.Redacted() }

// URL returns the URL the broker was opened with, password redacted.
func (b *Broker) URL() string { return b.url }

// Capabilities reports what the backend supports.
func (b *Broker) Capabilities() Capabilities { return b.conn.Capabilities() }

// StorageStats returns the stats of the backend's local storage (file://:
// the log's segments, bytes written, fsync durations, free disk), and
// false for backends without local storage.
func (b *Broker) StorageStats() (driver.StorageStats, bool) {
	if b.storage == nil {
		return driver.StorageStats{}, false
	}
	return b.storage.StorageStats(), true
}

// Close closes the backend. On file:// it syncs everything written and
// releases the data directory. Calls in progress fail with ErrClosed.
// Close is idempotent.
func (b *Broker) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	return b.conn.Close()
}

func (b *Broker) queueDriver() (driver.Queues, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if b.queues == nil {
		return nil, fmt.Errorf("queues: %w", ErrUnsupported)
	}
	return b.queues, nil
}

func (b *Broker) topicDriver() (driver.Topics, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if b.topics == nil {
		return nil, fmt.Errorf("topics: %w", ErrUnsupported)
	}
	return b.topics, nil
}
