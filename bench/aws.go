package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/courier-io/courier/client/rest" // rest+http://, the native baseline
)

// The AWS benchmark behind `courier bench aws`: the same aws-sdk-go-v2
// workloads against courier's AWS-compatible endpoints and against the
// open-source emulators a user would pick instead, goaws (SQS, SNS) and
// kinesalite (Kinesis), plus the SQS workload through courier's native
// REST API on the same server. Every server is a child process, so that
// its CPU time can be read beside the wall-clock rates: the clients run in
// this process and take much of the machine. aws_workload.go holds the
// workloads, aws_clients.go and aws_sqsquery.go the clients, aws_peers.go
// the peers' setup and processes, aws_courier.go courier's, aws_cpu.go the
// reading of a process's CPU time.

// Workloads of AWSConfig.Workloads.
const (
	WorkloadSQS     = "sqs"
	WorkloadSNS     = "sns"
	WorkloadKinesis = "kinesis"
)

// Systems of AWSConfig.Systems and AWSResult.System.
const (
	// SystemCourier is `courier serve` with its defaults, built from the
	// checkout and run as a child process on 127.0.0.1: the AWS endpoints,
	// the durable engine in a temporary directory (sync=always: every
	// acknowledged write is fdatasync'd), no authentication.
	SystemCourier = "courier"
	// SystemGoaws is goaws (SQS and SNS, in memory) as a child process on
	// 127.0.0.1.
	SystemGoaws = "goaws"
	// SystemKinesalite is kinesalite (Kinesis, in memory) under node as a
	// child process on 127.0.0.1.
	SystemKinesalite = "kinesalite"
)

// Protocols of AWSResult.Protocol: the client each row's workload used.
const (
	// ProtocolSQSJSON is the aws-sdk-go-v2 SQS client (AWS JSON 1.0).
	ProtocolSQSJSON = "sqs-json"
	// ProtocolSQSQuery is the bench's SQS client of the query protocol
	// (form-encoded requests, XML answers), the only one goaws answers.
	ProtocolSQSQuery = "sqs-query"
	// ProtocolSNSQuery is the aws-sdk-go-v2 SNS client (query protocol);
	// the SNS rows drain their queues with the SQS client named after the
	// "+": "sns+sqs-json" or "sns+sqs-query".
	ProtocolSNSQuery = "sns"
	// ProtocolKinesisJSON is the aws-sdk-go-v2 Kinesis client (AWS JSON
	// 1.1).
	ProtocolKinesisJSON = "kinesis-json"
)

// Targets of `courier bench aws`, from the issue.
const (
	// TargetAWSPeerRatio is the least courier's rate may be, as a
	// multiple of goaws's and of kinesalite's on the same workload; it is
	// judged on the wall-clock rate and on the rate per server CPU second.
	TargetAWSPeerRatio = 3.0
	// TargetAWSRESTOverhead is the most a message may cost through the
	// AWS SDK path, as a multiple of its cost through courier's native
	// REST API (the REST rate divided by the SDK path's rate), judged by
	// both measures too.
	TargetAWSRESTOverhead = 1.5
)

// Measures of AWSRatio.Measure.
const (
	// MeasureWall compares MsgsPerSec: wall-clock throughput, which on a
	// small machine is bound by the clients in the bench's process.
	MeasureWall = "wall-clock"
	// MeasureServerCPU compares MsgsPerServerCPUSec: what a server
	// sustains per second of one CPU.
	MeasureServerCPU = "server-cpu"
)

