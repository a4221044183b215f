package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/courier-io/courier/cloudevent"
	"github.com/courier-io/courier/driver"
)

// maxBusHops bounds how many buses an event crosses through bus targets,
// so that rules that target each other's buses cannot loop forever.
const maxBusHops = 5

// startRule starts the dispatchers of r's targets and, for an enabled
// schedule rule, its schedule; the caller holds e.mu. Dispatchers drain
// the delivery queues into the targets; handler targets have none (their
// handlers pull with ReceiveTarget).
func (e *Engine) startRule(r *rule) {
	if e.closed || !e.started {
		return
	}
	if r.stop != nil {
		r.stop()
	}
	ctx, cancel := context.WithCancel(e.ctx)
	r.stop = cancel
	for _, t := range r.targets {
		if t.spec.Kind == driver.TargetHandler {
			continue
		}
		d := &dispatcher{e: e, t: t, queue: e.queueName(t), ctx: ctx}
		workers := 1
		if t.spec.Kind == driver.TargetHTTP {
			d.client = &http.Client{
				Transport:     e.pushTransport(),
				Timeout:       t.spec.HTTP.Timeout,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}
			if n := t.spec.HTTP.MaxPerSecond; n > 0 {
				d.limiter = rate.NewLimiter(rate.Limit(n), 1)
			}
			workers = 4
		}
		for range workers {
			e.wg.Go(d.run)
		}
	}
	if r.sched != nil && r.spec.State == driver.RuleEnabled {
		e.wg.Go(func() { e.runSchedule(ctx, r) })
	}
}

// dispatcher delivers one target: it receives from the target's delivery
// queue, delivers, and settles each delivery by the retry policy. A target
// that is down only grows its own delivery queue (bounded by MaxBacklog):
// PutEvents and other targets never wait for it.
type dispatcher struct {
	e       *Engine
	t       *target
	queue   string
	ctx     context.Context
	client  *http.Client  // http targets
	limiter *rate.Limiter // http targets with MaxPerSecond; nil: unlimited
}

// deliveryError is a failed delivery: permanent ones are not retried, and
// retryAfter (from a Retry-After header) lengthens the backoff.
type deliveryError struct {
	err        error
	permanent  bool
	retryAfter time.Duration
}

func (d *deliveryError) Error() string { return d.err.Error() }
func (d *deliveryError) Unwrap() error { return d.err }

func (d *dispatcher) run() {
	batch := 10
	visibility := time.Minute
	if d.t.spec.Kind == driver.TargetHTTP || d.t.spec.Kind == driver.TargetBus {
		batch = 1
	}
	if d.t.spec.HTTP != nil {
		visibility += d.t.spec.HTTP.Timeout
	}
	// A batch in progress finishes even when the rule changes meanwhile
	// (its dispatcher is replaced), so that what was delivered is also
	// acked; only the engine's close interrupts it.
	work := d.e.ctx
	for d.ctx.Err() == nil {
		if d.limiter != nil && d.limiter.Wait(d.ctx) != nil {
			return
		}
		// The visibility is well inside the dedup window, so a delivery
		// made again after a crash is deduplicated by queue and topic
		// targets.
		ds, err := d.e.Receive(d.ctx, d.queue, driver.ReceiveRequest{Max: batch, Wait: driver.MaxReceiveWait, Visibility: visibility})
		switch {
		case d.ctx.Err() != nil || errors.Is(err, driver.ErrClosed) || errors.Is(err, driver.ErrNotFound):
			return
		case err != nil:
			d.e.logger.Error("bus: receive from a delivery queue failed", "queue", d.queue, "err", err)
			pause(d.ctx, time.Second)
			continue
		case len(ds) == 0:
			continue
		}
		ds = d.e.expire(work, d.t, d.queue, ds)
		if len(ds) == 0 {
			continue
		}
		errs := d.deliver(work, ds)
		if work.Err() != nil {
			return // closing: the deliveries become visible again after their timeout
		}
		var acks []string
		for i, dl := range ds {
			if errs[i] == nil {
				d.t.delivered.Add(1)
				acks = append(acks, dl.Receipt)
				continue
			}
			if err := d.e.settleFailure(work, d.t, d.queue, dl, errs[i]); err != nil {
				d.e.logger.Warn("bus: settling a failed delivery failed; it is retried after its visibility timeout", "queue", d.queue, "err", err)
			}
		}
		if len(acks) > 0 {
			if _, err := d.e.Ack(work, d.queue, acks); err != nil {
				d.e.logger.Warn("bus: ack failed; the deliveries will be made again", "queue", d.queue, "err", err)
			}
		}
	}
}

