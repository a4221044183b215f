package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the server's own counters, served at GET /metrics in the
// Prometheus text format (version 0.0.4):
//
//	courier_http_requests_total{surface,route,code}        counter
//	courier_http_request_duration_seconds{surface,route}   histogram
//	courier_http_requests_in_flight                        gauge
//	courier_http_connections_open                          gauge
//	courier_http_connections_rejected_total                counter
//
// route is the pattern of the route that answered ("POST
// /v1/queues/{name}/messages"), or "unmatched" for requests that no route
// took (a redirect or 405 of the router): the label's values are bounded
// by the route table. The exposition is written here rather than with
// the Prometheus client library, whose dependencies are not in go.sum
// yet; its output is the same format, so moving to the library changes
// no scrape configuration.
type metrics struct {
	inFlight      atomic.Int64
	connsRejected atomic.Int64
	// routes is written while routes are registered, before the server
	// serves, and only read afterwards.
	routes    map[string]*routeStats
	unmatched *routeStats
}

// latencyBuckets are the upper bounds of the request duration
// histogram, in seconds.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// routeStats are the counters of one route.
type routeStats struct {
	surface, route string

	mu      sync.Mutex
	codes   map[int]uint64
	buckets []uint64 // per bucket, not cumulative; the last is +Inf
	count   uint64
	sum     float64
}

func newMetrics() *metrics {
	return &metrics{routes: map[string]*routeStats{}, unmatched: newRouteStats("rest", "unmatched")}
}

func newRouteStats(surface, route string) *routeStats {
	return &routeStats{surface: surface, route: route, codes: map[int]uint64{}, buckets: make([]uint64, len(latencyBuckets)+1)}
}

// addRoute makes the counters of a route.
func (m *metrics) addRoute(pattern, surface string) {
	if surface == "" {
		surface = "rest"
	}
	m.routes[pattern] = newRouteStats(surface, pattern)
}

// observe counts a request answered by the route of pattern.
func (m *metrics) observe(pattern string, code int, took time.Duration) {
	rs := m.routes[pattern]
	if rs == nil {
		rs = m.unmatched
	}
	secs := took.Seconds()
	i, _ := slices.BinarySearch(latencyBuckets, secs)
	rs.mu.Lock()
	rs.codes[code]++
	rs.buckets[i]++
	rs.count++
	rs.sum += secs
	rs.mu.Unlock()
}

// labelValue escapes a label value as the text format wants.
var labelValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// write writes the exposition of m and of the open connections.
func (m *metrics) write(w io.Writer, connsOpen int64) error {
	bw := bufio.NewWriter(w)
	all := make([]*routeStats, 0, len(m.routes)+1)
	for _, rs := range m.routes {
		all = append(all, rs)
	}
	slices.SortFunc(all, func(a, b *routeStats) int { return strings.Compare(a.route, b.route) })
	all = append(all, m.unmatched)

	fmt.Fprint(bw, "# HELP courier_http_requests_total Requests answered, by surface, route and status code.\n# TYPE courier_http_requests_total counter\n")
	for _, rs := range all {
		rs.mu.Lock()
		codes := make([]int, 0, len(rs.codes))
		for c := range rs.codes {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			fmt.Fprintf(bw, "courier_http_requests_total{surface=\"%s\",route=\"%s\",code=\"%d\"} %d\n",
				labelValue.Replace(rs.surface), labelValue.Replace(rs.route), c, rs.codes[c])
		}
		rs.mu.Unlock()
	}
	fmt.Fprint(bw, "# HELP courier_http_request_duration_seconds Time to answer a request, by surface and route (long polls and streams included).\n# TYPE courier_http_request_duration_seconds histogram\n")
	for _, rs := range all {
		rs.mu.Lock()
		if rs.count > 0 {
			labels := fmt.Sprintf("surface=\"%s\",route=\"%s\"", labelValue.Replace(rs.surface), labelValue.Replace(rs.route))
			var cum uint64
			for i, le := range latencyBuckets {
				cum += rs.buckets[i]
				fmt.Fprintf(bw, "courier_http_request_duration_seconds_bucket{%s,le=\"%s\"} %d\n", labels, strconv.FormatFloat(le, 'g', -1, 64), cum)
			}
			fmt.Fprintf(bw, "courier_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels, rs.count)
			fmt.Fprintf(bw, "courier_http_request_duration_seconds_sum{%s} %s\n", labels, strconv.FormatFloat(rs.sum, 'g', -1, 64))
			fmt.Fprintf(bw, "courier_http_request_duration_seconds_count{%s} %d\n", labels, rs.count)
		}
		rs.mu.Unlock()
	}
	fmt.Fprintf(bw, "# HELP courier_http_requests_in_flight Requests being handled now, long polls and streams included.\n# TYPE courier_http_requests_in_flight gauge\ncourier_http_requests_in_flight %d\n", m.inFlight.Load())
	fmt.Fprintf(bw, "# HELP courier_http_connections_open Connections open now (counted by Server.Listener).\n# TYPE courier_http_connections_open gauge\ncourier_http_connections_open %d\n", connsOpen)
	fmt.Fprintf(bw, "# HELP courier_http_connections_rejected_total Connections closed on accept because the server had its limit open.\n# TYPE courier_http_connections_rejected_total counter\ncourier_http_connections_rejected_total %d\n", m.connsRejected.Load())
	return bw.Flush()
}

// serveMetrics answers GET /metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = s.metrics.write(w, s.conns.Load()) // the scraper went away; nothing to do
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
