package bench

import (
	"context"
	"fmt"
)

// openPeer opens the system named peer with its data in dir and reports
// whether it fsyncs every acknowledged write.
func openPeer(ctx context.Context, peer, dir string) (system, bool, error) {
	switch peer {
	case PeerCourier:
		s, err := openCourier(ctx, "file://"+dir)
		return s, true, err
	case PeerCourierMem:
		s, err := openCourier(ctx, "mem://")
		return s, false, err
	case PeerJetStream:
		s, err := openJetStream(ctx, dir, false)
		return s, false, err
	case PeerJetStreamSync:
		s, err := openJetStream(ctx, dir, true)
		return s, true, err
	case PeerRabbitMQ:
		s, err := openRabbitMQ(ctx)
		return s, true, err
	case PeerCourierRabbitMQ:
		s, err := openCourierRabbitMQ(ctx)
		return s, true, err
	case PeerNATSDriver:
		s, err := openNATSDriver(ctx, dir, false)
		return s, false, err
	case PeerNATSDriverSync:
		s, err := openNATSDriver(ctx, dir, true)
		return s, true, err
	case PeerRedis:
		return openRedis(ctx)
	case PeerCourierRedis:
		return openCourierRedis(ctx)
	}
	return nil, false, fmt.Errorf("unknown peer %q", peer)
}
