package server

import (
	"bufio"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
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
		`courier_http_requests_total{surface="rest",route="PUT /v1/queues/{name}",code="201"} 1`,
		`courier_http_requests_total{surface="rest",route="POST /v1/queues/{name}/messages",code="200"} 3`,
		`courier_http_requests_total{surface="rest",route="POST /v1/queues/{name}/messages",code="401"} 1`,
		`courier_http_requests_total{surface="rest",route="/",code="404"} 1`,
		`courier_http_requests_total{surface="rest",route="GET /metrics",code="401"} 1`,
		`courier_http_request_duration_seconds_bucket{surface="rest",route="POST /v1/queues/{name}/messages",le="+Inf"} 4`,
		`courier_http_request_duration_seconds_count{surface="rest",route="POST /v1/queues/{name}/messages"} 4`,
		"# TYPE courier_http_request_duration_seconds histogram",
		"courier_http_requests_in_flight 1", // this scrape
		"courier_http_connections_open 0",
		"courier_http_connections_rejected_total 0",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("the metrics lack %s", want)
		}
	}
	// Every line is a comment or a sample of the text format.
	sample := regexp.MustCompile(`^courier_[a-z_]+(\{([a-z]+="[^"\\]*(\\.[^"\\]*)*",?)+\})? [0-9.e+-]+$`)
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
		if err := s.metrics.write(&b, s.conns.Load()); err != nil {
			t.Fatal(err)
		}
		const route = `surface="rest",route="POST /v1/queues/{name}/receive"`
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
