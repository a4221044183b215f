package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/time/rate"

	"github.com/courier-io/courier/driver"
)

// pusher delivers an HTTP subscription: Concurrency workers receive from the
// queue the subscription owns and POST each message to the endpoint. A
// failed POST makes the message visible again after a full-jitter backoff;
// after MaxAttempts it moves to the dead-letter queue (the owned queue's
// MaxReceives), or is dropped and logged without one. A slow endpoint
// therefore only grows its own durable backlog: publishing and the other
// subscriptions never wait for it.
type pusher struct {
	e          *Engine
	sub        *subscription
	spec       driver.Subscription
	queue      string
	token      string
	confirmURL string
	client     *http.Client
	limiter    *rate.Limiter // nil: unlimited

	ctx       context.Context
	cancel    context.CancelFunc
	confirmed chan struct{}
}

// startPusher starts (or restarts, after a policy change) the pusher of an
// HTTP subscription; the caller holds e.mu.
func (e *Engine) startPusher(s *subscription, confirmURL string) {
	if s.pusher != nil {
		s.pusher.stop()
	}
	p := &pusher{
		e: e, sub: s, spec: s.spec, token: s.token, confirmURL: confirmURL,
		queue: ownedQueueName(s.topic.name, s.name),
		client: &http.Client{
			Transport:     e.pushTransport(),
			Timeout:       s.spec.Push.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		confirmed: make(chan struct{}),
	}
	if n := s.spec.Push.MaxPerSecond; n > 0 {
		p.limiter = rate.NewLimiter(rate.Limit(n), 1)
	}
	p.ctx, p.cancel = context.WithCancel(e.ctx)
	if s.active {
		close(p.confirmed)
	}
	s.pusher = p
	e.wg.Go(p.run)
}

// pushTransport returns the HTTP transport every pusher of the engine
// shares; the caller holds e.mu. Close releases its idle connections.
func (e *Engine) pushTransport() *http.Transport {
	if e.transport == nil {
		e.transport = http.DefaultTransport.(*http.Transport).Clone()
		e.transport.MaxIdleConnsPerHost = 16
	}
	return e.transport
}

// stop ends the pusher's goroutines; it does not wait for them (the engine
// does, on Close).
func (p *pusher) stop() { p.cancel() }

// confirm lets a pending pusher start delivering; the caller holds e.mu.
func (p *pusher) confirm() {
	select {
	case <-p.confirmed:
	default:
		close(p.confirmed)
	}
}

func (p *pusher) run() {
	select {
	case <-p.confirmed:
	default:
		p.sendConfirmation()
		select {
		case <-p.confirmed:
		case <-p.ctx.Done():
			return
		}
	}
	for range p.spec.Push.Concurrency - 1 {
		p.e.wg.Go(p.work)
	}
	p.work()
}

// work receives and delivers one message at a time until the pusher stops.
func (p *pusher) work() {
	for p.ctx.Err() == nil {
		if p.limiter != nil && p.limiter.Wait(p.ctx) != nil {
			return
		}
		ds, err := p.e.Receive(p.ctx, p.queue, driver.ReceiveRequest{Max: 1, Wait: driver.MaxReceiveWait})
		switch {
		case p.ctx.Err() != nil || errors.Is(err, driver.ErrClosed) || errors.Is(err, driver.ErrNotFound):
			return
		case err != nil:
			p.e.logger.Error("push: receive failed", "topic", p.sub.topic.name, "subscription", p.sub.name, "err", err)
			pause(p.ctx, time.Second)
			continue
		}
		for _, d := range ds {
			p.deliver(d)
		}
	}
}

// pause waits d or until ctx ends: the backoff of pushers and bus
// dispatchers.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// deliver POSTs one message and settles it.
func (p *pusher) deliver(d driver.Delivery) {
	err := p.post(d)
	if p.ctx.Err() != nil {
		return // stopping: the message becomes visible again after its timeout
	}
	settle := context.WithoutCancel(p.ctx)
	if err == nil {
		p.sub.delivered.Add(1)
		if _, err := p.e.Ack(settle, p.queue, []string{d.Receipt}); err != nil {
			p.e.logger.Warn("push: ack failed; the message will be delivered again", "subscription", p.sub.name, "err", err)
		}
		return
	}
	p.sub.pushFailures.Add(1)
	log := p.e.logger.With("topic", p.sub.topic.name, "subscription", p.sub.name, "endpoint", p.spec.Endpoint, "msg_id", d.ID, "attempt", d.ReceiveCount)
	var retryIn time.Duration
	switch {
	case d.ReceiveCount < p.spec.Push.MaxAttempts:
		retryIn = backoff(p.spec.Push.MinDelay, p.spec.Push.MaxDelay, d.ReceiveCount)
		log.Warn("push failed; retrying", "err", err, "retry_in", retryIn)
	case p.spec.Push.DeadLetterQueue != "":
		// Visible at once: the next receive moves it to the dead-letter queue.
		p.sub.deadLettered.Add(1)
		log.Error("push failed on the last attempt; moving to the dead-letter queue", "err", err, "dead_letter_queue", p.spec.Push.DeadLetterQueue)
	default:
		log.Error("push failed on the last attempt; message dropped (the subscription has no dead-letter queue)", "err", err)
		if _, err := p.e.Ack(settle, p.queue, []string{d.Receipt}); err != nil {
			log.Warn("push: dropping failed", "err", err)
		}
		return
	}
	if _, err := p.e.ChangeVisibility(settle, p.queue, []string{d.Receipt}, retryIn); err != nil {
		log.Warn("push: nack failed; the message is retried after its visibility timeout", "err", err)
	}
}

// backoff is the full-jitter wait before retry number attempt (1-based):
// uniform in [0, min(max, min*2^(attempt-1))], at least a millisecond.
func backoff(minDelay, maxDelay time.Duration, attempt int) time.Duration {
	ceiling := minDelay
	for i := 1; i < attempt && ceiling < maxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, maxDelay)
	return max(time.Duration(rand.Int64N(int64(ceiling)+1)), time.Millisecond)
}

