package sns

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// HTTP delivery settings.
const (
	// pushWorkers is how many POSTs one HTTP subscription has in flight.
	pushWorkers = 2
	// postTimeout bounds one POST, as SNS's 15-second delivery timeout.
	postTimeout = 15 * time.Second
	// receiveWait is how long a worker's receive waits for a message.
	receiveWait = 20 * time.Second
	// confirmAttempts is how often a SubscriptionConfirmation is POSTed
	// before the service gives up (the subscription stays pending).
	confirmAttempts = 3
	// userAgent is SNS's User-Agent.
	userAgent = "Amazon Simple Notification Service Agent"
)

// pusher is the delivery of one confirmed HTTP/HTTPS subscription: its
// workers run until cancel; done closes when they have all returned.
type pusher struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startPusherLocked starts the workers of sub unless they run or the
// service is closed; s.mu is held.
func (s *Service) startPusherLocked(sub *subState) {
	if s.closed || s.pushers[sub.ID] != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	p := &pusher{cancel: cancel, done: make(chan struct{})}
	s.pushers[sub.ID] = p
	plan := effectiveDelivery(s.topicDeliveryPolicyLocked(sub.Topic), sub.Attrs["DeliveryPolicy"])
	limit := rate.Inf
	if plan.perSecond > 0 {
		limit = rate.Limit(plan.perSecond)
	}
	lim := rate.NewLimiter(limit, 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(p.done)
		var wg sync.WaitGroup
		for range pushWorkers {
			wg.Go(func() { s.pushLoop(ctx, sub.ID, sub.Topic, sub.Courier, lim) })
		}
		wg.Wait()
	}()
}

// topicDeliveryPolicyLocked returns the DeliveryPolicy of the cached
// topic, "" when it has none; s.mu is held.
func (s *Service) topicDeliveryPolicyLocked(topic string) string {
	if t := s.topics[topic]; t != nil {
		return t.Attrs["DeliveryPolicy"]
	}
	return ""
}

// stopPusher stops the workers of subscription id and waits for them.
func (s *Service) stopPusher(id string) {
	s.mu.Lock()
	p := s.pushers[id]
	delete(s.pushers, id)
	s.mu.Unlock()
	if p != nil {
		p.cancel()
		<-p.done
	}
}

// pushLoop receives the messages of an HTTP subscription's courier
// durable subscription and delivers them until ctx ends.
func (s *Service) pushLoop(ctx context.Context, id, topic, courierName string, lim *rate.Limiter) {
	cs := s.env.Broker.Topic(topic).Subscription(courierName)
	for ctx.Err() == nil {
		ds, err := cs.Receive(ctx, courier.Max(1), courier.Wait(receiveWait))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("sns http delivery: receive", "topic", topic, "subscription", id, "err", err)
			if errors.Is(err, courier.ErrNotFound) || errors.Is(err, courier.ErrClosed) {
				return // the topic or subscription went away under us
			}
			wait(ctx, time.Second)
			continue
		}
		for _, d := range ds {
			s.deliver(ctx, id, d, lim)
		}
	}
}

