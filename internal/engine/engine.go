package engine

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/courier-io/courier/driver"
)

// pos locates a record in the log.
type pos struct {
	seg uint64
	off int64
}

// journal is the log under a file:// engine. A mem:// engine has none and
// keeps message bodies in memory instead.
type journal interface {
	// write appends records of type typ in order and returns their
	// positions and a wait that returns once they are durable. It does not
	// block on the disk.
	write(typ byte, payloads [][]byte) ([]pos, func(context.Context) error, error)
	// readBatch sets the payload of each pending delivery from its send
	// record, reading neighbouring records together; deliveries whose
	// record cannot be read keep a nil payload.
	readBatch(ps []pending)
}

// Engine is the embedded engine: every queue's state in memory, every change
// recorded in the journal (file://) before it is acknowledged. One mutex
// guards the state; the journal's group commit lets many callers share one
// fsync while none of them holds the mutex.
type Engine struct {
	mu      sync.Mutex
	j       journal // nil on mem://
	nonce   uint64
	nextSeq uint64
	nextQID uint64
	queues  map[string]*queue
	byID    map[uint64]*queue
	nextTID uint64
	topics  map[string]*topic
	// topicByID finds topics by incarnation, as records name them.
	topicByID map[uint64]*topic
	feedSeq   uint64
	nextSID   uint64
	streams   map[string]*stream
	// streamByID finds streams by incarnation, as records name them.
	streamByID map[uint64]*stream
	nextBID    uint64
	buses      map[string]*bus
	// busByID finds buses by incarnation, as records name them.
	busByID map[uint64]*bus
	replays map[string]*replay
	// started is set once the engine runs (after recovery): rules'
	// dispatchers and schedules and replays start only then.
	started bool
	// ctx ends when the engine stops; HTTP pushers run under it.
	ctx    context.Context
	cancel context.CancelFunc
	// transport is shared by the HTTP pushers; nil until one starts.
	transport *http.Transport
	bodies    map[uint64]memBody // mem:// only: seq -> the record holding the message
	segLive   map[uint64]segUse  // file:// only: live messages per log segment
	// acked bounds what receivers may see on file://: every record that
	// starts before it is durable (its writer was acknowledged, or a sync
	// or recovery covered it). A message whose send still waits for its
	// fsync is not delivered, so no consumer acts on a message that a
	// crash could take back.
	acked  pos
	failed error // set once the journal failed; writes stop
	logged int64 // payload bytes written to the journal
	closed bool

	logger *slog.Logger
	done   chan struct{}
	wg     sync.WaitGroup
	// onTick runs in the maintenance loop after retention sweeps (file://
	// uses it for checkpoints and compaction).
	onTick func()
}

func newEngine(j journal, logger *slog.Logger) *Engine {
	e := &Engine{
		j:          j,
		nextSeq:    1,
		nextQID:    1,
		nextTID:    1,
		queues:     make(map[string]*queue),
		byID:       make(map[uint64]*queue),
		topics:     make(map[string]*topic),
		topicByID:  make(map[uint64]*topic),
		nextSID:    1,
		streams:    make(map[string]*stream),
		streamByID: make(map[uint64]*stream),
		nextBID:    1,
		buses:      make(map[string]*bus),
		busByID:    make(map[uint64]*bus),
		replays:    make(map[string]*replay),
		logger:     logger,
		done:       make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if j == nil {
		e.bodies = make(map[uint64]memBody)
	} else {
		e.segLive = make(map[uint64]segUse)
	}
	return e
}

// start runs the maintenance loop: once a second it applies the passage of
// time to every queue (retention, dedup expiry) so memory is released even
// on queues nobody reads.
func (e *Engine) start() {
	e.mu.Lock()
	e.started = true
	for _, t := range e.topics {
		for _, s := range t.subs {
			if s.spec.Kind == driver.KindHTTP {
				e.startPusher(s, "")
			}
		}
	}
	e.ensureDefaultBus()
	e.dropOrphanQueues()
	for _, b := range e.buses {
		for _, r := range b.rules {
			e.startRule(r)
		}
	}
	for _, rp := range e.replays {
		e.startReplay(rp)
	}
	e.mu.Unlock()
	e.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-e.done:
				return
			case <-t.C:
				e.mu.Lock()
				now := time.Now().UnixNano()
				for _, q := range e.queues {
					q.advance(now, e.forget)
				}
				e.trimStreams(now)
				e.mu.Unlock()
				if e.onTick != nil {
					e.onTick()
				}
			}
		}
	})
}

