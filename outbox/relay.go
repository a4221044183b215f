package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/pgsql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Relay publishes the messages of an outbox table to a courier broker and
// deletes them once published. Run it in every process that writes to the
// outbox, or in a few: relays on one table share the work (each batch is
// locked with FOR UPDATE SKIP LOCKED), and a relay that dies mid-batch
// leaves its rows to the others.
//
// Delivery is at least once, made effectively once by dedup IDs: a relay
// that crashes after publishing and before deleting leaves the rows, and
// the next relay publishes them again with the same dedup ID, which the
// broker drops within its dedup window (5 minutes; a relay down longer
// than that can cause duplicates, and bus events are not deduped at all),
// so consumers should still be idempotent (package idempotency).
type Relay struct {
	db     DB
	broker *courier.Broker
	table  string
	cfg    config

	// Seams for tests: afterPublish runs after a batch is published and
	// before its rows are deleted, and an error from it abandons the batch
	// there (a crash); afterPoll runs after each poll with the number of
	// rows taken; idleFloor is the first wait after an empty poll
	// (minIdle).
	afterPublish func(ctx context.Context) error
	afterPoll    func(n int)
	idleFloor    time.Duration
}

type config struct {
	batchSize           int
	pollInterval        time.Duration
	retryBase, retryMax time.Duration
	logger              *slog.Logger
	connect             func(ctx context.Context) (*pgx.Conn, error)
	ordered             bool
}

// Option configures a Relay.
type Option func(*config)

// BatchSize sets how many messages the relay locks, publishes and deletes
// per transaction (1..1000, default 100).
func BatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// PollInterval sets the longest wait between polls of an empty outbox
// (10ms..1h, default 1s). The relay polls again at once after a non-empty
// batch and backs off from 10ms to this interval while the table stays
// empty; a notification (see Listen) ends the wait early.
func PollInterval(d time.Duration) Option { return func(c *config) { c.pollInterval = d } }

// RetryBackoff sets how long a message that failed to publish waits before
// its next attempt: base after the first failure, doubling up to max
// (1ms <= base <= max <= 24h; default 1s and 5m). The same backoff spaces
// the relay's retries after database errors.
func RetryBackoff(base, max time.Duration) Option {
	return func(c *config) { c.retryBase, c.retryMax = base, max }
}

// WithLogger sets the logger for failures (a message that failed to
// publish, a database error, a lost LISTEN connection). Default: discarded.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Listen makes the relay LISTEN for the notifications that Write sends on
// commit, on a connection of its own that connect opens (LISTEN needs a
// dedicated connection, so it cannot come from a pool), and poll as soon as
// one arrives: messages go out within milliseconds of the commit instead
// of within the poll interval. If the connection fails, the relay logs it,
// keeps polling, and reconnects with backoff. Default: no LISTEN.
func Listen(connect func(ctx context.Context) (*pgx.Conn, error)) Option {
	return func(c *config) { c.connect = connect }
}

// Ordered makes relays of the table publish one batch at a time (a
// transaction-scoped advisory lock; the other relays stand by), and stop a
// batch at the first message that fails, retrying it before any later one.
// Messages are then published in the order of their ids, that is of their
// Write calls' inserts, which FIFO queues and topics need; the price is
// one relay's throughput and head-of-line blocking by a failing message.
// (A batch call whose entries fail individually still publishes the
// entries after the failing one in that call.) Default: relays work in
// parallel and a failing message is retried after its backoff while later
// ones go out.
func Ordered() Option { return func(c *config) { c.ordered = true } }

