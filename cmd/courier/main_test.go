package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/internal/servertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer serves a mem:// broker on 127.0.0.1 and returns its URL and
// the broker, for checking what the commands did.
func startServer(t *testing.T) (string, *courier.Broker) {
	t.Helper()
	s := servertest.Start(t, "mem://")
	return s.URL, s.Broker
}

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line against the server at url, with stdout and
// stderr that are not terminals.
func cli(t *testing.T, url, stdin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := run(t.Context(), append([]string{"--server", url}, args...), strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// cliTTY is cli with stdout taken for a terminal.
func cliTTY(t *testing.T, url, stdin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	e := newEnv(strings.NewReader(stdin), &out, &errb)
	e.stdoutTTY = true
	code := execute(t.Context(), e, append([]string{"--server", url}, args...))
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

// decodeLines decodes JSON lines into values of type T.
func decodeLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var vs []T
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("a line of output is not JSON: %q", sc.Text())
		}
		vs = append(vs, v)
	}
	return vs
}

func receiveJSON(t *testing.T, url string, args ...string) []httpapi.Delivery {
	t.Helper()
	return decodeLines[httpapi.Delivery](t, ok(t, url, "", append([]string{"queue", "receive"}, args...)...))
}

func stats(t *testing.T, b *courier.Broker, queue string) courier.QueueStats {
	t.Helper()
	info, err := b.Queue(queue).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.Stats
}

// snapshot describes every queue of b: attributes and counts.
func snapshot(t *testing.T, b *courier.Broker) string {
	t.Helper()
	names, err := b.ListQueues(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	for _, n := range names {
		info, err := b.Queue(n).Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st := info.Stats
		fmt.Fprintf(&s, "%s %+v updated=%v visible=%d in_flight=%d delayed=%d\n",
			n, info.Attributes, info.UpdatedAt, st.Visible, st.InFlight, st.Delayed)
	}
	return s.String()
}

var idLine = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestTour runs the README's CLI tour.
func TestTour(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "queue", "create", "orders-dlq")
	var info httpapi.QueueInfo
	out := ok(t, url, "", "queue", "create", "orders", "--visibility", "30s", "--max-receives", "3", "--dlq", "orders-dlq")
	if err := json.Unmarshal([]byte(out), &info); err != nil || *info.Attributes.MaxReceives != 3 {
		t.Fatalf("create printed %q (%v); want the queue as JSON", out, err)
	}
	id := strings.TrimSpace(ok(t, url, "order #1\n", "queue", "send", "orders"))
	if !idLine.MatchString(id) {
		t.Fatalf("send printed %q; want a message ID", id)
	}
	var seq strings.Builder
	for i := 1; i <= 1000; i++ {
		fmt.Fprintln(&seq, i)
	}
	ids := strings.Fields(ok(t, url, seq.String(), "queue", "send", "orders", "--lines"))
	if len(ids) != 1000 || !idLine.MatchString(ids[999]) {
		t.Fatalf("send --lines of 1000 lines printed %d IDs", len(ids))
	}
	ds := receiveJSON(t, url, "orders", "--max", "10", "--wait", "5s", "--ack")
	if len(ds) != 10 || *ds[0].Body != "order #1\n" || ds[0].ID != id || *ds[1].Body != "1" || ds[1].ID != ids[0] {
		t.Fatalf("receive --ack = %+v", ds)
	}
	if got := stats(t, b, "orders"); got.Visible != 991 || got.InFlight != 0 {
		t.Fatalf("after receiving 10 with --ack: %+v", got)
	}
	if err := json.Unmarshal([]byte(ok(t, url, "", "queue", "stats", "orders")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != "orders" || info.Stats.Visible != 991 || *info.Attributes.DeadLetterQueue != "orders-dlq" {
		t.Fatalf("stats = %+v", info)
	}
	if got := ok(t, url, "", "queue", "redrive", "orders-dlq"); got != `{"queue":"orders-dlq","moved":0}`+"\n" {
		t.Fatalf("redrive = %q", got)
	}
	if got := ok(t, url, "", "queue", "list"); got != "orders\norders-dlq\n" {
		t.Fatalf("list = %q", got)
	}
}

// TestServerFromEnv checks that COURIER_SERVER chooses the server and
// --server overrides it.
func TestServerFromEnv(t *testing.T) {
	url, _ := startServer(t)
	t.Setenv("COURIER_SERVER", url)
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"queue", "create", "from-env"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	t.Setenv("COURIER_SERVER", "http://127.0.0.1:1")
	if got := ok(t, url, "", "queue", "list"); got != "from-env\n" {
		t.Fatalf("list with --server = %q", got)
	}
}

func TestSendLines(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "queue", "create", "q")
	const n = 2345
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "message %d\r\n", i) // CRLF input: the CR is not part of the body
	}
	ids := strings.Split(strings.TrimSuffix(ok(t, url, in.String(), "queue", "send", "q", "--lines", "--batch", "7", "--header", "src=lines"), "\n"), "\n")
	if len(ids) != n {
		t.Fatalf("printed %d IDs for %d lines", len(ids), n)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !idLine.MatchString(id) || seen[id] {
			t.Fatalf("ID %q is malformed or repeated", id)
		}
		seen[id] = true
	}
	if got := stats(t, b, "q"); got.Visible != n {
		t.Fatalf("queue holds %d messages; want %d", got.Visible, n)
	}
	byID := map[string]httpapi.Delivery{}
	for len(byID) < n {
		for _, d := range receiveJSON(t, url, "q", "--max", "1000", "--ack") {
			byID[d.ID] = d
		}
	}
	for i, id := range ids {
		d := byID[id]
		if d.Body == nil || *d.Body != fmt.Sprintf("message %d", i) || d.Headers["src"] != "lines" {
			t.Fatalf("ID %s printed for line %d belongs to %+v", id, i+1, d)
		}
	}
}

