package nats

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// queueDesc is what a queue's main stream description holds: the courier
// attributes and identity of the queue, so that the main stream alone is
// the queue (its auxiliary stream is made first and deleted after it).
type queueDesc struct {
	Kind    string                 `json:"courier"` // "queue"
	UID     uint64                 `json:"uid"`     // incarnation: receipts and IDs of a deleted queue do not match a new one
	Created int64                  `json:"created"`
	Updated int64                  `json:"updated"`
	Attrs   driver.QueueAttributes `json:"attributes"`
}

// queueMeta is a queue's description and JetStream handles, cached for
// cfg.metaTTL (see the package documentation on attribute changes made by
// other connections).
type queueMeta struct {
	ref    qref
	desc   queueDesc
	stream jetstream.Stream // main
	aux    jetstream.Stream
	main   jetstream.Consumer
	delay  jetstream.Consumer
	loaded time.Time
	uid36  string // the incarnation as IDs write it

	refreshing atomic.Bool // a call is reloading this metadata
}

func (m *queueMeta) attrs() driver.QueueAttributes { return m.desc.Attrs }

// messageID is the ID of the message with root root in this queue.
func (m *queueMeta) messageID(root string) string { return m.uid36 + "-" + root }

// ackWait is the main consumer's AckWait for a visibility timeout:
// JetStream needs a positive one, so a zero timeout is made of a 30s
// AckWait and a nak right after each delivery.
func ackWait(vis time.Duration) time.Duration {
	if vis <= 0 {
		return 30 * time.Second
	}
	return vis
}

func randomUID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) | 1
}

// messageID is the courier ID of a message of a topic (incarnation uid)
// stored with sequence seq.
func messageID(uid, seq uint64) string {
	return strconv.FormatUint(uid, 36) + "-" + strconv.FormatUint(seq, 10)
}

func (c *conn) queueStreamConfig(ref qref, d queueDesc) jetstream.StreamConfig {
	desc, _ := json.Marshal(d) // plain fields only
	return jetstream.StreamConfig{
		Name:        ref.stream,
		Description: string(desc),
		Subjects:    []string{ref.subj},
		Retention:   jetstream.WorkQueuePolicy,
		MaxAge:      d.Attrs.RetentionPeriod,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Discard:     jetstream.DiscardOld,
		Duplicates:  min(driver.DedupWindow, d.Attrs.RetentionPeriod),
		Storage:     c.cfg.storage,
		Replicas:    c.cfg.replicas,
	}
}

func (c *conn) auxStreamConfig(ref qref, attrs driver.QueueAttributes) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        ref.aux,
		Description: "courier: delayed messages, visibility markers and lineage of queue " + ref.name,
		Subjects:    []string{ref.auxSubj + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		MaxAge:      attrs.RetentionPeriod,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Discard:     jetstream.DiscardOld,
		Duplicates:  min(driver.DedupWindow, attrs.RetentionPeriod),
		Storage:     c.cfg.storage,
		Replicas:    c.cfg.replicas,
		AllowRollup: true, // markers and lineage records replace their predecessors (Nats-Rollup: sub)
	}
}

func mainConsumerConfig(ref qref, attrs driver.QueueAttributes) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       mainConsumer,
		Description:   "courier: receives of queue " + ref.name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait(attrs.VisibilityTimeout),
		MaxDeliver:    -1,
		MaxAckPending: -1,
	}
}

func delayConsumerConfig(ref qref) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       delayConsumer,
		Description:   "courier: delayed messages of queue " + ref.name,
		FilterSubject: ref.delayFilter(),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: -1,
	}
}

// notFound is the error of a queue that does not exist.
func queueNotFound(ref qref) error {
	if ref.topic != "" {
		return fmt.Errorf("subscription %q of topic %q: %w", ref.sub, ref.topic, driver.ErrNotFound)
	}
	return fmt.Errorf("queue %q: %w", ref.name, driver.ErrNotFound)
}

// queueMeta returns the queue's cached metadata, loading it when it is
// missing or older than cfg.metaTTL.
func (c *conn) queueMeta(ctx context.Context, ref qref) (*queueMeta, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	v, _ := c.queues.Load(ref.stream)
	m, _ := v.(*queueMeta)
	if m == nil || c.cfg.metaTTL == 0 {
		return c.loadQueue(ctx, ref)
	}
	if time.Since(m.loaded) < c.cfg.metaTTL || !m.refreshing.CompareAndSwap(false, true) {
		// Fresh, or another call is reloading it: use it meanwhile
		// rather than have every concurrent caller reload.
		return m, nil
	}
	defer m.refreshing.Store(false)
	return c.loadQueue(ctx, ref)
}

