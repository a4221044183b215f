package nats

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

func init() {
	driver.Register("nats", open)
	driver.Register("nats+tls", open)
}

// conn is an open courier connection to a NATS server with JetStream.
type conn struct {
	cfg config
	lay layout
	log *slog.Logger
	nc  *nats.Conn
	js  jetstream.JetStream

	closed atomic.Bool
	done   chan struct{} // closed by Close: background goroutines stop
	wg     sync.WaitGroup

	kvMu     sync.Mutex
	kv       jetstream.KeyValue
	kvStream jetstream.Stream // the bucket's stream, for listing keys

	mu        sync.Mutex
	topics    map[string]*topicMeta // by topic name
	streams   map[string]*streamMeta
	promoters map[string]*promoter // by queue stream name
	tails     map[*feed]struct{}
	subStats  map[string]*subCounters // by "topic/sub"

	queues     sync.Map // stream name -> *queueMeta, read on every queue call
	maxPayload atomic.Int64
	deliveries deliveryTable
	readers    readerCache
	rr         atomic.Uint64 // round-robin partition of keyless records
}

// open is the driver.OpenFunc of nats:// and nats+tls://.
func open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	cfg, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("driver", "nats")
	nopts, err := natsOptions(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	nc, err := connect(ctx, cfg, nopts)
	if err != nil {
		return nil, err
	}
	var js jetstream.JetStream
	if cfg.domain != "" {
		js, err = jetstream.NewWithDomain(nc, cfg.domain)
	} else {
		js, err = jetstream.New(nc)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	c := &conn{
		cfg: cfg, lay: layout{prefix: cfg.prefix}, log: logger, nc: nc, js: js,
		done:      make(chan struct{}),
		topics:    make(map[string]*topicMeta),
		streams:   make(map[string]*streamMeta),
		promoters: make(map[string]*promoter),
		tails:     make(map[*feed]struct{}),
		subStats:  make(map[string]*subCounters),
	}
	// A cluster electing its meta leader answers "temporarily
	// unavailable" for a moment.
	if _, err := retry(ctx, c, "account info", func() (*jetstream.AccountInfo, error) { return js.AccountInfo(ctx) }); err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: JetStream is not available on %v: %w", nc.ConnectedUrlRedacted(), mapErr(err))
	}
	c.deliveries.init()
	c.maxPayload.Store(nc.MaxPayload())
	nc.SetReconnectHandler(func(nc *nats.Conn) {
		// Another server may allow another payload size.
		c.maxPayload.Store(nc.MaxPayload())
		logger.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
	})
	return c, nil
}

