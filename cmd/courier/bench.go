package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/courier-io/courier/bench"
)

// newBenchCmd returns `courier bench`, the parent of the side-by-side
// benchmarks.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark courier side by side with other brokers",
		Long: `Benchmark courier side by side with other brokers, in one process and one run.

The reference systems run in-process (nats-server as a library) on loopback,
with their data in temporary directories that are removed afterwards.`,
		Args: groupArgs,
		RunE: groupRun,
	}
	cmd.AddCommand(newBenchQueueCmd(), newBenchTopicCmd(), newBenchStreamCmd(), newBenchBusCmd(), newBenchGatewayCmd(), newBenchAWSCmd())
	return cmd
}

func newBenchQueueCmd() *cobra.Command {
	var (
		cfg    bench.Config
		peers  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Compare queue throughput and latency with NATS JetStream",
		Long: `Run the same queue workload against courier's embedded engine and NATS JetStream.

Systems (--peers, comma-separated; default all but courier-mem):
  courier         courier's file:// engine, sync=always: every acknowledged write is fdatasync'd
  jetstream       in-process nats-server, file storage, default sync (fsync every 2 minutes)
  jetstream-sync  the same with sync_interval: always (fsync on every write)
  courier-mem     courier's mem:// engine, no disk (to separate engine CPU from disk cost)
  rabbitmq          RabbitMQ ($COURIER_RABBITMQ_URL, default the local server) through amqp091-go
  courier-rabbitmq  courier over the amqp:// driver on the same server
  redis             Redis ($COURIER_REDIS_URL, default redis://127.0.0.1:6379/0) through go-redis
  courier-redis     courier over the redis:// driver on the same server
  nats-driver       courier over the nats:// driver on an in-process nats-server like jetstream's
  nats-driver-sync  the same with sync_interval: always (pair with jetstream-sync)
                    (the driver peers need their server running; pair each with its
                    courier-* peer to see the driver's overhead)

Phases, for each system in turn:
  publish   --n messages of --size bytes from --producers goroutines, each send waiting
            for the durable acknowledgement (courier Queue.Send, JetStream js.Publish)
  consume   all messages received in batches of up to --batch and acked per batch,
            the ack awaited; every message must arrive exactly once
  latency   --latency-n sends from one producer at --rate msgs/s: p50 and p99

Prints a table and courier's ratios to the JetStream systems, or with --json one
JSON object per system and line with system, publish_msgs_per_sec,
consume_msgs_per_sec, p50_us, p99_us, fsync and the workload's parameters.
Progress is shown when standard output is a terminal.`,
		Example: `  courier bench queue
  courier bench queue --n 100000 --size 1024 --producers 16
  courier bench queue --peers courier,jetstream --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Peers, err = bench.ParsePeers(peers); err != nil {
				return err
			}
			return runBench(cmd, &cfg.Progress, func(ctx context.Context) ([]bench.Result, error) { return bench.Queue(ctx, cfg) }, bench.WriteTable, bench.WriteJSON, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.N, "n", 20000, "messages to publish and consume")
	f.IntVar(&cfg.Size, "size", 1024, "message body size in bytes (8..1000000)")
	f.IntVar(&cfg.Producers, "producers", 64, "concurrent producers")
	f.IntVar(&cfg.Consumers, "consumers", 1, "concurrent receive-and-ack loops")
	f.IntVar(&cfg.Batch, "batch", 100, "most messages per receive and per ack")
	f.IntVar(&cfg.Rate, "rate", 1000, "send rate of the latency run in msgs/s")
	f.IntVar(&cfg.LatencyN, "latency-n", 2000, "sends in the latency run (negative: skip it)")
	f.StringVar(&peers, "peers", "courier,jetstream,jetstream-sync", "systems to run, comma-separated")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per system and line")
	f.StringVar(&cfg.Dir, "dir", "", "where to create the temporary data directories (default: the system's temp dir)")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "limit for each system's run")
	return cmd
}

// benchProgress draws one progress bar per system and phase on a terminal.
type benchProgress struct {
	w   io.Writer
	key string
	bar *progressbar.ProgressBar
}

// update moves the bar of p's phase, replacing the previous phase's bar;
// a zero Progress clears the bar.
func (b *benchProgress) update(p bench.Progress) {
	key := p.System + " " + p.Phase
	if key != b.key {
		b.finish()
		b.key = key
		if p.Total == 0 {
			return
		}
		b.bar = progressbar.NewOptions(p.Total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(fmt.Sprintf("%-15s %-8s", p.System, p.Phase)),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = b.bar.Set(p.Done)
}

func (b *benchProgress) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		_ = b.bar.Clear()
		b.bar = nil
	}
	b.key = ""
}

func newBenchStreamCmd() *cobra.Command {
	var (
		cfg    bench.StreamConfig
		peers  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Compare stream append, replay and end-to-end latency with NATS JetStream",
		Long: `Run the same stream workload against courier's embedded engine (file://, every
acknowledged append fdatasync'd) and NATS JetStream (default: fsync every 2
minutes; jetstream-sync: on every write). Also accepted in --peers: kafka
(franz-go against an in-process three-broker kfake cluster, records in
memory) and courier-kafka (courier over the kafka:// driver against its own
such cluster): the pair shows the driver's overhead.

Phases, for each system in turn:
  append      --n records of --size bytes with 1000 distinct keys from --producers
              goroutines, each waiting for its acknowledgement, over --partitions
              partitions (JetStream: one subject per partition)
  replay      --replay-n records loaded into one partition, then read back in order
              (courier: a Reader; JetStream: an ordered consumer)
  end-to-end  --latency-n records appended at --rate/s while one consumer-group member
              polls and commits (JetStream: a durable pull consumer acking each batch)

Prints a table with courier's ratios to JetStream, or JSON lines with --json.`,
		Example: `  courier bench stream
  courier bench stream --replay-n 100000 --peers courier,jetstream,jetstream-sync`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Peers, err = bench.ParsePeers(peers); err != nil {
				return err
			}
			return runBench(cmd, &cfg.Progress, func(ctx context.Context) ([]bench.StreamResult, error) { return bench.Stream(ctx, cfg) }, bench.WriteStreamTable, bench.WriteStreamJSON, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.N, "n", 20000, "records to append")
	f.IntVar(&cfg.ReplayN, "replay-n", 1000000, "records to load and replay")
	f.IntVar(&cfg.Size, "size", 1024, "record value size in bytes (16..1000000)")
	f.IntVar(&cfg.Producers, "producers", 64, "concurrent appenders")
	f.IntVar(&cfg.Partitions, "partitions", 8, "partitions of the append phase (1..64)")
	f.IntVar(&cfg.Rate, "rate", 2000, "append rate of the end-to-end run in records/s")
	f.IntVar(&cfg.LatencyN, "latency-n", 4000, "records in the end-to-end run (negative: skip it)")
	f.StringVar(&peers, "peers", "courier,jetstream", "systems to run, comma-separated: courier, jetstream, jetstream-sync")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per system and line")
	f.StringVar(&cfg.Dir, "dir", "", "where to create the temporary data directories")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "limit for each system's run")
	return cmd
}

