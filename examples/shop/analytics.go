package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
)

// analyticsGroup is the consumer group analytics reads the orders stream
// in. Another group (a fraud model, a data lake loader) would read the
// same records independently, from its own offsets.
const analyticsGroup = "analytics"

// analytics keeps running totals of the orders placed: a member of a
// consumer group on the orders stream. Its view lives in memory and is
// rebuilt from the stream at every start (see join): a stream keeps its
// records for replay, which a queue does not.
type analytics struct {
	stream *courier.Stream
	logger *slog.Logger

	mu     sync.Mutex
	orders map[string]order // by ID: a record read twice, or appended twice by a retry, counts once
}

// join resets the group to the start of the stream, so that the view is
// rebuilt from every retained record, and joins it as member. When the
// group still has members (another process, or this one restarted within
// the members' session timeout), the reset is refused and the view starts
// from the committed offsets instead; join logs that and goes on.
func (a *analytics) join(ctx context.Context, member string) (*courier.Consumer, error) {
	g := a.stream.Group(analyticsGroup)
	if _, err := g.ResetOffsets(ctx, courier.Earliest()); err != nil {
		if !errors.Is(err, courier.ErrNotFound) { // no group yet: it starts at the earliest record anyway
			a.logger.Warn("analytics: cannot replay the stream from its start; totals count from the committed offsets", "err", err)
		}
	}
	c, err := g.Join(ctx, member)
	if err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	return c, nil
}

// route adds the analytics member to r: the records of each partition (one
// customer's orders) in order, partitions in parallel; offsets are
// committed after each batch.
func (a *analytics) route(r *handler.Router, c *courier.Consumer) error {
	return r.Handle(handler.StreamGroup(c, a.stream.Name(), analyticsGroup), handler.HandlerFunc(a.handle),
		handler.Concurrency(4))
}

// handle counts one OrderPlaced record.
func (a *analytics) handle(ctx context.Context, m *handler.Message) error {
	o, err := decodeOrder(m.Body)
	if err != nil {
		return handler.Permanent(err) // logged and skipped: the route has no dead-letter queue
	}
	annotate(ctx, o.ID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.orders == nil {
		a.orders = map[string]order{}
	}
	a.orders[o.ID] = o
	return nil
}

// regionTotals are the totals of one region.
type regionTotals struct {
	Orders       int   `json:"orders"`
	RevenueCents int64 `json:"revenue_cents"`
}

// analyticsStats are the totals of the orders placed (paid or not).
type analyticsStats struct {
	Orders       int                     `json:"orders"`
	RevenueCents int64                   `json:"revenue_cents"`
	Express      int                     `json:"express"`
	ByRegion     map[string]regionTotals `json:"by_region"`
}

// Stats returns the totals.
func (a *analytics) Stats() analyticsStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := analyticsStats{Orders: len(a.orders), ByRegion: map[string]regionTotals{}}
	for _, o := range a.orders {
		s.RevenueCents += o.AmountCents
		if o.Priority == priorityExpress {
			s.Express++
		}
		rt := s.ByRegion[o.Region]
		rt.Orders++
		rt.RevenueCents += o.AmountCents
		s.ByRegion[o.Region] = rt
	}
	return s
}

// Counted reports whether the order was counted.
func (a *analytics) Counted(orderID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.orders[orderID]
	return ok
}
