package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/idempotency"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	numOrders   = 100
	flakyCard   = "tok_flaky"
	placers     = 8 // orders placed at once
	retriedOnce = 5 // orders whose client places them twice (a lost answer)
)

// placedOrder is an order the test placed and what the front answered.
type placedOrder struct {
	order
	traceID string
	flaky   bool // paid with flakyCard: fails until the gateway is fixed
}

// TestShop runs the whole shop in-process on a file:// broker in a
// temporary directory, on random loopback ports, traced into memory. It
// places 100 orders over HTTP (8 at a time; 10 with a card whose charges
// fail; 5 placed twice, as clients that lost the answer do) and checks,
// by polling the services' state with a deadline:
//
//  1. every good order is charged once, shipped once by the warehouse
//     its region and priority select, counted by analytics and audited
//     (placed, paid, shipped); every failed one is in payments-dlq and
//     only placed;
//  2. payment requests of paid orders sent again (copies with another
//     dedup ID, which the broker's dedup window cannot catch) are acked
//     without the payments handler running;
//  3. after the gateway is fixed and payments-dlq redriven (admin
//     endpoints), the failed orders complete too and the DLQ is empty;
//  4. after shutdown, each order's spans form one trace from the front
//     through the orders service, payments, shipping, analytics and
//     audit, with every span's parent in the same trace.
func TestShop(t *testing.T) {
	started := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())

	s, err := start(ctx, config{Addr: "127.0.0.1:0", OrdersAddr: "127.0.0.1:0", DataDir: t.TempDir(),
		FailCard: flakyCard, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	api := &apiClient{base: s.frontURL, http: &http.Client{Transport: transport}}

	// Place the orders over HTTP, a few at a time.
	orders := make([]placedOrder, numOrders)
	for i := range orders {
		o := order{Customer: fmt.Sprintf("c-%d", i%17), AmountCents: 1000 + int64(i)*37,
			Region: regionUS, Priority: priorityStandard, Card: "tok_visa"}
		if i%2 == 0 {
			o.Region = regionEU
		}
		if i%5 == 0 {
			o.Priority = priorityExpress
		}
		orders[i] = placedOrder{order: o, flaky: i%10 == 3}
		if orders[i].flaky {
			orders[i].Card = flakyCard
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, placers)
	errs := make([]error, numOrders+retriedOnce)
	for i := range orders {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var res placedBody
			errs[i] = api.do(ctx, http.MethodPost, "/orders", orders[i].order, http.StatusAccepted, &res)
			if errs[i] == nil && (res.OrderID == "" || res.TraceID == "" || res.Status != "placed") {
				errs[i] = fmt.Errorf("order %d: answer %+v", i, res)
			}
			orders[i].ID, orders[i].traceID = res.OrderID, res.TraceID
		})
	}
	wg.Wait()
	for i := range retriedOnce { // placed again with the ID the first answer gave
		var res placedBody
		errs[numOrders+i] = api.do(ctx, http.MethodPost, "/orders", orders[i].order, http.StatusAccepted, &res)
		if errs[numOrders+i] == nil && res.OrderID != orders[i].ID {
			errs[numOrders+i] = fmt.Errorf("order %s placed again answered %s", orders[i].ID, res.OrderID)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// Bad input is refused at the boundary and names the field.
	bad := orders[1].order
	bad.ID, bad.Region = "", "mars"
	var refused errorBody
	if err := api.do(ctx, http.MethodPost, "/orders", bad, http.StatusBadRequest, &refused); err != nil || !strings.Contains(refused.Error, "region") {
		t.Fatalf("an order for region mars: %v %+v", err, refused)
	}
	t.Logf("placed %d orders in %v", numOrders, time.Since(started).Round(time.Millisecond))

	flaky := map[string]bool{}
	for _, o := range orders {
		if o.flaky {
			flaky[o.ID] = true
		}
	}
	var good, failing []placedOrder
	for _, o := range orders {
		if o.flaky {
			failing = append(failing, o)
		} else {
			good = append(good, o)
		}
	}

	// 1. Good orders go all the way; failed payments end in payments-dlq.
	eventually(t, ctx, "good orders complete, failed payments dead-lettered", func() error {
		if err := complete(s, good); err != nil {
			return err
		}
		if n := routeProcessed(s, "payments"); n != int64(len(good)) {
			return fmt.Errorf("payments processed %d messages; want %d", n, len(good))
		}
		for _, o := range failing {
			if cs := s.gateway.Charges(o.ID); len(cs) != 0 {
				return fmt.Errorf("order %s with the failing card was charged: %+v", o.ID, cs)
			}
			if err := trailIs(s, o.ID, statePlaced); err != nil {
				return err
			}
			if !s.analytics.Counted(o.ID) {
				return fmt.Errorf("order %s not counted by analytics", o.ID)
			}
		}
		return dlqHolds(ctx, s, flaky)
	})
	if st := s.analytics.Stats(); st.Orders != numOrders || st.RevenueCents != revenue(orders) {
		t.Fatalf("analytics counted %d orders, %d cents; want %d, %d", st.Orders, st.RevenueCents, numOrders, revenue(orders))
	}
	if st := s.gateway.Stats(); st.Charges != len(good) || st.FailedAttempts != len(failing)*paymentsMaxReceives*paymentsRetries {
		t.Fatalf("gateway %+v; want %d charges, %d failed attempts (%d receives of %d attempts each)",
			st, len(good), len(failing)*paymentsMaxReceives*paymentsRetries, paymentsMaxReceives, paymentsRetries)
	}
	t.Logf("good orders complete and failed payments in payments-dlq after %v", time.Since(started).Round(time.Millisecond))

	// 2. A payment request delivered again for a paid order (the broker's
	// dedup window cannot catch a copy with another dedup ID) is acked by
	// the idempotent worker without charging or shipping again.
	processed := func() int64 { return routeProcessed(s, "payments") }
	before, handled := processed(), s.payments.handled.Load()
	for _, o := range good[:5] {
		m := courier.Message{Body: mustJSON(o.order), Headers: map[string]string{headerOrderID: o.ID, headerRegion: o.Region,
			headerPriority: o.Priority}, DedupID: "again-" + o.ID}
		if _, err := s.payments.queue.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, ctx, "duplicate payment requests acked", func() error {
		if n := processed(); n < before+5 {
			return fmt.Errorf("payments processed %d of the 5 duplicates", n-before)
		}
		return nil
	})
	if n := processed(); n != before+5 {
		t.Fatalf("payments processed %d messages after 5 duplicates; want 5", n-before)
	}
	if n := s.payments.handled.Load(); n != handled {
		t.Fatalf("the payments handler ran %d times for 5 duplicates of paid orders; want 0 (handler.Idempotent skips them)", n-handled)
	}
	if err := complete(s, good); err != nil {
		t.Fatalf("after duplicate deliveries: %v", err)
	}
	if st := s.gateway.Stats(); st.Charges != len(good) {
		t.Fatalf("after duplicate deliveries the gateway has %+v; want %d charges", st, len(good))
	}

	// 3. Fix the gateway, redrive the dead-lettered payments: they complete.
	if err := api.do(ctx, http.MethodPut, "/admin/gateway", gatewayBody{FailCard: ""}, http.StatusNoContent, nil); err != nil {
		t.Fatal(err)
	}
	var moved redrivenBody
	if err := api.do(ctx, http.MethodPost, "/admin/redrive-payments", nil, http.StatusOK, &moved); err != nil {
		t.Fatal(err)
	}
	if moved.Moved != len(failing) {
		t.Fatalf("redrive moved %d payments; want %d", moved.Moved, len(failing))
	}
	eventually(t, ctx, "every order complete, payments-dlq empty", func() error {
		if err := complete(s, orders); err != nil {
			return err
		}
		return dlqHolds(ctx, s, nil)
	})
	var view orderView
	if err := api.do(ctx, http.MethodGet, "/orders/"+failing[0].ID, nil, http.StatusOK, &view); err != nil {
		t.Fatal(err)
	}
	if len(view.Charges) != 1 || len(view.Shipments) != 1 || len(view.Trail) != 3 || !view.Counted {
		t.Fatalf("GET /orders/%s after the redrive: %+v", failing[0].ID, view)
	}
	var st shopStats
	if err := api.do(ctx, http.MethodGet, "/stats", nil, http.StatusOK, &st); err != nil {
		t.Fatal(err)
	}
	if st.Gateway.Charges != numOrders || st.Gateway.ChargedTwice != 0 || st.Shipping.Shipments != numOrders ||
		st.Audit.Entries != 3*numOrders || st.Analytics.Orders != numOrders {
		t.Fatalf("GET /stats at the end: %+v", st)
	}
	t.Logf("every order complete after %v", time.Since(started).Round(time.Millisecond))

	// 4. One trace per order, end to end.
	closed = true
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	checkTraces(t, exp.GetSpans(), orders)
	t.Logf("%d spans checked; the test took %v", len(exp.GetSpans()), time.Since(started).Round(time.Millisecond))
}

// TestPaymentChargedOnceWhenAnnouncingFails makes the step after the
// charge fail (OrderPaid goes to a topic that does not exist) and handles
// the message again once the topic is right: the order is charged once,
// and paid once announced.
func TestPaymentChargedOnceWhenAnnouncingFails(t *testing.T) {
	ctx := t.Context()
	b, err := courier.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	top, err := declare(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := loadPolicies()
	if err != nil {
		t.Fatal(err)
	}
	gw := newGateway("")
	p := &payments{queue: top.payments, dlq: top.paymentsDLQ, events: b.Topic("no-such-topic"), bus: top.bus,
		gateway: gw, store: idempotency.NewMemory(), tracer: noop.NewTracerProvider().Tracer(""),
		gatewayPolicy: pol.gateway, brokerPolicy: pol.paymentsBroker}
	o := order{ID: "o-1", Customer: "c-1", AmountCents: 500, Region: regionEU, Priority: priorityStandard, Card: "tok_visa"}
	m := &handler.Message{ID: "m-1", Body: mustJSON(o), Headers: map[string]string{headerOrderID: o.ID}, Attempt: 1}
	if err := p.handle(ctx, m); !errors.Is(err, courier.ErrNotFound) {
		t.Fatalf("announcing to a missing topic: %v; want ErrNotFound", err)
	}
	p.events = top.events
	m.Attempt++
	if err := p.handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	if cs := gw.Charges(o.ID); len(cs) != 1 {
		t.Fatalf("charges %+v after a retry; want one", cs)
	}
	ds, err := top.events.Subscription("eu-warehouse").Receive(ctx, courier.Max(10))
	if err != nil || len(ds) != 1 || ds[0].Headers[headerOrderID] != o.ID {
		t.Fatalf("eu-warehouse received %d messages (%v); want the order's OrderPaid", len(ds), err)
	}
}

// complete checks that each order is charged once, shipped once by its
// warehouse, counted by analytics and fully audited.
func complete(s *shop, orders []placedOrder) error {
	for _, o := range orders {
		cs := s.gateway.Charges(o.ID)
		if len(cs) == 0 {
			return fmt.Errorf("order %s not charged", o.ID)
		}
		if len(cs) != 1 || cs[0].AmountCents != o.AmountCents {
			return fmt.Errorf("order %s charged %+v; want once, %d cents", o.ID, cs, o.AmountCents)
		}
		sh := s.shipping.Shipments(o.ID)
		if len(sh) == 0 {
			return fmt.Errorf("order %s not shipped", o.ID)
		}
		if want := warehouseFor(o.order); len(sh) != 1 || sh[0].Warehouse != want {
			return fmt.Errorf("order %s (%s, %s) shipped by %+v; want once by %s", o.ID, o.Region, o.Priority, sh, want)
		}
		if !s.analytics.Counted(o.ID) {
			return fmt.Errorf("order %s not counted by analytics", o.ID)
		}
		if err := trailIs(s, o.ID, statePlaced, statePaid, stateShipped); err != nil {
			return err
		}
	}
	return nil
}

// trailIs checks the states of an order's audit trail, in any order.
func trailIs(s *shop, id string, states ...string) error {
	var got []string
	for _, e := range s.audit.Trail(id) {
		if e.Order != id || e.By == "" || e.At == "" {
			return fmt.Errorf("order %s: audit entry %+v", id, e)
		}
		got = append(got, e.State)
	}
	sort.Strings(got)
	want := slices.Clone(states)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("order %s: audit trail %q; want %q", id, got, want)
	}
	return nil
}

// dlqHolds checks that payments-dlq holds exactly the payments of the
// orders in want, each once, and that the payments queue is empty.
func dlqHolds(ctx context.Context, s *shop, want map[string]bool) error {
	info, err := s.payments.queue.Info(ctx)
	if err != nil {
		return err
	}
	if n := info.Stats.Visible + info.Stats.InFlight + info.Stats.Delayed; n != 0 {
		return fmt.Errorf("payments holds %d messages", n)
	}
	msgs, err := s.payments.dlq.Peek(ctx, 100)
	if err != nil {
		return err
	}
	got := map[string]bool{}
	for _, m := range msgs {
		id := m.Headers[headerOrderID]
		if !want[id] || got[id] {
			return fmt.Errorf("payments-dlq holds a payment of order %q; want each of %d failed orders once", id, len(want))
		}
		got[id] = true
	}
	if len(got) != len(want) {
		return fmt.Errorf("payments-dlq holds %d of the %d failed payments", len(got), len(want))
	}
	return nil
}

// routeProcessed returns the messages a service's routes settled with
// success.
func routeProcessed(s *shop, service string) int64 {
	var n int64
	for _, rs := range s.routers[service].Stats() {
		n += rs.Processed
	}
	return n
}

// revenue sums the orders' amounts.
func revenue(orders []placedOrder) int64 {
	var sum int64
	for _, o := range orders {
		sum += o.AmountCents
	}
	return sum
}

// checkTraces checks that every order's first placement is one trace
// holding a span of each service, connected: every span's parent is in
// the trace. A failed payment's attempts, and the one after the redrive,
// are in the order's trace too.
func checkTraces(t *testing.T, spans tracetest.SpanStubs, orders []placedOrder) {
	t.Helper()
	byTrace := map[trace.TraceID][]tracetest.SpanStub{}
	for _, s := range spans {
		byTrace[s.SpanContext.TraceID()] = append(byTrace[s.SpanContext.TraceID()], s)
	}
	for _, o := range orders {
		id, err := trace.TraceIDFromHex(o.traceID)
		if err != nil {
			t.Fatalf("order %s: trace ID %q: %v", o.ID, o.traceID, err)
		}
		ss := byTrace[id]
		ids := map[trace.SpanID]bool{}
		count := map[string]int{}
		failedPayments := 0
		for _, s := range ss {
			ids[s.SpanContext.SpanID()] = true
			count[s.SpanKind.String()+" "+s.Name]++
			if s.Name == "process queue payments" && s.Status.Code == codes.Error {
				failedPayments++
			}
		}
		for _, s := range ss {
			if s.Parent.IsValid() && !ids[s.Parent.SpanID()] {
				t.Fatalf("order %s: span %q has a parent outside the order's trace", o.ID, s.Name)
			}
			if !s.Parent.IsValid() && s.Name != "POST /orders" {
				t.Fatalf("order %s: span %q starts a trace of its own", o.ID, s.Name)
			}
		}
		// Each hop of the order, by service.
		want := map[string]int{
			"server POST /orders":                                                 1, // front
			"client shop.orders.v1.OrderService/PlaceOrder":                       1, // front → orders (gRPC)
			"server shop.orders.v1.OrderService/PlaceOrder":                       1, // orders
			"consumer process queue payments":                                     1, // payments
			"client gateway charge":                                               1,
			"consumer process subscription order-events/" + warehouseFor(o.order): 1, // shipping
			"consumer process stream orders/analytics":                            1, // analytics
			"consumer process queue audit":                                        3, // audit: placed, paid, shipped
		}
		if o.flaky { // every receive before the DLQ failed, then the redriven one succeeded
			want["consumer process queue payments"] = paymentsMaxReceives + 1
			want["client gateway charge"] = paymentsMaxReceives*paymentsRetries + 1
		}
		// A hop the front's policy retried (an attempt that timed out on a
		// loaded machine) appears twice, and so do the stream record and
		// the event the retry repeated; the effects (payment, shipment)
		// never do.
		exact := map[string]bool{"consumer process queue payments": true, "client gateway charge": true,
			"consumer process subscription order-events/" + warehouseFor(o.order): true}
		var problems []string
		for name, n := range want {
			if c := count[name]; c < n || (exact[name] && c != n) {
				problems = append(problems, fmt.Sprintf("%d spans %q; want %d", c, name, n))
			}
		}
		for name := range count {
			if strings.HasPrefix(name, "consumer process subscription") && want[name] == 0 {
				problems = append(problems, fmt.Sprintf("shipped by the wrong warehouse: %q", name))
			}
		}
		if failedPayments != want["consumer process queue payments"]-1 {
			problems = append(problems, fmt.Sprintf("%d failed payment spans; want %d", failedPayments, want["consumer process queue payments"]-1))
		}
		if len(problems) > 0 {
			t.Fatalf("order %s (%s, %s, flaky %v), trace %s: %s\nspans: %v", o.ID, o.Region, o.Priority, o.flaky, id,
				strings.Join(problems, "; "), count)
		}
	}
}

// eventually polls check every 10ms until it returns nil, and fails the
// test with check's last error when ctx ends.
func eventually(t *testing.T, ctx context.Context, what string, check func() error) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached before the deadline: %v", what, err)
		case <-tick.C:
		}
	}
}

// apiClient calls the front's REST API.
type apiClient struct {
	base string
	http *http.Client
}

// do sends body as JSON and decodes the answer into out; an answer with
// another status than want is an error holding its body.
func (c *apiClient) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// warehouseFor is the warehouse the filters should send o to: the rule
// the filter policies of warehouses encode, written out to check them.
func warehouseFor(o order) string {
	switch {
	case o.Priority == priorityExpress:
		return "express-hub"
	case o.Region == regionEU:
		return "eu-warehouse"
	default:
		return "us-warehouse"
	}
}
