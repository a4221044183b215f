package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/courier-io/courier"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/server"
)

// gatewayQueue is the queue the call workloads send to.
const gatewayQueue = "bench"

// gatewayRounds is the number of rounds the latency run's calls are
// interleaved in.
const gatewayRounds = 10

// bareMessageID is the message ID the bare servers answer: the shape of
// courier's (a UUID).
const bareMessageID = "0190f4c2-7a3e-7b1d-9c2a-5e8f1d3b6a70"

// bareRESTAnswer is the bare REST server's answer, byte for byte the shape
// of courier's (httpapi.SendResponse for one message, from a json.Encoder).
var bareRESTAnswer = []byte(`{"id":"` + bareMessageID + `"}` + "\n")

// courierServer is courier's server, as `courier serve` builds it (its
// http.Server and connection listener), on a fresh backend and a free
// port of 127.0.0.1, without authentication.
type courierServer struct {
	b      *courier.Broker
	srv    *server.Server
	hs     *http.Server
	addr   string // host:port
	served chan error
}

// startCourierServer opens backend and serves it with opts.
func startCourierServer(ctx context.Context, backend string, opts ...server.Option) (*courierServer, error) {
	b, err := courier.Open(ctx, backend)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(err, b.Close())
	}
	srv := server.New(b, opts...)
	s := &courierServer{b: b, srv: srv, hs: srv.HTTPServer(), addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { s.served <- s.hs.Serve(srv.Listener(ln)) }()
	return s, nil
}

// close ends the WebSockets and long polls, shuts the server down (cutting
// off what is still running after 10s) and closes the backend.
func (s *courierServer) close() error {
	s.srv.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.hs.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.hs.Close())
	}
	<-s.served // http.ErrServerClosed
	return errors.Join(err, s.b.Close())
}

// bareGRPCServer is a grpc-go server with one method,
// courier.v1.QueueService/Send, that decodes the request and answers one
// constant message ID per message: the same call shape as courier's,
// with no work behind it.
type bareGRPCServer struct {
	srv    *grpc.Server
	addr   string
	served chan error
}

// bareQueueService describes the bare server's only method with the
// generated message types; the service has no Go interface.
var bareQueueService = grpc.ServiceDesc{
	ServiceName: courierv1connect.QueueServiceName,
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Send", Handler: bareSend}},
}

func bareSend(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	req := new(pb.SendRequest)
	if err := dec(req); err != nil {
		return nil, err
	}
	answer := func(_ context.Context, req any) (any, error) { return bareSendResponse(req.(*pb.SendRequest)), nil }
	if interceptor == nil {
		return answer(ctx, req)
	}
	return interceptor(ctx, req, &grpc.UnaryServerInfo{FullMethod: courierv1connect.QueueServiceSendProcedure}, answer)
}

func startBareGRPC() (*bareGRPCServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &bareGRPCServer{srv: grpc.NewServer(), addr: ln.Addr().String(), served: make(chan error, 1)}
	s.srv.RegisterService(&bareQueueService, nil)
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// close stops the server: it closes the connections and waits for the
// handlers.
func (s *bareGRPCServer) close() error {
	s.srv.Stop()
	return <-s.served // nil after Stop
}

// noopQueueService is a connect-go QueueService whose Send answers one
// constant message ID per message, doing no work; the other methods are
// unimplemented.
type noopQueueService struct {
	courierv1connect.UnimplementedQueueServiceHandler
}

func (noopQueueService) Send(_ context.Context, req *pb.SendRequest) (*pb.SendResponse, error) {
	return bareSendResponse(req), nil
}

// bareSendResponse answers req as the bare servers do.
func bareSendResponse(req *pb.SendRequest) *pb.SendResponse {
	res := &pb.SendResponse{Results: make([]*pb.SendResult, len(req.GetMessages()))}
	for i := range res.Results {
		res.Results[i] = &pb.SendResult{Id: bareMessageID}
	}
	return res
}

// startConnectServer serves noopQueueService with connect-go on a net/http
// server speaking HTTP/1.1 and h2c, as courier's server is built
// (server.HTTPServer), but with nothing else behind it.
func startConnectServer() (*refHTTPServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(courierv1connect.NewQueueServiceHandler(noopQueueService{}))
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	s := &refHTTPServer{hs: &http.Server{Handler: mux, Protocols: &p, ReadHeaderTimeout: 10 * time.Second}, addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { s.served <- s.hs.Serve(ln) }()
	return s, nil
}

// refHTTPServer is a reference server on net/http: the bare REST server
// (startBareHTTP) or the no-op connect-go server (startConnectServer).
type refHTTPServer struct {
	hs     *http.Server
	addr   string
	served chan error
}

// startBareHTTP starts a net/http server that answers every request like
// courier's send of one message, once the body is read, with no work
// behind it.
func startBareHTTP() (*refHTTPServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bareRESTAnswer) // the client went away; nothing to do
	})
	s := &refHTTPServer{hs: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { s.served <- s.hs.Serve(ln) }()
	return s, nil
}

