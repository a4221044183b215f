package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
)

// TestTopicCommands runs every topic command once through a server, with
// JSON output, and checks what each printed and did.
func TestTopicCommands(t *testing.T) {
	url, b := startServer(t)
	created := decodeLines[httpapi.TopicInfo](t, ok(t, url, "", "topic", "create", "orders", "--max-message-size", "4096"))
	if len(created) != 1 || created[0].Name != "orders" || *created[0].Attributes.MaxMessageSize != 4096 {
		t.Fatalf("create printed %+v", created)
	}
	ok(t, url, "", "topic", "create", "orders", "--max-message-size", "4096") // idempotent
	ok(t, url, "", "queue", "create", "audit")
	ok(t, url, "", "queue", "create", "eu-dlq")
	if out := ok(t, url, "", "topic", "list"); out != "orders\n" {
		t.Fatalf("list printed %q", out)
	}
	sub := decodeLines[httpapi.SubscriptionInfo](t, ok(t, url, "", "topic", "subscribe", "orders", "to-audit", "--kind", "queue", "--queue", "audit", "--raw"))
	if len(sub) != 1 || sub[0].Kind != "queue" || sub[0].Queue != "audit" || !sub[0].Raw || sub[0].Status != "active" {
		t.Fatalf("subscribe --kind queue printed %+v", sub)
	}
	sub = decodeLines[httpapi.SubscriptionInfo](t, ok(t, url, "", "topic", "subscribe", "orders", "eu", "--kind", "durable",
		"--filter", `{"region": ["eu"]}`, "--visibility-timeout", "1m", "--max-receives", "2", "--dead-letter-queue", "eu-dlq"))
	if len(sub) != 1 || sub[0].Kind != "durable" || string(sub[0].FilterPolicy) != `{"region":["eu"]}` || sub[0].FilterScope != "attributes" {
		t.Fatalf("subscribe --kind durable printed %+v", sub)
	}
	if a := sub[0].Attributes; a == nil || time.Duration(*a.VisibilityTimeout) != time.Minute || *a.MaxReceives != 2 || *a.DeadLetterQueue != "eu-dlq" {
		t.Fatalf("durable subscription attributes %+v", sub[0].Attributes)
	}

	id := strings.TrimSpace(ok(t, url, "", "topic", "publish", "orders", "to eu", "--header", "region=eu"))
	if !idLine.MatchString(id) {
		t.Fatalf("publish printed %q; want a message ID", id)
	}
	ok(t, url, "from stdin", "topic", "publish", "orders", "--header", "region=us")
	ds := receiveJSON(t, url, "audit", "--max", "10", "--ack")
	if len(ds) != 2 || *ds[0].Body != "to eu" || *ds[1].Body != "from stdin" || ds[0].Headers["region"] != "eu" {
		t.Fatalf("the queue subscription delivered %+v", ds)
	}

	got := decodeLines[httpapi.Delivery](t, ok(t, url, "", "topic", "receive", "orders", "eu", "--max", "10", "--wait", "1s", "--visibility", "30s"))
	if len(got) != 1 || got[0].ReceiveCount != 1 {
		t.Fatalf("durable receive %+v", got)
	}
	var envelope map[string]any
	if err := json.Unmarshal([]byte(*got[0].Body), &envelope); err != nil || envelope["message_id"] != id || envelope["body"] != "to eu" || envelope["topic"] != "orders" {
		t.Fatalf("envelope %s (%v)", *got[0].Body, err)
	}
	if out := ok(t, url, "", "topic", "ack", "orders", "eu", got[0].Receipt); out != "" {
		t.Fatalf("ack printed %q when stdout is not a terminal", out)
	}
	if r := cli(t, url, "", "topic", "ack", "orders", "eu", got[0].Receipt+"x"); r.code != exitError || !strings.Contains(r.stderr, "receipt") {
		t.Fatalf("ack with a bad receipt: %+v", r)
	}

	subs := decodeLines[httpapi.SubscriptionInfo](t, ok(t, url, "", "topic", "subscriptions", "orders"))
	if len(subs) != 2 || subs[0].Name != "eu" || subs[1].Name != "to-audit" {
		t.Fatalf("subscriptions printed %+v", subs)
	}
	if s := subs[0].Stats; s.Delivered != 1 || s.FilteredOut != 1 || s.Backlog.Visible+s.Backlog.InFlight != 0 {
		t.Fatalf("eu's counters %+v; want 1 delivered, 1 filtered out, nothing waiting", s)
	}
	if s := subs[1].Stats; s.Delivered != 2 || s.FilteredOut != 0 {
		t.Fatalf("to-audit's counters %+v; want 2 delivered", s)
	}

	if r := cli(t, url, "", "topic", "confirm", "orders", "eu", "token"); r.code != exitError {
		t.Fatalf("confirming a durable subscription: %+v", r)
	}
	if r := cli(t, url, "", "topic", "subscribe", "orders", "eu", "--kind", "queue", "--queue", "audit"); r.code != exitError || !strings.Contains(r.stderr, "conflict") {
		t.Fatalf("changing the kind: %+v", r)
	}
	sub = decodeLines[httpapi.SubscriptionInfo](t, ok(t, url, "", "topic", "subscribe", "orders", "eu", "--kind", "durable", "--filter", `{"region":["us"]}`, "--filter-scope", "attributes"))
	if len(sub) != 1 || string(sub[0].FilterPolicy) != `{"region":["us"]}` {
		t.Fatalf("updating the filter printed %+v", sub)
	}
	if out := ok(t, url, "", "topic", "unsubscribe", "orders", "eu"); out != "" {
		t.Fatalf("unsubscribe printed %q when stdout is not a terminal", out)
	}
	if r := cli(t, url, "", "topic", "receive", "orders", "eu"); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("receive after unsubscribe: %+v", r)
	}
	info := decodeLines[httpapi.TopicInfo](t, ok(t, url, "", "topic", "info", "orders"))
	if len(info) != 1 || info[0].Stats.Published != 2 || info[0].Stats.Subscriptions != 1 {
		t.Fatalf("info %+v", info)
	}
	ok(t, url, "", "topic", "delete", "orders")
	if r := cli(t, url, "", "topic", "info", "orders"); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("info after delete: %+v", r)
	}
	if names, _ := b.ListQueues(t.Context()); !slices.Equal(names, []string{"audit", "eu-dlq"}) {
		t.Fatalf("queues after deleting the topic: %v; want the subscribed queue kept", names)
	}
}

