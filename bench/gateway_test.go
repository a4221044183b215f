package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// smallGatewayConfig is a gateway workload small enough for the test
// suite.
func smallGatewayConfig(t testing.TB) GatewayConfig {
	return GatewayConfig{N: 200, Warmup: 20, Concurrency: 4, Size: 32, Subscribers: 30, Messages: 300,
		Dir: t.TempDir(), Timeout: time.Minute}
}

// TestGatewaySmallRun runs the gateway workload with small counts and
// checks the rows, that every call succeeded and every delivery arrived,
// what was derived from them, the progress reports, the table and the
// JSON lines.
func TestGatewaySmallRun(t *testing.T) {
	cfg := smallGatewayConfig(t)
	var progress progressLog
	cfg.Progress = progress.record
	res, err := Gateway(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{PeerCourier, ProtocolGRPC}, {SystemBare, ProtocolGRPC}, {SystemConnect, ProtocolGRPC},
		{PeerCourier, ProtocolREST}, {SystemBare, ProtocolREST}, {PeerCourier, ProtocolWS},
	}
	bare := map[string]GatewayResult{ProtocolGRPC: res[1], ProtocolREST: res[4]}
	if len(res) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(res), len(want), res)
	}
	for i, r := range res {
		if r.System != want[i][0] || r.Protocol != want[i][1] {
			t.Fatalf("result %d is %s/%s, want %s/%s", i, r.System, r.Protocol, want[i][0], want[i][1])
		}
		if wantBackend := map[bool]string{true: BackendMem, false: ""}[r.System == PeerCourier]; r.Backend != wantBackend || r.Size != 32 {
			t.Errorf("%s/%s: backend %q size %d, want %q and 32", r.System, r.Protocol, r.Backend, r.Size, wantBackend)
		}
		if r.Protocol == ProtocolWS {
			continue
		}
		if r.Calls != 20+2*200 || r.N != 200 || r.Warmup != 20 || r.Concurrency != 4 {
			t.Errorf("%s/%s: %d calls succeeded (n %d, warm-up %d, concurrency %d), want all %d", r.System, r.Protocol,
				r.Calls, r.N, r.Warmup, r.Concurrency, 20+2*200)
		}
		if r.P50us <= 0 || r.P99us < r.P50us || r.MaxUs < r.P99us || r.CallsPerSec <= 0 {
			t.Errorf("%s/%s: p50 %v p99 %v max %v µs, %v calls/s: not positive and ordered", r.System, r.Protocol, r.P50us, r.P99us, r.MaxUs, r.CallsPerSec)
		}
		if r.System == SystemBare && (r.AddedP50us != 0 || r.P50Ratio != 0 || r.CallsPerSecRatio != 0) {
			t.Errorf("bare/%s has courier's comparisons: %+v", r.Protocol, r)
		}
		if b := bare[r.Protocol]; r.System != SystemBare &&
			(r.AddedP50us != r.P50us-b.P50us || r.P50Ratio != r.P50us/b.P50us || r.CallsPerSecRatio != r.CallsPerSec/b.CallsPerSec) {
			t.Errorf("%s/%s: added %v, ratios %v and %v do not compare it with bare %+v", r.System, r.Protocol, r.AddedP50us, r.P50Ratio, r.CallsPerSecRatio, b)
		}
	}
	ws := res[5]
	if ws.Subscribers != 30 || ws.Messages != 300 || ws.Deliveries != 30*300 || ws.DeliveriesPerSec <= 0 {
		t.Errorf("ws: %d deliveries at %v/s to %d subscribers of %d messages; want all %d", ws.Deliveries, ws.DeliveriesPerSec,
			ws.Subscribers, ws.Messages, 30*300)
	}
	// An idle subscribed connection costs the server at least its socket,
	// its goroutines and their stacks, and a client at least its socket.
	if ws.HeapBytesPerIdleConn <= 0 || ws.StackBytesPerIdleConn <= 0 || ws.BytesPerIdleConn != ws.HeapBytesPerIdleConn+ws.StackBytesPerIdleConn ||
		ws.ClientHeapBytesPerConn <= 0 || ws.GoroutinesPerConn < 1 {
		t.Errorf("ws memory: %v B (heap %v + stacks %v), client %v B, %v goroutines per connection", ws.BytesPerIdleConn,
			ws.HeapBytesPerIdleConn, ws.StackBytesPerIdleConn, ws.ClientHeapBytesPerConn, ws.GoroutinesPerConn)
	}
	if ws.P50us != 0 || ws.Calls != 0 {
		t.Errorf("ws has call measurements: %+v", ws)
	}

	for key, total := range map[string]int{
		"courier-ws/connect": 30, "courier-ws/fan-out": 30 * 300,
		"grpc/latency": 600, "courier-grpc/throughput": 200, "bare-grpc/throughput": 200, "connect-grpc/throughput": 200,
		"rest/latency": 400, "courier-rest/throughput": 200, "bare-rest/throughput": 200,
	} {
		if p, _ := progress.last(key); p.Total != total || p.Done != total {
			t.Errorf("last %s progress %+v, want %d of %d", key, p, total, total)
		}
	}

	var table bytes.Buffer
	if err := WriteGatewayTable(&table, res); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for line := range strings.Lines(table.String()) {
		if f := strings.Fields(line); len(f) == 9 && (f[1] == ProtocolGRPC || f[1] == ProtocolREST) {
			rows = append(rows, f[0]+"/"+f[1])
		}
	}
	if got := strings.Join(rows, " "); got != "courier/grpc bare/grpc connect/grpc courier/rest bare/rest" {
		t.Errorf("table rows %q:\n%s", got, table.String())
	}
	for _, want := range []string{
		"send of one 32 B message", "on mem://", "system  protocol  p50 µs", "added p50 µs",
		"courier grpc added p50", "target ≤50µs", "of which a no-op connect-go handler on net/http", "courier rest added p50",
		"30 subscribers", "300 messages × 32 B", "target ≥200000/s", "target ≤20480 B", "client heap",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	var lines bytes.Buffer
	if err := WriteGatewayJSON(&lines, res); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	sc := bufio.NewScanner(&lines)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		got = append(got, m)
	}
	if len(got) != 6 || got[0]["added_p50_us"] == nil || got[0]["calls"] != float64(420) || got[0]["backend"] != BackendMem ||
		got[1]["added_p50_us"] != nil || got[1]["backend"] != nil || got[2]["added_p50_us"] == nil ||
		got[5]["deliveries_per_sec"] == nil || got[5]["bytes_per_idle_conn"] == nil || got[5]["p50_us"] != nil {
		t.Errorf("JSON lines: %v", got)
	}
}

