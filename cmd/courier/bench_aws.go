package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier/bench"
)

func newBenchAWSCmd() *cobra.Command {
	var (
		cfg                bench.AWSConfig
		workloads, systems string
		asJSON             bool
	)
	cmd := &cobra.Command{
		Use:   "aws",
		Short: "Compare courier's AWS endpoints with goaws and kinesalite, and with its native REST API",
		Long: `Run the same aws-sdk-go-v2 workloads against courier's AWS-compatible endpoints
and against the open-source emulators a user would pick instead, in one run.

Systems (--systems, comma-separated; default all):
  courier     courier serve with its defaults, built with go from the checkout of
              --peers-src: the AWS endpoints, file:// in a temporary directory
              (sync=always: every acknowledged write fdatasync'd), no authentication
  goaws       goaws ` + bench.GoawsVersion + ` (SQS and SNS, in memory), built with go from the module
              proxy (bench/awspeers/goaws) and run as a child process on 127.0.0.1
  kinesalite  kinesalite ` + bench.KinesaliteVersion + ` (Kinesis, in memory), installed with npm ci
              (bench/awspeers/kinesalite) and run under node on 127.0.0.1
Every server runs as a child process on 127.0.0.1, a fresh one per row, while
the clients run in this process. courier and the peers are built into
--peers-dir and reused; a peer whose setup fails (no go, npm or network) is
reported as skipped and the rest still runs.

Workloads (--workloads; default all), each system on a fresh server:
  sqs      --sqs-n messages of --size bytes: --concurrency producers call
           SendMessageBatch (10 per call) while as many consumers call ReceiveMessage
           (up to 10, WaitTimeSeconds --wait) and DeleteMessageBatch until every
           message is deleted. courier runs it through the SDK (sqs-json), through
           the bench's query-protocol client (sqs-query: goaws answers only that
           protocol, so this is the same-protocol comparison) and through its native
           REST API (rest: Queue.SendBatch, Receive, Ack) on the same server. Then
           --latency-n single SendMessage calls at --rate/s: p50, p99.
  sns      a topic with 3 SQS queues subscribed (RawMessageDelivery); --concurrency
           publishers Publish --sns-n messages while --concurrency consumers per
           queue drain the queues (courier: through sqs-json and sqs-query)
  kinesis  a stream of 2 shards; --concurrency producers PutRecords (500 per call,
           random partition keys) --kinesis-n records while one reader per shard
           follows GetRecords from TRIM_HORIZON until every record is read

Every delivered message is checked (index, size, content); a lost or altered one
fails its row, and redeliveries are counted as duplicates. Besides the
wall-clock rates, each row reports the server process's CPU time (user+system,
from /proc/PID/stat on Linux) per message and the messages per server CPU
second: what a server sustains per core, whatever the clients cost. Prints a
table per workload with courier's ratios to each peer (target >= 3x) and the
per-message cost of the AWS path over the native REST API (target <= 1.5x),
each by wall clock and by server CPU, or with --json one JSON object per row and
line, then one per ratio and measure. Progress is shown when standard output is
a terminal.`,
		Example: `  courier bench aws
  courier bench aws --workloads sqs --sqs-n 50000 --concurrency 16
  courier bench aws --systems courier --json | jq 'select(.ratio == null) | .msgs_per_sec'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Workloads, cfg.Systems = bench.ParseList(workloads), bench.ParseList(systems)
			return runBench(cmd, &cfg.Progress, func(ctx context.Context) ([]bench.AWSResult, error) { return bench.AWS(ctx, cfg) },
				bench.WriteAWSTable, bench.WriteAWSJSON, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.SQSN, "sqs-n", 20000, "messages of the SQS workload")
	f.IntVar(&cfg.SNSN, "sns-n", 5000, "messages published in the SNS workload, each delivered to 3 queues")
	f.IntVar(&cfg.KinesisN, "kinesis-n", 100000, "records of the Kinesis workload")
	f.IntVar(&cfg.Size, "size", 1024, "message body and record size in bytes (16..262144)")
	f.IntVar(&cfg.Concurrency, "concurrency", 8, "producers, and consumers (per queue), each with one call in flight (1..256)")
	f.DurationVar(&cfg.Wait, "wait", time.Second, "ReceiveMessage's WaitTimeSeconds, whole seconds 0s..20s (negative: 0)")
	f.IntVar(&cfg.LatencyN, "latency-n", 500, "single SendMessage calls of the latency run (negative: skip it)")
	f.IntVar(&cfg.Rate, "rate", 200, "calls per second of the latency run")
	f.StringVar(&workloads, "workloads", "sqs,sns,kinesis", "workloads to run, comma-separated")
	f.StringVar(&systems, "systems", "courier,goaws,kinesalite", "systems to run, comma-separated")
	f.StringVar(&cfg.PeersDir, "peers-dir", bench.DefaultAWSPeersDir(), "where courier, goaws and kinesalite are built and installed, and reused from")
	f.StringVar(&cfg.PeersSrc, "peers-src", bench.DefaultAWSPeersSrc(), "the peers' sources: bench/awspeers of a courier checkout, which courier is built from")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per row and line, then one per ratio")
	f.StringVar(&cfg.Dir, "dir", "", "where to create the temporary data directories")
	f.DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "limit for the whole run, setup included")
	return cmd
}