// wait waits for d or the end of ctx.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// deliver POSTs one message to subscription id's endpoint and settles it:
// acked on a 2xx answer; otherwise made visible again after the delivery
// policy's delay, or, when the policy's retries are used up, moved to the
// RedrivePolicy's dead-letter queue (or dropped and logged without one).
func (s *Service) deliver(ctx context.Context, id string, d *courier.Delivery, lim *rate.Limiter) {
	sub := s.sub(id)
	if sub == nil {
		return // unsubscribed; the courier subscription goes with it
	}
	env, body, ok := decodeEnvelope(d.Body)
	if !ok {
		s.log.Error("sns http delivery: not a topic message; dropped", "subscription", id, "msg_id", d.ID)
		_ = d.Ack(ctx)
		return
	}
	s.mu.RLock()
	topicPolicy := s.topicDeliveryPolicyLocked(sub.Topic)
	s.mu.RUnlock()
	plan := effectiveDelivery(topicPolicy, sub.Attrs["DeliveryPolicy"])
	h := http.Header{}
	h.Set("x-amz-sns-message-type", "Notification")
	h.Set("x-amz-sns-message-id", env.MessageID)
	h.Set("x-amz-sns-topic-arn", s.topicARN(sub.Topic))
	h.Set("x-amz-sns-subscription-arn", s.subARN(sub))
	h.Set("Content-Type", plan.contentType)
	var payload []byte
	if sub.raw() {
		h.Set("x-amz-sns-rawdelivery", "true")
		payload = rawBody(env.Headers, body, sub.Protocol)
	} else {
		payload = s.notification(sub, &env, body, sub.Protocol, sub.BaseURL)
	}
	if err := lim.Wait(ctx); err != nil {
		return // closing: the message is delivered again after its visibility timeout
	}
	err := s.post(ctx, sub.Endpoint, h, payload)
	if err == nil {
		if err := d.Ack(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sns http delivery: ack", "subscription", id, "msg_id", env.MessageID, "err", err)
		}
		return
	}
	if ctx.Err() != nil {
		return
	}
	if delay, ok := plan.retry.delay(d.ReceiveCount); ok {
		s.log.Debug("sns http delivery failed; retrying", "subscription", id, "msg_id", env.MessageID, "attempt", d.ReceiveCount, "delay", delay, "err", err)
		if err := d.Nack(ctx, delay); err != nil && ctx.Err() == nil {
			s.log.Warn("sns http delivery: nack", "subscription", id, "msg_id", env.MessageID, "err", err)
		}
		return
	}
	if dlq := s.deadLetterQueue(sub); dlq != "" {
		m := courier.Message{Body: body, Headers: env.Headers}
		if _, err := s.env.Broker.Queue(dlq).Send(ctx, m); err != nil {
			s.log.Error("sns http delivery: moving to the dead-letter queue failed; retrying later", "subscription", id, "msg_id", env.MessageID, "queue", dlq, "err", err)
			_ = d.Nack(ctx, time.Duration(plan.retry.MaxDelayTarget)*time.Second)
			return
		}
		s.log.Warn("sns http delivery failed; moved to the dead-letter queue", "subscription", id, "msg_id", env.MessageID, "queue", dlq, "attempts", d.ReceiveCount, "err", err)
	} else {
		s.log.Warn("sns http delivery failed; message dropped (no RedrivePolicy)", "subscription", id, "msg_id", env.MessageID, "attempts", d.ReceiveCount, "err", err)
	}
	_ = d.Ack(ctx)
}

// post POSTs payload to endpoint and returns nil for a 2xx answer.
func (s *Service) post(ctx context.Context, endpoint string, h http.Header, payload []byte) error {
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header = h
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errors.New("endpoint answered " + resp.Status)
	}
	return nil
}

// sendConfirmation POSTs the SubscriptionConfirmation of a pending
// subscription in the background, a few times until the endpoint answers
// 2xx.
func (s *Service) sendConfirmation(sub *subState) {
	arn := s.topicARN(sub.Topic)
	m := message{
		Type:      "SubscriptionConfirmation",
		MessageID: awsapi.NewRequestID(),
		Token:     sub.Token,
		TopicArn:  arn,
		Message: "You have chosen to subscribe to the topic " + arn +
			".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL:   sub.BaseURL + "/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(arn) + "&Token=" + sub.Token,
		Timestamp:      formatTime(time.Now()),
		SigningCertURL: sub.BaseURL + SigningCertPath,
	}
	payload := s.signAndEncode(&m, s.signatureVersion(sub.Topic))
	h := http.Header{}
	h.Set("x-amz-sns-message-type", m.Type)
	h.Set("x-amz-sns-message-id", m.MessageID)
	h.Set("x-amz-sns-topic-arn", arn)
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for attempt := 1; attempt <= confirmAttempts; attempt++ {
			err := s.post(s.ctx, sub.Endpoint, h.Clone(), payload)
			if err == nil || s.ctx.Err() != nil {
				return
			}
			s.log.Warn("sns: SubscriptionConfirmation not accepted", "endpoint", sub.Endpoint, "topic", sub.Topic, "attempt", attempt, "err", err)
			wait(s.ctx, time.Duration(attempt)*time.Second)
		}
	}()
}
