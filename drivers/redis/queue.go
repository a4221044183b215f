package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/courier-io/courier/driver"
)

func ms(d time.Duration) int64 { return int64(d / time.Millisecond) }

func fromMS(n int64) time.Time { return time.UnixMilli(n) }

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// attrArgs are queue attributes as script arguments: vt, ret, delay, wait,
// max, mr, dlq, fifo, cbd. Durations are stored in whole milliseconds.
func attrArgs(a driver.QueueAttributes) []any {
	return []any{
		strconv.FormatInt(ms(a.VisibilityTimeout), 10), strconv.FormatInt(ms(a.RetentionPeriod), 10),
		strconv.FormatInt(ms(a.DeliveryDelay), 10), strconv.FormatInt(ms(a.ReceiveWait), 10),
		strconv.Itoa(a.MaxMessageSize), strconv.Itoa(a.MaxReceives), a.DeadLetterQueue,
		boolArg(a.FIFO), boolArg(a.ContentBasedDedup),
	}
}

// checkMillis rejects durations finer than the millisecond, which Redis
// cannot store.
func checkMillis(a driver.QueueAttributes) error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"visibility_timeout", a.VisibilityTimeout}, {"retention_period", a.RetentionPeriod},
		{"delivery_delay", a.DeliveryDelay}, {"receive_wait", a.ReceiveWait},
	} {
		if f.d%time.Millisecond != 0 {
			return driver.Invalid(f.name, "%v has a fraction of a millisecond; this backend keeps whole milliseconds", f.d)
		}
	}
	return nil
}

// queueFields decodes the QF fields of a queue (see common.lua) into its
// info: gen, vt, ret, delay, wait, max, mr, dlq, fifo, cbd, created,
// updated, owner.
func queueFields(name string, f []any) (driver.QueueInfo, error) {
	if len(f) < 13 || f[0] == nil {
		return driver.QueueInfo{}, malformed("queue metadata", f)
	}
	d := func(i int) time.Duration { return time.Duration(num(f[i])) * time.Millisecond }
	return driver.QueueInfo{
		Name: name,
		Attributes: driver.QueueAttributes{
			VisibilityTimeout: d(1), RetentionPeriod: d(2), DeliveryDelay: d(3), ReceiveWait: d(4),
			MaxMessageSize: int(num(f[5])), MaxReceives: int(num(f[6])), DeadLetterQueue: str(f[7]),
			FIFO: str(f[8]) == "1", ContentBasedDedup: str(f[9]) == "1",
		},
		CreatedAt: fromMS(num(f[10])),
		UpdatedAt: fromMS(num(f[11])),
	}, nil
}

// deadLetterError turns a dead-letter code of check_dlq into an error.
func deadLetterError(code string, attrs driver.QueueAttributes) error {
	switch code {
	case "dlq_self":
		return driver.Invalid("dead_letter_queue", "a queue cannot be its own dead-letter queue")
	case "dlq_missing":
		return driver.Invalid("dead_letter_queue", "queue %q does not exist; create it first", attrs.DeadLetterQueue)
	case "dlq_kind":
		kind := "standard"
		if attrs.FIFO {
			kind = "FIFO"
		}
		return driver.Invalid("dead_letter_queue", "queue %q must be a %s queue like this one", attrs.DeadLetterQueue, kind)
	}
	return nil
}

// CreateQueue creates a queue, or returns the existing one when its
// attributes are equal (ErrConflict otherwise).
func (c *Conn) CreateQueue(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	if err := driver.ValidateQueueName("name", name); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := attrs.Validate(); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := checkMillis(attrs); err != nil {
		return driver.QueueInfo{}, err
	}
	v, err := c.run(ctx, scriptQueueCreate, append([]any{name}, attrArgs(attrs)...)...)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	res := list(v)
	if len(res) == 0 {
		return driver.QueueInfo{}, malformed("queue_create", v)
	}
	switch code := str(res[0]); code {
	case "created", "exists":
		c.contentDedup.Store("q:"+name, attrs.ContentBasedDedup)
		return queueFields(name, res[1:])
	case "conflict":
		return driver.QueueInfo{}, fmt.Errorf("queue %q exists with other attributes: %w", name, driver.ErrConflict)
	case "owned":
		return driver.QueueInfo{}, fmt.Errorf("queue %q belongs to a subscription: %w", name, driver.ErrConflict)
	default:
		if err := deadLetterError(code, attrs); err != nil {
			return driver.QueueInfo{}, err
		}
		return driver.QueueInfo{}, malformed("queue_create", v)
	}
}