// TestSendLinesProgress checks that with stderr on a terminal and the IDs
// going elsewhere, send --lines reports its progress on stderr.
func TestSendLinesProgress(t *testing.T) {
	url, _ := startServer(t)
	ok(t, url, "", "queue", "create", "q")
	var out, errb strings.Builder
	e := newEnv(strings.NewReader("a\nb\nc\n"), &out, &errb)
	e.stderrTTY = true
	if code := execute(t.Context(), e, []string{"--server", url, "queue", "send", "q", "--lines", "--batch", "2"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if len(strings.Fields(out.String())) != 3 || !strings.Contains(errb.String(), "courier: sent 3 of 3 lines to q in ") {
		t.Fatalf("stdout %q, stderr %q", out.String(), errb.String())
	}
}

// TestOfflineData checks that client commands work on a data directory
// directly when --server is a file:// URL, and that a data directory in
// use by a server is refused.
func TestOfflineData(t *testing.T) {
	dir := t.TempDir()
	data := "file://" + dir
	ok(t, data, "", "queue", "create", "offline")
	ok(t, data, "", "queue", "send", "offline", "kept on disk")
	s := startServe(t, "--addr", "127.0.0.1:0", "--data", dir)
	if ds := receiveJSON(t, s.url, "offline", "--ack"); len(ds) != 1 || *ds[0].Body != "kept on disk" {
		t.Fatalf("the server received %+v", ds)
	}
	if r := cli(t, data, "", "queue", "list"); r.code != exitError || !strings.Contains(r.stderr, "in use by pid") {
		t.Fatalf("list on the data of a running server: exit %d, %q", r.code, r.stderr)
	}
}

// TestSendLinesFailures checks that a line the server refuses is reported
// and skipped, and that a line too long to be a message stops the command
// after sending the lines before it.
func TestSendLinesFailures(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "queue", "create", "small", "--max-size", "1024")
	big := strings.Repeat("b", 2000)
	r := cli(t, url, "a\n"+big+"\nc\n", "queue", "send", "small", "--lines")
	if r.code != exitError || len(strings.Fields(r.stdout)) != 2 {
		t.Fatalf("exit %d, stdout %q; want exit 1 and 2 IDs", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "courier: line 2: ") || !strings.HasSuffix(r.stderr, "courier: 1 of 3 lines were not sent\n") {
		t.Fatalf("stderr = %q", r.stderr)
	}
	if got := stats(t, b, "small"); got.Visible != 2 {
		t.Fatalf("queue holds %d messages; want 2", got.Visible)
	}

	ok(t, url, "", "queue", "create", "q")
	huge := strings.Repeat("h", 1<<20+1)
	r = cli(t, url, "a\nb\n"+huge+"\nc\n", "queue", "send", "q", "--lines")
	if r.code != exitError || len(strings.Fields(r.stdout)) != 2 || !strings.Contains(r.stderr, "line 3 is over") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1, 2 IDs and line 3 named", r.code, r.stdout, r.stderr)
	}
	if got := stats(t, b, "q"); got.Visible != 2 {
		t.Fatalf("queue holds %d messages; want the 2 before the long line", got.Visible)
	}
}

func TestReceiveJSON(t *testing.T) {
	url, _ := startServer(t)
	ok(t, url, "", "queue", "create", "jobs.fifo", "--fifo", "--content-dedup")
	id := strings.TrimSpace(ok(t, url, "", "queue", "send", "jobs.fifo", "<a & b>", "--group", "g1", "--header", "k=v", "--header", "trace=1=2"))
	if dup := strings.TrimSpace(ok(t, url, "", "queue", "send", "jobs.fifo", "<a & b>", "--group", "g1")); dup != id {
		t.Fatalf("content-based dedup: second send got %s, want the first ID %s", dup, id)
	}
	binary := "\xff\x00\xfe"
	ok(t, url, binary, "queue", "send", "jobs.fifo", "--group", "g2", "--dedup-id", "bin-1")

	// Not a terminal: JSON lines without asking, with <, > and & as they are.
	out := ok(t, url, "", "queue", "receive", "jobs.fifo", "--max", "10", "--visibility", "1m")
	if !strings.Contains(out, `"body":"<a & b>"`) {
		t.Fatalf("receive output %q does not show the body as sent", out)
	}
	ds := decodeLines[httpapi.Delivery](t, out)
	if len(ds) != 2 {
		t.Fatalf("received %d messages; want 2: %s", len(ds), out)
	}
	d := ds[0]
	if d.ID != id || d.Group != "g1" || d.Headers["k"] != "v" || d.Headers["trace"] != "1=2" || d.ReceiveCount != 1 || d.Receipt == "" || d.SentAt.IsZero() {
		t.Fatalf("first delivery = %+v", d)
	}
	raw, err := base64.StdEncoding.DecodeString(*ds[1].BodyBase64)
	if ds[1].Body != nil || err != nil || string(raw) != binary || ds[1].DedupID != "bin-1" {
		t.Fatalf("binary delivery = %+v", ds[1])
	}

	// On a terminal, --json still asks for JSON.
	ok(t, url, "", "queue", "nack", "jobs.fifo", d.Receipt, ds[1].Receipt)
	r := cliTTY(t, url, "", "queue", "receive", "jobs.fifo", "--json", "--ack")
	if got := decodeLines[httpapi.Delivery](t, r.stdout); r.code != 0 || len(got) != 1 || got[0].ID != id || got[0].ReceiveCount != 2 {
		t.Fatalf("receive --json on a terminal: exit %d, %q", r.code, r.stdout)
	}
}

// TestHumanOutput checks what people see on a terminal.
func TestHumanOutput(t *testing.T) {
	url, b := startServer(t)
	steps := []struct {
		args  []string
		stdin string
		want  string // a regular expression, multi-line mode
	}{
		{[]string{"queue", "create", "dlq"}, "", `^queue dlq is ready\n$`},
		{[]string{"queue", "create", "q", "--max-receives", "5", "--dlq", "dlq"}, "", `^queue q is ready\n$`},
		{[]string{"queue", "send", "q", "--header", "b=2", "--header", "a=1"}, "line 1\nred \x1b[31m\n", `^[0-9a-f-]{36}\n$`},
		{[]string{"queue", "stats", "q"}, "", `^queue +q\nvisible +1\nin flight +0\ndelayed +0\noldest message +\S+ old\n(.*\n)*dead-letter queue +dlq after 5 receives\n`},
		{[]string{"queue", "receive", "q", "--ack"}, "", `^message [0-9a-f-]{36}\n  receipt   \S+\n  sent      \S+ \(\S+ ago\)\n  receives  1\n` +
			`  header    a: 1\n  header    b: 2\n  body\n    line 1\n    red \\x1b\[31m\nacked 1 messages\n$`},
		{[]string{"queue", "receive", "q"}, "", `^no messages\n$`},
		{[]string{"queue", "stats", "q"}, "", `^queue +q\nvisible +0\nin flight +0\ndelayed +0\nvisibility timeout +30s\n`},
		{[]string{"queue", "purge", "q"}, "", `^purged 0 messages from q\n$`},
		{[]string{"queue", "redrive", "dlq"}, "", `^moved 0 messages from dlq\n$`},
		{[]string{"queue", "delete", "q"}, "", `^deleted queue q\n$`},
	}
	for _, s := range steps {
		r := cliTTY(t, url, s.stdin, s.args...)
		if r.code != 0 {
			t.Fatalf("courier %s: exit %d: %s", strings.Join(s.args, " "), r.code, r.stderr)
		}
		if !regexp.MustCompile(s.want).MatchString(r.stdout) {
			t.Errorf("courier %s printed\n%s\nwant it to match %s", strings.Join(s.args, " "), r.stdout, s.want)
		}
	}
	if got := snapshot(t, b); !strings.HasPrefix(got, "dlq ") || strings.Count(got, "\n") != 1 {
		t.Fatalf("queues left: %s", got)
	}
}

func TestSettleCommands(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "queue", "create", "q")
	ok(t, url, "", "queue", "send", "q", "a")
	d := receiveJSON(t, url, "q")[0]
	ok(t, url, "", "queue", "extend", "q", d.Receipt, "--visibility", "1m")
	ok(t, url, "", "queue", "nack", "q", d.Receipt)
	d2 := receiveJSON(t, url, "q", "--wait", "1s")[0]
	if d2.ReceiveCount != 2 {
		t.Fatalf("receive count after nack = %d", d2.ReceiveCount)
	}
	// The first receipt is stale now.
	r := cli(t, url, "", "queue", "ack", "q", d.Receipt)
	if r.code != exitError || !strings.Contains(r.stderr, "receipt") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("ack with a stale receipt: exit %d %q", r.code, r.stderr)
	}
	ok(t, url, "", "queue", "nack", "q", d2.Receipt, "--delay", "1h")
	if got := stats(t, b, "q"); got.Delayed+got.InFlight != 1 || got.Visible != 0 {
		t.Fatalf("after nack --delay 1h: %+v", got)
	}
	if got := ok(t, url, "", "queue", "purge", "q"); got != `{"queue":"q","purged":1}`+"\n" {
		t.Fatalf("purge = %q", got)
	}
	ok(t, url, "", "queue", "send", "q", "b")
	d3 := receiveJSON(t, url, "q")[0]
	if out := ok(t, url, "", "queue", "ack", "q", d3.Receipt); out != "" {
		t.Fatalf("ack printed %q when stdout is not a terminal", out)
	}
	if got := stats(t, b, "q"); got.Visible+got.InFlight+got.Delayed != 0 {
		t.Fatalf("after ack: %+v", got)
	}
	ok(t, url, "", "queue", "delete", "q")
	if got := ok(t, url, "", "queue", "list"); got != "" {
		t.Fatalf("list after delete = %q", got)
	}
}