func (s *refHTTPServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.hs.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.hs.Close())
	}
	<-s.served // http.ErrServerClosed
	return err
}

// callClient makes one call of a call workload to one server.
type callClient struct {
	system string // PeerCourier, SystemBare or SystemConnect
	// call makes one call and checks its answer.
	call func(context.Context) error
	// close releases the client's connections.
	close func() error
	calls atomic.Int64 // successful calls
}

// grpcClient sends one message per call to the server at addr with a
// grpc-go client over h2c (one HTTP/2 connection for all calls).
func grpcClient(system, addr string, body []byte) (*callClient, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	call := func(ctx context.Context) error {
		req := &pb.SendRequest{Queue: gatewayQueue, Messages: []*pb.Message{{Body: body}}}
		res := new(pb.SendResponse)
		if err := conn.Invoke(ctx, courierv1connect.QueueServiceSendProcedure, req, res); err != nil {
			return err
		}
		if rs := res.GetResults(); len(rs) != 1 || rs[0].GetError() != nil || rs[0].GetId() == "" {
			return fmt.Errorf("answered %v; want one message ID", res)
		}
		return nil
	}
	return &callClient{system: system, call: call, close: conn.Close}, nil
}

// restClient sends one message per call to the server at addr with
// POST /v1/queues/bench/messages over HTTP/1.1, keeping up to concurrency
// connections alive.
func restClient(system, addr string, body []byte, concurrency int) *callClient {
	var p http.Protocols
	p.SetHTTP1(true)
	tr := &http.Transport{Protocols: &p, MaxIdleConnsPerHost: concurrency, DisableCompression: true}
	hc := &http.Client{Transport: tr}
	url := "http://" + addr + "/v1/queues/" + gatewayQueue + "/messages"
	payload, _ := json.Marshal(map[string]string{"body": string(body)}) // never fails
	call := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var answer struct {
			ID string `json:"id"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &answer) != nil || answer.ID == "" {
			return fmt.Errorf("answered %s %.200q; want 200 and a message ID", resp.Status, data)
		}
		return nil
	}
	return &callClient{system: system, call: call, close: func() error { tr.CloseIdleConnections(); return nil }}
}

// gatewayCalls runs the call workloads: gRPC, then REST, each against a
// courier server on backend and the reference servers.
func gatewayCalls(ctx context.Context, cfg GatewayConfig, backend string) (out []GatewayResult, err error) {
	cs, err := startCourierServer(ctx, backend)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, cs.close()) }()
	if _, err := cs.b.CreateQueue(ctx, gatewayQueue, courier.VisibilityTimeout(5*time.Minute)); err != nil {
		return nil, err
	}
	bareGRPC, err := startBareGRPC()
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, bareGRPC.close()) }()
	bareHTTP, err := startBareHTTP()
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, bareHTTP.close()) }()
	connectSrv, err := startConnectServer()
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, connectSrv.close()) }()

	body := messageBody(cfg.Size, 0)
	for _, proto := range []string{ProtocolGRPC, ProtocolREST} {
		var clients []*callClient
		switch proto {
		case ProtocolGRPC:
			for _, srv := range []struct{ system, addr string }{
				{PeerCourier, cs.addr}, {SystemBare, bareGRPC.addr}, {SystemConnect, connectSrv.addr},
			} {
				c, err := grpcClient(srv.system, srv.addr, body)
				if err != nil {
					return out, errors.Join(err, closeClients(clients))
				}
				clients = append(clients, c)
			}
		case ProtocolREST:
			clients = []*callClient{
				restClient(PeerCourier, cs.addr, body, cfg.Concurrency),
				restClient(SystemBare, bareHTTP.addr, body, cfg.Concurrency),
			}
		}
		rs, err := measureCalls(ctx, cfg, proto, clients)
		err = errors.Join(err, closeClients(clients))
		for i := range rs {
			if rs[i].System == PeerCourier {
				rs[i].Backend = cfg.Backend
			}
		}
		out = append(out, rs...)
		if err != nil {
			return out, fmt.Errorf("%s: %w", proto, err)
		}
	}
	return out, nil
}

// closeClients closes every client.
func closeClients(clients []*callClient) error {
	var err error
	for _, c := range clients {
		err = errors.Join(err, c.close())
	}
	return err
}

// measureCalls warms every client up, runs the latency run interleaved,
// then the throughput run of each, and returns their results in the
// order of clients, each compared with the bare server's: clients[0] is
// courier's, clients[1] the bare server's.
func measureCalls(ctx context.Context, cfg GatewayConfig, proto string, clients []*callClient) ([]GatewayResult, error) {
	one := func(c *callClient) error {
		if err := c.call(ctx); err != nil {
			return fmt.Errorf("%s: call %d: %w", c.system, c.calls.Load()+1, err)
		}
		c.calls.Add(1)
		return nil
	}
	for _, c := range clients {
		for range cfg.Warmup {
			if err := one(c); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}

	lat := make([][]time.Duration, len(clients))
	for i := range lat {
		lat[i] = make([]time.Duration, 0, cfg.N)
	}
	var done atomic.Int64
	total := len(clients) * cfg.N
	stop := reportProgress(cfg.Progress, proto, "latency", total, &done)
	rounds := min(gatewayRounds, cfg.N)
	for r := range rounds {
		calls := cfg.N / rounds
		if r < cfg.N%rounds {
			calls++
		}
		for k := range clients {
			i := (k + r) % len(clients) // each round starts with the next system
			for range calls {
				t0 := time.Now()
				if err := one(clients[i]); err != nil {
					stop()
					return nil, fmt.Errorf("latency: %w", err)
				}
				lat[i] = append(lat[i], time.Since(t0))
				done.Add(1)
			}
		}
	}
	stop()

	out := make([]GatewayResult, len(clients))
	for i, c := range clients {
		var next, done atomic.Int64
		stop := reportProgress(cfg.Progress, c.system+"-"+proto, "throughput", cfg.N, &done)
		start := time.Now()
		err := workers(ctx, cfg.Concurrency, func(context.Context) error {
			for next.Add(1) <= int64(cfg.N) {
				if err := one(c); err != nil {
					return err
				}
				done.Add(1)
			}
			return nil
		})
		elapsed := time.Since(start)
		stop()
		if err != nil {
			return nil, fmt.Errorf("throughput: %w", err)
		}
		out[i] = GatewayResult{
			System: c.system, Protocol: proto, Size: cfg.Size,
			P50us: micros(percentile(lat[i], 0.50)), P99us: micros(percentile(lat[i], 0.99)), MaxUs: micros(percentile(lat[i], 1)),
			CallsPerSec: float64(cfg.N) / elapsed.Seconds(),
			Calls:       int(c.calls.Load()), N: cfg.N, Warmup: cfg.Warmup, Concurrency: cfg.Concurrency,
		}
	}
	bare := out[1]
	for i := range out {
		if r := &out[i]; r.System != SystemBare {
			r.AddedP50us = r.P50us - bare.P50us
			r.P50Ratio = r.P50us / bare.P50us
			r.CallsPerSecRatio = r.CallsPerSec / bare.CallsPerSec
		}
	}
	return out, nil
}

// messageBody returns a body of size bytes (at least 8): index i in
// eight decimal digits, then 'x's.
func messageBody(size, i int) []byte {
	b := bytes.Repeat([]byte{'x'}, size)
	copy(b, fmt.Sprintf("%08d", i))
	return b
}
