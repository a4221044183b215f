package idempotency_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/idempotency"
	"github.com/courier-io/courier/internal/servicetest"
)

// backend is one Store implementation under the shared suite.
type backend struct {
	name string
	// bubble runs each case inside testing/synctest: the store's clock is
	// time.Now, so waiting for a lease to end costs no real time.
	bubble bool
	// open returns a fresh, empty store; its resources end with the test.
	open func(t *testing.T) idempotency.Store
	// purge removes expired records (nil: the store expires them itself).
	purge func(ctx context.Context, s idempotency.Store) (int64, error)
}

// The durations of the suite: short ones expire during a case (the real
// servers' cases wait for them by polling), long ones never do.
const (
	shortLease = 200 * time.Millisecond
	longLease  = time.Minute
	shortTTL   = 200 * time.Millisecond
	longTTL    = time.Hour
)

func backends() []backend {
	return []backend{
		{
			name:   "memory",
			bubble: true,
			open:   func(*testing.T) idempotency.Store { return idempotency.NewMemory() },
			purge: func(ctx context.Context, s idempotency.Store) (int64, error) {
				n, err := s.(*idempotency.Memory).Purge(ctx)
				return int64(n), err
			},
		},
		{
			name:   "embedded-mem",
			bubble: true,
			open:   func(t *testing.T) idempotency.Store { return openEmbedded(t, "mem://") },
			purge:  purgeEmbedded,
		},
		{
			name:  "embedded-file",
			open:  func(t *testing.T) idempotency.Store { return openEmbedded(t, "file://"+t.TempDir()) },
			purge: purgeEmbedded,
		},
		{
			name: "redis",
			open: func(t *testing.T) idempotency.Store {
				prefix := "courier-test:idem:" + servicetest.Suffix() + ":"
				return idempotency.NewRedis(servicetest.OpenRedis(t, prefix), prefix)
			},
		},
		{
			name: "postgres",
			open: func(t *testing.T) idempotency.Store { return openPostgresStore(t, servicetest.OpenPostgres(t, 8)) },
			purge: func(ctx context.Context, s idempotency.Store) (int64, error) {
				return s.(*idempotency.Postgres).Purge(ctx)
			},
		},
	}
}

func purgeEmbedded(ctx context.Context, s idempotency.Store) (int64, error) {
	n, err := s.(*idempotency.Embedded).Purge(ctx)
	return int64(n), err
}

func openEmbedded(t *testing.T, url string) *idempotency.Embedded {
	t.Helper()
	ctx := context.Background()
	b, err := courier.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	s, err := idempotency.NewEmbedded(ctx, b, "idempotency")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openPostgresStore(t *testing.T, db *servicetest.Pool) *idempotency.Postgres {
	t.Helper()
	table := "idem_test_" + servicetest.Suffix()
	servicetest.DropTable(t, db, table)
	s, err := idempotency.NewPostgres(context.Background(), db, table)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// suite is the contract every store keeps.
var suite = []struct {
	name string
	run  func(t *testing.T, b backend, s idempotency.Store)
}{
	{"ClaimCompleteDuplicate", testClaimCompleteDuplicate},
	{"Busy", testBusy},
	{"TakeoverAfterLease", testTakeoverAfterLease},
	{"CompleteAfterLeaseWithoutTakeover", testCompleteAfterLeaseWithoutTakeover},
	{"Release", testRelease},
	{"ForgedToken", testForgedToken},
	{"DoneRecordExpires", testDoneRecordExpires},
	{"Purge", testPurge},
	{"RaceOneClaims", testRaceOneClaims},
	{"Do", testDo},
	{"DoPanicReleases", testDoPanicReleases},
	{"InvalidInput", testInvalidInput},
}

func TestStores(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range suite {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					if b.bubble {
						synctest.Test(t, func(t *testing.T) { c.run(t, b, b.open(t)) })
						return
					}
					c.run(t, b, b.open(t))
				})
			}
		})
	}
}