// AWSConfig is the workload of AWS. The zero value runs every workload
// against every system with the defaults.
type AWSConfig struct {
	// SQSN is the number of messages of the SQS workload (1..10,000,000,
	// default 20,000).
	SQSN int
	// SNSN is the number of messages published in the SNS workload, each
	// delivered to 3 queues (1..10,000,000, default 5,000).
	SNSN int
	// KinesisN is the number of records of the Kinesis workload
	// (1..10,000,000, default 100,000).
	KinesisN int
	// Size is the size of each message body and record in bytes
	// (16..262,144, default 1024): ASCII text, starting with the
	// message's index.
	Size int
	// Concurrency is the number of producers of each workload and of
	// consumers of the SQS workload and of each SNS queue (1..256,
	// default 8). Each has one call in flight.
	Concurrency int
	// Wait is ReceiveMessage's WaitTimeSeconds, in whole seconds (0..20s,
	// default 1s; a negative value is 0: no waiting, an empty answer at
	// once).
	Wait time.Duration
	// LatencyN is the number of single SendMessage calls of the SQS
	// latency run, one at a time at Rate (0..1,000,000, default 500; a
	// negative value skips the run).
	LatencyN int
	// Rate is the latency run's calls per second (1..100,000, default 200).
	Rate int
	// Workloads are the workloads to run, in any order (default all:
	// WorkloadSQS, WorkloadSNS, WorkloadKinesis).
	Workloads []string
	// Systems are the systems to run (default all: SystemCourier,
	// SystemGoaws, SystemKinesalite); goaws runs the SQS and SNS
	// workloads, kinesalite the Kinesis one.
	Systems []string
	// PeersDir is where courier and the peers are built and installed,
	// and reused from by later runs (default DefaultAWSPeersDir()).
	PeersDir string
	// PeersSrc is the directory of the peers' sources, bench/awspeers of a
	// courier checkout (default DefaultAWSPeersSrc()); courier is built
	// from that checkout.
	PeersSrc string
	// Dir is where temporary data directories are created (default
	// os.TempDir()). They are removed before AWS returns.
	Dir string
	// Timeout bounds the whole run, setup included (default 15 minutes).
	Timeout time.Duration
	// Progress is called as in Config. The systems are "SYSTEM PROTOCOL"
	// ("courier sqs-json", "goaws sqs-query", ...) and the phases the
	// workloads ("sqs", "sns", "kinesis") and "latency".
	Progress func(Progress)
}

var (
	awsWorkloads = []string{WorkloadSQS, WorkloadSNS, WorkloadKinesis}
	awsSystems   = []string{SystemCourier, SystemGoaws, SystemKinesalite}
)

func (c AWSConfig) withDefaults() (AWSConfig, error) {
	orDefault(&c.SQSN, 20_000)
	orDefault(&c.SNSN, 5_000)
	orDefault(&c.KinesisN, 100_000)
	orDefault(&c.Size, 1024)
	orDefault(&c.Concurrency, 8)
	orDefault(&c.LatencyN, 500)
	if c.LatencyN < 0 {
		c.LatencyN = 0
	}
	orDefault(&c.Rate, 200)
	if c.Wait == 0 {
		c.Wait = time.Second
	}
	if c.Wait < 0 {
		c.Wait = 0
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Minute
	}
	if len(c.Workloads) == 0 {
		c.Workloads = slices.Clone(awsWorkloads)
	}
	if len(c.Systems) == 0 {
		c.Systems = slices.Clone(awsSystems)
	}
	if c.PeersDir == "" {
		c.PeersDir = DefaultAWSPeersDir()
	}
	if c.PeersSrc == "" {
		c.PeersSrc = DefaultAWSPeersSrc()
	}
	if err := checkBounds(
		bound{"sqs-n", c.SQSN, 1, 10_000_000}, bound{"sns-n", c.SNSN, 1, 10_000_000},
		bound{"kinesis-n", c.KinesisN, 1, 10_000_000}, bound{"size", c.Size, 16, 262_144},
		bound{"concurrency", c.Concurrency, 1, 256}, bound{"latency-n", c.LatencyN, 0, 1_000_000},
		bound{"rate", c.Rate, 1, 100_000},
	); err != nil {
		return c, err
	}
	if c.Wait > 20*time.Second || c.Wait%time.Second != 0 {
		return c, fmt.Errorf("bench: wait: %v is not accepted; accepted are whole seconds from 0s to 20s", c.Wait)
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("bench: timeout: %v is negative", c.Timeout)
	}
	if err := checkNames("workloads", "", c.Workloads, awsWorkloads); err != nil {
		return c, err
	}
	if err := checkNames("systems", "", c.Systems, awsSystems); err != nil {
		return c, err
	}
	return c, nil
}

