package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
)

var busCases = []testCase{
	{name: "Bus/Admin", run: testBusAdmin},
	{name: "Bus/PutEventsValidation", run: testBusPutEventsValidation},
	{name: "Bus/RouteToQueue", run: testBusRouteToQueue},
	{name: "Bus/Transformers", run: testBusTransformers},
	{name: "Bus/TargetKinds", run: testBusTargetKinds},
	{name: "Bus/HTTPTarget", run: testBusHTTPTarget},
	{name: "Bus/HTTPRetriesThenDLQ", run: testBusHTTPRetriesThenDLQ},
	{name: "Bus/HandlerFailureToDLQ", run: testBusHandlerFailureToDLQ},
	{name: "Bus/PutAndRemoveTargets", run: testBusPutAndRemoveTargets},
	{name: "Bus/BacklogBound", run: testBusBacklogBound},
	{name: "Bus/ArchiveAndReplay", run: testBusArchiveAndReplay},
	{name: "Bus/ScheduleRules", timed: true, fakeOnly: true, run: testBusScheduleRules},
	{name: "Bus/Persistence", run: testBusPersistence},
	{name: "Bus/EdgeCases", run: testBusEdgeCases},
}

func needBuses(t *testing.T, b *courier.Broker) {
	t.Helper()
	need(t, b, "Buses", b.Capabilities().Buses)
}

// event returns an event of source with detail.
func event(source, detailType, detail string) courier.Event {
	return courier.Event{Source: source, DetailType: detailType, Detail: json.RawMessage(detail)}
}

func putEvents(t *testing.T, bus *courier.Bus, evs ...courier.Event) []string {
	t.Helper()
	res := must(bus.PutEvents(ctx(t), evs...))(t)
	ids := make([]string, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("event %d refused: %v", i, r.Err)
		}
		ids[i] = r.ID
	}
	return ids
}

// eventOf decodes a delivered event.
func eventOf(t *testing.T, body []byte) courier.EventEnvelope {
	t.Helper()
	env, err := courier.ParseEvent(body)
	if err != nil {
		t.Fatalf("delivery %s: %v", body, err)
	}
	return env
}

func queueTarget(id, queue string) courier.Target {
	return courier.Target{ID: id, Kind: courier.TargetQueue, Queue: queue}
}

