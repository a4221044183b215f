package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Peer names accepted in Config.Peers.
const (
	// PeerCourier is courier's embedded engine, file:// in a temporary
	// directory with the default sync=always: every acknowledged send and
	// ack is fdatasync'd (group commit).
	PeerCourier = "courier"
	// PeerJetStream is an in-process nats-server with a file-storage
	// work-queue stream in its default mode: writes are fsync'd only every
	// 2 minutes, so an acknowledged publish can be lost on power failure.
	PeerJetStream = "jetstream"
	// PeerJetStreamSync is the same server with sync_interval: always
	// (SyncAlways): every write is fsync'd before it is acknowledged.
	PeerJetStreamSync = "jetstream-sync"
	// PeerCourierMem is courier's engine on mem:// (no disk at all). It is
	// not in DefaultPeers; use it to separate the engine's CPU cost from the
	// cost of the disk.
	PeerCourierMem = "courier-mem"
	// PeerRabbitMQ is RabbitMQ at $COURIER_RABBITMQ_URL (default the local
	// server) used directly through amqp091-go: quorum queues, persistent
	// messages, publisher confirms (RabbitMQ fsyncs before confirming),
	// manual acks. Needs a running server.
	PeerRabbitMQ = "rabbitmq"
	// PeerCourierRabbitMQ is courier over the amqp:// driver on the same
	// server.
	PeerCourierRabbitMQ = "courier-rabbitmq"
	// PeerRedis is go-redis alone on the Redis of $COURIER_REDIS_URL
	// (default redis://127.0.0.1:6379/0): a stream with a consumer group,
	// XADD per send, XREADGROUP batches, XACK+XDEL in one pipeline. It
	// fsyncs only if the server runs appendonly yes with appendfsync
	// always.
	PeerRedis = "redis"
	// PeerCourierRedis is courier over the redis:// driver on the same
	// server.
	PeerCourierRedis = "courier-redis"
	// PeerNATSDriver is courier over its nats:// driver against an
	// in-process nats-server like PeerJetStream's (file storage, fsync
	// every 2 minutes).
	PeerNATSDriver = "nats-driver"
	// PeerNATSDriverSync is PeerNATSDriver with sync_interval: always.
	PeerNATSDriverSync = "nats-driver-sync"
)

// DriverPeers are the peers that run an existing engine, each beside
// courier over its driver: the driver's overhead is the ratio of the pair.
var DriverPeers = []string{PeerRabbitMQ, PeerCourierRabbitMQ, PeerRedis, PeerCourierRedis, PeerNATSDriver, PeerNATSDriverSync}

// DefaultPeers are the systems Queue runs when Config.Peers is empty, in
// this order.
var DefaultPeers = []string{PeerCourier, PeerJetStream, PeerJetStreamSync}

var knownPeers = append([]string{PeerCourier, PeerJetStream, PeerJetStreamSync, PeerCourierMem}, DriverPeers...)

// Config is the workload of Queue. The zero value runs the default
// workload against DefaultPeers.
type Config struct {
	// N is the number of messages published and then consumed
	// (1..10,000,000, default 20,000).
	N int
	// Size is each message body's size in bytes (8..1,000,000, default
	// 1024). The first 8 bytes carry the message's index.
	Size int
	// Producers is the number of concurrent publishers (1..1024, default 64: a service fleet, where group commit matters; report runs with fewer too).
	Producers int
	// Consumers is the number of concurrent receive-and-ack loops
	// (1..64, default 1).
	Consumers int
	// Batch is the most messages one receive returns and one ack settles
	// (1..1000, default 100).
	Batch int
	// Rate is the send rate of the latency run in messages per second
	// (1..1,000,000, default 1000).
	Rate int
	// LatencyN is the number of sends in the latency run (0..10,000,000,
	// default 2000); 0 uses the default, a negative value skips the run.
	LatencyN int
	// Peers are the systems to run, in order (default DefaultPeers). Each
	// is one of PeerCourier, PeerJetStream, PeerJetStreamSync,
	// PeerCourierMem, at most once.
	Peers []string
	// Dir is where temporary data directories are created (default
	// os.TempDir()). They are removed before Queue returns.
	Dir string
	// Timeout bounds each system's whole run (default 10 minutes); when it
	// passes, Queue stops and returns an error.
	Timeout time.Duration
	// Progress, if set, is told how each phase advances: from one goroutine
	// at a time, about every 100ms and once at the end of each phase. It
	// must not block for long: the phase is being measured meanwhile.
	Progress func(Progress)
}