// natsOptions turns the URL's settings into nats.go options.
func natsOptions(ctx context.Context, cfg config, logger *slog.Logger) ([]nats.Option, error) {
	timeout := cfg.connectTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(dl), time.Millisecond))
	}
	o := []nats.Option{
		nats.Name(cfg.name),
		nats.Timeout(timeout),
		nats.ReconnectWait(cfg.reconnectWait),
		nats.MaxReconnects(cfg.maxReconnects),
		nats.ReconnectJitter(cfg.reconnectWait/4, cfg.reconnectWait/4),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				logger.Warn("disconnected from NATS; reconnecting", "error", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			logger.Warn("NATS asynchronous error", "error", err)
		}),
	}
	switch {
	case cfg.user != "":
		o = append(o, nats.UserInfo(cfg.user, cfg.password))
	case cfg.token != "":
		o = append(o, nats.Token(cfg.token))
	}
	if cfg.credsFile != "" {
		o = append(o, nats.UserCredentials(cfg.credsFile))
	}
	if cfg.nkeyFile != "" {
		opt, err := nats.NkeyOptionFromSeed(cfg.nkeyFile)
		if err != nil {
			return nil, driver.Invalid("url.nkey", "%v", err)
		}
		o = append(o, opt)
	}
	if cfg.tls {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.tlsCA != "" {
			pem, err := os.ReadFile(cfg.tlsCA)
			if err != nil {
				return nil, driver.Invalid("url.tls_ca", "%v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, driver.Invalid("url.tls_ca", "%s holds no PEM certificate", cfg.tlsCA)
			}
			tc.RootCAs = pool
		}
		if cfg.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
			if err != nil {
				return nil, driver.Invalid("url.tls_cert", "%v", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		o = append(o, nats.Secure(tc))
	}
	return o, nil
}

// connect dials the servers, giving up when ctx ends.
func connect(ctx context.Context, cfg config, opts []nats.Option) (*nats.Conn, error) {
	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		opts := append(opts, nats.DontRandomize())
		nc, err := nats.Connect(joinServers(cfg.servers), opts...)
		ch <- result{nc, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("nats: connect to %s: %w", joinServers(cfg.servers), r.err)
		}
		return r.nc, nil
	case <-ctx.Done():
		go func() { // the dial ends within its timeout; close what it opened
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("nats: connect to %s: %w", joinServers(cfg.servers), ctx.Err())
	}
}

func joinServers(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

// Capabilities reports what the driver does with courier semantics; see
// the package documentation for what each "no" is and why.
func (c *conn) Capabilities() driver.Capabilities {
	return driver.Capabilities{
		Queues:     true,
		FIFO:       false,
		Dedup:      true,
		Delay:      true,
		DeadLetter: true,
		Redrive:    true,
		LongPoll:   true,
		Persistent: c.cfg.storage == jetstream.FileStorage,
		Topics:     true,
		Push:       false,
		Streams:    true,
		Buses:      false,
	}
}

// Close stops the connection's background work (delay promoters, tails),
// then closes the NATS connection; calls in progress fail with ErrClosed.
// It is idempotent.
func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	close(c.done)
	c.mu.Lock()
	proms := make([]*promoter, 0, len(c.promoters))
	for _, p := range c.promoters {
		proms = append(proms, p)
	}
	tails := make([]*feed, 0, len(c.tails))
	for f := range c.tails {
		tails = append(tails, f)
	}
	c.mu.Unlock()
	for _, p := range proms {
		p.stop()
	}
	for _, f := range tails {
		f.end(driver.ErrClosed)
	}
	c.wg.Wait()
	if rs := c.readers.take(""); len(rs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c.deleteReaders(ctx, rs)
		cancel()
	}
	c.nc.Close()
	return nil
}

// usable fails with ErrClosed once Close was called.
func (c *conn) usable() error {
	if c.closed.Load() {
		return driver.ErrClosed
	}
	return nil
}

// meta returns the KV bucket holding subscriptions and consumer groups,
// creating it on first use.
//
// A replicated bucket's stream serves reads only from its leader: a KV
// bucket allows direct gets by default, which any replica answers, and a
// follower that has not applied the latest writes yet would answer with
// an old value (a group read after its deletion, a subscription missing
// after Subscribe returned). Reads through the leader see every
// acknowledged write.
func (c *conn) meta(ctx context.Context) (jetstream.KeyValue, error) {
	c.kvMu.Lock()
	defer c.kvMu.Unlock()
	if c.kv != nil {
		return c.kv, nil
	}
	kv, st, err := c.openMeta(ctx)
	if err != nil {
		return nil, fmt.Errorf("metadata bucket %s: %w", c.lay.bucket(), mapErr(err))
	}
	c.kv, c.kvStream = kv, st
	return kv, nil
}

// openMeta opens (or creates) the metadata bucket and its stream, with
// direct gets turned off when the stream is replicated.
func (c *conn) openMeta(ctx context.Context) (jetstream.KeyValue, jetstream.Stream, error) {
	open := func() (jetstream.KeyValue, error) {
		return retry(ctx, c, "open bucket", func() (jetstream.KeyValue, error) { return c.js.KeyValue(ctx, c.lay.bucket()) })
	}
	kv, err := open()
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = retry(ctx, c, "create bucket", func() (jetstream.KeyValue, error) {
			return c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket:      c.lay.bucket(),
				Description: "courier: topic subscriptions and stream consumer groups",
				History:     1,
				Storage:     c.cfg.storage,
				Replicas:    c.cfg.replicas,
			})
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = open()
		}
	}
	if err != nil {
		return nil, nil, err
	}
	st, err := c.stream(ctx, "KV_"+c.lay.bucket())
	if err != nil {
		return nil, nil, err
	}
	cfg := st.CachedInfo().Config
	if cfg.Replicas <= 1 || !cfg.AllowDirect {
		return kv, st, nil // a single replica is the leader
	}
	// A KV handle reads with direct gets when its stream allowed them as
	// it was opened: turn them off, then open it again. (Connections
	// racing to create the bucket may turn them on again for a moment:
	// each turns them off before it opens the handle it uses.)
	cfg.AllowDirect = false
	if st, err = c.retryCreate(ctx, cfg, c.js.UpdateStream); err != nil {
		return nil, nil, err
	}
	kv, err = open()
	return kv, st, err
}

// apiCode returns the JetStream error code of err, or 0.
func apiCode(err error) jetstream.ErrorCode {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.ErrorCode
	}
	return 0
}

// mapErr wraps err with the courier sentinel it means, keeping its text.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	var api *jetstream.APIError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, driver.ErrNotFound), errors.Is(err, driver.ErrClosed), errors.Is(err, driver.ErrInvalid),
		errors.Is(err, driver.ErrTooLarge), errors.Is(err, driver.ErrConflict), errors.Is(err, driver.ErrStorage),
		errors.Is(err, driver.ErrUnsupported), errors.Is(err, driver.ErrReceiptInvalid), errors.Is(err, driver.ErrFenced):
		return err
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		sentinel = driver.ErrClosed
	case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrConsumerNotFound),
		errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrMsgNotFound),
		errors.Is(err, jetstream.ErrBucketNotFound):
		sentinel = driver.ErrNotFound
	case unavailable(err):
		// Not an answer about the resource: the caller retried for
		// apiPatience (or its context ended first).
		return fmt.Errorf("JetStream did not handle the request (no leader, or the cluster is unavailable): %w", err)
	case errors.Is(err, nats.ErrMaxPayload):
		sentinel = driver.ErrTooLarge
	case errors.As(err, &api):
		switch api.ErrorCode {
		case jetstream.JSErrCodeStreamMessageExceedsMaximum:
			sentinel = driver.ErrTooLarge
		case jetstream.JSErrCodeStreamNameInUse, jetstream.JSErrCodeStreamWrongLastSequence,
			jetstream.JSErrCodeStreamWrongLastSequenceConstant:
			sentinel = driver.ErrConflict
		case 10023, 10047, 10077: // insufficient resources, storage exceeded, store failed
			sentinel = driver.ErrStorage
		}
	}
	if sentinel == nil {
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
