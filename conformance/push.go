package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// pushed is one request an HTTP subscription made.
type pushed struct {
	kind    string // X-Courier-Message-Type
	attempt string
	header  http.Header
	body    []byte
}

// endpoint is an httptest server standing in for a subscriber's endpoint.
// answer decides the status of each notification (confirmations get 200).
type endpoint struct {
	url    string
	got    chan pushed
	mu     sync.Mutex
	answer func(n int) int
	n      int
}

func newEndpoint(t *testing.T, answer func(n int) int) *endpoint {
	t.Helper()
	ep := &endpoint{got: make(chan pushed, 1000), answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p := pushed{kind: r.Header.Get("X-Courier-Message-Type"), attempt: r.Header.Get("X-Courier-Attempt"), header: r.Header.Clone(), body: body}
		status := http.StatusOK
		if p.kind != "SubscriptionConfirmation" { // notifications, and bus targets' requests

			ep.mu.Lock()
			ep.n++
			status = ep.answer(ep.n)
			ep.mu.Unlock()
		}
		w.WriteHeader(status)
		ep.got <- p
	}))
	t.Cleanup(srv.Close)
	ep.url = srv.URL + "/hook"
	return ep
}

// next returns the next request the endpoint received.
func (ep *endpoint) next(t *testing.T) pushed {
	t.Helper()
	select {
	case p := <-ep.got:
		return p
	case <-ctx(t).Done():
		t.Fatal("the endpoint received nothing")
		return pushed{}
	}
}

// confirm completes the subscription handshake: it reads the confirmation
// request and confirms with its token.
func (ep *endpoint) confirm(t *testing.T, tp *courier.Topic, sub string) {
	t.Helper()
	p := ep.next(t)
	if p.kind != "SubscriptionConfirmation" {
		t.Fatalf("first request is %q; want SubscriptionConfirmation", p.kind)
	}
	var c struct {
		Type, Topic, Subscription, Token string
	}
	if err := json.Unmarshal(p.body, &c); err != nil || c.Token == "" || c.Topic != tp.Name() || c.Subscription != sub {
		t.Fatalf("confirmation body %s (%v)", p.body, err)
	}
	check(t, tp.ConfirmSubscription(ctx(t), sub, c.Token))
}

var fastRetry = courier.PushPolicy{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxAttempts: 3, Concurrency: 2}