// QueueInfo returns a queue's attributes and stats.
func (c *Conn) QueueInfo(ctx context.Context, name string) (driver.QueueInfo, error) {
	v, err := c.run(ctx, scriptQueueInfo, name)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	res := list(v)
	if len(res) == 0 {
		return driver.QueueInfo{}, notFound(name)
	}
	if len(res) < 17 {
		return driver.QueueInfo{}, malformed("queue_info", v)
	}
	info, err := queueFields(name, res[:13])
	if err != nil {
		return info, err
	}
	info.Stats = driver.QueueStats{
		Visible: num(res[13]), InFlight: num(res[14]), Delayed: num(res[15]),
		OldestAge: time.Duration(num(res[16])) * time.Millisecond,
	}
	return info, nil
}

func notFound(name string) error { return fmt.Errorf("queue %q: %w", name, driver.ErrNotFound) }

// SetQueueAttributes replaces a queue's attributes; FIFO cannot change.
func (c *Conn) SetQueueAttributes(ctx context.Context, name string, attrs driver.QueueAttributes) (driver.QueueInfo, error) {
	if err := attrs.Validate(); err != nil {
		return driver.QueueInfo{}, err
	}
	if err := checkMillis(attrs); err != nil {
		return driver.QueueInfo{}, err
	}
	v, err := c.run(ctx, scriptQueueSet, append([]any{name}, attrArgs(attrs)...)...)
	if err != nil {
		return driver.QueueInfo{}, err
	}
	res := list(v)
	if len(res) == 0 {
		return driver.QueueInfo{}, malformed("queue_set", v)
	}
	switch code := str(res[0]); code {
	case "ok":
		c.contentDedup.Store("q:"+name, attrs.ContentBasedDedup)
		info, err := queueFields(name, res[1:])
		if err != nil {
			return info, err
		}
		return c.QueueInfo(ctx, name)
	case "missing":
		return driver.QueueInfo{}, notFound(name)
	case "fifo":
		return driver.QueueInfo{}, fmt.Errorf("queue %q: FIFO cannot change after creation: %w", name, driver.ErrConflict)
	default:
		if err := deadLetterError(code, attrs); err != nil {
			return driver.QueueInfo{}, err
		}
		return driver.QueueInfo{}, malformed("queue_set", v)
	}
}

// ListQueues returns the queue names in sorted order.
func (c *Conn) ListQueues(ctx context.Context) ([]string, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	names, err := c.rdb.SMembers(ctx, c.prefix+":queues").Result()
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	slices.Sort(names)
	return names, nil
}

// DeleteQueue deletes a queue and its messages. A queue that is another
// queue's dead-letter queue or a topic's subscription target is kept
// (ErrConflict).
func (c *Conn) DeleteQueue(ctx context.Context, name string) error {
	v, err := c.run(ctx, scriptQueueDelete, name)
	if err != nil {
		return err
	}
	res := list(v)
	if len(res) == 0 {
		return malformed("queue_delete", v)
	}
	switch str(res[0]) {
	case "ok":
		c.contentDedup.Delete("q:" + name)
		return nil
	case "missing":
		return notFound(name)
	case "refs":
		var dlqOf, subs []string
		for _, r := range res[1:] {
			s := str(r)
			if src, ok := strings.CutPrefix(s, "dlq:"); ok {
				dlqOf = append(dlqOf, src)
			} else if sub, ok := strings.CutPrefix(s, "sub:"); ok {
				subs = append(subs, sub)
			}
		}
		slices.Sort(dlqOf)
		slices.Sort(subs)
		if len(subs) > 0 {
			return fmt.Errorf("queue %q is subscribed to topics as %q; unsubscribe first: %w", name, subs, driver.ErrConflict)
		}
		return fmt.Errorf("queue %q is the dead-letter queue of %q; change their attributes first: %w", name, dlqOf, driver.ErrConflict)
	}
	return malformed("queue_delete", v)
}

