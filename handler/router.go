package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/idempotency"
)

// Handler processes one message. Returning nil settles (acks) it; an
// error makes it come back after a backoff, and after MaxAttempts go to
// the dead-letter queue with the error recorded.
type Handler interface {
	Handle(ctx context.Context, m *Message) error
}

// HandlerFunc is a function as a Handler.
type HandlerFunc func(ctx context.Context, m *Message) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, m *Message) error { return f(ctx, m) }

// Middleware wraps a handler: logging, timeouts, dedup, ... (see the
// functions of this package, or write one).
type Middleware func(Handler) Handler

// Chain wraps h in mws; the first middleware is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// permanentError marks a failure that retrying cannot cure.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks err as a failure that retrying cannot cure (a poison
// message): the message goes to the dead-letter queue at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Headers the runtime sets on a message it dead-letters.
const (
	HeaderError    = "courier-error"
	HeaderAttempts = "courier-attempts"
	HeaderSource   = "courier-source"
	HeaderFailedAt = "courier-failed-at"
)

// Router runs routes: each reads one source and calls one handler, with
// bounded concurrency per route and overall.
type Router struct {
	cfg    routerConfig
	routes []*route
	slots  chan struct{} // overall in-flight bound; nil: unbounded
}

type routerConfig struct {
	maxInFlight int
	mws         []Middleware
	logger      *slog.Logger
	shutdown    time.Duration
}

// RouterOption configures a Router.
type RouterOption func(*routerConfig)

// MaxInFlight bounds the messages processed at once over all routes
// (default: unbounded, each route bounded by its Concurrency).
func MaxInFlight(n int) RouterOption { return func(c *routerConfig) { c.maxInFlight = n } }

// Use adds middleware to every route of the router, outside the routes'
// own.
func Use(mws ...Middleware) RouterOption {
	return func(c *routerConfig) { c.mws = append(c.mws, mws...) }
}

// Logger sets where the runtime logs failures (default: discarded).
func Logger(l *slog.Logger) RouterOption { return func(c *routerConfig) { c.logger = l } }

// ShutdownTimeout bounds how long Run waits for messages in progress after
// its context ends (default 30s); handlers' contexts end then.
func ShutdownTimeout(d time.Duration) RouterOption { return func(c *routerConfig) { c.shutdown = d } }