// ParseList splits a comma-separated flag value such as --workloads; an
// empty string is nil (the default).
func ParseList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AWSResult is one row of AWS's measurements: one workload against one
// system through one protocol. The JSON field names are part of `courier
// bench aws --json`'s output.
type AWSResult struct {
	Workload string `json:"workload"` // WorkloadSQS, WorkloadSNS or WorkloadKinesis
	System   string `json:"system"`   // SystemCourier, SystemGoaws or SystemKinesalite
	// Protocol is the client: ProtocolSQSJSON, ProtocolSQSQuery,
	// ProtocolREST (courier's native REST API through the rest+http:// Go
	// client: Queue.SendBatch, Receive, Ack), "sns+sqs-json",
	// "sns+sqs-query" or ProtocolKinesisJSON.
	Protocol string `json:"protocol"`
	// Durable reports whether the system fsyncs every acknowledged write
	// (courier) or keeps everything in memory (goaws, kinesalite).
	Durable bool `json:"durable"`
	// Skipped is why the row was not measured (a peer whose setup failed),
	// and Error why its measurement failed; both are absent otherwise.
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`

	// MsgsPerSec is the workload's rate: for SQS, N messages divided by
	// the time from the first send to the last message deleted; for SNS,
	// the 3×N deliveries divided by the time from the first publish to
	// the last delivery deleted; for Kinesis, N records divided by the
	// time from the first PutRecords to the last record read.
	MsgsPerSec float64 `json:"msgs_per_sec,omitempty"`
	// SendsPerSec is N divided by the time from the first send (SQS
	// SendMessageBatch entry, SNS Publish, Kinesis PutRecords entry) to the
	// last one acknowledged, while the consumers run.
	SendsPerSec float64 `json:"sends_per_sec,omitempty"`
	// Seconds is the time MsgsPerSec divides by.
	Seconds float64 `json:"seconds,omitempty"`
	// ServerCPUSeconds is the CPU time, user and system, of the server's
	// process (all its threads) from the first send until every producer
	// and consumer returned, read from /proc/PID/stat in steps of 10 ms
	// (Linux only; absent elsewhere). The clients, in the bench's
	// process, are not in it, nor are setup and the latency run.
	ServerCPUSeconds float64 `json:"server_cpu_seconds,omitempty"`
	// ServerCPUusPerMsg is ServerCPUSeconds in microseconds per message
	// MsgsPerSec counts (per delivery for SNS, per record for Kinesis),
	// and MsgsPerServerCPUSec its inverse: the messages the server
	// handles per second of one CPU.
	ServerCPUusPerMsg   float64 `json:"server_cpu_us_per_msg,omitempty"`
	MsgsPerServerCPUSec float64 `json:"msgs_per_server_cpu_sec,omitempty"`
	// Delivered is the number of messages received, each checked to be
	// one sent, intact; Duplicates of them were redeliveries of a message
	// received before (at-least-once), Retries the Kinesis records put
	// again after PutRecords reported them failed.
	Delivered  int `json:"delivered,omitempty"`
	Duplicates int `json:"duplicates"`
	Retries    int `json:"retries,omitempty"`
	// P50us, P99us and MaxUs are the SQS latency run's percentiles of a
	// single SendMessage (Queue.Send over REST) at Rate, in microseconds.
	P50us    float64 `json:"p50_us,omitempty"`
	P99us    float64 `json:"p99_us,omitempty"`
	MaxUs    float64 `json:"max_us,omitempty"`
	LatencyN int     `json:"latency_n,omitempty"`
	Rate     int     `json:"rate,omitempty"`

	N           int     `json:"n"`
	Size        int     `json:"size"`
	Concurrency int     `json:"concurrency"`
	WaitSeconds float64 `json:"wait_seconds"`
}

// label is the row's name in progress reports and ratios.
func (r AWSResult) label() string { return r.System + " " + r.Protocol }

// ok reports whether the row was measured.
func (r AWSResult) ok() bool { return r.Skipped == "" && r.Error == "" && r.MsgsPerSec > 0 }

// AWS runs the workloads of cfg: first it sets up the servers in
// cfg.PeersDir, reusing earlier builds: courier built with go from the
// checkout of cfg.PeersSrc (a failure fails courier's rows), goaws built
// with go from the module proxy, kinesalite installed with npm (a peer
// whose setup fails is reported in a row with Skipped set and the rest
// still runs). Then for each workload, courier first and then its peer,
// each row on a fresh server process, whose CPU time it measures:
//
//   - sqs: courier through the SDK (sqs-json), the query-protocol client
//     (sqs-query) and its native REST API (rest); goaws through the
//     query-protocol client;
//   - sns: courier with its queues drained through sqs-json and
//     sqs-query; goaws through sqs-query; the SDK's SNS client publishes
//     to both;
//   - kinesis: courier and kinesalite through the SDK.
//
// Every message is checked on delivery; a lost, unknown or altered one is
// an error. A failed row is kept with Error set and the run goes on; AWS
// then returns all rows and an error joining the failures. The servers
// and processes are stopped and the temporary directory removed before
// AWS returns.
func AWS(ctx context.Context, cfg AWSConfig) (out []AWSResult, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("timed out after %v", cfg.Timeout))
	defer cancel()
	dir, err := os.MkdirTemp(cfg.Dir, "courier-bench-aws-")
	if err != nil {
		return nil, fmt.Errorf("bench: aws: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()

	want := func(list []string, name string) bool { return slices.Contains(list, name) }
	var courierBin string
	var courierErr error
	if want(cfg.Systems, SystemCourier) {
		courierBin, courierErr = setupCourier(ctx, cfg.PeersSrc, cfg.PeersDir)
	}
	needGoaws := want(cfg.Systems, SystemGoaws) && (want(cfg.Workloads, WorkloadSQS) || want(cfg.Workloads, WorkloadSNS))
	needKinesalite := want(cfg.Systems, SystemKinesalite) && want(cfg.Workloads, WorkloadKinesis)
	var goawsBin, kinesaliteJS, goawsSkip, kinesaliteSkip string
	if needGoaws {
		if goawsBin, err = setupGoaws(ctx, cfg.PeersSrc, cfg.PeersDir); err != nil {
			goawsSkip = "setup failed: " + err.Error()
		}
	}
	if needKinesalite {
		if kinesaliteJS, err = setupKinesalite(ctx, cfg.PeersSrc, cfg.PeersDir); err != nil {
			kinesaliteSkip = "setup failed: " + err.Error()
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("bench: aws: setup: %w", context.Cause(ctx))
	}

	var failures []error
	add := func(rows []AWSResult) {
		for _, r := range rows {
			if r.Error != "" {
				failures = append(failures, fmt.Errorf("%s %s: %s", r.Workload, r.label(), r.Error))
			}
		}
		out = append(out, rows...)
	}
	r := awsRun{cfg: cfg, filler: awsFiller(cfg.Size)}
	for _, w := range awsWorkloads {
		if !want(cfg.Workloads, w) {
			continue
		}
		if want(cfg.Systems, SystemCourier) {
			add(courierAWS(ctx, r, w, courierBin, dir, courierErr))
		}
		switch {
		case w == WorkloadKinesis && needKinesalite && kinesaliteSkip != "":
			add([]AWSResult{r.row(w, SystemKinesalite, ProtocolKinesisJSON, false, runStats{}, nil, kinesaliteSkip)})
		case w == WorkloadKinesis && needKinesalite:
			add(kinesaliteAWS(ctx, r, kinesaliteJS))
		case w != WorkloadKinesis && needGoaws && goawsSkip != "":
			add([]AWSResult{r.row(w, SystemGoaws, goawsProtocol(w), false, runStats{}, nil, goawsSkip)})
		case w != WorkloadKinesis && needGoaws:
			gdir := filepath.Join(dir, "goaws-"+w)
			if err := os.MkdirAll(gdir, 0o755); err != nil {
				return out, errors.Join(append(failures, err)...)
			}
			add(goawsAWS(ctx, r, w, goawsBin, gdir))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		failures = append(failures, context.Cause(ctx))
	}
	if len(failures) > 0 {
		return out, fmt.Errorf("bench: aws: %w", errors.Join(failures...))
	}
	return out, nil
}

// goawsProtocol is the protocol of goaws's row of workload w.
func goawsProtocol(w string) string {
	if w == WorkloadSNS {
		return ProtocolSNSQuery + "+" + ProtocolSQSQuery
	}
	return ProtocolSQSQuery
}

// row builds a result from a run's stats, its error or the reason it was
// skipped.
func (r awsRun) row(workload, system, protocol string, durable bool, st runStats, err error, skipped string) AWSResult {
	cfg := r.cfg
	res := AWSResult{Workload: workload, System: system, Protocol: protocol, Durable: durable, Skipped: skipped,
		Size: cfg.Size, Concurrency: cfg.Concurrency, Duplicates: st.duplicates, Delivered: st.delivered, Retries: st.retries}
	switch workload {
	case WorkloadSQS:
		res.N, res.WaitSeconds = cfg.SQSN, cfg.Wait.Seconds()
	case WorkloadSNS:
		res.N, res.WaitSeconds = cfg.SNSN, cfg.Wait.Seconds()
	case WorkloadKinesis:
		res.N = cfg.KinesisN
	}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if skipped != "" {
		return res
	}
	deliveries := res.N
	if workload == WorkloadSNS {
		deliveries *= snsFanout
	}
	if st.elapsed > 0 {
		res.Seconds = st.elapsed.Seconds()
		res.MsgsPerSec = float64(deliveries) / st.elapsed.Seconds()
	}
	if st.serverCPU > 0 {
		res.ServerCPUSeconds = st.serverCPU.Seconds()
		res.ServerCPUusPerMsg = float64(st.serverCPU/time.Microsecond) / float64(deliveries)
		res.MsgsPerServerCPUSec = float64(deliveries) / st.serverCPU.Seconds()
	}
	if st.publishElapsed > 0 {
		res.SendsPerSec = float64(res.N) / st.publishElapsed.Seconds()
	}
	if len(st.latency) > 0 {
		res.LatencyN, res.Rate = len(st.latency), cfg.Rate
		res.P50us, res.P99us, res.MaxUs = micros(percentile(st.latency, 0.50)), micros(percentile(st.latency, 0.99)), micros(percentile(st.latency, 1))
	}
	return res
}

// goawsAWS runs workload w against a fresh goaws process.
func goawsAWS(ctx context.Context, r awsRun, w, bin, dir string) []AWSResult {
	protocol := goawsProtocol(w)
	p, err := startGoaws(ctx, bin, dir)
	if err != nil {
		return []AWSResult{r.row(w, SystemGoaws, protocol, false, runStats{}, err, "")}
	}
	defer p.close()
	endpoint := "http://" + p.addr
	hc := benchHTTPClient(4*r.cfg.Concurrency + 4)
	defer hc.CloseIdleConnections()
	r.system, r.serverPID = SystemGoaws+" "+protocol, p.cmd.Process.Pid
	q := newSQSQueryClient(endpoint, hc)
	var st runStats
	if w == WorkloadSQS {
		st, err = sqsWorkload(ctx, r, q, "bench-sqs")
	} else {
		st, err = snsWorkload(ctx, r, newSNSSDK(endpoint, hc), q, "bench-sns")
	}
	if err != nil {
		err = fmt.Errorf("%w (goaws output: %s)", err, p.output.String())
	}
	return []AWSResult{r.row(w, SystemGoaws, protocol, false, st, err, "")}
}

// kinesaliteAWS runs the Kinesis workload against a fresh kinesalite.
func kinesaliteAWS(ctx context.Context, r awsRun, serveJS string) []AWSResult {
	p, err := startKinesalite(ctx, serveJS)
	if err != nil {
		return []AWSResult{r.row(WorkloadKinesis, SystemKinesalite, ProtocolKinesisJSON, false, runStats{}, err, "")}
	}
	defer p.close()
	hc := benchHTTPClient(r.cfg.Concurrency + kinesisShards + 2)
	defer hc.CloseIdleConnections()
	r.system, r.serverPID = SystemKinesalite+" "+ProtocolKinesisJSON, p.cmd.Process.Pid
	st, err := kinesisWorkload(ctx, r, newKinesisSDK("http://"+p.addr, hc), "bench")
	if err != nil {
		err = fmt.Errorf("%w (kinesalite output: %s)", err, p.output.String())
	}
	return []AWSResult{r.row(WorkloadKinesis, SystemKinesalite, ProtocolKinesisJSON, false, st, err, "")}
}

// AWSRatio compares a rate of courier to a reference's on one workload,
// by one measure, against its target.
type AWSRatio struct {
	Workload string `json:"workload"`
	// Ratio names the comparison: "courier sqs-query / goaws sqs-query".
	Ratio string `json:"ratio"`
	// Measure is the rate compared: MeasureWall (MsgsPerSec) or
	// MeasureServerCPU (MsgsPerServerCPUSec).
	Measure string  `json:"measure"`
	Value   float64 `json:"value"`
	// Target is the bound Value must reach: at least Target when AtMost is
	// false (courier's rate over a peer's), at most Target when it is true
	// (the REST rate over the AWS path's: the per-message overhead).
	Target float64 `json:"target"`
	AtMost bool    `json:"at_most,omitempty"`
	Met    bool    `json:"met"`
}

// AWSRatios returns, for each workload, courier's rate over its peer's
// through each of courier's protocols (target TargetAWSPeerRatio), and
// for SQS the native REST rate over each AWS path's (target
// TargetAWSRESTOverhead at most), each by MeasureWall and then by
// MeasureServerCPU. Rows not measured, or without server CPU time, have
// no ratio by that measure.
func AWSRatios(results []AWSResult) []AWSRatio {
	var out []AWSRatio
	measures := []struct {
		name string
		rate func(AWSResult) float64
	}{
		{MeasureWall, func(r AWSResult) float64 { return r.MsgsPerSec }},
		{MeasureServerCPU, func(r AWSResult) float64 { return r.MsgsPerServerCPUSec }},
	}
	for _, w := range awsWorkloads {
		var courier, peers []AWSResult
		var rest *AWSResult
		for _, r := range results {
			if r.Workload != w || !r.ok() {
				continue
			}
			switch {
			case r.System == SystemCourier && r.Protocol == ProtocolREST:
				rest = &r
			case r.System == SystemCourier:
				courier = append(courier, r)
			default:
				peers = append(peers, r)
			}
		}
		for _, p := range peers {
			for _, c := range courier {
				for _, m := range measures {
					if m.rate(c) > 0 && m.rate(p) > 0 {
						v := m.rate(c) / m.rate(p)
						out = append(out, AWSRatio{Workload: w, Ratio: c.label() + " / " + p.label(), Measure: m.name, Value: v,
							Target: TargetAWSPeerRatio, Met: v >= TargetAWSPeerRatio})
					}
				}
			}
		}
		if rest != nil {
			for _, c := range courier {
				for _, m := range measures {
					if m.rate(c) > 0 && m.rate(*rest) > 0 {
						v := m.rate(*rest) / m.rate(c)
						out = append(out, AWSRatio{Workload: w, Ratio: "per-message cost " + c.label() + " / " + rest.label(), Measure: m.name,
							Value: v, Target: TargetAWSRESTOverhead, AtMost: true, Met: v <= TargetAWSRESTOverhead})
					}
				}
			}
		}
	}
	return out
}

// WriteAWSJSON writes one JSON object per result and line, then one per
// ratio of AWSRatios (the objects with a "ratio" field).
func WriteAWSJSON(w io.Writer, results []AWSResult) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	for _, r := range AWSRatios(results) {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// WriteAWSTable writes a table per workload with each system's rates,
// wall-clock and per server CPU second, courier's ratios by both measures
// against their targets, and the rows that were skipped or failed.
func WriteAWSTable(w io.Writer, results []AWSResult) error {
	if len(results) == 0 {
		return nil
	}
	r0 := results[0]
	receive := ""
	for _, r := range results {
		if r.Workload != WorkloadKinesis {
			receive = fmt.Sprintf("; ReceiveMessage of up to 10 with WaitTimeSeconds %g", r.WaitSeconds)
			break
		}
	}
	fmt.Fprintf(w, "aws workloads: %d B bodies, %d producers (and %d consumers per queue)%s\n"+
		"courier: courier serve built from this checkout, defaults: file:// with sync=always (every acknowledged write fdatasync'd), no auth\n"+
		"goaws %s and kinesalite %s: everything in memory (not durable)\n"+
		"every server is a child process on 127.0.0.1, a fresh one per row; the clients run in the bench's process\n"+
		"srv CPU: the server process's user+system CPU time (/proc/PID/stat, 10 ms steps) over the row's run, per message and inverted\n",
		r0.Size, r0.Concurrency, r0.Concurrency, receive, GoawsVersion, KinesaliteVersion)
	ratios := AWSRatios(results)
	for _, wl := range awsWorkloads {
		var rows []AWSResult
		for _, r := range results {
			if r.Workload == wl {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintln(w)
		var tw io.Writer = io.Discard // the column headings, when a row was measured
		table := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		if slices.ContainsFunc(rows, AWSResult.ok) {
			tw = table
		}
		switch wl {
		case WorkloadSQS:
			latency := "skipped"
			for _, r := range rows {
				if r.LatencyN > 0 {
					latency = fmt.Sprintf("%d SendMessage calls one at a time at %d/s", r.LatencyN, r.Rate)
					break
				}
			}
			fmt.Fprintf(w, "SQS: %d messages; SendMessageBatch of 10 while consumers ReceiveMessage and DeleteMessageBatch (rest: SendBatch, Receive, Ack);\n"+
				"msgs/s = messages / (first send .. last delete); send latency: %s\n", rows[0].N, latency)
			fmt.Fprintln(tw, "system\tprotocol\tdurable\tmsgs/s\tsends/s\tsrv CPU µs/msg\tmsgs/srv-CPU-s\tdups\tsend p50 µs\tp99 µs\t")
		case WorkloadSNS:
			fmt.Fprintf(w, "SNS: %d messages Published one per call to a topic with %d SQS queues subscribed (RawMessageDelivery), drained meanwhile;\n"+
				"deliveries/s = %d×messages / (first publish .. last delete)\n", rows[0].N, snsFanout, snsFanout)
			fmt.Fprintln(tw, "system\tprotocol\tdurable\tdeliveries/s\tpublishes/s\tsrv CPU µs/delivery\tdeliveries/srv-CPU-s\tdups\t")
		case WorkloadKinesis:
			fmt.Fprintf(w, "Kinesis: %d records into a stream of %d shards, PutRecords of %d with random partition keys, one GetRecords reader per shard\n"+
				"from TRIM_HORIZON; records/s = records / (first put .. last read)\n", rows[0].N, kinesisShards, kinesisPutBatch)
			fmt.Fprintln(tw, "system\tprotocol\tdurable\trecords/s\tputs/s\tsrv CPU µs/record\trecords/srv-CPU-s\tretried\tdups\t")
		}
		tw = table
		for _, r := range rows {
			if !r.ok() {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.0f\t", r.System, r.Protocol, yesNo(r.Durable), r.MsgsPerSec, r.SendsPerSec)
			if r.MsgsPerServerCPUSec > 0 {
				fmt.Fprintf(tw, "%.1f\t%.0f\t", r.ServerCPUusPerMsg, r.MsgsPerServerCPUSec)
			} else {
				fmt.Fprint(tw, "-\t-\t")
			}
			switch {
			case wl == WorkloadKinesis:
				fmt.Fprintf(tw, "%d\t%d\t\n", r.Retries, r.Duplicates)
			case wl == WorkloadSQS && r.LatencyN > 0:
				fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t\n", r.Duplicates, r.P50us, r.P99us)
			case wl == WorkloadSQS:
				fmt.Fprintf(tw, "%d\t-\t-\t\n", r.Duplicates)
			default:
				fmt.Fprintf(tw, "%d\t\n", r.Duplicates)
			}
		}
		if err := table.Flush(); err != nil {
			return err
		}
		for _, r := range rows {
			switch {
			case r.Skipped != "":
				fmt.Fprintf(w, "%s %s: skipped: %s\n", r.System, r.Protocol, r.Skipped)
			case r.Error != "":
				fmt.Fprintf(w, "%s %s: FAILED: %s\n", r.System, r.Protocol, r.Error)
			}
		}
		for _, ra := range ratios {
			if ra.Workload != wl {
				continue
			}
			bound := "≥"
			if ra.AtMost {
				bound = "≤"
			}
			fmt.Fprintf(w, "%-50s %-10s %6.2f×  target %s%g× %s\n", ra.Ratio, ra.Measure, ra.Value, bound, ra.Target, verdict(ra.Met))
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
