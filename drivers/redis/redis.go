package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/courier-io/courier/driver"
)

func init() {
	driver.Register("redis", open)
	driver.Register("rediss", open)
}

// Conn is a connection to a Redis server. It implements driver.Conn,
// driver.Queues, driver.Topics, driver.Streams and driver.Peeker. It is safe for concurrent use.
type Conn struct {
	rdb    *redis.Client
	prefix string
	caps   driver.Capabilities
	log    *slog.Logger
	waker  *waker

	closed atomic.Bool
	done   chan struct{}
	life   context.Context // ends at Close; bounds the scripts of coalesced batches
	stop   context.CancelFunc
	wg     sync.WaitGroup // the goroutines running coalesced batches

	coalescers  sync.Map // "q:NAME" or "t:NAME" -> *coalescer
	streamParts sync.Map // stream name -> partition count, as last seen

	// contentDedup remembers which queues and topics dedup by content, so
	// that sends compute body hashes only for them; the scripts check the
	// hint against the stored attributes.
	contentDedup sync.Map // "q:NAME" or "t:NAME" -> bool

	mu     sync.Mutex
	routes map[string]*routing // topic -> its subscriptions, as last read
	feeds  map[*feed]struct{}
}

var (
	_ driver.Queues = (*Conn)(nil)
	_ driver.Topics = (*Conn)(nil)
	_ driver.Peeker = (*Conn)(nil)
)

// errConnClosed is returned by calls on a closed Conn.
var errConnClosed = fmt.Errorf("redis: %w", driver.ErrClosed)

// minVersion is the oldest Redis this driver runs on: it needs Lua
// scripts that read the server clock (TIME, replicated by effects) and
// ZADD NX.
var minVersion = [2]int{6, 2}

func open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	cfg, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(cfg.opts)
	c := &Conn{
		rdb: rdb, prefix: cfg.prefix, log: opts.Logger, done: make(chan struct{}),
		routes: make(map[string]*routing), feeds: make(map[*feed]struct{}),
	}
	c.life, c.stop = context.WithCancel(context.Background())
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	persistent, err := c.check(ctx, cfg.persistent)
	if err != nil {
		c.stop()
		_ = rdb.Close()
		return nil, err
	}
	c.caps = driver.Capabilities{
		Queues: true, FIFO: true, Dedup: true, Delay: true, DeadLetter: true, Redrive: true, LongPoll: true,
		Persistent: persistent,
		Topics:     true,
		Streams:    true,
	}
	c.waker = newWaker(rdb, c.log)
	return c, nil
}

// check pings the server, checks its version and decides whether it is
// persistent: with persistent=auto, when the append-only file is on and
// fsync'd on every write (appendonly yes, appendfsync always).
func (c *Conn) check(ctx context.Context, mode string) (bool, error) {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return false, fmt.Errorf("redis at %s: %w", c.rdb.Options().Addr, err)
	}
	info, err := c.rdb.Info(ctx, "server").Result()
	if err != nil {
		return false, fmt.Errorf("redis at %s: INFO: %w", c.rdb.Options().Addr, err)
	}
	if v := infoField(info, "redis_version"); !atLeast(v, minVersion) {
		return false, fmt.Errorf("redis at %s is version %q; courier needs %d.%d or later: %w",
			c.rdb.Options().Addr, v, minVersion[0], minVersion[1], driver.ErrUnsupported)
	}
	switch mode {
	case persistYes:
		return true, nil
	case persistNo:
		return false, nil
	}
	cfg, err := c.rdb.ConfigGet(ctx, "append*").Result()
	if err != nil {
		c.log.Warn("redis: CONFIG GET is not allowed, so durability cannot be checked; declaring the backend not persistent (set persistent=yes if every write is fsync'd)", "err", err)
		return false, nil
	}
	persistent := cfg["appendonly"] == "yes" && cfg["appendfsync"] == "always"
	if !persistent {
		c.log.Info("redis: acknowledged writes are not fsync'd (appendonly "+cfg["appendonly"]+", appendfsync "+cfg["appendfsync"]+"); a server crash can lose them",
			"addr", c.rdb.Options().Addr)
	}
	return persistent, nil
}

// infoField returns a field of an INFO answer.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// atLeast reports whether version v ("7.0.15") is min or later.
func atLeast(v string, min [2]int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > min[0] || major == min[0] && minor >= min[1]
}

// Capabilities reports what this driver supports on this server.
func (c *Conn) Capabilities() driver.Capabilities { return c.caps }

// Close ends open tails, stops waking long polls and closes the
// connections; calls in progress and later fail with ErrClosed. It is
// idempotent.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	close(c.done)
	c.stop()
	c.mu.Lock()
	feeds := make([]*feed, 0, len(c.feeds))
	for f := range c.feeds {
		feeds = append(feeds, f)
	}
	c.mu.Unlock()
	for _, f := range feeds {
		_ = f.Close()
	}
	c.waker.close()
	c.wg.Wait()
	return c.rdb.Close()
}

// usable fails with ErrClosed after Close.
func (c *Conn) usable() error {
	if c.closed.Load() {
		return errConnClosed
	}
	return nil
}

// fail turns an error of go-redis into a courier error: ErrClosed after
// Close, the context's error when it ended, and otherwise ErrStorage (the
// server could not be reached or failed the command; the call may be
// retried).
func (c *Conn) fail(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case c.closed.Load() || errors.Is(err, redis.ErrClosed):
		return errConnClosed
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("redis: %w: %w", driver.ErrStorage, err)
}

// run runs script s with ARGV prefix followed by args.
func (c *Conn) run(ctx context.Context, s *redis.Script, args ...any) (any, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	full := make([]any, 0, len(args)+1)
	full = append(full, c.prefix)
	full = append(full, args...)
	v, err := s.Run(ctx, c.rdb, nil, full...).Result()
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return v, nil
}

// Helpers that read script results.

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

func num(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// malformed reports a script result this driver did not expect.
func malformed(what string, v any) error {
	return fmt.Errorf("redis: unexpected answer to %s: %.200v: %w", what, v, driver.ErrStorage)
}
