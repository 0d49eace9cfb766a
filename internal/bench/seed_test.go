package bench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// TestSeedAndQueries builds a tiny data set and measures its queries, to
// prove both scenarios work end to end; the figures come from `webcare bench
// seed` and `webcare bench queries` at a million conversations.
func TestSeedAndQueries(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "seed.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var out strings.Builder
	// A long idle window keeps enough conversations open for the lists.
	res, err := Seed(ctx, st, SeedOptions{Conversations: 200, Messages: 1000, Batch: 100, Now: now, OpenDays: 120, Seed: 7, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	total, err := st.CountConversations(ctx, store.ConversationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != 200 || res.Conversations != 200 || res.Contacts != 50 {
		t.Errorf("stored %d conversations, reported %+v; want 200 of 50 contacts", total, res)
	}
	resolved, err := st.CountConversations(ctx, store.ConversationFilter{Statuses: []store.Status{store.StatusResolved}})
	if err != nil {
		t.Fatal(err)
	}
	if resolved != 200-res.Open || res.Open == 0 || res.Open > 60 {
		t.Errorf("%d resolved, %d open: want most resolved and some open\n%s", resolved, res.Open, out.String())
	}

	out.Reset()
	qs, err := Queries(ctx, st, QueriesOptions{Runs: 3, Parallel: 2, Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(qs) < 10 || !strings.HasPrefix(qs[0].Name, "baseline") {
		t.Fatalf("got %d query kinds, want the baseline first and the inbox and search kinds:\n%s", len(qs), out.String())
	}
	for _, q := range qs {
		if q.Runs != 3 || q.P50 <= 0 || q.P99 < q.P50 {
			t.Errorf("kind %q measured nothing sensible: %+v", q.Name, q)
		}
		if strings.HasPrefix(q.Name, "inbox all, newest") && q.Rows == 0 {
			t.Errorf("the inbox is empty: %+v", q)
		}
	}
	for _, want := range []string{"after the calls one at a time, memory:", "from 2 goroutines at once, 1 rounds each", "at the end, memory:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "inbox all, newest first"); n != 2 {
		t.Errorf("inbox all, newest first printed %d times, want once per phase:\n%s", n, out.String())
	}
}
