package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/courier-io/courier/internal/pgsql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what Postgres needs of a database handle. A *pgxpool.Pool
// satisfies it (and so does a *pgx.Conn, for one goroutine at a time).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Postgres is a Store in a PostgreSQL table, for consumers spread over
// processes, and the store to use for exactly-once effects: CompleteTx
// records "done" in the caller's transaction, so the business write and
// the record commit together or not at all (DoTx runs the whole protocol).
//
// The table has one row per key (key text primary key, state, token,
// result bytea, expires_at timestamptz), indexed by expires_at. Times are
// the server's (clock_timestamp()). A row whose expiry has passed counts as
// absent, and the next Claim of its key takes it over; Purge deletes the
// expired rows of other keys, so call it periodically.
type Postgres struct {
	db    DB
	table string
	sql   postgresSQL
}

// postgresSQL are the statements of one table, built once.
type postgresSQL struct {
	claim, lookup, complete, release, lock, purge string
}

// The values of the state column.
const (
	pgClaimed = 1
	pgDone    = 2
)

// purgeBatch is how many rows one Purge statement deletes.
const purgeBatch = 5000

// NewPostgres returns a store in table, creating the table and its index if
// they are missing (safe when several processes start at once). table must
// match [a-z_][a-z0-9_]{0,62} (an unqualified name, resolved by the
// connection's search_path); anything else fails with an error wrapping
// courier.ErrInvalid. An existing table of that name must have the store's
// columns.
func NewPostgres(ctx context.Context, db DB, table string) (*Postgres, error) {
	if err := pgsql.ValidateTable("table", table); err != nil {
		return nil, fmt.Errorf("idempotency: postgres: %w", err)
	}
	t := pgx.Identifier{table}.Sanitize()
	index := pgx.Identifier{indexName(table, "_expires_at")}.Sanitize()
	ddl := []string{
		`SELECT pg_advisory_xact_lock(hashtextextended('courier.idempotency.' || $1, 0))`,
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			key        text PRIMARY KEY,
			state      smallint NOT NULL,
			token      text,
			result     bytea,
			expires_at timestamptz NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + t + ` (expires_at)`,
		`SELECT key, state, token, result, expires_at FROM ` + t + ` LIMIT 0`, // the columns are there
	}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for i, q := range ddl {
			var args []any
			if i == 0 {
				args = []any{table}
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency: postgres: create table %q: %w", table, err)
	}
	return &Postgres{db: db, table: table, sql: postgresSQL{
		// Insert a claim, or take over the row if its expiry has passed;
		// no row back means someone holds the key or it is done.
		claim: `INSERT INTO ` + t + ` AS r (key, state, token, result, expires_at)
			VALUES ($1, 1, $2, NULL, clock_timestamp() + $3::bigint * interval '1 microsecond')
			ON CONFLICT (key) DO UPDATE SET state = 1, token = EXCLUDED.token, result = NULL, expires_at = EXCLUDED.expires_at
			WHERE r.expires_at <= clock_timestamp()
			RETURNING expires_at`,
		lookup: `SELECT state, result, expires_at FROM ` + t + ` WHERE key = $1 AND expires_at > clock_timestamp()`,
		complete: `UPDATE ` + t + ` SET state = 2, token = NULL, result = $3,
			expires_at = clock_timestamp() + $4::bigint * interval '1 microsecond'
			WHERE key = $1 AND token = $2 AND state = 1`,
		release: `DELETE FROM ` + t + ` WHERE key = $1 AND token = $2 AND state = 1`,
		lock:    `SELECT 1 FROM ` + t + ` WHERE key = $1 AND token = $2 AND state = 1 FOR UPDATE`,
		purge: `DELETE FROM ` + t + ` WHERE key IN (SELECT key FROM ` + t + `
			WHERE expires_at <= clock_timestamp()
			AND (state = 2 OR expires_at <= clock_timestamp() - $1::bigint * interval '1 microsecond')
			LIMIT ` + fmt.Sprint(purgeBatch) + ` FOR UPDATE SKIP LOCKED)`,
	}}, nil
}

// Table returns the store's table name.
func (p *Postgres) Table() string { return p.table }

// Claim implements Store.
func (p *Postgres) Claim(ctx context.Context, key string, lease time.Duration) (Claim, error) {
	if err := validateClaimArgs(key, lease); err != nil {
		return Claim{}, opError("postgres", "claim", key, err)
	}
	token := newToken()
	// The insert and the lookup are two statements: between them the row
	// may expire or be released, and then the claim is tried again.
	for range 10 {
		var exp time.Time
		err := p.db.QueryRow(ctx, p.sql.claim, key, token, lease.Microseconds()).Scan(&exp)
		if err == nil {
			return Claim{Key: key, Status: Claimed, Token: token, Expires: exp}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return Claim{}, opError("postgres", "claim", key, err)
		}
		var state int16
		var result []byte
		err = p.db.QueryRow(ctx, p.sql.lookup, key).Scan(&state, &result, &exp)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return Claim{}, opError("postgres", "claim", key, err)
		}
		if state == pgDone {
			return Claim{Key: key, Status: Done, Result: clone(result), Expires: exp}, nil
		}
		return Claim{Key: key, Status: Busy, Expires: exp}, nil
	}
	return Claim{}, opError("postgres", "claim", key, errors.New("the key's record kept changing; gave up after 10 attempts"))
}