// PurgeQueue deletes every message of a queue.
func (c *Conn) PurgeQueue(ctx context.Context, name string) (int, error) {
	v, err := c.run(ctx, scriptQueuePurge, name)
	if err != nil {
		return 0, err
	}
	n := num(v)
	if n < 0 {
		return 0, notFound(name)
	}
	return int(n), nil
}

// Send stores messages. It returns once Redis has applied them (one
// script for the batch, with the batches of concurrent senders: see
// coalesce.go); see the package doc for when that is durable.
func (c *Conn) Send(ctx context.Context, queue string, msgs []driver.Message) ([]driver.SendResult, error) {
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, err
	}
	for i := range msgs {
		if msgs[i].Delay%time.Millisecond != 0 {
			return nil, driver.Invalid(fmt.Sprintf("messages[%d].delay", i), "%v has a fraction of a millisecond; this backend keeps whole milliseconds", msgs[i].Delay)
		}
	}
	return c.coalesce(ctx, "q:"+queue, queue, msgs, c.send)
}

// send stores msgs in queue with one script (see Send).
func (c *Conn) send(ctx context.Context, queue string, msgs []driver.Message) ([]driver.SendResult, error) {
	hint := "q:" + queue
	for range 3 {
		hashed := c.hashes(hint)
		args := make([]any, 0, 2+6*len(msgs))
		args = append(args, queue, strconv.Itoa(len(msgs)))
		var buf []byte
		for i := range msgs {
			m := &msgs[i]
			key, flag := dedupKey(m, hashed)
			start := len(buf)
			buf = appendBlob(buf, m, key)
			args = append(args, buf[start:len(buf):len(buf)], strconv.Itoa(driver.MessageSize(m)),
				strconv.FormatInt(ms(m.Delay), 10), key, flag, m.Group)
		}
		v, err := c.run(ctx, scriptSend, args...)
		if err != nil {
			return nil, err
		}
		res := list(v)
		if len(res) == 0 {
			return nil, malformed("send", v)
		}
		switch str(res[0]) {
		case "missing":
			return nil, notFound(queue)
		case "hash":
			c.contentDedup.Store(hint, true)
			continue
		case "nohash":
			c.contentDedup.Store(hint, false)
			continue
		case "ok":
			return sendResults(res[1:], msgs, queue, "queue")
		}
		return nil, malformed("send", v)
	}
	return nil, fmt.Errorf("queue %q: its content-based dedup setting keeps changing: %w", queue, driver.ErrConflict)
}

// hashes reports whether sends to the queue or topic of hint should carry
// body hashes.
func (c *Conn) hashes(hint string) bool {
	v, ok := c.contentDedup.Load(hint)
	return ok && v.(bool)
}

// dedupKey returns the dedup key of m and its flag: the dedup ID, or the
// SHA-256 of the body when hashed and m has none ("c").
func dedupKey(m *driver.Message, hashed bool) (string, string) {
	if m.DedupID != "" || !hashed {
		return m.DedupID, ""
	}
	sum := sha256.Sum256(m.Body)
	return hex.EncodeToString(sum[:]), "c"
}

// sendResults decodes the per-message results of send and publish.
func sendResults(res []any, msgs []driver.Message, name, kind string) ([]driver.SendResult, error) {
	if len(res) != 3*len(msgs) {
		return nil, malformed(kind+" results", res)
	}
	out := make([]driver.SendResult, len(msgs))
	for i := range msgs {
		code, id, seq := num(res[3*i]), str(res[3*i+1]), str(res[3*i+2])
		switch code {
		case 0, 1:
			out[i] = driver.SendResult{ID: id, Duplicate: code == 1}
			if seq != "" {
				base := 16
				if kind == "topic" {
					base = 10
				}
				out[i].Sequence, _ = strconv.ParseUint(seq, base, 64)
			}
		case 2:
			out[i].Err = driver.TooLarge(fmt.Sprintf("messages[%d]", i), "message is %d bytes (body plus headers); %s %q accepts less", driver.MessageSize(&msgs[i]), kind, name)
		case 3:
			out[i].Err = driver.Invalid(fmt.Sprintf("messages[%d].group", i), "%s %q is FIFO; every message needs a group", kind, name)
		default:
			return nil, malformed(kind+" results", res)
		}
	}
	return out, nil
}

