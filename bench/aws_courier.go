package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/courier-io/courier"
)

// courier's side of `courier bench aws`: `courier serve` built from the
// checkout and run as a child process, like the peers, so that every
// server's CPU time is read the same way.

// setupCourier builds courier from the checkout that holds src (its
// bench/awspeers: the module root is two levels up) into cache/courier
// and returns the binary's path. go build reuses its build cache and
// leaves the binary alone while the checkout is unchanged, so later runs
// cost a check. It needs go on PATH.
func setupCourier(ctx context.Context, src, cache string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go is not on PATH: %w", err)
	}
	root := filepath.Dir(filepath.Dir(src))
	if _, err := os.Stat(filepath.Join(root, "cmd", "courier", "serve.go")); err != nil {
		return "", fmt.Errorf("sources: %w (set --peers-src to a checkout's bench/awspeers)", err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "courier")
	if err := runTool(ctx, root, nil, goTool, "build", "-o", bin, "./cmd/courier"); err != nil {
		return "", err
	}
	return bin, nil
}

// courierListening finds the address in courier serve's log line
// `msg="courier listening" addr=HOST:PORT ...`.
var courierListening = regexp.MustCompile(`msg="courier listening" addr=(\S+)`)

// startCourier runs `courier serve` (bin) on a free port of 127.0.0.1
// with its data in dir, with the defaults: the durable engine with
// sync=always, the AWS endpoints, no authentication (loopback). The
// COURIER_* variables of the environment are left out, so that none
// changes what is measured. It waits until the server logs where it
// listens.
func startCourier(ctx context.Context, bin, dir string) (*peerProcess, error) {
	p := &peerProcess{name: "courier serve", output: &tailBuffer{}, interrupt: true}
	p.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", dir)
	p.cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "COURIER_") })
	listening := make(chan string, 1)
	p.cmd.Stdout = p.output
	p.cmd.Stderr = &listenWatcher{out: p.output, listening: listening, addr: func(line string) (string, bool) {
		m := courierListening.FindStringSubmatch(line)
		if m == nil {
			return "", false
		}
		return m[1], true
	}}
	if err := p.start(); err != nil {
		return nil, err
	}
	return p.awaitListening(ctx, listening, 30*time.Second)
}

// courierVariant is one of courier's rows of a workload: a protocol and
// the run through it against endpoint.
type courierVariant struct {
	protocol string
	run      func(ctx context.Context, r awsRun, endpoint string) (runStats, error)
}

// courierVariants returns courier's rows of workload w: for SQS the SDK,
// the query-protocol client and the native REST client; for SNS the SDK's
// SNS client with the queues drained through the SDK and through the
// query-protocol client; for Kinesis the SDK.
func courierVariants(w string) []courierVariant {
	switch w {
	case WorkloadSQS:
		return []courierVariant{
			{ProtocolSQSJSON, func(ctx context.Context, r awsRun, endpoint string) (runStats, error) {
				hc := benchHTTPClient(2*r.cfg.Concurrency + 4)
				defer hc.CloseIdleConnections()
				return sqsWorkload(ctx, r, newSQSSDK(endpoint, hc), "bench-json")
			}},
			{ProtocolSQSQuery, func(ctx context.Context, r awsRun, endpoint string) (runStats, error) {
				hc := benchHTTPClient(2*r.cfg.Concurrency + 4)
				defer hc.CloseIdleConnections()
				return sqsWorkload(ctx, r, newSQSQueryClient(endpoint, hc), "bench-query")
			}},
			{ProtocolREST, func(ctx context.Context, r awsRun, endpoint string) (st runStats, err error) {
				b, err := courier.Open(ctx, "rest+"+endpoint)
				if err != nil {
					return st, err
				}
				defer func() { err = errors.Join(err, b.Close()) }()
				return sqsWorkload(ctx, r, restQueues{b}, "bench-rest")
			}},
		}
	case WorkloadSNS:
		drain := func(name string, q func(endpoint string, hc *http.Client) sqsAPI) func(context.Context, awsRun, string) (runStats, error) {
			return func(ctx context.Context, r awsRun, endpoint string) (runStats, error) {
				hc := benchHTTPClient(4*r.cfg.Concurrency + 4)
				defer hc.CloseIdleConnections()
				return snsWorkload(ctx, r, newSNSSDK(endpoint, hc), q(endpoint, hc), name)
			}
		}
		return []courierVariant{
			{ProtocolSNSQuery + "+" + ProtocolSQSJSON, drain("bench-json", func(e string, hc *http.Client) sqsAPI { return newSQSSDK(e, hc) })},
			{ProtocolSNSQuery + "+" + ProtocolSQSQuery, drain("bench-query", func(e string, hc *http.Client) sqsAPI { return newSQSQueryClient(e, hc) })},
		}
	default:
		return []courierVariant{{ProtocolKinesisJSON, func(ctx context.Context, r awsRun, endpoint string) (runStats, error) {
			hc := benchHTTPClient(r.cfg.Concurrency + kinesisShards + 2)
			defer hc.CloseIdleConnections()
			return kinesisWorkload(ctx, r, newKinesisSDK(endpoint, hc), "bench")
		}}}
	}
}

// courierAWS runs workload w through each of courier's variants, each on
// a fresh `courier serve` (bin) with its data in a directory under dir,
// so that each row's server CPU is its own. setupErr, when not nil, is
// why bin could not be built: every row fails with it.
func courierAWS(ctx context.Context, r awsRun, w, bin, dir string, setupErr error) (rows []AWSResult) {
	for i, v := range courierVariants(w) {
		if setupErr != nil {
			rows = append(rows, r.row(w, SystemCourier, v.protocol, true, runStats{}, fmt.Errorf("setup: %w", setupErr), ""))
			continue
		}
		rows = append(rows, courierRow(ctx, r, w, v, bin, filepath.Join(dir, fmt.Sprintf("courier-%s-%d", w, i))))
		if ctx.Err() != nil {
			break
		}
	}
	return rows
}

// courierRow runs variant v of workload w against a fresh courier serve
// with its data in dir, and stops the server.
func courierRow(ctx context.Context, r awsRun, w string, v courierVariant, bin, dir string) AWSResult {
	p, err := startCourier(ctx, bin, dir)
	if err != nil {
		return r.row(w, SystemCourier, v.protocol, true, runStats{}, fmt.Errorf("start: %w", err), "")
	}
	r.system, r.serverPID = SystemCourier+" "+v.protocol, p.cmd.Process.Pid
	st, err := v.run(ctx, r, "http://"+p.addr)
	if err != nil {
		err = fmt.Errorf("%w (courier serve output: %s)", err, p.output.String())
	}
	if cerr := p.close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close: %w", cerr))
	}
	return r.row(w, SystemCourier, v.protocol, true, st, err, "")
}
