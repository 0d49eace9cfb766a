package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
	"github.com/webcare/webcare/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := open(t, filepath.Join(t.TempDir(), "test.db"))
		return s
	})
}

// open opens the database at path. The returned closeNow closes it at once;
// otherwise the test's cleanup does, so that it is closed exactly once.
func open(t *testing.T, path string) (s *sqlite.Store, closeNow func()) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	var once sync.Once
	closeNow = func() {
		once.Do(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close %s: %v", path, err)
			}
		})
	}
	t.Cleanup(closeNow)
	return s, closeNow
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, closeFirst := open(t, path)
	v1, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v1 < 1 {
		t.Fatalf("schema version %d after migrating, want at least 1", v1)
	}
	closeFirst()

	// Opening again finds every migration applied and applies none twice;
	// re-running 0001 would fail on CREATE TABLE.
	s2, _ := open(t, path)
	v2, err := s2.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v2 != v1 {
		t.Errorf("schema version %d after reopening, want %d", v2, v1)
	}
	db := rawDB(t, path)
	var rows, distinct int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != v1 || distinct != v1 {
		t.Errorf("schema_migrations holds %d rows (%d versions), want %d", rows, distinct, v1)
	}
}

// rawDB opens the file with database/sql directly, around the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAuditAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, _ := open(t, path)
	if err := s.Audit(t.Context(), store.AuditEntry{Action: "test.write", Subject: "thing/1", Detail: "original"}); err != nil {
		t.Fatal(err)
	}

	db := rawDB(t, path)
	tests := []struct{ name, query string }{
		{"update", `UPDATE audit SET detail = 'rewritten'`},
		{"delete", `DELETE FROM audit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Exec(tt.query)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want the append-only refusal", tt.query, err)
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

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "test.db")
	when := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	s, closeFirst := open(t, path)
	ch := store.Channel{Kind: "x", Name: "X", Settings: map[string]string{"account": "klm"}, CreatedAt: when}
	if err := s.CreateChannel(ctx, &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Ingest(ctx, []store.Inbound{{ChannelID: ch.ID, PlatformID: "p1", Platform: "x", ExternalID: "anna",
		Name: "Anna", Body: "Waar is mijn koffer?", Language: "nl", SentAt: when, ReceivedAt: when}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "setup_token", "abc"); err != nil {
		t.Fatal(err)
	}
	closeFirst()

	s, _ = open(t, path)
	gotCh, err := s.Channel(ctx, ch.ID)
	if err != nil || gotCh.Name != "X" || gotCh.Settings["account"] != "klm" {
		t.Errorf("channel after reopening = %+v, %v", gotCh, err)
	}
	conv, err := s.Conversation(ctx, res[0].ConversationID)
	if err != nil || conv.LastPreview != "Waar is mijn koffer?" || conv.MessageCount != 1 || !conv.LastMessageAt.Equal(when) {
		t.Errorf("conversation after reopening = %+v, %v", conv, err)
	}
	m, err := s.Message(ctx, res[0].MessageID)
	if err != nil || m.Body != "Waar is mijn koffer?" {
		t.Errorf("message after reopening = %+v, %v", m, err)
	}
	c, err := s.Contact(ctx, res[0].ContactID)
	if err != nil || c.Name != "Anna" || len(c.Identities) != 1 {
		t.Errorf("contact after reopening = %+v, %v", c, err)
	}
	if v, err := s.Setting(ctx, "setup_token"); err != nil || v != "abc" {
		t.Errorf("setting after reopening = %q, %v", v, err)
	}
	// The dedupe key survives too: a re-delivery after a restart is known.
	again, err := s.Ingest(ctx, []store.Inbound{{ChannelID: ch.ID, PlatformID: "p1", Platform: "x", ExternalID: "anna", Body: "again", SentAt: when, ReceivedAt: when}})
	if err != nil || !again[0].Duplicate || again[0].MessageID != res[0].MessageID {
		t.Errorf("re-delivery after reopening = %+v, %v; want a duplicate of message %d", again, err, res[0].MessageID)
	}
}
