package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

// The gateway benchmark behind `courier bench gateway`: what courier's
// server (package server, as `courier serve` runs it) adds over a bare
// server that does no work, for one small send over gRPC and over REST,
// and how fast it fans out to WebSocket subscribers and how much memory an
// idle subscriber costs it. Everything runs in this process on loopback.
// gateway_calls.go holds the call workloads, gateway_ws.go the fan-out.

// Systems and protocols of GatewayResult.
const (
	// SystemBare is the reference of the call workloads: a server doing no
	// work on the same call shape (a grpc-go server, a net/http server).
	SystemBare = "bare"
	// SystemConnect is a second reference of the gRPC workload: a
	// connect-go QueueService handler doing no work, on a net/http server
	// with h2c, as courier's server is built. Between it and SystemBare is
	// the cost of that HTTP/2 and gRPC stack; between it and courier, the
	// cost of courier's handlers, guard and engine.
	SystemConnect = "connect"

	// ProtocolGRPC is QueueService.Send over gRPC (h2c), called with a
	// grpc-go client.
	ProtocolGRPC = "grpc"
	// ProtocolREST is POST /v1/queues/{name}/messages with one message,
	// over HTTP/1.1 keep-alive with a net/http client.
	ProtocolREST = "rest"
	// ProtocolWS is the WebSocket fan-out: topic subscribers on GET /v1/ws.
	ProtocolWS = "ws"
)

// Backends of the courier server in GatewayConfig.Backend.
const (
	// BackendMem is mem://: no disk, so the benchmark measures the
	// gateway, not the disk.
	BackendMem = "mem"
	// BackendFile is file:// in a temporary directory, sync=always: every
	// acknowledged send is fdatasync'd.
	BackendFile = "file"
)

// Targets of `courier bench gateway`, from the issue.
const (
	// TargetGatewayAddedP50us is the most courier may add to the bare
	// server's p50 latency on the same call shape, in microseconds.
	TargetGatewayAddedP50us = 50
	// TargetWSDeliveriesPerSec is the least WebSocket fan-out rate with
	// 1,000 subscribers.
	TargetWSDeliveriesPerSec = 200_000
	// TargetWSBytesPerIdleConn is the most memory (live heap and goroutine
	// stacks) the server may hold per idle subscribed connection: 20 KiB.
	TargetWSBytesPerIdleConn = 20 << 10
)

// GatewayConfig is the workload of Gateway. The zero value runs the
// default workload: 10,000 calls per system and protocol, 1,000
// WebSocket subscribers.
type GatewayConfig struct {
	// N is the number of measured calls per system and protocol in each of
	// the latency run and the throughput run (1..10,000,000, default
	// 10,000).
	N int
	// Warmup is the number of calls per system and protocol before
	// measuring (0..1,000,000, default 1000); 0 uses the default, a
	// negative value skips the warm-up.
	Warmup int
	// Concurrency is the number of clients of the throughput run, each
	// with one call in flight (1..1024, default 32). gRPC clients share one
	// connection, as a grpc-go client does; REST clients each keep their
	// own HTTP/1.1 connection alive.
	Concurrency int
	// Size is the body size in bytes of each message sent or published
	// (8..65,536, default 64). The body is ASCII text; in the fan-out, its
	// first 8 bytes carry the message's index in decimal.
	Size int
	// Subscribers is the number of WebSocket connections, each subscribed
	// once to the fan-out topic (1..10,000, default 1000).
	Subscribers int
	// Messages is the number of messages published to the fan-out topic;
	// every subscriber receives each (1..100,000, default 1000).
	Messages int
	// Backend is the courier server's backend: BackendMem (default) or
	// BackendFile.
	Backend string
	// Dir is where the temporary data directory of BackendFile is created
	// (default os.TempDir()). It is removed before Gateway returns.
	Dir string
	// Timeout bounds the whole run (default 10 minutes).
	Timeout time.Duration
	// Progress is called as in Config. The systems and phases are
	// "courier-ws"/"connect" (subscribers connected), "courier-ws"/"fan-out"
	// (Done and Total count deliveries to all subscribers), then for each
	// protocol P "P"/"latency" (the calls to all systems, interleaved) and
	// "S-P"/"throughput" for each system S in turn.
	Progress func(Progress)
}

