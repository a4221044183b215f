package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
)

// auditRuleName is the bus rule that feeds the audit trail.
const auditRuleName = "audit-trail"

// auditRule matches every order state change any service puts on the
// default bus (source "shop.*", a resource "order/...") and delivers it to
// the audit queue reshaped by an input transformer: the audit service gets
// a small entry, not the whole envelope, and needs to know nothing about
// the services that produce the events. A new service adds events without
// touching the rule; a new consumer adds a rule without touching them.
func auditRule(queue string) courier.Rule {
	return courier.Rule{
		Description: "order state changes, as audit entries",
		Pattern:     json.RawMessage(`{"source": [{"prefix": "shop."}], "resources": [{"prefix": "order/"}]}`),
		Targets: []courier.Target{{
			ID: "audit-queue", Kind: courier.TargetQueue, Queue: queue,
			InputTransformer: &courier.InputTransformer{
				InputPaths: map[string]string{
					"order": "$.detail.order_id", "state": "$.detail-type", "by": "$.source", "at": "$.time",
					"warehouse": "$.detail.warehouse", "charge": "$.detail.charge_id",
				},
				Template: `{"order": <order>, "state": <state>, "by": <by>, "at": <at>, "warehouse": <warehouse>, "charge": <charge>}`,
			},
		}},
	}
}

// auditEntry is one line of an order's audit trail: what the input
// transformer of auditRule makes of an event.
type auditEntry struct {
	Order     string `json:"order"`
	State     string `json:"state"`
	By        string `json:"by"`
	At        string `json:"at"`
	Warehouse string `json:"warehouse,omitempty"`
	Charge    string `json:"charge,omitempty"`
}

// audit keeps every order's trail: a worker on the audit queue, which the
// bus rule fills. Its trails live in memory (a real one would write them
// to a database).
type audit struct {
	queue *courier.Queue

	mu         sync.Mutex
	trails     map[string][]auditEntry // by order ID, in arrival order, one entry per state
	deliveries int                     // entries received, repeats included
}

// route adds the audit worker to r.
func (a *audit) route(r *handler.Router) error {
	return r.Handle(handler.Queue(a.queue), handler.HandlerFunc(a.handle), handler.Concurrency(4))
}

// handle appends one entry to its order's trail. The bus delivers at least
// once and a retried producer may put an event twice, so an entry for a
// state the trail already has is dropped.
func (a *audit) handle(ctx context.Context, m *handler.Message) error {
	var e auditEntry
	if err := json.Unmarshal(m.Body, &e); err != nil || e.Order == "" || e.State == "" {
		return handler.Permanent(fmt.Errorf("audit: not an audit entry: %.200q", m.Body))
	}
	annotate(ctx, e.Order)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.trails == nil {
		a.trails = map[string][]auditEntry{}
	}
	a.deliveries++
	for _, have := range a.trails[e.Order] {
		if have.State == e.State {
			return nil
		}
	}
	a.trails[e.Order] = append(a.trails[e.Order], e)
	return nil
}

// Trail returns the order's trail (nil for an unknown order).
func (a *audit) Trail(orderID string) []auditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]auditEntry(nil), a.trails[orderID]...)
}

// auditStats count the audit trail.
type auditStats struct {
	Orders     int            `json:"orders"`
	Entries    int            `json:"entries"`
	Deliveries int            `json:"deliveries"` // entries received, repeats included
	ByState    map[string]int `json:"by_state"`
}

// Stats returns the audit counters.
func (a *audit) Stats() auditStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := auditStats{Orders: len(a.trails), Deliveries: a.deliveries, ByState: map[string]int{}}
	for _, t := range a.trails {
		s.Entries += len(t)
		for _, e := range t {
			s.ByState[e.State]++
		}
	}
	return s
}