// loadQueue reads the queue's stream and consumers, repairing a missing
// consumer (a create that was interrupted between the stream and its
// consumers).
func (c *conn) loadQueue(ctx context.Context, ref qref) (*queueMeta, error) {
	st, err := c.stream(ctx, ref.stream)
	if err != nil {
		c.forgetQueue(ref)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, queueNotFound(ref)
		}
		return nil, mapErr(err)
	}
	m := &queueMeta{ref: ref, stream: st, loaded: time.Now()}
	if err := json.Unmarshal([]byte(st.CachedInfo().Config.Description), &m.desc); err != nil || m.desc.Kind != "queue" {
		return nil, fmt.Errorf("stream %s exists but is not a courier queue: %w", ref.stream, driver.ErrConflict)
	}
	m.uid36 = strconv.FormatUint(m.desc.UID, 36)
	if m.aux, err = c.stream(ctx, ref.aux); errors.Is(err, jetstream.ErrStreamNotFound) {
		m.aux, err = c.retryCreate(ctx, c.auxStreamConfig(ref, m.desc.Attrs), c.js.CreateOrUpdateStream)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", ref.aux, mapErr(err))
	}
	if m.main, err = c.consumer(ctx, st, mainConsumerConfig(ref, m.desc.Attrs)); err != nil {
		return nil, err
	}
	if m.delay, err = c.consumer(ctx, m.aux, delayConsumerConfig(ref)); err != nil {
		return nil, err
	}
	c.queues.Store(ref.stream, m)
	return m, nil
}

// consumer returns the durable consumer cfg names, creating it if missing.
func (c *conn) consumer(ctx context.Context, st jetstream.Stream, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cons, err := retry(ctx, c, "consumer "+cfg.Durable, func() (jetstream.Consumer, error) { return st.Consumer(ctx, cfg.Durable) })
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = c.createConsumer(ctx, st, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("consumer %s of %s: %w", cfg.Durable, st.CachedInfo().Config.Name, mapErr(err))
	}
	return cons, nil
}

// createConsumer creates or updates a durable consumer, retrying while
// JetStream is unavailable.
func (c *conn) createConsumer(ctx context.Context, st jetstream.Stream, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return retry(ctx, c, "create consumer "+cfg.Durable, func() (jetstream.Consumer, error) { return st.CreateOrUpdateConsumer(ctx, cfg) })
}

func (c *conn) forgetQueue(ref qref) { c.queues.Delete(ref.stream) }

// checkDeadLetter checks that attrs' dead-letter queue exists.
func (c *conn) checkDeadLetter(ctx context.Context, ref qref, attrs driver.QueueAttributes) error {
	if attrs.DeadLetterQueue == "" {
		return nil
	}
	if ref.topic == "" && attrs.DeadLetterQueue == ref.name {
		return driver.Invalid("dead_letter_queue", "a queue cannot be its own dead-letter queue")
	}
	if _, err := c.loadQueue(ctx, c.lay.queue(attrs.DeadLetterQueue)); err != nil {
		if errors.Is(err, driver.ErrNotFound) {
			return driver.Invalid("dead_letter_queue", "queue %q does not exist; create it first", attrs.DeadLetterQueue)
		}
		return err
	}
	return nil
}

// CreateQueue creates a queue: one work-queue stream whose description
// holds the attributes, and its two durable consumers.
func (c *conn) CreateQueue(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	if err := c.usable(); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := c.createQueue(ctx, c.lay.queue(name), attrs); err != nil {
		return driver.QueueInfo{}, err
	}
	return c.QueueInfo(ctx, name)
}

