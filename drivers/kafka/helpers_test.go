package kafka_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/courier-io/courier"
	_ "github.com/courier-io/courier/drivers/kafka"
	"github.com/courier-io/courier/internal/servicetest"
)

// URLEnv names the variable holding a real Kafka cluster for the tests
// that run against one (kafka://host:port[,host:port][?options]).
const URLEnv = "COURIER_KAFKA_URL"

// cluster is an in-process kfake cluster that keeps its data in a
// directory, so that it can be restarted over it on the same ports.
type cluster struct {
	t     testing.TB
	dir   string
	opts  []kfake.Opt
	mu    sync.Mutex
	c     *kfake.Cluster
	ports []int
}

// startCluster starts n brokers on loopback, stopped at the end of the test.
func startCluster(t testing.TB, n int, opts ...kfake.Opt) *cluster {
	t.Helper()
	cl := &cluster{t: t, dir: t.TempDir(), opts: opts}
	all := append([]kfake.Opt{kfake.NumBrokers(n), kfake.DataDir(cl.dir), kfake.SyncWrites(), kfake.GroupMinSessionTimeout(time.Second)}, opts...)
	c, err := kfake.NewCluster(all...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	cl.c = c
	for _, a := range c.ListenAddrs() {
		_, p, _ := net.SplitHostPort(a)
		port, _ := strconv.Atoi(p)
		cl.ports = append(cl.ports, port)
	}
	t.Cleanup(func() {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		cl.c.Close()
	})
	return cl
}

// url returns the cluster's kafka:// URL.
func (cl *cluster) url() string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return "kafka://" + strings.Join(cl.c.ListenAddrs(), ",")
}

// restart stops the cluster and starts it again over its data directory
// on the same ports.
func (cl *cluster) restart() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.c.Close()
	all := append([]kfake.Opt{kfake.Ports(cl.ports...), kfake.DataDir(cl.dir), kfake.SyncWrites(), kfake.GroupMinSessionTimeout(time.Second)}, cl.opts...)
	var err error
	for range 50 { // the old listeners may take a moment to release the ports
		if cl.c, err = kfake.NewCluster(all...); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	cl.t.Fatalf("kfake restart: %v", err)
}

// withOption adds a query option to a URL.
func withOption(raw, kv string) string {
	if strings.Contains(raw, "?") {
		return raw + "&" + kv
	}
	return raw + "?" + kv
}

// newPrefix returns a fresh namespace for one test.
func newPrefix() string { return "t" + servicetest.Suffix() + "." }

// openBroker opens rawURL and closes the broker at the end of the test.
func openBroker(t testing.TB, rawURL string) *courier.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := courier.Open(ctx, rawURL)
	if err != nil {
		t.Fatalf("open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// realURL returns $COURIER_KAFKA_URL, skipping the test when it is unset
// and failing it when it is set but unreachable and COURIER_REQUIRE_SERVICES
// is set.
func realURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(URLEnv)
	if raw == "" {
		if os.Getenv(servicetest.RequireEnv) != "" {
			t.Logf("%s is unset: no real Kafka cluster on this machine; the suite runs against kfake", URLEnv)
		}
		t.Skipf("set %s to run against a real Kafka cluster", URLEnv)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", URLEnv, err)
	}
	host := strings.Split(u.Host, ",")[0]
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		servicetest.SkipOrFail(t, "Kafka at "+host, URLEnv, err)
	}
	c.Close()
	return raw
}

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// hosts returns the broker addresses of a kafka:// URL.
func hosts(u *url.URL) []string { return strings.Split(u.Host, ",") }

// startClusterForExample starts a one-broker in-memory kfake cluster.
func startClusterForExample() *kfake.Cluster {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		panic(err)
	}
	return c
}
