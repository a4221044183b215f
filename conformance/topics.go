package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

func needTopics(t *testing.T, b *courier.Broker) {
	t.Helper()
	need(t, b, "Topics", b.Capabilities().Topics)
}

func createTopic(t *testing.T, b *courier.Broker, name string, opts ...courier.TopicOption) *courier.Topic {
	t.Helper()
	return must(b.CreateTopic(ctx(t), name, opts...))(t)
}

func publish(t *testing.T, tp *courier.Topic, body string, headers map[string]string) string {
	t.Helper()
	return must(tp.Publish(ctx(t), courier.Message{Body: []byte(body), Headers: headers}))(t)
}

// receiveSub receives from a durable subscription until n messages arrived.
func receiveSub(t *testing.T, s *courier.Subscription, n int) []*courier.Delivery {
	t.Helper()
	var out []*courier.Delivery
	for len(out) < n {
		ds := must(s.Receive(ctx(t), courier.Max(n-len(out)), courier.Wait(time.Second)))(t)
		if len(ds) == 0 {
			t.Fatalf("subscription %s: received %d messages; want %d", s.Name(), len(out), n)
		}
		out = append(out, ds...)
	}
	return out
}

// envelopeOf decodes a delivered envelope.
func envelopeOf(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("delivered body is not a JSON envelope: %v: %s", err, body)
	}
	return env
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