func (c *conn) createQueue(ctx context.Context, ref qref, attrs driver.QueueAttributes) error {
	if attrs.FIFO {
		// A queue of that name that exists conflicts; otherwise say why
		// there can be none.
		if m, err := c.loadQueue(ctx, ref); err == nil && m.desc.Attrs != attrs {
			return fmt.Errorf("queue %q exists with other attributes: %w", ref.name, driver.ErrConflict)
		}
		return fmt.Errorf("%w: %w", driver.ErrUnsupported, driver.Invalid("fifo", "FIFO queues are not supported by the NATS driver: JetStream cannot hold back a message group while one of its messages is in flight"))
	}
	if err := c.checkDeadLetter(ctx, ref, attrs); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	d := queueDesc{Kind: "queue", UID: randomUID(), Created: now, Updated: now, Attrs: attrs}
	if m, err := c.loadQueue(ctx, ref); err == nil {
		if m.desc.Attrs != attrs {
			return fmt.Errorf("queue %q exists with other attributes: %w", ref.name, driver.ErrConflict)
		}
		return nil
	} else if !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	// The auxiliary stream first: the main stream's existence is the
	// queue's.
	aux, err := c.retryCreate(ctx, c.auxStreamConfig(ref, attrs), c.js.CreateOrUpdateStream)
	if err != nil {
		return fmt.Errorf("create stream %s: %w", ref.aux, mapErr(err))
	}
	if _, err := c.createConsumer(ctx, aux, delayConsumerConfig(ref)); err != nil {
		return fmt.Errorf("create consumer %s of %s: %w", delayConsumer, ref.aux, mapErr(err))
	}
	st, err := c.createStream(ctx, c.queueStreamConfig(ref, d))
	if apiCode(err) == jetstream.JSErrCodeStreamNameInUse {
		return c.createQueue(ctx, ref, attrs) // created meanwhile: compare
	}
	if err != nil {
		_ = c.deleteStream(context.WithoutCancel(ctx), ref.aux)
		return fmt.Errorf("create stream %s: %w", ref.stream, mapErr(err))
	}
	if _, err := c.createConsumer(ctx, st, mainConsumerConfig(ref, attrs)); err != nil {
		// Leave nothing half made behind; a later load repairs it if
		// this delete fails too.
		_ = c.deleteStream(context.WithoutCancel(ctx), ref.stream)
		return fmt.Errorf("create consumer %s of %s: %w", mainConsumer, ref.stream, mapErr(err))
	}
	c.forgetQueue(ref)
	return nil
}

// QueueInfo returns the queue's attributes and stats, read afresh.
func (c *conn) QueueInfo(ctx context.Context, name string) (driver.QueueInfo, error) {
	return c.queueInfo(ctx, c.lay.queue(name))
}

func (c *conn) queueInfo(ctx context.Context, ref qref) (driver.QueueInfo, error) {
	if err := c.usable(); err != nil {
		return driver.QueueInfo{}, err
	}
	m, err := c.loadQueue(ctx, ref)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	c.ensurePromoter(m)
	stats, err := c.queueStats(ctx, m)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	return driver.QueueInfo{
		Name:       ref.name,
		Attributes: m.desc.Attrs,
		CreatedAt:  time.Unix(0, m.desc.Created),
		UpdatedAt:  time.Unix(0, m.desc.Updated),
		Stats:      stats,
	}, nil
}

// queueStats counts the queue's messages: visible ones are those the main
// consumer has not delivered, in-flight ones those it delivered and that
// are not acked (less those whose visibility was changed), delayed ones
// those on the delay subjects plus those with a changed visibility not
// yet over. A message whose visibility timeout ended counts as in flight
// until a receive picks it up again.
func (c *conn) queueStats(ctx context.Context, m *queueMeta) (driver.QueueStats, error) {
	// With replicas, a consumer's leader applies what its stream's leader
	// acknowledged a moment later (and a stream applies an ack a moment
	// after its consumer): read until the consumers account for every
	// message of their streams, for at most catchUpPatience.
	deadline := time.Now().Add(catchUpPatience)
	for {
		st, settled, err := c.readStats(ctx, m)
		if err != nil || settled || time.Now().After(deadline) {
			return st, err
		}
		t := time.NewTimer(25 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		}
	}
}