// expire dead-letters the deliveries older than t's MaxAge without trying
// them and returns the others.
func (e *Engine) expire(ctx context.Context, t *target, queue string, ds []driver.Delivery) []driver.Delivery {
	live := ds[:0]
	for _, dl := range ds {
		if time.Since(dl.SentAt) < t.spec.Retry.MaxAge {
			live = append(live, dl)
			continue
		}
		err := fmt.Errorf("the event was accepted %v ago; the target's max_age is %v", time.Since(dl.SentAt).Round(time.Second), t.spec.Retry.MaxAge)
		if err := e.settleFailure(ctx, t, queue, dl, err); err != nil {
			e.logger.Warn("bus: settling an expired delivery failed", "queue", queue, "err", err)
		}
	}
	return live
}

// deliver makes the deliveries and returns one error per delivery. A
// batch refused as a whole for one bad delivery is delivered again one by
// one, so only the bad one fails.
func (d *dispatcher) deliver(ctx context.Context, ds []driver.Delivery) []error {
	errs := d.deliverBatch(ctx, ds)
	if len(ds) > 1 && errs[0] != nil && isPermanent(errs[0]) {
		for i := range ds {
			errs[i] = d.deliverBatch(ctx, ds[i:i+1])[0]
		}
	}
	return errs
}

// isPermanent reports whether a delivery error is marked permanent.
func isPermanent(err error) bool {
	var derr *deliveryError
	return errors.As(err, &derr) && derr.permanent
}

// fifoGroup makes a FIFO group of an event's source: the source itself
// when it is a valid group, else a hash of it.
func fifoGroup(source string) string {
	valid := source != "" && len(source) <= driver.MaxGroupLen
	for i := 0; valid && i < len(source); i++ {
		valid = source[i] >= 0x21 && source[i] <= 0x7e
	}
	if valid {
		return source
	}
	sum := sha256.Sum256([]byte(source))
	return hex.EncodeToString(sum[:16])
}

// streamKey makes a record key of a partition key: itself, or a hash of
// it when it is too long.
func streamKey(key string) []byte {
	if len(key) <= driver.MaxKeyLen {
		return []byte(key)
	}
	sum := sha256.Sum256([]byte(key))
	return []byte(hex.EncodeToString(sum[:]))
}

// deliverBatch makes the deliveries with one call where the target takes
// batches; batch-level errors apply to every delivery.
func (d *dispatcher) deliverBatch(ctx context.Context, ds []driver.Delivery) []error {
	errs := make([]error, len(ds))
	spec := &d.t.spec
	fill := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	switch spec.Kind {
	case driver.TargetQueue, driver.TargetTopic:
		return d.sendToTarget(ctx, ds, d.targetIsFIFO())
	case driver.TargetStream:
		recs := make([]driver.Record, len(ds))
		for i, dl := range ds {
			h := make(map[string]string, len(dl.Headers))
			for k, v := range dl.Headers {
				if k != headerPartitionKey {
					h[k] = v
				}
			}
			recs[i] = driver.Record{Key: streamKey(dl.Headers[headerPartitionKey]), Value: dl.Body, Headers: h, Partition: driver.AnyPartition}
		}
		res, err := d.e.Append(ctx, spec.Stream, recs)
		if err != nil {
			fill(classify(err))
			break
		}
		for i, r := range res {
			if r.Err != nil {
				errs[i] = classify(r.Err)
			}
		}
	case driver.TargetBus:
		for i, dl := range ds {
			errs[i] = d.forward(ctx, dl)
		}
	case driver.TargetHTTP:
		for i, dl := range ds {
			errs[i] = d.post(ctx, dl)
		}
	}
	return errs
}

