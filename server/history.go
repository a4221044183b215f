package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/courier-io/courier"
)

// History: a sampler that records, every interval, the gauges an operator
// watches over time (queue depths, in-flight and oldest age, stream ends
// and group lag, topic and bus counters) in fixed rings in memory, and
// GET /v1/history that answers them, for the dashboard's charts. It is
// not a metrics store: /metrics is for Prometheus; this is the last half
// hour or so, there as soon as the server starts, with no setup.

// HistoryConfig configures the sampler of WithHistory.
type HistoryConfig struct {
	// Interval is the time between samples (default 5s, at least 100ms).
	Interval time.Duration
	// Keep is how many samples each series keeps (default 360: half an
	// hour at 5s).
	Keep int
	// MaxSeries bounds the series kept (default 2000); resources beyond
	// it are not sampled. A series is a queue, topic, stream, consumer
	// group or bus.
	MaxSeries int
}

// WithHistory turns the sampler on: it samples from New until Drain.
// Without it GET /v1/history answers no series.
func WithHistory(cfg HistoryConfig) Option {
	return func(s *Server) { s.historyConfig = &cfg }
}

// The fields of each kind of series, in the order of their values.
var historyFields = map[string][]string{
	"queue":  {"visible", "in_flight", "delayed", "oldest_age_seconds", "sent_total", "received_total"},
	"topic":  {"published", "subscriptions", "tails"},
	"stream": {"records", "end"},
	"group":  {"lag"},
	"bus":    {"accepted", "matched", "unmatched"},
}

// history holds the series.
type history struct {
	cfg  HistoryConfig
	mu   sync.Mutex
	ring []time.Time // sample times, a ring of cfg.Keep
	next int         // where the next sample goes
	n    int         // samples taken, up to cfg.Keep
	// series by resource ("queue:orders", "group:clicks/readers").
	series map[string]*series
	done   chan struct{}
}

// series is one resource's values: values[i] belongs to ring[i].
type series struct {
	kind   string
	values [][]float64
}

func newHistory(cfg HistoryConfig) *history {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	cfg.Interval = max(cfg.Interval, 100*time.Millisecond)
	if cfg.Keep <= 0 {
		cfg.Keep = 360
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = 2000
	}
	return &history{cfg: cfg, ring: make([]time.Time, cfg.Keep), series: map[string]*series{}, done: make(chan struct{})}
}