// TestTopicHumanOutput checks what people see on a terminal.
func TestTopicHumanOutput(t *testing.T) {
	url, _ := startServer(t)
	ok(t, url, "", "queue", "create", "audit")
	steps := []struct {
		args  []string
		stdin string
		want  string // a regular expression, multi-line mode
	}{
		{[]string{"topic", "create", "orders"}, "", `^topic orders is ready\n$`},
		{[]string{"topic", "subscriptions", "orders"}, "", `^topic orders has no subscriptions\n$`},
		{[]string{"topic", "subscribe", "orders", "eu", "--kind", "durable", "--filter", `{"region":["eu"]}`}, "", `^subscription eu of orders is active\n$`},
		{[]string{"topic", "subscribe", "orders", "all", "--kind", "queue", "--queue", "audit", "--raw"}, "", `^subscription all of orders is active\n$`},
		{[]string{"topic", "publish", "orders", "--header", "region=eu"}, "order 1\n", `^[0-9a-f-]{36}\n$`},
		{[]string{"topic", "publish", "orders", "order 2", "--header", "region=us"}, "", `^[0-9a-f-]{36}\n$`},
		{[]string{"topic", "subscriptions", "orders"}, "", `^NAME +KIND +TARGET +STATUS +DELIVERED +FILTERED OUT +BACKLOG +FILTER\n` +
			`all +queue +audit +active +2 +0 +2 +-\n` +
			`eu +durable +- +active +1 +1 +1 +attributes \{"region":\["eu"\]\}\n$`},
		{[]string{"topic", "info", "orders"}, "", `^topic +orders\nfifo +false\ncontent-based dedup +false\nmax message size +1048576 bytes\n` +
			`published +2 \(since the server started\)\nsubscriptions +2\ntails +0\ncreated +\S+\n$`},
		{[]string{"topic", "receive", "orders", "eu", "--ack"}, "", `^message [0-9a-f-]{36}\n  receipt   \S+\n  sent      \S+ \(\S+ ago\)\n  receives  1\n` +
			`  header    region: eu\n  body      \{.*"body":"order 1\\n".*\}\nacked 1 messages\n$`},
		{[]string{"topic", "receive", "orders", "eu"}, "", `^no messages\n$`},
		{[]string{"topic", "unsubscribe", "orders", "eu"}, "", `^deleted subscription eu of orders\n$`},
		{[]string{"topic", "delete", "orders"}, "", `^deleted topic orders\n$`},
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
}

// TestTopicPublishLines publishes standard input line by line, and checks
// that a refused line is reported and skipped.
func TestTopicPublishLines(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "topic", "create", "t")
	ok(t, url, "", "topic", "subscribe", "t", "all", "--kind", "durable", "--raw")
	const n = 250
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "line %d\n", i)
	}
	ids := strings.Fields(ok(t, url, in.String(), "topic", "publish", "t", "--lines", "--batch", "7", "--header", "src=lines"))
	if len(ids) != n || slices.ContainsFunc(ids, func(id string) bool { return !idLine.MatchString(id) }) {
		t.Fatalf("printed %d IDs for %d lines: %q...", len(ids), n, ids[:min(3, len(ids))])
	}
	if slices.Sort(ids); len(slices.Compact(ids)) != n {
		t.Fatal("an ID was printed twice")
	}
	bodies := map[string]bool{}
	for len(bodies) < n {
		ds := decodeLines[httpapi.Delivery](t, ok(t, url, "", "topic", "receive", "t", "all", "--max", "1000", "--wait", "1s", "--ack"))
		if len(ds) == 0 {
			t.Fatalf("the subscription holds %d of %d lines", len(bodies), n)
		}
		for _, d := range ds {
			if d.Headers["src"] != "lines" || bodies[*d.Body] {
				t.Fatalf("delivery %+v: header missing or body repeated", d)
			}
			bodies[*d.Body] = true
		}
	}
	if !bodies["line 0"] || !bodies[fmt.Sprintf("line %d", n-1)] {
		t.Fatalf("bodies %v", bodies)
	}

	ok(t, url, "", "topic", "create", "small", "--max-message-size", "1024")
	r := cli(t, url, "a\n"+strings.Repeat("b", 2000)+"\nc\n", "topic", "publish", "small", "--lines")
	if r.code != exitError || len(strings.Fields(r.stdout)) != 2 || !strings.Contains(r.stderr, "courier: line 2: ") ||
		!strings.HasSuffix(r.stderr, "courier: 1 of 3 lines were not sent\n") {
		t.Fatalf("a line over the topic's size: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if info, _ := b.Topic("small").Info(t.Context()); info.Stats.Published != 2 {
		t.Fatalf("published %d; want the 2 lines that fit", info.Stats.Published)
	}
}

