package idempotency_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/idempotency"
)

// The records survive a restart of the broker: done records with their
// results, claims with their tokens (so the holder can still settle them),
// and expired records are purged on load.
func TestEmbeddedReopen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		url := "file://" + t.TempDir()
		open := func() (*courier.Broker, *idempotency.Embedded) {
			t.Helper()
			b, err := courier.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			s, err := idempotency.NewEmbedded(ctx, b, "idem")
			if err != nil {
				b.Close()
				t.Fatal(err)
			}
			return b, s
		}

		b, s := open()
		done := claim(t, s, "done", longLease, idempotency.Claimed)
		if err := s.Complete(ctx, done, []byte("result"), longTTL); err != nil {
			t.Fatal(err)
		}
		short := claim(t, s, "short", longLease, idempotency.Claimed)
		if err := s.Complete(ctx, short, []byte("gone soon"), time.Minute); err != nil {
			t.Fatal(err)
		}
		held := claim(t, s, "held", 10*time.Minute, idempotency.Claimed)
		released := claim(t, s, "released", longLease, idempotency.Claimed)
		if err := s.Release(ctx, released); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}

		time.Sleep(2 * time.Minute) // "short" expires while the broker is down
		b, s = open()
		defer b.Close()
		if d := claim(t, s, "done", longLease, idempotency.Done); string(d.Result) != "result" {
			t.Errorf("done record after reopen: %q", d.Result)
		}
		claim(t, s, "held", longLease, idempotency.Busy)
		if err := s.Complete(ctx, held, []byte("after restart"), longTTL); err != nil {
			t.Errorf("complete of a claim made before the restart: %v", err)
		}
		claim(t, s, "released", longLease, idempotency.Claimed)

		// The load purged "short": its latest record is a delete marker.
		recs, _, err := b.Stream("idem").Read(ctx, 0, courier.Earliest(), courier.ReadMax(1000))
		if err != nil {
			t.Fatal(err)
		}
		var last []byte
		found := false
		for _, r := range recs {
			if string(r.Key) == "short" {
				last, found = r.Value, true
			}
		}
		if !found || len(last) != 0 {
			t.Errorf("latest record of the expired key: found %v, value %q; want a delete marker", found, last)
		}
		claim(t, s, "short", longLease, idempotency.Claimed)
	})
}

func TestEmbeddedStreamChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b, err := courier.Open(ctx, "mem://")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()

		// A plain stream would age records out: refused.
		if _, err := b.CreateStream(ctx, "plain"); err != nil {
			t.Fatal(err)
		}
		if _, err := idempotency.NewEmbedded(ctx, b, "plain"); !errors.Is(err, courier.ErrConflict) {
			t.Errorf("store on a non-compacted stream: %v; want ErrConflict", err)
		}
		// A compacted stream without retention, made by someone else, is
		// fine, and so is opening the store twice in turn.
		if _, err := b.CreateStream(ctx, "mine", courier.Compacted(time.Hour), courier.StreamRetention(0)); err != nil {
			t.Fatal(err)
		}
		if _, err := idempotency.NewEmbedded(ctx, b, "mine"); err != nil {
			t.Errorf("store on a compacted stream: %v", err)
		}
		// A stream holding other records is not a store.
		st, err := b.CreateStream(ctx, "other", courier.Compacted(0), courier.StreamRetention(0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Append(ctx, courier.Record{Key: []byte("k"), Value: []byte(`{"some":"json"}`), Partition: courier.AnyPartition}); err != nil {
			t.Fatal(err)
		}
		if _, err := idempotency.NewEmbedded(ctx, b, "other"); err == nil {
			t.Error("store on a stream of other records: no error")
		}
		if _, err := idempotency.NewEmbedded(ctx, b, "bad name!"); !errors.Is(err, courier.ErrInvalid) {
			t.Errorf("bad stream name: %v; want ErrInvalid", err)
		}
	})
}
