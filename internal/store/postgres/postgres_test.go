package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/postgres"
	"github.com/webcare/webcare/internal/store/postgres/pgtest"
	"github.com/webcare/webcare/internal/store/storetest"
)

// freshSchema is an empty schema for one test (see pgtest.Schema).
func freshSchema(t testing.TB) string {
	t.Helper()
	_, u := pgtest.Schema(t, "webcare_test")
	return u
}

// open opens a store on dbURL, closed when the test ends.
func open(t *testing.T, dbURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, freshSchema(t))
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	u := freshSchema(t)
	s := open(t, u)
	v1, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v1 < 1 {
		t.Fatalf("schema version %d after migrating, want at least 1", v1)
	}
	// Opening again finds every migration applied and applies none twice;
	// re-running 0001 would fail on CREATE TABLE.
	s2 := open(t, u)
	v2, err := s2.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v2 != v1 {
		t.Errorf("schema version %d after reopening, want %d", v2, v1)
	}
	wantMigrationRows(t, u, v1)
}

// TestConcurrentMigrators starts several instances on an empty schema at
// once: the advisory lock lets one migrate while the others wait, and they
// all open a complete schema.
func TestConcurrentMigrators(t *testing.T) {
	u := freshSchema(t)
	const instances = 6
	stores := make([]*postgres.Store, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), u) })
	}
	wg.Wait()
	var want int
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("instance %d: open: %v", i, errs[i])
		}
		defer s.Close()
		v, err := s.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = v
		} else if v != want {
			t.Errorf("instance %d sees schema version %d, instance 0 %d", i, v, want)
		}
	}
	wantMigrationRows(t, u, want)
}

