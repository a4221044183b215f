package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// api is a running server over a mem:// broker and a client for it. The
// test's cleanup drains and stops the server and closes the broker.
type api struct {
	t   *testing.T
	url string
	hc  *http.Client
	b   *courier.Broker
	srv *server.Server
}

// newAPI starts a server on a fresh mem:// broker. wrap, if not nil, sits
// between the HTTP server and the courier server (to observe requests).
func newAPI(t *testing.T, wrap func(http.Handler) http.Handler) *api {
	t.Helper()
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(b)
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Drain()
		ts.Close() // waits for requests in progress and closes ts.Client's idle connections
		if err := b.Close(); err != nil {
			t.Errorf("closing the broker: %v", err)
		}
	})
	return &api{t: t, url: ts.URL, hc: ts.Client(), b: b, srv: srv}
}

// try makes a request with body (none when body is nil) and returns the
// status, the Content-Type and the response body. It is safe to call from
// any goroutine.
func (a *api) try(method, path string, body io.Reader) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.url+path, body)
	if err != nil {
		return 0, "", nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s, ok := body.(interface{ Size() int64 }); ok {
		req.ContentLength = s.Size() // not chunked
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, "", nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), data, nil
}

// send is try on the test goroutine: a transport error fails the test.
func (a *api) send(method, path string, body io.Reader) (int, string, []byte) {
	a.t.Helper()
	status, ctype, data, err := a.try(method, path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	return status, ctype, data
}

// do makes a request with a JSON body given as text ("" sends none).
func (a *api) do(method, path, body string) (int, []byte) {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	status, _, data := a.send(method, path, r)
	return status, data
}

// ok makes a request that must answer want and decodes the answer into
// out (unless out is nil).
func (a *api) ok(method, path, body string, want int, out any) {
	a.t.Helper()
	status, data := a.do(method, path, body)
	if status != want {
		a.t.Fatalf("%s %s %s: status %d, want %d; body %s", method, path, body, status, want, data)
	}
	if out == nil {
		return
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields() // the answer holds only documented fields
	if err := dec.Decode(out); err != nil {
		a.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
	}
}

// apiError decodes an error answer, failing the test unless it is one.
func apiError(t *testing.T, ctype string, data []byte) httpapi.Error {
	t.Helper()
	if ctype != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ctype)
	}
	var e httpapi.ErrorResponse
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error answer (%v): %s", err, data)
	}
	return e.Error
}

// fail makes a request that must fail with status and code, and returns
// the error object.
func (a *api) fail(method, path, body string, status int, code string) httpapi.Error {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	got, ctype, data := a.send(method, path, r)
	if got != status {
		a.t.Fatalf("%s %s %.200s: status %d, want %d; body %s", method, path, body, got, status, data)
	}
	e := apiError(a.t, ctype, data)
	if e.Code != code {
		a.t.Fatalf("%s %s %.200s: code %q, want %q; body %s", method, path, body, e.Code, code, data)
	}
	return e
}

// create makes a queue with attributes given as JSON ("" for defaults).
func (a *api) create(name, attrs string) httpapi.QueueInfo {
	a.t.Helper()
	var info httpapi.QueueInfo
	a.ok("PUT", "/v1/queues/"+name, attrs, http.StatusCreated, &info)
	return info
}

// info returns a queue's info.
func (a *api) info(name string) httpapi.QueueInfo {
	a.t.Helper()
	var info httpapi.QueueInfo
	a.ok("GET", "/v1/queues/"+name, "", http.StatusOK, &info)
	return info
}

// stats returns a queue's visible, in-flight and delayed counts.
func (a *api) stats(name string) [3]int64 {
	a.t.Helper()
	s := a.info(name).Stats
	return [3]int64{s.Visible, s.InFlight, s.Delayed}
}

// wantStats checks a queue's visible, in-flight and delayed counts.
func (a *api) wantStats(name string, visible, inFlight, delayed int64) {
	a.t.Helper()
	if got, want := a.stats(name), [3]int64{visible, inFlight, delayed}; got != want {
		a.t.Fatalf("queue %s: stats (visible, in flight, delayed) = %v, want %v", name, got, want)
	}
}

// sendOne sends one message given as JSON and returns its ID.
func (a *api) sendOne(queue, msg string) string {
	a.t.Helper()
	var resp httpapi.SendResponse
	a.ok("POST", "/v1/queues/"+queue+"/messages", msg, http.StatusOK, &resp)
	if resp.ID == "" {
		a.t.Fatalf("send to %s: no id in the answer", queue)
	}
	return resp.ID
}

// receive receives with a request given as JSON.
func (a *api) receive(queue, req string) []httpapi.Delivery {
	a.t.Helper()
	var resp httpapi.ReceiveResponse
	a.ok("POST", "/v1/queues/"+queue+"/receive", req, http.StatusOK, &resp)
	if resp.Messages == nil {
		a.t.Fatalf("receive from %s: \"messages\" is null, want a list", queue)
	}
	return resp.Messages
}

// settle acks, nacks or extends and returns the failures.
func (a *api) settle(queue, op, req string) []httpapi.SettleFailure {
	a.t.Helper()
	var resp httpapi.SettleResponse
	a.ok("POST", "/v1/queues/"+queue+"/"+op, req, http.StatusOK, &resp)
	if resp.Failed == nil {
		a.t.Fatalf("%s on %s: \"failed\" is null, want a list", op, queue)
	}
	return resp.Failed
}

// jsonText marshals v for use in a request body.
func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