// TestTopicFIFO creates a FIFO topic with content-based dedup.
func TestTopicFIFO(t *testing.T) {
	url, _ := startServer(t)
	info := decodeLines[httpapi.TopicInfo](t, ok(t, url, "", "topic", "create", "pay.fifo", "--fifo", "--content-based-dedup"))
	if a := info[0].Attributes; !*a.FIFO || !*a.ContentBasedDedup {
		t.Fatalf("create printed %+v", info)
	}
	if r := cli(t, url, "", "topic", "publish", "pay.fifo", "x"); r.code != exitError || !strings.Contains(r.stderr, "group") {
		t.Fatalf("publish without a group: %+v", r)
	}
	first := ok(t, url, "", "topic", "publish", "pay.fifo", "5 EUR", "--group", "customer-7")
	if again := ok(t, url, "", "topic", "publish", "pay.fifo", "5 EUR", "--group", "customer-7"); again != first {
		t.Fatalf("the same body got IDs %q and %q; want the first again", first, again)
	}
	if r := cli(t, url, "", "topic", "subscribe", "pay.fifo", "hook", "--kind", "http", "--endpoint", "http://127.0.0.1:1/"); r.code != exitError {
		t.Fatalf("an http subscription of a FIFO topic: %+v", r)
	}
	if r := cli(t, url, "", "topic", "create", "pay.fifo"); r.code != exitError || !strings.Contains(r.stderr, "conflict") {
		t.Fatalf("creating it again as a standard topic: %+v", r)
	}
}