// Receive returns up to req.Max visible messages, long-polling as req.Wait
// says: woken by sends to the queue (through Pub/Sub), by the next
// message's visibility time, or by its deadline.
func (c *Conn) Receive(ctx context.Context, queue string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.Visibility%time.Millisecond != 0 {
		return nil, driver.Invalid("visibility", "%v has a fraction of a millisecond; this backend keeps whole milliseconds", req.Visibility)
	}
	max := max(req.Max, 1)
	start := time.Now()
	var deadline time.Time
	var h *waitHandle
	defer func() {
		if h != nil {
			h.release()
		}
	}()
	for first := true; ; first = false {
		var notify <-chan struct{}
		if h != nil {
			notify = h.signal()
		}
		v, err := c.run(ctx, scriptReceive, queue, strconv.Itoa(max), strconv.FormatInt(ms(req.Visibility), 10))
		if err != nil {
			return nil, err
		}
		res := list(v)
		if len(res) == 0 {
			return nil, malformed("receive", v)
		}
		if str(res[0]) == "missing" {
			return nil, notFound(queue)
		}
		if len(res) < 5 {
			return nil, malformed("receive", v)
		}
		gen, wait, next, n := str(res[1]), num(res[2]), num(res[3]), int(num(res[4]))
		if n > 0 {
			return c.deliveries(ctx, gen, res[5:], n)
		}
		if first {
			switch req.Wait {
			case driver.WaitQueueDefault:
				deadline = start.Add(time.Duration(wait) * time.Millisecond)
			case driver.NoWait:
				deadline = start
			default:
				deadline = start.Add(req.Wait)
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		if h == nil {
			wctx, cancel := context.WithDeadline(ctx, deadline)
			h, err = c.waker.watch(wctx, c.prefix+":w:"+queue)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if c.closed.Load() {
					return nil, errConnClosed
				}
				return nil, nil // the deadline passed while subscribing
			}
			continue // look again now that sends wake us
		}
		if next >= 0 && time.Duration(next)*time.Millisecond < left {
			left = time.Duration(next) * time.Millisecond
		}
		t := time.NewTimer(left)
		select {
		case <-notify:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-c.done:
			t.Stop()
			return nil, errConnClosed
		}
		t.Stop()
	}
}

// deliveries reads and decodes n deliveries of a receive, given as id and
// receive state each. A message gone since the receive (acked after a
// redelivery, expired, purged) is left out.
func (c *Conn) deliveries(ctx context.Context, gen string, res []any, n int) ([]driver.Delivery, error) {
	if len(res) != 2*n {
		return nil, malformed("receive deliveries", res)
	}
	ids := make([]string, n)
	for i := range n {
		ids[i] = str(res[2*i])
	}
	vals, err := c.rdb.HMGet(ctx, c.prefix+":Q:"+gen+":h", ids...).Result()
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	out := make([]driver.Delivery, 0, n)
	for i, id := range ids {
		v, ok := vals[i].(string)
		if !ok {
			continue
		}
		m, b, err := parseValue(v, str(res[2*i+1]))
		if err != nil {
			return nil, fmt.Errorf("message %s: %w: %v", id, driver.ErrStorage, err)
		}
		out = append(out, delivery(gen, id, m, b))
	}
	return out, nil
}

// delivery builds the delivery of message key id with metadata m.
func delivery(gen, id string, m meta, b blob) driver.Delivery {
	d := driver.Delivery{
		ID:              id,
		Body:            b.body,
		Headers:         b.headers,
		Receipt:         encodeReceipt(gen, id, m.receives),
		ReceiveCount:    m.receives,
		SentAt:          fromMS(m.sent),
		FirstReceivedAt: fromMS(m.first),
		Group:           b.group,
		DedupID:         b.dedup,
		Sequence:        m.fseq,
		SourceQueue:     m.source,
	}
	if m.xid != "" {
		d.ID = m.xid
	}
	if m.topic != "" {
		d.Body = envelope(m.topic, d.ID, m, b)
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	return d
}

// envelope renders a published message for a subscription without Raw,
// as every backend does (driver.EncodeEnvelope).
func envelope(topic, id string, m meta, b blob) []byte {
	return driver.EncodeEnvelope(driver.Envelope{MessageID: id, Topic: topic, Timestamp: fromMS(m.sent),
		Sequence: m.tseq, Group: b.group, DedupID: b.dedup, Headers: b.headers}, b.body)
}

// settle runs the ack or visibility script for receipts, after d's
// argument when set, and returns one error per receipt.
func (c *Conn) settle(ctx context.Context, queue string, receipts []string, vis *time.Duration) ([]error, error) {
	if err := driver.ValidateReceipts(receipts); err != nil {
		return nil, err
	}
	errs := make([]error, len(receipts))
	args := []any{queue}
	s := scriptAck
	if vis != nil {
		s = scriptVisibility
		args = append(args, strconv.FormatInt(ms(*vis), 10))
	}
	var sent []int
	for i, r := range receipts {
		rc, err := parseReceipt(r)
		if err != nil {
			errs[i] = fmt.Errorf("receipt %d: %w", i, err)
			continue
		}
		sent = append(sent, i)
		args = append(args, rc.gen, rc.id, strconv.Itoa(rc.receives))
	}
	if len(sent) == 0 {
		if err := c.usable(); err != nil {
			return nil, err
		}
		return errs, nil
	}
	v, err := c.run(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	res := list(v)
	if len(res) == 0 {
		return nil, malformed("settle", v)
	}
	if str(res[0]) == "missing" {
		return nil, notFound(queue)
	}
	if len(res) != len(sent)+1 {
		return nil, malformed("settle", v)
	}
	for k, i := range sent {
		switch num(res[k+1]) {
		case 0:
		case 1:
			errs[i] = fmt.Errorf("receipt %d is stale: the message was delivered again: %w", i, driver.ErrReceiptInvalid)
		case 2:
			errs[i] = fmt.Errorf("receipt %d belongs to another queue: %w", i, driver.ErrReceiptInvalid)
		case 3:
			errs[i] = fmt.Errorf("receipt %d: the message no longer exists: %w", i, driver.ErrReceiptInvalid)
		default:
			return nil, malformed("settle", v)
		}
	}
	return errs, nil
}

// Ack deletes the messages of receipts. A receipt whose message is gone
// succeeds; a stale one fails with ErrReceiptInvalid.
func (c *Conn) Ack(ctx context.Context, queue string, receipts []string) ([]error, error) {
	return c.settle(ctx, queue, receipts, nil)
}

// ChangeVisibility makes the messages of receipts visible again d from
// now (d = 0: at once).
func (c *Conn) ChangeVisibility(ctx context.Context, queue string, receipts []string, d time.Duration) ([]error, error) {
	if d < 0 || d > driver.MaxVisibilityTimeout {
		return nil, driver.Invalid("visibility", "%v is out of range; accepted is 0 to %v", d, driver.MaxVisibilityTimeout)
	}
	if d%time.Millisecond != 0 {
		return nil, driver.Invalid("visibility", "%v has a fraction of a millisecond; this backend keeps whole milliseconds", d)
	}
	return c.settle(ctx, queue, receipts, &d)
}

// redriveBatch bounds the messages one redrive script moves.
const redriveBatch = 500

// Redrive moves visible messages of the dead-letter queue dlq back to the
// queues they came from, or to req.Destination, oldest first; each move is
// atomic. With req.Rate it paces itself. Messages that enter dlq after the
// redrive started are left.
func (c *Conn) Redrive(ctx context.Context, dlq string, req driver.RedriveRequest) (driver.RedriveResult, error) {
	if err := req.Validate(); err != nil {
		return driver.RedriveResult{}, err
	}
	var res driver.RedriveResult
	start := time.Now()
	// The server's clock decides which messages entered before the start.
	t, err := c.rdb.Time(ctx).Result()
	if err != nil {
		return res, c.fail(ctx, err)
	}
	since := strconv.FormatInt(t.UnixMilli(), 10)
	for {
		allowed := redriveBatch
		if req.Rate > 0 {
			allowed = min(allowed, int(time.Since(start).Seconds()*float64(req.Rate))+1-res.Moved)
		}
		if req.Max > 0 {
			allowed = min(allowed, req.Max-res.Moved)
		}
		more := true
		if allowed > 0 {
			v, err := c.run(ctx, scriptRedrive, dlq, req.Destination, strconv.Itoa(allowed), since)
			if err != nil {
				return res, err
			}
			out := list(v)
			if len(out) != 3 {
				return res, malformed("redrive", v)
			}
			res.Moved += int(num(out[1]))
			more = num(out[2]) == 1
			switch str(out[0]) {
			case "ok":
			case "missing":
				return res, notFound(dlq)
			case "dest_missing":
				return res, notFound(req.Destination)
			case "no_source":
				return res, fmt.Errorf("a message of %q was not dead-lettered from another queue; name a destination: %w", dlq, driver.ErrInvalid)
			case "source_gone":
				return res, fmt.Errorf("the source queue of a message of %q no longer exists; name a destination: %w", dlq, driver.ErrNotFound)
			case "no_group":
				return res, fmt.Errorf("a message of %q has no group and its destination is a FIFO queue: %w", dlq, driver.ErrConflict)
			default:
				return res, malformed("redrive", v)
			}
		}
		if !more || (req.Max > 0 && res.Moved >= req.Max) {
			return res, nil
		}
		if req.Rate > 0 {
			next := start.Add(time.Duration(float64(res.Moved) / float64(req.Rate) * float64(time.Second)))
			timer := time.NewTimer(time.Until(next))
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return res, ctx.Err()
			case <-c.done:
				timer.Stop()
				return res, errConnClosed
			}
		}
	}
}

// Peek returns up to max messages of a queue, oldest first, in any state,
// without receiving them: an operator's view. It changes nothing.
func (c *Conn) Peek(ctx context.Context, queue string, max int) ([]driver.PeekedMessage, error) {
	if max < 1 || max > driver.MaxPeek {
		return nil, driver.Invalid("max", "%d is out of range; accepted is 1 to %d", max, driver.MaxPeek)
	}
	v, err := c.run(ctx, scriptPeek, queue, strconv.Itoa(max))
	if err != nil {
		return nil, err
	}
	res := list(v)
	if len(res) == 0 {
		return nil, malformed("peek", v)
	}
	if str(res[0]) == "missing" {
		return nil, notFound(queue)
	}
	if len(res) < 3 {
		return nil, malformed("peek", v)
	}
	now, n := num(res[1]), int(num(res[2]))
	if len(res) != 3+5*n {
		return nil, malformed("peek", v)
	}
	out := make([]driver.PeekedMessage, 0, n)
	for i := range n {
		f := res[3+5*i : 8+5*i]
		id := str(f[0])
		m, b, err := parseValue(str(f[2]), str(f[1]))
		if err != nil {
			return nil, fmt.Errorf("message %s: %w: %v", id, driver.ErrStorage, err)
		}
		d := delivery("", id, m, b)
		d.Receipt = ""
		pm := driver.PeekedMessage{Delivery: d, State: driver.StateVisible}
		if at := num(f[3]); at > now {
			pm.VisibleAt = fromMS(at)
			pm.State = driver.StateInFlight
			if str(f[4]) == "1" {
				pm.State = driver.StateDelayed
			}
		}
		if m.first == 0 {
			pm.FirstReceivedAt = time.Time{}
		}
		out = append(out, pm)
	}
	return out, nil
}