// readStats reads the stats once. Without replicas they are settled; with
// replicas, settled reports whether the consumers' counts (read first)
// cover exactly the messages their streams' leaders hold.
func (c *conn) readStats(ctx context.Context, m *queueMeta) (driver.QueueStats, bool, error) {
	var st driver.QueueStats
	mi, err := c.consumerInfo(ctx, m.main)
	if err != nil {
		return st, false, c.queueErr(m.ref, err)
	}
	di, err := c.consumerInfo(ctx, m.delay)
	if err != nil {
		return st, false, c.queueErr(m.ref, err)
	}
	changed, err := c.changedVisibility(ctx, m)
	if err != nil {
		return st, false, err
	}
	st.Visible = int64(mi.NumPending)
	st.InFlight = max(int64(mi.NumAckPending)-changed, 0)
	st.Delayed = int64(di.NumPending) + int64(di.NumAckPending) + changed
	settled := true
	var info, aux *jetstream.StreamInfo
	if c.cfg.replicas > 1 || st.Visible+st.InFlight+st.Delayed > 0 {
		if info, err = c.streamInfo(ctx, m.stream); err != nil {
			return st, false, c.queueErr(m.ref, err)
		}
	}
	if c.cfg.replicas > 1 {
		delayed, err := c.streamInfo(ctx, m.aux, jetstream.WithSubjectFilter(m.ref.delayFilter()))
		if err != nil {
			return st, false, c.queueErr(m.ref, err)
		}
		aux = delayed // a subject filter adds State.Subjects; the rest is the whole stream's
		var n uint64
		for _, k := range delayed.State.Subjects {
			n += k
		}
		settled = info.State.Msgs == mi.NumPending+uint64(mi.NumAckPending) && n == di.NumPending+uint64(di.NumAckPending)
	}
	if st.Visible+st.InFlight+st.Delayed > 0 {
		oldest := info.State.FirstTime
		if info.State.Msgs == 0 || di.NumPending+uint64(di.NumAckPending) > 0 {
			// Delayed copies live in the auxiliary stream (with markers
			// and lineage records: an approximation).
			if aux == nil {
				if ai, err := c.streamInfo(ctx, m.aux); err == nil {
					aux = ai
				}
			}
			if aux != nil && aux.State.Msgs > 0 && (oldest.IsZero() || aux.State.FirstTime.Before(oldest)) {
				oldest = aux.State.FirstTime
			}
		}
		if !oldest.IsZero() {
			st.OldestAge = max(time.Since(oldest), 0)
		}
	}
	return st, settled, nil
}

// changedVisibility counts the in-flight messages whose visibility was
// changed (nack with a delay, extend) and is not over yet, from their
// markers; it deletes markers of messages that are gone.
func (c *conn) changedVisibility(ctx context.Context, m *queueMeta) (int64, error) {
	info, err := c.streamInfo(ctx, m.aux, jetstream.WithSubjectFilter(m.ref.markerFilter()))
	if err != nil {
		return 0, c.queueErr(m.ref, err)
	}
	var n int64
	now := time.Now().UnixNano()
	for subj := range info.State.Subjects {
		mk, err := c.lastMsg(ctx, m.aux, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // purged meanwhile
		}
		if err != nil {
			return 0, c.queueErr(m.ref, err)
		}
		v := decodeMarker(mk.Data)
		if v.VisibleAt <= now {
			continue
		}
		if _, err := c.getMsg(ctx, m.stream, v.Seq); errors.Is(err, jetstream.ErrMsgNotFound) {
			c.purgeSubject(ctx, m.ref.aux, subj) // the message was acked: the marker is an orphan
			continue
		} else if err != nil {
			return 0, c.queueErr(m.ref, err)
		}
		n++
	}
	return n, nil
}

// queueErr maps a JetStream error on the queue, forgetting the cached
// metadata of a queue that is gone.
func (c *conn) queueErr(ref qref, err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, driver.ErrNotFound) {
		c.forgetQueue(ref)
		return queueNotFound(ref)
	}
	return mapErr(err)
}

// SetQueueAttributes replaces the queue's attributes: the stream's
// retention and description and the main consumer's AckWait.
func (c *conn) SetQueueAttributes(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	if err := c.setQueueAttributes(ctx, c.lay.queue(name), attrs); err != nil {
		return driver.QueueInfo{}, err
	}
	return c.QueueInfo(ctx, name)
}

func (c *conn) setQueueAttributes(ctx context.Context, ref qref, attrs driver.QueueAttributes) error {
	if err := c.usable(); err != nil {
		return err
	}
	m, err := c.loadQueue(ctx, ref)
	if err != nil {
		return err
	}
	if attrs.FIFO != m.desc.Attrs.FIFO {
		return fmt.Errorf("queue %q: FIFO cannot change after creation: %w", ref.name, driver.ErrConflict)
	}
	if err := c.checkDeadLetter(ctx, ref, attrs); err != nil {
		return err
	}
	d := m.desc
	d.Attrs = attrs
	d.Updated = time.Now().UnixNano()
	if _, err := c.retryCreate(ctx, c.auxStreamConfig(ref, attrs), c.js.UpdateStream); err != nil {
		return c.queueErr(ref, err)
	}
	if _, err := c.retryCreate(ctx, c.queueStreamConfig(ref, d), c.js.UpdateStream); err != nil {
		return c.queueErr(ref, err)
	}
	if _, err := c.createConsumer(ctx, m.stream, mainConsumerConfig(ref, attrs)); err != nil {
		return c.queueErr(ref, err)
	}
	c.forgetQueue(ref)
	return nil
}

