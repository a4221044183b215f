package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/courier-io/courier/internal/testcert"
	"github.com/courier-io/courier/server"
)

// watched is a `courier serve` running in-process whose log lines the
// test reads as they come.
type watched struct {
	addr  string      // host:port it listens on
	lines chan string // stderr lines after the address
	stop  func() int  // cancels serve and returns its exit code
}

// watchServe runs `courier serve args...` and returns once it logged its
// address. The test's cleanup stops it.
func watchServe(t *testing.T, args ...string) *watched {
	t.Helper()
	return watchServeOut(t, io.Discard, args...)
}

// watchServeOut is watchServe with serve's standard output going to
// stdout.
func watchServeOut(t *testing.T, stdout io.Writer, args ...string) *watched {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), stdout, pw)
		pw.Close()
		done <- code
	}()
	w := &watched{lines: make(chan string, 100)}
	listening := regexp.MustCompile(`msg="courier listening" addr=(\S+)`)
	sc := bufio.NewScanner(pr)
	var logs []string
	for sc.Scan() {
		logs = append(logs, sc.Text())
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			w.addr = m[1]
			break
		}
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		for sc.Scan() {
			select {
			case w.lines <- sc.Text():
			default: // nobody waits for it
			}
		}
		io.Copy(io.Discard, pr)
	}()
	code, ended := 0, false
	w.stop = func() int {
		if !ended {
			cancel()
			code = <-done
			<-scanned
			ended = true
		}
		return code
	}
	t.Cleanup(func() { w.stop() })
	if w.addr == "" {
		t.Fatalf("serve exited with %d without logging its address: %q", w.stop(), logs)
	}
	return w
}

// waitLog waits for a log line that contains want and returns it.
func (w *watched) waitLog(t *testing.T, want string) string {
	t.Helper()
	for {
		select {
		case line := <-w.lines:
			if strings.Contains(line, want) {
				return line
			}
		case <-t.Context().Done():
			t.Fatalf("no log line with %q", want)
		}
	}
}

// get makes a GET with the bearer token (none if empty) through tr and
// returns the status.
func get(t *testing.T, tr *http.Transport, url, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeRefusesUnauthenticated checks that serve does not start
// without authentication on a non-loopback address, and does with
// --insecure-no-auth.
func TestServeRefusesUnauthenticated(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		r := cli(t, "", "", "serve", "--addr", addr, "--backend", "mem://")
		if r.code != exitUsage || !strings.Contains(r.stderr, "refusing to serve without authentication on "+addr) ||
			!strings.Contains(r.stderr, "--insecure-no-auth") {
			t.Errorf("serve --addr %s without auth: exit %d, %q", addr, r.code, r.stderr)
		}
	}
	t.Setenv("COURIER_ADDR", "0.0.0.0:0")
	r := cli(t, "", "", "serve", "--backend", "mem://")
	if r.code != exitUsage || !strings.Contains(r.stderr, "(set by COURIER_ADDR)") {
		t.Errorf("COURIER_ADDR=0.0.0.0:0 without auth: exit %d, %q", r.code, r.stderr)
	}

	w := watchServe(t, "--addr", "0.0.0.0:0", "--backend", "mem://", "--insecure-no-auth")
	w.waitLog(t, "authentication is off (--insecure-no-auth)")
	port := w.addr[strings.LastIndexByte(w.addr, ':'):]
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if status := get(t, tr, "http://127.0.0.1"+port+"/v1/queues", ""); status != http.StatusOK {
		t.Fatalf("--insecure-no-auth: GET /v1/queues answered %d", status)
	}
	if code := w.stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}

// TestServeAuth checks the admin token of --admin-token-file and of
// COURIER_ADMIN_TOKEN, tokens of the config file, and --hash-token.
func TestServeAuth(t *testing.T) {
	dir := t.TempDir()
	adminToken := "admin-0123456789abcdef"
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", "orders-token\n", "serve", "--hash-token")
	hash := strings.TrimSpace(r.stdout)
	if r.code != 0 || hash != server.HashToken("orders-token") {
		t.Fatalf("--hash-token: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	config := filepath.Join(dir, "courier.yaml")
	if err := os.WriteFile(config, []byte(`
auth:
  tokens:
    - name: orders
      hash: `+hash+`
      allow: [{actions: [publish, consume], resource: "queue:orders"}]
`), 0o600); err != nil {
		t.Fatal(err)
	}

	w := watchServe(t, "--addr", "127.0.0.1:0", "--backend", "mem://", "--config", config, "--admin-token-file", tokenFile)
	base := "http://" + w.addr
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/healthz", "", http.StatusOK},
		{"/v1/queues", "", http.StatusUnauthorized},
		{"/v1/queues", "wrong", http.StatusUnauthorized},
		{"/v1/queues", adminToken, http.StatusOK},
		{"/v1/queues", "orders-token", http.StatusForbidden}, // listing all queues needs queue:*
		{"/v1/queues/orders", "orders-token", http.StatusNotFound},
		{"/v1/queues/billing", "orders-token", http.StatusForbidden},
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "orders-token", http.StatusOK},
	} {
		if got := get(t, tr, base+c.path, c.token); got != c.want {
			t.Errorf("GET %s with %q: %d, want %d", c.path, c.token, got, c.want)
		}
	}
	w.stop()

	// The client commands get a 401 without a token, named as such.
	t.Setenv("COURIER_ADMIN_TOKEN", adminToken)
	w = watchServe(t, "--addr", "127.0.0.1:0", "--backend", "mem://")
	if got := get(t, tr, "http://"+w.addr+"/v1/queues", adminToken); got != http.StatusOK {
		t.Fatalf("COURIER_ADMIN_TOKEN: %d", got)
	}
	r = cli(t, "http://"+w.addr, "", "queue", "list")
	if r.code != exitError || !strings.Contains(r.stderr, "unauthenticated") {
		t.Fatalf("queue list without a token: exit %d, %q", r.code, r.stderr)
	}
}

