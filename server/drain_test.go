package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-io/courier/internal/httpapi"
)

// watchedContext reports the first call of Done: the server derives its
// poll context from the request's just before it calls Receive, so that
// call means the handler is past its draining check and about to wait.
type watchedContext struct {
	context.Context
	once   sync.Once
	called chan struct{}
}

func (c *watchedContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.called) })
	return c.Context.Done()
}

// TestDrainEndsLongPoll starts a 20-second long poll, waits until the
// handler is about to poll, drains, and expects a prompt 200 with no
// messages. A receive after Drain returns at once even with a wait.
func TestDrainEndsLongPoll(t *testing.T) {
	polling := make(chan struct{})
	var watched atomic.Bool
	a := newAPI(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/receive") && !watched.Swap(true) {
				r = r.WithContext(&watchedContext{Context: r.Context(), called: polling})
			}
			h.ServeHTTP(w, r)
		})
	})
	a.create("q", "")

	type answer struct {
		status int
		data   []byte
		err    error
	}
	done := make(chan answer, 1)
	start := time.Now()
	go func() {
		status, _, data, err := a.try("POST", "/v1/queues/q/receive", strings.NewReader(`{"max":10,"wait":"20s"}`))
		done <- answer{status, data, err}
	}()
	<-polling
	a.srv.Drain()
	got := <-done
	elapsed := time.Since(start)
	if got.err != nil {
		t.Fatal(got.err)
	}
	var resp httpapi.ReceiveResponse
	if got.status != http.StatusOK || json.Unmarshal(got.data, &resp) != nil || resp.Messages == nil || len(resp.Messages) != 0 {
		t.Fatalf("drained poll answered %d %s, want 200 and an empty list", got.status, got.data)
	}
	if elapsed > 10*time.Second {
		t.Errorf("drained poll took %v; Drain should end it at once", elapsed)
	}

	// After Drain a receive does not wait, and still delivers.
	start = time.Now()
	if ds := a.receive("q", `{"wait":"20s"}`); len(ds) != 0 {
		t.Fatalf("received %d from an empty queue", len(ds))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("receive after Drain took %v", d)
	}
	a.sendOne("q", `{"body":"after drain"}`)
	if ds := a.receive("q", `{"wait":"20s"}`); len(ds) != 1 {
		t.Errorf("receive after Drain got %d messages, want 1", len(ds))
	}
	// Drain is idempotent (the test cleanup drains again).
	a.srv.Drain()
}
