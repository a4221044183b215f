package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/grpcx"
)

// placeOrderProcedure is the orders service's one gRPC method.
const placeOrderProcedure = "/shop.orders.v1.OrderService/PlaceOrder"

// placeOrderRequest asks the orders service to take an order. The caller
// names it (OrderID), so that a retried call is the same order, not a
// second one.
type placeOrderRequest struct {
	Order order `json:"order"`
}

// placeOrderResponse says the order was taken: payment requested, recorded
// for analytics, announced to the audit trail.
type placeOrderResponse struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"` // "placed"
}

// ordersService takes orders over gRPC (synchronous: the caller needs its
// answer now) and hands everything that may take longer to asynchronous
// models: a payment request to the payments queue, an OrderPlaced record
// to the orders stream, an "Order Placed" event to the bus. It stores
// nothing itself.
type ordersService struct {
	payments *courier.Queue
	stream   *courier.Stream
	bus      *courier.Bus
	policy   *resilience.Policy // its calls to the broker
}

// PlaceOrder validates the order and does three writes, each under the
// broker policy. It is safe to retry: the payment request carries the
// order ID as its dedup ID, so a second call within the broker's 5-minute
// dedup window requests nothing more, and the record and the event a retry
// may repeat are counted once by their consumers (both key by order ID).
// Invalid orders fail with InvalidArgument; a broker that stays unavailable
// with Unavailable, which the caller may retry.
func (s *ordersService) PlaceOrder(ctx context.Context, req *connect.Request[placeOrderRequest]) (*connect.Response[placeOrderResponse], error) {
	o := req.Msg.Order
	if err := o.validate(); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	annotate(ctx, o.ID)
	headers := map[string]string{headerOrderID: o.ID, headerRegion: o.Region, headerPriority: o.Priority}
	public := o
	public.Card = "" // the card stays between the orders service and payments

	// For analytics: the stream keeps every order, in order per customer,
	// for any number of readers and for replay.
	err := brokerCall(ctx, s.policy, func(ctx context.Context) error {
		_, err := s.stream.Append(ctx, courier.Record{Key: []byte(o.Customer), Value: mustJSON(public),
			Headers: withEvent(headers, statePlaced), Partition: courier.AnyPartition})
		return err
	})
	if err != nil {
		return nil, unavailable("record the order", err)
	}
	// For the audit trail (and whoever adds a rule later): an event on the
	// bus, routed by content.
	if err := putEvent(ctx, s.bus, s.policy, sourceOrders, statePlaced, public, nil); err != nil {
		return nil, unavailable("announce the order", err)
	}
	// For payments: one queue message, one worker charges it.
	err = brokerCall(ctx, s.policy, func(ctx context.Context) error {
		_, err := s.payments.Send(ctx, courier.Message{Body: mustJSON(o), Headers: headers, DedupID: "pay-" + o.ID})
		return err
	})
	if err != nil {
		return nil, unavailable("request the payment", err)
	}
	return connect.NewResponse(&placeOrderResponse{OrderID: o.ID, Status: "placed"}), nil
}

// unavailable reports a failed write of PlaceOrder as Unavailable (worth
// retrying the whole call, which is idempotent) unless the broker refused
// the input.
func unavailable(what string, err error) error {
	code := connect.CodeUnavailable
	if errors.Is(err, courier.ErrInvalid) || errors.Is(err, courier.ErrTooLarge) {
		code = connect.CodeInvalidArgument
	}
	return connect.NewError(code, fmt.Errorf("orders: %s: %w", what, err))
}

// withEvent returns a copy of headers with the event name added.
func withEvent(headers map[string]string, event string) map[string]string {
	out := make(map[string]string, len(headers)+1)
	for k, v := range headers {
		out[k] = v
	}
	out[headerEvent] = event
	return out
}

// stateDetail is the detail of an order's bus events.
type stateDetail struct {
	order
	Warehouse string `json:"warehouse,omitempty"`
	ChargeID  string `json:"charge_id,omitempty"`
}

// putEvent puts an order state change on the bus under p. extra fills the
// detail's optional fields.
func putEvent(ctx context.Context, bus *courier.Bus, p *resilience.Policy, source, state string, o order, extra func(*stateDetail)) error {
	d := stateDetail{order: o}
	d.Card = ""
	if extra != nil {
		extra(&d)
	}
	return brokerCall(ctx, p, func(ctx context.Context) error {
		_, err := bus.PutEvent(ctx, courier.Event{Source: source, DetailType: state, Detail: mustJSON(d),
			Resources: []string{"order/" + o.ID}})
		return err
	})
}

// ordersHandler serves the orders service: gRPC (and the Connect protocol)
// with the JSON codec, traced, and admitted through the server policy
// (bulkhead, timeout).
func ordersHandler(svc *ordersService, p *resilience.Policy, tp trace.TracerProvider) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(placeOrderProcedure, connect.NewUnaryHandler(placeOrderProcedure, svc.PlaceOrder,
		connect.WithCodec(jsonCodec{}),
		connect.WithInterceptors(newRPCTracing(tp), grpcx.ConnectInterceptor(p))))
	return mux
}

// ordersClient calls the orders service over gRPC.
type ordersClient struct {
	place     *connect.Client[placeOrderRequest, placeOrderResponse]
	transport *http.Transport
}

// newOrdersClient returns a gRPC client of the orders service at baseURL
// (http://host:port) whose calls run under p (timeout, retry with budget,
// breaker; resilience/grpcx), each attempt traced.
func newOrdersClient(baseURL string, p *resilience.Policy, tp trace.TracerProvider) *ordersClient {
	tr := &http.Transport{Protocols: h2c(false), IdleConnTimeout: time.Minute}
	return &ordersClient{
		transport: tr,
		place: connect.NewClient[placeOrderRequest, placeOrderResponse](&http.Client{Transport: tr}, baseURL+placeOrderProcedure,
			connect.WithGRPC(), connect.WithCodec(jsonCodec{}),
			// The first interceptor is the outermost: the policy retries,
			// and each attempt is a span of its own.
			connect.WithInterceptors(grpcx.ConnectInterceptor(p), newRPCTracing(tp))),
	}
}

// PlaceOrder calls the orders service.
func (c *ordersClient) PlaceOrder(ctx context.Context, o order) (placeOrderResponse, error) {
	resp, err := c.place.CallUnary(ctx, connect.NewRequest(&placeOrderRequest{Order: o}))
	if err != nil {
		return placeOrderResponse{}, err
	}
	return *resp.Msg, nil
}

// Close closes the client's idle connections.
func (c *ordersClient) Close() { c.transport.CloseIdleConnections() }
