package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	_ "github.com/courier-io/courier/drivers/redis" // registers redis://
)

// The Redis peers run against the Redis server of $COURIER_REDIS_URL
// (default redis://127.0.0.1:6379/0), each under a fresh key prefix that
// is deleted when the peer closes. Both report fsync as the server is
// configured: true only with appendonly yes and appendfsync always.
//
//   - redis: go-redis used directly, the way a Redis user builds a
//     reliable work queue: a stream with one consumer group, XADD to send,
//     XREADGROUP to receive (pending entries are the in-flight set) and
//     XACK+XDEL in one pipeline to settle a batch.
//   - courier-redis: courier over the redis:// driver on the same server.

// redisURL is the server both Redis peers use.
func redisURL() string {
	if u := os.Getenv("COURIER_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// benchPrefix returns a fresh key prefix for one run.
func benchPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "courier-bench-" + hex.EncodeToString(b[:])
}

// redisFsync reports whether the server fsyncs every write.
func redisFsync(ctx context.Context, c *redis.Client) bool {
	cfg, err := c.ConfigGet(ctx, "append*").Result()
	return err == nil && cfg["appendonly"] == "yes" && cfg["appendfsync"] == "always"
}

// deletePrefix deletes every key under prefix.
func deletePrefix(ctx context.Context, c *redis.Client, prefix string) error {
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
			keys = keys[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(keys) > 0 {
		return c.Unlink(ctx, keys...).Err()
	}
	return nil
}

// redisSystem is go-redis on a Redis stream with a consumer group.
type redisSystem struct {
	c      *redis.Client
	prefix string
}

// openRedis connects to the server; the bool reports whether it fsyncs
// every write.
func openRedis(ctx context.Context) (*redisSystem, bool, error) {
	opts, err := redis.ParseURL(redisURL())
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, false, fmt.Errorf("redis at %s: %w", opts.Addr, err)
	}
	return &redisSystem{c: c, prefix: benchPrefix()}, redisFsync(ctx, c), nil
}

// queue creates the stream name with its consumer group.
func (s *redisSystem) queue(ctx context.Context, name string) (target, error) {
	key := s.prefix + ":" + name
	if err := s.c.XGroupCreateMkStream(ctx, key, "bench", "$").Err(); err != nil {
		return nil, fmt.Errorf("create stream %s: %w", key, err)
	}
	return &redisQueue{c: s.c, key: key}, nil
}

func (s *redisSystem) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return errors.Join(deletePrefix(ctx, s.c, s.prefix), s.c.Close())
}

type redisQueue struct {
	c   *redis.Client
	key string
}

// publish is one XADD, returned once Redis answered.
func (q *redisQueue) publish(ctx context.Context, body []byte) error {
	return q.c.XAdd(ctx, &redis.XAddArgs{Stream: q.key, Values: []any{"b", body}}).Err()
}

// consume reads up to max new entries for the group (waiting up to a
// second when none is there), then acks and deletes them in one pipeline.
func (q *redisQueue) consume(ctx context.Context, max int, seen func([]byte)) (int, error) {
	args := &redis.XReadGroupArgs{Group: "bench", Consumer: "c", Streams: []string{q.key, ">"}, Count: int64(max), Block: -1}
	res, err := q.c.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) || err == nil && (len(res) == 0 || len(res[0].Messages) == 0) {
		args.Block = time.Second
		res, err = q.c.XReadGroup(ctx, args).Result()
	}
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("xreadgroup: %w", err)
	}
	if len(res) == 0 || len(res[0].Messages) == 0 {
		return 0, nil
	}
	msgs := res[0].Messages
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		b, _ := m.Values["b"].(string)
		seen([]byte(b))
		ids[i] = m.ID
	}
	_, err = q.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, q.key, "bench", ids...)
		p.XDel(ctx, q.key, ids...)
		return nil
	})
	if err != nil {
		return len(msgs), fmt.Errorf("xack: %w", err)
	}
	return len(msgs), nil
}

// courierRedisSystem is courier over the redis:// driver, deleting its
// keys when it closes.
type courierRedisSystem struct {
	*courierSystem
	c      *redis.Client
	prefix string
}

// openCourierRedis opens courier on the server under a fresh prefix; the
// bool reports whether the server fsyncs every write.
func openCourierRedis(ctx context.Context) (*courierRedisSystem, bool, error) {
	u, err := url.Parse(redisURL())
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	prefix := benchPrefix()
	q := u.Query()
	q.Set("prefix", prefix)
	u.RawQuery = q.Encode()
	s, err := openCourier(ctx, u.String())
	if err != nil {
		return nil, false, err
	}
	opts, err := redis.ParseURL(redisURL())
	if err != nil {
		_ = s.close()
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	c := redis.NewClient(opts)
	return &courierRedisSystem{courierSystem: s, c: c, prefix: prefix}, s.b.Capabilities().Persistent, nil
}

func (s *courierRedisSystem) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return errors.Join(s.courierSystem.close(), deletePrefix(ctx, s.c, s.prefix), s.c.Close())
}
