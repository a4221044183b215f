// Command shop is an example system built on courier: small services in
// one process, each talking to the others the way its job calls for.
//
//	go run ./examples/shop
//
// starts, on the embedded engine in a temporary directory:
//
//   - an HTTP front (REST) on 127.0.0.1:8080, which calls
//   - the orders service over gRPC (127.0.0.1:8081), which sends a payment
//     request to the payments queue, appends OrderPlaced to the orders
//     stream and puts "Order Placed" on the event bus;
//   - payments, a worker on the queue (retries, then payments-dlq), which
//     charges a fake gateway and publishes OrderPaid to a topic;
//   - shipping, three warehouses subscribed to the topic with filter
//     policies (EU, US, express);
//   - analytics, a consumer group on the stream, keeping totals;
//   - audit, fed by a bus rule whose input transformer reshapes every order
//     event into an audit entry on the audit queue.
//
// Every call runs under a resilience policy (resilience.yaml) and every hop
// carries the order's trace. README.md walks through it and explains which
// messaging model each part uses and why.
//
// Flags:
//
//	-addr HOST:PORT         the front (default 127.0.0.1:8080)
//	-orders-addr HOST:PORT  the orders service (default 127.0.0.1:8081)
//	-data DIR               keep the broker's data in DIR (default: a temporary directory)
//	-broker URL             use this courier backend instead (e.g. http://127.0.0.1:7410)
//	-fail-card TOKEN        charges of this card fail until fixed (default tok_flaky; "" for none)
//	-trace-stdout           print one line per span
//	-otlp URL               export spans to an OTLP/HTTP collector (e.g. http://localhost:4318)
//
// Ctrl-C stops it cleanly.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/courier-io/courier/observability"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address of the HTTP front")
	ordersAddr := flag.String("orders-addr", "127.0.0.1:8081", "address of the orders service (gRPC)")
	data := flag.String("data", "", "directory of the embedded engine's data (default: a temporary directory, removed at exit)")
	broker := flag.String("broker", "", "courier URL to use instead of the embedded engine (mem://, file://DIR, http://HOST:PORT)")
	failCard := flag.String("fail-card", "tok_flaky", `card token whose charges fail until the gateway is fixed ("" for none)`)
	traceStdout := flag.Bool("trace-stdout", false, "print one line per span to stdout")
	otlp := flag.String("otlp", "", "OTLP/HTTP collector to export spans to, e.g. http://localhost:4318")
	verbose := flag.Bool("v", false, "log every message handled (debug level)")
	flag.Parse()
	if *data != "" && *broker != "" {
		log.Fatal("-data and -broker exclude each other")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // while stopping, a second Ctrl-C kills at once
	var spans io.Writer
	if *traceStdout {
		spans = os.Stdout
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(observability.LogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if err := run(ctx, config{Addr: *addr, OrdersAddr: *ordersAddr, DataDir: *data, Broker: *broker,
		FailCard: *failCard, Logger: logger}, spans, *otlp); err != nil {
		log.Fatal(err)
	}
}

// run starts the shop, prints how to use it, and stops it when ctx ends
// or a part fails.
func run(ctx context.Context, cfg config, spans io.Writer, otlp string) (err error) {
	tp, err := newTracerProvider(ctx, spans, otlp)
	if err != nil {
		return err
	}
	if tp != nil {
		cfg.TracerProvider = tp
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if serr := tp.Shutdown(sctx); serr != nil && err == nil {
				err = fmt.Errorf("flush spans: %w", serr)
			}
		}()
	}
	s, err := start(ctx, cfg)
	if err != nil {
		return err
	}
	printUsage(os.Stdout, s, cfg)
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stdout, "\nstopping...")
	case <-s.Done():
	}
	return s.Close()
}

// printUsage tells how to place an order and watch it go through.
func printUsage(w io.Writer, s *shop, cfg config) {
	f := s.frontURL
	fmt.Fprintf(w, `shop: front %s, orders service (gRPC) %s, broker %s

Place an order (the answer has its order_id and trace_id):
  curl -s -X POST %s/orders -d '{"customer": "c-1", "amount_cents": 2599, "region": "eu", "card": "tok_visa"}'
  curl -s -X POST %s/orders -d '{"customer": "c-2", "amount_cents": 9900, "region": "us", "priority": "express", "card": "tok_visa"}'
Follow it through payments, shipping, analytics and audit:
  curl -s %s/orders/ORDER_ID
  curl -s %s/stats
`, f, s.ordersURL, s.broker.URL(), f, f, f, f)
	if cfg.FailCard != "" {
		fmt.Fprintf(w, `An order whose payment fails (card %[2]s) until the gateway is fixed; it ends in payments-dlq:
  curl -s -X POST %[1]s/orders -d '{"customer": "c-3", "amount_cents": 1500, "region": "eu", "card": "%[2]s"}'
  curl -s -X PUT %[1]s/admin/gateway -d '{"fail_card": ""}'
  curl -s -X POST %[1]s/admin/redrive-payments
`, f, cfg.FailCard)
	}
	fmt.Fprintf(w, `The orders service speaks gRPC and the Connect protocol (JSON), so curl can call it too:
  curl -s %s/shop.orders.v1.OrderService/PlaceOrder -H 'Content-Type: application/json' \
    -d '{"order": {"order_id": "o-42", "customer": "c-4", "amount_cents": 700, "region": "us", "priority": "standard", "card": "tok_visa"}}'
Ctrl-C stops.
`, s.ordersURL)
}
