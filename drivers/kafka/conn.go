package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/courier-io/courier/driver"
)

func init() {
	driver.Register("kafka", open)
}

// maxBatchBytes is the producer's batch limit and the max.message.bytes of
// the topics the driver creates: a courier record of up to 1 MiB (key,
// value and headers) plus the record and batch framing.
const maxBatchBytes = driver.MaxMessageSizeLimit + 64<<10

// conn is an open kafka:// connection: one franz-go client (producer,
// fetches, group requests) and its admin view.
type conn struct {
	cfg    config
	cl     *kgo.Client
	adm    *kadm.Client
	log    *slog.Logger
	meta   *metaStore
	closed atomic.Bool
	done   chan struct{} // closed by Close: stops group sessions

	rr    atomic.Uint64 // round robin for records without key or partition
	ahead readAhead     // records fetched beyond what a Read returned

	mu         sync.Mutex
	groups     map[groupKey]*cgroup // groups with members joined through this conn
	limitCache map[string]streamLimits
	wg         sync.WaitGroup // group session goroutines
}

var (
	_ driver.Conn    = (*conn)(nil)
	_ driver.Streams = (*conn)(nil)
)

// open is the driver.OpenFunc of kafka://.
func open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	cfg, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	kopts, err := cfg.clientOptions()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, driver.Invalid("url", "%v", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &conn{
		cfg:    cfg,
		cl:     cl,
		adm:    kadm.NewClient(cl),
		log:    logger.With("driver", "kafka"),
		done:   make(chan struct{}),
		groups: make(map[groupKey]*cgroup),

		limitCache: make(map[string]streamLimits),
	}
	c.meta = newMetaStore(c)
	// One round trip proves the brokers are reachable (and the TLS and
	// SASL settings right) before Open returns.
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: connect to %v: %w", cfg.brokers, err)
	}
	return c, nil
}

// Capabilities reports streams only: Kafka has no per-message
// acknowledgement, visibility timeout or redelivery count, so queues and
// topic subscriptions with courier's semantics are not offered; see the
// package documentation.
func (c *conn) Capabilities() driver.Capabilities {
	return driver.Capabilities{Streams: true, Persistent: true}
}

// Close leaves the consumer groups this connection's members are in (their
// partitions go to members elsewhere at once) and closes the client. Calls
// in progress fail with ErrClosed. It is idempotent.
func (c *conn) Close() error {
	c.mu.Lock()
	already := c.closed.Swap(true)
	c.mu.Unlock()
	if already {
		return nil
	}
	close(c.done)
	c.wg.Wait()
	c.cl.Close()
	return nil
}

// check returns ErrClosed once Close was called.
func (c *conn) check() error {
	if c.closed.Load() {
		return driver.ErrClosed
	}
	return nil
}

// mapErr translates franz-go and Kafka errors into courier sentinels,
// keeping the original error in the chain.
func (c *conn) mapErr(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, kgo.ErrClientClosed) || c.closed.Load() && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", driver.ErrClosed, err)
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID), errors.Is(err, kerr.GroupIDNotFound):
		return fmt.Errorf("%w: %w", driver.ErrNotFound, err)
	case errors.Is(err, kerr.TopicAlreadyExists):
		return fmt.Errorf("%w: %w", driver.ErrExists, err)
	case errors.Is(err, kerr.NonEmptyGroup):
		return fmt.Errorf("%w: %w", driver.ErrConflict, err)
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Errorf("%w: %w", driver.ErrTooLarge, err)
	case errors.Is(err, kerr.InvalidTopicException), errors.Is(err, kerr.InvalidPartitions), errors.Is(err, kerr.InvalidConfig),
		errors.Is(err, kerr.InvalidRecord), errors.Is(err, kerr.CorruptMessage):
		return fmt.Errorf("%w: %w", driver.ErrInvalid, err)
	case errors.Is(err, kerr.KafkaStorageError):
		return fmt.Errorf("%w: %w", driver.ErrStorage, err)
	}
	return err
}
