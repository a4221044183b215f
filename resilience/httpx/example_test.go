package httpx_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier/resilience"
	"github.com/courier-io/courier/resilience/httpx"
)

func ExampleTransport() {
	// A server that is overloaded for its first two requests.
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "hello; %s header present: %v", resilience.DeadlineHeader, r.Header.Get(resilience.DeadlineHeader) != "")
	}))
	defer srv.Close()

	p, err := resilience.New(
		resilience.WithRetry(resilience.RetryConfig{MaxAttempts: 3, MinDelay: time.Millisecond}),
		resilience.WithTimeout(5*time.Second),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: httpx.Transport(base, p)}

	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	fmt.Println("requests:", requests.Load())
	// Output:
	// 200 hello; Courier-Deadline header present: true
	// requests: 3
}

func ExampleMiddleware() {
	p, err := resilience.New(resilience.WithBulkhead(100, 50))
	if err != nil {
		fmt.Println(err)
		return
	}
	handler := httpx.Middleware(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, ok := r.Context().Deadline()
		fmt.Fprintln(w, ok, time.Until(deadline) <= 1500*time.Millisecond)
	}))

	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set(resilience.DeadlineHeader, "1500ms")
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	fmt.Print(w.Code, " ", w.Body.String())

	req.Header.Set(resilience.DeadlineHeader, "-1ms")
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 200 true true
	// 400 Courier-Deadline: "-1ms" is negative; want the remaining time in whole milliseconds, like "1500ms"
}