// NewRouter returns a router; add routes with Handle, then Run it.
func NewRouter(opts ...RouterOption) *Router {
	cfg := routerConfig{shutdown: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Router{cfg: cfg}
	if cfg.maxInFlight > 0 {
		r.slots = make(chan struct{}, cfg.maxInFlight)
	}
	return r
}

// route is one source and its handler.
type route struct {
	src     Source
	h       Handler
	batch   BatchHandler
	cfg     routeConfig
	r       *Router
	stats   routeStats
	started atomic.Bool
}

type routeStats struct {
	processed, failed, retried, deadLettered, inFlight atomic.Int64
}

// RouteStats are a route's counters since Run started.
type RouteStats struct {
	Source       string
	Processed    int64 // settled with success
	Failed       int64 // handler errors (each attempt)
	Retried      int64 // given back to the source to come again
	DeadLettered int64 // moved to the dead-letter queue
	InFlight     int64 // being processed now
}

type routeConfig struct {
	concurrency int
	prefetch    int
	wait        time.Duration
	visibility  time.Duration
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	dlq         *courier.Queue
	mws         []Middleware
	batchSize   int
}

// RouteOption configures a route.
type RouteOption func(*routeConfig)

// Concurrency is how many messages the route processes at once (default
// 1). Ordered sources process one partition's records in order and
// different partitions in parallel, up to this number.
func Concurrency(n int) RouteOption { return func(c *routeConfig) { c.concurrency = n } }

// Prefetch is how many messages one receive asks for (default 10).
func Prefetch(n int) RouteOption { return func(c *routeConfig) { c.prefetch = n } }

// Visibility is how long a received message stays invisible to other
// consumers (default 30s); the runtime extends it while the handler still
// works, so a slow handler does not lose its message.
func Visibility(d time.Duration) RouteOption { return func(c *routeConfig) { c.visibility = d } }

// MaxAttempts is how many deliveries a message gets before it goes to the
// dead-letter queue (default 10).
func MaxAttempts(n int) RouteOption { return func(c *routeConfig) { c.maxAttempts = n } }

// Backoff sets the wait before retry n: drawn uniformly from
// [0, min(max, min·2^(n-1))] (full jitter; default 100ms and 1m).
func Backoff(min, max time.Duration) RouteOption {
	return func(c *routeConfig) { c.minBackoff, c.maxBackoff = min, max }
}

// DeadLetter sends messages that used up MaxAttempts, or failed with a
// Permanent error, to q with headers saying why (HeaderError,
// HeaderAttempts, HeaderSource, HeaderFailedAt). Without it, queue
// messages keep being retried and end in the queue's own dead-letter
// queue (its MaxReceives); stream records are skipped and logged. Bus
// targets ignore it: their target's dead-letter queue applies.
func DeadLetter(q *courier.Queue) RouteOption { return func(c *routeConfig) { c.dlq = q } }

// With adds middleware to this route, inside the router's.
func With(mws ...Middleware) RouteOption {
	return func(c *routeConfig) { c.mws = append(c.mws, mws...) }
}

// PollWait is how long one receive waits for messages (default 20s; it
// returns at once when messages arrive).
func PollWait(d time.Duration) RouteOption { return func(c *routeConfig) { c.wait = d } }

func (c *routeConfig) validate() error {
	switch {
	case c.concurrency < 1 || c.concurrency > 10000:
		return fmt.Errorf("handler: concurrency %d is out of range 1..10000", c.concurrency)
	case c.prefetch < 1 || c.prefetch > 1000:
		return fmt.Errorf("handler: prefetch %d is out of range 1..1000", c.prefetch)
	case c.visibility < time.Second || c.visibility > 12*time.Hour:
		return fmt.Errorf("handler: visibility %v is out of range 1s..12h", c.visibility)
	case c.maxAttempts < 1 || c.maxAttempts > 1000:
		return fmt.Errorf("handler: max attempts %d is out of range 1..1000", c.maxAttempts)
	case c.minBackoff < time.Millisecond || c.maxBackoff < c.minBackoff || c.maxBackoff > 12*time.Hour:
		return fmt.Errorf("handler: backoff %v..%v is invalid; want 1ms <= min <= max <= 12h", c.minBackoff, c.maxBackoff)
	case c.wait < 0 || c.wait > 20*time.Second:
		return fmt.Errorf("handler: poll wait %v is out of range 0..20s", c.wait)
	case c.batchSize < 0 || c.batchSize > 1000:
		return fmt.Errorf("handler: batch size %d is out of range 1..1000", c.batchSize)
	}
	return nil
}

func defaultRouteConfig() routeConfig {
	return routeConfig{concurrency: 1, prefetch: 10, wait: 20 * time.Second, visibility: 30 * time.Second,
		maxAttempts: 10, minBackoff: 100 * time.Millisecond, maxBackoff: time.Minute}
}

// Handle adds a route: messages of src go to h. It fails on invalid
// options, or once Run has started.
func (r *Router) Handle(src Source, h Handler, opts ...RouteOption) error {
	return r.add(&route{src: src, h: h}, opts)
}

func (r *Router) add(rt *route, opts []RouteOption) error {
	rt.cfg = defaultRouteConfig()
	for _, o := range opts {
		o(&rt.cfg)
	}
	if rt.batch != nil && rt.cfg.batchSize == 0 {
		rt.cfg.batchSize = rt.cfg.prefetch
	}
	if err := rt.cfg.validate(); err != nil {
		return err
	}
	if src := rt.src; src == nil || (rt.h == nil && rt.batch == nil) {
		return errors.New("handler: a route needs a source and a handler")
	}
	for _, other := range r.routes {
		if other.started.Load() {
			return errors.New("handler: routes cannot be added while the router runs")
		}
	}
	if rt.h != nil {
		mws := append(append([]Middleware(nil), r.cfg.mws...), rt.cfg.mws...)
		rt.h = Chain(rt.h, mws...)
	}
	rt.r = r
	r.routes = append(r.routes, rt)
	return nil
}

// Stats returns every route's counters, in the order they were added.
func (r *Router) Stats() []RouteStats {
	out := make([]RouteStats, len(r.routes))
	for i, rt := range r.routes {
		s := &rt.stats
		out[i] = RouteStats{Source: rt.src.Name(), Processed: s.processed.Load(), Failed: s.failed.Load(),
			Retried: s.retried.Load(), DeadLettered: s.deadLettered.Load(), InFlight: s.inFlight.Load()}
	}
	return out
}

// Run runs every route until ctx ends, then stops receiving, lets the
// messages in progress finish (up to ShutdownTimeout; messages received
// but not started are given back at once) and returns nil. It returns
// early with an error when a source fails for good (its queue, stream or
// rule was deleted, or the broker closed); the other routes stop too.
func (r *Router) Run(ctx context.Context) error {
	if len(r.routes) == 0 {
		return errors.New("handler: the router has no routes")
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// Handlers run under work, which outlives ctx by the shutdown timeout.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	var failure atomic.Pointer[error]
	for _, rt := range r.routes {
		rt.started.Store(true)
		workers := rt.cfg.concurrency
		if rt.src.Ordered() {
			workers = 1 // one fetch loop; partitions in parallel inside
		}
		for range workers {
			wg.Go(func() {
				if err := rt.loop(runCtx, work); err != nil {
					failure.CompareAndSwap(nil, &err)
					stop(err)
				}
			})
		}
	}
	<-runCtx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(r.cfg.shutdown)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		cancelWork() // handlers still running are told to stop
		<-done
	}
	if errp := failure.Load(); errp != nil {
		return *errp
	}
	return nil
}

// Run runs one route until ctx ends; see Router.Run.
func Run(ctx context.Context, src Source, h Handler, opts ...RouteOption) error {
	r := NewRouter()
	if err := r.Handle(src, h, opts...); err != nil {
		return err
	}
	return r.Run(ctx)
}

// fatal reports whether a source error ends the route.
func fatal(err error) bool {
	return errors.Is(err, courier.ErrNotFound) || errors.Is(err, courier.ErrClosed) || errors.Is(err, courier.ErrInvalid)
}

// loop receives and processes until ctx ends; work is the context
// handlers run under.
func (rt *route) loop(ctx, work context.Context) error {
	for ctx.Err() == nil {
		msgs, err := rt.src.Receive(ctx, rt.cfg.prefetch, rt.cfg.wait, rt.cfg.visibility)
		switch {
		case ctx.Err() != nil:
			if len(msgs) > 0 { // received as the shutdown began
				x := rt.extendWhileBusy(work, msgs)
				rt.release(work, x, msgs)
				x.stop()
			}
			return nil
		case err != nil && fatal(err):
			return fmt.Errorf("handler: %s: %w", rt.src.Name(), err)
		case err != nil:
			rt.r.cfg.logger.Error("handler: receive failed", "source", rt.src.Name(), "err", err)
			sleep(ctx, time.Second)
			continue
		case len(msgs) == 0:
			continue
		}
		rt.process(ctx, work, msgs)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// extender keeps a batch's unsettled messages invisible while they wait,
// while they are processed and until they are acked. A message leaves it
// (done) before it is settled, and extending holds the lock, so a settled
// message is never extended again.
type extender struct {
	mu      sync.Mutex
	pending map[*Message]bool
	timer   *time.Timer
	stopped bool
}

func (rt *route) extendWhileBusy(work context.Context, msgs []*Message) *extender {
	x := &extender{pending: make(map[*Message]bool, len(msgs))}
	for _, m := range msgs {
		x.pending[m] = true
	}
	every := rt.cfg.visibility / 2
	var tick func()
	tick = func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		if x.stopped {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(work), every)
		for m := range x.pending {
			if err := rt.src.Extend(ctx, m, rt.cfg.visibility); err != nil {
				rt.r.cfg.logger.Warn("handler: extending a message's visibility failed", "source", rt.src.Name(), "msg_id", m.ID, "err", err)
			}
		}
		cancel()
		x.timer.Reset(every)
	}
	x.mu.Lock()
	x.timer = time.AfterFunc(every, tick)
	x.mu.Unlock()
	return x
}

// done takes m out of the extender; call it before settling m.
func (x *extender) done(m *Message) {
	x.mu.Lock()
	delete(x.pending, m)
	x.mu.Unlock()
}

// stop ends extending; call it before settling what is left.
func (x *extender) stop() {
	x.mu.Lock()
	x.stopped = true
	x.timer.Stop()
	x.mu.Unlock()
}

// settleTimeout bounds one settle call made after the handlers' context
// ended (at the end of a shutdown).
const settleTimeout = 10 * time.Second

// settleCtx is the context settle calls use: work, or, once work has
// ended, a short one that has not, so that what was processed is still
// acked.
func settleCtx(work context.Context) (context.Context, context.CancelFunc) {
	if work.Err() == nil {
		return work, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(work), settleTimeout)
}

// process handles one received batch.
func (rt *route) process(ctx, work context.Context, msgs []*Message) {
	x := rt.extendWhileBusy(work, msgs)
	defer x.stop()
	if rt.batch != nil {
		rt.processBatch(work, msgs, x)
		return
	}
	if rt.src.Ordered() {
		rt.processOrdered(ctx, work, msgs, x)
		return
	}
	acks := make([]*Message, 0, len(msgs))
	var heldGroups map[string]bool // FIFO groups with a failed message in this batch
	for i, m := range msgs {
		if ctx.Err() != nil {
			// Shutting down: give back what has not started.
			rt.release(work, x, msgs[i:])
			break
		}
		if m.fifo && heldGroups[m.Group] {
			// A message before it in its group failed: it must not
			// overtake that one.
			rt.release(work, x, []*Message{m})
			continue
		}
		err := rt.call(work, m)
		if err == nil {
			acks = append(acks, m) // extended until acked
			continue
		}
		if m.fifo {
			if heldGroups == nil {
				heldGroups = map[string]bool{}
			}
			heldGroups[m.Group] = true
		}
		x.done(m)
		rt.fail(work, m, err)
	}
	x.stop()
	rt.ack(work, acks)
}

// release gives messages back to their source without counting a failure.
func (rt *route) release(work context.Context, x *extender, msgs []*Message) {
	ctx, cancel := settleCtx(work)
	defer cancel()
	for _, m := range msgs {
		x.done(m)
		if err := rt.src.Release(ctx, m); err != nil {
			rt.r.cfg.logger.Warn("handler: giving a message back failed; it comes back after its visibility timeout", "source", rt.src.Name(), "msg_id", m.ID, "err", err)
		}
	}
}

// call runs the handler on m within the overall bound.
func (rt *route) call(work context.Context, m *Message) error {
	if slots := rt.r.slots; slots != nil {
		select {
		case slots <- struct{}{}:
		case <-work.Done():
			return work.Err()
		}
		defer func() { <-slots }()
	}
	rt.stats.inFlight.Add(1)
	err := rt.h.Handle(work, m)
	rt.stats.inFlight.Add(-1)
	if err != nil {
		rt.stats.failed.Add(1)
	}
	return err
}

func (rt *route) ack(work context.Context, acks []*Message) {
	if len(acks) == 0 {
		return
	}
	ctx, cancel := settleCtx(work)
	defer cancel()
	if err := rt.src.Ack(ctx, acks); err != nil {
		rt.r.cfg.logger.Warn("handler: ack failed; the messages will be delivered again", "source", rt.src.Name(), "count", len(acks), "err", err)
		return
	}
	rt.stats.processed.Add(int64(len(acks)))
}

// backoff is the full-jitter wait before retry attempt (1-based).
func (rt *route) backoff(attempt int) time.Duration {
	return fullJitter(rt.cfg.minBackoff, rt.cfg.maxBackoff, attempt)
}

// fail settles a failed message of an unordered source.
func (rt *route) fail(work context.Context, m *Message, cause error) {
	work, cancel := settleCtx(work)
	defer cancel()
	log := rt.r.cfg.logger.With("source", rt.src.Name(), "msg_id", m.ID, "attempt", m.Attempt)
	if _, self := rt.src.(*busTargetSource); !self && rt.cfg.dlq != nil && (IsPermanent(cause) || m.Attempt >= rt.cfg.maxAttempts) {
		err := rt.deadLetter(work, m, cause)
		if err == nil {
			if err := rt.src.Ack(work, []*Message{m}); err != nil {
				log.Warn("handler: settling a dead-lettered message failed; it may be delivered again", "err", err)
			}
			return
		}
		log.Error("handler: dead-lettering failed; retrying instead", "err", err)
	}
	delay := rt.backoff(m.Attempt)
	var busy *idempotency.BusyError
	if errors.As(cause, &busy) {
		delay = max(time.Until(busy.Until), 0) // another consumer holds the key until then
	}
	log.Warn("handler: failed; retrying", "err", cause, "retry_in", delay)
	if err := rt.src.Retry(work, m, delay, cause); err != nil {
		log.Warn("handler: nack failed; the message comes back after its visibility timeout", "err", err)
		return
	}
	rt.stats.retried.Add(1)
}

// deadLetter sends a copy of m with the failure to the route's
// dead-letter queue.
func (rt *route) deadLetter(work context.Context, m *Message, cause error) error {
	h := make(map[string]string, len(m.Headers)+4)
	for k, v := range m.Headers {
		h[k] = v
	}
	msg := cause.Error()
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	h[HeaderError] = msg
	h[HeaderAttempts] = fmt.Sprint(m.Attempt)
	h[HeaderSource] = rt.src.Name()
	h[HeaderFailedAt] = time.Now().UTC().Format(time.RFC3339Nano)
	sum := sha256.Sum256([]byte(rt.src.Name() + "\x00" + m.ID))
	if _, err := rt.cfg.dlq.Send(work, courier.Message{Body: m.Body, Headers: h, DedupID: "dlq-" + hex.EncodeToString(sum[:16])}); err != nil {
		return err
	}
	rt.stats.deadLettered.Add(1)
	rt.r.cfg.logger.Error("handler: message moved to the dead-letter queue", "source", rt.src.Name(), "msg_id", m.ID, "attempt", m.Attempt, "err", cause)
	return nil
}

// processOrdered handles a batch of an ordered source: the records of each
// partition in order, partitions in parallel up to Concurrency; a failing
// record is retried in place, then dead-lettered or skipped. The batch is
// acked (its offsets committed) once every record is settled; a shutdown
// stops retrying and leaves the batch uncommitted, to be read again.
func (rt *route) processOrdered(ctx, work context.Context, msgs []*Message, x *extender) {
	byPart := map[int][]*Message{}
	var order []int
	for _, m := range msgs {
		if _, ok := byPart[m.Partition]; !ok {
			order = append(order, m.Partition)
		}
		byPart[m.Partition] = append(byPart[m.Partition], m)
	}
	sem := make(chan struct{}, rt.cfg.concurrency)
	var wg sync.WaitGroup
	var abandoned atomic.Bool
	for _, p := range order {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, m := range byPart[p] {
				if !rt.settleInPlace(ctx, work, m) {
					abandoned.Store(true)
					return
				}
				x.done(m)
			}
		})
	}
	wg.Wait()
	if abandoned.Load() {
		return
	}
	rt.ack(work, msgs)
}