// Complete implements Store. It commits on its own; to commit the record
// with the business write, use CompleteTx.
func (p *Postgres) Complete(ctx context.Context, c Claim, result []byte, ttl time.Duration) error {
	return p.complete(ctx, p.db, c, result, ttl)
}

// CompleteTx records c as done within tx, the transaction that holds the
// business write, so that both commit or neither does: the way to get
// exactly-once effects. It fails with ErrLostClaim if the store no longer
// holds c (the caller must then roll tx back; committing would apply the
// effect a second time if another consumer took the key over). Once it
// succeeds, c's row stays locked until tx ends, so no one can take the key
// over in between; if tx rolls back, the claim is as it was (call
// Release).
func (p *Postgres) CompleteTx(ctx context.Context, tx pgx.Tx, c Claim, result []byte, ttl time.Duration) error {
	return p.complete(ctx, tx, c, result, ttl)
}

func (p *Postgres) complete(ctx context.Context, db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}, c Claim, result []byte, ttl time.Duration) error {
	if err := validateSettle(c, result, ttl, true); err != nil {
		return opError("postgres", "complete", c.Key, err)
	}
	tag, err := db.Exec(ctx, p.sql.complete, c.Key, c.Token, result, ttl.Microseconds())
	if err != nil {
		return opError("postgres", "complete", c.Key, err)
	}
	if tag.RowsAffected() != 1 {
		return opError("postgres", "complete", c.Key, ErrLostClaim)
	}
	return nil
}

// Release implements Store.
func (p *Postgres) Release(ctx context.Context, c Claim) error {
	if err := validateSettle(c, nil, 0, false); err != nil {
		return opError("postgres", "release", c.Key, err)
	}
	tag, err := p.db.Exec(ctx, p.sql.release, c.Key, c.Token)
	if err != nil {
		return opError("postgres", "release", c.Key, err)
	}
	if tag.RowsAffected() != 1 {
		return opError("postgres", "release", c.Key, ErrLostClaim)
	}
	return nil
}

// DoTx is Do with the effect and the record in one transaction: it claims
// key; if the key is done it returns the recorded result with dup true, if
// it is busy a *BusyError. Otherwise it begins a transaction, locks the
// claim (failing with ErrLostClaim if it was taken over meanwhile), calls
// fn with the transaction and a context that ends with the lease, records
// fn's result with CompleteTx and commits. If fn or the commit fails, the
// transaction is rolled back, the claim released and the error returned:
// either both the effect and the record are committed or neither is, so
// the effect happens exactly once however often the message is delivered
// and wherever consumers crash.
//
// fn must do its writes through tx and must not commit or roll it back.
func (p *Postgres) DoTx(ctx context.Context, key string, lease, ttl time.Duration, fn func(ctx context.Context, tx pgx.Tx) ([]byte, error)) (result []byte, dup bool, err error) {
	inTx := func(ctx context.Context, c Claim) ([]byte, error) {
		tx, err := p.db.Begin(ctx)
		if err != nil {
			return nil, opError("postgres", "begin", key, err)
		}
		defer func() { // after Commit, a no-op
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
			defer cancel()
			_ = tx.Rollback(rctx)
		}()
		var one int
		if err := tx.QueryRow(ctx, p.sql.lock, key, c.Token).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				err = ErrLostClaim
			}
			return nil, opError("postgres", "lock claim", key, err)
		}
		result, err := fn(ctx, tx)
		if err != nil {
			return nil, err
		}
		if err := p.CompleteTx(ctx, tx, c, result, ttl); err != nil {
			return nil, err
		}
		if err := tx.Commit(ctx); err != nil {
			return nil, opError("postgres", "commit", key, err)
		}
		return result, nil
	}
	return protocol(ctx, p, key, lease, ttl, inTx, nil) // inTx records the result
}

// Purge deletes the done rows whose TTL has passed and the claims whose
// lease ended more than a minute ago, in batches, and reports how many.
// Call it periodically; it is safe to run from several processes at once.
func (p *Postgres) Purge(ctx context.Context) (int64, error) {
	var n int64
	for {
		tag, err := p.db.Exec(ctx, p.sql.purge, claimGrace.Microseconds())
		if err != nil {
			return n, fmt.Errorf("idempotency: postgres: purge %q: %w", p.table, err)
		}
		n += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			return n, nil
		}
	}
}

// indexName is table+suffix, cut to PostgreSQL's 63-byte identifier limit.
func indexName(table, suffix string) string {
	if len(table)+len(suffix) > 63 {
		table = table[:63-len(suffix)]
	}
	return table + suffix
}
