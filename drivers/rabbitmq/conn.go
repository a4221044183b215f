package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
)

func init() {
	driver.Register("amqp", open)
	driver.Register("amqps", open)
}

// Conn is an open connection to RabbitMQ. It implements driver.Conn,
// driver.Queues and driver.Topics.
type Conn struct {
	cfg  config
	log  *slog.Logger
	conn *amqp.Connection

	closed  atomic.Bool
	done    chan struct{}
	wg      sync.WaitGroup
	spawnMu sync.Mutex
	closing bool // no goroutine may start: Close is waiting for them

	stateMu sync.Mutex
	upCh    chan struct{} // closed while the connection is up
	dead    error         // set when reconnecting gave up

	pubs []*publisher
	rr   atomic.Uint64

	adminMu sync.Mutex
	admin   *amqp.Channel

	cat    *catalog
	reaper *reaper

	qmu    sync.Mutex
	qstate map[string]*queueState // by physical queue name

	acked *receiptSet

	tmu    sync.Mutex
	tstats map[string]*topicCounters // by topic name
	feeds  map[*feed]struct{}
	routes map[string]cachedRouting // by topic name

	server string // RabbitMQ version, from the connection's server properties
	id     string // identifies this connection in receipts
}

var _ interface {
	driver.Conn
	driver.Queues
	driver.Topics
} = (*Conn)(nil)

// open is the driver.OpenFunc of amqp:// and amqps://.
func open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	cfg, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	return dial(ctx, cfg, opts.Logger)
}

// dial connects to RabbitMQ as cfg says, starts the catalog replica and
// returns when it has caught up with the catalog stream.
func dial(ctx context.Context, cfg config, logger *slog.Logger) (_ *Conn, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		cfg:    cfg,
		log:    logger.With("driver", "rabbitmq"),
		done:   make(chan struct{}),
		upCh:   make(chan struct{}),
		qstate: make(map[string]*queueState),
		acked:  newReceiptSet(1 << 16),
		tstats: make(map[string]*topicCounters),
		feeds:  make(map[*feed]struct{}),
		routes: make(map[string]cachedRouting),
		id:     newID()[:12],
	}
	close(c.upCh)
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	attempts := cfg.reconnectAttempts
	if attempts == 0 {
		attempts = math.MaxInt32
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("courier " + cfg.namespace)
	acfg := amqp.Config{
		TLSClientConfig: tc,
		Properties:      props,
		Recovery: &amqp.Recovery{
			ReconnectionConfig:   &amqp.ReconnectionConfig{MaxRetryCount: attempts, RetryInterval: cfg.reconnectWait},
			ConnectionRecovery:   &recovery{c: c},
			TopologyRecoveryMode: amqp.TopologyRecoveryDisabled,
		},
	}
	type dialed struct {
		conn *amqp.Connection
		err  error
	}
	res := make(chan dialed, 1)
	go func() {
		conn, err := amqp.DialConfig(cfg.amqpURL, acfg)
		res <- dialed{conn, err}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			return nil, fmt.Errorf("connect to %s: %w", cfg.redacted, r.err)
		}
		c.conn = r.conn
	case <-ctx.Done():
		go func() {
			if r := <-res; r.conn != nil {
				_ = r.conn.Close()
			}
		}()
		return nil, fmt.Errorf("connect to %s: %w", cfg.redacted, ctx.Err())
	}
	if v, ok := c.conn.Properties["version"].(string); ok {
		c.server = v
	}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	c.reaper = newReaper(c)
	c.wg.Go(c.reaper.run)
	for range cfg.publishers {
		p, err := newPublisher(c)
		if err != nil {
			return nil, fmt.Errorf("open publisher channel: %w", err)
		}
		c.pubs = append(c.pubs, p)
	}
	if c.admin, err = c.conn.Channel(); err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	c.cat = newCatalog(c)
	c.cat.onTopicDelete = c.endFeeds
	c.cat.onQueueGone = func(q *queueMeta) { c.dropQueueState(q.physical(cfg.namespace)) }
	if err := c.cat.start(ctx); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return c, nil
}

// Capabilities reports what the driver supports with courier's semantics;
// see the package documentation for what is off and why.
func (c *Conn) Capabilities() driver.Capabilities {
	return driver.Capabilities{
		Queues:     true,
		Delay:      true,
		DeadLetter: true,
		Redrive:    true,
		LongPoll:   true,
		Topics:     true,
	}
}

