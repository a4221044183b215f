package server

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// Limits bound what one request, one identity and all connections may
// use. A zero field takes the default in its comment; docs/server.md
// lists them with the config keys that set them.
type Limits struct {
	// MaxRequestBytes bounds a request body: larger ones are refused with
	// 413 as soon as they pass it, before they are decoded. Default and
	// most: MaxRequestBytes (64 MiB).
	MaxRequestBytes int64
	// MaxMessageBytes bounds one message (body plus headers), record (key,
	// value and headers) or event (detail, source, detail type and
	// resources) written through the server: 413 for the request. Default
	// and most: 1 MiB (driver.MaxMessageSizeLimit); a queue's or stream's
	// own smaller limit still applies.
	MaxMessageBytes int
	// MaxBatch bounds the messages, records or events of one write
	// request. Default and most: 1000 (driver.MaxBatch).
	MaxBatch int
	// MaxConnections bounds open connections (Server.Listener): one more is
	// closed as soon as it is accepted. Default: no limit.
	MaxConnections int
	// MaxStreams bounds long polls (receives, stream reads, group polls),
	// topic tails and WebSocket sessions in progress at once: one more is
	// refused with 429. Default: no limit.
	MaxStreams int
	// Rate is each identity's sustained requests per second (a token
	// bucket per identity; all callers share one bucket when
	// authentication is off); a request over it is refused with 429 and
	// Retry-After. Default: no limit. Identity.Rate overrides it.
	Rate float64
	// Burst is how many requests an identity may make at once; default
	// Rate rounded up. Identity.Burst overrides it.
	Burst int
	// MaxHeaderBytes bounds the request line and headers (431 beyond).
	// Default 1 MiB, as net/http.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds the time to read a request's headers: a
	// client that sends them slowly is cut off. Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to read a whole request, body included.
	// It does not end long polls and streams: net/http lifts a
	// connection's read deadline once the request's body is read
	// (TestLongPollOutlivesReadTimeout). Default: no limit
	// (ReadHeaderTimeout still applies).
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long. Default
	// 2 minutes.
	IdleTimeout time.Duration
}

// withDefaults fills in the zero fields and caps the fields that have a
// ceiling.
func (l Limits) withDefaults() Limits {
	if l.MaxRequestBytes <= 0 || l.MaxRequestBytes > MaxRequestBytes {
		l.MaxRequestBytes = MaxRequestBytes
	}
	if l.MaxMessageBytes <= 0 || l.MaxMessageBytes > driver.MaxMessageSizeLimit {
		l.MaxMessageBytes = driver.MaxMessageSizeLimit
	}
	if l.MaxBatch <= 0 || l.MaxBatch > driver.MaxBatch {
		l.MaxBatch = driver.MaxBatch
	}
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 2 * time.Minute
	}
	return l
}

// WithLimits sets the server's limits (default: the zero Limits, whose
// fields take their documented defaults).
func WithLimits(l Limits) Option { return func(s *Server) { s.limits = l } }

// HTTPServer returns an http.Server for s: s as its handler, HTTP/1.1,
// HTTP/2 over TLS and HTTP/2 without TLS (h2c) for clients that ask for
// it, the header size and timeouts of the server's Limits, and errors
// logged to its logger. It sets no WriteTimeout: long polls and streams
// write for as long as they last.
func (s *Server) HTTPServer() *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           s,
		Protocols:         &protocols,
		MaxHeaderBytes:    s.limits.MaxHeaderBytes,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout:       s.limits.ReadTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

// Listener wraps ln to count the server's open connections (the metric
// courier_http_connections_open) and to enforce Limits.MaxConnections: a
// connection beyond it is closed as soon as it is accepted, and counted in
// courier_http_connections_rejected_total. Wrap the TCP listener, under
// any TLS listener, so that a rejected connection costs no handshake.
func (s *Server) Listener(ln net.Listener) net.Listener { return &limitListener{Listener: ln, s: s} }

