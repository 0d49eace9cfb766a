package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// A request whose context ends while the writer restarts the WAL leaves the
// writer's busy_timeout at 200 ms for good.
func TestWALRestartCancelledKeepsTheTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.ckptEvery.Store(int64(time.Hour))
	ch := store.Channel{Kind: "api", Name: "feed"}
	if err := s.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	// A reader holding a snapshot on the log: RESTART waits for it.
	rc, err := s.r.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rtx, err := rc.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	rtx.QueryRow(`SELECT count(*) FROM channels`).Scan(&n)
	// more writes so the log has frames past the reader's snapshot
	ch2 := store.Channel{Kind: "api", Name: "feed2"}
	s.CreateChannel(t.Context(), &ch2, store.Actor{Via: "test"})

	s.walFull.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = s.tx(ctx, func(*sql.Tx) error { return nil })
	t.Logf("tx: %v", err)
	rtx.Rollback()
	var bt int
	if err := s.w.QueryRow(`PRAGMA busy_timeout`).Scan(&bt); err != nil {
		t.Fatal(err)
	}
	if bt != 10000 {
		t.Errorf("writer busy_timeout is %d ms after a cancelled restart, want 10000", bt)
	}
}

// Under writer contention, restartWAL's later statements wait for the one
// connection; a request context that ends meanwhile skips the reset.
func TestWALRestartContendedKeepsTheTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.ckptEvery.Store(int64(time.Hour))
	stopc := make(chan struct{})
	done := make(chan struct{})
	for range 4 {
		go func() {
			for {
				select {
				case <-stopc:
					done <- struct{}{}
					return
				default:
				}
				s.tx(context.Background(), func(*sql.Tx) error { time.Sleep(2 * time.Millisecond); return nil })
			}
		}()
	}
	for i := range 200 {
		s.walFull.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%5)*time.Millisecond)
		s.tx(ctx, func(*sql.Tx) error { return nil })
		cancel()
	}
	close(stopc)
	for range 4 {
		<-done
	}
	var bt int
	if err := s.w.QueryRow(`PRAGMA busy_timeout`).Scan(&bt); err != nil {
		t.Fatal(err)
	}
	if bt != 10000 {
		t.Errorf("writer busy_timeout is %d ms after restarts under contention, want 10000", bt)
	}
}
