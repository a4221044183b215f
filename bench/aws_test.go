package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// smallAWSConfig is an AWS workload small enough for the test suite.
func smallAWSConfig(t testing.TB) AWSConfig {
	return AWSConfig{SQSN: 500, SNSN: 60, KinesisN: 5000, Size: 64, Concurrency: 2, LatencyN: 20, Rate: 1000,
		Dir: t.TempDir(), Timeout: 2 * time.Minute}
}

// checkAWSRows checks that the rows of want ("workload system protocol")
// are in res in that order, measured, with every message delivered.
func checkAWSRows(t *testing.T, res []AWSResult, want []string) {
	t.Helper()
	var got []string
	for _, r := range res {
		got = append(got, r.Workload+" "+r.label())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range res {
		if r.Skipped != "" {
			continue
		}
		if !r.ok() {
			t.Errorf("%s %s: not measured: %+v", r.Workload, r.label(), r)
			continue
		}
		deliveries := r.N
		if r.Workload == WorkloadSNS {
			deliveries *= snsFanout
		}
		if r.Delivered != deliveries+r.Duplicates || r.SendsPerSec <= 0 || r.Seconds <= 0 {
			t.Errorf("%s %s: delivered %d with %d duplicates (want %d more), sends/s %v, seconds %v",
				r.Workload, r.label(), r.Delivered, r.Duplicates, deliveries, r.SendsPerSec, r.Seconds)
		}
		if runtime.GOOS == "linux" && (r.ServerCPUSeconds <= 0 || r.ServerCPUusPerMsg <= 0 || r.MsgsPerServerCPUSec <= 0) {
			t.Errorf("%s %s: server CPU %vs, %v µs/msg, %v msgs/CPU-s: not measured", r.Workload, r.label(),
				r.ServerCPUSeconds, r.ServerCPUusPerMsg, r.MsgsPerServerCPUSec)
		}
		if wantDurable := r.System == SystemCourier; r.Durable != wantDurable {
			t.Errorf("%s %s: durable %v, want %v", r.Workload, r.label(), r.Durable, wantDurable)
		}
		if wantLatency := r.Workload == WorkloadSQS; (r.LatencyN == 20 && r.P50us > 0 && r.P99us >= r.P50us) != wantLatency {
			t.Errorf("%s %s: latency run of %d calls, p50 %v p99 %v", r.Workload, r.label(), r.LatencyN, r.P50us, r.P99us)
		}
	}
}

// checkAWSOutput checks the table and the JSON lines of res: every row
// and ratio in both.
func checkAWSOutput(t *testing.T, res []AWSResult, ratios int) {
	t.Helper()
	if n := len(AWSRatios(res)); n != ratios {
		t.Errorf("%d ratios, want %d: %+v", n, ratios, AWSRatios(res))
	}
	var table bytes.Buffer
	if err := WriteAWSTable(&table, res); err != nil {
		t.Fatal(err)
	}
	for _, ra := range AWSRatios(res) {
		if !slices.ContainsFunc(strings.Split(table.String(), "\n"), func(line string) bool {
			return strings.HasPrefix(line, ra.Ratio+" ") && strings.Contains(line, " "+ra.Measure+" ")
		}) {
			t.Errorf("the table lacks the ratio %q by %s:\n%s", ra.Ratio, ra.Measure, table.String())
		}
	}
	for _, r := range res {
		if r.Skipped != "" && !strings.Contains(table.String(), "skipped: "+r.Skipped) {
			t.Errorf("the table does not say why %s was skipped:\n%s", r.label(), table.String())
		}
	}
	var js bytes.Buffer
	if err := WriteAWSJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var rows, ratioRows int
	sc := bufio.NewScanner(&js)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("JSON line %q: %v", sc.Text(), err)
		}
		if _, ok := m["ratio"]; ok {
			ratioRows++
		} else {
			rows++
		}
	}
	if rows != len(res) || ratioRows != ratios {
		t.Errorf("JSON: %d rows and %d ratios, want %d and %d", rows, ratioRows, len(res), ratios)
	}
	t.Logf("\n%s", table.String())
}

