package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// errIssuerUnavailable is the gateway's answer for a card whose issuer it
// cannot reach: a transient failure of that one card, not of the gateway.
var errIssuerUnavailable = errors.New("gateway: the card's issuer is unavailable, try again later")

// gateway is a fake payment gateway. Charges of the card failCard fail
// with errIssuerUnavailable until the card is changed (SetFailCard("")
// "fixes" it): that is how the shop injects payment failures. It charges
// every call it gets: not charging an order twice is the caller's job,
// and the gateway keeps every charge per order so that a test can see
// whether the caller did it.
type gateway struct {
	mu       sync.Mutex
	failCard string
	charges  map[string][]charge // by order ID
	failures int                 // calls that failed
}

// charge is one captured payment.
type charge struct {
	ID          string `json:"charge_id"`
	AmountCents int64  `json:"amount_cents"`
}

// newGateway returns a gateway that fails the charges of failCard ("" for
// none).
func newGateway(failCard string) *gateway {
	return &gateway{failCard: failCard, charges: map[string][]charge{}}
}

// Charge charges amountCents to card for the order and returns the
// charge's ID. It fails with errIssuerUnavailable for the failing card,
// and with ctx's error when ctx has ended.
func (g *gateway) Charge(ctx context.Context, orderID, card string, amountCents int64) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failCard != "" && card == g.failCard {
		g.failures++
		return "", errIssuerUnavailable
	}
	n := 0
	for _, cs := range g.charges {
		n += len(cs)
	}
	c := charge{ID: fmt.Sprintf("ch-%06d", n+1), AmountCents: amountCents}
	g.charges[orderID] = append(g.charges[orderID], c)
	return c.ID, nil
}

// SetFailCard makes the charges of card fail from now on; "" fixes the
// gateway.
func (g *gateway) SetFailCard(card string) {
	g.mu.Lock()
	g.failCard = card
	g.mu.Unlock()
}

// Charges returns the charges of an order: one, once it is paid.
func (g *gateway) Charges(orderID string) []charge {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]charge(nil), g.charges[orderID]...)
}

// gatewayStats summarise the gateway's work.
type gatewayStats struct {
	FailCard       string `json:"fail_card"`
	Charges        int    `json:"charges"`
	Orders         int    `json:"orders"`          // orders charged
	ChargedTwice   int    `json:"charged_twice"`   // orders charged more than once: 0 when payments are idempotent
	RevenueCents   int64  `json:"revenue_cents"`   // all charges
	FailedAttempts int    `json:"failed_attempts"` // charges refused
}

// Stats returns the gateway's counters.
func (g *gateway) Stats() gatewayStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := gatewayStats{FailCard: g.failCard, Orders: len(g.charges), FailedAttempts: g.failures}
	for _, cs := range g.charges {
		s.Charges += len(cs)
		if len(cs) > 1 {
			s.ChargedTwice++
		}
		for _, c := range cs {
			s.RevenueCents += c.AmountCents
		}
	}
	return s
}
