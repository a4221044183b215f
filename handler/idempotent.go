package handler

import (
	"context"
	"fmt"
	"time"

	"github.com/courier-io/courier/idempotency"
)

// Idempotent makes the handler's effect happen once per key, even when the
// source delivers a message twice (a redelivery after a crash, a duplicate
// send): it claims the key in s for lease before calling the handler,
// records it done for ttl after, and acks a message whose key is done
// without calling the handler again. A key another consumer is processing
// fails the message (ErrBusy), so it comes back after the backoff. key
// picks the key; nil uses the message ID.
//
// The claim and the handler's effect are two writes: for an effect in
// PostgreSQL, record the claim done in the same transaction as the effect
// (idempotency.Postgres.CompleteTx) instead of using this middleware.
func Idempotent(s idempotency.Store, lease, ttl time.Duration, key func(*Message) string) Middleware {
	if key == nil {
		key = func(m *Message) string { return m.ID }
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m *Message) error {
			k := key(m)
			if k == "" {
				return Permanent(fmt.Errorf("handler: message %s has no idempotency key", m.ID))
			}
			_, _, err := idempotency.Do(ctx, s, k, lease, ttl, func(ctx context.Context) ([]byte, error) {
				return nil, next.Handle(ctx, m)
			})
			return err
		})
	}
}