// TestTopicHTTPSubscription subscribes an endpoint, confirms it with the
// token it received, and checks that it then gets the messages.
func TestTopicHTTPSubscription(t *testing.T) {
	type post struct {
		kind string
		body []byte
	}
	posts := make(chan post, 16)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case posts <- post{r.Header.Get("X-Courier-Message-Type"), body}:
		default:
		}
	}))
	defer endpoint.Close()
	next := func() post {
		t.Helper()
		select {
		case p := <-posts:
			return p
		case <-time.After(30 * time.Second):
			t.Fatal("the endpoint got nothing")
			return post{}
		}
	}

	url, _ := startServer(t)
	ok(t, url, "", "topic", "create", "orders")
	ok(t, url, "", "queue", "create", "hook-dlq")
	r := cliTTY(t, url, "", "topic", "subscribe", "orders", "hook", "--kind", "http", "--endpoint", endpoint.URL,
		"--max-attempts", "3", "--min-delay", "10ms", "--max-delay", "100ms", "--max-per-second", "100", "--dead-letter-queue", "hook-dlq")
	want := "subscription hook of orders is pending confirmation: " + endpoint.URL + " was sent a token; confirm with 'courier topic confirm orders hook TOKEN'\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("subscribe --kind http: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	sub := decodeLines[httpapi.SubscriptionInfo](t, ok(t, url, "", "topic", "subscriptions", "orders"))
	if p := sub[0].Push; sub[0].Status != "pending_confirmation" || p == nil || p.MaxAttempts != 3 || p.MaxPerSecond != 100 || p.DeadLetterQueue != "hook-dlq" || p.Concurrency != 4 {
		t.Fatalf("subscription %+v, push %+v", sub[0], sub[0].Push)
	}
	confirmation := next()
	var c struct{ Token string }
	if err := json.Unmarshal(confirmation.body, &c); confirmation.kind != "SubscriptionConfirmation" || err != nil || c.Token == "" {
		t.Fatalf("the endpoint got %s %s", confirmation.kind, confirmation.body)
	}
	if r := cli(t, url, "", "topic", "confirm", "orders", "hook", "wrong-"+c.Token); r.code != exitError {
		t.Fatalf("confirm with a wrong token: %+v", r)
	}
	if r := cliTTY(t, url, "", "topic", "confirm", "orders", "hook", c.Token); r.code != 0 || r.stdout != "subscription hook of orders is active\n" {
		t.Fatalf("confirm: %+v", r)
	}
	ok(t, url, "", "topic", "publish", "orders", "pushed")
	if n := next(); n.kind != "Notification" || !strings.Contains(string(n.body), `"body":"pushed"`) {
		t.Fatalf("the endpoint got %s %s", n.kind, n.body)
	}
}

// TestTopicTail tails a topic with a filter, and checks that an interrupt
// ends it with exit code 0 and that deleting the topic ends it with an
// error.
func TestTopicTail(t *testing.T) {
	url, b := startServer(t)
	tp, err := b.CreateTopic(t.Context(), "events")
	if err != nil {
		t.Fatal(err)
	}
	tail := func(ctx context.Context, stdout, stderr io.Writer, args ...string) chan int {
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, append([]string{"--server", url, "topic", "tail", "events"}, args...), strings.NewReader(""), stdout, stderr)
		}()
		return done
	}
	// publishUntil publishes msg until out shows want: a tail sees only
	// what is published after it subscribed.
	publishUntil := func(out *syncBuffer, want string, msgs ...courier.Message) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("tail printed %q", out.String())
			}
			for _, m := range msgs {
				if _, err := tp.Publish(t.Context(), m); err != nil {
					t.Fatal(err)
				}
			}
			out.wait(100 * time.Millisecond)
		}
	}
	info := courier.Message{Body: []byte("fine"), Headers: map[string]string{"level": "info"}}
	alert := courier.Message{Body: []byte("disk full"), Headers: map[string]string{"level": "error"}}

	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := tail(ctx, out, io.Discard, "--raw", "--filter", `{"level": ["error"]}`)
	publishUntil(out, `"body":"disk full"`, info, alert)
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("interrupted tail exited %d", code)
	}
	for _, d := range decodeLines[httpapi.Delivery](t, out.String()) {
		if *d.Body != "disk full" || d.Headers["level"] != "error" {
			t.Fatalf("the filter let through %+v", d)
		}
	}

	// Without --raw the body is the envelope; deleting the topic ends the tail.
	out, errb := &syncBuffer{}, &syncBuffer{}
	done = tail(t.Context(), out, errb)
	publishUntil(out, `\"body\":\"fine\"`, info)
	if err := tp.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != exitError || !strings.HasPrefix(errb.String(), "courier: ") || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("tail of a deleted topic: exit %d, stderr %q", code, errb.String())
	}
	ds := decodeLines[httpapi.Delivery](t, out.String())
	var envelope map[string]any
	if err := json.Unmarshal([]byte(*ds[0].Body), &envelope); err != nil || envelope["topic"] != "events" || envelope["body"] != "fine" {
		t.Fatalf("envelope %s (%v)", *ds[0].Body, err)
	}
}

