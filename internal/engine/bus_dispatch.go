package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
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
		d := &dispatcher{e: e, t: t, queue: deliveryQueueName(r.bus.name, r.name, t.spec.ID), ctx: ctx}
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
	if d.t.spec.Kind == driver.TargetHTTP || d.t.spec.Kind == driver.TargetBus {
		batch = 1
	}
	for d.ctx.Err() == nil {
		if d.limiter != nil && d.limiter.Wait(d.ctx) != nil {
			return
		}
		ds, err := d.e.Receive(d.ctx, d.queue, driver.ReceiveRequest{Max: batch, Wait: driver.MaxReceiveWait})
		switch {
		case d.ctx.Err() != nil || errors.Is(err, driver.ErrClosed) || errors.Is(err, driver.ErrNotFound):
			return
		case err != nil:
			d.e.logger.Error("bus: receive from a delivery queue failed", "queue", d.queue, "err", err)
			d.pause(time.Second)
			continue
		case len(ds) == 0:
			continue
		}
		errs := d.deliver(ds)
		if d.ctx.Err() != nil {
			return // stopping: the deliveries become visible again after their timeout
		}
		var acks []string
		for i, dl := range ds {
			if errs[i] == nil {
				d.t.delivered.Add(1)
				acks = append(acks, dl.Receipt)
				continue
			}
			d.e.settleFailure(context.WithoutCancel(d.ctx), d.t, d.queue, dl, errs[i])
		}
		if len(acks) > 0 {
			if _, err := d.e.Ack(context.WithoutCancel(d.ctx), d.queue, acks); err != nil {
				d.e.logger.Warn("bus: ack failed; the deliveries will be made again", "queue", d.queue, "err", err)
			}
		}
	}
}

// pause waits dur or until the dispatcher stops.
func (d *dispatcher) pause(dur time.Duration) {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
	case <-d.ctx.Done():
	}
}

// deliver makes the deliveries and returns one error per delivery.
func (d *dispatcher) deliver(ds []driver.Delivery) []error {
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
		msgs := make([]driver.Message, len(ds))
		for i, dl := range ds {
			// The delivery's ID as dedup ID: a delivery made again after a
			// crash is stored once.
			msgs[i] = driver.Message{Body: dl.Body, Headers: dl.Headers, Group: dl.Group, DedupID: dl.ID}
		}
		var res []driver.SendResult
		var err error
		if spec.Kind == driver.TargetQueue {
			res, err = d.e.Send(d.ctx, spec.Queue, msgs)
		} else {
			res, err = d.e.Publish(d.ctx, spec.Topic, msgs)
		}
		if err != nil {
			fill(classify(err))
			break
		}
		for i, r := range res {
			if r.Err != nil {
				errs[i] = classify(r.Err)
			}
		}
	case driver.TargetStream:
		recs := make([]driver.Record, len(ds))
		for i, dl := range ds {
			h := make(map[string]string, len(dl.Headers))
			for k, v := range dl.Headers {
				if k != headerPartitionKey {
					h[k] = v
				}
			}
			recs[i] = driver.Record{Key: []byte(dl.Headers[headerPartitionKey]), Value: dl.Body, Headers: h, Partition: driver.AnyPartition}
		}
		res, err := d.e.Append(d.ctx, spec.Stream, recs)
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
			errs[i] = d.forward(dl)
		}
	case driver.TargetHTTP:
		for i, dl := range ds {
			errs[i] = d.post(dl)
		}
	}
	return errs
}

// classify marks errors that retrying cannot cure as permanent.
func classify(err error) error {
	if errors.Is(err, driver.ErrInvalid) || errors.Is(err, driver.ErrTooLarge) {
		return &deliveryError{err: err, permanent: true}
	}
	return err
}

