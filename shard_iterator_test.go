package courier

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func TestShardIterators(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b, err := Open(ctx, "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		st, err := b.CreateStream(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			st.Append(ctx, Record{Value: fmt.Appendf(nil, "old-%d", i)})
		}
		time.Sleep(time.Second)
		mark := time.Now()
		for i := range 3 {
			st.Append(ctx, Record{Value: fmt.Appendf(nil, "new-%d", i)})
		}
		first := func(typ IteratorType, seq string, at time.Time) string {
			t.Helper()
			it, err := st.ShardIterator(ctx, 0, typ, seq, at)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			recs, _, _, err := st.GetRecords(ctx, it, 1)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if len(recs) == 0 {
				return ""
			}
			return string(recs[0].Value)
		}
		for _, c := range []struct {
			typ  IteratorType
			seq  string
			at   time.Time
			want string
		}{
			{TrimHorizon, "", time.Time{}, "old-0"},
			{LatestIterator, "", time.Time{}, ""},
			{AtSequenceNumber, SequenceNumber(4), time.Time{}, "new-1"},
			{AfterSequenceNumber, SequenceNumber(4), time.Time{}, "new-2"},
			{AtTimestampIterator, "", mark, "new-0"},
		} {
			if got := first(c.typ, c.seq, c.at); got != c.want {
				t.Fatalf("%s %s: first record %q; want %q", c.typ, c.seq, got, c.want)
			}
		}
		// LATEST is fixed when the iterator is made: a later append is read.
		it, _ := st.ShardIterator(ctx, 0, LatestIterator, "", time.Time{})
		st.Append(ctx, Record{Value: []byte("after")})
		recs, next, _, err := st.GetRecords(ctx, it, 10)
		if err != nil || len(recs) != 1 || string(recs[0].Value) != "after" {
			t.Fatalf("LATEST then append: %v %v", recs, err)
		}
		// Walking with the returned iterators reads everything once.
		it, _ = st.ShardIterator(ctx, 0, TrimHorizon, "", time.Time{})
		var all []string
		for range 10 {
			recs, next, behind, err := st.GetRecords(ctx, it, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 2 && recs[1].Offset < 3 && behind < time.Second {
				t.Fatalf("records appended 1s before the newest report %v behind", behind)
			}
			for _, r := range recs {
				all = append(all, string(r.Value))
			}
			it = next
		}
		if len(all) != 7 || all[0] != "old-0" || all[6] != "after" {
			t.Fatalf("walk read %v", all)
		}
		// Iterators expire like Kinesis's, and garbage is refused.
		time.Sleep(ShardIteratorTTL + time.Second)
		if _, _, _, err := st.GetRecords(ctx, next, 1); !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrIteratorExpired) {
			t.Fatalf("expired iterator: %v", err)
		}
		if _, _, _, err := st.GetRecords(ctx, "garbage", 1); errors.Is(err, ErrIteratorExpired) {
			t.Fatalf("a garbage iterator is reported expired: %v", err)
		}
		if _, _, _, err := st.GetRecords(ctx, "garbage", 1); !errors.Is(err, ErrInvalid) {
			t.Fatalf("garbage iterator: %v", err)
		}
		if _, err := st.ShardIterator(ctx, 0, "SOMEWHERE", "", time.Time{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown type: %v", err)
		}
		if _, err := st.ShardIterator(ctx, 0, AtSequenceNumber, "-1", time.Time{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad sequence number: %v", err)
		}
		other, _ := b.CreateStream(ctx, "other")
		fresh, _ := st.ShardIterator(ctx, 0, TrimHorizon, "", time.Time{})
		if _, _, _, err := other.GetRecords(ctx, fresh, 1); !errors.Is(err, ErrInvalid) {
			t.Fatalf("iterator of another stream: %v", err)
		}
	})
}

func FuzzDecodeShardIterator(f *testing.F) {
	f.Add(shardIterator{stream: "s", partition: 3, offset: 42, issued: time.Unix(1e9, 0)}.encode())
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		it, err := decodeShardIterator(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := decodeShardIterator(it.encode())
		if err != nil || again != it {
			t.Fatalf("re-encoded iterator differs: %+v vs %+v (%v)", again, it, err)
		}
	})
}

func FuzzParseSequenceNumber(f *testing.F) {
	for _, s := range []string{"00000000000000000042", "0", "-1", "+1", "99999999999999999999", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		off, err := ParseSequenceNumber(s)
		if err != nil {
			return
		}
		if back, err := ParseSequenceNumber(SequenceNumber(off)); err != nil || back != off {
			t.Fatalf("%q -> %d -> %q -> %d (%v)", s, off, SequenceNumber(off), back, err)
		}
	})
}
