package server

import (
	"bufio"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/common/expfmt"
)

// TestMetrics checks the request counts by route and code, the latency
// histogram, the in-flight gauge and that /metrics needs an identity
// unless WithPublicMetrics opened it.
func TestMetrics(t *testing.T) {
	admin := Identity{Name: "admin", TokenHash: HashToken("admin-token"), Allow: []Grant{{Actions: []Action{ActionAdmin}, Resource: "*"}}}
	s := newTestServer(t, WithIdentities(admin))
	call(s, "PUT", "/v1/queues/q", "admin-token", "")
	for range 3 {
		call(s, "POST", "/v1/queues/q/messages", "admin-token", `{"body": "x"}`)
	}
	call(s, "POST", "/v1/queues/q/messages", "", `{"body": "x"}`)
	call(s, "GET", "/v1/nowhere", "admin-token", "")
	if w := call(s, "GET", "/metrics", "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d", w.Code)
	}
	w := call(s, "GET", "/metrics", "admin-token", "")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	out := w.Body.String()
	for _, want := range []string{
		`courier_http_requests_total{code="201",route="PUT /v1/queues/{name}",surface="rest"} 1`,
		`courier_http_requests_total{code="200",route="POST /v1/queues/{name}/messages",surface="rest"} 3`,
		`courier_http_requests_total{code="401",route="POST /v1/queues/{name}/messages",surface="rest"} 1`,
		`courier_http_requests_total{code="404",route="/",surface="rest"} 1`,
		`courier_http_requests_total{code="401",route="GET /metrics",surface="rest"} 1`,
		`courier_http_request_duration_seconds_bucket{route="POST /v1/queues/{name}/messages",surface="rest",le="+Inf"} 4`,
		`courier_http_request_duration_seconds_count{route="POST /v1/queues/{name}/messages",surface="rest"} 4`,
		"# TYPE courier_http_request_duration_seconds histogram",
		"courier_http_requests_in_flight 1", // this scrape
		"courier_http_connections_open 0",
		"courier_http_connections_rejected_total 0",
		// The broker's: the queue the requests made.
		`courier_queue_messages{queue="q",state="visible"} 3`,
		`courier_queue_messages_sent_total{queue="q"} 3`,
		"# TYPE courier_queue_receive_latency_seconds histogram",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("the metrics lack %s", want)
		}
	}
	// Every line is a comment or a sample of the text format.
	sample := regexp.MustCompile(`^[a-z_]+(\{([a-z_]+="[^"\\]*(\\.[^"\\]*)*",?)+\})? ([0-9.e+-]+|NaN|[+-]Inf)$`)
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "# ") && !sample.MatchString(line) {
			t.Errorf("not a sample: %q", line)
		}
	}

	open := newTestServer(t, WithIdentities(admin), WithPublicMetrics(), WithPublicReadyz())
	for _, path := range []string{"/metrics", "/readyz", "/healthz"} {
		if w := call(open, "GET", path, "", ""); w.Code != http.StatusOK {
			t.Errorf("%s opened: %d %s", path, w.Code, w.Body)
		}
	}
	if w := call(open, "GET", "/v1/capabilities", "", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("capabilities with /metrics open: %d", w.Code)
	}
}

// TestMetricsHistogram checks where a request's duration falls, on the
// fake clock of a long poll.
func TestMetricsHistogram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ln := bubbleServer(t, Limits{})
		c := ln.dial()
		defer c.Close()
		br := bufio.NewReader(c)
		roundTrip(t, c, br, "PUT /v1/queues/q HTTP/1.1\r\nHost: courier\r\nContent-Length: 0\r\n\r\n")
		roundTrip(t, c, br, "POST /v1/queues/q/receive HTTP/1.1\r\nHost: courier\r\nContent-Length: 14\r\n\r\n{\"wait\": \"3s\"}")
		if got := s.conns.Load(); got != 1 {
			t.Errorf("open connections: %d, want 1", got)
		}
		var b strings.Builder
		mfs, err := s.metrics.registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		const route = `route="POST /v1/queues/{name}/receive",surface="rest"`
		for _, want := range []string{
			`courier_http_request_duration_seconds_bucket{` + route + `,le="2.5"} 0`,
			`courier_http_request_duration_seconds_bucket{` + route + `,le="5"} 1`,
			`courier_http_request_duration_seconds_sum{` + route + `} 3`,
			"courier_http_connections_open 1",
		} {
			if !strings.Contains(b.String(), want+"\n") {
				t.Errorf("the metrics lack %s:\n%s", want, b.String())
			}
		}
	})
}