// Progress is a progress report of one phase of one system.
type Progress struct {
	System string // a peer name
	Phase  string // "publish", "consume" or "latency"
	Done   int    // messages completed so far
	Total  int    // messages in the phase
}

// ParsePeers parses a comma-separated list of peer names, such as the value
// of --peers. An empty string means DefaultPeers.
func ParsePeers(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(DefaultPeers), nil
	}
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	if err := validatePeers(out); err != nil {
		return nil, err
	}
	return out, nil
}

func validatePeers(peers []string) error {
	return checkNames("peers", "peer ", peers, knownPeers)
}

// checkNames accepts names from accepted, each at most once; an unknown
// one is named after its kind ("peer ", or "" for none).
func checkNames(field, kind string, names, accepted []string) error {
	for i, n := range names {
		if !slices.Contains(accepted, n) {
			return fmt.Errorf("bench: %s: unknown %s%q; accepted are %s", field, kind, n, strings.Join(accepted, ", "))
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("bench: %s: %q is listed twice", field, n)
		}
	}
	return nil
}

// withDefaults fills in defaults and validates every field, naming the
// field and its accepted range on error.
func (c Config) withDefaults() (Config, error) {
	orDefault(&c.N, 20000)
	orDefault(&c.Size, 1024)
	orDefault(&c.Producers, 64)
	orDefault(&c.Consumers, 1)
	orDefault(&c.Batch, 100)
	orDefault(&c.Rate, 1000)
	orDefault(&c.LatencyN, 2000)
	if c.LatencyN < 0 {
		c.LatencyN = 0
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if len(c.Peers) == 0 {
		c.Peers = slices.Clone(DefaultPeers)
	}
	for _, r := range []struct {
		name     string
		v        int
		min, max int
	}{
		{"n", c.N, 1, 10_000_000},
		{"size", c.Size, 8, 1_000_000},
		{"producers", c.Producers, 1, 1024},
		{"consumers", c.Consumers, 1, 64},
		{"batch", c.Batch, 1, 1000},
		{"rate", c.Rate, 1, 1_000_000},
		{"latency-n", c.LatencyN, 0, 10_000_000},
	} {
		if r.v < r.min || r.v > r.max {
			return c, fmt.Errorf("bench: %s: %d is out of range; accepted is %d to %d", r.name, r.v, r.min, r.max)
		}
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("bench: timeout: %v is negative", c.Timeout)
	}
	if err := validatePeers(c.Peers); err != nil {
		return c, err
	}
	return c, nil
}

// bound is one numeric setting and its accepted range.
type bound struct {
	name     string
	v        int
	min, max int
}

// checkBounds returns an error naming the first setting out of its range.
func checkBounds(bounds ...bound) error {
	for _, b := range bounds {
		if b.v < b.min || b.v > b.max {
			return fmt.Errorf("bench: %s: %d is out of range; accepted is %d to %d", b.name, b.v, b.min, b.max)
		}
	}
	return nil
}

// checkDiskPeers accepts the peers of the topic and stream benchmarks:
// courier and the JetStream modes, each at most once.
func checkDiskPeers(workload string, peers []string, more ...string) error {
	accepted := append([]string{PeerCourier, PeerJetStream, PeerJetStreamSync}, more...)
	for i, p := range peers {
		if !slices.Contains(accepted, p) {
			return fmt.Errorf("bench: peers: %q: the %s benchmark runs %s", p, workload, strings.Join(accepted, ", "))
		}
		if slices.Contains(peers[:i], p) {
			return fmt.Errorf("bench: peers: %q is listed twice", p)
		}
	}
	return nil
}

// orDefault sets *v to d when it is 0 (not chosen).
func orDefault(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}
