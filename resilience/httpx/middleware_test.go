package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/httpx"
)

func serve(h http.Handler, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestMiddlewareDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var left time.Duration
		var hasDeadline bool
		h := httpx.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var d time.Time
			d, hasDeadline = r.Context().Deadline()
			left = time.Until(d)
		}))

		if w := serve(h, resilience.DeadlineHeader, "750ms"); w.Code != 200 || !hasDeadline || left != 750*time.Millisecond {
			t.Errorf("750ms: %d, deadline %v in %v", w.Code, hasDeadline, left)
		}
		if w := serve(h); w.Code != 200 || hasDeadline {
			t.Errorf("no header: %d, deadline %v", w.Code, hasDeadline)
		}
		w := serve(h, resilience.DeadlineHeader, "soon")
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `Courier-Deadline: "soon" is not a duration in milliseconds`) {
			t.Errorf("bad header: %d %q", w.Code, w.Body)
		}
		w = serve(h, resilience.DeadlineHeader, "0ms")
		if w.Code != http.StatusGatewayTimeout {
			t.Errorf("expired deadline: %d %q, want 504", w.Code, w.Body)
		}
	})
}

func TestMiddlewareShedsLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithName("api"), resilience.WithBulkhead(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		h := httpx.Middleware(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
			w.WriteHeader(http.StatusNoContent)
		}))
		var wg sync.WaitGroup
		var first *httptest.ResponseRecorder
		wg.Go(func() { first = serve(h) })
		synctest.Wait()
		w := serve(h)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" ||
			!strings.Contains(w.Body.String(), `resilience: bulkhead is full (policy "api")`) {
			t.Errorf("second request: %d %v %q", w.Code, w.Header(), w.Body)
		}
		close(release)
		wg.Wait()
		if first.Code != http.StatusNoContent {
			t.Errorf("first request: %d", first.Code)
		}

		// A rate limiter's Retry-After is its refill period, rounded up.
		p, err = resilience.New(resilience.WithRateLimit(0.4, 1)) // one permit per 2.5s
		if err != nil {
			t.Fatal(err)
		}
		h = httpx.Middleware(p)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		if w := serve(h); w.Code != 200 {
			t.Fatalf("first: %d", w.Code)
		}
		if w := serve(h); w.Code != 503 || w.Header().Get("Retry-After") != "3" {
			t.Errorf("rate limited: %d Retry-After %q, want 503 and 3", w.Code, w.Header().Get("Retry-After"))
		}
	})
}