var pushCases = []testCase{
	{name: "PushConfirmationThenDelivery", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		need(t, b, "Push", b.Capabilities().Push)
		ep := newEndpoint(t, func(int) int { return http.StatusNoContent })
		tp := createTopic(t, b, "orders")
		info := must(tp.SubscribeHTTP(ctx(t), "web", ep.url, courier.Push(fastRetry)))(t)
		if info.Status != "pending_confirmation" {
			t.Fatalf("status = %q; want pending_confirmation", info.Status)
		}
		// Published before confirmation: not delivered (not subscribed yet).
		publish(t, tp, "early", nil)
		wantErr(t, tp.ConfirmSubscription(ctx(t), "web", "wrong-token"), courier.ErrInvalid)
		ep.confirm(t, tp, "web")
		if st := must(tp.Subscription("web").Info(ctx(t)))(t).Status; st != "active" {
			t.Fatalf("status after confirmation = %q", st)
		}
		id := publish(t, tp, "hello", map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "region": "eu"})
		p := ep.next(t)
		if p.kind != "Notification" || p.header.Get("X-Courier-Topic") != "orders" || p.header.Get("X-Courier-Subscription") != "web" {
			t.Fatalf("notification headers = %v", p.header)
		}
		if p.header.Get("Traceparent") == "" || p.header.Get("X-Courier-Header-region") != "eu" {
			t.Fatalf("message headers not forwarded: %v", p.header)
		}
		env := envelopeOf(t, p.body)
		if env["message_id"] != id || env["body"] != "hello" {
			t.Fatalf("envelope = %v; want message %s with body hello", env, id)
		}
		// Raw delivery POSTs the body itself.
		ep2 := newEndpoint(t, func(int) int { return http.StatusOK })
		must(tp.SubscribeHTTP(ctx(t), "raw", ep2.url, courier.Raw(), courier.Push(fastRetry)))(t)
		ep2.confirm(t, tp, "raw")
		publish(t, tp, "plain body", nil)
		if p := ep2.next(t); string(p.body) != "plain body" {
			t.Fatalf("raw push body = %q", p.body)
		}
		if p := ep.next(t); envelopeOf(t, p.body)["body"] != "plain body" {
			t.Fatalf("second notification = %s", p.body)
		}
		select {
		case p := <-ep.got:
			t.Fatalf("unexpected extra request %q: %s", p.kind, p.body)
		default:
		}
	}},
	{name: "PushRetriesWithBackoffThenDeadLetters", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		need(t, b, "Push", b.Capabilities().Push)
		ep := newEndpoint(t, func(int) int { return http.StatusServiceUnavailable })
		dlq := createQueue(t, b, "push-dlq")
		tp := createTopic(t, b, "t")
		policy := fastRetry
		policy.DeadLetterQueue = dlq.Name()
		must(tp.SubscribeHTTP(ctx(t), "web", ep.url, courier.Raw(), courier.Push(policy)))(t)
		ep.confirm(t, tp, "web")
		publish(t, tp, "doomed", nil)
		for i := 1; i <= 3; i++ {
			p := ep.next(t)
			if p.kind != "Notification" || p.attempt != fmt.Sprint(i) || string(p.body) != "doomed" {
				t.Fatalf("request %d: %q attempt %q body %q", i, p.kind, p.attempt, p.body)
			}
		}
		d := receiveN(t, dlq, 1, 5*time.Second)[0]
		if string(d.Body) != "doomed" {
			t.Fatalf("dead-letter queue got %q", d.Body)
		}
		info := must(tp.Subscription("web").Info(ctx(t)))(t)
		if info.Stats.PushFailures != 3 || info.Stats.DeadLettered != 1 || info.Stats.Delivered != 0 {
			t.Fatalf("stats = %+v; want 3 failures, 1 dead-lettered", info.Stats)
		}
		select {
		case p := <-ep.got:
			t.Fatalf("a fourth attempt was made: %+v", p)
		default:
		}
	}},
	{name: "PushRecoversAfterFailures", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		need(t, b, "Push", b.Capabilities().Push)
		ep := newEndpoint(t, func(n int) int {
			if n <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		tp := createTopic(t, b, "t")
		policy := fastRetry
		policy.MaxAttempts = 5
		must(tp.SubscribeHTTP(ctx(t), "web", ep.url, courier.Raw(), courier.Push(policy)))(t)
		ep.confirm(t, tp, "web")
		publish(t, tp, "eventually", nil)
		for i := 1; i <= 3; i++ {
			if p := ep.next(t); p.attempt != fmt.Sprint(i) {
				t.Fatalf("request %d has attempt %q", i, p.attempt)
			}
		}
		// The third attempt succeeded: the message is settled.
		waitFor(t, func() bool {
			st := must(tp.Subscription("web").Info(ctx(t)))(t).Stats
			return st.Delivered == 1 && st.Backlog.Visible+st.Backlog.InFlight+st.Backlog.Delayed == 0
		})
		if st := must(tp.Subscription("web").Info(ctx(t)))(t).Stats; st.PushFailures != 2 {
			t.Fatalf("stats = %+v", st)
		}
	}},
	{name: "SlowEndpointDoesNotSlowPublishers", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		need(t, b, "Push", b.Capabilities().Push)
		release := make(chan struct{})
		ep := newEndpoint(t, func(int) int {
			<-release // hangs until the test ends
			return http.StatusOK
		})
		t.Cleanup(func() { close(release) }) // runs before the endpoint closes
		tp := createTopic(t, b, "t")
		policy := fastRetry
		policy.Timeout = time.Minute
		must(tp.SubscribeHTTP(ctx(t), "web", ep.url, courier.Push(policy)))(t)
		ep.confirm(t, tp, "web")
		sub := must(tp.SubscribeDurable(ctx(t), "d", courier.Raw()))(t)
		pubCtx, cancel := context.WithTimeout(ctx(t), 30*time.Second)
		defer cancel()
		for i := range 50 {
			if _, err := tp.Publish(pubCtx, courier.Message{Body: fmt.Appendf(nil, "%d", i)}); err != nil {
				t.Fatalf("publish %d with a hung endpoint: %v", i, err)
			}
		}
		if n := len(receiveSub(t, sub, 50)); n != 50 {
			t.Fatalf("durable subscription got %d", n)
		}
		// The hung endpoint holds at most Concurrency messages; the rest wait
		// in its durable backlog.
		st := must(tp.Subscription("web").Info(ctx(t)))(t).Stats.Backlog
		if st.InFlight > int64(policy.Concurrency) || st.Visible+st.InFlight != 50 {
			t.Fatalf("push backlog = %+v; want 50 waiting, at most %d in flight", st, policy.Concurrency)
		}
	}},
}

// waitFor polls cond (a state the backend reaches on its own, through
// delivery to a real endpoint) until it holds or the test's context ends.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	c := ctx(t)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-c.Done():
			t.Fatal("condition not reached")
		}
	}
}
