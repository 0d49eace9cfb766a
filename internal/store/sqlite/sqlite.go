// Package sqlite is the embedded store: one SQLite file on a pure-Go driver,
// in WAL mode, with one writer connection and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/webcare/webcare/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite implementation of store.Store.
type Store struct {
	w    *sql.DB // exactly one connection: SQLite has one writer anyway
	r    *sql.DB // readers, which WAL lets run beside the writer
	ckpt *sql.DB // the checkpointer's own connection
	wal  string  // the write-ahead log's file
	// walFull asks the writer to checkpoint between two transactions;
	// walLimit is when (walLimit below, or less in tests).
	walFull  atomic.Bool
	walLimit atomic.Int64
	// ckptEvery is the background checkpoint's pace (500 ms; less in tests).
	ckptEvery atomic.Int64
	// ingest holds the hot path's statements, prepared once on w.
	ingest *ingestStmts
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. synchronous=FULL makes every commit durable: an
// acknowledged message survives a crash or power loss. Group commit in the
// ingest pipeline keeps that affordable.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := func(cacheKiB int, extra ...string) string {
		q := url.Values{}
		for _, p := range append([]string{"busy_timeout(10000)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)", fmt.Sprintf("cache_size(%d)", -cacheKiB)}, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	// The writer never checkpoints itself: copying the WAL back into the
	// database would stall a commit that agents and webhooks wait on. A
	// background checkpointer does it instead.
	// journal_size_limit: each time the WAL starts over, the file is cut
	// back to walLimit, so a burst does not leave it large for good.
	w, err := sql.Open("sqlite", dsn(writerCacheKiB, "wal_autocheckpoint(0)", fmt.Sprintf("journal_size_limit(%d)", walLimit))+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{w: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if s.ingest, err = prepareIngest(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r, err := sql.Open("sqlite", dsn(readerCacheKiB(n), "query_only(1)"))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	ckpt, err := sql.Open("sqlite", dsn(ckptCacheKiB))
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	ckpt.SetMaxOpenConns(1)
	s.ckpt, s.stop, s.done, s.wal = ckpt, make(chan struct{}), make(chan struct{}), path+"-wal"
	s.walLimit.Store(walLimit)
	s.ckptEvery.Store(int64(500 * time.Millisecond))
	go s.checkpointLoop()
	return s, nil
}

// The embedded store's memory budget (issue 11, item 8): at most 150 MB
// resident at a million conversations under `webcare bench queries`, whose
// mix runs one call at a time and then from eight goroutines at once, so
// that every reader is busy (docs/benchmarks.md, "Memory budget on the
// embedded store"). SQLite's page caches are most of it, and a full one
// costs about twice its cache_size: the C allocator (modernc.org/memory)
// gives a 4 KiB page and its header an 8 KiB slot. At 64 MiB on every
// connection the bench peaked at 288 MB (a server, whose writer and
// checkpointer fill theirs too, reached 340–400 MB); with the caches
// below it peaks at 127–135 MB with the inbox as fast as before, and no
// higher while 200,000 messages are ingested meanwhile. Half the readers'
// caches (4 MiB each) saved another 24 MB but made the scans of the team
// queue and the counts 15–25 % slower. Memory-mapped reads (mmap_size)
// were measured and rejected: each connection maps the file on its own
// and the pages it touches count in the resident set once per connection
// (574 MB). soft_heap_limit and hard_heap_limit do nothing in this build
// of SQLite (SQLITE_DEFAULT_MEMSTATUS=0).
const (
	// writerCacheKiB is the writer's page cache: ingest updates
	// conversations and the search index all over the file.
	writerCacheKiB = 8 << 10
	// readersCacheKiB is shared by the reader pool (readerCacheKiB), so
	// that a machine with more cores, and so more readers, keeps to the
	// budget.
	readersCacheKiB = 32 << 10
	// ckptCacheKiB is the checkpointer's: it copies frames from the log
	// to the database file and reads next to nothing through the cache.
	ckptCacheKiB = 1 << 10
)

// readerCacheKiB is each of n readers' share of readersCacheKiB, and
// never less than 1 MiB.
func readerCacheKiB(n int) int { return max(1<<10, readersCacheKiB/n) }

// walLimit bounds the write-ahead log: past it the writer checkpoints
// between two transactions, so that the log starts over, and every start
// over cuts the file back to it (journal_size_limit).
const walLimit = 64 << 20

// restartWAL starts the log over from the writer, between two
// transactions, where nobody writes: it copies what the background
// checkpointer has not (little), then waits for the readers still on the
// old log, a fifth of a second at most (queries are short; new ones read
// the database file), and resets the log; journal_size_limit then cuts
// the file back to walLimit. If readers hold on longer, a later round
// tries again.
func (s *Store) restartWAL(ctx context.Context) {
	// One connection for all three statements, and contexts that do not
	// end: a caller that gives up between them must not leave the writer
	// with the short timeout for good.
	conn, err := s.w.Conn(context.WithoutCancel(ctx))
	if err != nil {
		return
	}
	defer conn.Close()
	bg := context.Background()
	if _, err := conn.ExecContext(bg, `PRAGMA busy_timeout = 200`); err != nil {
		return
	}
	defer conn.ExecContext(bg, `PRAGMA busy_timeout = 10000`)
	conn.ExecContext(bg, `PRAGMA wal_checkpoint(RESTART)`)
}

// checkpointLoop copies the WAL back into the database file every so often,
// off the commit path (PASSIVE: it never waits for or blocks anyone). The
// log starts over only when a checkpoint has copied every frame and then
// a transaction begins; under a steady stream of commits the background
// checkpoint never quite catches up, so the file grew without end (to
// gigabytes in a long ingest). Past walLimit the loop asks the writer to
// start the log over between two transactions (restartWAL).
func (s *Store) checkpointLoop() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(time.Duration(s.ckptEvery.Load())):
			s.checkpoint()
		}
	}
}

// checkpoint is one round of checkpointLoop.
func (s *Store) checkpoint() {
	// Errors are transient (busy); the next round tries again.
	s.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
	if fi, err := os.Stat(s.wal); err == nil && fi.Size() > s.walLimit.Load() {
		s.walFull.Store(true)
	}
}

// Close stops the checkpointer, then closes every pool; the last close
// checkpoints and removes the WAL.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		err = errors.Join(s.ckpt.Close(), s.r.Close(), s.w.Close())
	})
	return err
}

