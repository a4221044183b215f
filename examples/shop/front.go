package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"connectrpc.com/connect"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/courier-io/courier/observability"
	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/httpx"
)

// backoffice is what the front reads and operates besides placing orders:
// views gathered from the services, and the admin actions. The shop
// implements it.
type backoffice interface {
	// Order returns what the services know of an order; false when none
	// knows it.
	Order(id string) (orderView, bool)
	// Stats returns every service's counters and the queues' depths.
	Stats(ctx context.Context) (shopStats, error)
	// SetFailCard makes the gateway fail the charges of card ("" fixes it).
	SetFailCard(card string)
	// RedrivePayments moves payments-dlq back to the payments queue.
	RedrivePayments(ctx context.Context) (int, error)
}

// front is the shop's HTTP front (REST): it takes orders from clients and
// calls the orders service over gRPC, synchronously, because the client
// waits for the answer (was the order taken?). Everything after that is
// asynchronous.
type front struct {
	orders *ordersClient
	office backoffice
	policy *resilience.Policy // inbound: bulkhead and timeout, 503 + Retry-After when full
}

// placeOrderBody is the body of POST /orders: an order whose ID is
// optional (the front names it) and whose priority defaults to standard.
type placeOrderBody = order

// placedBody is the answer to POST /orders.
type placedBody struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	TraceID string `json:"trace_id,omitempty"` // the order's trace (when tracing is on): every service's spans for it
}

// handler returns the front's routes, each admitted through the inbound
// policy and traced by otelhttp (a server span named after the route,
// continuing a caller's traceparent if there is one).
func (f *front) handler(tp trace.TracerProvider) http.Handler {
	mux := http.NewServeMux()
	admit := httpx.Middleware(f.policy)
	mux.Handle("POST /orders", admit(http.HandlerFunc(f.placeOrder)))
	mux.Handle("GET /orders/{id}", admit(http.HandlerFunc(f.order)))
	mux.Handle("GET /stats", admit(http.HandlerFunc(f.stats)))
	mux.Handle("PUT /admin/gateway", admit(http.HandlerFunc(f.setGateway)))
	mux.Handle("POST /admin/redrive-payments", admit(http.HandlerFunc(f.redrivePayments)))
	return otelhttp.NewHandler(mux, "front",
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(observability.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern // set by the mux once it has routed: "POST /orders"
			}
			return r.Method
		}))
}

// placeOrder takes an order: 202 with its ID and trace ID, 400 for an
// invalid order, 503 (with Retry-After) or 504 when the orders service
// cannot answer in time.
func (f *front) placeOrder(w http.ResponseWriter, r *http.Request) {
	var o placeOrderBody
	if !decodeBody(w, r, &o) {
		return
	}
	if o.ID == "" {
		o.ID = newOrderID()
	}
	if o.Priority == "" {
		o.Priority = priorityStandard
	}
	annotate(r.Context(), o.ID)
	res, err := f.orders.PlaceOrder(r.Context(), o)
	if err != nil {
		writeError(w, rpcStatus(err), err)
		return
	}
	placed := placedBody{OrderID: res.OrderID, Status: res.Status}
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		placed.TraceID = sc.TraceID().String()
	}
	writeJSON(w, http.StatusAccepted, placed)
}

// order answers GET /orders/{id}: the order's audit trail, charge,
// shipments and whether analytics counted it; 404 when no service knows
// it.
func (f *front) order(w http.ResponseWriter, r *http.Request) {
	v, ok := f.office.Order(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, errors.New("no such order"))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// stats answers GET /stats.
func (f *front) stats(w http.ResponseWriter, r *http.Request) {
	s, err := f.office.Stats(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// gatewayBody is the body of PUT /admin/gateway.
type gatewayBody struct {
	FailCard string `json:"fail_card"` // "" fixes the gateway
}

// setGateway answers PUT /admin/gateway: which card's charges fail.
func (f *front) setGateway(w http.ResponseWriter, r *http.Request) {
	var b gatewayBody
	if !decodeBody(w, r, &b) {
		return
	}
	f.office.SetFailCard(b.FailCard)
	w.WriteHeader(http.StatusNoContent)
}

// redrivenBody is the answer to POST /admin/redrive-payments.
type redrivenBody struct {
	Moved int `json:"moved"`
}

// redrivePayments answers POST /admin/redrive-payments.
func (f *front) redrivePayments(w http.ResponseWriter, r *http.Request) {
	n, err := f.office.RedrivePayments(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, redrivenBody{Moved: n})
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

// decodeBody decodes r's JSON body into v, refusing unknown fields, or
// answers 400 and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, errors.New("body: "+err.Error()))
		return false
	}
	return true
}

// rpcStatus maps a gRPC error from the orders service to the front's HTTP
// status.
func rpcStatus(err error) int {
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument:
		return http.StatusBadRequest
	case connect.CodeUnavailable, connect.CodeResourceExhausted:
		return http.StatusServiceUnavailable
	case connect.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers status with err as the JSON body {"error": ...}; a
// 503 says when to retry.
func writeError(w http.ResponseWriter, status int, err error) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Error: err.Error()})
}

// writeJSON answers status with v as indented JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}