var topicCases = []testCase{
	{name: "TopicAdmin", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "orders")
		createTopic(t, b, "orders") // idempotent
		_, err := b.CreateTopic(ctx(t), "orders", courier.FIFOTopic())
		wantErr(t, err, courier.ErrConflict)
		_, err = b.CreateTopic(ctx(t), "bad name")
		wantErr(t, err, courier.ErrInvalid)
		createTopic(t, b, "audit")
		if names := must(b.ListTopics(ctx(t)))(t); !slices.Equal(names, []string{"audit", "orders"}) {
			t.Fatalf("topics = %v", names)
		}
		info := must(tp.Info(ctx(t)))(t)
		if info.Name != "orders" || info.Attributes.FIFO || info.Attributes.MaxMessageSize != 1<<20 {
			t.Fatalf("info = %+v", info)
		}
		check(t, b.DeleteTopic(ctx(t), "audit"))
		_, err = b.Topic("audit").Info(ctx(t))
		wantErr(t, err, courier.ErrNotFound)
		_, err = b.Topic("audit").Publish(ctx(t), courier.Message{Body: []byte("x")})
		wantErr(t, err, courier.ErrNotFound)
		// Topics and queues are separate namespaces.
		createQueue(t, b, "orders")
		if qs := must(b.ListQueues(ctx(t)))(t); !slices.Equal(qs, []string{"orders"}) {
			t.Fatalf("queues = %v", qs)
		}
	}},
	{name: "SubscriptionValidation", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "t")
		createQueue(t, b, "q")
		_, err := tp.SubscribeQueue(ctx(t), "s", "missing")
		wantErr(t, err, courier.ErrInvalid)
		if b.Capabilities().FIFO {
			createQueue(t, b, "f.fifo", courier.FIFO())
			_, err = tp.SubscribeQueue(ctx(t), "s", "f.fifo")
			wantErr(t, err, courier.ErrInvalid) // a standard topic cannot feed a FIFO queue
		}
		_, err = tp.SubscribeQueue(ctx(t), "s", "q", courier.Filter(`{"a": "not an array"}`))
		var ve *courier.ValidationError
		if !errors.As(err, &ve) || ve.Field != "filter_policy" {
			t.Fatalf("bad filter policy: err = %v; want a ValidationError on filter_policy", err)
		}
		_, err = tp.Subscribe(ctx(t), "s", courier.SubscriptionSpec{Kind: "carrier-pigeon"})
		wantErr(t, err, courier.ErrInvalid)
		_, err = tp.SubscribeHTTP(ctx(t), "s", "ftp://example.com/")
		wantErr(t, err, courier.ErrInvalid)
		must(tp.SubscribeQueue(ctx(t), "s", "q"))(t)
		must(tp.SubscribeQueue(ctx(t), "s", "q"))(t) // idempotent
		_, err = tp.SubscribeDurable(ctx(t), "s")
		wantErr(t, err, courier.ErrConflict) // kind cannot change
		// A subscribed queue cannot be deleted until it is unsubscribed.
		wantErr(t, b.DeleteQueue(ctx(t), "q"), courier.ErrConflict)
		check(t, tp.Unsubscribe(ctx(t), "s"))
		check(t, b.DeleteQueue(ctx(t), "q"))
		wantErr(t, tp.Unsubscribe(ctx(t), "s"), courier.ErrNotFound)
		_, err = b.Topic("missing").SubscribeDurable(ctx(t), "s")
		wantErr(t, err, courier.ErrNotFound)
	}},
	{name: "FanOutToEverySubscription", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "events")
		var queues []*courier.Queue
		var subs []*courier.Subscription
		for i := range 4 {
			q := createQueue(t, b, fmt.Sprintf("q%d", i))
			must(tp.SubscribeQueue(ctx(t), q.Name(), q.Name(), courier.Raw()))(t)
			queues = append(queues, q)
			subs = append(subs, must(tp.SubscribeDurable(ctx(t), fmt.Sprintf("d%d", i), courier.Raw()))(t))
		}
		var want []string
		var msgs []courier.Message
		for i := range 25 {
			body := fmt.Sprintf("m%02d", i)
			want = append(want, body)
			msgs = append(msgs, courier.Message{Body: []byte(body)})
		}
		res := must(tp.PublishBatch(ctx(t), msgs))(t)
		ids := map[string]bool{}
		for i, r := range res {
			if r.Err != nil || r.ID == "" || ids[r.ID] {
				t.Fatalf("publish result %d = %+v", i, r)
			}
			ids[r.ID] = true
		}
		for _, q := range queues {
			if got := sorted(bodies(receiveN(t, q, 25, time.Second))); !slices.Equal(got, want) {
				t.Fatalf("queue %s got %v", q.Name(), got)
			}
		}
		for _, sub := range subs {
			if got := sorted(bodies(receiveSub(t, sub, 25))); !slices.Equal(got, want) {
				t.Fatalf("subscription %s got %v", sub.Name(), got)
			}
		}
		info := must(tp.Info(ctx(t)))(t)
		if info.Stats.Published != 25 || info.Stats.Subscriptions != 8 {
			t.Fatalf("topic stats = %+v", info.Stats)
		}
		si := must(subs[0].Info(ctx(t)))(t)
		if si.Stats.Delivered != 25 || si.Stats.Backlog.InFlight != 25 || si.Status != "active" {
			t.Fatalf("subscription info = %+v", si)
		}
	}},
	{name: "FilterPolicyOnAttributes", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "orders")
		eu := must(tp.SubscribeDurable(ctx(t), "eu", courier.Raw(), courier.Filter(`{"region": ["eu"]}`)))(t)
		big := must(tp.SubscribeDurable(ctx(t), "big", courier.Raw(), courier.Filter(`{"amount": [{"numeric": [">=", 100]}]}`)))(t)
		notTest := must(tp.SubscribeDurable(ctx(t), "prod", courier.Raw(), courier.Filter(`{"env": [{"anything-but": "test"}]}`)))(t)
		publish(t, tp, "1", map[string]string{"region": "eu", "amount": "50", "env": "prod"})
		publish(t, tp, "2", map[string]string{"region": "us", "amount": "150", "env": "test"})
		publish(t, tp, "3", map[string]string{"region": "eu", "amount": "100.5"})
		publish(t, tp, "4", nil)
		if got := sorted(bodies(receiveSub(t, eu, 2))); !slices.Equal(got, []string{"1", "3"}) {
			t.Fatalf("eu got %v", got)
		}
		if got := sorted(bodies(receiveSub(t, big, 2))); !slices.Equal(got, []string{"2", "3"}) {
			t.Fatalf("big got %v", got)
		}
		// anything-but needs the attribute to be present, as in SNS.
		if got := sorted(bodies(receiveSub(t, notTest, 1))); !slices.Equal(got, []string{"1"}) {
			t.Fatalf("prod got %v", got)
		}
		for _, sub := range []*courier.Subscription{eu, big, notTest} {
			if extra := must(sub.Receive(ctx(t), courier.Max(10), courier.Wait(0)))(t); len(extra) != 0 {
				t.Fatalf("%s received unmatched messages %v", sub.Name(), bodies(extra))
			}
		}
		info := must(eu.Info(ctx(t)))(t)
		if info.Stats.Delivered != 2 || info.Stats.FilteredOut != 2 {
			t.Fatalf("eu stats = %+v; want 2 delivered, 2 filtered out", info.Stats)
		}
	}},
	{name: "FilterPolicyOnBody", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "orders")
		sub := must(tp.SubscribeDurable(ctx(t), "paid", courier.Raw(), courier.FilterBody(`{"order": {"status": ["paid"], "total": [{"numeric": [">", 10]}]}}`)))(t)
		publish(t, tp, `{"order": {"status": "paid", "total": 12}}`, nil)
		publish(t, tp, `{"order": {"status": "paid", "total": 5}}`, nil)
		publish(t, tp, `{"order": {"status": "new", "total": 50}}`, nil)
		publish(t, tp, `not json`, nil)
		publish(t, tp, `{"order": {"status": "paid", "total": 99}}`, map[string]string{"status": "new"})
		got := sorted(bodies(receiveSub(t, sub, 2)))
		want := []string{`{"order": {"status": "paid", "total": 12}}`, `{"order": {"status": "paid", "total": 99}}`}
		if !slices.Equal(got, want) {
			t.Fatalf("got %v; want %v", got, want)
		}
		if extra := must(sub.Receive(ctx(t), courier.Max(10), courier.Wait(0)))(t); len(extra) != 0 {
			t.Fatalf("received unmatched messages %v", bodies(extra))
		}
	}},
	{name: "FilterPolicyChangeAppliesToLaterMessages", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "t")
		sub := must(tp.SubscribeDurable(ctx(t), "s", courier.Raw(), courier.Filter(`{"kind": ["a"]}`)))(t)
		publish(t, tp, "a1", map[string]string{"kind": "a"})
		publish(t, tp, "b1", map[string]string{"kind": "b"})
		must(tp.SubscribeDurable(ctx(t), "s", courier.Raw(), courier.Filter(`{"kind": ["b"]}`)))(t)
		publish(t, tp, "a2", map[string]string{"kind": "a"})
		publish(t, tp, "b2", map[string]string{"kind": "b"})
		if got := sorted(bodies(receiveSub(t, sub, 2))); !slices.Equal(got, []string{"a1", "b2"}) {
			t.Fatalf("got %v; want a1 (before the change) and b2 (after)", got)
		}
		info := must(sub.Info(ctx(t)))(t)
		if info.FilterPolicy != `{"kind":["b"]}` {
			t.Fatalf("filter policy = %q", info.FilterPolicy)
		}
	}},
	{name: "EnvelopeAndRawDelivery", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "orders")
		env := must(tp.SubscribeDurable(ctx(t), "env"))(t)
		raw := must(tp.SubscribeDurable(ctx(t), "raw", courier.Raw()))(t)
		id := publish(t, tp, "hello", map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
		bin := must(tp.Publish(ctx(t), courier.Message{Body: []byte{0xff, 0x00}}))(t)

		ds := receiveSub(t, raw, 2)
		byBody := map[string]*courier.Delivery{}
		for _, d := range ds {
			byBody[string(d.Body)] = d
		}
		if d := byBody["hello"]; d == nil || d.Headers["traceparent"] == "" {
			t.Fatalf("raw deliveries = %v; want body hello with its headers", bodies(ds))
		}
		ds = receiveSub(t, env, 2)
		envs := map[string]map[string]any{}
		for _, d := range ds {
			e := envelopeOf(t, d.Body)
			envs[e["message_id"].(string)] = e
			if d.Headers["traceparent"] == "" && e["message_id"] == id {
				t.Fatalf("envelope delivery lost the message headers: %+v", d.Headers)
			}
		}
		e := envs[id]
		if e == nil || e["type"] != "Notification" || e["topic"] != "orders" || e["body"] != "hello" || e["timestamp"] == nil {
			t.Fatalf("envelope of %s = %v", id, e)
		}
		if h, _ := e["headers"].(map[string]any); h["traceparent"] == nil {
			t.Fatalf("envelope headers = %v", e["headers"])
		}
		if e := envs[bin]; e == nil || e["body_base64"] != "/wA=" {
			t.Fatalf("envelope of a binary body = %v", e)
		}
	}},
	{name: "FIFOTopicOrderAndDedup", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		need(t, b, "FIFO", b.Capabilities().FIFO)
		tp := createTopic(t, b, "orders.fifo", courier.FIFOTopic())
		q := createQueue(t, b, "orders-q.fifo", courier.FIFO())
		createQueue(t, b, "plain")
		_, err := tp.SubscribeQueue(ctx(t), "plain", "plain")
		wantErr(t, err, courier.ErrInvalid) // FIFO topics deliver only to FIFO queues
		_, err = tp.SubscribeHTTP(ctx(t), "web", "http://127.0.0.1:1/")
		wantErr(t, err, courier.ErrInvalid)
		must(tp.SubscribeQueue(ctx(t), "q", q.Name(), courier.Raw()))(t)
		dur := must(tp.SubscribeDurable(ctx(t), "d", courier.Raw()))(t)

		_, err = tp.Publish(ctx(t), courier.Message{Body: []byte("no group")})
		wantErr(t, err, courier.ErrInvalid)
		var msgs []courier.Message
		for i := range 6 {
			for _, g := range []string{"a", "b"} {
				msgs = append(msgs, courier.Message{Body: fmt.Appendf(nil, "%s%d", g, i), Group: g, DedupID: fmt.Sprintf("%s-%d", g, i)})
			}
		}
		res := must(tp.PublishBatch(ctx(t), msgs))(t)
		var last uint64
		for i, r := range res {
			if r.Err != nil || r.Sequence <= last {
				t.Fatalf("result %d = %+v (previous sequence %d)", i, r, last)
			}
			last = r.Sequence
		}
		// A duplicate within the window is answered with the original and
		// delivered nowhere.
		dup := must(tp.PublishBatch(ctx(t), []courier.Message{{Body: []byte("again"), Group: "a", DedupID: "a-0"}}))(t)
		if !dup[0].Duplicate || dup[0].ID != res[0].ID {
			t.Fatalf("duplicate publish = %+v; want Duplicate with ID %s", dup[0], res[0].ID)
		}
		// Per group, delivery follows publish order, one in flight at a time.
		got := map[string][]string{}
		for n := 0; n < 12; {
			ds := receive(t, q, courier.Max(10), courier.Wait(time.Second))
			if len(ds) == 0 {
				t.Fatalf("queue ran dry after %d; got %v", n, got)
			}
			for _, d := range ds {
				got[d.Group] = append(got[d.Group], string(d.Body))
				check(t, d.Ack(ctx(t)))
				n++
			}
		}
		for _, g := range []string{"a", "b"} {
			want := []string{g + "0", g + "1", g + "2", g + "3", g + "4", g + "5"}
			if !slices.Equal(got[g], want) {
				t.Fatalf("group %s delivered %v; want %v", g, got[g], want)
			}
		}
		if n := len(receiveSub(t, dur, 2)); n != 2 { // the first of each group
			t.Fatalf("durable FIFO subscription delivered %d; want 2 (one per group in flight)", n)
		}
	}},
	{name: "DurableSubscriptionSettlement", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		createQueue(t, b, "dlq")
		tp := createTopic(t, b, "t")
		sub := must(tp.SubscribeDurable(ctx(t), "s", courier.Raw(),
			courier.SubscriptionQueue(courier.VisibilityTimeout(time.Hour), courier.DeadLetter("dlq", 2))))(t)
		publish(t, tp, "x", nil)
		d := receiveSub(t, sub, 1)[0]
		if d.ReceiveCount != 1 {
			t.Fatalf("receive count = %d", d.ReceiveCount)
		}
		check(t, d.Nack(ctx(t), 0))
		d = receiveSub(t, sub, 1)[0]
		check(t, d.Extend(ctx(t), time.Hour))
		check(t, d.Nack(ctx(t), 0))
		// The third receive moves it to the dead-letter queue.
		if ds := must(sub.Receive(ctx(t), courier.Wait(0)))(t); len(ds) != 0 {
			t.Fatalf("received %v after max receives", bodies(ds))
		}
		dl := receiveN(t, b.Queue("dlq"), 1, time.Second)[0]
		if string(dl.Body) != "x" || dl.SourceQueue == "" {
			t.Fatalf("dead-lettered %q from %q", dl.Body, dl.SourceQueue)
		}
		// A subscription's own queue is not a user queue.
		if qs := must(b.ListQueues(ctx(t)))(t); !slices.Equal(qs, []string{"dlq"}) {
			t.Fatalf("queues = %v", qs)
		}
		publish(t, tp, "y", nil)
		d = receiveSub(t, sub, 1)[0]
		check(t, d.Ack(ctx(t)))
		err := sub.Ack(ctx(t), d.Receipt+"x")
		wantErr(t, err, courier.ErrReceiptInvalid)
		check(t, sub.Delete(ctx(t)))
		_, err = sub.Receive(ctx(t))
		wantErr(t, err, courier.ErrNotFound)
	}},
	{name: "TailReceivesLiveMessages", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "t")
		all := must(tp.Tail(ctx(t), courier.TailRaw()))(t)
		defer all.Close()
		eu := must(tp.Tail(ctx(t), courier.TailRaw(), courier.TailFilter(`{"region": ["eu"]}`)))(t)
		defer eu.Close()
		publish(t, tp, "one", map[string]string{"region": "us"})
		id := publish(t, tp, "two", map[string]string{"region": "eu"})
		for _, want := range []string{"one", "two"} {
			m := must(all.Next(ctx(t)))(t)
			if string(m.Body) != want {
				t.Fatalf("tail got %q; want %q", m.Body, want)
			}
		}
		m := must(eu.Next(ctx(t)))(t)
		if string(m.Body) != "two" || m.ID != id {
			t.Fatalf("filtered tail got %q (%s); want two (%s)", m.Body, m.ID, id)
		}
		if n := must(tp.Info(ctx(t)))(t).Stats.Tails; n != 2 {
			t.Fatalf("topic reports %d tails; want 2", n)
		}
		check(t, eu.Close())
		_, err := eu.Next(ctx(t))
		wantErr(t, err, courier.ErrClosed)
		// Deleting the topic ends its tails.
		check(t, tp.Delete(ctx(t)))
		_, err = all.Next(ctx(t))
		wantErr(t, err, courier.ErrClosed)
	}},
	{name: "SlowTailDropsOldestWithoutSlowingPublishers", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		tp := createTopic(t, b, "t")
		slow := must(tp.Tail(ctx(t), courier.TailRaw(), courier.TailBuffer(4)))(t)
		defer slow.Close()
		sub := must(tp.SubscribeDurable(ctx(t), "d", courier.Raw()))(t)
		// Nobody reads the tail; publishing must not wait for it.
		pubCtx, cancel := context.WithTimeout(ctx(t), 30*time.Second)
		defer cancel()
		for i := range 20 {
			if _, err := tp.Publish(pubCtx, courier.Message{Body: fmt.Appendf(nil, "%02d", i)}); err != nil {
				t.Fatalf("publish %d with a stalled tail: %v", i, err)
			}
		}
		// The oldest were dropped and counted; what is read is in order and
		// ends with the newest. (A remote tail's buffer is filled as the
		// messages arrive over the connection, so how many were dropped
		// depends on timing there; in-process it is exactly 16.)
		var got []string
		for len(got) == 0 || got[len(got)-1] != "19" {
			m := must(slow.Next(ctx(t)))(t)
			if len(got) > 0 && string(m.Body) <= got[len(got)-1] {
				t.Fatalf("tail delivered %q after %q", m.Body, got[len(got)-1])
			}
			got = append(got, string(m.Body))
		}
		if d := slow.Dropped(); d == 0 || d+int64(len(got)) != 20 {
			t.Fatalf("read %v and dropped %d; want every one of 20 read or counted as dropped, some dropped", got, d)
		}
		if n := len(receiveSub(t, sub, 20)); n != 20 {
			t.Fatalf("durable subscription got %d; want 20", n)
		}
	}},
	{name: "RestartKeepsTopicsAndSubscriptions", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needTopics(t, b)
		need(t, b, "Persistent", b.Capabilities().Persistent)
		tp := createTopic(t, b, "t")
		q := createQueue(t, b, "q")
		must(tp.SubscribeQueue(ctx(t), "q", "q", courier.Raw()))(t)
		sub := must(tp.SubscribeDurable(ctx(t), "d", courier.Raw(), courier.Filter(`{"keep": ["yes"]}`)))(t)
		publish(t, tp, "kept", map[string]string{"keep": "yes"})
		publish(t, tp, "filtered", map[string]string{"keep": "no"})
		acked := receiveSub(t, sub, 1)[0]
		check(t, acked.Ack(ctx(t)))
		publish(t, tp, "waiting", map[string]string{"keep": "yes"})

		b = restart(t, s, b)
		tp = b.Topic("t")
		sub = tp.Subscription("d")
		if got := bodies(receiveSub(t, sub, 1)); !slices.Equal(got, []string{"waiting"}) {
			t.Fatalf("durable subscription after restart = %v", got)
		}
		if got := sorted(bodies(receiveN(t, b.Queue(q.Name()), 3, time.Second))); !slices.Equal(got, []string{"filtered", "kept", "waiting"}) {
			t.Fatalf("queue subscription after restart = %v", got)
		}
		// The filter policy survived: it still applies to new messages.
		publish(t, tp, "no", map[string]string{"keep": "no"})
		publish(t, tp, "yes", map[string]string{"keep": "yes"})
		if got := bodies(receiveSub(t, sub, 1)); !slices.Equal(got, []string{"yes"}) {
			t.Fatalf("after restart the filter let through %v", got)
		}
		subs := must(tp.Subscriptions(ctx(t)))(t)
		if len(subs) != 2 || subs[0].Name != "d" || subs[1].Name != "q" || subs[0].FilterPolicy != `{"keep":["yes"]}` {
			t.Fatalf("subscriptions after restart = %+v", subs)
		}
		// Dedup IDs of the topic survive too.
		id := must(tp.Publish(ctx(t), courier.Message{Body: []byte("once"), DedupID: "k"}))(t)
		b = restart(t, s, b)
		res := must(b.Topic("t").PublishBatch(ctx(t), []courier.Message{{Body: []byte("once"), DedupID: "k"}}))(t)
		if !res[0].Duplicate || res[0].ID != id {
			t.Fatalf("publish after restart = %+v; want a duplicate of %s", res[0], id)
		}
	}},
}