// TestDeadLetterAndRedrive moves a message to the dead-letter queue by
// receiving it too often, then back with redrive.
func TestDeadLetterAndRedrive(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "queue", "create", "work-dlq")
	ok(t, url, "", "queue", "create", "work", "--max-receives", "1", "--dlq", "work-dlq")
	ok(t, url, "", "queue", "create", "retry")
	ok(t, url, "", "queue", "send", "work", "poison")
	ok(t, url, "", "queue", "send", "work", "poison 2")
	for _, d := range receiveJSON(t, url, "work", "--max", "2") {
		ok(t, url, "", "queue", "nack", "work", d.Receipt)
	}
	if ds := receiveJSON(t, url, "work", "--max", "2"); len(ds) != 0 {
		t.Fatalf("the second receive returned %+v; want the messages dead-lettered", ds)
	}
	if got := stats(t, b, "work-dlq"); got.Visible != 2 {
		t.Fatalf("dead-letter queue: %+v", got)
	}
	if got := ok(t, url, "", "queue", "redrive", "work-dlq", "--max", "1", "--rate", "100", "--to", "retry"); got != `{"queue":"work-dlq","moved":1}`+"\n" {
		t.Fatalf("redrive --max 1 --to retry = %q", got)
	}
	if got := ok(t, url, "", "queue", "redrive", "work-dlq"); got != `{"queue":"work-dlq","moved":1}`+"\n" {
		t.Fatalf("redrive = %q", got)
	}
	if w, r := stats(t, b, "work"), stats(t, b, "retry"); w.Visible != 1 || r.Visible != 1 {
		t.Fatalf("after redrive: work %+v, retry %+v", w, r)
	}
}

