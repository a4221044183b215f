package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
)

// TestHistoryRing checks that a series keeps its last Keep samples,
// oldest first, and that the series of a resource that is gone is dropped.
func TestHistoryRing(t *testing.T) {
	h := newHistory(HistoryConfig{Interval: time.Second, Keep: 3})
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		got := map[string][]float64{"queue:a": {float64(i), 0, 0, 0}}
		if i < 2 {
			got["queue:gone"] = []float64{1, 0, 0, 0}
		}
		h.record(t0.Add(time.Duration(i)*time.Second), got, map[string]string{"queue:a": "queue", "queue:gone": "queue"}, nil)
	}
	snap := h.snapshot(func(string) bool { return true })
	if len(snap.Series) != 1 || snap.Series[0].Resource != "queue:a" {
		t.Fatalf("series %+v; want queue:a only", snap.Series)
	}
	var visible []float64
	for _, p := range snap.Series[0].Points {
		visible = append(visible, p.Values[0])
	}
	if !slices.Equal(visible, []float64{2, 3, 4}) || !snap.Series[0].Points[0].At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("points %+v; want the last 3 samples, oldest first", snap.Series[0].Points)
	}
	if !slices.Equal(snap.Series[0].Fields, historyFields["queue"]) || snap.Interval != "1s" {
		t.Fatalf("fields %v, interval %s", snap.Series[0].Fields, snap.Interval)
	}
}

// TestHistoryEndpoint samples a broker and reads the series back through
// GET /v1/history, as an identity that may see one queue only.
func TestHistoryEndpoint(t *testing.T) {
	b, err := courier.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	for _, name := range []string{"orders", "billing"} {
		q, err := b.CreateQueue(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Send(ctx, courier.Message{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.CreateStream(ctx, "clicks")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, courier.Record{Value: []byte("c")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Group("readers").Join(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	s := New(b, WithIdentities(Identity{Name: "ops", TokenHash: HashToken("s3cret"), Allow: []Grant{
		{Actions: []Action{ActionConsume}, Resource: "queue:orders"},
		{Actions: []Action{ActionConsume}, Resource: "stream:clicks"},
	}}))
	defer s.Drain()
	// Sample by hand: the sampler's clock plays no part in what it records.
	s.history = newHistory(HistoryConfig{})
	s.history.sample(ctx, b, time.Now())

	w := call(s, http.MethodGet, "/v1/history", "s3cret", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /v1/history: %d %s", w.Code, w.Body)
	}
	var res HistoryResponse
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, se := range res.Series {
		names = append(names, se.Resource)
	}
	if !slices.Equal(names, []string{"group:clicks/readers", "queue:orders", "stream:clicks"}) {
		t.Fatalf("series %v; want the ones the identity may see", names)
	}
	q := res.Series[1]
	if len(q.Points) != 1 || q.Points[0].Values[0] != 1 {
		t.Fatalf("queue:orders %+v; want one sample with one visible message", q)
	}
	if lag := res.Series[0].Points[0].Values[0]; lag != 1 {
		t.Fatalf("group lag %v; want 1", lag)
	}
	w = call(s, http.MethodGet, "/v1/history?resource=stream:clicks", "s3cret", "")
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || len(res.Series) != 1 || res.Series[0].Resource != "stream:clicks" {
		t.Fatalf("one resource: %s, %v", w.Body, err)
	}
	if w := call(s, http.MethodGet, "/v1/history", "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", w.Code)
	}
}

// TestHistorySampler runs the sampler of WithHistory in a bubble: a
// sample at once, one per interval after, none after Drain.
func TestHistorySampler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := courier.Open(t.Context(), "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, err := b.CreateQueue(t.Context(), "q"); err != nil {
			t.Fatal(err)
		}
		s := New(b, WithHistory(HistoryConfig{Interval: time.Minute}))
		defer s.Drain()
		points := func() int {
			synctest.Wait()
			snap := s.history.snapshot(func(r string) bool { return r == "queue:q" })
			if len(snap.Series) != 1 {
				t.Fatalf("series %+v", snap.Series)
			}
			return len(snap.Series[0].Points)
		}
		if n := points(); n != 1 {
			t.Fatalf("%d samples at start; want 1", n)
		}
		time.Sleep(time.Minute)
		if n := points(); n != 2 {
			t.Fatalf("%d samples after one interval; want 2", n)
		}
		s.Drain()
		time.Sleep(time.Hour)
		if n := points(); n != 2 {
			t.Fatalf("%d samples after Drain; want 2", n)
		}
	})
}