// SchemaVersion reports the newest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrate applies the embedded numbered migrations that are missing, each in
// its own transaction.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	all, err := store.Migrations(migrations, "migrations")
	if err != nil {
		return err
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range all {
		if m.Version <= current {
			continue
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, ms(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// tx runs fn in a write transaction and commits if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.walFull.CompareAndSwap(true, false) {
		s.restartWAL(ctx)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// audit appends to the trail inside the caller's transaction, so that a
// change and its record commit together.
func audit(ctx context.Context, tx *sql.Tx, by store.Actor, action, subject, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, agent_id, action, subject, detail) VALUES (?, ?, ?, ?, ?)`,
		ms(time.Now()), nullID(by.AgentID), action, subject, withVia(by, detail))
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

// ms turns a time into the Unix milliseconds stored in the database.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func nullMS(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return ms(*t)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func strList(s string) []string {
	out := []string{}
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

// notFound turns sql.ErrNoRows into store.ErrNotFound with what was missing.
func notFound(err error, what string, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %v: %w", what, id, store.ErrNotFound)
	}
	return err
}

// conflict turns a uniqueness violation into store.ErrConflict.
func conflict(err error, what string) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s already exists: %w", what, store.ErrConflict)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s refers to a record that does not exist: %w", what, store.ErrNotFound)
		}
	}
	return err
}

// Setting reads a small instance-wide value.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, notFound(err, "setting", key)
}

// SetSetting writes a small instance-wide value; an empty value deletes it.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if value == "" {
		_, err := s.w.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, key)
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// LatestVersion is the newest migration this build knows: the version a
// database file has once Open has brought it up to date.
func LatestVersion() int {
	all, err := store.Migrations(migrations, "migrations")
	if err != nil || len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Version
}
