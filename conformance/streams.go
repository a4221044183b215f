package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

func needStreams(t *testing.T, b *courier.Broker) {
	t.Helper()
	need(t, b, "Streams", b.Capabilities().Streams)
}

func createStream(t *testing.T, b *courier.Broker, name string, opts ...courier.StreamOption) *courier.Stream {
	t.Helper()
	return must(b.CreateStream(ctx(t), name, opts...))(t)
}

// readAll reads partition p from the earliest record to the end.
func readAll(t *testing.T, s *courier.Stream, p int) []courier.StreamRecord {
	t.Helper()
	var out []courier.StreamRecord
	r := s.Reader(p, courier.Earliest(), courier.ReadMax(1000))
	for {
		recs := must(r.Next(ctx(t)))(t)
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
	}
}

func values(recs []courier.StreamRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

var streamCases = []testCase{
	{name: "StreamAdmin", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "events", courier.Partitions(4))
		createStream(t, b, "events", courier.Partitions(4)) // idempotent
		_, err := b.CreateStream(ctx(t), "events", courier.Partitions(2))
		wantErr(t, err, courier.ErrConflict)
		_, err = b.CreateStream(ctx(t), "bad/name")
		wantErr(t, err, courier.ErrInvalid)
		_, err = b.CreateStream(ctx(t), "x", courier.Partitions(0))
		wantErr(t, err, courier.ErrInvalid)
		createStream(t, b, "audit")
		if names := must(b.ListStreams(ctx(t)))(t); !slices.Equal(names, []string{"audit", "events"}) {
			t.Fatalf("streams = %v", names)
		}
		info := must(st.SetAttributes(ctx(t), courier.Partitions(6)))(t)
		if len(info.Partitions) != 6 || info.Attributes.Partitions != 6 {
			t.Fatalf("after adding partitions: %+v", info)
		}
		_, err = st.SetAttributes(ctx(t), courier.Partitions(3))
		wantErr(t, err, courier.ErrConflict)
		_, err = st.SetAttributes(ctx(t), courier.Compacted(0))
		wantErr(t, err, courier.ErrConflict)
		check(t, b.DeleteStream(ctx(t), "audit"))
		_, err = b.Stream("audit").Info(ctx(t))
		wantErr(t, err, courier.ErrNotFound)
		_, err = b.Stream("audit").Append(ctx(t), courier.Record{Value: []byte("x")})
		wantErr(t, err, courier.ErrNotFound)
	}},
	{name: "AppendOrdersPerPartitionAndKeysPickPartitions", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "orders", courier.Partitions(4))
		var recs []courier.Record
		for i := range 200 {
			recs = append(recs, courier.Record{Key: fmt.Appendf(nil, "customer-%d", i%20), Value: fmt.Appendf(nil, "%03d", i), Partition: courier.AnyPartition})
		}
		res := must(st.AppendBatch(ctx(t), recs))(t)
		next := map[int]int64{}
		for i, r := range res {
			if r.Err != nil {
				t.Fatalf("record %d: %v", i, r.Err)
			}
			if want := driver.PartitionForKey(recs[i].Key, 4); r.Partition != want {
				t.Fatalf("record %d with key %s went to partition %d; the key hash says %d", i, recs[i].Key, r.Partition, want)
			}
			if r.Offset != next[r.Partition] {
				t.Fatalf("record %d: offset %d in partition %d; want %d", i, r.Offset, r.Partition, next[r.Partition])
			}
			next[r.Partition]++
		}
		// Every partition returns its records in append order; a key's
		// records stay together and in order.
		byKey := map[string][]string{}
		total := 0
		for p := range 4 {
			got := readAll(t, st, p)
			for i, r := range got {
				if r.Offset != int64(i) || r.Partition != p {
					t.Fatalf("partition %d record %d has offset %d partition %d", p, i, r.Offset, r.Partition)
				}
				byKey[string(r.Key)] = append(byKey[string(r.Key)], string(r.Value))
			}
			total += len(got)
		}
		if total != 200 {
			t.Fatalf("read %d records; want 200", total)
		}
		for k, vs := range byKey {
			if !slices.IsSorted(vs) || len(vs) != 10 {
				t.Fatalf("key %s: values %v out of order or incomplete", k, vs)
			}
		}
		// An explicit partition wins over the key; a bad one fails alone.
		res = must(st.AppendBatch(ctx(t), []courier.Record{
			{Key: []byte("customer-1"), Value: []byte("pinned"), Partition: 3},
			{Value: []byte("nowhere"), Partition: 9},
			{Value: []byte("keyless"), Partition: courier.AnyPartition},
		}))(t)
		if res[0].Err != nil || res[0].Partition != 3 || !errors.Is(res[1].Err, courier.ErrInvalid) || res[2].Err != nil {
			t.Fatalf("results = %+v", res)
		}
	}},
	{name: "ReadPositionsAndLimits", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "s")
		for i := range 5 {
			must(st.Append(ctx(t), courier.Record{Value: fmt.Appendf(nil, "early-%d", i)}))(t)
		}
		time.Sleep(2 * time.Second) // the clock moves between the two halves
		mark := time.Now()
		for i := range 5 {
			must(st.Append(ctx(t), courier.Record{Value: fmt.Appendf(nil, "late-%d", i)}))(t)
		}
		recs, next := must2(st.Read(ctx(t), 0, courier.AtTime(mark)))(t)
		if len(recs) != 5 || string(recs[0].Value) != "late-0" || next != 10 {
			t.Fatalf("from time: %v next %d", values(recs), next)
		}
		if recs[0].Timestamp.Before(mark) {
			t.Fatalf("record at %v is before the mark %v", recs[0].Timestamp, mark)
		}
		recs, _ = must2(st.Read(ctx(t), 0, courier.AtOffset(3), courier.ReadMax(2)))(t)
		if !slices.Equal(values(recs), []string{"early-3", "early-4"}) {
			t.Fatalf("from offset 3, max 2: %v", values(recs))
		}
		recs, next = must2(st.Read(ctx(t), 0, courier.Latest()))(t)
		if len(recs) != 0 || next != 10 {
			t.Fatalf("from latest: %v next %d", values(recs), next)
		}
		recs, _ = must2(st.Read(ctx(t), 0, courier.Earliest(), courier.ReadMaxBytes(1)))(t)
		if len(recs) != 1 {
			t.Fatalf("max_bytes 1 returned %d records; want exactly one", len(recs))
		}
		_, _, err := st.Read(ctx(t), 0, courier.AtOffset(11))
		wantErr(t, err, courier.ErrInvalid)
		_, _, err = st.Read(ctx(t), 1, courier.Earliest())
		wantErr(t, err, courier.ErrInvalid)
		// A long poll from the end is woken by an append.
		go func() {
			time.Sleep(time.Second)
			st.Append(context.Background(), courier.Record{Value: []byte("woke")})
		}()
		start := time.Now()
		recs, _ = must2(st.Read(ctx(t), 0, courier.AtOffset(10), courier.ReadWait(10*time.Second)))(t)
		if len(recs) != 1 || string(recs[0].Value) != "woke" {
			t.Fatalf("long poll got %v", values(recs))
		}
		if s.f.Synctest && time.Since(start) != time.Second {
			t.Fatalf("long poll returned after %v; want 1s (when the append happened)", time.Since(start))
		}
	}},
	{name: "GroupRebalanceOneThreeOneLosesNothing", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "work", courier.Partitions(6))
		const n = 600
		appendN := func(from, to int) {
			var recs []courier.Record
			for i := from; i < to; i++ {
				recs = append(recs, courier.Record{Key: fmt.Appendf(nil, "k%d", i%37), Value: fmt.Appendf(nil, "%d", i), Partition: courier.AnyPartition})
			}
			must(st.AppendBatch(ctx(t), recs))(t)
		}
		appendN(0, 200)
		g := st.Group("workers")
		var mu sync.Mutex
		seen := map[string]int{}
		busy := map[int]string{} // partition -> member processing uncommitted records of it
		var violation error
		// take polls once as member name and processes what it got; done
		// commits it.
		take := func(name string, c *courier.Consumer) []courier.StreamRecord {
			recs, err := c.Poll(ctx(t), 50, 0)
			if err != nil {
				t.Fatalf("%s poll: %v", name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range recs {
				if other := busy[r.Partition]; other != "" && other != name && violation == nil {
					violation = fmt.Errorf("partition %d given to %s while %s had uncommitted records of it", r.Partition, name, other)
				}
				busy[r.Partition] = name
				seen[string(r.Value)]++
			}
			return recs
		}
		done := func(name string, c *courier.Consumer, recs []courier.StreamRecord) {
			if err := c.Commit(ctx(t)); err != nil {
				t.Fatalf("%s commit: %v", name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range recs {
				if busy[r.Partition] == name {
					delete(busy, r.Partition)
				}
			}
		}
		step := func(name string, c *courier.Consumer) { done(name, c, take(name, c)) }
		c1 := must(g.Join(ctx(t), "m1"))(t)
		if a := c1.Assignment(); len(a.Partitions) != 6 {
			t.Fatalf("sole member owns %v; want all 6 partitions", a.Partitions)
		}
		step("m1", c1)
		// m1 holds uncommitted records of every partition while two members
		// join and poll: they must get nothing of m1's until m1 commits and
		// hears of the rebalance.
		held := take("m1", c1)
		c2 := must(g.Join(ctx(t), "m2"))(t)
		c3 := must(g.Join(ctx(t), "m3"))(t)
		step("m2", c2)
		step("m3", c3)
		done("m1", c1, held)
		appendN(200, 400)
		// Three members poll concurrently until their shares settle.
		var wg sync.WaitGroup
		for _, m := range []struct {
			name string
			c    *courier.Consumer
		}{{"m1", c1}, {"m2", c2}, {"m3", c3}} {
			wg.Go(func() {
				for range 12 {
					step(m.name, m.c)
				}
			})
		}
		wg.Wait()
		for _, c := range []*courier.Consumer{c1, c2, c3} {
			if a := must(c.Heartbeat(ctx(t)))(t); len(a.Partitions) != 2 {
				t.Fatalf("with three members each owns two partitions; got %v", a.Partitions)
			}
		}
		appendN(400, n)
		check(t, c2.Close(ctx(t)))
		check(t, c3.Close(ctx(t)))
		for range 40 {
			step("m1", c1)
		}
		if a := c1.Assignment(); len(a.Partitions) != 6 {
			t.Fatalf("after the others left m1 owns %v", a.Partitions)
		}
		if violation != nil {
			t.Fatal(violation)
		}
		for i := range n {
			if c := seen[fmt.Sprint(i)]; c != 1 {
				t.Fatalf("record %d processed %d times; want exactly once", i, c)
			}
		}
		info := must(st.Info(ctx(t)))(t)
		for _, gi := range info.Groups {
			for p, lag := range gi.Lag {
				if lag != 0 {
					t.Fatalf("group lag on partition %d = %d after consuming everything", p, lag)
				}
			}
		}
		check(t, c1.Close(ctx(t)))
	}},
	{name: "CommitFencing", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "s", courier.Partitions(2))
		for p := range 2 {
			for i := range 5 {
				must(st.Append(ctx(t), courier.Record{Value: fmt.Appendf(nil, "p%d-%d", p, i), Partition: p}))(t)
			}
		}
		g := st.Group("g")
		c1 := must(g.Join(ctx(t), "m1"))(t)
		must(c1.Poll(ctx(t), 100, 0))(t)
		gen1 := c1.Assignment().Generation
		c2 := must(g.Join(ctx(t), "m2"))(t)
		if a := c2.Assignment(); len(a.Partitions) != 0 {
			t.Fatalf("m2 got %v before m1 gave anything up", a.Partitions)
		}
		// m1 has not heard of the rebalance yet: it still owns both and its
		// commit counts.
		check(t, c1.CommitOffsets(ctx(t), gen1, map[int]int64{0: 3, 1: 3}))
		a1 := must(c1.Heartbeat(ctx(t)))(t)
		if len(a1.Partitions) != 1 {
			t.Fatalf("after the rebalance m1 owns %v", a1.Partitions)
		}
		lost := 1 - a1.Partitions[0]
		err := c1.CommitOffsets(ctx(t), a1.Generation, map[int]int64{lost: 5})
		wantErr(t, err, courier.ErrFenced)
		a2 := must(c2.Heartbeat(ctx(t)))(t)
		if !slices.Equal(a2.Partitions, []int{lost}) || a2.Offsets[lost] != 3 {
			t.Fatalf("m2 assignment = %+v; want partition %d from committed offset 3", a2, lost)
		}
		// A commit naming a generation before the member got the partition is fenced.
		err = c2.CommitOffsets(ctx(t), gen1, map[int]int64{lost: 4})
		wantErr(t, err, courier.ErrFenced)
		check(t, c2.CommitOffsets(ctx(t), a2.Generation, map[int]int64{lost: 4}))
		// A member that left is fenced everywhere.
		check(t, c2.Close(ctx(t)))
		_, err = c2.Heartbeat(ctx(t))
		wantErr(t, err, courier.ErrFenced)
		check(t, c1.Close(ctx(t)))
	}},
	{name: "SessionTimeoutMovesPartitions", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "s", courier.Partitions(4))
		g := st.Group("g")
		c1 := must(g.Join(ctx(t), "m1", courier.SessionTimeout(2*time.Second)))(t)
		c2 := must(g.Join(ctx(t), "m2", courier.SessionTimeout(time.Minute)))(t)
		must(c1.Heartbeat(ctx(t)))(t) // m1 learns it gives two partitions away
		if a := must(c2.Heartbeat(ctx(t)))(t); len(a.Partitions) != 2 {
			t.Fatalf("m2 owns %v; want 2", a.Partitions)
		}
		time.Sleep(3 * time.Second) // m1 goes silent past its session timeout
		if a := must(c2.Heartbeat(ctx(t)))(t); len(a.Partitions) != 4 {
			t.Fatalf("after m1's session ended m2 owns %v; want all 4", a.Partitions)
		}
		_, err := c1.Heartbeat(ctx(t))
		wantErr(t, err, courier.ErrFenced)
		check(t, c2.Close(ctx(t)))
	}},
	{name: "ResetOffsetsAndReplayByTime", timed: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "s")
		for i := range 3 {
			must(st.Append(ctx(t), courier.Record{Value: fmt.Appendf(nil, "old-%d", i)}))(t)
		}
		time.Sleep(time.Second)
		mark := time.Now()
		for i := range 3 {
			must(st.Append(ctx(t), courier.Record{Value: fmt.Appendf(nil, "new-%d", i)}))(t)
		}
		g := st.Group("g")
		c := must(g.Join(ctx(t), "m"))(t)
		if got := values(must(c.Poll(ctx(t), 100, 0))(t)); len(got) != 6 {
			t.Fatalf("first poll = %v", got)
		}
		check(t, c.Commit(ctx(t)))
		// A replay with an ad-hoc reader does not disturb the group.
		if got := values(readAll(t, st, 0)); len(got) != 6 {
			t.Fatalf("replay read %v", got)
		}
		_, err := g.ResetOffsets(ctx(t), courier.Earliest())
		wantErr(t, err, courier.ErrConflict) // the group has a member
		check(t, c.Close(ctx(t)))
		offs := must(g.ResetOffsets(ctx(t), courier.AtTime(mark)))(t)
		if offs[0] != 3 {
			t.Fatalf("reset to time gave offsets %v; want partition 0 at 3", offs)
		}
		c = must(g.Join(ctx(t), "m"))(t)
		if got := values(must(c.Poll(ctx(t), 100, 0))(t)); !slices.Equal(got, []string{"new-0", "new-1", "new-2"}) {
			t.Fatalf("after reset to the mark: %v", got)
		}
		check(t, c.Close(ctx(t)))
		must(g.ResetOffsets(ctx(t), courier.Latest()))(t)
		c = must(g.Join(ctx(t), "m"))(t)
		if got := must(c.Poll(ctx(t), 100, 0))(t); len(got) != 0 {
			t.Fatalf("after reset to latest: %v", values(got))
		}
		check(t, c.Close(ctx(t)))
		check(t, g.Delete(ctx(t)))
		if info := must(st.Info(ctx(t)))(t); len(info.Groups) != 0 {
			t.Fatalf("groups after delete = %+v", info.Groups)
		}
	}},
	{name: "NewGroupStartsFromLatestWhenAsked", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "s")
		must(st.Append(ctx(t), courier.Record{Value: []byte("before")}))(t)
		c := must(st.Group("tail").Join(ctx(t), "m", courier.StartFromLatest()))(t)
		must(st.Append(ctx(t), courier.Record{Value: []byte("after")}))(t)
		if got := values(must(c.Poll(ctx(t), 10, 0))(t)); !slices.Equal(got, []string{"after"}) {
			t.Fatalf("a latest group got %v", got)
		}
		check(t, c.Close(ctx(t)))
	}},
	{name: "RetentionByAgeAndSize", timed: true, fakeOnly: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		aged := createStream(t, b, "aged", courier.StreamRetention(time.Minute))
		sized := createStream(t, b, "sized", courier.RetentionBytes(4000), courier.StreamRetention(0))
		value := make([]byte, 1000)
		for range 3 {
			must(aged.Append(ctx(t), courier.Record{Value: value}))(t)
		}
		time.Sleep(40 * time.Second)
		must(aged.Append(ctx(t), courier.Record{Value: []byte("young")}))(t)
		for range 10 {
			must(sized.Append(ctx(t), courier.Record{Value: value}))(t)
		}
		time.Sleep(30 * time.Second) // the first three are 70s old now
		if got := readAll(t, aged, 0); len(got) != 1 || string(got[0].Value) != "young" || got[0].Offset != 3 {
			t.Fatalf("after retention: %d records, first %+v", len(got), got)
		}
		p := must(sized.Info(ctx(t)))(t).Partitions[0]
		if p.Bytes > 4000 || p.Bytes == 0 || p.End != 10 || p.First == 0 {
			t.Fatalf("size retention left %+v; want at most 4000 bytes of the newest records", p)
		}
		// Reading from a trimmed offset starts at the oldest retained one.
		recs, _ := must2(sized.Read(ctx(t), 0, courier.AtOffset(0)))(t)
		if len(recs) == 0 || recs[0].Offset != p.First {
			t.Fatalf("read from offset 0 started at %+v; want %d", recs, p.First)
		}
	}},
	{name: "CompactedStreamKeepsLatestPerKey", timed: true, fakeOnly: true, run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		st := createStream(t, b, "profiles", courier.Compacted(time.Minute), courier.StreamRetention(0))
		_, err := st.Append(ctx(t), courier.Record{Value: []byte("no key")})
		wantErr(t, err, courier.ErrInvalid)
		for _, kv := range [][2]string{{"alice", "v1"}, {"bob", "v1"}, {"alice", "v2"}, {"carol", "v1"}, {"bob", ""}} {
			must(st.Append(ctx(t), courier.Record{Key: []byte(kv[0]), Value: []byte(kv[1])}))(t)
		}
		got := map[string]string{}
		for _, r := range readAll(t, st, 0) {
			if _, dup := got[string(r.Key)]; dup {
				t.Fatalf("key %s read twice", r.Key)
			}
			got[string(r.Key)] = string(r.Value)
		}
		if len(got) != 3 || got["alice"] != "v2" || got["bob"] != "" || got["carol"] != "v1" {
			t.Fatalf("compacted read = %v; want alice=v2, bob deleted (marker), carol=v1", got)
		}
		time.Sleep(2 * time.Minute) // the delete marker's grace period passes
		got = map[string]string{}
		for _, r := range readAll(t, st, 0) {
			got[string(r.Key)] = string(r.Value)
		}
		if len(got) != 2 || got["alice"] != "v2" || got["carol"] != "v1" {
			t.Fatalf("after the delete grace period = %v", got)
		}
	}},
	{name: "RestartKeepsWhereALatestGroupStarted", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		need(t, b, "Persistent", b.Capabilities().Persistent)
		st := createStream(t, b, "s")
		must(st.Append(ctx(t), courier.Record{Value: []byte("before")}))(t)
		must(st.Group("g").Join(ctx(t), "m", courier.StartFromLatest()))(t)
		must(st.Append(ctx(t), courier.Record{Value: []byte("after")}))(t)
		// Nothing was polled or committed before the restart.
		b = restart(t, s, b)
		c := must(b.Stream("s").Group("g").Join(ctx(t), "m"))(t)
		if got := values(must(c.Poll(ctx(t), 10, 0))(t)); !slices.Equal(got, []string{"after"}) {
			t.Fatalf("after a restart the latest group got %v; want the record appended after it started", got)
		}
		check(t, c.Close(ctx(t)))
	}},
	{name: "RestartKeepsRecordsOffsetsAndCommits", run: func(t *testing.T, s *suite, b *courier.Broker) {
		needStreams(t, b)
		need(t, b, "Persistent", b.Capabilities().Persistent)
		st := createStream(t, b, "s", courier.Partitions(2))
		for i := range 10 {
			must(st.Append(ctx(t), courier.Record{Value: fmt.Appendf(nil, "%d", i), Partition: i % 2}))(t)
		}
		c := must(st.Group("g").Join(ctx(t), "m"))(t)
		a := c.Assignment()
		check(t, c.CommitOffsets(ctx(t), a.Generation, map[int]int64{0: 2, 1: 4}))
		b = restart(t, s, b)
		st = b.Stream("s")
		info := must(st.Info(ctx(t)))(t)
		if len(info.Partitions) != 2 || info.Partitions[0].End != 5 || info.Partitions[1].End != 5 {
			t.Fatalf("after restart partitions = %+v", info.Partitions)
		}
		if len(info.Groups) != 1 || info.Groups[0].Committed[0] != 2 || info.Groups[0].Committed[1] != 4 {
			t.Fatalf("after restart groups = %+v", info.Groups)
		}
		// Members join again after a restart and resume from the commits.
		c = must(st.Group("g").Join(ctx(t), "m"))(t)
		if got := values(must(c.Poll(ctx(t), 100, 0))(t)); len(got) != 4 {
			t.Fatalf("after restart the group resumed with %v; want the 4 uncommitted records", got)
		}
		res := must(st.Append(ctx(t), courier.Record{Value: []byte("next"), Partition: 0}))(t)
		if res.Offset != 5 {
			t.Fatalf("append after restart got offset %d; want 5", res.Offset)
		}
		check(t, c.Close(ctx(t)))
	}},
}

// must2 is must for calls returning two values and an error.
func must2[A, B any](a A, b B, err error) func(t *testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return a, b
	}
}