// Message types of pushed requests (header X-Courier-Message-Type).
const (
	pushNotification = "Notification"
	pushConfirmation = "SubscriptionConfirmation"
)

// post sends one delivery; any status but 2xx is a failure.
func (p *pusher) post(d driver.Delivery) error {
	contentType := "application/json"
	if p.spec.Raw {
		contentType = "application/octet-stream"
		if ct := d.Headers["content-type"]; ct != "" {
			contentType = ct
		}
	}
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("X-Courier-Message-Type", pushNotification)
	h.Set("X-Courier-Message-Id", d.ID)
	h.Set("X-Courier-Topic", p.sub.topic.name)
	h.Set("X-Courier-Subscription", p.sub.name)
	h.Set("X-Courier-Attempt", fmt.Sprint(d.ReceiveCount))
	for k, v := range d.Headers {
		switch k {
		case "traceparent", "tracestate", "baggage":
			h.Set(k, v)
		default:
			if validHeaderName(k) && validHeaderValue(v) {
				h.Set("X-Courier-Header-"+k, v)
			}
		}
	}
	return p.send(h, d.Body)
}

// Confirmation is the body POSTed to an HTTP subscription's endpoint when
// it is created: the owner confirms by calling ConfirmSubscription with
// the token, or by visiting SubscribeURL when the server set one.
type Confirmation struct {
	Type         string `json:"type"` // "SubscriptionConfirmation"
	Topic        string `json:"topic"`
	Subscription string `json:"subscription"`
	Token        string `json:"token"`
	SubscribeURL string `json:"subscribe_url,omitempty"`
	Message      string `json:"message"`
}

// sendConfirmation POSTs the confirmation request, retrying like a
// message, until the endpoint answers 2xx or the attempts are used up.
func (p *pusher) sendConfirmation() {
	c := Confirmation{Type: pushConfirmation, Topic: p.sub.topic.name, Subscription: p.sub.name, Token: p.token}
	if p.confirmURL != "" {
		c.SubscribeURL = p.confirmURL + "?token=" + url.QueryEscape(p.token)
	}
	c.Message = fmt.Sprintf("You are invited to receive the messages of topic %q as subscription %q. To confirm, call ConfirmSubscription with the token", c.Topic, c.Subscription)
	if c.SubscribeURL != "" {
		c.Message += " or visit the subscribe_url"
	}
	c.Message += "."
	body, _ := json.Marshal(c) // strings only
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Courier-Message-Type", pushConfirmation)
	h.Set("X-Courier-Topic", c.Topic)
	h.Set("X-Courier-Subscription", c.Subscription)
	for attempt := 1; attempt <= p.spec.Push.MaxAttempts && p.ctx.Err() == nil; attempt++ {
		err := p.send(h, body)
		if err == nil {
			return
		}
		if p.ctx.Err() != nil {
			return
		}
		p.e.logger.Warn("push: confirmation request failed", "topic", c.Topic, "subscription", c.Subscription, "endpoint", p.spec.Endpoint, "attempt", attempt, "err", err)
		if attempt < p.spec.Push.MaxAttempts {
			pause(p.ctx, backoff(p.spec.Push.MinDelay, p.spec.Push.MaxDelay, attempt))
		}
	}
}

// send POSTs body with headers h to the endpoint.
func (p *pusher) send(h http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.spec.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h
	req.Header.Set("User-Agent", "courier-push/1")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return nil
}

// validHeaderName reports whether k is an HTTP token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~') {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be sent as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