func (c GatewayConfig) withDefaults() (GatewayConfig, error) {
	orDefault(&c.N, 10_000)
	orDefault(&c.Warmup, 1000)
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	orDefault(&c.Concurrency, 32)
	orDefault(&c.Size, 64)
	orDefault(&c.Subscribers, 1000)
	orDefault(&c.Messages, 1000)
	if c.Backend == "" {
		c.Backend = BackendMem
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if err := checkBounds(
		bound{"n", c.N, 1, 10_000_000}, bound{"warmup", c.Warmup, 0, 1_000_000},
		bound{"concurrency", c.Concurrency, 1, 1024}, bound{"size", c.Size, 8, 65_536},
		bound{"subscribers", c.Subscribers, 1, 10_000}, bound{"messages", c.Messages, 1, 100_000},
	); err != nil {
		return c, err
	}
	if c.Backend != BackendMem && c.Backend != BackendFile {
		return c, fmt.Errorf("bench: backend: %q is not a backend; accepted are %s and %s", c.Backend, BackendMem, BackendFile)
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("bench: timeout: %v is negative", c.Timeout)
	}
	return c, nil
}

// GatewayResult is one row of Gateway's measurements: one system over one
// protocol. The JSON field names are part of `courier bench gateway
// --json`'s output; fields that do not apply to a row's protocol are
// absent from its JSON.
type GatewayResult struct {
	System   string `json:"system"`   // PeerCourier, SystemBare or SystemConnect
	Protocol string `json:"protocol"` // ProtocolGRPC, ProtocolREST or ProtocolWS
	// Backend is the courier server's backend (BackendMem or BackendFile);
	// absent for the bare servers.
	Backend string `json:"backend,omitempty"`
	Size    int    `json:"size"`

	// The call rows (gRPC and REST).

	// P50us, P99us and MaxUs are percentiles of the latency run: N calls
	// made one after another (one in flight), in microseconds from before
	// the request is built to after the answer is decoded and checked.
	P50us float64 `json:"p50_us,omitempty"`
	P99us float64 `json:"p99_us,omitempty"`
	MaxUs float64 `json:"max_us,omitempty"`
	// CallsPerSec is N divided by the time the throughput run took:
	// Concurrency clients calling until N calls are answered.
	CallsPerSec float64 `json:"calls_per_sec,omitempty"`
	// AddedP50us is the row's P50us minus the bare server's on the same
	// protocol (absent from the bare rows; negative when the row's system
	// was faster).
	AddedP50us float64 `json:"added_p50_us,omitempty"`
	// P50Ratio is the row's P50us divided by the bare server's, and
	// CallsPerSecRatio its CallsPerSec divided by the bare server's
	// (absent from the bare rows).
	P50Ratio         float64 `json:"p50_ratio,omitempty"`
	CallsPerSecRatio float64 `json:"calls_per_sec_ratio,omitempty"`
	// Calls is the number of calls answered with success, warm-up
	// included: Warmup + 2×N on success (a failed call ends the run).
	Calls       int `json:"calls,omitempty"`
	N           int `json:"n,omitempty"`
	Warmup      int `json:"warmup,omitempty"`
	Concurrency int `json:"concurrency,omitempty"`

	// The WebSocket row.

	// DeliveriesPerSec is Subscribers × Messages divided by the time from
	// the first publish to the last subscriber having every message.
	DeliveriesPerSec float64 `json:"deliveries_per_sec,omitempty"`
	// Deliveries is the number of messages the subscribers received, each
	// checked to be a published one, once: Subscribers × Messages.
	Deliveries int `json:"deliveries,omitempty"`
	// BytesPerIdleConn is the server's memory per idle subscribed
	// connection: HeapBytesPerIdleConn + StackBytesPerIdleConn.
	BytesPerIdleConn float64 `json:"bytes_per_idle_conn,omitempty"`
	// HeapBytesPerIdleConn is the growth of the live heap (after GC) from
	// before the subscribers connected to when all were subscribed and
	// idle, per connection, less ClientHeapBytesPerConn.
	HeapBytesPerIdleConn float64 `json:"heap_bytes_per_idle_conn,omitempty"`
	// StackBytesPerIdleConn is the growth of the goroutine stacks over the
	// same time, per connection. The idle clients run no goroutine, so all
	// of it is the server's.
	StackBytesPerIdleConn float64 `json:"stack_bytes_per_idle_conn,omitempty"`
	// ClientHeapBytesPerConn is the live heap of one idle client (its
	// socket and state), measured alone on connections to a listener that
	// closes them at once, and subtracted from the heap growth.
	ClientHeapBytesPerConn float64 `json:"client_heap_bytes_per_conn,omitempty"`
	// GoroutinesPerConn is the growth of the number of goroutines per
	// idle subscribed connection (the server's).
	GoroutinesPerConn float64 `json:"goroutines_per_conn,omitempty"`
	Subscribers       int     `json:"subscribers,omitempty"`
	Messages          int     `json:"messages,omitempty"`
}

// Gateway runs the gateway workload of cfg, in this process on 127.0.0.1
// ports, and returns six results in this order: courier, bare and connect
// over gRPC, courier and bare over REST, courier's WebSocket fan-out. It
// measures, in this order:
//
//   - WebSocket fan-out, on a courier server of its own: Subscribers raw
//     WebSocket clients connect to GET /v1/ws and subscribe to one topic
//     (raw, overflow "block" so that nothing is dropped, credit granted in
//     windows of 256); the live heap and goroutine stacks are measured
//     after GC before they connect and once all are subscribed and idle.
//     Then Messages messages are published over REST in batches of 100
//     and the clients read until each has every message, exactly once.
//   - for gRPC, then REST, against a second courier server and the
//     reference servers (bare; and connect for gRPC): Warmup calls to each,
//     then the latency run (N calls to each, one at a time, interleaved in
//     10 rounds, each started by the next system, so that a change in the
//     machine's load affects all alike), then the throughput run (N calls
//     from Concurrency clients to each in turn, courier first).
//
// Every call must succeed and every answer is checked (a message ID for
// each message sent). The servers are shut down and the temporary
// directory removed before Gateway returns. On error Gateway returns the
// results measured so far with the error.
func Gateway(ctx context.Context, cfg GatewayConfig) (out []GatewayResult, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("timed out after %v", cfg.Timeout))
	defer cancel()
	defer func() {
		if err != nil && context.Cause(ctx) != nil && !errors.Is(err, context.Cause(ctx)) {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		if err != nil {
			err = fmt.Errorf("bench: gateway: %w", err)
		}
	}()
	dir := ""
	if cfg.Backend == BackendFile {
		if dir, err = os.MkdirTemp(cfg.Dir, "courier-bench-gateway-"); err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	}

	ws, err := wsFanout(ctx, cfg, backendURL(cfg.Backend, dir, "ws"))
	if err != nil {
		return nil, fmt.Errorf("ws fan-out: %w", err)
	}
	calls, err := gatewayCalls(ctx, cfg, backendURL(cfg.Backend, dir, "calls"))
	return append(calls, ws), err
}

// backendURL is the courier backend of one of Gateway's servers.
func backendURL(backend, dir, name string) string {
	if backend == BackendFile {
		return "file://" + dir + "/" + name
	}
	return "mem://"
}

// WriteGatewayTable writes the gateway results as a table of the calls,
// courier's added latency against TargetGatewayAddedP50us, and the
// WebSocket fan-out against its targets.
func WriteGatewayTable(w io.Writer, results []GatewayResult) error {
	if len(results) == 0 {
		return nil
	}
	var calls []GatewayResult
	for _, r := range results {
		if r.Protocol != ProtocolWS {
			calls = append(calls, r)
		}
	}
	if len(calls) > 0 {
		r0 := calls[0]
		fmt.Fprintf(w, "gateway calls: send of one %d B message (courier: QueueService.Send and POST /v1/queues/bench/messages on %s://);\n"+
			"latency: %d calls per system, one in flight, after %d warm-up calls, interleaved in rounds; throughput: %d calls from %d clients\n"+
			"gRPC: grpc-go client over h2c, one connection; REST: net/http client over HTTP/1.1 keep-alive\n"+
			"bare: a grpc-go or net/http server doing no work; connect: a connect-go handler doing no work on net/http with h2c, as courier serves gRPC\n\n",
			r0.Size, courierBackend(calls), r0.N, r0.Warmup, r0.N, r0.Concurrency)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "system\tprotocol\tp50 µs\tp99 µs\tmax µs\tcalls/s\tadded p50 µs\tp50 ratio\tcalls/s ratio\t")
		for _, r := range calls {
			added := "-\t-\t-"
			if r.System != SystemBare {
				added = fmt.Sprintf("%+.1f\t%.2f×\t%.2f×", r.AddedP50us, r.P50Ratio, r.CallsPerSecRatio)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.0f\t%.0f\t%s\t\n", r.System, r.Protocol, r.P50us, r.P99us, r.MaxUs, r.CallsPerSec, added)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		for _, r := range calls {
			if r.System != PeerCourier {
				continue
			}
			fmt.Fprintf(w, "courier %-4s added p50 %+7.1fµs   target ≤%dµs %s",
				r.Protocol, r.AddedP50us, TargetGatewayAddedP50us, verdict(r.AddedP50us <= TargetGatewayAddedP50us))
			for _, c := range calls {
				if c.System == SystemConnect && c.Protocol == r.Protocol {
					fmt.Fprintf(w, "   (of which a no-op connect-go handler on net/http: %+.1fµs; courier's handlers and engine: %+.1fµs)", c.AddedP50us, r.P50us-c.P50us)
				}
			}
			fmt.Fprintln(w)
		}
	}
	for _, r := range results {
		if r.Protocol != ProtocolWS {
			continue
		}
		if len(calls) > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "WebSocket fan-out (courier on %s://): %d subscribers on GET /v1/ws to one topic (raw, overflow block, credit in windows of %d);\n"+
			"%d messages × %d B published over REST in batches of %d; the clients run in this process\n",
			r.Backend, r.Subscribers, wsWindow, r.Messages, r.Size, wsPublishBatch)
		fmt.Fprintf(w, "deliveries     %10.0f/s   target ≥%d/s %s   (%d deliveries, each checked)\n",
			r.DeliveriesPerSec, TargetWSDeliveriesPerSec, verdict(r.DeliveriesPerSec >= TargetWSDeliveriesPerSec), r.Deliveries)
		fmt.Fprintf(w, "per idle conn  %10.0f B    target ≤%d B %s   (server heap %.0f B + goroutine stacks %.0f B, %.1f goroutines; client heap %.0f B subtracted)\n",
			r.BytesPerIdleConn, TargetWSBytesPerIdleConn, verdict(r.BytesPerIdleConn <= TargetWSBytesPerIdleConn),
			r.HeapBytesPerIdleConn, r.StackBytesPerIdleConn, r.GoroutinesPerConn, r.ClientHeapBytesPerConn)
	}
	return nil
}

// courierBackend returns the backend of the courier rows.
func courierBackend(results []GatewayResult) string {
	for _, r := range results {
		if r.Backend != "" {
			return r.Backend
		}
	}
	return BackendMem
}

// WriteGatewayJSON writes one JSON object per result and line.
func WriteGatewayJSON(w io.Writer, results []GatewayResult) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
