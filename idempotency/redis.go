package idempotency

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store in Redis, for consumers spread over processes and
// machines. Each key is a Redis hash at prefix+key, changed only by Lua
// scripts, so each operation is atomic, and timed by the Redis server's
// clock (consumers' clocks do not matter). Records expire by Redis TTL: a
// done record at the end of its TTL, a claim a minute after its lease ends
// (so a slow holder can still Complete if no one took over); nothing needs
// purging.
//
// Durability is Redis's: a record written just before a Redis crash may be
// lost with the default persistence settings, and a failover to a replica
// that had not received it loses it too; the key can then be processed
// again. Use Postgres (with CompleteTx) when the effect must happen exactly
// once.
type Redis struct {
	client redis.Scripter
	prefix string
}

// NewRedis returns a store that keeps its records in client under keys
// prefix+key. client is usually a *redis.Client; a *redis.ClusterClient
// works as well, since every operation touches one key. Choose a prefix
// that no other data uses, such as "myservice:idem:".
func NewRedis(client redis.Scripter, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// redisNow is the Lua prelude that reads the server's clock in
// milliseconds.
const redisNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// Fields of a record's hash: s status ("c" claimed, "d" done), t token, e
// expiry (server milliseconds), r result.
var (
	// claimScript: KEYS[1] key; ARGV token, lease ms, grace ms. Returns
	// {1, expires} claimed, {2, expires, result} done, {3, expires} busy.
	claimScript = redis.NewScript(redisNow + `
local h = redis.call('HMGET', KEYS[1], 's', 'e', 'r')
if h[1] then
  local exp = tonumber(h[2])
  if exp and exp > now then
    if h[1] == 'd' then return {2, exp, h[3]} end
    return {3, exp}
  end
  redis.call('DEL', KEYS[1])
end
local exp = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 's', 'c', 't', ARGV[1], 'e', exp)
redis.call('PEXPIREAT', KEYS[1], exp + tonumber(ARGV[3]))
return {1, exp}
`)
	// completeScript: KEYS[1] key; ARGV token, result, ttl ms. Returns 1,
	// or 0 if the claim is not held.
	completeScript = redis.NewScript(redisNow + `
local h = redis.call('HMGET', KEYS[1], 's', 't')
if h[1] ~= 'c' or h[2] ~= ARGV[1] then return 0 end
local exp = now + tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', 'd', 'r', ARGV[2], 'e', exp)
redis.call('PEXPIREAT', KEYS[1], exp)
return 1
`)
	// releaseScript: KEYS[1] key; ARGV token. Returns 1, or 0 if the claim
	// is not held.
	releaseScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 's', 't')
if h[1] ~= 'c' or h[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)
)

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, key string, lease time.Duration) (Claim, error) {
	if err := validateClaimArgs(key, lease); err != nil {
		return Claim{}, opError("redis", "claim", key, err)
	}
	token := newToken()
	res, err := claimScript.Run(ctx, r.client, []string{r.prefix + key}, token, lease.Milliseconds(), claimGrace.Milliseconds()).Slice()
	if err != nil {
		return Claim{}, opError("redis", "claim", key, err)
	}
	if len(res) < 2 {
		return Claim{}, opError("redis", "claim", key, fmt.Errorf("unexpected reply %v", res))
	}
	status, _ := res[0].(int64)
	exp, _ := res[1].(int64)
	c := Claim{Key: key, Status: Status(status), Expires: time.UnixMilli(exp)}
	switch c.Status {
	case Claimed:
		c.Token = token
	case Done:
		if len(res) > 2 {
			if s, ok := res[2].(string); ok && s != "" {
				c.Result = []byte(s)
			}
		}
	case Busy:
	default:
		return Claim{}, opError("redis", "claim", key, fmt.Errorf("unexpected reply %v", res))
	}
	return c, nil
}

// Complete implements Store.
func (r *Redis) Complete(ctx context.Context, c Claim, result []byte, ttl time.Duration) error {
	if err := validateSettle(c, result, ttl, true); err != nil {
		return opError("redis", "complete", c.Key, err)
	}
	ok, err := completeScript.Run(ctx, r.client, []string{r.prefix + c.Key}, c.Token, result, ttl.Milliseconds()).Int()
	if err != nil {
		return opError("redis", "complete", c.Key, err)
	}
	if ok != 1 {
		return opError("redis", "complete", c.Key, ErrLostClaim)
	}
	return nil
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, c Claim) error {
	if err := validateSettle(c, nil, 0, false); err != nil {
		return opError("redis", "release", c.Key, err)
	}
	ok, err := releaseScript.Run(ctx, r.client, []string{r.prefix + c.Key}, c.Token).Int()
	if err != nil {
		return opError("redis", "release", c.Key, err)
	}
	if ok != 1 {
		return opError("redis", "release", c.Key, ErrLostClaim)
	}
	return nil
}