// NewRelay returns a relay from table to b. Options are checked when Run
// starts.
func NewRelay(db DB, b *courier.Broker, table string, opts ...Option) *Relay {
	cfg := config{batchSize: 100, pollInterval: time.Second, retryBase: time.Second, retryMax: 5 * time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Relay{db: db, broker: b, table: table, cfg: cfg, idleFloor: minIdle}
}

// minIdle is the first wait after an empty poll.
const minIdle = 10 * time.Millisecond

// settleTimeout bounds the deletes and the commit after a batch is
// published, which run even when Run's context has ended.
const settleTimeout = 5 * time.Second

func (r *Relay) validate() error {
	if err := pgsql.ValidateTable("table", r.table); err != nil {
		return err
	}
	c := &r.cfg
	switch {
	case c.batchSize < 1 || c.batchSize > driver.MaxBatch:
		return driver.Invalid("batch_size", "%d is out of range; accepted is 1 to %d", c.batchSize, driver.MaxBatch)
	case c.pollInterval < minIdle || c.pollInterval > time.Hour:
		return driver.Invalid("poll_interval", "%v is out of range; accepted is %v to 1h", c.pollInterval, minIdle)
	case c.retryBase < time.Millisecond || c.retryBase > c.retryMax || c.retryMax > 24*time.Hour:
		return driver.Invalid("retry_backoff", "base %v, max %v; accepted is 1ms <= base <= max <= 24h", c.retryBase, c.retryMax)
	case r.db == nil || r.broker == nil:
		return driver.Invalid("relay", "needs a database and a broker")
	}
	return nil
}

// Run relays until ctx ends, then returns nil. A batch that is published
// when ctx ends is still deleted (for at most 5 seconds), so a stopped
// relay leaves no published rows behind; a batch cut short while
// publishing stays in the table, and the next relay publishes it again
// under the same dedup IDs. Database and broker errors are logged and
// retried with backoff; Run returns an error only for invalid options, a
// missing table, or a closed broker. Several Run calls (of one Relay or
// many) may work on one table at once.
func (r *Relay) Run(ctx context.Context) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("outbox: relay: %w", err)
	}
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	lctx, stop := context.WithCancel(ctx)
	defer wg.Wait()
	defer stop()
	if r.cfg.connect != nil {
		wg.Go(func() { r.listen(lctx, wake) })
	}

	idle, failures := r.idleFloor, 0
	for {
		n, err := r.relayBatch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if r.afterPoll != nil {
			r.afterPoll(n)
		}
		var wait time.Duration
		switch {
		case err != nil:
			if permanent(err) {
				return fmt.Errorf("outbox: relay %q: %w", r.table, err)
			}
			failures++
			wait = backoff(r.cfg.retryBase, r.cfg.retryMax, failures)
			r.cfg.logger.Warn("outbox: relay batch failed; retrying", "table", r.table, "error", err, "retry_in", wait)
		case n > 0:
			idle, failures = r.idleFloor, 0
			continue
		default:
			failures = 0
			wait, idle = idle, max(min(idle*2, r.cfg.pollInterval), r.idleFloor)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
			idle = r.idleFloor
		case <-t.C:
		}
		t.Stop()
	}
}

// permanent reports errors that retrying does not cure.
func permanent(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (pg.Code == "42P01" || pg.Code == "42703") { // undefined table or column
		return true
	}
	return errors.Is(err, courier.ErrClosed)
}

