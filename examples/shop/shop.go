package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/idempotency"
)

// config configures start. The zero value runs everything on the embedded
// engine in a temporary directory, on the default addresses, untraced.
type config struct {
	// Addr is where the HTTP front listens (default 127.0.0.1:8080; port 0
	// picks a free port).
	Addr string
	// OrdersAddr is where the orders service listens for gRPC (default
	// 127.0.0.1:8081).
	OrdersAddr string
	// Broker is the courier URL every service uses (mem://, file://DIR,
	// http://host:port for a courier server, ...). Default: file://DataDir.
	Broker string
	// DataDir is the embedded engine's directory when Broker is empty.
	// Default: a temporary directory, removed by Close.
	DataDir string
	// FailCard is the card token whose charges fail until the gateway is
	// fixed (PUT /admin/gateway). Default: none.
	FailCard string
	// TracerProvider traces every hop. Default: nothing is traced.
	TracerProvider trace.TracerProvider
	// Logger receives the services' logs. Default: discarded.
	Logger *slog.Logger
}

// shop is the running system: the front, the orders service, the four
// asynchronous services and the broker they share. It only wires them; each
// service's logic is in its own file. Close stops it.
type shop struct {
	broker *courier.Broker
	tmpDir string // removed by Close

	gateway   *gateway
	payments  *payments
	shipping  *shipping
	analytics *analytics
	audit     *audit
	consumer  *courier.Consumer // analytics' group membership
	routers   map[string]*handler.Router

	orders      *ordersClient
	frontSrv    *http.Server
	ordersSrv   *http.Server
	frontURL    string // http://host:port
	ordersURL   string
	stopRouters context.CancelFunc
	wg          sync.WaitGroup
	failed      chan struct{} // closed when a part failed for good
	failOnce    sync.Once
	failErr     error
	closeOnce   sync.Once
	closeErr    error
	routerNames []string // router names in start order
}

// start brings the shop up: it opens the broker, declares the queues,
// topic, stream and bus rule, starts every service and listens. ctx bounds
// the start only. On error, whatever was started is stopped again.
func start(ctx context.Context, cfg config) (_ *shop, err error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.OrdersAddr == "" {
		cfg.OrdersAddr = "127.0.0.1:8081"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tp := cfg.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	s := &shop{failed: make(chan struct{}), routers: map[string]*handler.Router{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	pol, err := loadPolicies()
	if err != nil {
		return nil, err
	}

	url := cfg.Broker
	if url == "" {
		dir := cfg.DataDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "courier-shop-"); err != nil {
				return nil, err
			}
			s.tmpDir = dir
		}
		url = "file://" + dir
	}
	opts := []courier.Option{courier.WithLogger(cfg.Logger)}
	if cfg.TracerProvider != nil {
		// Every send, publish, append and put is a producer span whose
		// context travels in the message headers; consumers continue it.
		opts = append(opts, courier.WithTracerProvider(cfg.TracerProvider))
	}
	if s.broker, err = courier.Open(ctx, url, opts...); err != nil {
		return nil, err
	}
	top, err := declare(ctx, s.broker)
	if err != nil {
		return nil, fmt.Errorf("declare the shop's queues, topic, stream and rule: %w", err)
	}
	store, err := idempotency.NewEmbedded(ctx, s.broker, idempotencyStream)
	if err != nil {
		return nil, err
	}

	// The asynchronous services, each a router of its own (as if each ran
	// in its own process).
	s.gateway = newGateway(cfg.FailCard)
	s.payments = &payments{queue: top.payments, dlq: top.paymentsDLQ, events: top.events, bus: top.bus,
		gateway: s.gateway, store: store, tracer: tp.Tracer("github.com/courier-io/courier/examples/shop/payments"),
		gatewayPolicy: pol.gateway, brokerPolicy: pol.paymentsBroker}
	s.shipping = &shipping{topic: top.events, bus: top.bus, store: store, policy: pol.shippingBroker}
	s.analytics = &analytics{stream: top.orders, logger: cfg.Logger}
	s.audit = &audit{queue: top.audit}
	if s.consumer, err = s.analytics.join(ctx, "analytics-1"); err != nil {
		return nil, err
	}
	router := func(name string) *handler.Router {
		r := handler.NewRouter(handler.Use(handler.Tracing(tp), handler.Recover()),
			handler.Logger(cfg.Logger.With("service", name)), handler.ShutdownTimeout(5*time.Second))
		s.routers[name] = r
		s.routerNames = append(s.routerNames, name)
		return r
	}
	if err := s.payments.route(router("payments")); err != nil {
		return nil, err
	}
	if err := s.shipping.routes(router("shipping")); err != nil {
		return nil, err
	}
	if err := s.analytics.route(router("analytics"), s.consumer); err != nil {
		return nil, err
	}
	if err := s.audit.route(router("audit")); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	s.stopRouters = stop
	for _, name := range s.routerNames {
		r := s.routers[name]
		s.wg.Go(func() {
			if err := r.Run(runCtx); err != nil {
				s.fail(fmt.Errorf("%s: %w", name, err))
			}
		})
	}

	// The orders service (gRPC), then the front that calls it.
	ordersLn, err := net.Listen("tcp", cfg.OrdersAddr)
	if err != nil {
		return nil, fmt.Errorf("orders service: %w", err)
	}
	svc := &ordersService{payments: top.payments, stream: top.orders, bus: top.bus, policy: pol.ordersBroker}
	s.ordersSrv = &http.Server{Handler: ordersHandler(svc, pol.ordersServer, tp), Protocols: h2c(true),
		ReadHeaderTimeout: 10 * time.Second}
	s.ordersURL = "http://" + ordersLn.Addr().String()
	s.serve("orders service", s.ordersSrv, ordersLn)

	frontLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("front: %w", err)
	}
	s.orders = newOrdersClient(s.ordersURL, pol.ordersClient, tp)
	f := &front{orders: s.orders, office: s, policy: pol.front}
	s.frontSrv = &http.Server{Handler: f.handler(tp), ReadHeaderTimeout: 10 * time.Second}
	s.frontURL = "http://" + frontLn.Addr().String()
	s.serve("front", s.frontSrv, frontLn)
	return s, nil
}