// TestServePrintConfig checks --print-config: the precedence flags >
// environment > file > defaults, and the admin token redacted.
func TestServePrintConfig(t *testing.T) {
	config := filepath.Join(t.TempDir(), "courier.toml")
	if err := os.WriteFile(config, []byte(`
addr = "127.0.0.1:9100"
[limits]
max_batch = 5
max_streams = 7
idle_timeout = "1m"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := "s3cret-admin-token-for-print"
	t.Setenv("COURIER_ADMIN_TOKEN", secret)
	t.Setenv("COURIER_MAX_BATCH", "6")
	t.Setenv("COURIER_MAX_STREAMS", "8")
	t.Setenv("COURIER_CONFIG", config)
	r := cli(t, "", "", "serve", "--print-config", "--max-batch", "9", "--backend", "mem://")
	if r.code != 0 {
		t.Fatalf("--print-config: exit %d, %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"addr: 127.0.0.1:9100\n", // file
		"max_batch: 9\n",         // flag over env over file
		"max_streams: 8\n",       // env over file
		"idle_timeout: 1m0s\n",   // file over default
		"read_timeout: 1m0s\n",   // default
		"backend: mem://\n",      // flag
		"admin_token: <redacted>\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--print-config lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatalf("--print-config shows the admin token:\n%s", r.stdout)
	}
}

// TestServeInvalidConfig checks that an invalid configuration exits 2
// with a message naming the key.
func TestServeInvalidConfig(t *testing.T) {
	config := filepath.Join(t.TempDir(), "courier.yaml")
	if err := os.WriteFile(config, []byte(`
auth:
  tokens:
    - name: a
      client_certs: ["cn:a"]
      allow: [{actions: [admin], resource: "*"}]
    - name: b
      client_certs: ["cn:b"]
      allow: [{actions: [consume], resource: "queues:orders"}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", config}, "auth.tokens[1].allow[0].resource: unknown resource kind \"queues\""},
		{[]string{"--config", config + ".ini"}, "unknown config format"},
		{[]string{"--max-batch", "many"}, `limits.max_batch: "many" is not an integer (set by --max-batch)`},
		{[]string{"--read-header-timeout", "0s"}, "limits.read_header_timeout: 0s is out of range"},
		{[]string{"--tls-cert", config, "--tls-key", config}, "tls.cert: loading the TLS certificate"},
	} {
		r := cli(t, "", "", append([]string{"serve", "--backend", "mem://"}, c.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("serve %v: exit %d, %q; want exit 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestServeTLSReload runs serve with TLS, renews its certificate and
// sends SIGHUP: new connections get the new pair; a broken pair is
// logged and the previous one kept.
func TestServeTLSReload(t *testing.T) {
	ca := testcert.NewCA(t, "courier-test")
	first, second, live := ca.Server("first"), ca.Server("second"), ca.Server("live")
	first.CopyTo(t, live)
	w := watchServe(t, "--addr", "127.0.0.1:0", "--backend", "mem://", "--tls-cert", live.CertFile, "--tls-key", live.KeyFile)
	url := "https://" + w.addr + "/healthz"
	serial := func() int64 {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != first.Serial {
		t.Fatalf("serial %d, want the first pair's %d", got, first.Serial)
	}

	second.CopyTo(t, live)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	w.waitLog(t, "TLS certificate reloaded")
	if got := serial(); got != second.Serial {
		t.Fatalf("after SIGHUP: serial %d, want the second pair's %d", got, second.Serial)
	}

	if err := os.WriteFile(live.KeyFile, []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	w.waitLog(t, "TLS reload failed; serving the previous certificate")
	if got := serial(); got != second.Serial {
		t.Fatalf("after a failed reload: serial %d, want the second pair's %d", got, second.Serial)
	}
	if code := w.stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeTracing runs serve with the stdout exporter: a request that
// carries a W3C trace context is traced as a server span of its route in
// that trace, with the courier send as its child, and the spans are
// flushed at shutdown. The log lines are JSON.
func TestServeTracing(t *testing.T) {
	var out lockedBuffer
	w := watchServeOut(t, &out, "--addr", "127.0.0.1:0", "--backend", "mem://", "--tracing-exporter", "stdout", "--log-level", "debug")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, req := range []struct{ method, path, body string }{
		{"PUT", "/v1/queues/q", ""},
		{"POST", "/v1/queues/q/messages", `{"body": "traced"}`},
	} {
		r, err := http.NewRequestWithContext(t.Context(), req.method, "http://"+w.addr+req.path, strings.NewReader(req.body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", req.method, req.path, resp.StatusCode)
		}
	}
	if code := w.stop(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
	spans := out.String()
	for _, want := range []string{`"Name":"POST /v1/queues/{name}/messages"`, `"Name":"send q"`, traceID} {
		if !strings.Contains(spans, want) {
			t.Errorf("the exported spans lack %s:\n%.2000s", want, spans)
		}
	}
}

// TestServeJSONLog checks --log-format json.
func TestServeJSONLog(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--backend", "mem://", "--log-format", "json"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"courier listening"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no JSON log line: %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("not a JSON line: %q", line)
		}
	}
}