// sendToTarget sends the deliveries to d's queue or topic target as
// messages built for a FIFO target or not, as fifo says, and returns one
// error per delivery. If the target was created or replaced meanwhile
// (fifo no longer holds), the messages were built for the wrong kind:
// what the send refused is then retried, not dead-lettered.
func (d *dispatcher) sendToTarget(ctx context.Context, ds []driver.Delivery, fifo bool) []error {
	spec := &d.t.spec
	msgs := make([]driver.Message, len(ds))
	for i, dl := range ds {
		// The delivery's ID as dedup ID: a delivery made again after a
		// crash is stored once. FIFO targets group by the event's source.
		msgs[i] = driver.Message{Body: dl.Body, Headers: dl.Headers, DedupID: dl.ID}
		if fifo {
			msgs[i].Group = fifoGroup(dl.Group)
		}
	}
	var res []driver.SendResult
	var err error
	if spec.Kind == driver.TargetQueue {
		res, err = d.e.Send(ctx, spec.Queue, msgs)
	} else {
		res, err = d.e.Publish(ctx, spec.Topic, msgs)
	}
	// Only a refused send looks the target up again, once: the common case
	// takes the engine's lock once.
	kindChanged := sync.OnceValue(func() bool { return fifo != d.targetIsFIFO() })
	judge := func(err error) error {
		if kindChanged() {
			return err
		}
		return classify(err)
	}
	errs := make([]error, len(ds))
	if err != nil {
		err = judge(err)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, r := range res {
		if r.Err != nil {
			errs[i] = judge(r.Err)
		}
	}
	return errs
}

// targetIsFIFO reports whether the queue or topic d delivers to exists and
// is FIFO.
func (d *dispatcher) targetIsFIFO() bool {
	d.e.mu.Lock()
	defer d.e.mu.Unlock()
	if d.t.spec.Kind == driver.TargetQueue {
		q := d.e.queues[d.t.spec.Queue]
		return q != nil && q.fifo()
	}
	tp := d.e.topics[d.t.spec.Topic]
	return tp != nil && tp.attrs.FIFO
}

// classify marks errors that retrying cannot cure as permanent.
func classify(err error) error {
	if errors.Is(err, driver.ErrInvalid) || errors.Is(err, driver.ErrTooLarge) {
		return &deliveryError{err: err, permanent: true}
	}
	return err
}

// forward puts an event on another bus.
func (d *dispatcher) forward(ctx context.Context, dl driver.Delivery) error {
	hops, err := strconv.Atoi(dl.Headers[headerBusHops])
	if dl.Headers[headerBusHops] == "" {
		hops, err = 0, nil
	}
	if err != nil || hops < 0 || hops+1 >= maxBusHops {
		return &deliveryError{err: fmt.Errorf("the event crossed %s buses already; an event crosses at most %d", dl.Headers[headerBusHops], maxBusHops), permanent: true}
	}
	h := make(map[string]string, len(dl.Headers))
	for k, v := range dl.Headers {
		if !strings.HasPrefix(k, driver.ReservedHeaderPrefix) {
			h[k] = v
		}
	}
	ev, _, err := eventOf(dl.Body, h)
	if err != nil {
		return &deliveryError{err: err, permanent: true}
	}
	res, err := d.e.putEvents(ctx, d.t.spec.Bus, []driver.Event{ev}, putOptions{hops: hops + 1})
	if err != nil {
		return classify(err)
	}
	if res[0].Err != nil {
		return classify(res[0].Err)
	}
	return nil
}

// post sends a delivery to an HTTP target: 2xx is success; 408, 429 and
// 5xx are retried (after Retry-After when the endpoint sends one); other
// statuses are permanent failures, as EventBridge treats them.
func (d *dispatcher) post(ctx context.Context, dl driver.Delivery) error {
	spec := d.t.spec.HTTP
	body, header := dl.Body, http.Header{}
	switch {
	case d.t.spec.CloudEvents && spec.CloudEventsMode == driver.CloudEventsBinary:
		// The delivery holds the structured form; binary mode moves the
		// attributes to ce-* headers and sends the data alone.
		evs, err := cloudevent.ParseHTTP(http.Header{"Content-Type": {cloudevent.MediaType}}, dl.Body)
		if err != nil {
			return &deliveryError{err: fmt.Errorf("rendering the CloudEvent: %w", err), permanent: true}
		}
		body = evs[0].WriteBinary(header)
	case d.t.spec.CloudEvents:
		header.Set("Content-Type", cloudevent.MediaType+"; charset=utf-8")
	case json.Valid(dl.Body):
		header.Set("Content-Type", "application/json; charset=utf-8")
	default:
		header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.Endpoint, bytes.NewReader(body))
	if err != nil {
		return &deliveryError{err: err, permanent: true}
	}
	req.Header = header
	req.Header.Set("User-Agent", "courier-bus/1")
	for k, v := range spec.Headers {
		req.Header.Set(k, v)
	}
	if spec.AuthHeader != "" {
		req.Header.Set(spec.AuthHeader, spec.AuthValue)
	}
	req.Header.Set("X-Courier-Bus", d.t.rule.bus.name)
	req.Header.Set("X-Courier-Rule", d.t.rule.name)
	req.Header.Set("X-Courier-Target", d.t.spec.ID)
	req.Header.Set("X-Courier-Delivery-Id", dl.ID)
	req.Header.Set("X-Courier-Attempt", strconv.Itoa(dl.ReceiveCount))
	for _, k := range []string{"traceparent", "tracestate", "baggage"} {
		if v := dl.Headers[k]; v != "" && validHeaderValue(v) {
			req.Header.Set(k, v)
		}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	derr := &deliveryError{err: fmt.Errorf("endpoint answered %s", resp.Status)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			derr.retryAfter = time.Duration(s) * time.Second
		} else if at, err := http.ParseTime(resp.Header.Get("Retry-After")); err == nil {
			derr.retryAfter = time.Until(at)
		}
	default:
		derr.permanent = true
	}
	return derr
}

// settleFailure applies t's retry policy to a failed delivery: retry after
// a full-jitter backoff, or — once attempts or age are used up, or the
// failure is permanent — move it to the dead-letter queue with headers
// saying why (or drop it, logged, without one). An error means the
// delivery is left as it is: it comes back after its visibility timeout.
func (e *Engine) settleFailure(ctx context.Context, t *target, queue string, dl driver.Delivery, failure error) error {
	policy := t.spec.Retry
	age := time.Since(dl.SentAt)
	reason := ""
	switch {
	case isPermanent(failure):
		reason = "permanent-failure"
	case age >= policy.MaxAge:
		reason = "max-age"
	case dl.ReceiveCount >= policy.MaxAttempts:
		reason = "max-attempts"
	}
	log := e.logger.With("bus", t.rule.bus.name, "rule", t.rule.name, "target", t.spec.ID, "delivery_id", dl.ID, "attempt", dl.ReceiveCount)
	if reason == "" {
		t.retried.Add(1)
		wait := backoff(policy.MinDelay, policy.MaxDelay, dl.ReceiveCount)
		var derr *deliveryError
		if errors.As(failure, &derr) && derr.retryAfter > wait {
			wait = min(derr.retryAfter, policy.MaxDelay)
		}
		log.Warn("bus: delivery failed; retrying", "err", failure, "retry_in", wait)
		errs, err := e.ChangeVisibility(ctx, queue, []string{dl.Receipt}, wait)
		if err == nil {
			err = errs[0]
		}
		return err
	}
	t.failed.Add(1)
	if dlq := t.spec.DeadLetterQueue; dlq != "" {
		headers := t.dlqHeaders(reason, failure.Error(), dl.ReceiveCount, "")
		for k, v := range dl.Headers {
			if len(headers) == driver.MaxHeaders {
				break // the reason headers first; user headers as far as they fit
			}
			if _, ours := headers[k]; !ours && k != headerPartitionKey {
				headers[k] = v
			}
		}
		e.mu.Lock()
		q := e.queues[dlq]
		fifo := q != nil && q.fifo()
		e.mu.Unlock()
		var err error
		if fifo {
			err = driver.Invalid("dlq", "queue %q is a FIFO queue now; a target's dead-letter queue must be a standard queue", dlq)
		} else {
			var res []driver.SendResult
			res, err = e.Send(ctx, dlq, []driver.Message{{Body: dl.Body, Headers: headers, DedupID: dl.ID}})
			if err == nil {
				err = res[0].Err
			}
		}
		switch {
		case err == nil:
			t.deadLettered.Add(1)
			log.Error("bus: delivery failed; moved to the dead-letter queue", "reason", reason, "err", failure, "dead_letter_queue", dlq)
		case errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrInvalid) || errors.Is(err, driver.ErrTooLarge):
			log.Error("bus: delivery failed and the dead-letter queue refused it; dropped", "reason", reason, "err", failure, "dlq_err", err)
		default:
			log.Error("bus: moving to the dead-letter queue failed; the delivery will be tried again", "err", err)
			return err
		}
	} else {
		log.Error("bus: delivery failed; dropped (the target has no dead-letter queue)", "reason", reason, "err", failure)
	}
	errs, err := e.Ack(ctx, queue, []string{dl.Receipt})
	if err == nil {
		err = errs[0]
	}
	return err
}

