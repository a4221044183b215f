package nats_test

import (
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/conformance"
)

// TestConformanceLocal runs the suite against the NATS server on this
// machine (or $COURIER_NATS_URL), each case in a namespace of its own.
func TestConformanceLocal(t *testing.T) {
	server := localURL(t)
	urls := map[*courier.Broker]string{}
	conformance.Run(t, func(t *testing.T) *courier.Broker {
		u := withOption(server, "prefix="+newPrefix(t, server))
		b := openBroker(t, u)
		urls[b] = u
		return b
	}, conformance.Features{
		Restart: func(t *testing.T, b *courier.Broker) *courier.Broker {
			u := urls[b]
			b.Close()
			nb := openBroker(t, u)
			urls[nb] = u
			return nb
		},
	})
}

// TestConformanceInProcess runs the suite against an in-process
// nats-server; Restart restarts the server itself over its store, so the
// persistence cases test what JetStream wrote to disk.
func TestConformanceInProcess(t *testing.T) {
	srv := startServer(t, t.TempDir())
	urls := map[*courier.Broker]string{}
	conformance.Run(t, func(t *testing.T) *courier.Broker {
		u := withOption(srv.url(), "prefix="+newPrefix(t, srv.url()))
		b := openBroker(t, u)
		urls[b] = u
		return b
	}, conformance.Features{
		Restart: func(t *testing.T, b *courier.Broker) *courier.Broker {
			u := urls[b]
			b.Close()
			srv.restart()
			nb := openBroker(t, u)
			urls[nb] = u
			return nb
		},
	})
}

// TestConformanceCluster runs the suite against three clustered
// in-process servers with every stream replicated three times.
func TestConformanceCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	cl := startCluster(t, 3)
	conformance.Run(t, func(t *testing.T) *courier.Broker {
		return openBroker(t, withOption(cl.url(), "prefix="+newPrefix(t, cl.url())))
	}, conformance.Features{})
}