// TestGatewayFileBackend runs a tiny workload on file:// and checks that
// courier's rows say so and the data directory is removed.
func TestGatewayFileBackend(t *testing.T) {
	cfg := GatewayConfig{N: 20, Warmup: -1, Concurrency: 2, Subscribers: 3, Messages: 10, Backend: BackendFile,
		Dir: t.TempDir(), Timeout: time.Minute}
	res, err := Gateway(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.System == PeerCourier && r.Backend != BackendFile || r.Protocol != ProtocolWS && r.Calls != 40 || r.Protocol == ProtocolWS && r.Deliveries != 30 {
			t.Errorf("%+v: want file backend for courier, 40 calls or 30 deliveries", r)
		}
	}
	if entries, err := os.ReadDir(cfg.Dir); err != nil || len(entries) != 0 {
		t.Errorf("temporary directories left in %s: %v (%v)", cfg.Dir, entries, err)
	}
}

func TestGatewayRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  GatewayConfig
		want string
	}{
		{"n", GatewayConfig{N: -1}, "bench: n: -1 is out of range; accepted is 1 to 10000000"},
		{"concurrency", GatewayConfig{Concurrency: 2000}, "bench: concurrency: 2000 is out of range; accepted is 1 to 1024"},
		{"size", GatewayConfig{Size: 4}, "bench: size: 4 is out of range; accepted is 8 to 65536"},
		{"subscribers", GatewayConfig{Subscribers: 20_000}, "bench: subscribers: 20000 is out of range"},
		{"messages", GatewayConfig{Messages: -5}, "bench: messages: -5 is out of range"},
		{"backend", GatewayConfig{Backend: "nats"}, `bench: backend: "nats" is not a backend; accepted are mem and file`},
		{"timeout", GatewayConfig{Timeout: -time.Second}, "bench: timeout: -1s is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Gateway(context.Background(), tc.cfg)
			if err == nil || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error starting with %q", err, tc.want)
			}
		})
	}
}

// TestGatewayStopsWithContext cancels a run during the fan-out and checks
// that it ends with the cancellation.
func TestGatewayStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := smallGatewayConfig(t)
	cfg.Messages = 100_000
	cfg.Progress = func(p Progress) {
		if p.Phase == "fan-out" && p.Done > 0 {
			cancel()
		}
	}
	_, err := Gateway(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("got %v, want a cancellation error", err)
	}
}

func TestWSMessageIndex(t *testing.T) {
	for frame, want := range map[string]int{
		`{"op":"message","sub":"f","message":{"id":"x","body":"00000042xxxx"}}`: 42,
		`{"op":"message","sub":"f","message":{"id":"x","body":"0000004"}}`:      -1,
		`{"op":"message","sub":"f","message":{"id":"x","body":"0000a042"}}`:     -1,
		`{"op":"message","sub":"f","message":{"id":"x","body_base64":"AAAA"}}`:  -1,
	} {
		i, ok := wsMessageIndex([]byte(frame))
		if !ok {
			i = -1
		}
		if i != want {
			t.Errorf("wsMessageIndex(%s) = %d, want %d", frame, i, want)
		}
	}
}

// TestWSFrames reads back what writeWSFrame writes, unmasked, at each
// length encoding.
func TestWSFrames(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte{'a'}, n)
		var w bytes.Buffer
		if err := writeWSFrame(&w, wsOpText, payload); err != nil {
			t.Fatal(err)
		}
		f := w.Bytes()
		if f[1]&0x80 == 0 {
			t.Fatalf("%d bytes: the frame is not masked", n)
		}
		// Unmask in place and clear the mask bit, as the server would
		// read it, then read it as the client reads the server's frames.
		hdr := len(f) - n - 4
		mask := f[hdr : hdr+4]
		for i := range n {
			f[hdr+4+i] ^= mask[i&3]
		}
		f[1] &^= 0x80
		unmasked := append(append([]byte{}, f[:hdr]...), f[hdr+4:]...)
		var buf []byte
		op, p, err := readWSFrame(bufio.NewReader(bytes.NewReader(unmasked)), &buf)
		if err != nil || op != wsOpText || !bytes.Equal(p, payload) {
			t.Fatalf("%d bytes: read back op %d, %d bytes, %v", n, op, len(p), err)
		}
	}
	var buf []byte
	for name, frame := range map[string][]byte{
		"fragmented": {0x01, 0x00}, "continuation": {0x80, 0x00}, "reserved": {0xC1, 0x00}, "masked": {0x81, 0x80, 0, 0, 0, 0},
	} {
		if _, _, err := readWSFrame(bufio.NewReader(bytes.NewReader(frame)), &buf); err == nil {
			t.Errorf("%s frame: no error", name)
		}
	}
}
