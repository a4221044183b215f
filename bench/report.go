package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON writes one JSON object per result, one per line.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// Ratio compares one metric of courier to the same metric of a reference
// system, against the target the project set for it.
type Ratio struct {
	Metric    string  // "publish" or "consume"
	Reference string  // the reference peer
	Value     float64 // courier's rate divided by the reference's
	Target    float64 // the lowest acceptable Value, 0 if none is set
}

// Met reports whether the ratio reaches its target (true without one).
func (r Ratio) Met() bool { return r.Value >= r.Target }

// Ratios returns courier's throughput divided by each JetStream peer's
// that results contain: publish and consume against jetstream and
// jetstream-sync, with the targets of `courier bench queue` (publish ≥20×
// jetstream-sync and ≥1.5× jetstream; consume+ack ≥1.5× jetstream).
func Ratios(results []Result) []Ratio {
	byName := map[string]Result{}
	for _, r := range results {
		byName[r.System] = r
	}
	c, ok := byName[PeerCourier]
	if !ok {
		return nil
	}
	targets := map[[2]string]float64{
		{"publish", PeerJetStreamSync}: 20,
		{"publish", PeerJetStream}:     1.5,
		{"consume", PeerJetStream}:     1.5,
	}
	var out []Ratio
	for _, ref := range []string{PeerJetStream, PeerJetStreamSync} {
		r, ok := byName[ref]
		if !ok {
			continue
		}
		for _, m := range []struct {
			name   string
			c, ref float64
		}{
			{"publish", c.PublishMsgsPerSec, r.PublishMsgsPerSec},
			{"consume", c.ConsumeMsgsPerSec, r.ConsumeMsgsPerSec},
		} {
			if m.ref > 0 {
				out = append(out, Ratio{Metric: m.name, Reference: ref, Value: m.c / m.ref, Target: targets[[2]string{m.name, ref}]})
			}
		}
	}
	return out
}

// Latency targets of courier's single-producer durable send.
const (
	TargetP50us = 300
	TargetP99us = 1000
)

// WriteTable writes results as an aligned table, followed by courier's
// ratios to the JetStream peers and its latency against the targets.
func WriteTable(w io.Writer, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	r0 := results[0]
	latency := "skipped"
	if r0.LatencyN > 0 {
		latency = fmt.Sprintf("%d sends at %d/s from one producer", r0.LatencyN, r0.Rate)
	}
	fmt.Fprintf(w, "queue workload: %d msgs × %d B, %d producers, %d consumer(s) with batches of %d; latency: %s\n\n",
		r0.N, r0.Size, r0.Producers, r0.Consumers, r0.Batch, latency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tfsync\tpublish msg/s\tconsume+ack msg/s\tp50 µs\tp99 µs\tmax µs\t")
	for _, r := range results {
		lat := "-\t-\t-"
		if r.LatencyN > 0 {
			lat = fmt.Sprintf("%.0f\t%.0f\t%.0f", r.P50us, r.P99us, r.MaxUs)
		}
		fmt.Fprintf(tw, "%s\t%v\t%.0f\t%.0f\t%s\t\n",
			r.System, r.Fsync, r.PublishMsgsPerSec, r.ConsumeMsgsPerSec, lat)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	ratios := Ratios(results)
	if len(ratios) > 0 {
		fmt.Fprintln(w)
	}
	for _, r := range ratios {
		fmt.Fprintf(w, "courier/%-15s %-8s %7.2f×", r.Reference, r.Metric, r.Value)
		if r.Target > 0 {
			fmt.Fprintf(w, "   target ≥%g× %s", r.Target, verdict(r.Met()))
		}
		fmt.Fprintln(w)
	}
	for _, r := range results {
		if r.System == PeerCourier && r.LatencyN > 0 {
			fmt.Fprintf(w, "courier send latency     p50 %.0fµs (target ≤%dµs %s), p99 %.0fµs (target ≤%dµs %s)\n",
				r.P50us, TargetP50us, verdict(r.P50us <= TargetP50us), r.P99us, TargetP99us, verdict(r.P99us <= TargetP99us))
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