// forward puts an event on another bus.
func (d *dispatcher) forward(dl driver.Delivery) error {
	hops, _ := strconv.Atoi(dl.Headers[headerBusHops])
	if hops+1 > maxBusHops {
		return &deliveryError{err: fmt.Errorf("the event crossed %d buses; the limit is %d", hops, maxBusHops), permanent: true}
	}
	h := make(map[string]string, len(dl.Headers)+1)
	for k, v := range dl.Headers {
		h[k] = v
	}
	h[headerBusHops] = strconv.Itoa(hops + 1)
	ev, _, err := eventOf(dl.Body, h)
	if err != nil {
		return &deliveryError{err: err, permanent: true}
	}
	res, err := d.e.PutEvents(d.ctx, d.t.spec.Bus, []driver.Event{ev})
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
func (d *dispatcher) post(dl driver.Delivery) error {
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
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, spec.Endpoint, bytes.NewReader(body))
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
// saying why (or drop it, logged, without one).
func (e *Engine) settleFailure(ctx context.Context, t *target, queue string, dl driver.Delivery, failure error) {
	policy := t.spec.Retry
	var derr *deliveryError
	errors.As(failure, &derr)
	age := time.Since(dl.SentAt)
	reason := ""
	switch {
	case derr != nil && derr.permanent:
		reason = "permanent-failure"
	case dl.ReceiveCount >= policy.MaxAttempts:
		reason = "max-attempts"
	case age >= policy.MaxAge:
		reason = "max-age"
	}
	log := e.logger.With("bus", t.rule.bus.name, "rule", t.rule.name, "target", t.spec.ID, "delivery_id", dl.ID, "attempt", dl.ReceiveCount)
	if reason == "" {
		t.retried.Add(1)
		wait := backoff(policy.MinDelay, policy.MaxDelay, dl.ReceiveCount)
		if derr != nil && derr.retryAfter > wait {
			wait = min(derr.retryAfter, policy.MaxDelay)
		}
		log.Warn("bus: delivery failed; retrying", "err", failure, "retry_in", wait)
		if _, err := e.ChangeVisibility(ctx, queue, []string{dl.Receipt}, wait); err != nil {
			log.Warn("bus: nack failed; the delivery is retried after its visibility timeout", "err", err)
		}
		return
	}
	t.failed.Add(1)
	if t.spec.DeadLetterQueue != "" {
		headers := t.dlqHeaders(reason, failure.Error(), dl.ReceiveCount, "")
		for k, v := range dl.Headers {
			if _, ours := headers[k]; !ours && k != headerPartitionKey {
				headers[k] = v
			}
		}
		res, err := e.Send(ctx, t.spec.DeadLetterQueue, []driver.Message{{Body: dl.Body, Headers: headers, DedupID: dl.ID}})
		if err == nil {
			err = res[0].Err
		}
		switch {
		case err == nil:
			t.deadLettered.Add(1)
			log.Error("bus: delivery failed; moved to the dead-letter queue", "reason", reason, "err", failure, "dead_letter_queue", t.spec.DeadLetterQueue)
		case errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrInvalid) || errors.Is(err, driver.ErrTooLarge):
			log.Error("bus: delivery failed and the dead-letter queue refused it; dropped", "reason", reason, "err", failure, "dlq_err", err)
		default:
			log.Error("bus: moving to the dead-letter queue failed; the delivery will be tried again", "err", err)
			return
		}
	} else {
		log.Error("bus: delivery failed; dropped (the target has no dead-letter queue)", "reason", reason, "err", failure)
	}
	if _, err := e.Ack(ctx, queue, []string{dl.Receipt}); err != nil {
		log.Warn("bus: settling a failed delivery failed", "err", err)
	}
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
		return t, deliveryQueueName(busName, ruleName, id), nil
	}
	return nil, "", fmt.Errorf("rule %q has no target %q: %w", ruleName, id, driver.ErrNotFound)
}

// ReceiveTarget reads the deliveries waiting for a handler target.
func (e *Engine) ReceiveTarget(ctx context.Context, busName, ruleName, id string, req driver.ReceiveRequest) ([]driver.Delivery, error) {
	_, queue, err := e.handlerTarget(busName, ruleName, id)
	if err != nil {
		return nil, err
	}
	return e.Receive(ctx, queue, req)
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
	e.settleFailure(ctx, t, queue, *dl, errors.New(failure))
	return nil
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
	pd := pending{seq: m.seq, p: m.pos, size: m.size, d: driver.Delivery{
		ID: e.messageID(m.seq), Receipt: rc, ReceiveCount: int(m.receives),
		SentAt: time.Unix(0, m.sentAt), FirstReceivedAt: time.Unix(0, m.firstRecv),
	}}
	if e.bodies != nil {
		b := e.bodies[m.seq]
		pd.typ, pd.payload = b.typ, b.payload
	}
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
