package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer serves a mem:// broker on 127.0.0.1 and returns its URL.
func startServer(t *testing.T) string {
	t.Helper()
	b, err := courier.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(b)
	hs := &http.Server{Handler: srv}
	done := make(chan struct{})
	go func() { defer close(done); hs.Serve(ln) }()
	t.Cleanup(func() {
		srv.Drain()
		hs.Shutdown(context.Background())
		<-done
		b.Close()
	})
	return "http://" + ln.Addr().String()
}

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line against the server at url.
func cli(t *testing.T, url, stdin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := run(t.Context(), append([]string{"--server", url}, args...), strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// ok runs a command that must succeed.
func ok(t *testing.T, url, stdin string, args ...string) string {
	t.Helper()
	r := cli(t, url, stdin, args...)
	if r.code != 0 {
		t.Fatalf("courier %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func receiveJSON(t *testing.T, url string, args ...string) []httpapi.Delivery {
	t.Helper()
	out := ok(t, url, "", append([]string{"queue", "receive"}, args...)...)
	var ds []httpapi.Delivery
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var d httpapi.Delivery
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("receive printed a line that is not JSON: %q", sc.Text())
		}
		ds = append(ds, d)
	}
	return ds
}

var idLine = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestTour runs the README's CLI tour.
func TestTour(t *testing.T) {
	url := startServer(t)
	ok(t, url, "", "queue", "create", "orders-dlq")
	ok(t, url, "", "queue", "create", "orders", "--visibility", "30s", "--max-receives", "3", "--dlq", "orders-dlq")
	id := strings.TrimSpace(ok(t, url, "order #1\n", "queue", "send", "orders"))
	if !idLine.MatchString(id) {
		t.Fatalf("send printed %q; want a message ID", id)
	}
	ids := strings.Fields(ok(t, url, "1\n2\n3\n", "queue", "send", "orders", "--lines", "--batch", "2"))
	if len(ids) != 3 {
		t.Fatalf("send --lines of 3 lines printed %d IDs", len(ids))
	}
	if got := ok(t, url, "", "queue", "list"); got != "orders\norders-dlq\n" {
		t.Fatalf("list = %q", got)
	}
	ds := receiveJSON(t, url, "orders", "--max", "10", "--ack")
	if len(ds) != 4 || *ds[0].Body != "order #1\n" || *ds[1].Body != "1" || ds[0].ID != id {
		t.Fatalf("receive --ack = %+v", ds)
	}
	var info httpapi.QueueInfo
	if err := json.Unmarshal([]byte(ok(t, url, "", "queue", "stats", "orders", "--json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Stats.Visible != 0 || info.Stats.InFlight != 0 || *info.Attributes.DeadLetterQueue != "orders-dlq" {
		t.Fatalf("stats after receive --ack = %+v", info)
	}
	if got := ok(t, url, "", "queue", "redrive", "orders-dlq"); got != "moved 0 messages\n" {
		t.Fatalf("redrive = %q", got)
	}
	v := ok(t, url, "", "version")
	if !strings.HasPrefix(v, "courier ") {
		t.Fatalf("version = %q", v)
	}
}

func TestSettleCommands(t *testing.T) {
	url := startServer(t)
	ok(t, url, "", "queue", "create", "q")
	ok(t, url, "", "queue", "send", "q", "a", "--header", "k=v")
	d := receiveJSON(t, url, "q")[0]
	if d.Headers["k"] != "v" {
		t.Fatalf("headers = %v", d.Headers)
	}
	ok(t, url, "", "queue", "extend", "q", d.Receipt, "--visibility", "1m")
	ok(t, url, "", "queue", "nack", "q", d.Receipt)
	d2 := receiveJSON(t, url, "q")[0]
	if d2.ReceiveCount != 2 {
		t.Fatalf("receive count after nack = %d", d2.ReceiveCount)
	}
	// The first receipt is stale now.
	r := cli(t, url, "", "queue", "ack", "q", d.Receipt)
	if r.code != 1 || !strings.Contains(r.stderr, "receipt") {
		t.Fatalf("ack with a stale receipt: exit %d %q", r.code, r.stderr)
	}
	ok(t, url, "", "queue", "ack", "q", d2.Receipt)
	if got := ok(t, url, "", "queue", "purge", "q"); got != "purged 0 messages\n" {
		t.Fatalf("purge = %q", got)
	}
	ok(t, url, "", "queue", "delete", "q")
	if got := ok(t, url, "", "queue", "list"); got != "" {
		t.Fatalf("list after delete = %q", got)
	}
}

// TestBadInput checks that every command refuses bad input with a one-line
// error and a non-zero exit code, and changes nothing.
func TestBadInput(t *testing.T) {
	url := startServer(t)
	ok(t, url, "", "queue", "create", "q")
	ok(t, url, "", "queue", "send", "q", "keep")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"queue", "create"}, exitUsage, "missing NAME"},
		{[]string{"queue", "create", "bad name"}, exitError, "name"},
		{[]string{"queue", "create", "x", "--visibility", "soon"}, exitUsage, "invalid argument"},
		{[]string{"queue", "create", "x", "--visibility", "13h"}, exitError, "visibility_timeout"},
		{[]string{"queue", "create", "x", "--dlq", "q"}, exitUsage, "--max-receives"},
		{[]string{"queue", "create", "x", "--dlq", "missing", "--max-receives", "2"}, exitError, "missing"},
		{[]string{"queue", "create", "q", "--visibility", "1m"}, exitError, "conflict"},
		{[]string{"queue", "stats", "missing"}, exitError, "not found"},
		{[]string{"queue", "send", "missing", "x"}, exitError, "not found"},
		{[]string{"queue", "send", "q", "x", "--header", "novalue"}, exitUsage, "KEY=VALUE"},
		{[]string{"queue", "send", "q", "x", "--delay", "-1s"}, exitUsage, "negative"},
		{[]string{"queue", "send", "q", "x", "--delay", "1h"}, exitError, "delay"},
		{[]string{"queue", "send", "q", "x", "--lines"}, exitUsage, "--lines"},
		{[]string{"queue", "send", "q", "a", "b"}, exitUsage, "unexpected argument"},
		{[]string{"queue", "receive", "q", "--max", "0"}, exitUsage, "--max"},
		{[]string{"queue", "receive", "q", "--wait", "21s"}, exitError, "wait"},
		{[]string{"queue", "ack", "q"}, exitUsage, "missing RECEIPT"},
		{[]string{"queue", "ack", "q", "garbage"}, exitError, "receipt"},
		{[]string{"queue", "extend", "q", "r"}, exitUsage, "--visibility"},
		{[]string{"queue", "redrive", "q", "--max", "-1"}, exitUsage, "negative"},
		{[]string{"queue", "redrive", "q", "--to", "missing"}, exitError, "not found"},
		{[]string{"queue", "delete", "missing"}, exitError, "not found"},
		{[]string{"queue", "frobnicate"}, exitUsage, "unknown"},
		{[]string{"--server", "http://127.0.0.1:1", "queue", "list"}, exitError, "127.0.0.1:1"},
	}
	for _, c := range cases {
		r := cli(t, url, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) || !strings.HasPrefix(r.stderr, "courier: ") {
			t.Errorf("courier %s: exit %d, stderr %q; want exit %d and an error mentioning %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.want)
		}
	}
	if got := ok(t, url, "", "queue", "list"); got != "q\n" {
		t.Fatalf("bad commands changed the queues: %q", got)
	}
	ds := receiveJSON(t, url, "q", "--max", "10")
	if len(ds) != 1 || *ds[0].Body != "keep" {
		t.Fatalf("bad commands changed the messages: %+v", ds)
	}
}

// TestServe runs `courier serve` in-process on a free port over a data
// directory, uses it, stops it by cancelling its context and checks the
// data survived.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	for round := range 2 {
		ctx, cancel := context.WithCancel(t.Context())
		pr, pw := io.Pipe()
		done := make(chan int, 1)
		var out strings.Builder
		go func() {
			done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, strings.NewReader(""), &out, pw)
			pw.Close()
		}()
		addr := ""
		sc := bufio.NewScanner(pr)
		var logs []string
		for sc.Scan() {
			logs = append(logs, sc.Text())
			if m := regexp.MustCompile(`msg="courier listening" addr=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr = m[1]
				break
			}
		}
		if addr == "" {
			t.Fatalf("serve did not log its address: %v", logs)
		}
		go io.Copy(io.Discard, pr)
		url := "http://" + addr
		if round == 0 {
			ok(t, url, "", "queue", "create", "kept")
			ok(t, url, "", "queue", "send", "kept", "survives restarts")
		} else {
			ds := receiveJSON(t, url, "kept")
			if len(ds) != 1 || *ds[0].Body != "survives restarts" {
				t.Fatalf("after restart received %+v", ds)
			}
		}
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	}
}

func Example_help() {
	var out strings.Builder
	run(context.Background(), []string{"queue", "--help"}, strings.NewReader(""), &out, io.Discard)
	fmt.Println(strings.Contains(out.String(), "courier queue create orders --visibility 30s"))
	// Output: true
}