// TestBadInput checks that every command refuses bad input with a one-line
// error and a non-zero exit code (2 when the input is refused before
// anything is sent), prints nothing on stdout and changes nothing.
func TestBadInput(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "queue", "create", "q")
	ok(t, url, "", "queue", "create", "dlq")
	ok(t, url, "", "queue", "create", "f.fifo", "--fifo")
	ok(t, url, "", "queue", "send", "q", "keep")
	before := snapshot(t, b)
	long := strings.Repeat("x", 129)
	cases := []struct {
		args  []string
		stdin string
		code  int
		want  string
	}{
		{[]string{"frobnicate"}, "", exitUsage, `unknown command "frobnicate"`},
		{[]string{"queue", "frobnicate"}, "", exitUsage, "unknown"},
		{[]string{"queue", "list", "--frob"}, "", exitUsage, "unknown flag: --frob"},
		{[]string{"--server", "bogus", "queue", "list"}, "", exitUsage, "--server"},
		{[]string{"--server", "http://127.0.0.1:1", "queue", "list"}, "", exitError, "cannot reach the courier server at http://127.0.0.1:1"},
		{[]string{"version", "extra"}, "", exitUsage, `unexpected argument "extra"`},
		{[]string{"serve", "extra"}, "", exitUsage, "unexpected argument"},
		{[]string{"serve", "--data", "d", "--backend", "mem://"}, "", exitUsage, "exclude each other"},
		{[]string{"serve", "--addr", "127.0.0.1:notaport", "--backend", "mem://"}, "", exitError, "listen on 127.0.0.1:notaport"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--backend", "nope://"}, "", exitError, "unknown scheme"},

		{[]string{"queue", "create"}, "", exitUsage, "missing argument NAME"},
		{[]string{"queue", "create", "a", "b"}, "", exitUsage, `unexpected argument "b"`},
		{[]string{"queue", "create", "bad name"}, "", exitUsage, `queue name "bad name" has character ' '`},
		{[]string{"queue", "create", "x", "--visibility", "soon"}, "", exitUsage, `invalid argument "soon" for "--visibility"`},
		{[]string{"queue", "create", "x", "--visibility", "13h"}, "", exitUsage, "--visibility: 13h0m0s is out of range"},
		{[]string{"queue", "create", "x", "--visibility", "-1s"}, "", exitUsage, "--visibility: -1s is out of range"},
		{[]string{"queue", "create", "x", "--retention", "1s"}, "", exitUsage, "--retention: 1s is out of range"},
		{[]string{"queue", "create", "x", "--delay", "16m"}, "", exitUsage, "--delay: 16m0s is out of range"},
		{[]string{"queue", "create", "x", "--receive-wait", "21s"}, "", exitUsage, "--receive-wait: 21s is out of range"},
		{[]string{"queue", "create", "x", "--max-size", "10"}, "", exitUsage, "--max-size: 10 is out of range"},
		{[]string{"queue", "create", "x", "--max-size", "ten"}, "", exitUsage, `invalid argument "ten"`},
		{[]string{"queue", "create", "x", "--dlq", "dlq"}, "", exitUsage, "--dlq and --max-receives go together"},
		{[]string{"queue", "create", "x", "--max-receives", "3"}, "", exitUsage, "--dlq and --max-receives go together"},
		{[]string{"queue", "create", "x", "--dlq", "dlq", "--max-receives", "-1"}, "", exitUsage, "--max-receives: -1 is out of range"},
		{[]string{"queue", "create", "x", "--dlq", "x", "--max-receives", "3"}, "", exitUsage, "its own dead-letter queue"},
		{[]string{"queue", "create", "x", "--dlq", "bad name", "--max-receives", "3"}, "", exitUsage, "--dlq: queue name"},
		{[]string{"queue", "create", "x", "--dlq", "missing", "--max-receives", "2"}, "", exitError, `queue "missing" does not exist`},
		{[]string{"queue", "create", "x.fifo", "--fifo", "--dlq", "dlq", "--max-receives", "2"}, "", exitError, "dead_letter_queue"},
		{[]string{"queue", "create", "q", "--visibility", "1m"}, "", exitError, "exists with other attributes: conflict"},

		{[]string{"queue", "list", "extra"}, "", exitUsage, "unexpected argument"},

		{[]string{"queue", "stats"}, "", exitUsage, "missing argument NAME"},
		{[]string{"queue", "stats", "missing"}, "", exitError, `queue "missing": not found`},
		{[]string{"queue", "stats", "bad/name"}, "", exitUsage, "queue name"},
		{[]string{"queue", "delete"}, "", exitUsage, "missing argument NAME"},
		{[]string{"queue", "delete", "missing"}, "", exitError, `queue "missing": not found`},
		{[]string{"queue", "purge"}, "", exitUsage, "missing argument NAME"},
		{[]string{"queue", "purge", "missing"}, "", exitError, `queue "missing": not found`},

		{[]string{"queue", "send"}, "", exitUsage, "missing argument NAME"},
		{[]string{"queue", "send", "q", "a", "b"}, "", exitUsage, `unexpected argument "b"`},
		{[]string{"queue", "send", "q"}, "", exitUsage, "no message body"},
		{[]string{"queue", "send", "missing", "x"}, "", exitError, `queue "missing": not found`},
		{[]string{"queue", "send", "q", "x", "--header", "novalue"}, "", exitUsage, "want KEY=VALUE"},
		{[]string{"queue", "send", "q", "x", "--header", "=v"}, "", exitUsage, "want KEY=VALUE"},
		{[]string{"queue", "send", "q", "x", "--header", "k=1", "--header", "k=2"}, "", exitUsage, "given twice"},
		{[]string{"queue", "send", "q", "x", "--delay", "-1s"}, "", exitUsage, "--delay: -1s is out of range"},
		{[]string{"queue", "send", "q", "x", "--delay", "16m"}, "", exitUsage, "--delay: 16m0s is out of range"},
		{[]string{"queue", "send", "q", "x", "--delay", "x"}, "", exitUsage, `invalid argument "x" for "--delay"`},
		{[]string{"queue", "send", "q", "x", "--group", "a b"}, "", exitUsage, "--group: has character ' '"},
		{[]string{"queue", "send", "q", "x", "--dedup-id", long}, "", exitUsage, "--dedup-id: is 129 characters"},
		{[]string{"queue", "send", "q", "x", "--batch", "5"}, "", exitUsage, "--batch goes with --lines"},
		{[]string{"queue", "send", "q", "x", "--lines"}, "", exitUsage, "give no BODY"},
		{[]string{"queue", "send", "q", "--lines", "--dedup-id", "d"}, "a\n", exitUsage, "--dedup-id would make"},
		{[]string{"queue", "send", "q", "--lines", "--batch", "0"}, "a\n", exitUsage, "--batch: 0 is out of range"},
		{[]string{"queue", "send", "q", "--lines", "--batch", "1001"}, "a\n", exitUsage, "--batch: 1001 is out of range"},
		{[]string{"queue", "send", "f.fifo", "x"}, "", exitError, "every message needs a group"},

		{[]string{"queue", "receive"}, "", exitUsage, "missing argument NAME"},
		{[]string{"queue", "receive", "missing"}, "", exitError, `queue "missing": not found`},
		{[]string{"queue", "receive", "q", "--max", "0"}, "", exitUsage, "--max: 0 is out of range"},
		{[]string{"queue", "receive", "q", "--max", "-1"}, "", exitUsage, "--max: -1 is out of range"},
		{[]string{"queue", "receive", "q", "--max", "1001"}, "", exitUsage, "--max: 1001 is out of range"},
		{[]string{"queue", "receive", "q", "--wait", "21s"}, "", exitUsage, "--wait: 21s is out of range"},
		{[]string{"queue", "receive", "q", "--wait", "-1s"}, "", exitUsage, "--wait: -1s is out of range"},
		{[]string{"queue", "receive", "q", "--wait", "soon"}, "", exitUsage, `invalid argument "soon"`},
		{[]string{"queue", "receive", "q", "--visibility", "13h"}, "", exitUsage, "--visibility: 13h0m0s is out of range"},
		{[]string{"queue", "receive", "q", "--visibility", "0s"}, "", exitUsage, "--visibility: 0s would be"},

		{[]string{"queue", "ack", "q"}, "", exitUsage, "missing argument RECEIPT"},
		{[]string{"queue", "ack", "q", ""}, "", exitUsage, "receipt is empty"},
		{[]string{"queue", "ack", "q", "garbage"}, "", exitError, `receipt "garbage": receipt handle is invalid`},
		{[]string{"queue", "ack", "missing", "garbage"}, "", exitError, `queue "missing": not found`},
		{[]string{"queue", "nack", "q"}, "", exitUsage, "missing argument RECEIPT"},
		{[]string{"queue", "nack", "q", "r", "--delay", "13h"}, "", exitUsage, "--delay: 13h0m0s is out of range"},
		{[]string{"queue", "nack", "q", "r", "--delay", "-1s"}, "", exitUsage, "--delay: -1s is out of range"},
		{[]string{"queue", "nack", "q", "garbage"}, "", exitError, "receipt handle is invalid"},
		{[]string{"queue", "extend", "q", "r"}, "", exitUsage, "--visibility is required"},
		{[]string{"queue", "extend", "q", "--visibility", "1m"}, "", exitUsage, "missing argument RECEIPT"},
		{[]string{"queue", "extend", "q", "r", "--visibility", "13h"}, "", exitUsage, "--visibility: 13h0m0s is out of range"},
		{[]string{"queue", "extend", "q", "garbage", "--visibility", "1m"}, "", exitError, "receipt handle is invalid"},

		{[]string{"queue", "redrive"}, "", exitUsage, "missing argument DLQ"},
		{[]string{"queue", "redrive", "dlq", "--max", "-1"}, "", exitUsage, "--max: -1 is negative"},
		{[]string{"queue", "redrive", "dlq", "--rate", "-1"}, "", exitUsage, "--rate: -1 is negative"},
		{[]string{"queue", "redrive", "dlq", "--to", "x y"}, "", exitUsage, "--to: queue name"},
		{[]string{"queue", "redrive", "dlq", "--to", "missing"}, "", exitError, `queue "missing": not found`},
		{[]string{"queue", "redrive", "missing"}, "", exitError, `queue "missing": not found`},
	}
	for _, c := range cases {
		r := cli(t, url, c.stdin, c.args...)
		cmdline := "courier " + strings.Join(c.args, " ")
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and an error containing %q", cmdline, r.code, r.stderr, c.code, c.want)
		}
		if !strings.HasPrefix(r.stderr, "courier: ") || strings.Count(r.stderr, "\n") != 1 || strings.Count(r.stderr, "courier: ") != 1 {
			t.Errorf("%s: stderr %q is not one line starting with \"courier: \"", cmdline, r.stderr)
		}
		if c.code == exitUsage && !strings.Contains(r.stderr, "--help')") {
			t.Errorf("%s: usage error %q does not point to --help", cmdline, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%s: printed %q on stdout", cmdline, r.stdout)
		}
	}
	if after := snapshot(t, b); after != before {
		t.Fatalf("bad commands changed the server:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if ds := receiveJSON(t, url, "q", "--max", "10"); len(ds) != 1 || *ds[0].Body != "keep" {
		t.Fatalf("bad commands changed the messages: %+v", ds)
	}
}

// TestInterrupted checks that a command whose context ended reports it
// with exit code 130.
func TestInterrupted(t *testing.T) {
	url, _ := startServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errb strings.Builder
	code := run(ctx, []string{"--server", url, "queue", "receive", "q", "--wait", "20s"}, strings.NewReader(""), &out, &errb)
	if code != exitInterrupted || errb.String() != "courier: interrupted\n" {
		t.Fatalf("exit %d, stderr %q; want exit 130 and \"interrupted\"", code, errb.String())
	}
}

// serving is a `courier serve` running in-process.
type serving struct {
	url    string
	logs   []string // stderr lines
	cancel context.CancelFunc
	done   chan int      // the exit code
	rest   chan []string // the log lines after the address
	code   int
	ended  bool
}

// startServe runs `courier serve args...` and returns once it logged its
// address. The test's cleanup stops it if the test did not.
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	s := &serving{cancel: cancel, done: make(chan int, 1), rest: make(chan []string, 1)}
	go func() {
		code := run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), io.Discard, pw)
		pw.Close()
		s.done <- code
	}()
	listening := regexp.MustCompile(`msg="courier listening" addr=(\S+)`)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		s.logs = append(s.logs, sc.Text())
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			s.url = "http://" + m[1]
			break
		}
	}
	go func() {
		var rest []string
		for sc.Scan() {
			rest = append(rest, sc.Text())
		}
		io.Copy(io.Discard, pr)
		s.rest <- rest
	}()
	t.Cleanup(func() { s.stop() })
	if s.url == "" {
		t.Fatalf("serve exited with %d without logging its address: %q", s.stop(), s.logs)
	}
	return s
}