// settleInPlace processes m until it succeeds, is dead-lettered or
// skipped; false when shutdown interrupted it.
func (rt *route) settleInPlace(ctx, work context.Context, m *Message) bool {
	for {
		err := rt.call(work, m)
		if err == nil {
			return true
		}
		if IsPermanent(err) || m.Attempt >= rt.cfg.maxAttempts {
			if rt.cfg.dlq != nil {
				if dlqErr := rt.deadLetter(work, m, err); dlqErr != nil {
					rt.r.cfg.logger.Error("handler: dead-lettering failed; retrying", "source", rt.src.Name(), "msg_id", m.ID, "err", dlqErr)
				} else {
					return true
				}
			} else {
				rt.r.cfg.logger.Error("handler: record skipped after its last attempt (the route has no dead-letter queue)", "source", rt.src.Name(), "msg_id", m.ID, "attempt", m.Attempt, "err", err)
				return true
			}
		}
		rt.stats.retried.Add(1)
		if !sleep(ctx, rt.backoff(m.Attempt)) {
			return false
		}
		m.Attempt++
	}
}

// BatchHandler processes the messages of one receive together: nil settles
// all of them; an error fails all of them (each is retried or
// dead-lettered as its attempts say). Middleware does not apply to batch
// handlers.
type BatchHandler func(ctx context.Context, msgs []*Message) error

