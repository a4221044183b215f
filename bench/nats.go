package bench

import (
	"context"
	"errors"
	"fmt"

	_ "github.com/courier-io/courier/drivers/nats" // registers nats://
)

// The NATS peers compare courier over its nats:// driver with the
// jetstream peer, JetStream's own client doing the same work, on the same
// kind of server: an in-process nats-server with file storage in the
// run's directory (jetStreamSystem).
//
//   - jetstream, jetstream-sync: the raw client (bench/jetstream.go): a
//     work-queue stream, a durable pull consumer, PublishMsg per send,
//     FetchNoWait plus acks (DoubleAck on the last) per consume.
//   - nats-driver, nats-driver-sync: courier.Queue.Send, Receive and Ack
//     over nats:// against the same server setup: a work-queue stream
//     with the driver's consumers, one publish per send, one pull per
//     receive and the acks of a batch with one round trip.

// natsDriverSystem is courier over the NATS driver against an in-process
// JetStream server.
type natsDriverSystem struct {
	*courierSystem
	srv *jetStreamSystem
}

// openNATSDriver starts the server as openJetStream does (store in dir,
// fsync on every write with syncAlways) and opens courier on it.
func openNATSDriver(ctx context.Context, dir string, syncAlways bool) (*natsDriverSystem, error) {
	js, err := openJetStream(ctx, dir, syncAlways)
	if err != nil {
		return nil, err
	}
	// The raw client's connection is not used here.
	js.nc.Close()
	js.nc = nil
	cs, err := openCourier(ctx, js.srv.ClientURL()+"?prefix=bench&name=courier-bench")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open nats://: %w", err), js.close())
	}
	return &natsDriverSystem{courierSystem: cs, srv: js}, nil
}

// close closes the broker, then shuts the server down.
func (s *natsDriverSystem) close() error {
	return errors.Join(s.courierSystem.close(), s.srv.close())
}