// waitFor polls cond until it holds, failing the test after a while. In a
// synctest bubble the polling advances the fake clock.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func claim(t *testing.T, s idempotency.Store, key string, lease time.Duration, want idempotency.Status) idempotency.Claim {
	t.Helper()
	c, err := s.Claim(context.Background(), key, lease)
	if err != nil {
		t.Fatalf("claim %q: %v", key, err)
	}
	if c.Status != want {
		t.Fatalf("claim %q: status %v, want %v", key, c.Status, want)
	}
	if c.Key != key {
		t.Fatalf("claim %q: key %q", key, c.Key)
	}
	if (c.Token != "") != (want == idempotency.Claimed) {
		t.Fatalf("claim %q (%v): token %q", key, c.Status, c.Token)
	}
	return c
}

// waitClaim polls Claim until it returns Claimed (a lease or TTL ended).
func waitClaim(t *testing.T, s idempotency.Store, key string, lease time.Duration) idempotency.Claim {
	t.Helper()
	var c idempotency.Claim
	waitFor(t, "claim of "+key, func() bool {
		var err error
		c, err = s.Claim(context.Background(), key, lease)
		if err != nil {
			t.Fatalf("claim %q: %v", key, err)
		}
		return c.Status == idempotency.Claimed
	})
	return c
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func testClaimCompleteDuplicate(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	before := time.Now()
	c := claim(t, s, "order-1", longLease, idempotency.Claimed)
	if c.Expires.Before(before.Add(longLease-5*time.Second)) || c.Expires.After(time.Now().Add(longLease+5*time.Second)) {
		t.Errorf("claim expires at %v; want about now + %v", c.Expires, longLease)
	}
	if err := s.Complete(ctx, c, []byte("receipt-1"), longTTL); err != nil {
		t.Fatal(err)
	}
	d := claim(t, s, "order-1", longLease, idempotency.Done)
	if string(d.Result) != "receipt-1" {
		t.Errorf("done result %q, want receipt-1", d.Result)
	}
	if d.Expires.Before(time.Now().Add(longTTL - 5*time.Second)) {
		t.Errorf("done record expires at %v; want about now + %v", d.Expires, longTTL)
	}
	calls := 0
	res, dup, err := idempotency.Do(ctx, s, "order-1", longLease, longTTL, func(context.Context) ([]byte, error) {
		calls++
		return nil, nil
	})
	if err != nil || !dup || string(res) != "receipt-1" || calls != 0 {
		t.Errorf("Do on a done key: result %q dup %v err %v, %d calls; want the recorded result, dup, no call", res, dup, err, calls)
	}
	wantErr(t, "complete twice", s.Complete(ctx, c, []byte("again"), longTTL), idempotency.ErrLostClaim)
	wantErr(t, "release after complete", s.Release(ctx, c), idempotency.ErrLostClaim)
	if d := claim(t, s, "order-1", longLease, idempotency.Done); string(d.Result) != "receipt-1" {
		t.Errorf("result changed to %q", d.Result)
	}

	// An empty result reads back as nil; other keys are independent.
	e := claim(t, s, "order-2", longLease, idempotency.Claimed)
	if err := s.Complete(ctx, e, nil, longTTL); err != nil {
		t.Fatal(err)
	}
	if d := claim(t, s, "order-2", longLease, idempotency.Done); d.Result != nil {
		t.Errorf("empty result read back as %q, want nil", d.Result)
	}
	big := bytes.Repeat([]byte{0, 1, 2, 255}, idempotency.MaxResultSize/4)
	f := claim(t, s, "order-3", longLease, idempotency.Claimed)
	if err := s.Complete(ctx, f, big, longTTL); err != nil {
		t.Fatal(err)
	}
	if d := claim(t, s, "order-3", longLease, idempotency.Done); !bytes.Equal(d.Result, big) {
		t.Errorf("binary result of %d bytes read back as %d bytes", len(big), len(d.Result))
	}
}

func testBusy(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	c := claim(t, s, "k", longLease, idempotency.Claimed)
	b := claim(t, s, "k", longLease, idempotency.Busy)
	if d := b.Expires.Sub(c.Expires).Abs(); d > time.Second {
		t.Errorf("busy claim expires at %v, the holder's at %v", b.Expires, c.Expires)
	}
	_, _, err := idempotency.Do(ctx, s, "k", longLease, longTTL, func(context.Context) ([]byte, error) {
		t.Error("Do called fn on a busy key")
		return nil, nil
	})
	wantErr(t, "Do on a busy key", err, idempotency.ErrBusy)
	var be *idempotency.BusyError
	if !errors.As(err, &be) || be.Key != "k" || be.Until.Sub(c.Expires).Abs() > time.Second {
		t.Errorf("Do on a busy key: %#v, want a *BusyError until %v", err, c.Expires)
	}
	claim(t, s, "other", longLease, idempotency.Claimed)
}

func testTakeoverAfterLease(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	c1 := claim(t, s, "k", shortLease, idempotency.Claimed)
	c2 := waitClaim(t, s, "k", longLease)
	if c2.Token == c1.Token {
		t.Fatal("takeover kept the token")
	}
	wantErr(t, "complete of the old claim", s.Complete(ctx, c1, []byte("one"), longTTL), idempotency.ErrLostClaim)
	wantErr(t, "release of the old claim", s.Release(ctx, c1), idempotency.ErrLostClaim)
	claim(t, s, "k", longLease, idempotency.Busy)
	if err := s.Complete(ctx, c2, []byte("two"), longTTL); err != nil {
		t.Fatal(err)
	}
	if d := claim(t, s, "k", longLease, idempotency.Done); string(d.Result) != "two" {
		t.Errorf("result %q, want the new owner's", d.Result)
	}
}

func testCompleteAfterLeaseWithoutTakeover(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	c := claim(t, s, "k", shortLease, idempotency.Claimed)
	// A key claimed after k with the same lease is a clock: once it can be
	// taken over, k's lease has ended too (by the store's clock).
	claim(t, s, "clock", shortLease, idempotency.Claimed)
	waitClaim(t, s, "clock", longLease)
	if err := s.Complete(ctx, c, []byte("late"), longTTL); err != nil {
		t.Fatalf("complete after the lease, no takeover: %v", err)
	}
	if d := claim(t, s, "k", longLease, idempotency.Done); string(d.Result) != "late" {
		t.Errorf("result %q, want late", d.Result)
	}
}

func testRelease(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	c := claim(t, s, "k", longLease, idempotency.Claimed)
	if err := s.Release(ctx, c); err != nil {
		t.Fatal(err)
	}
	c2 := claim(t, s, "k", longLease, idempotency.Claimed)
	wantErr(t, "release twice", s.Release(ctx, c), idempotency.ErrLostClaim)
	wantErr(t, "complete after release", s.Complete(ctx, c, nil, longTTL), idempotency.ErrLostClaim)
	if err := s.Complete(ctx, c2, []byte("ok"), longTTL); err != nil {
		t.Fatal(err)
	}
}

func testForgedToken(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	c := claim(t, s, "k", longLease, idempotency.Claimed)
	forged := c
	forged.Token = "not-the-token"
	wantErr(t, "complete with another token", s.Complete(ctx, forged, nil, longTTL), idempotency.ErrLostClaim)
	wantErr(t, "release with another token", s.Release(ctx, forged), idempotency.ErrLostClaim)
	other := c
	other.Key = "other"
	wantErr(t, "complete of another key", s.Complete(ctx, other, nil, longTTL), idempotency.ErrLostClaim)
	claim(t, s, "k", longLease, idempotency.Busy)
}

func testDoneRecordExpires(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	c := claim(t, s, "k", longLease, idempotency.Claimed)
	if err := s.Complete(ctx, c, []byte("r"), shortTTL); err != nil {
		t.Fatal(err)
	}
	claim(t, s, "k", longLease, idempotency.Done)
	waitClaim(t, s, "k", longLease)
}

func testPurge(t *testing.T, b backend, s idempotency.Store) {
	if b.purge == nil {
		t.Skipf("%s expires records itself", b.name)
	}
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		c := claim(t, s, k, longLease, idempotency.Claimed)
		if err := s.Complete(ctx, c, []byte(k), shortTTL); err != nil {
			t.Fatal(err)
		}
	}
	keep := claim(t, s, "kept", longLease, idempotency.Claimed)
	if err := s.Complete(ctx, keep, []byte("kept"), longTTL); err != nil {
		t.Fatal(err)
	}
	held := claim(t, s, "held", longLease, idempotency.Claimed)
	var purged int64
	waitFor(t, "purge of the expired records", func() bool {
		n, err := b.purge(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		purged += n
		return purged >= 3
	})
	if purged != 3 {
		t.Errorf("purged %d records, want 3", purged)
	}
	claim(t, s, "kept", longLease, idempotency.Done)
	claim(t, s, "held", longLease, idempotency.Busy)
	claim(t, s, "a", longLease, idempotency.Claimed)
	if err := s.Complete(ctx, held, nil, longTTL); err != nil {
		t.Errorf("complete of an unexpired claim after purge: %v", err)
	}
	if !b.bubble {
		return // the claim grace (a minute) is too long to wait for in real time
	}
	// An expired claim stays for a minute (a slow holder may complete it),
	// then goes.
	late := claim(t, s, "late", shortLease, idempotency.Claimed)
	time.Sleep(shortLease + 30*time.Second)
	if n, err := b.purge(ctx, s); err != nil || n != 0 {
		t.Fatalf("purge within the claim grace: %d, %v; want 0", n, err)
	}
	time.Sleep(31 * time.Second)
	if n, err := b.purge(ctx, s); err != nil || n != 1 {
		t.Fatalf("purge after the claim grace: %d, %v; want 1", n, err)
	}
	wantErr(t, "complete of a purged claim", s.Complete(ctx, late, nil, longTTL), idempotency.ErrLostClaim)
}

func testRaceOneClaims(t *testing.T, _ backend, s idempotency.Store) {
	const racers, keys = 8, 10
	for k := range keys {
		key := fmt.Sprintf("race-%d", k)
		var wg sync.WaitGroup
		start := make(chan struct{})
		statuses := make([]idempotency.Status, racers)
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				<-start
				c, err := s.Claim(context.Background(), key, longLease)
				statuses[i], errs[i] = c.Status, err
			})
		}
		close(start)
		wg.Wait()
		claimed := 0
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("racer %d: %v", i, errs[i])
			}
			switch statuses[i] {
			case idempotency.Claimed:
				claimed++
			case idempotency.Busy:
			default:
				t.Errorf("racer %d: status %v", i, statuses[i])
			}
		}
		if claimed != 1 {
			t.Fatalf("key %s: %d of %d racers claimed it, want exactly 1", key, claimed, racers)
		}
	}
}

