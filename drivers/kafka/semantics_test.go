package kafka_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/courier-io/courier"
)

// TestRetentionAndCompaction checks that the stream attributes reach
// Kafka's topic configs: kfake applies retention.bytes and compaction on
// demand (the conformance cases for them need fake time).
func TestRetentionAndCompaction(t *testing.T) {
	cl := startCluster(t, 1)
	b := openBroker(t, withOption(cl.url(), "prefix="+newPrefix()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sized, err := b.CreateStream(ctx, "sized", courier.RetentionBytes(4000), courier.StreamRetention(0))
	if err != nil {
		t.Fatal(err)
	}
	info, err := sized.Info(ctx)
	if err != nil || info.Attributes.RetentionBytes != 4000 || info.Attributes.Retention != 0 {
		t.Fatalf("attributes = %+v, %v", info.Attributes, err)
	}
	value := make([]byte, 1000)
	for range 10 {
		if _, err := sized.Append(ctx, courier.Record{Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	cl.c.ApplyRetention()
	p := must(sized.Info(ctx))(t).Partitions[0]
	if p.End != 10 || p.First == 0 || p.Bytes == 0 {
		t.Fatalf("after size retention: %+v", p)
	}
	recs, _, err := sized.Read(ctx, 0, courier.AtOffset(0))
	if err != nil || len(recs) == 0 || recs[0].Offset != p.First {
		t.Fatalf("read from a trimmed offset started at %+v (%v); want %d", recs, err, p.First)
	}

	st, err := b.CreateStream(ctx, "profiles", courier.Compacted(time.Millisecond), courier.StreamRetention(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, courier.Record{Value: []byte("no key")}); err == nil {
		t.Fatal("a record without a key was appended to a compacted stream")
	}
	for _, kv := range [][2]string{{"alice", "v1"}, {"bob", "v1"}, {"alice", "v2"}, {"carol", "v1"}, {"bob", ""}, {"dave", "v1"}} {
		if _, err := st.Append(ctx, courier.Record{Key: []byte(kv[0]), Value: []byte(kv[1])}); err != nil {
			t.Fatal(err)
		}
	}
	cl.c.Compact()
	got := map[string]string{}
	r := st.Reader(0, courier.Earliest())
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if _, dup := got[string(rec.Key)]; dup {
				t.Fatalf("key %s read twice after compaction", rec.Key)
			}
			got[string(rec.Key)] = string(rec.Value)
		}
	}
	if got["alice"] != "v2" || got["carol"] != "v1" || got["dave"] != "v1" {
		t.Fatalf("compacted read = %v", got)
	}
}

// TestGroupHostedByOneProcess joins one group through two brokers: the
// first process hosts the partitions, the second stands by, and takes
// over from the committed offsets when the first closes.
func TestGroupHostedByOneProcess(t *testing.T) {
	cl := startCluster(t, 3)
	u := withOption(cl.url(), "prefix="+newPrefix()+"&group_session_timeout=6s")
	b1, b2 := openBroker(t, u), openBroker(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st1, err := b1.CreateStream(ctx, "s", courier.Partitions(4))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := st1.Append(ctx, courier.Record{Value: fmt.Appendf(nil, "%d", i), Partition: i % 4}); err != nil {
			t.Fatal(err)
		}
	}
	c1 := must(st1.Group("g").Join(ctx, "m1"))(t)
	if a := c1.Assignment(); len(a.Partitions) != 4 {
		t.Fatalf("the first process's member owns %v", a.Partitions)
	}
	st2 := b2.Stream("s")
	c2 := must(st2.Group("g").Join(ctx, "m2"))(t)
	if a := c2.Assignment(); len(a.Partitions) != 0 {
		t.Fatalf("a member in the standby process owns %v", a.Partitions)
	}
	recs := must(c1.Poll(ctx, 20, 0))(t)
	if len(recs) != 20 {
		t.Fatalf("poll returned %d records", len(recs))
	}
	if err := c1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st1.Group("g").ResetOffsets(ctx, courier.Earliest()); err == nil {
		t.Fatal("reset offsets succeeded while the group has members")
	}
	committed := map[int]int64{}
	for _, r := range recs {
		committed[r.Partition] = r.Offset + 1
	}
	b1.Close() // the host leaves the Kafka group: the standby takes over
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, err := c2.Heartbeat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Partitions) == 4 {
			for p, off := range committed {
				if a.Offsets[p] != off {
					t.Fatalf("after the takeover partition %d starts at %d; want the committed %d", p, a.Offsets[p], off)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby process never took over: %+v", a)
		}
		time.Sleep(20 * time.Millisecond) // polling observable state, bounded by the deadline
	}
	var rest []string
	for len(rest) < 20 {
		got := must(c2.Poll(ctx, 100, time.Second))(t)
		if len(got) == 0 {
			break
		}
		for _, r := range got {
			rest = append(rest, string(r.Value))
		}
	}
	if len(rest) != 20 {
		t.Fatalf("after the takeover the standby read %d records; want the 20 uncommitted", len(rest))
	}
	slices.Sort(rest)
	if err := c2.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}