// TestTopicTailHuman checks a tailed message's line on a terminal.
func TestTopicTailHuman(t *testing.T) {
	var b strings.Builder
	sent := time.Date(2026, 11, 25, 4, 5, 6, 789e6, time.Local)
	printTailMessage(&b, courier.TailMessage{ID: "m-1", SentAt: sent, Headers: map[string]string{"b": "2", "a": "1"}, Body: []byte("two\nlines\x1b[2J")})
	printTailMessage(&b, courier.TailMessage{ID: "m-2", SentAt: sent, Body: []byte{0xff}})
	want := "2026-11-25T04:05:06.789" + sent.Format("Z07:00") + `  m-1  a=1  b=2  two\x0alines\x1b[2J` + "\n" +
		"2026-11-25T04:05:06.789" + sent.Format("Z07:00") + "  m-2  (1 bytes, not UTF-8: see it with --json, as body_base64)\n"
	if b.String() != want {
		t.Fatalf("printed\n%s\nwant\n%s", b.String(), want)
	}
}

// topicSnapshot describes every topic of b with its subscriptions.
func topicSnapshot(t *testing.T, b *courier.Broker) string {
	t.Helper()
	names, err := b.ListTopics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	for _, n := range names {
		info, err := b.Topic(n).Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&s, "%s %+v %+v\n", n, info.Attributes, info.Stats)
		subs, err := b.Topic(n).Subscriptions(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range subs {
			fmt.Fprintf(&s, "  %s %+v %s %+v\n", sub.Name, sub.Subscription, sub.Status, sub.Stats)
		}
	}
	return s.String()
}