func wantMigrationRows(t *testing.T, u string, version int) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, distinct int
	if err := conn.QueryRow(t.Context(), `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != version || distinct != version {
		t.Errorf("schema_migrations holds %d rows (%d versions), want %d", rows, distinct, version)
	}
}

func TestAuditAppendOnly(t *testing.T) {
	u := freshSchema(t)
	s := open(t, u)
	if err := s.Audit(t.Context(), store.AuditEntry{Action: "test.write", Subject: "thing/1", Detail: "original"}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{`UPDATE audit SET detail = 'rewritten'`, `DELETE FROM audit`, `TRUNCATE audit`} {
		t.Run(q, func(t *testing.T) {
			_, err := conn.Exec(t.Context(), q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want the append-only refusal", q, err)
			}
		})
	}
	entries, err := s.Audits(t.Context(), "thing/1", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Detail != "original" {
		t.Errorf("trail = %+v, want the original entry only", entries)
	}
}

// TestClaimsAcrossInstances has several stores (each its own pool, as
// separate webcare instances have) claim from one outbox at once, with
// short leases renewed as they go: no entry may be handed to two workers
// while its lease runs, and every entry is handed out.
func TestClaimsAcrossInstances(t *testing.T) {
	u := freshSchema(t)
	ctx := t.Context()
	const instances, workersPerInstance, entries = 3, 4, 600
	stores := make([]*postgres.Store, instances)
	for i := range stores {
		stores[i] = open(t, u)
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ch := store.Channel{Kind: "x", Name: "X", CreatedAt: now}
	if err := stores[0].CreateChannel(ctx, &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	batch := make([]store.Inbound, entries)
	for i := range batch {
		batch[i] = store.Inbound{ChannelID: ch.ID, PlatformID: fmt.Sprintf("p%d", i), Platform: "x", ExternalID: fmt.Sprintf("user%d", i),
			Body: "where is my bag", SentAt: now, ReceivedAt: now, Processed: true}
	}
	res, err := stores[0].Ingest(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if _, _, err := stores[i%instances].QueueReply(ctx, store.Reply{ConversationID: r.ConversationID, Body: "on its way", IdempotencyKey: fmt.Sprintf("k%d", i), Now: now}); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	claimAt := now.Add(time.Minute)
	for i, s := range stores {
		for w := range workersPerInstance {
			wg.Go(func() {
				for {
					got, err := s.ClaimOutbox(ctx, claimAt, time.Hour, 7)
					if err != nil {
						t.Errorf("instance %d worker %d: claim: %v", i, w, err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, e := range got {
						claimed[e.ID]++
					}
					mu.Unlock()
					for _, e := range got {
						if err := s.DeliverOutbox(ctx, e.ID, "sent-"+e.IdempotencyKey, claimAt); err != nil {
							t.Errorf("deliver %d: %v", e.ID, err)
						}
					}
				}
			})
		}
	}
	wg.Wait()
	if len(claimed) != entries {
		t.Errorf("%d entries claimed, want %d", len(claimed), entries)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("entry %d claimed %d times, want once", id, n)
		}
	}
	if d, err := stores[1].OutboxDepth(ctx); err != nil || d != 0 {
		t.Errorf("outbox depth after delivering everything = %d, %v; want 0", d, err)
	}
}

// TestSearchSnippet checks the snippet around a match deep in a long
// message: cut on both sides with "…", the match counted in characters
// (the accents before it are two bytes each).
func TestSearchSnippet(t *testing.T) {
	s := open(t, freshSchema(t))
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ch := store.Channel{Kind: "x", Name: "X", CreatedAt: now}
	if err := s.CreateChannel(ctx, &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("café crème ", 20) + "ma valise (Zürich→AMS) est perdue " + strings.Repeat("déjà vu ", 20)
	if _, err := s.Ingest(ctx, []store.Inbound{{ChannelID: ch.ID, PlatformID: "p1", Platform: "x", ExternalID: "anna",
		Body: body, SentAt: now, ReceivedAt: now}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ text, match string }{
		{"zurich", "Zürich"},
		{"ams", "AMS"},
		{"valise zur", "valise"},
		{"perd", "perdue"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			res, err := s.Search(ctx, store.SearchQuery{Text: tt.text})
			if err != nil || len(res.Conversations) != 1 {
				t.Fatalf("search: %+v, %v; want one hit", res, err)
			}
			h := res.Conversations[0]
			r := []rune(h.Snippet)
			if !strings.HasPrefix(h.Snippet, "…") || !strings.HasSuffix(h.Snippet, "…") || len(r) > 120 {
				t.Errorf("snippet %q: want a cut, not the whole message", h.Snippet)
			}
			if h.MatchStart < 0 || h.MatchEnd > len(r) || h.MatchStart >= h.MatchEnd {
				t.Fatalf("match %d–%d outside snippet %q", h.MatchStart, h.MatchEnd, h.Snippet)
			}
			if got := string(r[h.MatchStart:h.MatchEnd]); got != tt.match {
				t.Errorf("match %q in %q, want %q", got, h.Snippet, tt.match)
			}
		})
	}
}

// BenchmarkIngest measures the store alone: batches of 256 new messages
// from 64 customers (so most continue a conversation), one transaction
// each, as the ingest pipeline's commit loop sends them.
func BenchmarkIngest(b *testing.B) {
	s, err := postgres.Open(b.Context(), freshSchema(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ch := store.Channel{Kind: "x", Name: "X", CreatedAt: now}
	if err := s.CreateChannel(ctx, &ch, store.Actor{Via: "bench"}); err != nil {
		b.Fatal(err)
	}
	const size = 256
	batch := make([]store.Inbound, size)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			n++
			batch[i] = store.Inbound{ChannelID: ch.ID, PlatformID: fmt.Sprintf("p%d", n), Platform: "x", ExternalID: fmt.Sprintf("user%d", n%64),
				Name: "Customer", Body: fmt.Sprintf("Where is my suitcase? Flight HA%d from Zürich, booking %d", n%900, n), Language: "en",
				SentAt: now, ReceivedAt: now, Processed: true}
		}
		if _, err := s.Ingest(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "msgs/s")
}
