// Package storecopy moves an embedded (SQLite) database into PostgreSQL, for
// a team that outgrows one machine: every table, ids kept, in one
// PostgreSQL transaction, so that a failure leaves the target as it was.
//
// The source is only read, never changed. The target must be empty: copying
// into a database that already holds data would mix two histories with
// clashing ids, so it is refused rather than offered with a --force.
package storecopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/webcare/webcare/internal/store/postgres"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// ErrNotEmpty is returned, wrapped with the tables that hold rows, when the
// target database already holds data. Nothing has been copied then.
var ErrNotEmpty = errors.New("the target database already holds data")

// Count is one table's rows in the source and, after the copy, the target.
type Count struct {
	Table          string
	Source, Target int64
}

// Options tune a copy. The zero value is fine.
type Options struct {
	// Progress, when set, is called as a table's rows arrive (every
	// ProgressEvery rows) and once when it is done.
	Progress func(table string, rows int64, done bool)
	// ProgressEvery is how many rows pass between Progress calls; 0 means
	// 10,000.
	ProgressEvery int64
}

// FromSQLite copies the SQLite database file at path into the PostgreSQL
// database at postgresURL. It brings the target's schema up to date first
// (as postgres.Open does for the server), refuses a target that holds data
// (ErrNotEmpty), then copies every table in one transaction, moves each id
// sequence past the copied ids, and commits only if every table's count
// matches. It returns the counts. The source must be at the newest SQLite
// migration; it is opened read-only.
func FromSQLite(ctx context.Context, path, postgresURL string, o Options) ([]Count, error) {
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10000
	}
	src, err := openSource(ctx, path)
	if err != nil {
		return nil, err
	}
	defer src.Close()

	// Migrating is postgres.Open's job, with its lock against instances
	// migrating at the same time; the copy then has a connection of its own
	// for its single transaction.
	pg, err := postgres.Open(ctx, postgresURL)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL database: %w", err)
	}
	pg.Close()
	conn, err := pgx.Connect(ctx, postgresURL)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	// One read transaction on the source: every table from the same
	// moment, even if something still writes to the file.
	rtx, err := src.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer rtx.Rollback()

	var counts []Count
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := lockEmpty(ctx, tx); err != nil {
			return err
		}
		for _, t := range tables {
			n, err := copyTable(ctx, rtx, tx, t, o)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			c := Count{Table: t.name, Source: n}
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+t.name).Scan(&c.Target); err != nil {
				return fmt.Errorf("count %s: %w", t.name, err)
			}
			var want int64
			if err := rtx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.name).Scan(&want); err != nil {
				return fmt.Errorf("count %s in %s: %w", t.name, path, err)
			}
			if c.Target != want || c.Source != want {
				return fmt.Errorf("%s: %d rows in %s, %d read, %d in PostgreSQL: nothing was copied", t.name, want, path, c.Source, c.Target)
			}
			if t.identity {
				// The next id PostgreSQL makes must not clash with a copied one.
				if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM `+t.name, t.name); err != nil {
					return fmt.Errorf("move the id sequence of %s: %w", t.name, err)
				}
			}
			counts = append(counts, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The planner knows nothing of a million rows that arrived in one go
	// until autovacuum gets round to them; measured on a seeded store, inbox
	// queries took 128 ms before and 3 ms after. Analyse now.
	for _, t := range tables {
		if _, err := conn.Exec(ctx, `ANALYZE `+t.name); err != nil {
			return counts, fmt.Errorf("analyze %s (the copy itself is committed): %w", t.name, err)
		}
	}
	return counts, nil
}

// openSource opens the file read-only and checks that its schema is the one
// the table list describes. An older file is refused rather than migrated
// here: the copy never writes to the database the team still runs on, and
// "webcare migrate" with WEBCARE_DB brings it up to date in one step.
func openSource(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // the copy reads in one transaction, on one connection
	var v int
	err = db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s is not a webcare database: %w", path, err)
	}
	if want := sqlite.LatestVersion(); v != want {
		db.Close()
		if v > want {
			return nil, fmt.Errorf("%s is at schema version %d, newer than this webcare knows (%d): copy it with the webcare that wrote it", path, v, want)
		}
		return nil, fmt.Errorf("%s is at schema version %d, not %d: bring it up to date first with `webcare migrate --db %s`, without a database URL (the copy itself only reads the file)", path, v, want, path)
	}
	return db, nil
}

// lockEmpty locks every table against writers until the copy commits, then
// refuses if any holds a row. The lock also makes a second copy started at
// the same time wait, and then find the data of the first.
func lockEmpty(ctx context.Context, tx pgx.Tx) error {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.name
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock the target tables: %w", err)
	}
	var full []string
	for _, t := range tables {
		var has bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.name+`)`).Scan(&has); err != nil {
			return fmt.Errorf("look into %s: %w", t.name, err)
		}
		if has {
			full = append(full, t.name)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w (%s), so nothing was copied: the copy goes only into an empty database, to never mix two histories; name a new database or schema", ErrNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// copyTable streams one table from SQLite into PostgreSQL with COPY: rows
// are read, converted and sent as they come, so memory stays flat however
// large the table (attachments included).
func copyTable(ctx context.Context, src *sql.Tx, dst pgx.Tx, t table, o Options) (int64, error) {
	names := make([]string, len(t.columns))
	for i, c := range t.columns {
		names[i] = c.name
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+t.name+` ORDER BY `+t.orderBy)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	defer rows.Close()
	r := &reader{rows: rows, t: t, o: o, raw: make([]any, len(t.columns)), ptrs: make([]any, len(t.columns)), out: make([]any, len(t.columns))}
	for i := range r.raw {
		r.ptrs[i] = &r.raw[i]
	}
	n, err := dst.CopyFrom(ctx, pgx.Identifier{t.name}, names, r)
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return n, err
	}
	if o.Progress != nil {
		o.Progress(t.name, n, true)
	}
	return n, nil
}

// reader is a pgx.CopyFromSource over SQLite rows, converting as it goes.
type reader struct {
	rows *sql.Rows
	t    table
	o    Options
	raw  []any
	ptrs []any
	out  []any
	n    int64
	err  error
}

func (r *reader) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = err
		return false
	}
	for i, c := range r.t.columns {
		v, err := c.convert(r.raw[i])
		if err != nil {
			r.err = fmt.Errorf("row %d, column %s: %w", r.n+1, c.name, err)
			return false
		}
		r.out[i] = v
	}
	r.n++
	if r.o.Progress != nil && r.n%r.o.ProgressEvery == 0 {
		r.o.Progress(r.t.name, r.n, false)
	}
	return true
}

func (r *reader) Values() ([]any, error) { return r.out, nil }

func (r *reader) Err() error { return r.err }
