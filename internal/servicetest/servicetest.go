// Package servicetest opens the PostgreSQL and Redis servers that tests of
// courier's database-backed packages (idempotency, outbox) need.
//
// The servers are found through COURIER_POSTGRES_URL and COURIER_REDIS_URL
// (with local defaults). A test whose server is unreachable is skipped,
// unless COURIER_REQUIRE_SERVICES is set, which makes it a failure.
package servicetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"testing"
)

// The environment variables the helpers read.
const (
	// PostgresEnv holds the PostgreSQL URL (see PostgresURL).
	PostgresEnv = "COURIER_POSTGRES_URL"
	// RedisEnv holds the Redis URL (see RedisURL).
	RedisEnv = "COURIER_REDIS_URL"
	// RequireEnv, when set, turns an unreachable server from a skip into
	// a failure.
	RequireEnv = "COURIER_REQUIRE_SERVICES"
)

// PostgresURL returns $COURIER_POSTGRES_URL, or a local server's database
// "test" when it is unset.
func PostgresURL() string {
	if u := os.Getenv(PostgresEnv); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// RedisURL returns $COURIER_REDIS_URL, or a local server's database 0 when
// it is unset.
func RedisURL() string {
	if u := os.Getenv(RedisEnv); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// unreachable reports whether err means the server could not be reached
// (as opposed to, say, a refused login, which is a failure).
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, context.DeadlineExceeded)
}

// SkipOrFail ends the test on err, which came from reaching what (say,
// "PostgreSQL at 127.0.0.1"), configured by the variable env: it skips
// the test when the server is unreachable and RequireEnv is unset, and
// fails it otherwise.
func SkipOrFail(t testing.TB, what, env string, err error) {
	t.Helper()
	if unreachable(err) && os.Getenv(RequireEnv) == "" {
		t.Skipf("%s is unreachable (%v); set %s to point at one, or set %s=1 to make this a failure", what, err, env, RequireEnv)
	}
	t.Fatalf("%s: %v", what, err)
}

// Suffix returns a random name suffix, so that parallel and repeated runs
// use their own tables and keys.
func Suffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
