package httpx_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/httpx"
)

// TestTransportBodyOutlivesAttempt reads a response body after RoundTrip
// returned: the attempt's context (its timeout, its hedge) must stay alive
// until the body is closed, as it does with a plain transport.
func TestTransportBodyOutlivesAttempt(t *testing.T) {
	const size = 8 << 20
	release := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("a", 1024)))
		w.(http.Flusher).Flush()
		select { // the rest only once the client has returned from RoundTrip
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte(strings.Repeat("b", size)))
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	for _, opt := range []resilience.Option{
		resilience.WithTimeout(time.Minute),
		resilience.WithHedge(resilience.HedgeConfig{Delay: time.Minute}),
	} {
		p, err := resilience.New(opt)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: httpx.Transport(base, p)}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		release <- struct{}{}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != 1024+size {
			t.Errorf("read %d bytes, err %v; want %d", n, err, 1024+size)
		}
	}
}
