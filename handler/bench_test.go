package handler_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
)

// fill sends n 1 KiB messages to a fresh queue.
func fill(b *testing.B, br *courier.Broker, n int) *courier.Queue {
	b.Helper()
	ctx := context.Background()
	q, err := br.CreateQueue(ctx, fmt.Sprint("bench-", time.Now().UnixNano()))
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 1024)
	for sent := 0; sent < n; {
		batch := make([]courier.Message, min(1000, n-sent))
		for i := range batch {
			batch[i] = courier.Message{Body: body}
		}
		if _, err := q.SendBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
		sent += len(batch)
	}
	return q
}

// BenchmarkRuntimeOverhead compares draining a mem:// queue with the
// runtime (default middleware, batches of 10) against a bare loop of
// Receive (10) → handler → Ack (the batch) over the same driver, and
// reports the runtime's extra cost per message.
func BenchmarkRuntimeOverhead(b *testing.B) {
	br := open(b)
	ctx := context.Background()
	noop := func(context.Context, *handler.Message) error { return nil }
	var bare, runtime time.Duration
	for i := 0; i < 2; i++ { // bare, then runtime, on identical queues
		q := fill(b, br, b.N)
		start := time.Now()
		if i == 0 {
			for done := 0; done < b.N; {
				ds, err := q.Receive(ctx, courier.Max(10), courier.Wait(0))
				if err != nil {
					b.Fatal(err)
				}
				receipts := make([]string, len(ds))
				for j, d := range ds {
					_ = noop(ctx, &handler.Message{ID: d.ID, Body: d.Body})
					receipts[j] = d.Receipt
				}
				if err := q.Ack(ctx, receipts...); err != nil {
					b.Fatal(err)
				}
				done += len(ds)
			}
			bare = time.Since(start)
			continue
		}
		var n atomic.Int64
		finished := make(chan struct{})
		rctx, cancel := context.WithCancel(ctx)
		r := handler.NewRouter(handler.Use(handler.DefaultMiddleware()...))
		_ = r.Handle(handler.Queue(q), handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
			if n.Add(1) == int64(b.N) {
				close(finished)
			}
			return nil
		}), handler.Prefetch(10))
		errc := make(chan error, 1)
		go func() { errc <- r.Run(rctx) }()
		<-finished
		runtime = time.Since(start)
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	perBare := float64(bare.Nanoseconds()) / float64(b.N)
	perRuntime := float64(runtime.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perBare, "bare-ns/msg")
	b.ReportMetric(perRuntime, "runtime-ns/msg")
	b.ReportMetric(perRuntime-perBare, "overhead-ns/msg")
}

// BenchmarkRequestReply measures request-reply round trips, one at a
// time: courier's Requester and a Replier route on the embedded engine
// (mem://, and file:// with its fsyncs), and NATS core request-reply on an
// in-process nats-server, in the same run; it reports each p50 and the
// ratio of courier's mem:// p50 to NATS's.
func BenchmarkRequestReply(b *testing.B) {
	ctx := context.Background()
	p50 := func(lat []time.Duration) float64 {
		slices.Sort(lat)
		return float64(lat[len(lat)/2].Nanoseconds()) / 1e3
	}
	courierP50 := func(url string) float64 {
		br, err := courier.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer br.Close()
		q, err := br.CreateQueue(ctx, "echo")
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		r := handler.NewRouter()
		_ = r.Handle(handler.Queue(q), handler.Replier(br, func(ctx context.Context, req *handler.Message) (courier.Message, error) {
			return courier.Message{Body: req.Body}, nil
		}), handler.Prefetch(1))
		errc := make(chan error, 1)
		go func() { errc <- r.Run(rctx) }()
		defer func() { cancel(); <-errc }()
		req, err := handler.NewRequester(ctx, br)
		if err != nil {
			b.Fatal(err)
		}
		defer req.Close(ctx)
		body := []byte("ping")
		lat := make([]time.Duration, 0, b.N)
		for range b.N {
			t0 := time.Now()
			if _, err := req.Request(ctx, "echo", courier.Message{Body: body}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		return p50(lat)
	}
	natsP50 := func() float64 {
		srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
		if err != nil {
			b.Fatal(err)
		}
		srv.Start()
		defer srv.Shutdown()
		if !srv.ReadyForConnections(10 * time.Second) {
			b.Fatal("nats-server not ready")
		}
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		sub, err := nc.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Unsubscribe()
		lat := make([]time.Duration, 0, b.N)
		for range b.N {
			t0 := time.Now()
			if _, err := nc.Request("echo", []byte("ping"), 5*time.Second); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		return p50(lat)
	}
	mem := courierP50("mem://")
	file := courierP50("file://" + b.TempDir())
	n := natsP50()
	b.ReportMetric(mem, "courier-mem-p50-µs")
	b.ReportMetric(file, "courier-file-p50-µs")
	b.ReportMetric(n, "nats-p50-µs")
	b.ReportMetric(mem/n, "mem/nats")
}
