package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/httpx"
)

// downstream is an in-memory http.RoundTripper whose answers are scripted
// per request; it records what it received and which bodies were closed.
type downstream struct {
	mu       sync.Mutex
	answer   func(n int, r *http.Request) (*http.Response, error)
	seen     []seenRequest
	open     atomic.Int32 // response bodies not yet closed
	reqBody  atomic.Int32 // request bodies not yet closed
	received atomic.Int32
}

type seenRequest struct {
	at       time.Time
	deadline string
	body     string
	method   string
}

type trackedBody struct {
	io.Reader
	once    sync.Once
	counter *atomic.Int32
}

func (b *trackedBody) Close() error {
	b.once.Do(func() { b.counter.Add(-1) })
	return nil
}

func (d *downstream) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	d.mu.Lock()
	n := len(d.seen)
	d.seen = append(d.seen, seenRequest{at: time.Now(), deadline: r.Header.Get(resilience.DeadlineHeader), body: string(body), method: r.Method})
	d.mu.Unlock()
	d.received.Add(1)
	resp, err := d.answer(n, r)
	if resp != nil {
		d.open.Add(1)
		resp.Body = &trackedBody{Reader: resp.Body, counter: &d.open}
		resp.Request = r
	}
	return resp, err
}

func respond(status int, body string, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

// failThen answers status to the first n requests, then 200 "ok".
func failThen(n, status int, header ...string) func(int, *http.Request) (*http.Response, error) {
	return func(i int, _ *http.Request) (*http.Response, error) {
		if i < n {
			return respond(status, "busy", header...), nil
		}
		return respond(http.StatusOK, "ok"), nil
	}
}

func retryPolicy(t *testing.T, more ...resilience.Option) *resilience.Policy {
	t.Helper()
	p, err := resilience.New(append([]resilience.Option{resilience.WithRetry(resilience.RetryConfig{
		MaxAttempts: 3, MinDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second, Jitter: resilience.JitterNone,
	})}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func get(t *testing.T, c *http.Client, ctx context.Context, method, body string, header ...string) (*http.Response, string, error) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://downstream.test/x", r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func TestTransportRetriesIdempotentRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &downstream{answer: failThen(2, http.StatusServiceUnavailable)}
		c := &http.Client{Transport: httpx.Transport(d, retryPolicy(t))}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		resp, body, err := get(t, c, ctx, http.MethodGet, "")
		if err != nil || resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("GET: %v %v %q", resp, err, body)
		}
		if len(d.seen) != 3 {
			t.Fatalf("%d attempts, want 3", len(d.seen))
		}
		// Each attempt carries the deadline left, minus the margin.
		for i, want := range []string{"1990ms", "1890ms", "1690ms"} {
			if d.seen[i].deadline != want {
				t.Errorf("attempt %d deadline %q, want %q", i+1, d.seen[i].deadline, want)
			}
		}
		if n := d.open.Load(); n != 0 {
			t.Errorf("%d response bodies left open", n)
		}
	})
}

func TestTransportRetriesOnlyWhatIsSafe(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		body     string
		ctx      func(context.Context) context.Context
		header   []string
		noRewind bool
		attempts int
	}{
		{name: "GET", method: http.MethodGet, attempts: 3},
		{name: "PUT with body", method: http.MethodPut, body: "payload", attempts: 3},
		{name: "DELETE", method: http.MethodDelete, attempts: 3},
		{name: "POST", method: http.MethodPost, body: "payload", attempts: 1},
		{name: "PATCH", method: http.MethodPatch, body: "payload", attempts: 1},
		{name: "POST with Idempotency-Key", method: http.MethodPost, body: "payload", header: []string{"Idempotency-Key", "k1"}, attempts: 3},
		{name: "POST marked Retryable", method: http.MethodPost, body: "payload", ctx: httpx.Retryable, attempts: 3},
		{name: "PUT whose body cannot rewind", method: http.MethodPut, body: "payload", noRewind: true, attempts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &downstream{answer: failThen(5, http.StatusBadGateway)}
				c := &http.Client{Transport: httpx.Transport(d, retryPolicy(t))}
				ctx := t.Context()
				if tc.ctx != nil {
					ctx = tc.ctx(ctx)
				}
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				req, _ := http.NewRequestWithContext(ctx, tc.method, "http://downstream.test/x", body)
				if tc.noRewind {
					req.GetBody = nil
					req.Body = io.NopCloser(strings.NewReader(tc.body))
				}
				for i := 0; i+1 < len(tc.header); i += 2 {
					req.Header.Set(tc.header[i], tc.header[i+1])
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				// The last failed response is handed back, body intact.
				if resp.StatusCode != http.StatusBadGateway || string(b) != "busy" {
					t.Errorf("got %d %q, want the 502 with its body", resp.StatusCode, b)
				}
				if len(d.seen) != tc.attempts {
					t.Fatalf("%d attempts, want %d", len(d.seen), tc.attempts)
				}
				for i, s := range d.seen {
					if s.body != tc.body {
						t.Errorf("attempt %d sent body %q, want %q", i+1, s.body, tc.body)
					}
				}
			})
		})
	}
}

func TestTransportHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			value func(now time.Time) string
			wait  time.Duration
		}{
			{"seconds", func(time.Time) string { return "3" }, 3 * time.Second},
			{"HTTP date", func(now time.Time) string { return now.Add(2 * time.Second).UTC().Format(http.TimeFormat) }, 2 * time.Second},
			{"capped by MaxDelay", func(time.Time) string { return "3600" }, 5 * time.Second},
			{"garbage ignored", func(time.Time) string { return "soon" }, 100 * time.Millisecond},
		} {
			d := &downstream{}
			d.answer = func(i int, _ *http.Request) (*http.Response, error) {
				if i == 0 {
					return respond(http.StatusTooManyRequests, "slow down", "Retry-After", tc.value(time.Now())), nil
				}
				return respond(http.StatusOK, "ok"), nil
			}
			c := &http.Client{Transport: httpx.Transport(d, retryPolicy(t))}
			resp, _, err := get(t, c, t.Context(), http.MethodGet, "")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %v %v", tc.name, resp, err)
			}
			if got := d.seen[1].at.Sub(d.seen[0].at); got != tc.wait {
				t.Errorf("%s: retried after %v, want %v", tc.name, got, tc.wait)
			}
		}
	})
}

func TestTransportStatusClasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			status   int
			attempts int
		}{
			{http.StatusOK, 1}, {http.StatusNotFound, 1}, {http.StatusInternalServerError, 1},
			{http.StatusTooManyRequests, 3}, {http.StatusBadGateway, 3}, {http.StatusServiceUnavailable, 3}, {http.StatusGatewayTimeout, 3},
		} {
			d := &downstream{answer: failThen(10, tc.status)}
			c := &http.Client{Transport: httpx.Transport(d, retryPolicy(t))}
			resp, _, err := get(t, c, t.Context(), http.MethodGet, "")
			if err != nil || resp.StatusCode != tc.status || len(d.seen) != tc.attempts {
				t.Errorf("status %d: got %v, %v after %d attempts; want %d attempts", tc.status, resp, err, len(d.seen), tc.attempts)
			}
			if d.open.Load() != 0 {
				t.Errorf("status %d: %d bodies left open", tc.status, d.open.Load())
			}
		}

		// The breaker counts 500 but not 404.
		p, err := resilience.New(resilience.WithBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2, OpenFor: time.Minute}))
		if err != nil {
			t.Fatal(err)
		}
		d := &downstream{answer: failThen(100, http.StatusNotFound)}
		c := &http.Client{Transport: httpx.Transport(d, p)}
		for range 5 {
			_, _, _ = get(t, c, t.Context(), http.MethodGet, "")
		}
		if p.BreakerState() != resilience.BreakerClosed {
			t.Error("404s opened the breaker")
		}
		d.answer = failThen(100, http.StatusInternalServerError)
		for range 2 {
			_, _, _ = get(t, c, t.Context(), http.MethodGet, "")
		}
		_, _, err = get(t, c, t.Context(), http.MethodGet, "")
		if !errors.Is(err, resilience.ErrCircuitOpen) {
			t.Errorf("after two 500s: %v, want ErrCircuitOpen through the client", err)
		}
	})
}

func TestTransportRetriesNetworkErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errReset := errors.New("connection reset by peer")
		d := &downstream{answer: func(i int, _ *http.Request) (*http.Response, error) {
			if i < 1 {
				return nil, errReset
			}
			return respond(http.StatusOK, "ok"), nil
		}}
		c := &http.Client{Transport: httpx.Transport(d, retryPolicy(t))}
		if resp, _, err := get(t, c, t.Context(), http.MethodGet, ""); err != nil || resp.StatusCode != 200 || len(d.seen) != 2 {
			t.Errorf("got %v, %v after %d attempts", resp, err, len(d.seen))
		}
		d = &downstream{answer: func(int, *http.Request) (*http.Response, error) { return nil, errReset }}
		c = &http.Client{Transport: httpx.Transport(d, retryPolicy(t))}
		_, _, err := get(t, c, t.Context(), http.MethodGet, "")
		if !errors.Is(err, resilience.ErrRetriesExhausted) || !errors.Is(err, errReset) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestTransportHedgeClosesLoser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithHedge(resilience.HedgeConfig{Delay: 50 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		d := &downstream{answer: func(i int, r *http.Request) (*http.Response, error) {
			if i == 0 { // slow, and ignores cancellation until it answers
				advance(80 * time.Millisecond)
				return respond(http.StatusOK, "primary"), nil
			}
			return respond(http.StatusOK, "hedge"), nil
		}}
		c := &http.Client{Transport: httpx.Transport(d, p)}
		resp, body, err := get(t, c, t.Context(), http.MethodGet, "")
		if err != nil || body != "hedge" {
			t.Fatalf("got %v %q %v", resp, body, err)
		}
		if n := d.open.Load(); n != 0 {
			t.Errorf("%d bodies open: the losing response was not closed", n)
		}
		// A POST is never hedged.
		d.seen = nil
		_, _, _ = get(t, c, t.Context(), http.MethodPost, "x")
		if len(d.seen) != 1 {
			t.Errorf("POST sent %d times", len(d.seen))
		}
	})
}

func TestTransportClosesUnsentBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := resilience.New(resilience.WithRateLimit(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		d := &downstream{answer: failThen(0, 200)}
		tr := httpx.Transport(d, p)
		for i := range 2 {
			var closed atomic.Bool
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://downstream.test/x", nil)
			req.Body = closeRecorder{strings.NewReader("x"), &closed}
			resp, err := tr.RoundTrip(req)
			if i == 1 {
				if !errors.Is(err, resilience.ErrRateLimited) || !closed.Load() {
					t.Errorf("refused request: err %v, body closed %v", err, closed.Load())
				}
			} else if err == nil {
				resp.Body.Close()
			}
		}
	})
}

type closeRecorder struct {
	io.Reader
	closed *atomic.Bool
}

func (c closeRecorder) Close() error { c.closed.Store(true); return nil }