type limitListener struct {
	net.Listener
	s *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.s.conns.Add(1)
		if max := l.s.limits.MaxConnections; max > 0 && n > int64(max) {
			l.s.conns.Add(-1)
			l.s.metrics.connsRejected.Inc()
			c.Close()
			continue
		}
		return &countedConn{Conn: c, open: &l.s.conns}, nil
	}
}

// countedConn gives back its place in the count when it is closed.
type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// semaphore bounds streams in progress; nil means no bound.
type semaphore chan struct{}

func newSemaphore(n int) semaphore {
	if n <= 0 {
		return nil
	}
	return make(semaphore, n)
}

// tryAcquire takes a place if there is one.
func (sem semaphore) tryAcquire() bool {
	if sem == nil {
		return true
	}
	select {
	case sem <- struct{}{}:
		return true
	default:
		return false
	}
}

func (sem semaphore) release() {
	if sem != nil {
		<-sem
	}
}

// rateLimited is a request over its identity's rate, with the time after
// which one would pass.
type rateLimited struct {
	err        error
	retryAfter time.Duration
}

// allow takes one token of id's bucket, or tells how long until there is
// one.
func (id *identity) allow() *rateLimited {
	if id.limiter == nil {
		return nil
	}
	now := time.Now()
	r := id.limiter.ReserveN(now, 1)
	if !r.OK() {
		return &rateLimited{fmt.Errorf("%w: %s has a burst of 0", httpapi.ErrRateLimited, id.describe()), time.Second}
	}
	delay := r.DelayFrom(now)
	if delay == 0 {
		return nil
	}
	r.CancelAt(now)
	return &rateLimited{
		fmt.Errorf("%w: %s is over its rate of %g requests per second; retry after %v", httpapi.ErrRateLimited, id.describe(), float64(id.limiter.Limit()), delay.Round(time.Millisecond)),
		delay,
	}
}

// refuseRateLimited answers 429 (RESOURCE_EXHAUSTED on the gRPC surface)
// with a Retry-After header in whole seconds (at least 1).
func refuseRateLimited(w http.ResponseWriter, r *http.Request, grpc bool, rl *rateLimited) {
	secs := int(math.Ceil(rl.retryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	refuse(w, r, grpc, rl.err)
}

// checkBatch checks a batch of n messages, records or events against
// MaxBatch, and each one's size (by size) against MaxMessageBytes; field
// names the batch in errors ("messages", "records", "entries").
func (s *Server) checkBatch(field string, n int, size func(i int) int) error {
	if n > s.limits.MaxBatch {
		return driver.TooLarge(field, "batch has %d entries; this server's limit is %d", n, s.limits.MaxBatch)
	}
	for i := range n {
		if sz := size(i); sz > s.limits.MaxMessageBytes {
			return driver.TooLarge(fmt.Sprintf("%s[%d]", field, i), "is %d bytes; this server's limit is %d", sz, s.limits.MaxMessageBytes)
		}
	}
	return nil
}

// checkMessages checks a send or publish.
func (s *Server) checkMessages(msgs []courier.Message) error {
	return s.checkBatch("messages", len(msgs), func(i int) int { return driver.MessageSize(&msgs[i]) })
}

// checkRecords checks an append.
func (s *Server) checkRecords(recs []courier.Record) error {
	return s.checkBatch("records", len(recs), func(i int) int { return driver.RecordSize(&recs[i]) })
}

// checkEvents checks a put-events or CloudEvents batch.
func (s *Server) checkEvents(events []driver.Event) error {
	return s.checkBatch("entries", len(events), func(i int) int { return eventSize(&events[i]) })
}

// eventSize is what an event counts against MaxMessageBytes.
func eventSize(ev *driver.Event) int {
	n := len(ev.Detail) + len(ev.Source) + len(ev.DetailType)
	for _, r := range ev.Resources {
		n += len(r)
	}
	return n
}