// backoff is base doubled failures-1 times, at most max.
func backoff(base, max time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// errHeldBack marks the messages an ordered relay did not try after a
// failure.
var errHeldBack = errors.New("held back behind a failed message")

// errPublishFailed makes Run back off after an ordered batch stopped at a
// failed message.
var errPublishFailed = errors.New("a message failed to publish")

// row is an outbox row being relayed.
type row struct {
	id       int64
	msg      Message
	attempts int
}

// relayBatch locks, publishes and deletes one batch, and reports how many
// rows it took.
func (r *Relay) relayBatch(ctx context.Context) (int, error) {
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx) // after Commit, a no-op
	}()
	t := pgx.Identifier{r.table}.Sanitize()
	if r.cfg.ordered {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended('courier.outbox.relay.' || $1, 0))`, r.table).Scan(&ok); err != nil {
			return 0, err
		}
		if !ok {
			return 0, nil // another relay is publishing
		}
	}
	rows, err := tx.Query(ctx, `SELECT `+columns+` FROM `+t+`
		WHERE available_at <= clock_timestamp() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, r.cfg.batchSize)
	if err != nil {
		return 0, err
	}
	batch, err := pgx.CollectRows(rows, func(rows pgx.CollectableRow) (row, error) {
		var w row
		var kind string
		var delayUs int64
		err := rows.Scan(&w.id, &kind, &w.msg.Destination, &w.msg.Body, &w.msg.Headers, &w.msg.Group, &w.msg.DedupID,
			&delayUs, &w.msg.Source, &w.msg.DetailType, &w.attempts)
		w.msg.Kind, w.msg.Delay = Kind(kind), time.Duration(delayUs)*time.Microsecond
		return w, err
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}

	outcomes := r.publish(ctx, batch)
	for _, err := range outcomes {
		if errors.Is(err, courier.ErrClosed) {
			return 0, err
		}
	}
	if r.afterPublish != nil {
		if err := r.afterPublish(ctx); err != nil {
			return 0, err
		}
	}
	// The batch is out: record that even if ctx ends now, so that stopping
	// a relay does not leave published rows to be published again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()

	var published, failed []int64
	var failures []string
	var delays []int64
	for i, err := range outcomes {
		w := &batch[i]
		switch {
		case err == nil:
			published = append(published, w.id)
		case errors.Is(err, errHeldBack):
		default:
			var delay time.Duration
			if !r.cfg.ordered {
				delay = backoff(r.cfg.retryBase, r.cfg.retryMax, w.attempts+1)
			}
			failed = append(failed, w.id)
			failures = append(failures, truncate(err.Error(), 1000))
			delays = append(delays, delay.Microseconds())
			r.cfg.logger.Warn("outbox: message failed to publish", "table", r.table, "id", w.id,
				"kind", w.msg.Kind, "destination", w.msg.Destination, "attempts", w.attempts+1, "error", err, "retry_in", delay)
		}
	}
	if len(published) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE id = ANY($1)`, published); err != nil {
			return 0, err
		}
	}
	if len(failed) > 0 {
		_, err := tx.Exec(ctx, `UPDATE `+t+` AS o SET attempts = o.attempts + 1, last_error = f.error,
			available_at = clock_timestamp() + f.delay_us * interval '1 microsecond'
			FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS f(id, error, delay_us) WHERE o.id = f.id`,
			failed, failures, delays)
		if err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	if r.cfg.ordered && len(failed) > 0 {
		return len(batch), errPublishFailed
	}
	return len(batch), nil
}

// publish sends the batch in id order, one broker call per run of rows
// with the same destination, and returns each row's outcome.
func (r *Relay) publish(ctx context.Context, batch []row) []error {
	outcomes := make([]error, len(batch))
	for start := 0; start < len(batch); {
		end := start + 1
		for end < len(batch) && batch[end].msg.Kind == batch[start].msg.Kind && batch[end].msg.Destination == batch[start].msg.Destination {
			end++
		}
		r.publishRun(ctx, batch[start:end], outcomes[start:end])
		start = end
		if r.cfg.ordered && failedAny(outcomes[:end]) {
			for i := end; i < len(batch); i++ {
				outcomes[i] = errHeldBack
			}
			break
		}
	}
	return outcomes
}

func failedAny(outcomes []error) bool {
	for _, err := range outcomes {
		if err != nil {
			return true
		}
	}
	return false
}

// publishRun publishes rows of one destination with one call.
func (r *Relay) publishRun(ctx context.Context, rows []row, outcomes []error) {
	m := &rows[0].msg
	var errs []error
	var err error
	switch m.Kind {
	case Queue, Topic:
		msgs := make([]courier.Message, len(rows))
		for i := range rows {
			msgs[i] = rows[i].msg.message(rows[i].msg.dedupID(r.table, rows[i].id))
		}
		var res []courier.SendResult
		if m.Kind == Queue {
			res, err = r.broker.Queue(m.Destination).SendBatch(ctx, msgs)
		} else {
			res, err = r.broker.Topic(m.Destination).PublishBatch(ctx, msgs)
		}
		for _, x := range res {
			errs = append(errs, x.Err)
		}
	case Bus:
		evs := make([]courier.Event, len(rows))
		for i := range rows {
			evs[i] = rows[i].msg.event(rows[i].msg.dedupID(r.table, rows[i].id))
		}
		var res []courier.PutEventsResult
		res, err = r.broker.Bus(m.Destination).PutEvents(ctx, evs...)
		for _, x := range res {
			errs = append(errs, x.Err)
		}
	default:
		err = driver.Invalid("kind", "%q is not a kind this relay knows", m.Kind)
	}
	for i := range outcomes {
		switch {
		case err != nil:
			outcomes[i] = err
		case i < len(errs):
			outcomes[i] = errs[i]
		default:
			outcomes[i] = fmt.Errorf("broker returned %d results for %d messages", len(errs), len(rows))
		}
	}
}

// listen keeps a LISTEN connection and signals wake on each notification,
// reconnecting with backoff, until ctx ends.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for failures := 0; ; {
		err := r.listenOnce(ctx, wake, &failures)
		if ctx.Err() != nil {
			return
		}
		failures++
		wait := backoff(r.cfg.retryBase, r.cfg.retryMax, failures)
		r.cfg.logger.Warn("outbox: LISTEN connection failed; polling meanwhile", "table", r.table, "error", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}, failures *int) error {
	conn, err := r.cfg.connect(ctx)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{r.table}.Sanitize()); err != nil {
		return err
	}
	*failures = 0
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	signal() // rows written while not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		signal()
	}
}

// truncate cuts s to at most n bytes of valid UTF-8.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