// HandleBatch adds a route whose handler gets up to Prefetch messages at a
// time.
func (r *Router) HandleBatch(src Source, h BatchHandler, opts ...RouteOption) error {
	return r.add(&route{src: src, batch: h}, opts)
}

// processBatch handles a received batch with the batch handler.
func (rt *route) processBatch(work context.Context, msgs []*Message, x *extender) {
	if slots := rt.r.slots; slots != nil { // a batch takes one slot of MaxInFlight
		select {
		case slots <- struct{}{}:
		case <-work.Done():
			return
		}
		defer func() { <-slots }()
	}
	for {
		rt.stats.inFlight.Add(int64(len(msgs)))
		err := rt.batch(work, msgs)
		rt.stats.inFlight.Add(-int64(len(msgs)))
		if err == nil {
			rt.ack(work, msgs)
			return
		}
		rt.stats.failed.Add(int64(len(msgs)))
		if !rt.src.Ordered() {
			for _, m := range msgs {
				x.done(m)
				rt.fail(work, m, err)
			}
			return
		}
		// Ordered: the batch is retried in place, as one.
		last := msgs[0].Attempt >= rt.cfg.maxAttempts || IsPermanent(err)
		if last {
			for _, m := range msgs {
				if rt.cfg.dlq == nil {
					rt.r.cfg.logger.Error("handler: record skipped after its last attempt (the route has no dead-letter queue)", "source", rt.src.Name(), "msg_id", m.ID, "err", err)
					continue
				}
				// Retried until it works: committing past a record that is
				// neither processed nor dead-lettered would lose it.
				for dlqErr := rt.deadLetter(work, m, err); dlqErr != nil; dlqErr = rt.deadLetter(work, m, err) {
					rt.r.cfg.logger.Error("handler: dead-lettering failed; retrying", "source", rt.src.Name(), "msg_id", m.ID, "err", dlqErr)
					if !sleep(work, rt.backoff(m.Attempt)) {
						return // shutting down: the batch stays uncommitted
					}
				}
			}
			rt.ack(work, msgs)
			return
		}
		rt.stats.retried.Add(int64(len(msgs)))
		if !sleep(work, rt.backoff(msgs[0].Attempt)) {
			return
		}
		for _, m := range msgs {
			m.Attempt++
		}
	}
}