// Capabilities reports everything: the embedded engine implements the full
// queue contract.
func (e *Engine) Capabilities() driver.Capabilities {
	return driver.Capabilities{
		Queues: true, FIFO: true, Dedup: true, Delay: true, DeadLetter: true,
		Redrive: true, LongPoll: true, Persistent: e.j != nil, Topics: true, Push: true, Streams: true, Buses: true,
	}
}

// stop marks the engine closed and stops its goroutines; the caller then
// closes the journal.
func (e *Engine) stop() bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	e.closed = true
	close(e.done)
	e.cancel()
	for _, t := range e.topics {
		for f := range t.feeds {
			f.end()
		}
	}
	e.mu.Unlock()
	e.wg.Wait()
	if e.transport != nil {
		e.transport.CloseIdleConnections()
	}
	return true
}

// now is the engine's clock: wall time in unix nanoseconds (fake time
// inside testing/synctest bubbles).
func now() int64 { return time.Now().UnixNano() }

// usable checks the engine can serve a call; the caller holds e.mu.
func (e *Engine) usable() error {
	if e.closed {
		return driver.ErrClosed
	}
	return nil
}

// writable checks the engine can accept a change; the caller holds e.mu.
func (e *Engine) writable() error {
	if e.closed {
		return driver.ErrClosed
	}
	return e.failed
}

// log writes records of type typ and returns their positions and a wait
// for durability (nil on mem://). The caller holds e.mu, so the log's order
// is the order of state changes. A failed write stops all later writes.
func (e *Engine) log(typ byte, payloads ...[]byte) ([]pos, func(context.Context) error, error) {
	if e.j == nil {
		return nil, nil, nil
	}
	if e.failed != nil {
		return nil, nil, e.failed
	}
	for _, p := range payloads {
		e.logged += int64(len(p))
	}
	ps, wait, err := e.j.write(typ, payloads)
	if err != nil {
		e.fail(err)
		return nil, nil, e.failed
	}
	return ps, wait, nil
}

func (e *Engine) fail(err error) {
	if e.failed == nil {
		e.failed = fmt.Errorf("%w: %v; the engine accepts no more writes until it is reopened", driver.ErrStorage, err)
		e.logger.Error("storage failed; writes stopped", "err", err)
	}
}

// await waits for a durability wait returned by log (nil is done).
func (e *Engine) await(ctx context.Context, wait func(context.Context) error) error {
	if wait == nil {
		return nil
	}
	if err := wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.mu.Lock()
		e.fail(err)
		err = e.failed
		e.mu.Unlock()
		return err
	}
	return nil
}

// awaitThen waits for a durability wait like await and then runs then
// under e.mu (making the records visible to receivers). When ctx ends
// first, the wait goes on in the background, owned by the engine, so that
// records that do become durable do not stay hidden.
func (e *Engine) awaitThen(ctx context.Context, wait func(context.Context) error, then func()) error {
	if wait == nil {
		return nil
	}
	err := e.await(ctx, wait)
	switch {
	case err == nil:
		e.mu.Lock()
		then()
		e.mu.Unlock()
	case ctx.Err() != nil:
		e.mu.Lock()
		if !e.closed {
			e.wg.Go(func() {
				if wait(e.ctx) == nil {
					e.mu.Lock()
					then()
					e.mu.Unlock()
				}
			})
		}
		e.mu.Unlock()
	}
	return err
}

// lockQueue takes e.mu and returns the queue named name, checking that
// the engine accepts changes (write) or at least calls. On error e.mu is
// released.
func (e *Engine) lockQueue(name string, write bool) (*queue, error) {
	e.mu.Lock()
	err := e.usable()
	if write {
		err = e.writable()
	}
	var q *queue
	if err == nil {
		q, err = e.queue(name)
	}
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	return q, nil
}

// queue returns the queue named name; the caller holds e.mu.
func (e *Engine) queue(name string) (*queue, error) {
	q := e.queues[name]
	if q == nil {
		return nil, fmt.Errorf("queue %q: %w", name, driver.ErrNotFound)
	}
	return q, nil
}

// forget releases what the engine keeps for a deleted message.
func (e *Engine) forget(m *message) {
	if e.bodies != nil {
		delete(e.bodies, m.seq)
		return
	}
	e.segUse(m, -1)
}

// memBody is where a mem:// message's body is: the payload of its send or
// publish record.
type memBody struct {
	typ     byte
	payload []byte
}

// before reports whether a starts before b in the log.
func (a pos) before(b pos) bool { return a.seg < b.seg || a.seg == b.seg && a.off < b.off }

// ackThrough records that the record at p and everything before it are
// durable; the caller holds e.mu.
func (e *Engine) ackThrough(p pos) {
	if next := (pos{seg: p.seg, off: p.off + 1}); e.acked.before(next) {
		e.acked = next
	}
}

