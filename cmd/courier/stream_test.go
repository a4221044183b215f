package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/httpapi"
)

func TestStreamCommands(t *testing.T) {
	url, b := startServer(t)
	if out := ok(t, url, "", "stream", "create", "clicks", "--partitions", "2", "--retention", "1h"); !strings.Contains(out, `"partitions":2`) {
		t.Fatalf("create printed %q", out)
	}
	if out := ok(t, url, "", "stream", "list"); out != "clicks\n" {
		t.Fatalf("list printed %q", out)
	}
	// Appends print PARTITION/OFFSET; a key always lands in its partition.
	first := ok(t, url, "", "stream", "append", "clicks", "home", "--key", "user-7")
	second := ok(t, url, "", "stream", "append", "clicks", "cart", "--key", "user-7", "--header", "h=v")
	p := strings.Split(strings.TrimSpace(first), "/")[0]
	if strings.Split(strings.TrimSpace(second), "/")[0] != p || !strings.HasSuffix(second, "/1\n") {
		t.Fatalf("appends printed %q then %q", first, second)
	}
	if out := ok(t, url, "one\ntwo\nthree\n", "stream", "append", "clicks", "--lines", "--partition", "0"); strings.Count(out, "\n") != 3 || !strings.HasPrefix(out, "0/") {
		t.Fatalf("--lines printed %q", out)
	}
	recs := decodeLines[httpapi.StreamRecord](t, ok(t, url, "", "stream", "read", "clicks", "--partition", p, "--from", "earliest"))
	var values []string
	for _, r := range recs {
		if r.Key != nil && *r.Key == "user-7" {
			values = append(values, *r.Value)
		}
	}
	if strings.Join(values, ",") != "home,cart" {
		t.Fatalf("read values %v from %+v", values, recs)
	}
	// A group consumes, then describe and groups show its lag.
	st := b.Stream("clicks")
	c, err := st.Group("g").Join(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Poll(t.Context(), 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := cliTTY(t, url, "", "stream", "describe", "clicks")
	if r.code != 0 || !strings.Contains(r.stdout, "PARTITION") || !strings.Contains(r.stdout, "group g (generation") {
		t.Fatalf("describe: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Resetting a group with a member is refused; after it leaves it works.
	if r := cli(t, url, "", "stream", "reset-offsets", "clicks", "g", "--to", "earliest"); r.code != exitError || !strings.Contains(r.stderr, "members") {
		t.Fatalf("reset with a member: %d %q", r.code, r.stderr)
	}
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out := ok(t, url, "", "stream", "reset-offsets", "clicks", "g", "--to", "earliest", "--partition", "0"); out != `{"offsets":{"0":0}}`+"\n" {
		t.Fatalf("reset printed %q", out)
	}
	groups := decodeLines[courier.GroupInfo](t, ok(t, url, "", "stream", "groups", "clicks"))
	if len(groups) != 1 || groups[0].Name != "g" || groups[0].Committed[0] != 0 {
		t.Fatalf("groups %+v", groups)
	}
	if r := cli(t, url, "", "stream", "delete", "clicks"); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	if r := cli(t, url, "", "stream", "describe", "clicks"); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("describe after delete: %+v", r)
	}
}

func TestStreamTail(t *testing.T) {
	url, b := startServer(t)
	st, err := b.CreateStream(t.Context(), "events", courier.Partitions(3))
	if err != nil {
		t.Fatal(err)
	}
	st.Append(t.Context(), courier.Record{Value: []byte("before"), Partition: 0})
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--server", url, "stream", "tail", "events"}, strings.NewReader(""), out, &strings.Builder{})
	}()
	// The tail starts at the end: append until it prints (it may start
	// reading after the first appends).
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), `"value":"after"`) {
		if time.Now().After(deadline) {
			t.Fatalf("tail printed %q", out.String())
		}
		st.Append(t.Context(), courier.Record{Value: []byte("after"), Partition: 2})
		out.wait(100 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("interrupted tail exited %d", code)
	}
	if strings.Contains(out.String(), "before") {
		t.Fatalf("tail from latest printed an older record: %q", out.String())
	}
}

func TestStreamBadInput(t *testing.T) {
	url, _ := startServer(t)
	ok(t, url, "", "stream", "create", "s")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"stream", "create", "bad/name"}, "stream name"},
		{[]string{"stream", "create", "x", "--partitions", "0"}, "--partitions"},
		{[]string{"stream", "create", "x", "--retention", "-1h"}, "--retention"},
		{[]string{"stream", "create", "x", "--max-record-size", "5"}, "--max-record-size"},
		{[]string{"stream", "append", "s", "v", "--partition", "-3"}, "--partition"},
		{[]string{"stream", "append", "s", "v", "--header", "novalue"}, "--header"},
		{[]string{"stream", "append", "s", "v", "--lines"}, "--lines"},
		{[]string{"stream", "read", "s", "--from", "yesterday"}, "--from"},
		{[]string{"stream", "read", "s", "--max", "0"}, "--max"},
		{[]string{"stream", "read", "s", "--wait", "1h"}, "--wait"},
		{[]string{"stream", "reset-offsets", "s", "g"}, "--to"},
		{[]string{"stream", "reset-offsets", "s", "g", "--to", "soon"}, "--to"},
		{[]string{"stream", "tail", "s", "--from", "nowhere"}, "--from"},
		{[]string{"stream", "describe"}, "missing argument NAME"},
	} {
		r := cli(t, url, "", c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("courier %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(c.args, " "), r.code, r.stderr, exitUsage, c.want)
		}
	}
	if r := cli(t, url, "", "stream", "read", "s", "--partition", "5"); r.code != exitError || !strings.Contains(r.stderr, "partition") {
		t.Errorf("read of a missing partition: %+v", r)
	}
}

// syncBuffer is an io.Writer safe for concurrent use whose readers can
// wait for the next write.
type syncBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	written chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// wait returns at the next write or after d.
func (s *syncBuffer) wait(d time.Duration) {
	s.mu.Lock()
	if s.written == nil {
		s.written = make(chan struct{})
	}
	ch := s.written
	s.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}
