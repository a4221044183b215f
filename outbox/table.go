package outbox

import (
	"context"
	"fmt"

	"github.com/courier-io/courier/internal/pgsql"
	"github.com/jackc/pgx/v5"
)

// DB is what EnsureTable and Relay need of a database handle: a
// *pgxpool.Pool satisfies it, and so does a *pgx.Conn (for one goroutine
// at a time).
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// EnsureTable creates the outbox table if it is missing (safe when several
// processes start at once). table must match [a-z_][a-z0-9_]{0,62} (an
// unqualified name, resolved by the connection's search_path); anything
// else fails with an error wrapping courier.ErrInvalid. The table's rows are
// the messages not yet published:
//
//	id           bigint identity primary key  publishing order, dedup ID
//	kind, destination, body, headers (jsonb), msg_group, dedup_id,
//	delay_us, source, detail_type              the Message
//	created_at   timestamptz
//	available_at timestamptz                  the relay's next attempt
//	attempts     int, last_error text         failed attempts so far
//
// A message that fails to publish stays, with attempts and last_error set,
// so that an operator can see why (SELECT * FROM table WHERE attempts > 0).
func EnsureTable(ctx context.Context, db DB, table string) error {
	if err := pgsql.ValidateTable("table", table); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	t := pgx.Identifier{table}.Sanitize()
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('courier.outbox.' || $1, 0))`, table); err != nil {
			return err
		}
		for _, q := range []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
				id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				kind         text NOT NULL,
				destination  text NOT NULL,
				body         bytea NOT NULL,
				headers      jsonb,
				msg_group    text NOT NULL DEFAULT '',
				dedup_id     text NOT NULL DEFAULT '',
				delay_us     bigint NOT NULL DEFAULT 0,
				source       text NOT NULL DEFAULT '',
				detail_type  text NOT NULL DEFAULT '',
				created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
				available_at timestamptz NOT NULL DEFAULT clock_timestamp(),
				attempts     integer NOT NULL DEFAULT 0,
				last_error   text NOT NULL DEFAULT ''
			)`,
			`SELECT ` + columns + `, available_at, created_at, last_error FROM ` + t + ` LIMIT 0`, // the columns are there
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: create table %q: %w", table, err)
	}
	return nil
}

// columns are the columns the relay reads, in scan order.
const columns = `id, kind, destination, body, headers, msg_group, dedup_id, delay_us, source, detail_type, attempts`

// Write adds m to the outbox table within tx, the caller's transaction,
// and returns the row's id. The message is published (by a Relay) only if
// tx commits; if tx rolls back, it never existed. Write also notifies the
// relays listening on the table (see Listen), on commit. m is checked as
// the broker would check it (destination name, sizes, headers, group and
// dedup ID, for a bus the event fields), and an invalid m fails with an
// error wrapping courier.ErrInvalid and leaves tx usable.
func Write(ctx context.Context, tx pgx.Tx, table string, m Message) (id int64, err error) {
	if err := pgsql.ValidateTable("table", table); err != nil {
		return 0, fmt.Errorf("outbox: write: %w", err)
	}
	if err := m.validate(); err != nil {
		return 0, fmt.Errorf("outbox: write to %s %q: %w", m.Kind, m.Destination, err)
	}
	body := m.Body
	if body == nil {
		body = []byte{}
	}
	var headers map[string]string
	if len(m.Headers) > 0 {
		headers = m.Headers
	}
	q := `WITH m AS (
			INSERT INTO ` + pgx.Identifier{table}.Sanitize() + ` (kind, destination, body, headers, msg_group, dedup_id, delay_us, source, detail_type)
			VALUES ($1, $2, $3, $4, $5, COALESCE(NULLIF($6, ''), 'outbox-' || gen_random_uuid()::text), $7, $8, $9) RETURNING id
		) SELECT m.id FROM m, pg_notify($10, '')`
	err = tx.QueryRow(ctx, q, string(m.Kind), m.Destination, body, headers, m.Group, m.DedupID, m.Delay.Microseconds(),
		m.Source, m.DetailType, table).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("outbox: write to %s %q: %w", m.Kind, m.Destination, err)
	}
	return id, nil
}
