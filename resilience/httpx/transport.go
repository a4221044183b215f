package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier/resilience"
)

// maxErrorBody is how much of a failed response's body is kept; the rest is
// discarded so that the connection can be reused before the next attempt.
const maxErrorBody = 64 << 10

// Transport returns a RoundTripper that sends requests through next
// (http.DefaultTransport when nil) under the policy p:
//
//   - Each attempt carries the Courier-Deadline header with the attempt's
//     remaining time (see resilience.InjectDeadline).
//   - Responses 429, 502, 503 and 504 are failures worth retrying; their
//     Retry-After (seconds or an HTTP date) is honoured, capped by the
//     retry policy's MaxDelay. 500 is a failure that is not retried. Every
//     other response is a success for the policies, whatever its status.
//   - Only requests that are safe to repeat are retried or hedged: methods
//     GET, HEAD, OPTIONS, PUT, DELETE and TRACE, requests with an
//     Idempotency-Key header, and requests whose context went through
//     Retryable. A request with a body must also have GetBody (as
//     http.NewRequest sets for in-memory bodies), which rewinds it for each
//     attempt. Other requests are sent once (resilience.NotIdempotent).
//
// When the attempts end with a failed response, RoundTrip returns that
// response (its body kept up to 64KiB) and a nil error, as a plain transport
// would; the bodies of the other attempts' responses are closed. A
// successful response's body is read on its attempt's context, which stays
// alive (within the policy's timeout) until the body is closed. When a
// policy refuses the request (open breaker, full bulkhead, rate limit) or the
// last attempt got no response, RoundTrip returns the error, which matches
// the resilience sentinels with errors.Is.
func Transport(next http.RoundTripper, p *resilience.Policy) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{next: next, p: p}
}

type transport struct {
	next http.RoundTripper
	p    *resilience.Policy
}

type retryableKey struct{}

// Retryable returns a context that marks requests made with it as safe to
// retry and hedge, whatever their method: use it for a POST the server
// deduplicates.
func Retryable(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryableKey{}, true)
}

func idempotent(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false // the body cannot be sent twice
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	if req.Header.Get("Idempotency-Key") != "" {
		return true
	}
	marked, _ := req.Context().Value(retryableKey{}).(bool)
	return marked
}

// roundTrip is the state of one RoundTrip: its attempts and the responses
// they returned, so that all but the one handed back get closed.
type roundTrip struct {
	attempts  atomic.Int32
	mu        sync.Mutex
	done      bool
	responses []*http.Response
}

// keep records a successful response, or closes it when RoundTrip already
// returned (a hedge that lost).
func (rt *roundTrip) keep(resp *http.Response) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.done {
		resp.Body.Close()
		return
	}
	rt.responses = append(rt.responses, resp)
}

// finish closes every kept response except keepOpen.
func (rt *roundTrip) finish(keepOpen *http.Response) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.done = true
	for _, r := range rt.responses {
		if r != keepOpen {
			r.Body.Close()
		}
	}
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !idempotent(req) {
		ctx = resilience.NotIdempotent(ctx)
	}
	rt := new(roundTrip)
	resp, err := resilience.Run(ctx, t.p, func(ctx context.Context) (*http.Response, error) {
		return t.attempt(ctx, req, rt)
	})
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			resp, err = se.resp, nil
		}
	}
	if rt.attempts.Load() == 0 && req.Body != nil {
		req.Body.Close() // never sent, but a RoundTripper always closes it
	}
	rt.finish(resp)
	return resp, err
}

func (t *transport) attempt(ctx context.Context, req *http.Request, rt *roundTrip) (*http.Response, error) {
	r := req.Clone(ctx)
	if rt.attempts.Add(1) > 1 && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, resilience.Permanent(err)
		}
		r.Body = body
	}
	resilience.InjectDeadline(ctx, r.Header.Set)
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return nil, failed(resp)
	case http.StatusInternalServerError:
		return nil, resilience.Permanent(failed(resp))
	}
	// The body is read after RoundTrip returns: keep the attempt's context
	// alive until it is closed.
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: resilience.DeferCancel(ctx)}
	rt.keep(resp)
	return resp, nil
}

// releasingBody releases its attempt's context when closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// statusError is a response the policies count as a failure.
type statusError struct {
	resp       *http.Response
	retryAfter time.Duration
}

func (e *statusError) Error() string { return "httpx: " + e.resp.Status }

// RetryAfter returns the response's Retry-After, which the retry policy
// honours (see resilience.RetryAfter).
func (e *statusError) RetryAfter() time.Duration { return e.retryAfter }

// failed buffers the start of resp's body, closes the connection's copy and
// wraps resp in a statusError.
func failed(resp *http.Response) *statusError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.ContentLength > int64(len(body)) {
		resp.ContentLength = int64(len(body))
	}
	return &statusError{resp: resp, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// parseRetryAfter reads delay-seconds or an HTTP date; anything else, or a
// date in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, 1<<31)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
