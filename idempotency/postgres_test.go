package idempotency_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/idempotency"
	"github.com/courier-io/courier/internal/servicetest"
	"github.com/jackc/pgx/v5"
)

func TestPostgresTableNames(t *testing.T) {
	t.Parallel()
	db := servicetest.OpenPostgres(t, 2)
	ctx := context.Background()
	for _, name := range []string{
		"", "Upper", "1starts_with_digit", "has-dash", "has space", "x; DROP TABLE users; --", `quo"te`,
		"schema.table", "ümlaut", strings.Repeat("a", 64),
	} {
		_, err := idempotency.NewPostgres(ctx, db, name)
		var ve *courier.ValidationError
		if !errors.Is(err, courier.ErrInvalid) || !errors.As(err, &ve) || ve.Field != "table" {
			t.Errorf("table %q: %v; want a validation error of table", name, err)
		}
	}
	// Valid names are quoted, so reserved words work; the longest name
	// still gets an index name within the identifier limit.
	for _, name := range []string{"select_" + servicetest.Suffix(), "_" + servicetest.Suffix() + strings.Repeat("x", 50)} {
		servicetest.DropTable(t, db, name)
		s, err := idempotency.NewPostgres(ctx, db, name)
		if err != nil {
			t.Fatalf("table %q: %v", name, err)
		}
		claim(t, s, "k", longLease, idempotency.Claimed)
	}
	// A reserved word, in a schema of this test's own (found through
	// search_path) so that parallel runs do not share the table.
	schema := "idem_test_" + servicetest.Suffix()
	if _, err := db.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	cfg, err := pgx.ParseConfig(servicetest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	s, err := idempotency.NewPostgres(ctx, conn, "user")
	if err != nil {
		t.Fatalf("table named by a reserved word: %v", err)
	}
	claim(t, s, "k", longLease, idempotency.Claimed)
}

func TestPostgresCreateConcurrently(t *testing.T) {
	t.Parallel()
	db := servicetest.OpenPostgres(t, 6)
	table := "idem_test_" + servicetest.Suffix()
	servicetest.DropTable(t, db, table)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { _, errs[i] = idempotency.NewPostgres(context.Background(), db, table) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("creator %d: %v", i, err)
		}
	}
}

func TestPostgresForeignTable(t *testing.T) {
	t.Parallel()
	db := servicetest.OpenPostgres(t, 1)
	ctx := context.Background()
	table := "idem_test_" + servicetest.Suffix()
	servicetest.DropTable(t, db, table)
	if _, err := db.Exec(ctx, "CREATE TABLE "+table+" (id int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := idempotency.NewPostgres(ctx, db, table); err == nil || !strings.Contains(err.Error(), table) {
		t.Errorf("store on a table with other columns: %v; want an error naming the table", err)
	}
}

// business creates a table for the effects of a test's handlers.
func business(t *testing.T, db *servicetest.Pool) string {
	t.Helper()
	table := "idem_effects_" + servicetest.Suffix()
	servicetest.DropTable(t, db, table)
	if _, err := db.Exec(context.Background(), "CREATE TABLE "+table+" (key text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	return table
}

func effects(t *testing.T, db *servicetest.Pool, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPostgresCompleteTx(t *testing.T) {
	t.Parallel()
	db := servicetest.OpenPostgres(t, 4)
	s := openPostgresStore(t, db)
	effectsTable := business(t, db)
	ctx := context.Background()

	c := claim(t, s, "k", longLease, idempotency.Claimed)
	// Rolled back: neither the effect nor the record.
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+effectsTable+" VALUES ('k')"); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteTx(ctx, tx, c, []byte("r"), longTTL); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := effects(t, db, effectsTable); n != 0 {
		t.Fatalf("%d effects after rollback", n)
	}
	claim(t, s, "k", longLease, idempotency.Busy) // still ours

	// Committed: both.
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+effectsTable+" VALUES ('k')"); err != nil {
			return err
		}
		return s.CompleteTx(ctx, tx, c, []byte("r"), longTTL)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := effects(t, db, effectsTable); n != 1 {
		t.Fatalf("%d effects after commit", n)
	}
	if d := claim(t, s, "k", longLease, idempotency.Done); string(d.Result) != "r" {
		t.Errorf("result %q", d.Result)
	}

	// After a takeover, CompleteTx refuses, so the caller rolls back.
	old := claim(t, s, "k2", shortLease, idempotency.Claimed)
	waitClaim(t, s, "k2", longLease)
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+effectsTable+" VALUES ('k2')"); err != nil {
			return err
		}
		return s.CompleteTx(ctx, tx, old, nil, longTTL)
	})
	wantErr(t, "CompleteTx after takeover", err, idempotency.ErrLostClaim)
	if n := effects(t, db, effectsTable); n != 1 {
		t.Fatalf("%d effects; the lost claim's effect was committed", n)
	}
}