func testDo(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	calls := 0
	_, dup, err := idempotency.Do(ctx, s, "k", longLease, longTTL, func(ctx context.Context) ([]byte, error) {
		calls++
		dl, ok := ctx.Deadline()
		if !ok || time.Until(dl) > longLease {
			t.Errorf("fn's context deadline %v (set %v); want at most the lease away", dl, ok)
		}
		return nil, boom
	})
	if !errors.Is(err, boom) || dup || calls != 1 {
		t.Fatalf("Do with a failing fn: dup %v err %v calls %d", dup, err, calls)
	}
	// The failure released the key: the retry runs at once.
	res, dup, err := idempotency.Do(ctx, s, "k", longLease, longTTL, func(context.Context) ([]byte, error) {
		calls++
		return []byte("done"), nil
	})
	if err != nil || dup || string(res) != "done" || calls != 2 {
		t.Fatalf("retry: result %q dup %v err %v calls %d", res, dup, err, calls)
	}
	res, dup, err = idempotency.Do(ctx, s, "k", longLease, longTTL, func(context.Context) ([]byte, error) {
		calls++
		return nil, nil
	})
	if err != nil || !dup || string(res) != "done" || calls != 2 {
		t.Fatalf("duplicate: result %q dup %v err %v calls %d", res, dup, err, calls)
	}
}