// deliverable reports whether m may be delivered: its record is durable.
func (e *Engine) deliverable(m *message) bool { return e.j == nil || m.pos.before(e.acked) }

// segUse counts the live messages and bytes of each log segment, so that
// segments nothing references can be deleted and sparse ones compacted.
type segUse struct {
	count int
	bytes int64
}

// segUse adds m (sign 1) to or removes it (sign -1) from its segment's use.
func (e *Engine) segUse(m *message, sign int) { e.segAdd(m.pos.seg, m.size, sign) }

// segAdd adds a record of size bytes in segment seg (sign 1) to or removes
// it (sign -1) from the segment's use.
func (e *Engine) segAdd(seg uint64, size int32, sign int) {
	if e.segLive == nil {
		return
	}
	u := e.segLive[seg]
	u.count += sign
	u.bytes += int64(sign) * int64(size)
	if u.count <= 0 {
		delete(e.segLive, seg)
		return
	}
	e.segLive[seg] = u
}

// messageID formats a message ID: the engine nonce and the sequence number
// as a UUID-shaped string.
func (e *Engine) messageID(seq uint64) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], e.nonce)
	binary.BigEndian.PutUint64(raw[8:], seq)
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], raw[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], raw[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], raw[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], raw[10:16])
	return string(out[:])
}

// receipt identifies one delivery: queue incarnation, message and receive
// count, with a checksum keyed by the engine nonce so garbage is rejected.
type receipt struct {
	qid, seq uint64
	receives int32
}