// stop cancels serve's context, waits for it to end and returns its exit
// code.
func (s *serving) stop() int {
	if !s.ended {
		s.cancel()
		s.code = <-s.done
		s.logs = append(s.logs, <-s.rest...)
		s.ended = true
	}
	return s.code
}

// TestServe runs `courier serve` in-process on a free port over a data
// directory, uses it, stops it by cancelling its context and checks that
// the data survived.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, "--addr", "127.0.0.1:0", "--data", dir)
	if !strings.Contains(s.logs[len(s.logs)-1], "data="+dir) {
		t.Fatalf("serve does not log where the data is: %q", s.logs)
	}
	ok(t, s.url, "", "queue", "create", "kept")
	ok(t, s.url, "", "queue", "send", "kept", "survives restarts")
	d := receiveJSON(t, s.url, "kept", "--visibility", "1h")[0]

	// A second server on the same data directory is refused.
	r := cli(t, "", "", "serve", "--addr", "127.0.0.1:0", "--data", dir)
	if r.code != exitError || !strings.Contains(r.stderr, "in use by pid") {
		t.Fatalf("second serve on %s: exit %d, %q", dir, r.code, r.stderr)
	}

	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d: %q", code, s.logs)
	}
	if last := s.logs[len(s.logs)-1]; !strings.Contains(last, "stopped cleanly") {
		t.Fatalf("serve's last log line is %q", last)
	}

	s = startServe(t, "--addr", "127.0.0.1:0", "--data", dir)
	ds := receiveJSON(t, s.url, "kept", "--max", "10")
	if len(ds) != 0 {
		t.Fatalf("a message received with visibility 1h came back after a restart: %+v", ds)
	}
	ok(t, s.url, "", "queue", "nack", "kept", d.Receipt)
	ds = receiveJSON(t, s.url, "kept", "--max", "10", "--ack")
	if len(ds) != 1 || *ds[0].Body != "survives restarts" || ds[0].ReceiveCount != 2 {
		t.Fatalf("after restart received %+v", ds)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d: %q", code, s.logs)
	}
}

