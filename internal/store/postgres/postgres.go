// Package postgres is the store for deployments that outgrow one machine:
// PostgreSQL through pgx, shared by as many webcare instances as needed.
// It behaves like the embedded engine wherever webcare can tell (the
// storetest contract suite holds both to it) and differs where PostgreSQL
// does better: work claims with FOR UPDATE SKIP LOCKED, full-text search
// with tsvector and GIN, and ingest batches sent as one pipelined round trip.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/webcare/webcare/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://…; pgx's pool settings
// such as pool_max_conns may be added to it) and brings the schema up to
// date. Several instances may open the same database at once: an advisory
// lock makes them migrate one after the other, so each migration runs once.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		// Times come back in UTC, as from the embedded engine.
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes every connection.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// SchemaVersion reports the newest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrateLockClass is the first half of the migration's advisory lock key;
// the second is the schema, so that databases shared by schemas (tests)
// migrate side by side.
const migrateLockClass = 0x77636d67 // "wcmg"

// migrate applies the embedded numbered migrations that are missing, each in
// its own transaction, holding a session advisory lock throughout: an
// instance that starts while another migrates waits, then finds the work
// done.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, migrateLockClass); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// A lock left behind by a failed unlock dies with the connection.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, migrateLockClass); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	all, err := store.Migrations(migrations, "migrations")
	if err != nil {
		return err
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range all {
		if m.Version <= current {
			continue
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: the simple protocol, which runs a file of
			// several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// Retryable SQLSTATEs: the transaction lost a race and may simply run again.
const (
	codeSerialization = "40001"
	codeDeadlock      = "40P01"
	codeUnique        = "23505"
	codeForeignKey    = "23503"
)

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// tx runs fn in a transaction and commits if it returns nil. A deadlock or
// serialization failure (rare: concurrent writers touching the same rows in
// different orders) runs fn again, up to three times.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.txRetry(ctx, fn, codeSerialization, codeDeadlock)
}

// txRetry is tx with the SQLSTATEs that make it try again.
func (s *Store) txRetry(ctx context.Context, fn func(pgx.Tx) error, retryOn ...string) error {
	const attempts = 3
	var err error
	for range attempts {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		code := sqlState(err)
		if code == "" || !slices.Contains(retryOn, code) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// audit appends to the trail inside the caller's transaction, so that a
// change and its record commit together.
func audit(ctx context.Context, tx pgx.Tx, by store.Actor, action, subject, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit (at, agent_id, action, subject, detail) VALUES ($1, $2, $3, $4, $5)`,
		ts(time.Now()), nullID(by.AgentID), action, subject, withVia(by, detail))
	return err
}

func withVia(by store.Actor, detail string) string {
	if by.Via == "" {
		return detail
	}
	if detail == "" {
		return "via " + by.Via
	}
	return detail + " (via " + by.Via + ")"
}

// ts is a time as the store keeps it: whole milliseconds in UTC, like the
// embedded engine, so that a value read back equals the one a cursor holds.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// nullTS is an optional time: nil and the zero time are NULL.
func nullTS(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := ts(*t)
	return &v
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// orEmpty keeps lists non-nil, as the embedded engine returns them.
func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// notFound turns pgx.ErrNoRows into store.ErrNotFound with what was missing.
func notFound(err error, what string, id any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s %v: %w", what, id, store.ErrNotFound)
	}
	return err
}

// conflict turns a uniqueness violation into store.ErrConflict and a
// reference to a missing record into store.ErrNotFound.
func conflict(err error, what string) error {
	switch sqlState(err) {
	case codeUnique:
		return fmt.Errorf("%s already exists: %w", what, store.ErrConflict)
	case codeForeignKey:
		return fmt.Errorf("%s refers to a record that does not exist: %w", what, store.ErrNotFound)
	}
	return err
}

// Setting reads a small instance-wide value.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	return v, notFound(err, "setting", key)
}

// SetSetting writes a small instance-wide value; an empty value deletes it.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if value == "" {
		_, err := s.pool.Exec(ctx, `DELETE FROM settings WHERE key = $1`, key)
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
