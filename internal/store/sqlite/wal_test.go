package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// TestWALStaysBounded: under a steady stream of commits, with readers
// about, the write-ahead log starts over once it passes its limit instead
// of growing with everything ever written (it once reached gigabytes in
// a long ingest and shrank only at a clean shutdown).
func TestWALStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A small limit, passed many times over; the test runs the
	// checkpointer's rounds itself, between batches, so that what it
	// measures does not hang on timing.
	const limit = 256 << 10
	s.walLimit.Store(limit)
	s.ckptEvery.Store(int64(time.Hour))
	ch := store.Channel{Kind: "api", Name: "feed"}
	if err := s.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { // an inbox that keeps reading
		for ctx.Err() == nil {
			s.Conversations(ctx, store.ConversationFilter{Limit: 50})
		}
	})
	var biggest int64
	text := fmt.Sprintf("%0500d", 0)
	for b := range 300 {
		batch := make([]store.Inbound, 50)
		for i := range batch {
			batch[i] = store.Inbound{ChannelID: ch.ID, PlatformID: fmt.Sprintf("m%d-%d", b, i), Platform: "api:1", ExternalID: fmt.Sprintf("u%d", i),
				Body: text, SentAt: time.Now(), ReceivedAt: time.Now()}
		}
		if _, err := s.Ingest(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			biggest = max(biggest, fi.Size())
		}
		s.checkpoint() // the background round
	}
	stop()
	wg.Wait()
	db, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("database %d KiB, largest WAL %d KiB", db.Size()>>10, biggest>>10)
	if biggest > 4*limit {
		t.Errorf("the WAL grew to %d KiB with a limit of %d KiB (database %d KiB): it does not start over", biggest>>10, limit>>10, db.Size()>>10)
	}
}
