package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/courier-io/courier"
)

// order is what every service knows about an order. It travels as JSON in
// message bodies; the fields that route it (region, priority) also travel
// as headers where a filter policy needs them.
type order struct {
	ID          string `json:"order_id"`
	Customer    string `json:"customer"`
	AmountCents int64  `json:"amount_cents"`
	Region      string `json:"region"`         // "eu" or "us": which warehouse ships standard orders
	Priority    string `json:"priority"`       // "standard" or "express": express orders ship from the express hub
	Card        string `json:"card,omitempty"` // a card token for the payment gateway; only payments sees it
}

// The regions and priorities an order may have.
const (
	regionEU         = "eu"
	regionUS         = "us"
	priorityStandard = "standard"
	priorityExpress  = "express"
)

// maxAmountCents bounds an order's amount (a million euros).
const maxAmountCents = 100_000_000

// idRE is what order and customer IDs look like.
var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// validate checks o once, at the orders service, the boundary where orders
// enter the system; it names the offending field (and wraps
// courier.ErrInvalid, like the library's own validation).
func (o order) validate() error {
	switch {
	case !idRE.MatchString(o.ID):
		return invalid("order_id", "%q is not 1-64 letters, digits, '-' or '_'", o.ID)
	case !idRE.MatchString(o.Customer):
		return invalid("customer", "%q is not 1-64 letters, digits, '-' or '_'", o.Customer)
	case o.AmountCents < 1 || o.AmountCents > maxAmountCents:
		return invalid("amount_cents", "%d is out of range 1..%d", o.AmountCents, maxAmountCents)
	case o.Region != regionEU && o.Region != regionUS:
		return invalid("region", "%q is neither %q nor %q", o.Region, regionEU, regionUS)
	case o.Priority != priorityStandard && o.Priority != priorityExpress:
		return invalid("priority", "%q is neither %q nor %q", o.Priority, priorityStandard, priorityExpress)
	case o.Card == "":
		return invalid("card", "is empty")
	}
	return nil
}

// invalid returns a *courier.ValidationError for field: it matches
// courier.ErrInvalid, and the orders service answers it with
// InvalidArgument.
func invalid(field, format string, args ...any) error {
	return &courier.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// newOrderID returns a random order ID, for clients that do not name
// their order.
func newOrderID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "ord-" + hex.EncodeToString(b[:])
}

// decodeOrder parses a message body holding an order. A body that is not
// one can never succeed: the caller marks the error permanent.
func decodeOrder(body []byte) (order, error) {
	var o order
	if err := json.Unmarshal(body, &o); err != nil {
		return order{}, fmt.Errorf("not an order: %w", err)
	}
	if o.ID == "" {
		return order{}, fmt.Errorf("not an order: no order_id in %.100q", body)
	}
	return o, nil
}

// mustJSON encodes v, which is one of this package's plain structs and
// always encodes.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("shop: encoding %T: %v", v, err)) // a bug, not bad input
	}
	return b
}

// orderIDAttr is the span attribute naming the order a span works on, so
// that the spans of an order can be found by its ID as well as by trace.
const orderIDAttr = "shop.order_id"

// annotate labels ctx's span (the handler's "process ..." span, or an RPC
// span) with the order it works on.
func annotate(ctx context.Context, orderID string) {
	trace.SpanFromContext(ctx).SetAttributes(attribute.String(orderIDAttr, orderID))
}

// Headers of the messages and records the services exchange.
const (
	headerOrderID  = "order-id"
	headerRegion   = "region"
	headerPriority = "priority"
	headerEvent    = "event"
)

// The bus events of an order's life, as detail-types; the audit trail
// lists them.
const (
	statePlaced  = "Order Placed"
	statePaid    = "Order Paid"
	stateShipped = "Order Shipped"
)

// The sources of the bus events: one per service.
const (
	sourceOrders   = "shop.orders"
	sourcePayments = "shop.payments"
	sourceShipping = "shop.shipping"
)
