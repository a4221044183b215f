package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier/bench"
)

func newBenchBusCmd() *cobra.Command {
	var (
		cfg        bench.BusConfig
		cpuprofile string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "bus",
		Short: "Measure event-bus routing end to end: PutEvents through 1,000 rules to queues",
		Long: `Measure courier's event bus end to end on its embedded engine (file://,
sync=always: every acknowledged write is fdatasync'd), in a temporary directory.

Setup (not measured): --queues queues and a bus with --rules rules, each with a
distinct EventBridge pattern (exact, prefix, anything-but and numeric operators on
source, detail-type and detail) and one queue target; rule k targets queue k mod
--queues. Each event matches exactly --matches rules, which target distinct queues.

Phases:
  reference  --n messages of --size bytes sent straight to one queue with
             Queue.SendBatch, --producers goroutines, batches of --batch, on a
             fresh engine: the same-run reference rate
  bus        --producers goroutines put --n events (detail padded to --size bytes)
             with PutEvents in batches of --batch, each call waiting for its durable
             acknowledgement, while one loop per queue receives batches of up to
             100 and acks them; every event must arrive exactly once in each queue
             its rules target, or the run fails

Reports put events/s (to the last acknowledgement), end-to-end events/s (to the
ack of the last delivery), p50/p99 latency from put to receive, the ratio of the
end-to-end rate to the single-queue reference, and the end-to-end rate against
the target of 50,000 events/s. With --cpuprofile the bus phase's CPU profile is
written to a file; read it with go tool pprof. Progress is shown when standard
output is a terminal; --json prints one JSON object instead of the table.`,
		Example: `  courier bench bus
  courier bench bus --rules 5000 --matches 3 --n 100000
  courier bench bus --cpuprofile bus.pprof && go tool pprof -top -cum bus.pprof
  courier bench bus --json | jq .e2e_events_per_sec`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			run := func(ctx context.Context) ([]bench.BusResult, error) { return bench.Bus(ctx, cfg) }
			if cpuprofile != "" {
				run = func(ctx context.Context) ([]bench.BusResult, error) {
					f, err := os.Create(cpuprofile)
					if err != nil {
						return nil, err
					}
					cfg.CPUProfile = f
					res, err := bench.Bus(ctx, cfg)
					return res, errors.Join(err, f.Close())
				}
			}
			return runBench(cmd, &cfg.Progress, run, bench.WriteBusTable, bench.WriteBusJSON, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.N, "n", 200000, "events to put")
	f.IntVar(&cfg.Rules, "rules", 1000, "rules on the bus, each with a distinct pattern (1..10000)")
	f.IntVar(&cfg.Matches, "matches", 1, "rules each event matches (at most --queues)")
	f.IntVar(&cfg.Queues, "queues", 10, "queues the rules' targets deliver to (1..100, at most --rules)")
	f.IntVar(&cfg.Size, "size", 1024, "event detail size in bytes (256..200000)")
	f.IntVar(&cfg.Producers, "producers", 64, "concurrent PutEvents calls (also for the single-queue reference)")
	f.IntVar(&cfg.Batch, "batch", 10, "events per PutEvents call and messages per SendBatch (1..1000)")
	f.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the bus phase to this file")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.StringVar(&cfg.Dir, "dir", "", "where to create the temporary data directories")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "limit for the whole run")
	return cmd
}