// ListQueues lists the user queues of the prefix.
func (c *conn) ListQueues(ctx context.Context) ([]string, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	names := []string{}
	all, err := c.streamNames(ctx, c.cfg.prefix+".q.>")
	if err != nil {
		return nil, mapErr(err)
	}
	for _, s := range all {
		if n, ok := c.lay.queueName(s); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// DeleteQueue deletes the queue's stream, unless another queue uses the
// queue as its dead-letter queue or a topic delivers into it.
func (c *conn) DeleteQueue(ctx context.Context, name string) error {
	if err := c.usable(); err != nil {
		return err
	}
	ref := c.lay.queue(name)
	if _, err := c.loadQueue(ctx, ref); err != nil {
		return err
	}
	users, err := c.deadLetterUsers(ctx, name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("queue %q is the dead-letter queue of %q; change their attributes first: %w", name, users, driver.ErrConflict)
	}
	subs, err := c.queueSubscribers(ctx, name)
	if err != nil {
		return err
	}
	if len(subs) > 0 {
		return fmt.Errorf("queue %q receives from topic subscriptions %q; unsubscribe them first: %w", name, subs, driver.ErrConflict)
	}
	return c.deleteQueue(ctx, ref)
}

func (c *conn) deleteQueue(ctx context.Context, ref qref) error {
	c.stopPromoter(ref.stream)
	err := c.deleteStream(ctx, ref.stream)
	c.forgetQueue(ref)
	if err != nil {
		return c.queueErr(ref, err)
	}
	if err := c.deleteStream(ctx, ref.aux); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("queue %q is deleted; its auxiliary stream %s is left: %w", ref.name, ref.aux, mapErr(err))
	}
	return nil
}

// deadLetterUsers lists the queues (and subscriptions) whose dead-letter
// queue is name.
func (c *conn) deadLetterUsers(ctx context.Context, name string) ([]string, error) {
	var users []string
	for _, kind := range []string{".q.>", ".b.>"} {
		infos, err := retry(ctx, c, "list streams", func() ([]*jetstream.StreamInfo, error) {
			var out []*jetstream.StreamInfo
			l := c.js.ListStreams(ctx, jetstream.WithStreamListSubject(c.cfg.prefix+kind))
			for info := range l.Info() {
				out = append(out, info)
			}
			return out, l.Err()
		})
		if err != nil {
			return nil, mapErr(err)
		}
		for _, info := range infos {
			var d queueDesc
			if json.Unmarshal([]byte(info.Config.Description), &d) != nil || d.Kind != "queue" {
				continue
			}
			if d.Attrs.DeadLetterQueue == name {
				n, ok := c.lay.queueName(info.Config.Name)
				if !ok {
					n = info.Config.Name
				}
				users = append(users, n)
			}
		}
	}
	slices.Sort(users)
	return users, nil
}

// PurgeQueue deletes the queue's messages (visible, in flight and
// delayed) and its markers, and reports how many messages it deleted.
func (c *conn) PurgeQueue(ctx context.Context, name string) (int, error) {
	return c.purgeQueue(ctx, c.lay.queue(name))
}

func (c *conn) purgeQueue(ctx context.Context, ref qref) (int, error) {
	if err := c.usable(); err != nil {
		return 0, err
	}
	m, err := c.queueMeta(ctx, ref)
	if err != nil {
		return 0, err
	}
	total, err := c.purge(ctx, m.ref.stream, "")
	if err != nil {
		return 0, c.queueErr(ref, err)
	}
	for _, f := range []string{ref.delayFilter(), ref.markerFilter(), ref.lineageFilter()} {
		n, err := c.purge(ctx, m.ref.aux, f)
		if err != nil {
			return total, c.queueErr(ref, err)
		}
		if f == ref.delayFilter() {
			total += n
		}
	}
	return total, nil
}

// purge deletes the messages of stream on subjects matching filter and
// returns how many it deleted (the JetStream purge API reports it; the
// client library does not pass it on).
func (c *conn) purge(ctx context.Context, stream, filter string) (int, error) {
	req, _ := json.Marshal(struct {
		Filter string `json:"filter,omitempty"`
	}{filter})
	n, err := retry(ctx, c, "purge "+stream, func() (int, error) {
		resp, err := c.nc.RequestWithContext(ctx, c.apiPrefix()+"STREAM.PURGE."+stream, req)
		if err != nil {
			return 0, err
		}
		var r struct {
			Success bool                `json:"success"`
			Purged  int                 `json:"purged"`
			Error   *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(resp.Data, &r); err != nil {
			return 0, fmt.Errorf("purge %s: bad answer: %w", stream, err)
		}
		if r.Error != nil {
			if r.Error.ErrorCode == jetstream.JSErrCodeStreamNotFound {
				return 0, fmt.Errorf("stream %s: %w", stream, jetstream.ErrStreamNotFound)
			}
			return 0, r.Error
		}
		return r.Purged, nil
	})
	if err != nil {
		return 0, mapErr(err)
	}
	return n, nil
}

// purgeSubject deletes every message on subj, best effort.
func (c *conn) purgeSubject(ctx context.Context, stream, subj string) {
	if _, err := c.purge(ctx, stream, subj); err != nil {
		c.log.Debug("purge failed", "stream", stream, "subject", subj, "error", err)
	}
}

func (c *conn) apiPrefix() string {
	if c.cfg.domain != "" {
		return "$JS." + c.cfg.domain + ".API."
	}
	return jetstream.DefaultAPIPrefix
}

// streamNames lists the JetStream streams taking subjects matching subj,
// retrying while JetStream is unavailable.
func (c *conn) streamNames(ctx context.Context, subj string) ([]string, error) {
	return retry(ctx, c, "stream names", func() ([]string, error) {
		var out []string
		l := c.js.StreamNames(ctx, jetstream.WithStreamListSubject(subj))
		for n := range l.Name() {
			out = append(out, n)
		}
		return out, l.Err()
	})
}

// streamInfo reads a stream's state from its leader, retrying while
// JetStream is unavailable.
func (c *conn) streamInfo(ctx context.Context, st jetstream.Stream, opts ...jetstream.StreamInfoOpt) (*jetstream.StreamInfo, error) {
	return retry(ctx, c, "stream info", func() (*jetstream.StreamInfo, error) { return st.Info(ctx, opts...) })
}

// consumerInfo reads a consumer's state from its leader, retrying while
// JetStream is unavailable.
func (c *conn) consumerInfo(ctx context.Context, cons jetstream.Consumer) (*jetstream.ConsumerInfo, error) {
	return retry(ctx, c, "consumer info", func() (*jetstream.ConsumerInfo, error) { return cons.Info(ctx) })
}

// getMsg reads a stored message by sequence from the stream's leader
// (courier's streams do not allow direct gets, which any replica would
// answer), retrying while JetStream is unavailable.
func (c *conn) getMsg(ctx context.Context, st jetstream.Stream, seq uint64) (*jetstream.RawStreamMsg, error) {
	return retry(ctx, c, "get message", func() (*jetstream.RawStreamMsg, error) { return st.GetMsg(ctx, seq) })
}

// lastMsg reads the last message on subj from the stream's leader, as
// getMsg does.
func (c *conn) lastMsg(ctx context.Context, st jetstream.Stream, subj string) (*jetstream.RawStreamMsg, error) {
	return retry(ctx, c, "get last message", func() (*jetstream.RawStreamMsg, error) { return st.GetLastMsgForSubject(ctx, subj) })
}

// createStream creates a JetStream stream, retrying what a cluster
// refuses for a moment: a create that a server failed to set up storage
// for, or a request nobody answered (JetStream electing a leader).
func (c *conn) createStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return c.retryCreate(ctx, cfg, c.js.CreateStream)
}

// retryCreate runs create (CreateStream, CreateOrUpdateStream or
// UpdateStream) as createStream does.
func (c *conn) retryCreate(ctx context.Context, cfg jetstream.StreamConfig, create func(context.Context, jetstream.StreamConfig) (jetstream.Stream, error)) (jetstream.Stream, error) {
	return retry(ctx, c, "create stream "+cfg.Name, func() (jetstream.Stream, error) { return create(ctx, cfg) })
}

// stream looks a JetStream stream up, retrying while JetStream is
// unavailable.
func (c *conn) stream(ctx context.Context, name string) (jetstream.Stream, error) {
	return retry(ctx, c, "stream "+name, func() (jetstream.Stream, error) { return c.js.Stream(ctx, name) })
}

// deleteStream deletes a JetStream stream, retrying while JetStream is
// unavailable.
func (c *conn) deleteStream(ctx context.Context, name string) error {
	return retryErr(ctx, c, "delete stream "+name, func() error { return c.js.DeleteStream(ctx, name) })
}
