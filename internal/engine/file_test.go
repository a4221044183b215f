package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/wal"
	"github.com/courier-io/courier/internal/wal/vfs"
)

func openTestDir(t *testing.T, fs vfs.FS, segment int64) *fileConn {
	t.Helper()
	cfg := fileConfig{dir: "/data", checkpointBytes: segment}
	cfg.opts.FS, cfg.opts.SegmentSize = fs, segment
	c, err := openDir(cfg, driver.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStorageFailureStopsWrites makes the disk fail a sync: the send in
// progress fails with ErrStorage, every later change is refused without
// touching the disk again, and stats stay readable.
func TestStorageFailureStopsWrites(t *testing.T) {
	rule, err := vfs.ParseRule("sync 4+ EIO")
	if err != nil {
		t.Fatal(err)
	}
	efs := vfs.NewErrorFS(vfs.NewStrictMem(), rule)
	c := openTestDir(t, efs, 1<<20)
	defer c.Close()
	ctx := context.Background()
	if _, err := c.CreateQueue(ctx, "q", driver.DefaultQueueAttributes()); err != nil { // syncs 1 and 2 (meta and default bus at open), 3
		t.Fatal(err)
	}
	_, err = c.Send(ctx, "q", []driver.Message{{Body: []byte("lost")}})
	if !errors.Is(err, driver.ErrStorage) {
		t.Fatalf("send through a failing sync = %v; want ErrStorage", err)
	}
	syncs := efs.Count(vfs.OpSync)
	if _, err := c.Send(ctx, "q", []driver.Message{{Body: []byte("x")}}); !errors.Is(err, driver.ErrStorage) {
		t.Fatalf("send after the failure = %v; want ErrStorage", err)
	}
	if _, err := c.CreateQueue(ctx, "other", driver.DefaultQueueAttributes()); !errors.Is(err, driver.ErrStorage) {
		t.Fatalf("create after the failure = %v; want ErrStorage", err)
	}
	if n := efs.Count(vfs.OpSync); n != syncs {
		t.Fatalf("%d more syncs after the failure; a failed sync must not be retried", n-syncs)
	}
	if names, err := c.ListQueues(ctx); err != nil || len(names) != 1 {
		t.Fatalf("list after the failure = %v %v; reads must keep working", names, err)
	}
	if _, err := c.QueueInfo(ctx, "q"); err != nil {
		t.Fatalf("info after the failure: %v", err)
	}
}

// TestCompactionReclaimsSegments fills several segments, acks most
// messages, and checks that maintenance copies the few live ones forward
// and deletes the old segments, and that everything live survives a
// restart.
func TestCompactionReclaimsSegments(t *testing.T) {
	fs := vfs.NewStrictMem()
	c := openTestDir(t, fs, 1<<20)
	ctx := context.Background()
	if _, err := c.CreateQueue(ctx, "q", driver.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 4000)
	for i := range 1000 { // about 4 MB: several 1 MiB segments
		copy(body, fmt.Sprintf("message-%04d", i))
		if _, err := c.Send(ctx, "q", []driver.Message{{Body: body}}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := c.Receive(ctx, "q", driver.ReceiveRequest{Max: 1000, Wait: driver.NoWait})
	if err != nil || len(ds) != 1000 {
		t.Fatalf("receive = %d, %v", len(ds), err)
	}
	var receipts []string
	keep := map[string]bool{}
	for i, d := range ds {
		if i%100 == 0 {
			keep[string(d.Body[:12])] = true
			continue
		}
		receipts = append(receipts, d.Receipt)
	}
	if _, err := c.Ack(ctx, "q", receipts); err != nil {
		t.Fatal(err)
	}
	before := len(c.l.Segments())
	// The maintenance loop may have checkpointed while the test filled
	// the queue; make this tick due whatever it did.
	c.maint.Lock()
	c.idleTicks = checkpointIdleTicks
	c.maint.Unlock()
	c.maintain()
	after := c.l.Segments()
	if before < 4 || len(after) > 2 {
		t.Fatalf("segments before/after maintenance = %d/%d; want ≥4 then ≤2", before, len(after))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = openTestDir(t, fs, 1<<20)
	defer c.Close()
	if _, err := c.ChangeVisibility(ctx, "q", nil, 0); err == nil {
		t.Fatal("ChangeVisibility without receipts accepted")
	}
	info, _ := c.QueueInfo(ctx, "q")
	if got := info.Stats.InFlight + info.Stats.Visible; got != int64(len(keep)) {
		t.Fatalf("after compaction and restart %d messages; want %d", got, len(keep))
	}
	c.mu.Lock()
	q := c.queues["q"]
	var ps []pending
	for m := q.all.head; m != nil; m = m.alink.next {
		ps = append(ps, pending{p: m.pos, size: m.size})
	}
	c.mu.Unlock()
	got, err := c.read(ps)
	if err != nil || len(got) != len(keep) {
		t.Fatalf("reading relocated messages: %d, %v", len(got), err)
	}
	for _, d := range got {
		if !keep[string(d.Body[:12])] {
			t.Fatalf("relocated message has body %q", d.Body[:12])
		}
	}
}

func TestParseFileURL(t *testing.T) {
	good := map[string]string{
		"file://./data":                      "data",
		"file:///var/lib/courier":            "/var/lib/courier",
		"file://rel/dir?sync=none":           "rel/dir",
		"file:///d?sync=interval=5ms":        "/d",
		"file:///d?segment_size=8MiB":        "/d",
		"file:///d?repair=true&sync=always":  "/d",
		"file:///d?segment_size=2097152":     "/d",
		"file:./opaque":                      "opaque",
		"file:///d?segment_size=1GiB&sync=x": "",
	}
	for raw, dir := range good {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseFileURL(u)
		if dir == "" {
			if err == nil {
				t.Errorf("%s accepted", raw)
			}
			continue
		}
		if err != nil || c.dir != dir {
			t.Errorf("parseFileURL(%s) = %q, %v; want %q", raw, c.dir, err, dir)
		}
	}
	for _, raw := range []string{"file://", "file:///d?sync=sometimes", "file:///d?segment_size=1KiB", "file:///d?segment_size=2GiB", "file:///d?segment_size=lots", "file:///d?repair=maybe", "file:///d?colour=blue"} {
		u, _ := url.Parse(raw)
		_, err := parseFileURL(u)
		var ve *driver.ValidationError
		if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, "url") {
			t.Errorf("parseFileURL(%s) = %v; want a ValidationError naming the url option", raw, err)
		}
	}
	u, _ := url.Parse("file:///d?sync=interval=5ms&segment_size=8MiB")
	c, _ := parseFileURL(u)
	if c.opts.Sync != wal.SyncInterval || c.opts.SegmentSize != 8<<20 {
		t.Fatalf("options = %+v", c.opts)
	}
}

// FuzzParseFileURL checks that no URL makes the option parser panic and
// that accepted options are in range.
func FuzzParseFileURL(f *testing.F) {
	f.Add("file:///d?sync=interval=5ms&segment_size=8MiB&repair=true")
	f.Add("file://./x?segment_size=99999999999999999999")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		c, err := parseFileURL(u)
		if err != nil {
			return
		}
		if c.dir == "" || c.opts.SegmentSize < 1<<20 || c.opts.SegmentSize > 1<<30 {
			t.Fatalf("accepted %q with dir %q segment size %d", raw, c.dir, c.opts.SegmentSize)
		}
	})
}

// TestCompactionRelocatesPublishedMessages compacts segments holding
// published messages shared by two subscriptions (one raw, one with the
// envelope) and checks that each survivor keeps its body as its
// subscription delivers it, across a restart.
func TestCompactionRelocatesPublishedMessages(t *testing.T) {
	fs := vfs.NewStrictMem()
	c := openTestDir(t, fs, 1<<20)
	ctx := context.Background()
	must(c.CreateTopic(ctx, "t", driver.DefaultTopicAttributes()))(t)
	must(c.Subscribe(ctx, "t", "raw", driver.Subscription{Kind: driver.KindDurable, Raw: true}))(t)
	must(c.Subscribe(ctx, "t", "env", driver.Subscription{Kind: driver.KindDurable}))(t)
	body := make([]byte, 4000)
	for i := range 1000 {
		copy(body, fmt.Sprintf("message-%04d", i))
		must(c.Publish(ctx, "t", []driver.Message{{Body: body}}))(t)
	}
	keep := map[string]bool{}
	for _, sub := range []string{"raw", "env"} {
		ds := must(c.ReceiveSubscription(ctx, "t", sub, driver.ReceiveRequest{Max: 1000, Wait: driver.NoWait}))(t)
		var receipts []string
		for i, d := range ds {
			if i%100 == 0 {
				keep[sub+"/"+fmt.Sprintf("message-%04d", i)] = true
				continue
			}
			receipts = append(receipts, d.Receipt)
		}
		must(c.AckSubscription(ctx, "t", sub, receipts))(t)
	}
	before := len(c.l.Segments())
	c.maint.Lock()
	c.idleTicks = checkpointIdleTicks
	c.maint.Unlock()
	c.maintain()
	if after := len(c.l.Segments()); before < 4 || after > 2 {
		t.Fatalf("segments before/after maintenance = %d/%d; want ≥4 then ≤2", before, after)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = openTestDir(t, fs, 1<<20)
	defer c.Close()
	for _, sub := range []string{"raw", "env"} {
		c.mu.Lock()
		q := c.queues[ownedQueueName("t", sub)]
		var ps []pending
		for m := q.all.head; m != nil; m = m.alink.next {
			ps = append(ps, pending{seq: m.seq, p: m.pos, size: m.size})
		}
		c.mu.Unlock()
		got, err := c.read(ps)
		if err != nil || len(got) != 10 {
			t.Fatalf("%s: reading relocated messages: %d, %v", sub, len(got), err)
		}
		for _, d := range got {
			text := string(d.Body)
			if sub == "env" {
				var env driver.Envelope
				if err := json.Unmarshal(d.Body, &env); err != nil || env.Body == nil || env.Topic != "t" {
					t.Fatalf("relocated envelope %.80q: %v", d.Body, err)
				}
				text = *env.Body
			}
			if !keep[sub+"/"+text[:12]] {
				t.Fatalf("%s: relocated message has body %.12q", sub, text)
			}
		}
	}
}

// TestCompactionRelocatesStreamRecords interleaves a few stream records
// with many queue messages, acks the messages, and checks that compaction
// copies the records forward so the old segments go, and that the records
// keep their offsets and values across a restart.
func TestCompactionRelocatesStreamRecords(t *testing.T) {
	fs := vfs.NewStrictMem()
	c := openTestDir(t, fs, 1<<20)
	ctx := context.Background()
	must(c.CreateQueue(ctx, "q", driver.DefaultQueueAttributes()))(t)
	sattrs := driver.DefaultStreamAttributes()
	sattrs.Retention = 0
	must(c.CreateStream(ctx, "s", sattrs))(t)
	body := make([]byte, 4000)
	for i := range 1000 {
		must(c.Send(ctx, "q", []driver.Message{{Body: body}}))(t)
		if i%100 == 0 {
			must(c.Append(ctx, "s", []driver.Record{{Value: fmt.Appendf(nil, "record-%d", i/100)}}))(t)
		}
	}
	ds := must(c.Receive(ctx, "q", driver.ReceiveRequest{Max: 1000, Wait: driver.NoWait}))(t)
	receipts := make([]string, len(ds))
	for i, d := range ds {
		receipts[i] = d.Receipt
	}
	must(c.Ack(ctx, "q", receipts))(t)
	before := len(c.l.Segments())
	c.maint.Lock()
	c.idleTicks = checkpointIdleTicks
	c.maint.Unlock()
	c.maintain()
	if after := len(c.l.Segments()); before < 4 || after > 2 {
		t.Fatalf("segments before/after maintenance = %d/%d; want ≥4 then ≤2", before, after)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = openTestDir(t, fs, 1<<20)
	defer c.Close()
	res := must(c.Read(ctx, "s", driver.StreamReadRequest{Max: 100}))(t)
	if len(res.Records) != 10 {
		t.Fatalf("read %d records after compaction and restart; want 10", len(res.Records))
	}
	for i, r := range res.Records {
		if r.Offset != int64(i) || string(r.Value) != fmt.Sprintf("record-%d", i) {
			t.Fatalf("record %d = offset %d value %q", i, r.Offset, r.Value)
		}
	}
}

// TestCompactionRelocatesBusDeliveries puts events whose targets get a
// transformed input and a plain envelope, leaves some deliveries pending,
// compacts the log and checks that the pending deliveries keep their own
// bodies across a restart.
func TestCompactionRelocatesBusDeliveries(t *testing.T) {
	fs := vfs.NewStrictMem()
	c := openTestDir(t, fs, 1<<20)
	ctx := context.Background()
	must(c.PutRule(ctx, driver.DefaultBus, "r", driver.Rule{
		Pattern: json.RawMessage(`{"source": ["s"]}`),
		Targets: []driver.Target{
			{ID: "whole", Kind: driver.TargetHandler},
			{ID: "shaped", Kind: driver.TargetHandler, InputTransformer: &driver.InputTransformer{InputPaths: map[string]string{"n": "$.detail.n"}, Template: `{"n": <n>}`}},
		},
	}))(t)
	pad := strings.Repeat("x", 4000)
	for i := range 1000 {
		res := must(c.PutEvents(ctx, driver.DefaultBus, []driver.Event{{Source: "s", DetailType: "t", Detail: json.RawMessage(fmt.Sprintf(`{"n": %d, "pad": %q}`, i, pad))}}))(t)
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	for _, target := range []string{"whole", "shaped"} {
		ds := must(c.ReceiveTarget(ctx, driver.DefaultBus, "r", target, driver.ReceiveRequest{Max: 1000, Wait: driver.NoWait}))(t)
		for i, d := range ds {
			if i%100 != 0 {
				if err := c.SettleTarget(ctx, driver.DefaultBus, "r", target, d.Receipt, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	before := len(c.l.Segments())
	c.maint.Lock()
	c.idleTicks = checkpointIdleTicks
	c.maint.Unlock()
	c.maintain()
	if after := len(c.l.Segments()); before < 4 || after > 2 {
		t.Fatalf("segments before/after maintenance = %d/%d; want ≥4 then ≤2", before, after)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = openTestDir(t, fs, 1<<20)
	defer c.Close()
	for _, target := range []string{"whole", "shaped"} {
		c.mu.Lock()
		r := c.buses[driver.DefaultBus].rules["r"]
		q := c.byID[r.targets[targetIndex(r.spec.Targets, target)].qid]
		var ps []pending
		for m := q.all.head; m != nil; m = m.alink.next {
			ps = append(ps, pending{seq: m.seq, p: m.pos, size: m.size})
		}
		c.mu.Unlock()
		got, err := c.read(ps)
		if err != nil || len(got) != 10 {
			t.Fatalf("%s: reading relocated deliveries: %d, %v", target, len(got), err)
		}
		for _, d := range got {
			var v struct {
				N      *int
				Detail struct{ N *int }
			}
			if err := json.Unmarshal(d.Body, &v); err != nil {
				t.Fatalf("%s: relocated body %.80q: %v", target, d.Body, err)
			}
			n := v.N
			if target == "whole" {
				n = v.Detail.N
			} else if strings.Contains(string(d.Body), "pad") {
				t.Fatalf("shaped delivery relocated with the whole event: %.80q", d.Body)
			}
			if n == nil || *n%100 != 0 {
				t.Fatalf("%s: relocated delivery %.80q is not one that was kept", target, d.Body)
			}
		}
	}
}