// TestAWSCourierSmallRun runs every workload against courier serve, built
// from this checkout, with small counts; then the peers with their
// sources missing, so that their rows must be skipped with the reason.
func TestAWSCourierSmallRun(t *testing.T) {
	cfg := smallAWSConfig(t)
	cfg.Systems, cfg.PeersDir = []string{SystemCourier}, t.TempDir()
	var progress progressLog
	cfg.Progress = progress.record
	res, err := AWS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	peers := smallAWSConfig(t)
	peers.Systems, peers.PeersSrc, peers.PeersDir = []string{SystemGoaws, SystemKinesalite}, t.TempDir(), t.TempDir()
	skipped, err := AWS(context.Background(), peers)
	if err != nil {
		t.Fatal(err)
	}
	res = append(res, skipped...)
	checkAWSRows(t, res, []string{
		"sqs courier sqs-json", "sqs courier sqs-query", "sqs courier rest",
		"sns courier sns+sqs-json", "sns courier sns+sqs-query",
		"kinesis courier kinesis-json",
		"sqs goaws sqs-query", "sns goaws sns+sqs-query", "kinesis kinesalite kinesis-json",
	})
	for _, r := range res {
		if (r.System != SystemCourier) != (r.Skipped != "") {
			t.Errorf("%s %s: skipped %q", r.Workload, r.label(), r.Skipped)
		}
	}
	for _, key := range []string{"courier sqs-json/sqs", "courier rest/latency", "courier sns+sqs-query/sns", "courier kinesis-json/kinesis"} {
		if p, ok := progress.last(key); !ok || p.Done != p.Total {
			t.Errorf("progress %s: last report %+v (reported: %v)", key, p, ok)
		}
	}
	checkAWSOutput(t, res, 2*cpuMeasures()) // the per-message cost of sqs-json and sqs-query over REST
}

// cpuMeasures is the number of measures each comparison is made by: the
// wall clock, and on Linux the server's CPU time too.
func cpuMeasures() int {
	if runtime.GOOS == "linux" {
		return 2
	}
	return 1
}

// TestAWSPeersSmallRun runs every workload against every system with small
// counts. It needs go (and the module proxy, or goaws in the module cache)
// and npm (and the npm registry, or a cached install): set
// COURIER_BENCH_AWS=1 to run it.
func TestAWSPeersSmallRun(t *testing.T) {
	if os.Getenv("COURIER_BENCH_AWS") != "1" {
		t.Skip("set COURIER_BENCH_AWS=1 to build and run goaws and kinesalite")
	}
	cfg := smallAWSConfig(t)
	res, err := AWS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkAWSRows(t, res, []string{
		"sqs courier sqs-json", "sqs courier sqs-query", "sqs courier rest", "sqs goaws sqs-query",
		"sns courier sns+sqs-json", "sns courier sns+sqs-query", "sns goaws sns+sqs-query",
		"kinesis courier kinesis-json", "kinesis kinesalite kinesis-json",
	})
	for _, r := range res {
		if r.Skipped != "" {
			t.Errorf("%s %s: skipped: %s", r.Workload, r.label(), r.Skipped)
		}
	}
	// sqs: 2 courier protocols over goaws and 2 over REST; sns: 2 over
	// goaws; kinesis: 1; each by every measure.
	checkAWSOutput(t, res, 7*cpuMeasures())
}

// TestAWSConfigErrors checks that an invalid setting is refused with its
// name.
func TestAWSConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  AWSConfig
		want string
	}{
		{AWSConfig{Size: 8}, "size"},
		{AWSConfig{Concurrency: 1000}, "concurrency"},
		{AWSConfig{Wait: 1500 * time.Millisecond}, "wait"},
		{AWSConfig{Wait: 21 * time.Second}, "wait"},
		{AWSConfig{Workloads: []string{"sqs", "sqs"}}, "listed twice"},
		{AWSConfig{Workloads: []string{"eventbridge"}}, "workloads"},
		{AWSConfig{Systems: []string{"localstack"}}, "systems"},
		{AWSConfig{Timeout: -time.Second}, "timeout"},
	} {
		if _, err := tc.cfg.withDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %q", tc.cfg, err, tc.want)
		}
	}
}

// TestDeliveries checks the check of delivered bodies.
func TestDeliveries(t *testing.T) {
	filler := awsFiller(32)
	d := newDeliveries(3, 32, filler)
	for _, tc := range []struct {
		body    string
		fresh   bool
		wantErr string
	}{
		{awsBody(0, 32, filler), true, ""},
		{awsBody(2, 32, filler), true, ""},
		{awsBody(0, 32, filler), false, ""},
		{awsBody(3, 32, filler), false, "indexes 0..2"},
		{awsBody(1, 32, filler)[:31], false, "31 bytes"},
		{awsBody(1, 32, filler)[:31] + "!", false, "altered"},
		{awsBody(1, 32, filler), true, ""},
	} {
		fresh, err := d.see(tc.body)
		if fresh != tc.fresh || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("see(%q) = %v, %v; want %v and an error with %q", tc.body, fresh, err, tc.fresh, tc.wantErr)
		}
	}
	if !d.complete() || d.duplicates.Load() != 1 {
		t.Errorf("complete %v with %d duplicates, want true and 1", d.complete(), d.duplicates.Load())
	}
}