// handlerTarget finds a handler target.
func (e *Engine) handlerTarget(busName, ruleName, id string) (*target, string, error) {
	r, err := e.lockRule(busName, ruleName, false)
	if err != nil {
		return nil, "", err
	}
	defer e.mu.Unlock()
	for _, t := range r.targets {
		if t.spec.ID != id {
			continue
		}
		if t.spec.Kind != driver.TargetHandler {
			return nil, "", driver.Invalid("target", "target %q of rule %q is a %s target; only handler targets are read directly", id, ruleName, t.spec.Kind)
		}
		return t, e.queueName(t), nil
	}
	return nil, "", fmt.Errorf("rule %q has no target %q: %w", ruleName, id, driver.ErrNotFound)
}

// ReceiveTarget reads the deliveries waiting for a handler target.
func (e *Engine) ReceiveTarget(ctx context.Context, busName, ruleName, id string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	t, queue, err := e.handlerTarget(busName, ruleName, id)
	if err != nil {
		return nil, err
	}
	ds, err := e.Receive(ctx, queue, req)
	if err != nil {
		return nil, err
	}
	return e.expire(ctx, t, queue, ds), nil
}

// SettleTarget acks a handler target's delivery, or applies the target's
// retry policy to it when failure is set.
func (e *Engine) SettleTarget(ctx context.Context, busName, ruleName, id, receipt, failure string) error {
	if err := driver.ValidateReceipts([]string{receipt}); err != nil {
		return err
	}
	t, queue, err := e.handlerTarget(busName, ruleName, id)
	if err != nil {
		return err
	}
	if failure == "" {
		if gone, err := e.settled(queue, receipt); err != nil || gone {
			return err // acked before: not counted again
		}
		errs, err := e.Ack(ctx, queue, []string{receipt})
		if err != nil {
			return err
		}
		if errs[0] == nil {
			t.delivered.Add(1)
		}
		return errs[0]
	}
	dl, err := e.peek(queue, receipt)
	if err != nil || dl == nil {
		return err
	}
	return e.settleFailure(ctx, t, queue, *dl, errors.New(failure))
}

