package main

import (
	"context"
	"sync"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/idempotency"
	"github.com/courier-io/courier/resilience"
)

// warehouse is one consumer of the order-events topic: a durable
// subscription whose filter policy (on the message headers) picks the paid
// orders it ships. The filters split the orders: each paid order matches
// exactly one warehouse.
type warehouse struct {
	name   string // the subscription's name
	filter string // an SNS filter policy
}

// warehouses are the shop's warehouses: standard orders ship from their
// region's warehouse, express orders from the express hub.
var warehouses = []warehouse{
	{name: "eu-warehouse", filter: `{"event": ["Order Paid"], "region": ["eu"], "priority": ["standard"]}`},
	{name: "us-warehouse", filter: `{"event": ["Order Paid"], "region": ["us"], "priority": ["standard"]}`},
	{name: "express-hub", filter: `{"event": ["Order Paid"], "priority": ["express"]}`},
}

// shipping ships paid orders: one route per warehouse subscription. A
// warehouse ships an order once (an idempotency record per warehouse and
// order) and puts "Order Shipped" on the bus.
type shipping struct {
	topic  *courier.Topic
	bus    *courier.Bus
	store  idempotency.Store
	policy *resilience.Policy // its calls to the broker

	mu        sync.Mutex
	shipments map[string][]shipment // by order ID: more than one is a bug
}

// shipment is an order leaving a warehouse.
type shipment struct {
	Warehouse string    `json:"warehouse"`
	At        time.Time `json:"at"`
}

// routes adds one route per warehouse to r.
func (s *shipping) routes(r *handler.Router) error {
	for _, w := range warehouses {
		err := r.Handle(handler.Subscription(s.topic.Subscription(w.name)), s.handler(w.name), handler.Concurrency(4))
		if err != nil {
			return err
		}
	}
	return nil
}

// handler returns the handler of warehouse name: ship the order once
// (idempotency.Do: claim → ship → record), then announce it. When the
// announcement fails the message comes back, finds the shipment done and
// only announces again (the audit trail counts an event once); a paid
// order delivered twice is shipped once.
func (s *shipping) handler(name string) handler.HandlerFunc {
	return func(ctx context.Context, m *handler.Message) error {
		o, err := decodeOrder(m.Body)
		if err != nil {
			return handler.Permanent(err)
		}
		annotate(ctx, o.ID)
		_, _, err = idempotency.Do(ctx, s.store, "ship/"+name+"/"+o.ID, idempotencyLease, idempotencyTTL,
			func(ctx context.Context) ([]byte, error) {
				s.ship(o.ID, name)
				return nil, nil
			})
		if err != nil {
			return err
		}
		return putEvent(ctx, s.bus, s.policy, sourceShipping, stateShipped, o, func(d *stateDetail) { d.Warehouse = name })
	}
}

// ship records that warehouse shipped the order (a real one would call
// the warehouse's API).
func (s *shipping) ship(orderID, warehouse string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shipments == nil {
		s.shipments = map[string][]shipment{}
	}
	s.shipments[orderID] = append(s.shipments[orderID], shipment{Warehouse: warehouse, At: time.Now().UTC()})
}

// Shipments returns the shipments of an order.
func (s *shipping) Shipments(orderID string) []shipment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]shipment(nil), s.shipments[orderID]...)
}

// shippingStats count shipments per warehouse.
type shippingStats struct {
	Orders      int            `json:"orders"`
	Shipments   int            `json:"shipments"` // equals orders, unless an order was shipped twice
	ByWarehouse map[string]int `json:"by_warehouse"`
}

// Stats returns the shipping counters.
func (s *shipping) Stats() shippingStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := shippingStats{Orders: len(s.shipments), ByWarehouse: map[string]int{}}
	for _, w := range warehouses {
		st.ByWarehouse[w.name] = 0
	}
	for _, ss := range s.shipments {
		st.Shipments += len(ss)
		for _, sh := range ss {
			st.ByWarehouse[sh.Warehouse]++
		}
	}
	return st
}