// run samples b every interval until ctx ends.
func (h *history) run(ctx context.Context, b *courier.Broker) {
	defer close(h.done)
	t := time.NewTicker(h.cfg.Interval)
	defer t.Stop()
	for {
		h.sample(ctx, b, time.Now())
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// sample records one sample of every resource of b. A kind whose listing
// failed (a backend's passing error) keeps its series for the next sample.
func (h *history) sample(ctx context.Context, b *courier.Broker, at time.Time) {
	got := map[string][]float64{}
	kinds := map[string]string{}
	failed := map[string]bool{}
	put := func(kind, name string, values ...float64) {
		if len(got) < h.cfg.MaxSeries {
			got[kind+":"+name] = values
			kinds[kind+":"+name] = kind
		}
	}
	caps := b.Capabilities()
	if caps.Queues {
		names, err := b.ListQueues(ctx)
		failed["queue"] = err != nil
		for _, n := range names {
			if info, err := b.Queue(n).Info(ctx); err == nil {
				st := info.Stats
				var sent, received float64 // counters, where the backend counts
				if c := info.Counters; c != nil {
					sent, received = float64(c.Sent), float64(c.Received)
				}
				put("queue", n, float64(st.Visible), float64(st.InFlight), float64(st.Delayed), st.OldestAge.Seconds(), sent, received)
			}
		}
	}
	if caps.Topics {
		names, err := b.ListTopics(ctx)
		failed["topic"] = err != nil
		for _, n := range names {
			if info, err := b.Topic(n).Info(ctx); err == nil {
				st := info.Stats
				put("topic", n, float64(st.Published), float64(st.Subscriptions), float64(st.Tails))
			}
		}
	}
	if caps.Streams {
		names, err := b.ListStreams(ctx)
		failed["stream"], failed["group"] = err != nil, err != nil
		for _, n := range names {
			info, err := b.Stream(n).Info(ctx)
			if err != nil {
				continue
			}
			var records, end int64
			for _, p := range info.Partitions {
				records += p.Records
				end += p.End
			}
			put("stream", n, float64(records), float64(end))
			for _, g := range info.Groups {
				var lag int64
				for _, l := range g.Lag {
					lag += l
				}
				put("group", n+"/"+g.Name, float64(lag))
			}
		}
	}
	if caps.Buses {
		names, err := b.ListBuses(ctx)
		failed["bus"] = err != nil
		for _, n := range names {
			if info, err := b.Bus(n).Info(ctx); err == nil {
				st := info.Stats
				put("bus", n, float64(st.Accepted), float64(st.Matched), float64(st.Unmatched))
			}
		}
	}
	h.record(at, got, kinds, failed)
}

// record adds a sample; series of resources that are gone are dropped,
// but not those of a kind whose listing failed (keep).
func (h *history) record(at time.Time, got map[string][]float64, kinds map[string]string, keep map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := h.next
	h.ring[i] = at
	h.next = (h.next + 1) % h.cfg.Keep
	h.n = min(h.n+1, h.cfg.Keep)
	for key, s := range h.series {
		if _, ok := got[key]; !ok && !keep[s.kind] {
			delete(h.series, key)
		}
	}
	for key, values := range got {
		s := h.series[key]
		if s == nil {
			s = &series{kind: kinds[key], values: make([][]float64, h.cfg.Keep)}
			h.series[key] = s
		}
		s.values[i] = values
	}
}

// HistoryPoint is one sample of a series.
type HistoryPoint struct {
	At     time.Time `json:"at"`
	Values []float64 `json:"values"`
}

// HistorySeries is one resource's samples, oldest first.
type HistorySeries struct {
	// Resource is "queue:NAME", "topic:NAME", "stream:NAME",
	// "group:STREAM/GROUP" or "bus:NAME".
	Resource string         `json:"resource"`
	Fields   []string       `json:"fields"`
	Points   []HistoryPoint `json:"points"`
}

// HistoryResponse is the answer of GET /v1/history.
type HistoryResponse struct {
	Interval string          `json:"interval"`
	Series   []HistorySeries `json:"series"`
}

// snapshot returns the series for which keep reports true, sorted by
// resource.
func (h *history) snapshot(keep func(resource string) bool) HistoryResponse {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := HistoryResponse{Interval: h.cfg.Interval.String(), Series: []HistorySeries{}}
	for key, s := range h.series {
		if !keep(key) {
			continue
		}
		hs := HistorySeries{Resource: key, Fields: historyFields[s.kind], Points: []HistoryPoint{}}
		for k := range h.n {
			i := (h.next - h.n + k + h.cfg.Keep) % h.cfg.Keep
			if s.values[i] != nil {
				hs.Points = append(hs.Points, HistoryPoint{At: h.ring[i], Values: s.values[i]})
			}
		}
		out.Series = append(out.Series, hs)
	}
	slices.SortFunc(out.Series, func(a, b HistorySeries) int {
		switch {
		case a.Resource < b.Resource:
			return -1
		case a.Resource > b.Resource:
			return 1
		}
		return 0
	})
	return out
}

// serveHistory answers the series the caller may see: those named by
// the query's resource parameters (repeatable), or all; a series is shown
// to an identity with any action on its resource (a group's on its
// stream).
func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query()["resource"]
	id := identityFrom(r.Context())
	if s.history == nil {
		writeJSON(w, http.StatusOK, HistoryResponse{Series: []HistorySeries{}})
		return
	}
	writeJSON(w, http.StatusOK, s.history.snapshot(func(resource string) bool {
		if len(want) > 0 && !slices.Contains(want, resource) {
			return false
		}
		if id == nil {
			return s.auth == nil
		}
		return allows(id.grants, describe, accessResource(resource))
	}))
}

// accessResource is the resource whose permission shows a series: a
// group's stream.
func accessResource(resource string) string {
	if name, ok := strings.CutPrefix(resource, "group:"); ok {
		stream, _, _ := strings.Cut(name, "/")
		return "stream:" + stream
	}
	return resource
}