func newBenchTopicCmd() *cobra.Command {
	var (
		cfg    bench.TopicConfig
		peers  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "topic",
		Short: "Compare topic fan-out to filtered durable subscriptions with NATS JetStream",
		Long: `Run the same fan-out workload against courier's embedded engine (file://,
sync=always: every acknowledged publish is fdatasync'd) and NATS JetStream
(jetstream: its default mode, fsync every 2 minutes; jetstream-sync: on every
write).

Phases, for each system in turn:
  publish  --n messages of --size bytes with --producers publishes in flight, each
           waiting for the durable acknowledgement, to a topic with --subscribers
           durable subscriptions whose filter policies all match every message
           (JetStream: one stream with --subscribers durable pull consumers whose
           filter subject matches every message). For courier the same sends go
           first to a single queue on a fresh engine: the reference rate.
  deliver  every subscription drained at once, receiving batches of up to --batch
           and acking them; every subscription must get every message exactly once
  latency  --latency-n publishes from one producer at --rate msgs/s: p50 and p99

Prints a table with courier's ratios (topic publish to single-queue send, target
>= 0.5; deliveries to JetStream's, target >= 1.5), or with --json one JSON object
per system and line. Progress is shown when standard output is a terminal.`,
		Example: `  courier bench topic
  courier bench topic --producers 64
  courier bench topic --n 50000 --subscribers 20 --peers courier,jetstream,jetstream-sync
  courier bench topic --json | jq .deliveries_per_sec`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Peers, err = bench.ParsePeers(peers); err != nil {
				return err
			}
			return runBench(cmd, &cfg.Progress, func(ctx context.Context) ([]bench.TopicResult, error) { return bench.Topic(ctx, cfg) }, bench.WriteTopicTable, bench.WriteTopicJSON, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.N, "n", 20000, "messages to publish")
	f.IntVar(&cfg.Size, "size", 1024, "message body size in bytes (8..1000000)")
	f.IntVar(&cfg.Producers, "producers", 1, "publishes in flight (also for the single-queue reference); the target workload has one publisher")
	f.IntVar(&cfg.Subscribers, "subscribers", 10, "durable subscriptions, each receiving every message (1..100)")
	f.IntVar(&cfg.Batch, "batch", 100, "most messages per receive and per ack")
	f.IntVar(&cfg.Rate, "rate", 1000, "publish rate of the latency run in msgs/s")
	f.IntVar(&cfg.LatencyN, "latency-n", 2000, "publishes in the latency run (negative: skip it)")
	f.StringVar(&peers, "peers", "courier,jetstream", "systems to run, comma-separated: courier, jetstream, jetstream-sync")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per system and line")
	f.StringVar(&cfg.Dir, "dir", "", "where to create the temporary data directories")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "limit for each system's run")
	return cmd
}

// runBench runs one benchmark: a progress bar on a terminal (through
// *progress), then the results as a table or, with asJSON, JSON lines.
// Results measured before a failure are printed too.
func runBench[R any](cmd *cobra.Command, progress *func(bench.Progress), run func(context.Context) ([]R, error),
	table, jsonLines func(io.Writer, []R) error, asJSON bool) error {
	out := cmd.OutOrStdout()
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p := &benchProgress{w: out}
		defer p.finish()
		*progress = p.update
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	results, err := run(ctx)
	if *progress != nil {
		(*progress)(bench.Progress{}) // clear the last bar before printing
	}
	if len(results) > 0 {
		write := table
		if asJSON {
			write = jsonLines
		}
		if werr := write(out, results); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
