package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier/bench"
)

func newBenchGatewayCmd() *cobra.Command {
	var (
		cfg    bench.GatewayConfig
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Measure what courier's server adds over a bare gRPC or HTTP server, and its WebSocket fan-out",
		Long: `Measure courier's server (as courier serve runs it, without authentication) side
by side with bare servers doing no work, all in this process on 127.0.0.1.

Systems:
  courier  the server on --backend mem:// (default: no disk, so the gateway is what
           is measured) or file:// (a temporary directory, every send fdatasync'd)
  bare     a grpc-go server answering courier.v1.QueueService/Send with one constant
           message ID per message, and a net/http server that reads the body and
           answers the same JSON; neither does any work
  connect  for gRPC only: a connect-go QueueService doing no work on a net/http server
           with h2c, as courier serves gRPC; it splits courier's added latency into
           the HTTP/2 and gRPC stack's share and courier's own

Phases:
  ws fan-out  --subscribers WebSocket clients on GET /v1/ws subscribe to one topic
              (raw, overflow block, credit in windows of 256); the server's memory per
              idle subscribed connection is the growth of the live heap and goroutine
              stacks after GC, less the clients' own heap (measured alone); then
              --messages messages of --size bytes are published over REST in batches
              of 100 until every subscriber has every one, exactly once
  grpc, rest  a send of one --size byte message: QueueService.Send with a grpc-go
              client over h2c (one connection), and POST /v1/queues/bench/messages
              with a net/http client over HTTP/1.1 keep-alive; the same client calls
              every system. --warmup calls each, then --n calls each one at a time
              (interleaved in rounds: p50, p99), then --n calls from --concurrency
              clients (calls/s)

Prints a table with courier's added p50 latency over the bare server on each
protocol (target <= 50 µs), the fan-out rate (target >= 200,000 deliveries/s) and
the memory per idle connection (target <= 20 KiB), or with --json one JSON object
per system and protocol. The clients share the CPU with the servers. Progress is
shown when standard output is a terminal.`,
		Example: `  courier bench gateway
  courier bench gateway --n 50000 --concurrency 64
  courier bench gateway --subscribers 5000 --messages 200
  courier bench gateway --backend file --json | jq 'select(.system == "courier")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd, &cfg.Progress, func(ctx context.Context) ([]bench.GatewayResult, error) { return bench.Gateway(ctx, cfg) },
				bench.WriteGatewayTable, bench.WriteGatewayJSON, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.N, "n", 10000, "calls per system and protocol in the latency run, and again in the throughput run")
	f.IntVar(&cfg.Warmup, "warmup", 1000, "calls per system and protocol before measuring (negative: none)")
	f.IntVar(&cfg.Concurrency, "concurrency", 32, "clients of the throughput run, one call in flight each (1..1024)")
	f.IntVar(&cfg.Size, "size", 64, "message body size in bytes (8..65536)")
	f.IntVar(&cfg.Subscribers, "subscribers", 1000, "WebSocket subscribers of the fan-out (1..10000)")
	f.IntVar(&cfg.Messages, "messages", 1000, "messages published to the fan-out topic, each delivered to every subscriber (1..100000)")
	f.StringVar(&cfg.Backend, "backend", bench.BackendMem, "courier's backend: mem or file")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per system and protocol and line")
	f.StringVar(&cfg.Dir, "dir", "", "where to create the temporary data directory of --backend file")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "limit for the whole run")
	return cmd
}