// A claim completed in an open transaction cannot be taken over, even
// once its lease ends: the takeover waits for the transaction and then
// sees the key done.
func TestPostgresCompleteTxHoldsOffTakeover(t *testing.T) {
	t.Parallel()
	db := servicetest.OpenPostgres(t, 4)
	s := openPostgresStore(t, db)
	ctx := context.Background()
	c := claim(t, s, "k", shortLease, idempotency.Claimed)
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := s.CompleteTx(ctx, tx, c, []byte("first"), longTTL); err != nil {
		t.Fatal(err)
	}
	claim(t, s, "clock", shortLease, idempotency.Claimed)
	waitClaim(t, s, "clock", longLease) // k's lease has ended too

	got := make(chan idempotency.Claim, 1)
	go func() {
		c, err := s.Claim(ctx, "k", longLease)
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	waitFor(t, "the takeover to wait for the row lock", func() bool {
		var n int
		err := db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%'||$1||'%'`, s.Table()).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if c := <-got; c.Status != idempotency.Done || string(c.Result) != "first" {
		t.Fatalf("claim after the commit: %v %q; want done with the committed result", c.Status, c.Result)
	}
}

func TestPostgresDoTx(t *testing.T) {
	t.Parallel()
	db := servicetest.OpenPostgres(t, 4)
	s := openPostgresStore(t, db)
	effectsTable := business(t, db)
	ctx := context.Background()
	insert := func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		_, err := tx.Exec(ctx, "INSERT INTO "+effectsTable+" VALUES ('k')")
		return []byte("inserted"), err
	}
	boom := errors.New("boom")
	_, _, err := s.DoTx(ctx, "k", longLease, longTTL, func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		if _, err := insert(ctx, tx); err != nil {
			return nil, err
		}
		return nil, boom
	})
	wantErr(t, "DoTx with a failing fn", err, boom)
	if n := effects(t, db, effectsTable); n != 0 {
		t.Fatalf("%d effects after a failed fn", n)
	}
	res, dup, err := s.DoTx(ctx, "k", longLease, longTTL, insert)
	if err != nil || dup || string(res) != "inserted" {
		t.Fatalf("DoTx: %q %v %v", res, dup, err)
	}
	res, dup, err = s.DoTx(ctx, "k", longLease, longTTL, func(context.Context, pgx.Tx) ([]byte, error) {
		t.Error("fn called for a done key")
		return nil, nil
	})
	if err != nil || !dup || string(res) != "inserted" {
		t.Fatalf("DoTx duplicate: %q %v %v", res, dup, err)
	}
	if n := effects(t, db, effectsTable); n != 1 {
		t.Fatalf("%d effects, want 1", n)
	}

	// A key another consumer holds: busy, fn not called.
	c := claim(t, s, "busy", longLease, idempotency.Claimed)
	_, _, err = s.DoTx(ctx, "busy", longLease, longTTL, insert)
	wantErr(t, "DoTx on a busy key", err, idempotency.ErrBusy)
	if err := s.Release(ctx, c); err != nil {
		t.Fatal(err)
	}
}