// TestServeEndsLongPolls checks that shutdown does not wait for a long
// poll in progress: the poll answers at once with no messages and serve
// exits cleanly.
func TestServeEndsLongPolls(t *testing.T) {
	s := startServe(t, "--addr", "127.0.0.1:0", "--backend", "mem://")
	ok(t, s.url, "", "queue", "create", "idle")
	// With "Expect: 100-continue" the server answers "100 Continue" when
	// the handler reads the body: from then on the receive is being
	// handled, and shutdown waits for it. Without the drain it would wait
	// for the poll's 20 seconds.
	handling := make(chan struct{})
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		Got100Continue: func() { close(handling) },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/queues/idle/receive", strings.NewReader(`{"wait": "20s"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Expect", "100-continue")
	tr := &http.Transport{ExpectContinueTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	type answer struct {
		status int
		body   string
		err    error
	}
	polled := make(chan answer, 1)
	go func() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			polled <- answer{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		polled <- answer{resp.StatusCode, string(body), err}
	}()
	<-handling
	start := time.Now()
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d: %q", code, s.logs)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("shutdown took %v: it waited for the long poll", took)
	}
	a := <-polled
	var resp httpapi.ReceiveResponse
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &resp) != nil || len(resp.Messages) != 0 {
		t.Fatalf("the long poll ended with %d %q (%v); want 200 and no messages", a.status, a.body, a.err)
	}
}

