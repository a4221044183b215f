package server

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/courier-io/courier/metrics"
)

// metrics are the server's own metrics and those of its broker, served at
// GET /metrics by the Prometheus client library (text or protobuf, as the
// scraper asks):
//
//	courier_http_requests_total{surface,route,code}        counter
//	courier_http_request_duration_seconds{surface,route}   histogram
//	courier_http_requests_in_flight                        gauge
//	courier_http_connections_open                          gauge
//	courier_http_connections_rejected_total                counter
//
// plus the broker's queues, topics, streams, buses and storage (package
// metrics: courier_queue_*, courier_topic_*, courier_stream_*,
// courier_bus_*, courier_storage_*) and the Go runtime and process
// (go_*, process_*). route is the pattern of the route that answered
// ("POST /v1/queues/{name}/messages"), or "unmatched" for requests that no
// route took (a redirect or 405 of the router): the label's values are
// bounded by the route table.
type serverMetrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	connsRejected prometheus.Counter
	// surfaces are the surfaces of the routes, by pattern; written while
	// routes are registered, before the server serves.
	surfaces map[string]string
	handler  http.Handler
}

// latencyBuckets are the upper bounds of the request duration
// histogram, in seconds.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// newMetrics returns the metrics of s (its broker and its connections).
func newMetrics(s *Server) *serverMetrics {
	m := &serverMetrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_http_requests_total", Help: "Requests answered, by surface, route and status code.",
		}, []string{"surface", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "courier_http_request_duration_seconds", Help: "Time to answer a request, by surface and route (long polls and streams included).",
			Buckets: latencyBuckets,
		}, []string{"surface", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "courier_http_requests_in_flight", Help: "Requests being handled now, long polls and streams included.",
		}),
		connsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "courier_http_connections_rejected_total", Help: "Connections closed on accept because the server had its limit open.",
		}),
		surfaces: map[string]string{},
	}
	m.registry.MustRegister(m.requests, m.duration, m.inFlight, m.connsRejected,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "courier_http_connections_open", Help: "Connections open now (counted by Server.Listener).",
		}, func() float64 { return float64(s.conns.Load()) }),
		metrics.NewCollector(s.b),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

// addRoute records the surface of a route.
func (m *serverMetrics) addRoute(pattern, surface string) {
	if surface == "" {
		surface = "rest"
	}
	m.surfaces[pattern] = surface
}

// observe counts a request answered by the route of pattern.
func (m *serverMetrics) observe(pattern string, code int, took time.Duration) {
	surface, ok := m.surfaces[pattern]
	if !ok {
		surface, pattern = "rest", "unmatched"
	}
	m.requests.WithLabelValues(surface, pattern, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(surface, pattern).Observe(took.Seconds())
}

// serveMetrics answers GET /metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}

// statusWriter records the status a handler answers, for the metrics. It
// lets a handler flush (topic tails) and hijack (WebSocket upgrades)
// as the ResponseWriter it wraps does, and http.ResponseController reach
// that writer through Unwrap.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, rw, err := h.Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status answered: 200 when the handler wrote nothing.
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