func (e *Engine) encodeReceipt(r receipt) string {
	b := make([]byte, 0, 40)
	b = binary.AppendUvarint(b, r.qid)
	b = binary.AppendUvarint(b, r.seq)
	b = binary.AppendUvarint(b, uint64(r.receives))
	b = binary.BigEndian.AppendUint32(b, e.receiptSum(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

func (e *Engine) receiptSum(b []byte) uint32 {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], e.nonce)
	return crc32.Update(crc32.Checksum(k[:], castagnoli), castagnoli, b)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (e *Engine) decodeReceipt(s string) (receipt, error) {
	bad := fmt.Errorf("receipt %.40q: %w", s, driver.ErrReceiptInvalid)
	if len(s) > 64 {
		return receipt{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 7 {
		return receipt{}, bad
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if e.receiptSum(body) != sum {
		return receipt{}, bad
	}
	d := decoder{b: body}
	r := receipt{qid: d.uint(), seq: d.uint(), receives: int32(d.uint())}
	if d.end() != nil {
		return receipt{}, bad
	}
	return r, nil
}

// ListQueues returns the queue names in order.
func (e *Engine) ListQueues(ctx context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(e.queues))
	for n, q := range e.queues {
		// Subscriptions' queues are listed with their topics, targets'
		// delivery queues with their rules.
		if q.owner == nil && !strings.Contains(n, "/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// QueueInfo returns a queue's attributes and stats.
func (e *Engine) QueueInfo(ctx context.Context, name string) (driver.QueueInfo, error) {
	q, err := e.lockQueue(name, false)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	defer e.mu.Unlock()
	t := now()
	q.advance(t, e.forget)
	return q.info(t), nil
}

// checkDeadLetter checks that attrs' dead-letter queue exists and matches
// the queue's kind; the caller holds e.mu.
func (e *Engine) checkDeadLetter(name string, attrs driver.QueueAttributes) error {
	if attrs.DeadLetterQueue == "" {
		return nil
	}
	if attrs.DeadLetterQueue == name {
		return driver.Invalid("dead_letter_queue", "a queue cannot be its own dead-letter queue")
	}
	dlq := e.queues[attrs.DeadLetterQueue]
	if dlq == nil {
		return driver.Invalid("dead_letter_queue", "queue %q does not exist; create it first", attrs.DeadLetterQueue)
	}
	if dlq.attrs.FIFO != attrs.FIFO {
		kind := "standard"
		if attrs.FIFO {
			kind = "FIFO"
		}
		return driver.Invalid("dead_letter_queue", "queue %q must be a %s queue like this one", attrs.DeadLetterQueue, kind)
	}
	return nil
}

// CreateQueue creates a queue, or returns the existing one if its
// attributes are equal.
func (e *Engine) CreateQueue(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	if err := driver.ValidateQueueName("name", name); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.QueueInfo{}, err
	}
	e.mu.Lock()
	if err := e.writable(); err != nil {
		e.mu.Unlock()
		return driver.QueueInfo{}, err
	}
	t := now()
	if q := e.queues[name]; q != nil {
		defer e.mu.Unlock()
		if q.attrs != attrs {
			return driver.QueueInfo{}, fmt.Errorf("queue %q exists with other attributes: %w", name, driver.ErrConflict)
		}
		q.advance(t, e.forget)
		return q.info(t), nil
	}
	if err := e.checkDeadLetter(name, attrs); err != nil {
		e.mu.Unlock()
		return driver.QueueInfo{}, err
	}
	rec := &queueRecord{QID: e.nextQID, Name: name, Attrs: attrs, At: t}
	_, wait, err := e.log(recCreateQueue, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return driver.QueueInfo{}, err
	}
	e.applyCreate(rec)
	info := e.queues[name].info(t)
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// SetQueueAttributes replaces a queue's attributes.
func (e *Engine) SetQueueAttributes(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	if err := attrs.Validate(); err != nil {
		return driver.QueueInfo{}, err
	}
	q, err := e.lockQueue(name, true)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	if q.owner != nil {
		err = fmt.Errorf("queue %q belongs to subscription %q of topic %q; change the subscription instead: %w", name, q.owner.name, q.owner.topic.name, driver.ErrConflict)
	} else if q.attrs.FIFO != attrs.FIFO {
		err = fmt.Errorf("queue %q: the FIFO attribute cannot change after creation: %w", name, driver.ErrConflict)
	}
	if err == nil {
		err = e.checkDeadLetter(name, attrs)
	}
	if err != nil {
		e.mu.Unlock()
		return driver.QueueInfo{}, err
	}
	t := now()
	rec := &queueRecord{QID: q.qid, Name: name, Attrs: attrs, At: t}
	_, wait, err := e.log(recSetAttrs, encodeRecord(rec))
	if err != nil {
		e.mu.Unlock()
		return driver.QueueInfo{}, err
	}
	e.applySetAttrs(rec)
	q.advance(t, e.forget)
	info := q.info(t)
	e.mu.Unlock()
	return info, e.await(ctx, wait)
}

// DeleteQueue deletes a queue and its messages. A queue that another queue
// uses as its dead-letter queue cannot be deleted (ErrConflict).
func (e *Engine) DeleteQueue(ctx context.Context, name string) error {
	q, err := e.lockQueue(name, true)
	if err != nil {
		return err
	}
	if q.owner != nil {
		e.mu.Unlock()
		return fmt.Errorf("queue %q belongs to subscription %q of topic %q; unsubscribe instead: %w", name, q.owner.name, q.owner.topic.name, driver.ErrConflict)
	}
	var users, subs []string
	for _, other := range e.queues {
		if other.attrs.DeadLetterQueue == name {
			users = append(users, other.name)
		}
	}
	for _, t := range e.topics {
		for _, s := range t.subs {
			if s.spec.Kind == driver.KindQueue && s.spec.Queue == name {
				subs = append(subs, t.name+"/"+s.name)
			}
		}
	}
	var targets []string
	for _, b := range e.buses {
		for _, r := range b.rules {
			for _, t := range r.spec.Targets {
				if t.DeadLetterQueue == name {
					targets = append(targets, b.name+"/"+r.name+"/"+t.ID)
				}
			}
		}
	}
	if len(targets) > 0 {
		sort.Strings(targets)
		e.mu.Unlock()
		return fmt.Errorf("queue %q is the dead-letter queue of bus targets %q; change their rules first: %w", name, targets, driver.ErrConflict)
	}
	if len(subs) > 0 {
		sort.Strings(subs)
		e.mu.Unlock()
		return fmt.Errorf("queue %q is subscribed to topics as %q; unsubscribe first: %w", name, subs, driver.ErrConflict)
	}
	if len(users) > 0 {
		sort.Strings(users)
		e.mu.Unlock()
		return fmt.Errorf("queue %q is the dead-letter queue of %q; change their attributes first: %w", name, users, driver.ErrConflict)
	}
	_, wait, err := e.log(recDeleteQueue, encodeRecord(&qidRecord{QID: q.qid}))
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.applyDelete(&qidRecord{QID: q.qid})
	e.mu.Unlock()
	return e.await(ctx, wait)
}

// PurgeQueue deletes every message of a queue.
func (e *Engine) PurgeQueue(ctx context.Context, name string) (int, error) {
	q, err := e.lockQueue(name, true)
	if err != nil {
		return 0, err
	}
	q.advance(now(), e.forget)
	n := len(q.msgs)
	_, wait, err := e.log(recPurge, encodeRecord(&qidRecord{QID: q.qid}))
	if err != nil {
		e.mu.Unlock()
		return 0, err
	}
	e.applyPurge(&qidRecord{QID: q.qid})
	e.mu.Unlock()
	return n, e.await(ctx, wait)
}