// TestHelp checks that every command has examples in its --help.
func TestHelp(t *testing.T) {
	root := newRootCmd(newEnv(strings.NewReader(""), io.Discard, io.Discard))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// courier bench is documented by its own file's owner.
		if c.Name() == "help" || c.Name() == "bench" {
			return
		}
		var out strings.Builder
		code := run(t.Context(), append(strings.Fields(c.CommandPath())[1:], "--help"), strings.NewReader(""), &out, io.Discard)
		if code != 0 || !strings.Contains(out.String(), "Examples:\n") || c.Example == "" {
			t.Errorf("%s --help: exit %d, no Examples section", c.CommandPath(), code)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestVersion(t *testing.T) {
	var out strings.Builder
	if code := run(t.Context(), []string{"version"}, strings.NewReader(""), &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if v := out.String(); !strings.HasPrefix(v, "courier ") || !strings.Contains(v, "go1.") || strings.Count(v, "\n") != 1 {
		t.Fatalf("version = %q", v)
	}
}

// TestOneLine checks that errors quoting multi-line answers stay on one
// line.
func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb":     "a b",
		"a\r\nb\n": "a b",
		"a  b":     "a  b",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
	if got := printable("ok\tfine\x1b[2J\x7f"); got != `ok	fine\x1b[2J\x7f` {
		t.Errorf("printable = %q", got)
	}
	if got := strconv.Quote(describe(fmt.Errorf("courier: open: %w", courier.ErrClosed))); got != `"open: closed"` {
		t.Errorf("describe = %s", got)
	}
}

func Example_help() {
	var out strings.Builder
	run(context.Background(), []string{"queue", "--help"}, strings.NewReader(""), &out, io.Discard)
	fmt.Println(strings.Contains(out.String(), "courier queue create orders --visibility 30s"))
	// Output: true
}
