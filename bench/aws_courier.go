package bench

import (
	"context"
	"errors"
	"fmt"

	"net/http"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi/services"
	"github.com/courier-io/courier/server"
)

// startCourierAWS starts courier's server as `courier serve` runs it with
// the AWS endpoints: file://dir (sync=always), 127.0.0.1, no
// authentication.
func startCourierAWS(ctx context.Context, dir string) (*courierServer, error) {
	s, err := startCourierServer(ctx, "file://"+dir, server.WithAWS(server.AWSConfig{Services: services.All()}))
	if err != nil {
		return nil, err
	}
	if err := s.srv.Err(); err != nil {
		return nil, errors.Join(err, s.close())
	}
	return s, nil
}

// courierAWS runs workload w against a fresh courier server on file://dir
// through each of courier's protocols in turn: for SQS the SDK, the
// query-protocol client and the native REST client; for SNS the SDK's SNS
// client with the queues drained through the SDK and through the
// query-protocol client; for Kinesis the SDK.
func courierAWS(ctx context.Context, r awsRun, w, dir string) (rows []AWSResult) {
	type variant struct {
		protocol string
		run      func(ctx context.Context, r awsRun, endpoint string) (runStats, error)
	}
	var variants []variant
	switch w {
	case WorkloadSQS:
		variants = []variant{
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
		variants = []variant{
			{ProtocolSNSQuery + "+" + ProtocolSQSJSON, drain("bench-json", func(e string, hc *http.Client) sqsAPI { return newSQSSDK(e, hc) })},
			{ProtocolSNSQuery + "+" + ProtocolSQSQuery, drain("bench-query", func(e string, hc *http.Client) sqsAPI { return newSQSQueryClient(e, hc) })},
		}
	case WorkloadKinesis:
		variants = []variant{{ProtocolKinesisJSON, func(ctx context.Context, r awsRun, endpoint string) (runStats, error) {
			hc := benchHTTPClient(r.cfg.Concurrency + kinesisShards + 2)
			defer hc.CloseIdleConnections()
			return kinesisWorkload(ctx, r, newKinesisSDK(endpoint, hc), "bench")
		}}}
	}
	s, err := startCourierAWS(ctx, dir)
	if err != nil {
		for _, v := range variants {
			rows = append(rows, r.row(w, SystemCourier, v.protocol, true, runStats{}, fmt.Errorf("start: %w", err), ""))
		}
		return rows
	}
	defer func() {
		if err := s.close(); err != nil && len(rows) > 0 && rows[len(rows)-1].Error == "" {
			rows[len(rows)-1].Error = "close: " + err.Error()
		}
	}()
	for _, v := range variants {
		r.system = SystemCourier + " " + v.protocol
		st, err := v.run(ctx, r, "http://"+s.addr)
		rows = append(rows, r.row(w, SystemCourier, v.protocol, true, st, err, ""))
		if ctx.Err() != nil {
			break
		}
	}
	return rows
}