// settled reports whether the message of a valid receipt is gone
// (acked before).
func (e *Engine) settled(queue, rc string) (bool, error) {
	q, err := e.lockQueue(queue, false)
	if err != nil {
		return false, err
	}
	defer e.mu.Unlock()
	msgs, errs := e.resolve(q, []string{rc})
	return errs[0] == nil && msgs[0] == nil, errs[0]
}

// peek returns the in-flight delivery of receipt with its body, or nil
// when the message is gone.
func (e *Engine) peek(queue, rc string) (*driver.Delivery, error) {
	q, err := e.lockQueue(queue, false)
	if err != nil {
		return nil, err
	}
	msgs, errs := e.resolve(q, []string{rc})
	if errs[0] != nil || msgs[0] == nil {
		e.mu.Unlock()
		return nil, errs[0]
	}
	m := msgs[0]
	pd := e.pendingOf(m, rc)
	e.mu.Unlock()
	out, err := e.read([]pending{pd})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return &out[0], nil
}

// runSchedule emits a schedule rule's events on time until ctx ends.
func (e *Engine) runSchedule(ctx context.Context, r *rule) {
	sched := r.sched.Anchor(time.Unix(0, r.created))
	for {
		next := sched.Next(time.Now())
		if next.IsZero() {
			return
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		ev := driver.Event{
			Source: "courier.events", DetailType: "Scheduled Event", Detail: json.RawMessage("{}"),
			Resources: []string{"bus/" + r.bus.name + "/rule/" + r.name}, Time: next,
		}
		if _, err := e.putEvents(ctx, r.bus.name, []driver.Event{ev}, putOptions{schedule: r}); err != nil && ctx.Err() == nil {
			e.logger.Error("bus: schedule rule could not emit its event", "bus", r.bus.name, "rule", r.name, "err", err)
		}
	}
}
