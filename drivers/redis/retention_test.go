package redis_test

import (
	"net/url"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/servicetest"
)

// The conformance cases of retention and of the dedup window need minutes
// of fake time, which a network backend cannot have. These tests cover
// the same behaviour in real time: short stream retentions, and queue
// messages and dedup entries aged by moving their stored times back.

// prefixOf returns the key prefix of a broker URL.
func prefixOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("prefix")
}

// eventually polls cond until it holds or 30 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 30s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func TestQueueRetentionDeletesOldMessages(t *testing.T) {
	u := serverURL(t)
	b := open(t, u)
	raw := servicetest.OpenRedis(t, "unused-"+servicetest.Suffix())
	ctx := t.Context()
	q, err := b.CreateQueue(ctx, "q", courier.Retention(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	old, err := q.Send(ctx, courier.Message{Body: []byte("old")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(ctx, courier.Message{Body: []byte("young")}); err != nil {
		t.Fatal(err)
	}
	// Make "old" three minutes old: its enqueue time is its score in the
	// queue's enqueue index (see doc.go).
	gen, err := raw.HGet(ctx, prefixOf(t, u)+":q:q", "gen").Result()
	if err != nil {
		t.Fatal(err)
	}
	index := prefixOf(t, u) + ":Q:" + gen + ":e"
	score, err := raw.ZScore(ctx, index, old).Result()
	if err != nil {
		t.Fatal(err)
	}
	raw.ZAdd(ctx, index, redisZ(score-float64(3*time.Minute/time.Millisecond), old))
	info, err := q.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Stats.Visible != 1 || info.Stats.OldestAge > time.Minute {
		t.Fatalf("after retention stats = %+v; want only the young message", info.Stats)
	}
	ds, err := q.Receive(ctx, courier.Max(10))
	if err != nil || len(ds) != 1 || string(ds[0].Body) != "young" {
		t.Fatalf("after retention received %d messages (%v); want only young", len(ds), err)
	}
}

func TestDedupWindowExpires(t *testing.T) {
	u := serverURL(t)
	b := open(t, u)
	raw := servicetest.OpenRedis(t, "unused-"+servicetest.Suffix())
	ctx := t.Context()
	q, err := b.CreateQueue(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	id1, err := q.Send(ctx, courier.Message{Body: []byte("a"), DedupID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	gen, _ := raw.HGet(ctx, prefixOf(t, u)+":q:q", "gen").Result()
	key := prefixOf(t, u) + ":Q:" + gen + ":dd:k"
	ttl, err := raw.PTTL(ctx, key).Result()
	if err != nil || ttl <= 4*time.Minute || ttl > 5*time.Minute {
		t.Fatalf("dedup entry TTL = %v (%v); want the 5-minute window", ttl, err)
	}
	if id, _ := q.Send(ctx, courier.Message{Body: []byte("a"), DedupID: "k"}); id != id1 {
		t.Fatalf("second send inside the window got %s; want %s", id, id1)
	}
	raw.PExpire(ctx, key, time.Millisecond) // the window passes
	eventually(t, "dedup entry expired", func() bool { return raw.Exists(ctx, key).Val() == 0 })
	id3, err := q.Send(ctx, courier.Message{Body: []byte("a"), DedupID: "k"})
	if err != nil || id3 == id1 {
		t.Fatalf("send after the window = %s (%v); want a new message", id3, err)
	}
}

func TestStreamRetentionByAgeAndSize(t *testing.T) {
	b := open(t, serverURL(t))
	ctx := t.Context()
	aged, err := b.CreateStream(ctx, "aged", courier.StreamRetention(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	sized, err := b.CreateStream(ctx, "sized", courier.RetentionBytes(4000), courier.StreamRetention(0))
	if err != nil {
		t.Fatal(err)
	}
	value := make([]byte, 1000)
	for range 3 {
		if _, err := aged.Append(ctx, courier.Record{Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if _, err := sized.Append(ctx, courier.Record{Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	p := must(sized.Info(ctx))(t).Partitions[0]
	if p.Bytes > 4000 || p.Bytes == 0 || p.End != 10 || p.First == 0 {
		t.Fatalf("size retention left %+v; want at most 4000 bytes of the newest records", p)
	}
	recs, _, err := sized.Read(ctx, 0, courier.AtOffset(0))
	if err != nil || len(recs) == 0 || recs[0].Offset != p.First {
		t.Fatalf("read from offset 0 = %d records (%v); want them from %d", len(recs), err, p.First)
	}
	eventually(t, "age retention", func() bool {
		recs, _, err := aged.Read(ctx, 0, courier.Earliest())
		return err == nil && len(recs) == 0
	})
	if _, err := aged.Append(ctx, courier.Record{Value: []byte("young")}); err != nil {
		t.Fatal(err)
	}
	recs, _, err = aged.Read(ctx, 0, courier.Earliest())
	if err != nil || len(recs) != 1 || string(recs[0].Value) != "young" || recs[0].Offset != 3 {
		t.Fatalf("after retention read %+v (%v); want only young at offset 3", recs, err)
	}
}

func TestCompactedStreamKeepsLatestPerKey(t *testing.T) {
	b := open(t, serverURL(t))
	ctx := t.Context()
	st, err := b.CreateStream(ctx, "profiles", courier.Compacted(time.Second), courier.StreamRetention(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, courier.Record{Value: []byte("no key")}); err == nil {
		t.Fatal("a record without a key was appended to a compacted stream")
	}
	for _, kv := range [][2]string{{"alice", "v1"}, {"bob", "v1"}, {"alice", "v2"}, {"carol", "v1"}, {"bob", ""}} {
		if _, err := st.Append(ctx, courier.Record{Key: []byte(kv[0]), Value: []byte(kv[1])}); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]string {
		got := map[string]string{}
		recs, _, err := st.Read(ctx, 0, courier.Earliest(), courier.ReadMax(100))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if _, dup := got[string(r.Key)]; dup {
				t.Fatalf("key %s read twice", r.Key)
			}
			got[string(r.Key)] = string(r.Value)
		}
		return got
	}
	if got := read(); len(got) != 3 || got["alice"] != "v2" || got["bob"] != "" || got["carol"] != "v1" {
		t.Fatalf("compacted read = %v; want alice=v2, bob deleted (marker), carol=v1", got)
	}
	eventually(t, "delete marker gone after its grace period", func() bool {
		got := read()
		return len(got) == 2 && got["alice"] == "v2" && got["carol"] == "v1"
	})
	if p := must(st.Info(ctx))(t).Partitions[0]; p.Records != 2 || p.End != 5 {
		t.Fatalf("partition after compaction = %+v; want 2 records, end 5", p)
	}
}

// must returns v, failing the test if err is set.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func redisZ(score float64, member string) goredis.Z { return goredis.Z{Score: score, Member: member} }