func testDoPanicReleases(t *testing.T, _ backend, s idempotency.Store) {
	func() {
		defer func() {
			if r := recover(); r != "handler bug" {
				t.Errorf("recovered %v, want the handler's panic", r)
			}
		}()
		idempotency.Do(context.Background(), s, "k", longLease, longTTL, func(context.Context) ([]byte, error) {
			panic("handler bug")
		})
	}()
	claim(t, s, "k", longLease, idempotency.Claimed)
}

func testInvalidInput(t *testing.T, _ backend, s idempotency.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		key   string
		lease time.Duration
		field string
	}{
		{"", longLease, "key"},
		{strings.Repeat("k", idempotency.MaxKeyLen+1), longLease, "key"},
		{"bad-\xff-utf8", longLease, "key"},
		{"nul\x00byte", longLease, "key"},
		{"k", -time.Second, "lease"},
		{"k", 0, "lease"},
		{"k", time.Microsecond, "lease"},
		{"k", idempotency.MaxLease + time.Second, "lease"},
	} {
		_, err := s.Claim(ctx, tc.key, tc.lease)
		var ve *courier.ValidationError
		if !errors.Is(err, courier.ErrInvalid) || !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("claim %.20q lease %v: %v; want a validation error of %s", tc.key, tc.lease, err, tc.field)
		}
		if len(err.Error()) > 400 {
			t.Errorf("error message is %d bytes long: %.80s...", len(err.Error()), err)
		}
	}
	claim(t, s, strings.Repeat("é", idempotency.MaxKeyLen/2), longLease, idempotency.Claimed) // exactly the limit

	c := claim(t, s, "k", longLease, idempotency.Claimed)
	wantErr(t, "complete of a zero claim", s.Complete(ctx, idempotency.Claim{}, nil, longTTL), courier.ErrInvalid)
	wantErr(t, "release of a zero claim", s.Release(ctx, idempotency.Claim{}), courier.ErrInvalid)
	notClaimed := c
	notClaimed.Status = idempotency.Done
	wantErr(t, "complete of a done claim", s.Complete(ctx, notClaimed, nil, longTTL), courier.ErrInvalid)
	wantErr(t, "negative ttl", s.Complete(ctx, c, nil, -time.Second), courier.ErrInvalid)
	wantErr(t, "zero ttl", s.Complete(ctx, c, nil, 0), courier.ErrInvalid)
	wantErr(t, "result too large", s.Complete(ctx, c, make([]byte, idempotency.MaxResultSize+1), longTTL), courier.ErrTooLarge)
	claim(t, s, "k", longLease, idempotency.Busy) // the rejected calls left the claim alone
	if err := s.Complete(ctx, c, nil, longTTL); err != nil {
		t.Fatal(err)
	}

	// Do checks the TTL before claiming, so a bad TTL leaves no claim.
	_, _, err := idempotency.Do(ctx, s, "fresh", longLease, 0, func(context.Context) ([]byte, error) {
		t.Error("fn called with an invalid ttl")
		return nil, nil
	})
	wantErr(t, "Do with ttl 0", err, courier.ErrInvalid)
	claim(t, s, "fresh", longLease, idempotency.Claimed)
}
