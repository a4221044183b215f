package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
)

func TestTopicCommands(t *testing.T) {
	url, b := startServer(t)
	ok(t, url, "", "topic", "create", "orders")
	ok(t, url, "", "queue", "create", "audit")
	if out := ok(t, url, "", "topic", "list"); out != "orders\n" {
		t.Fatalf("list printed %q", out)
	}
	sub := decodeLines[httpapi.SubscriptionInfo](t, ok(t, url, "", "topic", "subscribe", "orders", "to-audit", "--kind", "queue", "--queue", "audit", "--raw"))
	if len(sub) != 1 || sub[0].Kind != "queue" || sub[0].Status != "active" {
		t.Fatalf("subscribe printed %+v", sub)
	}
	ok(t, url, "", "topic", "subscribe", "orders", "eu", "--kind", "durable", "--filter", `{"region": ["eu"]}`, "--visibility", "1m")
	id := strings.TrimSpace(ok(t, url, "", "topic", "publish", "orders", "to eu", "--header", "region=eu"))
	ok(t, url, "from stdin", "topic", "publish", "orders", "--header", "region=us")
	if q, _ := b.Queue("audit").Info(t.Context()); q.Stats.Visible != 2 {
		t.Fatalf("queue subscription holds %+v", q.Stats)
	}
	got := decodeLines[httpapi.Delivery](t, ok(t, url, "", "topic", "receive", "orders", "eu", "--max", "10", "--ack"))
	if len(got) != 1 {
		t.Fatalf("durable receive %+v", got)
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(*got[0].Body), &env); err != nil || env["message_id"] != id || env["body"] != "to eu" {
		t.Fatalf("envelope %s (%v)", *got[0].Body, err)
	}
	r := cliTTY(t, url, "", "topic", "subscriptions", "orders")
	if r.code != 0 || !strings.Contains(r.stdout, "eu") || !strings.Contains(r.stdout, `{"region":["eu"]}`) || !strings.Contains(r.stdout, "to-audit") {
		t.Fatalf("subscriptions: %+v", r)
	}
	if r := cli(t, url, "", "topic", "confirm", "orders", "eu", "token"); r.code != exitError {
		t.Fatalf("confirming a durable subscription: %+v", r)
	}
	if r := cli(t, url, "", "topic", "subscribe", "orders", "eu", "--kind", "queue", "--queue", "audit"); r.code != exitError || !strings.Contains(r.stderr, "conflict") {
		t.Fatalf("changing the kind: %+v", r)
	}
	ok(t, url, "", "topic", "unsubscribe", "orders", "eu")
	if r := cli(t, url, "", "topic", "receive", "orders", "eu"); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("receive after unsubscribe: %+v", r)
	}
	info := decodeLines[httpapi.TopicInfo](t, ok(t, url, "", "topic", "info", "orders"))
	if len(info) != 1 || info[0].Stats.Published != 2 || info[0].Stats.Subscriptions != 1 {
		t.Fatalf("info %+v", info)
	}
	ok(t, url, "", "topic", "delete", "orders")
	if r := cli(t, url, "", "topic", "info", "orders"); r.code != exitError {
		t.Fatalf("info after delete: %+v", r)
	}
}

func TestTopicTail(t *testing.T) {
	url, b := startServer(t)
	tp, err := b.CreateTopic(t.Context(), "events")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--server", url, "topic", "tail", "events", "--raw", "--filter", `{"level": ["error"]}`}, strings.NewReader(""), out, &strings.Builder{})
	}()
	// The tail subscribes once connected: publish until it prints.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), `"body":"disk full"`) {
		if time.Now().After(deadline) {
			t.Fatalf("tail printed %q", out.String())
		}
		tp.Publish(t.Context(), courier.Message{Body: []byte("fine"), Headers: map[string]string{"level": "info"}})
		tp.Publish(t.Context(), courier.Message{Body: []byte("disk full"), Headers: map[string]string{"level": "error"}})
		out.wait(100 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("interrupted tail exited %d", code)
	}
	if strings.Contains(out.String(), "fine") {
		t.Fatalf("the filter let through %q", out.String())
	}
}

func TestTopicBadInput(t *testing.T) {
	url, _ := startServer(t)
	ok(t, url, "", "topic", "create", "t")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"topic", "create", "bad/name"}, "topic name"},
		{[]string{"topic", "create", "x", "--max-size", "3"}, "--max-size"},
		{[]string{"topic", "publish", "t", "x", "--header", "novalue"}, "--header"},
		{[]string{"topic", "publish", "t", "x", "--group", "has space"}, "--group"},
		{[]string{"topic", "subscribe", "t", "s"}, "--kind"},
		{[]string{"topic", "subscribe", "t", "s", "--kind", "pigeon"}, "--kind"},
		{[]string{"topic", "subscribe", "t", "s", "--kind", "queue"}, "--queue"},
		{[]string{"topic", "subscribe", "t", "s", "--kind", "durable", "--filter", "{"}, "--filter"},
		{[]string{"topic", "subscribe", "t", "s", "--kind", "durable", "--filter-scope", "headers"}, "--filter-scope"},
		{[]string{"topic", "subscribe", "t", "s", "--kind", "http", "--endpoint", "ftp://x"}, "--endpoint"},
		{[]string{"topic", "subscribe", "t", "s", "--kind", "http", "--endpoint", "http://x", "--max-attempts", "500"}, "--max-attempts"},
		{[]string{"topic", "subscribe", "t", "s", "--kind", "durable", "--max-receives", "3"}, "--dead-letter-queue"},
		{[]string{"topic", "subscribe", "t", "bad name", "--kind", "durable"}, "subscription name"},
		{[]string{"topic", "receive", "t", "s", "--max", "0"}, "--max"},
		{[]string{"topic", "ack", "t", "s"}, "missing argument RECEIPT"},
		{[]string{"topic", "tail", "t", "--buffer", "0"}, "--buffer"},
		{[]string{"topic", "tail", "t", "--filter", "[]"}, "--filter"},
	} {
		r := cli(t, url, "", c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("courier %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(c.args, " "), r.code, r.stderr, exitUsage, c.want)
		}
	}
}