// serve serves srv on ln until Close.
func (s *shop) serve(name string, srv *http.Server, ln net.Listener) {
	s.wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.fail(fmt.Errorf("%s: %w", name, err))
		}
	})
}

// fail records the first failure of a part and signals Done.
func (s *shop) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		close(s.failed)
	})
}

// Done is closed when a part of the shop failed for good (a router's
// source vanished, a listener failed); Close then returns why.
func (s *shop) Done() <-chan struct{} { return s.failed }

// Close stops the shop, in the order a deployment drains: the front
// finishes its requests, then the orders service, then the workers finish
// the messages they hold (up to 5s), analytics leaves its group, and the
// broker closes (on file://, everything acknowledged is on disk). It
// returns the first failure of a part, if any, with the errors of
// stopping. Close is idempotent.
func (s *shop) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var errs []error
		if s.frontSrv != nil {
			errs = append(errs, s.frontSrv.Shutdown(ctx))
		}
		if s.orders != nil {
			s.orders.Close()
		}
		if s.ordersSrv != nil {
			errs = append(errs, s.ordersSrv.Shutdown(ctx))
		}
		if s.stopRouters != nil {
			s.stopRouters()
		}
		s.wg.Wait()
		if s.consumer != nil {
			errs = append(errs, s.consumer.Close(ctx))
		}
		if s.broker != nil {
			errs = append(errs, s.broker.Close())
		}
		if s.tmpDir != "" {
			errs = append(errs, os.RemoveAll(s.tmpDir))
		}
		s.failOnce.Do(func() {}) // no failure recorded from now on
		errs = append(errs, s.failErr)
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// orderView is what GET /orders/{id} answers: the order as each service
// sees it.
type orderView struct {
	OrderID   string       `json:"order_id"`
	Trail     []auditEntry `json:"trail"`             // audit: placed, paid, shipped
	Charges   []charge     `json:"charges,omitempty"` // payments (at the gateway): one once paid
	Shipments []shipment   `json:"shipments,omitempty"`
	Counted   bool         `json:"counted_by_analytics"`
}

// Order gathers what the services know of an order.
func (s *shop) Order(id string) (orderView, bool) {
	v := orderView{OrderID: id, Trail: s.audit.Trail(id), Charges: s.gateway.Charges(id),
		Shipments: s.shipping.Shipments(id), Counted: s.analytics.Counted(id)}
	return v, len(v.Trail) > 0 || len(v.Charges) > 0 || len(v.Shipments) > 0 || v.Counted
}

// shopStats is what GET /stats answers.
type shopStats struct {
	Payments  paymentsStats                 `json:"payments"`
	Gateway   gatewayStats                  `json:"gateway"`
	Shipping  shippingStats                 `json:"shipping"`
	Analytics analyticsStats                `json:"analytics"`
	Audit     auditStats                    `json:"audit"`
	Queues    map[string]courier.QueueStats `json:"queues"`
	Routes    map[string][]routeStats       `json:"routes"`
}

// routeStats are a handler route's counters, for JSON.
type routeStats struct {
	Source       string `json:"source"`
	Processed    int64  `json:"processed"`
	Failed       int64  `json:"failed"`
	Retried      int64  `json:"retried"`
	DeadLettered int64  `json:"dead_lettered"`
	InFlight     int64  `json:"in_flight"`
}

// paymentsStats count the payments worker's work.
type paymentsStats struct {
	Handled int64 `json:"handled"` // handler calls, retries included, duplicates skipped excluded
}

// Stats gathers every service's counters and the depths of the queues.
func (s *shop) Stats(ctx context.Context) (shopStats, error) {
	st := shopStats{Payments: paymentsStats{Handled: s.payments.handled.Load()}, Gateway: s.gateway.Stats(), Shipping: s.shipping.Stats(), Analytics: s.analytics.Stats(),
		Audit: s.audit.Stats(), Queues: map[string]courier.QueueStats{}, Routes: map[string][]routeStats{}}
	for _, q := range []*courier.Queue{s.payments.queue, s.payments.dlq, s.audit.queue} {
		info, err := q.Info(ctx)
		if err != nil {
			return shopStats{}, err
		}
		st.Queues[q.Name()] = info.Stats
	}
	for name, r := range s.routers {
		for _, rs := range r.Stats() {
			st.Routes[name] = append(st.Routes[name], routeStats(rs))
		}
	}
	return st, nil
}

// SetFailCard makes the gateway fail the charges of card; "" fixes it.
func (s *shop) SetFailCard(card string) { s.gateway.SetFailCard(card) }

// RedrivePayments moves payments-dlq back to the payments queue.
func (s *shop) RedrivePayments(ctx context.Context) (int, error) { return s.payments.redrive(ctx) }
