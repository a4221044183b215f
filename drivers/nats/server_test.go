package nats_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServer is an in-process nats-server with JetStream on file storage.
type natsServer struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// startServer starts a server storing in dir on a free loopback port; the
// test's cleanup shuts it down.
func startServer(t testing.TB, dir string) *natsServer {
	t.Helper()
	s := &natsServer{t: t, opts: server.Options{
		ServerName: "courier-test", Host: "127.0.0.1", Port: server.RANDOM_PORT,
		NoLog: true, NoSigs: true, JetStream: true, StoreDir: dir, DisableJetStreamBanner: true,
	}}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *natsServer) start() {
	s.t.Helper()
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		s.t.Fatal("nats-server: not ready for connections after 10s")
	}
	s.srv = srv
	// A restart listens on the same port, so clients reconnect to it.
	s.opts.Port = srv.Addr().(*net.TCPAddr).Port
	if s.opts.Cluster.Name != "" {
		s.opts.Cluster.Port = srv.ClusterAddr().Port
	}
}

// stop shuts the server down and waits; it is idempotent.
func (s *natsServer) stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// restart stops the server and starts it again over the same store.
func (s *natsServer) restart() {
	s.stop()
	s.start()
}

func (s *natsServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.opts.Port) }

// url is the courier URL of the server.
func (s *natsServer) url() string { return "nats://" + s.addr() }

// cluster is three in-process servers forming one JetStream cluster.
type cluster struct {
	nodes []*natsServer
}

// clusterEnv turns on the tests that start a JetStream cluster.
const clusterEnv = "COURIER_NATS_CLUSTER"

// startCluster starts n clustered servers and waits until JetStream has
// a meta leader. The cluster's Raft elections time out when the machine
// is starved (a 2-core machine running the rest of the suite at once), so
// these tests run only with COURIER_NATS_CLUSTER set: .ci/run runs them
// in a step of their own.
func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	if os.Getenv(clusterEnv) == "" {
		t.Skipf("starts a %d-node JetStream cluster, which needs the machine to itself: set %s=1 (.ci/run does, in its own step)", n, clusterEnv)
	}
	c := &cluster{}
	ports := freePorts(t, n)
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(p))
	}
	for i := range n {
		s := &natsServer{t: t, opts: server.Options{
			ServerName: fmt.Sprintf("courier-node-%d", i), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			NoLog: true, NoSigs: true, JetStream: true, StoreDir: t.TempDir(), DisableJetStreamBanner: true,
			Cluster: server.ClusterOpts{Name: "courier-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}}
		s.start()
		t.Cleanup(s.stop)
		c.nodes = append(c.nodes, s)
	}
	c.waitReady(t)
	return c
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// waitReady polls until the cluster answers JetStream requests.
func (c *cluster) waitReady(t testing.TB) {
	t.Helper()
	nc, err := nats.Connect(c.serverList(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster has no JetStream meta leader after 30s: %v", err)
		}
		waitFor(50 * time.Millisecond)
	}
}

func (c *cluster) serverList() string {
	var s []string
	for _, n := range c.nodes {
		if n.srv != nil {
			s = append(s, "nats://"+n.addr())
		}
	}
	return strings.Join(s, ",")
}

// url is a courier URL naming every node, with replicas=n.
func (c *cluster) url() string {
	var others []string
	for _, n := range c.nodes[1:] {
		others = append(others, n.addr())
	}
	return fmt.Sprintf("nats://%s?servers=%s&replicas=%d", c.nodes[0].addr(), strings.Join(others, ","), len(c.nodes))
}

// waitFor pauses a polling loop between two looks at observable state.
func waitFor(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}