// busRetry retries quickly so that retry cases run in real time.
var busRetry = courier.RetryPolicy{MaxAttempts: 3, MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func testBusAdmin(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	names := must(b.ListBuses(c))(t)
	if !slices.Contains(names, courier.DefaultBus) {
		t.Fatalf("buses %q; want the default bus", names)
	}
	must(b.CreateBus(c, "orders", courier.BusAttributes{Description: "order events"}))(t)
	must(b.CreateBus(c, "orders", courier.BusAttributes{Description: "order events"}))(t) // idempotent
	_, err := b.CreateBus(c, "orders", courier.BusAttributes{Description: "other"})
	wantErr(t, err, courier.ErrConflict)
	info := must(b.Bus("orders").Info(c))(t)
	if info.Name != "orders" || info.Attributes.Description != "order events" {
		t.Fatalf("info %+v", info)
	}
	_, err = b.CreateBus(c, "bad/name", courier.BusAttributes{})
	wantErr(t, err, courier.ErrInvalid)
	wantErr(t, b.DeleteBus(c, courier.DefaultBus), courier.ErrInvalid)
	check(t, b.DeleteBus(c, "orders"))
	_, err = b.Bus("orders").Info(c)
	wantErr(t, err, courier.ErrNotFound)
	_, err = b.Bus("orders").PutEvents(c, event("a", "b", `{}`))
	wantErr(t, err, courier.ErrNotFound)
}

func testBusPutEventsValidation(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	bus := b.Bus(courier.DefaultBus)
	_, err := bus.PutEvents(c)
	wantErr(t, err, courier.ErrInvalid)
	res := must(bus.PutEvents(c,
		event("shop", "Order Placed", `{"id": 1}`),
		event("", "Order Placed", `{}`),
		event("shop", "Order Placed", `[1, 2]`),
		event("shop", "", `{}`),
		courier.Event{Source: "shop", DetailType: "x", Detail: json.RawMessage(`{}`), Resources: []string{""}},
		event("shop", "Order Placed", `{"id": 2}`),
	))(t)
	if len(res) != 6 {
		t.Fatalf("%d results; want 6", len(res))
	}
	for i, ok := range []bool{true, false, false, false, false, true} {
		switch {
		case ok && (res[i].Err != nil || res[i].ID == ""):
			t.Errorf("entry %d: %+v; want accepted", i, res[i])
		case !ok && !errors.Is(res[i].Err, courier.ErrInvalid):
			t.Errorf("entry %d: %+v; want ErrInvalid", i, res[i])
		}
	}
	if res[0].ID == res[5].ID {
		t.Fatalf("two events got ID %s", res[0].ID)
	}
	info := must(bus.Info(c))(t)
	if info.Stats.Accepted != 2 || info.Stats.Unmatched != 2 {
		t.Fatalf("stats %+v; want 2 accepted, both unmatched", info.Stats)
	}
}

func testBusRouteToQueue(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	q := createQueue(t, b, "placed")
	other := createQueue(t, b, "disabled")
	bus := must(b.CreateBus(c, "shop", courier.BusAttributes{}))(t)
	must(bus.PutRule(c, "placed", courier.Rule{
		Pattern: json.RawMessage(`{"source": ["shop"], "detail-type": ["Order Placed"], "detail": {"total": [{"numeric": [">", 100]}]}}`),
		Targets: []courier.Target{queueTarget("q", "placed")},
	}))(t)
	must(bus.PutRule(c, "off", courier.Rule{
		Pattern: json.RawMessage(`{"source": ["shop"]}`), State: courier.RuleDisabled,
		Targets: []courier.Target{queueTarget("q", "disabled")},
	}))(t)
	at := time.Now().UTC().Truncate(time.Second)
	ids := putEvents(t, bus,
		event("shop", "Order Placed", `{"total": 50}`),
		courier.Event{Source: "shop", DetailType: "Order Placed", Detail: json.RawMessage(`{"total": 150, "note": "big"}`), Resources: []string{"order/7"}, Time: at, Account: "123456789012", Region: "eu-1", Headers: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
		event("other", "Order Placed", `{"total": 500}`),
	)
	ds := receiveN(t, q, 1, 5*time.Second)
	env := eventOf(t, ds[0].Body)
	if env.ID != ids[1] || env.Source != "shop" || env.DetailType != "Order Placed" || !env.Time.Equal(at) ||
		env.Account != "123456789012" || env.Region != "eu-1" || !slices.Equal(env.Resources, []string{"order/7"}) || env.Version != "0" {
		t.Fatalf("envelope %+v (ids %q)", env, ids)
	}
	var detail map[string]any
	if err := json.Unmarshal(env.Detail, &detail); err != nil || detail["note"] != "big" {
		t.Fatalf("detail %s (%v)", env.Detail, err)
	}
	if ds[0].Headers["traceparent"] == "" {
		t.Fatalf("headers %v; want the event's trace context", ds[0].Headers)
	}
	if more := receive(t, q, courier.Wait(0)); len(more) != 0 {
		t.Fatalf("queue got %q too; only one event matches", bodies(more))
	}
	if got := receive(t, other, courier.Wait(0)); len(got) != 0 {
		t.Fatalf("disabled rule delivered %q", bodies(got))
	}
	info := must(bus.Rule(c, "placed"))(t)
	if info.Stats.Matched != 1 || info.Stats.Targets[0].Delivered != 1 {
		t.Fatalf("rule stats %+v", info.Stats)
	}
	bi := must(bus.Info(c))(t)
	if bi.Stats.Accepted != 3 || bi.Stats.Matched != 1 || bi.Stats.Unmatched != 2 {
		t.Fatalf("bus stats %+v", bi.Stats)
	}
}

func testBusTransformers(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	bus := b.Bus(courier.DefaultBus)
	for _, n := range []string{"json", "text", "constant", "path", "missing"} {
		createQueue(t, b, "tr-"+n)
	}
	tg := func(id string) courier.Target { return queueTarget(id, "tr-"+id) }
	json1 := tg("json")
	json1.InputTransformer = &courier.InputTransformer{
		InputPaths: map[string]string{"first": "$.detail.items[0].sku", "n": "$.detail.count", "note": "$.detail.note", "gone": "$.detail.nothing"},
		Template:   `{"sku": <first>, "count": <n>, "quoted": "<note>", "missing": <gone>, "missing_in_string": "<gone>"}`,
	}
	text := tg("text")
	text.InputTransformer = &courier.InputTransformer{InputPaths: map[string]string{"first": "$.detail.items[1].sku"}, Template: `second item <first> for rule <aws.events.rule-name>`}
	constant := tg("constant")
	constant.Input = json.RawMessage(`{"fixed": true}`)
	path := tg("path")
	path.InputPath = "$.detail.items"
	missing := tg("missing")
	missing.InputPath = "$.detail.absent"
	must(bus.PutRule(c, "shapes", courier.Rule{Pattern: json.RawMessage(`{"source": ["inventory"]}`), Targets: []courier.Target{json1, text, constant, path, missing}}))(t)
	putEvents(t, bus, event("inventory", "Restock", `{"items": [{"sku": "a-1"}, {"sku": "b-2"}], "count": 2, "note": "say \"hi\"\\now"}`))

	got := func(n string) string {
		return string(receiveN(t, b.Queue("tr-"+n), 1, 5*time.Second)[0].Body)
	}
	var j map[string]any
	body := got("json")
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatalf("json output %s: %v", body, err)
	}
	want := map[string]any{"sku": "a-1", "count": float64(2), "quoted": `say "hi"\now`, "missing": nil, "missing_in_string": ""}
	for k, v := range want {
		if j[k] != v {
			t.Errorf("json output %s: %s = %#v; want %#v", body, k, j[k], v)
		}
	}
	if body := got("text"); body != "second item b-2 for rule shapes" {
		t.Errorf("text output %q", body)
	}
	if body := got("constant"); body != `{"fixed":true}` {
		t.Errorf("constant output %q", body)
	}
	if body := got("path"); body != `[{"sku":"a-1"},{"sku":"b-2"}]` {
		t.Errorf("input path output %q", body)
	}
	if body := got("missing"); body != "null" {
		t.Errorf("missing input path output %q; want null", body)
	}
	// Bad transformers are refused when the rule is put.
	bad := tg("json")
	bad.InputTransformer = &courier.InputTransformer{InputPaths: map[string]string{"x": "detail.x"}, Template: `{"x": <x>}`}
	_, err := bus.PutRule(c, "bad", courier.Rule{Pattern: json.RawMessage(`{"source": ["x"]}`), Targets: []courier.Target{bad}})
	wantErr(t, err, courier.ErrInvalid)
}

func testBusTargetKinds(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	tp := must(b.CreateTopic(c, "bus-topic"))(t)
	sub := must(tp.SubscribeDurable(c, "all", courier.Raw()))(t)
	st := must(b.CreateStream(c, "bus-stream", courier.Partitions(4)))(t)
	other := must(b.CreateBus(c, "downstream", courier.BusAttributes{}))(t)
	forwarded := createQueue(t, b, "forwarded")
	must(other.PutRule(c, "all", courier.Rule{Pattern: json.RawMessage(`{"source": ["app"]}`), Targets: []courier.Target{queueTarget("q", "forwarded")}}))(t)
	bus := b.Bus(courier.DefaultBus)
	must(bus.PutRule(c, "fanout", courier.Rule{
		Pattern: json.RawMessage(`{"source": ["app"]}`),
		Targets: []courier.Target{
			{ID: "topic", Kind: courier.TargetTopic, Topic: "bus-topic"},
			{ID: "stream", Kind: courier.TargetStream, Stream: "bus-stream", PartitionKeyPath: "$.detail.customer"},
			{ID: "bus", Kind: courier.TargetBus, Bus: "downstream"},
			{ID: "fn", Kind: courier.TargetHandler},
		},
	}))(t)
	ids := putEvents(t, bus, event("app", "Signed Up", `{"customer": "c-42"}`))

	d := must(sub.Receive(c, courier.Wait(5*time.Second)))(t)
	if len(d) != 1 || eventOf(t, d[0].Body).ID != ids[0] {
		t.Fatalf("topic subscription got %q", bodies(d))
	}
	part := courier.PartitionForKey([]byte("c-42"), 4)
	var recs []courier.StreamRecord
	for len(recs) == 0 {
		recs, _ = must2(st.Read(c, part, courier.Earliest(), courier.ReadWait(5*time.Second)))(t)
	}
	if string(recs[0].Key) != "c-42" || eventOf(t, recs[0].Value).ID != ids[0] {
		t.Fatalf("stream record key %q value %s", recs[0].Key, recs[0].Value)
	}
	fd := receiveN(t, forwarded, 1, 5*time.Second)
	if env := eventOf(t, fd[0].Body); env.ID != ids[0] || env.Source != "app" {
		t.Fatalf("forwarded %+v", env)
	}
	// The handler target, served by a Go function.
	hctx, cancel := context.WithCancel(c)
	got := make(chan courier.EventEnvelope, 1)
	done := make(chan error, 1)
	go func() {
		done <- bus.Handle(hctx, "fanout", "fn", func(_ context.Context, d courier.TargetDelivery) error {
			env, err := courier.ParseEvent(d.Body)
			if err == nil {
				got <- env
			}
			return err
		})
	}()
	select {
	case env := <-got:
		if env.ID != ids[0] {
			t.Fatalf("handler got %+v", env)
		}
	case <-c.Done():
		t.Fatal("the handler got nothing")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Handle returned %v; want context.Canceled", err)
	}
	// A rule may not target its own bus.
	_, err := bus.PutRule(c, "loop", courier.Rule{Pattern: json.RawMessage(`{"source": ["x"]}`), Targets: []courier.Target{{ID: "self", Kind: courier.TargetBus, Bus: courier.DefaultBus}}})
	wantErr(t, err, courier.ErrInvalid)
}

func testBusHTTPTarget(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	ep := newEndpoint(t, func(int) int { return http.StatusOK })
	bus := b.Bus(courier.DefaultBus)
	must(bus.PutRule(c, "hook", courier.Rule{
		Pattern: json.RawMessage(`{"detail-type": ["Paid"]}`),
		Targets: []courier.Target{{ID: "api", Kind: courier.TargetHTTP, HTTP: &courier.HTTPTarget{
			Endpoint: ep.url, AuthHeader: "Authorization", AuthValue: "Bearer s3cret", Headers: map[string]string{"X-Env": "test"},
		}}},
	}))(t)
	info := must(bus.Rule(c, "hook"))(t)
	if v := info.Targets[0].HTTP.AuthValue; v == "Bearer s3cret" {
		t.Fatal("rule info shows the auth value")
	}
	ids := putEvents(t, bus, event("billing", "Paid", `{"amount": 12}`))
	p := ep.next(t)
	if p.header.Get("Authorization") != "Bearer s3cret" || p.header.Get("X-Env") != "test" || p.header.Get("X-Courier-Rule") != "hook" {
		t.Fatalf("request headers %v", p.header)
	}
	if env := eventOf(t, p.body); env.ID != ids[0] {
		t.Fatalf("posted %s", p.body)
	}

	// CloudEvents, in structured and in binary mode.
	structured := newEndpoint(t, func(int) int { return http.StatusOK })
	binary := newEndpoint(t, func(int) int { return http.StatusOK })
	must(bus.PutRule(c, "ce", courier.Rule{
		Pattern: json.RawMessage(`{"detail-type": ["Shipped"]}`),
		Targets: []courier.Target{
			{ID: "structured", Kind: courier.TargetHTTP, CloudEvents: true, HTTP: &courier.HTTPTarget{Endpoint: structured.url}},
			{ID: "binary", Kind: courier.TargetHTTP, CloudEvents: true, HTTP: &courier.HTTPTarget{Endpoint: binary.url, CloudEventsMode: "binary"}},
		},
	}))(t)
	ids = putEvents(t, bus, courier.Event{Source: "warehouse", DetailType: "Shipped", Detail: json.RawMessage(`{"parcel": 7}`), Resources: []string{"parcel/7"}})
	p = structured.next(t)
	var ce struct {
		SpecVersion string `json:"specversion"`
		ID, Source  string
		Type        string          `json:"type"`
		Subject     string          `json:"subject"`
		Data        json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(p.body, &ce); err != nil || p.header.Get("Content-Type") != "application/cloudevents+json; charset=utf-8" ||
		ce.SpecVersion != "1.0" || ce.ID != ids[0] || ce.Source != "warehouse" || ce.Type != "Shipped" || ce.Subject != "parcel/7" || compactJSON(ce.Data) != `{"parcel":7}` {
		t.Fatalf("structured CloudEvent %s (%v), headers %v", p.body, err, p.header)
	}
	p = binary.next(t)
	if p.header.Get("Ce-Specversion") != "1.0" || p.header.Get("Ce-Id") != ids[0] || p.header.Get("Ce-Type") != "Shipped" ||
		p.header.Get("Ce-Source") != "warehouse" || p.header.Get("Content-Type") != "application/json" || compactJSON(p.body) != `{"parcel":7}` {
		t.Fatalf("binary CloudEvent body %s, headers %v", p.body, p.header)
	}
}

// dlqReason returns the reason headers of the only message of dlq.
func dlqMessage(t *testing.T, dlq *courier.Queue) *courier.Delivery {
	t.Helper()
	return receiveN(t, dlq, 1, 10*time.Second)[0]
}

func testBusHTTPRetriesThenDLQ(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	dlq := createQueue(t, b, "hook-dlq")
	failing := newEndpoint(t, func(int) int { return http.StatusServiceUnavailable })
	refusing := newEndpoint(t, func(int) int { return http.StatusBadRequest })
	bus := b.Bus(courier.DefaultBus)
	target := func(id, url string) courier.Target {
		return courier.Target{ID: id, Kind: courier.TargetHTTP, HTTP: &courier.HTTPTarget{Endpoint: url}, Retry: busRetry, DeadLetterQueue: "hook-dlq"}
	}
	must(bus.PutRule(c, "down", courier.Rule{Pattern: json.RawMessage(`{"source": ["down"]}`), Targets: []courier.Target{target("down", failing.url)}}))(t)
	must(bus.PutRule(c, "refused", courier.Rule{Pattern: json.RawMessage(`{"source": ["refused"]}`), Targets: []courier.Target{target("refused", refusing.url)}}))(t)

	ids := putEvents(t, bus, event("down", "x", `{"n": 1}`))
	for i := 1; i <= 3; i++ {
		if p := failing.next(t); p.attemptHeader() != fmt.Sprint(i) {
			t.Fatalf("request %d has attempt %q", i, p.attemptHeader())
		}
	}
	m := dlqMessage(t, dlq)
	if m.Headers["courier-dlq-reason"] != "max-attempts" || m.Headers["courier-attempts"] != "3" || m.Headers["courier-rule"] != "down" ||
		m.Headers["courier-target"] != "down" || m.Headers["courier-dlq-error"] == "" {
		t.Fatalf("dead-lettered headers %v", m.Headers)
	}
	if env := eventOf(t, m.Body); env.ID != ids[0] {
		t.Fatalf("dead-lettered body %s", m.Body)
	}
	check(t, m.Ack(c))

	putEvents(t, bus, event("refused", "x", `{}`))
	refusing.next(t)
	m = dlqMessage(t, dlq)
	if m.Headers["courier-dlq-reason"] != "permanent-failure" || m.Headers["courier-attempts"] != "1" {
		t.Fatalf("a 400 answer should dead-letter at once; headers %v", m.Headers)
	}
	st := must(bus.Rule(c, "down"))(t).Stats.Targets[0]
	if st.Retried != 2 || st.Failed != 1 || st.DeadLettered != 1 || st.Delivered != 0 {
		t.Fatalf("target stats %+v", st)
	}
}

// compactJSON returns JSON text without insignificant space (the text as
// it is when it is not JSON).
func compactJSON(b []byte) string {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return string(b)
	}
	return out.String()
}

// attemptHeader is the attempt number a bus target request carries.
func (p pushed) attemptHeader() string { return p.header.Get("X-Courier-Attempt") }

func testBusHandlerFailureToDLQ(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	dlq := createQueue(t, b, "fn-dlq")
	bus := b.Bus(courier.DefaultBus)
	must(bus.PutRule(c, "fails", courier.Rule{
		Pattern: json.RawMessage(`{"source": ["fn"]}`),
		Targets: []courier.Target{{ID: "fn", Kind: courier.TargetHandler, Retry: busRetry, DeadLetterQueue: "fn-dlq"}},
	}))(t)
	putEvents(t, bus, event("fn", "x", `{}`))
	hctx, cancel := context.WithCancel(c)
	var mu sync.Mutex
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- bus.Handle(hctx, "fails", "fn", func(context.Context, courier.TargetDelivery) error {
			mu.Lock()
			calls++
			mu.Unlock()
			return errors.New("payment service said no")
		})
	}()
	m := dlqMessage(t, dlq)
	cancel()
	<-done
	if m.Headers["courier-dlq-reason"] != "max-attempts" || m.Headers["courier-dlq-error"] != "payment service said no" {
		t.Fatalf("dead-lettered headers %v", m.Headers)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 {
		t.Fatalf("handler called %d times; want 3 (max attempts)", calls)
	}
}

func testBusPutAndRemoveTargets(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	a, q2 := createQueue(t, b, "ta"), createQueue(t, b, "tb")
	bus := b.Bus(courier.DefaultBus)
	must(bus.PutRule(c, "r", courier.Rule{Pattern: json.RawMessage(`{"source": ["s"]}`), Targets: []courier.Target{queueTarget("a", "ta")}}))(t)
	info := must(bus.PutTargets(c, "r", queueTarget("b", "tb")))(t)
	if len(info.Targets) != 2 {
		t.Fatalf("targets %+v", info.Targets)
	}
	putEvents(t, bus, event("s", "x", `{}`))
	receiveN(t, a, 1, 5*time.Second)
	receiveN(t, q2, 1, 5*time.Second)
	must(bus.RemoveTargets(c, "r", "a"))(t)
	putEvents(t, bus, event("s", "x", `{}`))
	receiveN(t, q2, 1, 5*time.Second)
	if got := receive(t, a, courier.Wait(0)); len(got) != 0 {
		t.Fatalf("removed target got %q", bodies(got))
	}
	_, err := bus.RemoveTargets(c, "r", "nope")
	wantErr(t, err, courier.ErrNotFound)
	many := []courier.Target{}
	for i := range 5 {
		many = append(many, queueTarget(fmt.Sprint("m", i), "ta"))
	}
	_, err = bus.PutTargets(c, "r", many...)
	wantErr(t, err, courier.ErrTooLarge)
	check(t, bus.DeleteRule(c, "r"))
	_, err = bus.Rule(c, "r")
	wantErr(t, err, courier.ErrNotFound)
	names := must(b.ListQueues(c))(t)
	if !slices.Equal(names, []string{"ta", "tb"}) {
		t.Fatalf("queues %q; delivery queues must not be listed", names)
	}
}

func testBusBacklogBound(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	dlq := createQueue(t, b, "full-dlq")
	bus := b.Bus(courier.DefaultBus)
	must(bus.PutRule(c, "slow", courier.Rule{
		Pattern: json.RawMessage(`{"source": ["s"]}`),
		Targets: []courier.Target{{ID: "fn", Kind: courier.TargetHandler, MaxBacklog: 2, DeadLetterQueue: "full-dlq"}},
	}))(t)
	putEvents(t, bus, event("s", "x", `{"n": 1}`), event("s", "x", `{"n": 2}`), event("s", "x", `{"n": 3}`), event("s", "x", `{"n": 4}`))
	ds := receiveN(t, dlq, 2, 5*time.Second)
	for _, d := range ds {
		if d.Headers["courier-dlq-reason"] != "backlog-full" {
			t.Fatalf("headers %v", d.Headers)
		}
	}
	st := must(bus.Rule(c, "slow"))(t).Stats.Targets[0]
	if st.Overflowed != 2 || st.Backlog.Visible != 2 {
		t.Fatalf("target stats %+v; want 2 overflowed and 2 waiting", st)
	}
}

// waitReplay polls a replay until it has ended.
func waitReplay(t *testing.T, b *courier.Broker, name string) courier.ReplayInfo {
	t.Helper()
	c := ctx(t)
	for {
		info := must(b.ReplayInfo(c, name))(t)
		if info.State != courier.ReplayRunning {
			return info
		}
		select {
		case <-c.Done():
			t.Fatalf("replay %q still running: %+v", name, info)
		case <-time.After(10 * time.Millisecond): // polling a state, not synchronising
		}
	}
}

func testBusArchiveAndReplay(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	replayed, untouched := createQueue(t, b, "replayed"), createQueue(t, b, "untouched")
	bus := must(b.CreateBus(c, "hist", courier.BusAttributes{}))(t)
	must(bus.Archive(c, "everything", courier.Archive{Retention: 24 * time.Hour}))(t)
	must(bus.Archive(c, "big", courier.Archive{Pattern: json.RawMessage(`{"detail": {"n": [{"numeric": [">=", 3]}]}}`)}))(t)
	must(bus.PutRule(c, "one", courier.Rule{Pattern: json.RawMessage(`{"source": ["s"]}`), Targets: []courier.Target{queueTarget("q", "replayed")}}))(t)
	must(bus.PutRule(c, "two", courier.Rule{Pattern: json.RawMessage(`{"source": ["s"]}`), Targets: []courier.Target{queueTarget("q", "untouched")}}))(t)
	putEvents(t, bus, event("s", "x", `{"n": 1}`))
	from := time.Now()
	ids := putEvents(t, bus, event("s", "x", `{"n": 2}`), event("s", "x", `{"n": 3}`))
	to := time.Now()
	putEvents(t, bus, event("s", "x", `{"n": 4}`))
	for _, q := range []*courier.Queue{replayed, untouched} {
		for _, d := range receiveN(t, q, 4, 5*time.Second) {
			check(t, d.Ack(c))
		}
	}
	if a := must(bus.ArchiveInfo(c, "everything"))(t); a.Events != 4 {
		t.Fatalf("archive has %d events; want 4", a.Events)
	}
	if a := must(bus.ArchiveInfo(c, "big"))(t); a.Events != 2 {
		t.Fatalf("pattern archive has %d events; want 2", a.Events)
	}
	must(bus.Replay(c, "again", "everything", from, to, "one"))(t)
	_, err := bus.Replay(c, "again", "everything", from, to)
	wantErr(t, err, courier.ErrExists)
	info := waitReplay(t, b, "again")
	if info.State != courier.ReplayCompleted || info.Replayed != 2 {
		t.Fatalf("replay %+v; want completed with 2 events", info)
	}
	ds := receiveN(t, replayed, 2, 5*time.Second)
	var got []string
	for _, d := range ds {
		env := eventOf(t, d.Body)
		if env.ReplayName != "again" {
			t.Fatalf("replayed event %s has no replay-name", d.Body)
		}
		got = append(got, env.ID)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("replayed %q; want %q in order", got, ids)
	}
	if extra := receive(t, untouched, courier.Wait(0)); len(extra) != 0 {
		t.Fatalf("rule two got replayed events %q; the replay was for rule one only", bodies(extra))
	}
	if a := must(bus.ArchiveInfo(c, "everything"))(t); a.Events != 4 {
		t.Fatalf("archive has %d events after replay; replayed events are not archived again", a.Events)
	}
	list := must(b.Replays(c))(t)
	if len(list) != 1 || list[0].Name != "again" {
		t.Fatalf("replays %+v", list)
	}
	_, err = b.CancelReplay(c, "again")
	wantErr(t, err, courier.ErrConflict)
	_, err = bus.Replay(c, "bad-range", "everything", to, from)
	wantErr(t, err, courier.ErrInvalid)
	_, err = bus.Replay(c, "no-archive", "nope", from, to)
	wantErr(t, err, courier.ErrNotFound)
	check(t, bus.DeleteArchive(c, "big"))
	if as := must(bus.Archives(c))(t); len(as) != 1 || as[0].Name != "everything" {
		t.Fatalf("archives %+v", as)
	}
	names := must(b.ListStreams(c))(t)
	if len(names) != 0 {
		t.Fatalf("streams %q; archives' streams must not be listed", names)
	}
}

func testBusScheduleRules(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	q := createQueue(t, b, "ticks")
	bus := b.Bus(courier.DefaultBus)
	info := must(bus.PutRule(c, "every-minute", courier.Rule{Schedule: "rate(1 minute)", Targets: []courier.Target{queueTarget("q", "ticks")}}))(t)
	if !info.NextFire.Equal(info.CreatedAt.Add(time.Minute)) {
		t.Fatalf("rate(1 minute) rule created at %v fires next at %v; want a minute after its creation", info.CreatedAt, info.NextFire)
	}
	_, err := bus.PutRule(c, "both", courier.Rule{Schedule: "rate(1 minute)", Pattern: json.RawMessage(`{"source": ["x"]}`)})
	wantErr(t, err, courier.ErrInvalid)
	_, err = bus.PutRule(c, "bad", courier.Rule{Schedule: "rate(1 minutes)"})
	wantErr(t, err, courier.ErrInvalid)
	// Scheduled events do not reach pattern rules.
	other := createQueue(t, b, "patterned")
	must(bus.PutRule(c, "all", courier.Rule{Pattern: json.RawMessage(`{"source": [{"prefix": ""}]}`), Targets: []courier.Target{queueTarget("q", "patterned")}}))(t)

	time.Sleep(3*time.Minute + time.Second)
	synctest.Wait()
	ds := receive(t, q, courier.Max(10), courier.Wait(0))
	if len(ds) != 3 {
		t.Fatalf("%d scheduled events after 3 minutes; want 3", len(ds))
	}
	for _, d := range ds {
		env := eventOf(t, d.Body)
		if env.DetailType != "Scheduled Event" || env.Source != "courier.events" {
			t.Fatalf("scheduled event %+v", env)
		}
		check(t, d.Ack(ctx(t)))
	}
	if got := receive(t, other, courier.Wait(0)); len(got) != 0 {
		t.Fatalf("pattern rule got scheduled events %q", bodies(got))
	}
	must(bus.PutRule(ctx(t), "every-minute", courier.Rule{Schedule: "rate(1 minute)", State: courier.RuleDisabled, Targets: []courier.Target{queueTarget("q", "ticks")}}))(t)
	time.Sleep(3 * time.Minute)
	synctest.Wait()
	if got := receive(t, q, courier.Wait(0)); len(got) != 0 {
		t.Fatalf("disabled schedule fired %d times", len(got))
	}
}

func testBusPersistence(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	if s.f.Restart == nil {
		t.Skip("needs Features.Restart")
	}
	c := ctx(t)
	createQueue(t, b, "kept")
	bus := must(b.CreateBus(c, "durable", courier.BusAttributes{}))(t)
	must(bus.PutRule(c, "r", courier.Rule{Pattern: json.RawMessage(`{"source": ["s"]}`), Targets: []courier.Target{queueTarget("q", "kept"), {ID: "fn", Kind: courier.TargetHandler}}}))(t)
	must(bus.Archive(c, "a", courier.Archive{}))(t)
	ids := putEvents(t, bus, event("s", "x", `{"n": 1}`), event("s", "x", `{"n": 2}`))
	b = s.f.Restart(t, b)
	bus = b.Bus("durable")
	info := must(bus.Rule(c, "r"))(t)
	if len(info.Targets) != 2 || info.Stats.Targets[1].Backlog.Visible != 2 {
		t.Fatalf("rule after restart %+v", info)
	}
	if a := must(bus.ArchiveInfo(c, "a"))(t); a.Events != 2 {
		t.Fatalf("archive after restart has %d events", a.Events)
	}
	var got []string
	for _, d := range receiveN(t, b.Queue("kept"), 2, 5*time.Second) {
		got = append(got, eventOf(t, d.Body).ID)
	}
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after restart the queue target has %q; want %q", got, want)
	}
}

