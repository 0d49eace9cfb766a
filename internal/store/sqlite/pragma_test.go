package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestConnectionPragmas: every connection of the store runs with the
// settings Open gives it, the page caches of the memory budget among them.
// A DSN that no longer reaches a pool (a pragma dropped or misspelt) shows
// here and not in a resident set months later.
func TestConnectionPragmas(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "pragma.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	common := map[string]int64{"busy_timeout": 10000, "foreign_keys": 1, "synchronous": 2, "mmap_size": 0}
	check := func(t *testing.T, c *sql.Conn, want map[string]int64) {
		t.Helper()
		for name, v := range common {
			if _, ok := want[name]; !ok {
				want[name] = v
			}
		}
		for name, v := range want {
			var got int64
			if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", name, err)
			}
			if got != v {
				t.Errorf("PRAGMA %s = %d, want %d", name, got, v)
			}
		}
		var mode string
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("PRAGMA journal_mode = %q, %v; want wal", mode, err)
		}
	}
	conn := func(t *testing.T, db *sql.DB) *sql.Conn {
		t.Helper()
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("writer", func(t *testing.T) {
		check(t, conn(t, s.w), map[string]int64{"cache_size": -writerCacheKiB, "query_only": 0, "wal_autocheckpoint": 0, "journal_size_limit": walLimit})
	})
	t.Run("checkpointer", func(t *testing.T) {
		check(t, conn(t, s.ckpt), map[string]int64{"cache_size": -ckptCacheKiB, "query_only": 0})
	})
	t.Run("readers", func(t *testing.T) {
		// Every reader of the pool at once, so that each is opened.
		n := s.r.Stats().MaxOpenConnections
		if n < 4 {
			t.Fatalf("reader pool of %d, want at least 4", n)
		}
		for range n {
			check(t, conn(t, s.r), map[string]int64{"cache_size": -int64(readerCacheKiB(n)), "query_only": 1})
		}
		if open := s.r.Stats().OpenConnections; open != n {
			t.Errorf("%d readers open, want %d", open, n)
		}
	})
}

// TestCacheBudget: the readers' caches together stay within
// readersCacheKiB however many cores make the pool, down to 1 MiB each.
func TestCacheBudget(t *testing.T) {
	for _, n := range []int{4, 8, 16, 64} {
		each := readerCacheKiB(n)
		if n*each > readersCacheKiB && each > 1<<10 {
			t.Errorf("%d readers of %d KiB: %d KiB in all, over %d", n, each, n*each, readersCacheKiB)
		}
		if each < 1<<10 {
			t.Errorf("%d readers get %d KiB each, under 1 MiB", n, each)
		}
	}
}
