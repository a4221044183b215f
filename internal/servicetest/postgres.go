package servicetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Pool is a small pool of pgx connections with the methods the stores
// use (Exec, QueryRow, Begin), standing in for a *pgxpool.Pool: this module
// does not require pgxpool's own dependency.
type Pool struct {
	cfg   *pgx.ConnConfig
	slots chan *pgx.Conn // nil entries are connections to open on demand
	mu    sync.Mutex
	all   []*pgx.Conn
}

// OpenPostgres returns a pool of size connections to PostgresURL, closed
// at the end of the test. It skips or fails the test (see SkipOrFail) when
// the server cannot be reached.
func OpenPostgres(t testing.TB, size int) *Pool {
	t.Helper()
	cfg, err := pgx.ParseConfig(PostgresURL())
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		SkipOrFail(t, "PostgreSQL at "+cfg.Host, PostgresEnv, err)
	}
	p := &Pool{cfg: cfg, slots: make(chan *pgx.Conn, size), all: []*pgx.Conn{first}}
	p.slots <- first
	for range size - 1 {
		p.slots <- nil
	}
	t.Cleanup(p.close)
	return p
}

// Config returns the configuration the pool opens its connections with,
// for a test that needs a connection of its own. It must not be modified.
func (p *Pool) Config() *pgx.ConnConfig { return p.cfg }

func (p *Pool) get(ctx context.Context) (*pgx.Conn, error) {
	select {
	case c := <-p.slots:
		if c != nil && !c.IsClosed() {
			return c, nil
		}
		c, err := pgx.ConnectConfig(ctx, p.cfg)
		if err != nil {
			p.slots <- nil
			return nil, err
		}
		p.mu.Lock()
		p.all = append(p.all, c)
		p.mu.Unlock()
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) put(c *pgx.Conn) { p.slots <- c }

func (p *Pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.all {
		_ = c.Close(context.Background())
	}
}

// Exec runs sql on a connection of the pool.
func (p *Pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c, err := p.get(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer p.put(c)
	return c.Exec(ctx, sql, args...)
}

// QueryRow runs sql on a connection of the pool, which returns to the pool
// when the row is scanned.
func (p *Pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c, err := p.get(ctx)
	if err != nil {
		return errRow{err}
	}
	return &poolRow{row: c.QueryRow(ctx, sql, args...), release: func() { p.put(c) }}
}

// Begin starts a transaction on a connection of the pool, which returns to
// the pool when the transaction commits or rolls back.
func (p *Pool) Begin(ctx context.Context) (pgx.Tx, error) {
	c, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		p.put(c)
		return nil, err
	}
	return &poolTx{Tx: tx, release: sync.OnceFunc(func() { p.put(c) })}, nil
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type poolRow struct {
	row     pgx.Row
	release func()
}

func (r *poolRow) Scan(dest ...any) error {
	defer r.release()
	return r.row.Scan(dest...)
}

// poolTx returns its connection to the pool when it ends.
type poolTx struct {
	pgx.Tx
	release func()
}

func (tx *poolTx) Commit(ctx context.Context) error {
	defer tx.release()
	return tx.Tx.Commit(ctx)
}

func (tx *poolTx) Rollback(ctx context.Context) error {
	defer tx.release()
	return tx.Tx.Rollback(ctx)
}

// DropTable drops table from db when the test ends.
func DropTable(t testing.TB, db *Pool, table string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize()); err != nil {
			t.Errorf("drop table %s: %v", table, err)
		}
	})
}