// TestTopicBadInput checks that every topic command refuses bad input
// with a one-line error naming the flag or argument, exit code 2 when it
// is refused before anything is sent (1 when the server refuses it),
// nothing on stdout, and no change on the server.
func TestTopicBadInput(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "topic", "create", "t")
	ok(t, url, "", "topic", "create", "f.fifo", "--fifo")
	ok(t, url, "", "queue", "create", "q")
	ok(t, url, "", "topic", "subscribe", "t", "s", "--kind", "durable")
	before, queues := topicSnapshot(t, b), snapshot(t, b)
	long := strings.Repeat("x", 129)
	cases := []struct {
		args  []string
		stdin string
		code  int
		want  string
	}{
		{[]string{"topic", "frobnicate"}, "", exitUsage, `unknown command "frobnicate"`},
		{[]string{"topic", "create"}, "", exitUsage, "missing argument NAME"},
		{[]string{"topic", "create", "bad/name"}, "", exitUsage, `topic name "bad/name" has character '/'`},
		{[]string{"topic", "create", "x", "--max-message-size", "3"}, "", exitUsage, "--max-message-size: 3 is out of range"},
		{[]string{"topic", "create", "x", "--max-message-size", "big"}, "", exitUsage, `invalid argument "big" for "--max-message-size"`},
		{[]string{"topic", "create", "x", "--max-size", "2048"}, "", exitUsage, "unknown flag: --max-size"},
		{[]string{"topic", "create", "t", "--fifo"}, "", exitError, "conflict"},
		{[]string{"topic", "info", "missing"}, "", exitError, `topic "missing": not found`},
		{[]string{"topic", "delete", "missing"}, "", exitError, `topic "missing": not found`},
		{[]string{"topic", "list", "extra"}, "", exitUsage, `unexpected argument "extra"`},

		{[]string{"topic", "publish"}, "", exitUsage, "missing argument NAME"},
		{[]string{"topic", "publish", "t"}, "", exitUsage, "no message body"},
		{[]string{"topic", "publish", "t", "a", "b"}, "", exitUsage, `unexpected argument "b"`},
		{[]string{"topic", "publish", "bad name", "x"}, "", exitUsage, "topic name"},
		{[]string{"topic", "publish", "t", "x", "--header", "novalue"}, "", exitUsage, `--header "novalue": want KEY=VALUE`},
		{[]string{"topic", "publish", "t", "x", "--header", "k=1", "--header", "k=2"}, "", exitUsage, "given twice"},
		{[]string{"topic", "publish", "t", "x", "--group", "has space"}, "", exitUsage, "--group: has character ' '"},
		{[]string{"topic", "publish", "t", "x", "--dedup-id", long}, "", exitUsage, "--dedup-id: is 129 characters"},
		{[]string{"topic", "publish", "t", "x", "--delay", "1s"}, "", exitUsage, "unknown flag: --delay"},
		{[]string{"topic", "publish", "t", "x", "--lines"}, "", exitUsage, "give no BODY"},
		{[]string{"topic", "publish", "t", "--lines", "--dedup-id", "d"}, "a\n", exitUsage, "--dedup-id would make"},
		{[]string{"topic", "publish", "t", "--lines", "--batch", "1001"}, "a\n", exitUsage, "--batch: 1001 is out of range"},
		{[]string{"topic", "publish", "t", "x", "--batch", "5"}, "", exitUsage, "--batch goes with --lines"},
		{[]string{"topic", "publish", "missing", "x"}, "", exitError, `topic "missing": not found`},
		{[]string{"topic", "publish", "f.fifo", "x"}, "", exitError, "group"},

		{[]string{"topic", "subscribe", "t"}, "", exitUsage, "missing argument NAME"},
		{[]string{"topic", "subscribe", "t", "bad name", "--kind", "durable"}, "", exitUsage, `subscription name "bad name"`},
		{[]string{"topic", "subscribe", "t", "s2"}, "", exitUsage, "--kind: required"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "pigeon"}, "", exitUsage, `--kind: "pigeon" is not a subscription kind`},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "queue"}, "", exitUsage, "--queue: queue name is empty"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "queue", "--queue", "a b"}, "", exitUsage, "--queue: queue name"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "queue", "--queue", "missing"}, "", exitError, "missing"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--filter", "{"}, "", exitUsage, "--filter: "},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--filter-scope", "headers"}, "", exitUsage, `--filter-scope: "headers" is not a scope`},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--max-receives", "3"}, "", exitUsage, "--max-receives and --dead-letter-queue go together"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--dead-letter-queue", "q"}, "", exitUsage, "--max-receives and --dead-letter-queue go together"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--dead-letter-queue", "q", "--max-receives", "0"}, "", exitUsage, "--max-receives: required when dead_letter_queue is set"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--visibility-timeout", "13h"}, "", exitUsage, "--visibility-timeout: 13h0m0s is out of range"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--visibility", "1m"}, "", exitUsage, "unknown flag: --visibility"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--endpoint", "http://x"}, "", exitUsage, "--endpoint applies to --kind http, not to --kind durable"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "durable", "--max-attempts", "3"}, "", exitUsage, "--max-attempts applies to --kind http"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "queue", "--queue", "q", "--dead-letter-queue", "q"}, "", exitUsage, "--dead-letter-queue applies to --kind durable and http, not to --kind queue"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "http", "--endpoint", "http://x", "--visibility-timeout", "1m"}, "", exitUsage, "--visibility-timeout applies to --kind durable"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "http"}, "", exitUsage, "--endpoint: required"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "http", "--endpoint", "ftp://x"}, "", exitUsage, `--endpoint: scheme "ftp"`},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "http", "--endpoint", "http://x", "--max-attempts", "500"}, "", exitUsage, "--max-attempts: 500 is out of range"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "http", "--endpoint", "http://x", "--min-delay", "2h"}, "", exitUsage, "--min-delay: 2h0m0s is out of range"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "http", "--endpoint", "http://x", "--max-per-second", "-1"}, "", exitUsage, "--max-per-second: -1 is out of range"},
		{[]string{"topic", "subscribe", "t", "s2", "--kind", "http", "--endpoint", "http://x", "--dead-letter-queue", "a b"}, "", exitUsage, "--dead-letter-queue: queue name"},
		{[]string{"topic", "subscribe", "t", "s", "--kind", "queue", "--queue", "q"}, "", exitError, "conflict"},
		{[]string{"topic", "subscribe", "missing", "s", "--kind", "durable"}, "", exitError, "not found"},

		{[]string{"topic", "subscriptions"}, "", exitUsage, "missing argument TOPIC"},
		{[]string{"topic", "subscriptions", "missing"}, "", exitError, `topic "missing": not found`},
		{[]string{"topic", "unsubscribe", "t"}, "", exitUsage, "missing argument NAME"},
		{[]string{"topic", "unsubscribe", "t", "missing"}, "", exitError, "not found"},
		{[]string{"topic", "confirm", "t", "s"}, "", exitUsage, "missing argument TOKEN"},
		{[]string{"topic", "confirm", "t", "s", long}, "", exitUsage, "token: is 129 characters"},
		{[]string{"topic", "confirm", "t", "s", "token"}, "", exitError, ""},

		{[]string{"topic", "receive", "t"}, "", exitUsage, "missing argument NAME"},
		{[]string{"topic", "receive", "t", "s", "--max", "0"}, "", exitUsage, "--max: 0 is out of range"},
		{[]string{"topic", "receive", "t", "s", "--wait", "21s"}, "", exitUsage, "--wait: 21s is out of range"},
		{[]string{"topic", "receive", "t", "s", "--visibility", "0s"}, "", exitUsage, "--visibility: 0s would be"},
		{[]string{"topic", "receive", "t", "missing"}, "", exitError, "not found"},
		{[]string{"topic", "ack", "t", "s"}, "", exitUsage, "missing argument RECEIPT"},
		{[]string{"topic", "ack", "t", "s", ""}, "", exitUsage, "receipt is empty"},
		{[]string{"topic", "ack", "t", "s", "garbage"}, "", exitError, "receipt"},

		{[]string{"topic", "tail"}, "", exitUsage, "missing argument NAME"},
		{[]string{"topic", "tail", "t", "--buffer", "0"}, "", exitUsage, "--buffer: 0 is out of range"},
		{[]string{"topic", "tail", "t", "--buffer", "70000"}, "", exitUsage, "--buffer: 70000 is out of range"},
		{[]string{"topic", "tail", "t", "--filter", "[]"}, "", exitUsage, "--filter: "},
		{[]string{"topic", "tail", "t", "--filter-scope", "x"}, "", exitUsage, "--filter-scope: "},
		{[]string{"topic", "tail", "missing"}, "", exitError, "not found"},
	}
	for _, c := range cases {
		r := cli(t, url, c.stdin, c.args...)
		cmdline := "courier " + strings.Join(c.args, " ")
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and an error containing %q", cmdline, r.code, r.stderr, c.code, c.want)
		}
		if !strings.HasPrefix(r.stderr, "courier: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: stderr %q is not one line starting with \"courier: \"", cmdline, r.stderr)
		}
		if c.code == exitUsage && !strings.Contains(r.stderr, "--help')") {
			t.Errorf("%s: usage error %q does not point to --help", cmdline, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%s: printed %q on stdout", cmdline, r.stdout)
		}
	}
	if after := topicSnapshot(t, b); after != before {
		t.Errorf("bad commands changed the topics:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if after := snapshot(t, b); after != queues {
		t.Errorf("bad commands changed the queues:\nbefore:\n%s\nafter:\n%s", queues, after)
	}
}

// TestBenchTopic runs a tiny `courier bench topic` against courier alone
// and checks its JSON line.
func TestBenchTopic(t *testing.T) {
	var out, errb strings.Builder
	code := run(t.Context(), []string{"bench", "topic", "--n", "50", "--subscribers", "2", "--producers", "4", "--latency-n", "-1",
		"--peers", "courier", "--dir", t.TempDir(), "--json"}, strings.NewReader(""), &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r struct {
		System                 string  `json:"system"`
		Publish                float64 `json:"publish_msgs_per_sec"`
		QueuePublish           float64 `json:"queue_publish_msgs_per_sec"`
		Deliveries             float64 `json:"deliveries_per_sec"`
		Producers, Subscribers int
	}
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil || r.System != "courier" || r.Publish <= 0 || r.QueuePublish <= 0 ||
		r.Deliveries <= 0 || r.Producers != 4 || r.Subscribers != 2 {
		t.Fatalf("bench topic printed %q (%v)", out.String(), err)
	}
	if r := cli(t, "", "", "bench", "topic", "--peers", "courier-mem"); r.code != exitError || !strings.Contains(r.stderr, `"courier-mem": the topic benchmark runs`) {
		t.Fatalf("bench topic with a peer it does not run: %+v", r)
	}
}
