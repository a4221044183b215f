package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/courier-io/courier/idempotency"
	"github.com/courier-io/courier/internal/servicetest"
)

// Every record carries a Redis TTL, so nothing needs purging: a claim
// lives a minute past its lease, a done record as long as its TTL.
func TestRedisRecordsExpire(t *testing.T) {
	t.Parallel()
	prefix := "courier-test:idem:" + servicetest.Suffix() + ":"
	client := servicetest.OpenRedis(t, prefix)
	s := idempotency.NewRedis(client, prefix)
	ctx := context.Background()
	ttl := func(key string) time.Duration {
		t.Helper()
		d, err := client.PTTL(ctx, prefix+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	c := claim(t, s, "k", 10*time.Second, idempotency.Claimed)
	if d := ttl("k"); d < 60*time.Second || d > 70*time.Second {
		t.Errorf("claim with a 10s lease has TTL %v; want lease + 1m", d)
	}
	if err := s.Complete(ctx, c, []byte("r"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := ttl("k"); d < 59*time.Minute || d > time.Hour {
		t.Errorf("done record with a 1h TTL has Redis TTL %v", d)
	}
	c = claim(t, s, "r", 10*time.Second, idempotency.Claimed)
	if err := s.Release(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Exists(ctx, prefix+"r").Result(); err != nil || n != 0 {
		t.Errorf("released key exists: %d, %v", n, err)
	}
}
