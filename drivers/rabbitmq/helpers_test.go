package rabbitmq

import (
	"context"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/servicetest"
)

// urlEnv names the variable with the RabbitMQ URL the tests use.
const urlEnv = "COURIER_RABBITMQ_URL"

// serverURL returns $COURIER_RABBITMQ_URL or the local server.
func serverURL() string {
	if u := os.Getenv(urlEnv); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// namespaceURL returns the server URL with a fresh namespace, so that
// tests and parallel runs never share RabbitMQ objects, and removes the
// namespace's objects when the test ends.
func namespaceURL(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", urlEnv, err)
	}
	ns := "ct-" + servicetest.Suffix()
	q := u.Query()
	q.Set("namespace", ns)
	u.RawQuery = q.Encode()
	t.Cleanup(func() { destroyNamespace(t, u) })
	return u.String()
}

// openBroker opens a broker on a fresh namespace of the server, skipping
// the test when the server is unreachable (see servicetest.SkipOrFail).
func openBroker(t testing.TB) *courier.Broker {
	t.Helper()
	return openURL(t, namespaceURL(t, serverURL()))
}

func openURL(t testing.TB, raw string) *courier.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := courier.Open(ctx, raw)
	if err != nil {
		servicetest.SkipOrFail(t, "RabbitMQ at "+redacted(raw), urlEnv, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Redacted()
}

// destroyNamespace deletes every object of the namespace of u: the
// topics, the queues and the catalog stream.
func destroyNamespace(t testing.TB, u *url.URL) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := parseURL(u)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	c, err := dial(ctx, cfg, nil)
	if err != nil {
		return // nothing was created, or the test was skipped
	}
	defer c.Close()
	topics, _ := c.ListTopics(ctx)
	for _, n := range topics {
		if err := c.DeleteTopic(ctx, n); err != nil && !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("cleanup: delete topic %s: %v", n, err)
		}
	}
	// Queues that are dead-letter queues of others go last.
	for range 10 {
		queues, _ := c.ListQueues(ctx)
		if len(queues) == 0 {
			break
		}
		for _, n := range queues {
			if err := c.DeleteQueue(ctx, n); err != nil && !errors.Is(err, driver.ErrConflict) && !errors.Is(err, driver.ErrNotFound) {
				t.Errorf("cleanup: delete queue %s: %v", n, err)
			}
		}
	}
	if err := c.adminCall(ctx, func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(c.cat.stream, false, false, false)
		return err
	}); err != nil {
		t.Errorf("cleanup: delete catalog: %v", err)
	}
}