// Close closes the connection. RabbitMQ returns the deliveries that were
// in flight to their queues at once (with their delivery count raised);
// calls in progress fail with ErrClosed. Close is idempotent and waits for
// the driver's goroutines.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	close(c.done)
	var err error
	if c.conn != nil {
		if e := c.conn.Close(); e != nil && !errors.Is(e, amqp.ErrClosed) {
			err = e
		}
	}
	c.tmu.Lock()
	feeds := make([]*feed, 0, len(c.feeds))
	for f := range c.feeds {
		feeds = append(feeds, f)
	}
	c.tmu.Unlock()
	for _, f := range feeds {
		f.end(driver.ErrClosed)
	}
	c.spawnMu.Lock()
	c.closing = true
	c.spawnMu.Unlock()
	c.wg.Wait()
	return err
}

// ready waits until the connection is up (it may be reconnecting).
func (c *Conn) ready(ctx context.Context) error {
	for {
		if c.closed.Load() {
			return driver.ErrClosed
		}
		c.stateMu.Lock()
		up, dead := c.upCh, c.dead
		c.stateMu.Unlock()
		if dead != nil {
			return dead
		}
		select {
		case <-up:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("waiting for the connection to RabbitMQ to come back: %w", ctx.Err())
		case <-c.done:
			return driver.ErrClosed
		}
	}
}

// call runs f, a blocking client call, and returns when it does or when
// ctx ends (f then finishes in the background).
func (c *Conn) call(ctx context.Context, f func() error) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	if !c.spawn(func() { errc <- f() }) {
		return driver.ErrClosed
	}
	select {
	case err := <-errc:
		return c.mapErr(err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// spawn starts f in a goroutine that Close waits for, unless Close is
// already waiting.
func (c *Conn) spawn(f func()) bool {
	c.spawnMu.Lock()
	defer c.spawnMu.Unlock()
	if c.closing {
		return false
	}
	c.wg.Go(f)
	return true
}

// adminCall runs f on the shared admin channel.
func (c *Conn) adminCall(ctx context.Context, f func(ch *amqp.Channel) error) error {
	return c.call(ctx, func() error {
		c.adminMu.Lock()
		defer c.adminMu.Unlock()
		return f(c.admin)
	})
}

// mapErr translates the client's errors into courier's sentinels.
func (c *Conn) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if c.closed.Load() {
		return fmt.Errorf("%w: %w", driver.ErrClosed, err)
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.NotFound:
			return fmt.Errorf("%s: %w", ae.Reason, driver.ErrNotFound)
		case amqp.PreconditionFailed, amqp.ResourceLocked:
			return fmt.Errorf("%s: %w", ae.Reason, driver.ErrConflict)
		case amqp.AccessRefused:
			return fmt.Errorf("%s: access refused by RabbitMQ", ae.Reason)
		}
	}
	if errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("%w: %w", errLost, err)
	}
	return err
}

// recovery hooks courier's bookkeeping into amqp091-go's connection
// recovery: before the client reconnects, every delivery held on the lost
// connection is forgotten (the broker has returned it to its queue) and
// every unconfirmed publish fails; after it reconnected, the catalog and
// the tails subscribe again.
type recovery struct {
	c   *Conn
	def amqp.DefaultConnectionRecovery
}

func (r *recovery) OnConnectionClose(conn *amqp.Connection, err *amqp.Error) {
	c := r.c
	c.stateMu.Lock()
	select {
	case <-c.upCh:
		c.upCh = make(chan struct{})
	default:
	}
	c.stateMu.Unlock()
	c.log.Warn("rabbitmq: connection lost; reconnecting", "err", err)
	c.forgetDeliveries(nil)
	for _, p := range c.pubs {
		p.failAll()
	}
	if c.closed.Load() {
		return
	}
	r.def.OnConnectionClose(conn, err)
	if conn.IsClosed() {
		c.stateMu.Lock()
		c.dead = fmt.Errorf("rabbitmq: reconnecting failed after %d attempts: %w", c.cfg.reconnectAttempts, driver.ErrClosed)
		c.stateMu.Unlock()
		c.log.Error("rabbitmq: reconnecting failed; the connection is closed")
		return
	}
	c.log.Info("rabbitmq: reconnected")
	select {
	case c.cat.resub <- struct{}{}:
	default:
	}
	c.resubscribeFeeds()
	c.stateMu.Lock()
	close(c.upCh)
	c.stateMu.Unlock()
}

func (r *recovery) OnChannelClose(ch *amqp.Channel, err *amqp.Error) {
	c := r.c
	c.forgetDeliveries(ch)
	for _, p := range c.pubs {
		if p.ch == ch {
			p.failAll()
		}
	}
	if c.closed.Load() {
		return
	}
	r.def.OnChannelClose(ch, err)
}
