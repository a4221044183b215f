package redis_test

import (
	"net/url"
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/conformance"
	_ "github.com/courier-io/courier/drivers/redis"
	"github.com/courier-io/courier/internal/servicetest"
)

// serverURL returns the URL of the test server ($COURIER_REDIS_URL or a
// local one) with a fresh key prefix, whose keys are deleted when the test
// ends. It skips or fails the test when the server is unreachable.
func serverURL(t *testing.T) string {
	t.Helper()
	prefix := "courier-test-" + servicetest.Suffix()
	servicetest.OpenRedis(t, prefix)
	return withPrefix(t, servicetest.RedisURL(), prefix)
}

func withPrefix(t testing.TB, raw, prefix string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("prefix", prefix)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, rawURL string) *courier.Broker {
	t.Helper()
	b, err := courier.Open(t.Context(), rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) *courier.Broker {
		return open(t, serverURL(t))
	}, conformance.Features{})
}

// TestConformanceDurable runs the suite against a redis-server of its own
// that fsyncs every write (appendfsync always), so the driver declares
// Persistent; the restart of the persistence cases kills the server with
// SIGKILL and starts it again on its data.
func TestConformanceDurable(t *testing.T) {
	srv := startServer(t)
	urls := map[*courier.Broker]string{}
	openAt := func(t *testing.T, u string) *courier.Broker {
		b := open(t, u)
		if !b.Capabilities().Persistent {
			t.Fatal("a server with appendfsync always is not declared persistent")
		}
		urls[b] = u
		return b
	}
	conformance.Run(t, func(t *testing.T) *courier.Broker {
		return openAt(t, srv.URL("courier-test-"+servicetest.Suffix()))
	}, conformance.Features{
		Restart: func(t *testing.T, b *courier.Broker) *courier.Broker {
			u := urls[b]
			b.Close()
			srv.restart()
			return openAt(t, u)
		},
	})
}