func testBusEdgeCases(t *testing.T, s *suite, b *courier.Broker) {
	needBuses(t, b)
	c := ctx(t)
	bus := b.Bus(courier.DefaultBus)
	dlq := createQueue(t, b, "edge-dlq")

	// A source that is no valid FIFO group still reaches standard and FIFO
	// queues created after the event was accepted.
	// The targets retry long enough (about ten seconds) for the queues to
	// be created over a network backend on a loaded machine.
	untilCreated := courier.RetryPolicy{MaxAttempts: 1000, MinDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}
	must(bus.PutRule(c, "late", courier.Rule{Pattern: json.RawMessage(`{"detail-type": ["late"]}`), Targets: []courier.Target{
		{ID: "std", Kind: courier.TargetQueue, Queue: "late", Retry: untilCreated, DeadLetterQueue: "edge-dlq"},
		{ID: "fifo", Kind: courier.TargetQueue, Queue: "late.fifo", Retry: untilCreated, DeadLetterQueue: "edge-dlq"},
	}}))(t)
	ids := putEvents(t, bus, event("my app (v2)", "late", `{"n": 1}`), event("my app (v2)", "late", `{"n": 2}`))
	late := createQueue(t, b, "late")
	fifo := createQueue(t, b, "late.fifo", courier.FIFO())
	var got []string
	for _, d := range receiveN(t, late, 2, 10*time.Second) {
		got = append(got, eventOf(t, d.Body).ID)
	}
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("standard queue got %q; want %q", got, want)
	}
	// Both reach the FIFO queue, in one group (after retries the delivery
	// order between events is not guaranteed: delivery queues are standard).
	var fifoGot []string
	group := ""
	for range 2 {
		fd := receiveN(t, fifo, 1, 10*time.Second)
		if fd[0].Group == "" || group != "" && fd[0].Group != group {
			t.Fatalf("FIFO queue got %s in group %q; want both events in one group", fd[0].Body, fd[0].Group)
		}
		group = fd[0].Group
		fifoGot = append(fifoGot, eventOf(t, fd[0].Body).ID)
		check(t, fd[0].Ack(c))
	}
	slices.Sort(fifoGot)
	if !slices.Equal(fifoGot, want) {
		t.Fatalf("FIFO queue got %q; want %q", fifoGot, want)
	}
	if extra := receive(t, dlq, courier.Wait(0)); len(extra) != 0 {
		t.Fatalf("dead-lettered %v", extra[0].Headers)
	}

	// A target's dead-letter queue cannot be deleted while it is used.
	wantErr(t, b.DeleteQueue(c, "edge-dlq"), courier.ErrConflict)

	// An archive with a null pattern keeps every event.
	must(bus.Archive(c, "nullpat", courier.Archive{Pattern: json.RawMessage("null")}))(t)
	putEvents(t, bus, event("x", "y", `{}`))
	if a := must(bus.ArchiveInfo(c, "nullpat"))(t); a.Events != 1 || len(a.Pattern) != 0 {
		t.Fatalf("archive %+v; want every event kept, no pattern", a)
	}

	// Headers starting with courier- are the bus's own.
	res := must(bus.PutEvents(c, courier.Event{Source: "x", DetailType: "y", Detail: json.RawMessage(`{}`), Headers: map[string]string{"courier-bus-hops": "-10"}}))(t)
	wantErr(t, res[0].Err, courier.ErrInvalid)

	// A chain of buses ends after 5.
	chain := createQueue(t, b, "chain-end")
	for i := 1; i <= 6; i++ {
		name := fmt.Sprint("hop", i)
		hb := must(b.CreateBus(c, name, courier.BusAttributes{}))(t)
		targets := []courier.Target{queueTarget("q", "chain-end"), {ID: "next", Kind: courier.TargetBus, Bus: fmt.Sprint("hop", i+1), Retry: busRetry, DeadLetterQueue: "edge-dlq"}}
		if i == 6 {
			targets = targets[:1]
		}
		must(hb.PutRule(c, "fwd", courier.Rule{Pattern: json.RawMessage(`{"source": ["chain"]}`), Targets: targets}))(t)
	}
	putEvents(t, b.Bus("hop1"), event("chain", "x", `{}`))
	receiveN(t, chain, 5, 10*time.Second)
	m := dlqMessage(t, dlq)
	if m.Headers["courier-dlq-reason"] != "permanent-failure" || m.Headers["courier-bus"] != "hop5" {
		t.Fatalf("the sixth hop dead-lettered with %v; want a permanent failure on hop5", m.Headers)
	}
	if extra := receive(t, chain, courier.Wait(0)); len(extra) != 0 {
		t.Fatalf("the chain reached %d more buses than 5", len(extra))
	}
}
