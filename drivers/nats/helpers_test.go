package nats_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier"
	_ "github.com/courier-io/courier/drivers/nats"
	"github.com/courier-io/courier/internal/servicetest"
)

// URLEnv names the variable holding the NATS server the tests use.
const URLEnv = "COURIER_NATS_URL"

// localURL returns $COURIER_NATS_URL or the local server, skipping (or
// failing, with COURIER_REQUIRE_SERVICES) when nothing listens there.
func localURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(URLEnv)
	if raw == "" {
		raw = "nats://127.0.0.1:4222"
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", URLEnv, err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		servicetest.SkipOrFail(t, "NATS at "+u.Host, URLEnv, err)
	}
	c.Close()
	return raw
}

// withOption adds a query option to a URL.
func withOption(raw, kv string) string {
	if strings.Contains(raw, "?") {
		return raw + "&" + kv
	}
	return raw + "?" + kv
}

// newPrefix returns a fresh namespace and deletes everything in it at the
// end of the test.
func newPrefix(t testing.TB, serverURL string) string {
	t.Helper()
	prefix := "t" + servicetest.Suffix()
	t.Cleanup(func() { cleanupPrefix(t, serverURL, prefix) })
	return prefix
}

// cleanupPrefix deletes the streams and the bucket of one namespace.
func cleanupPrefix(t testing.TB, serverURL, prefix string) {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	addr := "nats://" + u.Host
	var opts []nats.Option
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			opts = append(opts, nats.UserInfo(u.User.Username(), p))
		}
	}
	if s := u.Query().Get("servers"); s != "" {
		for _, h := range strings.Split(s, ",") {
			addr += ",nats://" + h
		}
	}
	nc, err := nats.Connect(addr, opts...)
	if err != nil {
		t.Logf("cleanup of %s: %v", prefix, err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var names []string
	l := js.StreamNames(ctx)
	for n := range l.Name() {
		if strings.HasPrefix(n, prefix+"_") || n == "KV_"+prefix+"_meta" {
			names = append(names, n)
		}
	}
	for _, n := range names {
		if err := js.DeleteStream(ctx, n); err != nil {
			t.Logf("cleanup: delete stream %s: %v", n, err)
		}
	}
}

// openBroker opens rawURL and closes the broker at the end of the test.
func openBroker(t testing.TB, rawURL string) *courier.Broker {
	t.Helper()
	b, err := courier.Open(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
