package main

import (
	"strings"
	"testing"
)

// TestBenchGateway runs a tiny `courier bench gateway` and checks its JSON
// lines: every system and protocol, every call and delivery made.
func TestBenchGateway(t *testing.T) {
	var out, errb strings.Builder
	code := run(t.Context(), []string{"bench", "gateway", "--n", "30", "--warmup", "5", "--concurrency", "2", "--size", "16",
		"--subscribers", "5", "--messages", "20", "--json"}, strings.NewReader(""), &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	type row struct {
		System, Protocol, Backend string
		Calls, Deliveries, Size   int
		P50us                     float64 `json:"p50_us"`
		AddedP50us                float64 `json:"added_p50_us"`
		DeliveriesPerSec          float64 `json:"deliveries_per_sec"`
		BytesPerIdleConn          float64 `json:"bytes_per_idle_conn"`
	}
	rows := decodeLines[row](t, out.String())
	var got []string
	for _, r := range rows {
		got = append(got, r.System+"/"+r.Protocol)
		switch {
		case r.Size != 16:
			t.Errorf("%+v: size %d, want 16", r, r.Size)
		case r.Protocol == "ws" && (r.Deliveries != 5*20 || r.DeliveriesPerSec <= 0 || r.BytesPerIdleConn <= 0):
			t.Errorf("%+v: want 100 deliveries, a rate and the memory per connection", r)
		case r.Protocol != "ws" && (r.Calls != 5+2*30 || r.P50us <= 0):
			t.Errorf("%+v: want 65 calls and a latency", r)
		case r.System == "courier" && r.Backend != "mem":
			t.Errorf("%+v: want backend mem", r)
		}
	}
	if strings.Join(got, " ") != "courier/grpc bare/grpc connect/grpc courier/rest bare/rest courier/ws" {
		t.Fatalf("bench gateway printed rows %v:\n%s", got, out.String())
	}
	if r := cli(t, "", "", "bench", "gateway", "--backend", "nats"); r.code != exitError || !strings.Contains(r.stderr, `backend: "nats" is not a backend; accepted are mem and file`) {
		t.Fatalf("bench gateway with an unknown backend: %+v", r)
	}
	if r := cli(t, "", "", "bench", "gateway", "--subscribers", "20000"); r.code != exitError || !strings.Contains(r.stderr, "subscribers: 20000 is out of range; accepted is 1 to 10000") {
		t.Fatalf("bench gateway with too many subscribers: %+v", r)
	}
}
