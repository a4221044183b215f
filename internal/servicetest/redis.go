package servicetest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// OpenRedis returns a client of RedisURL, closed at the end of the test,
// and deletes the keys under prefix then. It skips or fails the test (see
// SkipOrFail) when the server cannot be reached.
func OpenRedis(t testing.TB, prefix string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("%s: %v", RedisEnv, err)
	}
	opts.MaxRetries = -1 // report unreachable servers at once
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		SkipOrFail(t, "Redis at "+opts.Addr, RedisEnv, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("redis cleanup of %s*: %v", prefix, err)
		}
		_ = c.Close()
	})
	return c
}
