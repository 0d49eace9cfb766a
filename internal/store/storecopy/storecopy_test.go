package storecopy_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store/postgres/pgtest"

	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/postgres"
	"github.com/webcare/webcare/internal/store/sqlite"
	"github.com/webcare/webcare/internal/store/storecopy"
)

// freshSchema is an empty PostgreSQL schema for one test (see pgtest.Schema).
func freshSchema(t *testing.T) string {
	t.Helper()
	_, u := pgtest.Schema(t, "webcare_copy")
	return u
}

var (
	t0  = time.Date(2026, 4, 17, 9, 30, 0, 123_000_000, time.UTC)
	cli = store.Actor{Via: "cli"}
	png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// seeded is what the test put in, to look for afterwards.
type seeded struct {
	agent, admin  store.Agent
	public, priv  int64 // the moved-to-private pair
	attachmentIDs []int64
	session       []byte
	token         []byte
	invite        []byte
	queued        int64 // outbox entry still pending
}

// seed fills every table of an embedded store through the Store API.
func seed(t *testing.T, s store.Store) seeded {
	t.Helper()
	ctx := t.Context()
	check := func(err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	var out seeded
	check(s.SetSetting(ctx, "setup.done", "2026-04-17"), "setting")
	x := store.Channel{Kind: "x", Name: "X", Locale: "nl", TokenHash: []byte("hash-x"), CreatedAt: at(0)}
	check(s.CreateChannel(ctx, &x, cli), "channel x")
	wa := store.Channel{Kind: "whatsapp", Name: "WhatsApp", Settings: map[string]string{"phone": "+31 20 123"}, Disabled: false, CreatedAt: at(0)}
	check(s.CreateChannel(ctx, &wa, cli), "channel whatsapp")
	old := store.Channel{Kind: "api", Name: "Old CRM", Disabled: true, CreatedAt: at(0)}
	check(s.CreateChannel(ctx, &old, cli), "channel api")

	out.admin = store.Agent{Email: "admin@example.com", Name: "Ada", Role: store.RoleAdmin, Languages: []string{"nl", "en"}, Skills: []string{"refunds"}, Capacity: 5, Presence: store.Online, Locale: "nl", PasswordHash: "argon2id$x", CreatedAt: at(0)}
	check(s.CreateAgent(ctx, &out.admin, cli), "admin")
	out.agent = store.Agent{Email: "bo@example.com", Name: "Bo", Role: store.RoleAgent, Capacity: 3, Presence: store.Away, CreatedAt: at(1)}
	check(s.CreateAgent(ctx, &out.agent, cli), "agent")
	off := store.Agent{Email: "gone@example.com", Name: "Gone", Role: store.RoleAgent, Disabled: true, Presence: store.Offline, CreatedAt: at(1)}
	check(s.CreateAgent(ctx, &off, cli), "disabled agent")
	vera := store.Agent{Email: "vera@example.com", Name: "Vera", Role: store.RoleVolunteer, Presence: store.Offline, CreatedAt: at(1)}
	check(s.CreateAgent(ctx, &vera, cli), "invited volunteer")
	team := store.Team{Name: "Baggage", AgentIDs: []int64{out.admin.ID, out.agent.ID}, CreatedAt: at(2)}
	check(s.CreateTeam(ctx, &team, cli), "team")
	empty := store.Team{Name: "Night", CreatedAt: at(2)}
	check(s.CreateTeam(ctx, &empty, cli), "empty team")

	batch := []store.Inbound{
		{ChannelID: x.ID, PlatformID: "x1", Platform: "x", ExternalID: "u1", Handle: "@anna", Name: "Anna Bakker", Body: "Mijn koffer is zoek na vlucht KL1234", Language: "nl", SentAt: at(3), ReceivedAt: at(3), Processed: true},
		{ChannelID: wa.ID, PlatformID: "w1", Platform: "whatsapp", ExternalID: "+31611", Name: "Anna B", Body: "Hier is het bagagelabel", SentAt: at(4), ReceivedAt: at(4),
			Attachments: []store.Attachment{{Name: "label.png", ContentType: "image/png", Data: png}, {Name: "receipt.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 fake")}}},
		{ChannelID: x.ID, PlatformID: "x2", Platform: "x", ExternalID: "u2", Handle: "@carla", Name: "Carla", Body: "Waar blijft mijn terugbetaling?", Language: "nl", SentAt: at(5), ReceivedAt: at(5), Processed: true},
		{ChannelID: wa.ID, PlatformID: "w2", Platform: "whatsapp", ExternalID: "+44771", Name: "Dave", Body: "Flight cancelled, café closed, now what?", Language: "en", SentAt: at(6), ReceivedAt: at(6), Processed: true},
	}
	res, err := s.Ingest(ctx, batch)
	check(err, "ingest")
	check(s.MergeContacts(ctx, res[0].ContactID, res[1].ContactID, cli), "merge anna's identities")

	// Anna's public X thread moves to private; the pair links both ways.
	pub := res[0].ConversationID
	priv, _, _, err := s.MoveToPrivate(ctx, store.Reply{ConversationID: pub, AgentID: out.agent.ID, Body: "Stuur ons een DM", IdempotencyKey: "mv-1", Now: at(7)})
	check(err, "move to private")
	out.public, out.priv = pub, priv.ID
	_, err = s.Ingest(ctx, []store.Inbound{{ChannelID: x.ID, PlatformID: "d1", Platform: "x", ExternalID: "u1", Body: "Mijn boekingscode is ABC123", Private: true, SentAt: at(8), ReceivedAt: at(8), Processed: true}})
	check(err, "private message")

	// Carla: replied and delivered, with a file; a note; assigned, tagged, team.
	carla := res[2].ConversationID
	_, e1, err := s.QueueReply(ctx, store.Reply{ConversationID: carla, AgentID: out.agent.ID, Body: "We kijken ernaar", IdempotencyKey: "r-1", Now: at(9),
		Attachments: []store.Attachment{{Name: "voucher.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 voucher\x00end")}}})
	check(err, "reply")
	claimed, err := s.ClaimOutbox(ctx, at(10), time.Minute, 10)
	check(err, "claim")
	if len(claimed) != 2 {
		t.Fatalf("claimed %d entries, want the move invitation and the reply", len(claimed))
	}
	check(s.DeliverOutbox(ctx, e1.ID, "x-out-1", at(10)), "deliver")
	// A report on a reply whose send is not recorded yet.
	if _, _, err := s.UpdateDelivery(ctx, e1.ChannelID, "x-out-later", store.Delivered, "", at(10)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("early report: %v", err)
	}
	_, err = s.AddNote(ctx, carla, out.admin.ID, "Refund approved by finance", at(11))
	check(err, "note")
	open, assignee, teamID, prio, tags := store.StatusOpen, out.agent.ID, team.ID, 2, []string{"refund", "vip"}
	_, err = s.UpdateConversation(ctx, carla, store.ConversationChange{Status: &open, AssigneeID: &assignee, TeamID: &teamID, Priority: &prio, Tags: &tags}, store.Actor{AgentID: out.admin.ID, Via: "api"})
	check(err, "update conversation")
	// Dave: snoozed, a reply still queued (its claim from before expired).
	dave := res[3].ConversationID
	snoozed, until := store.StatusSnoozed, at(600)
	_, err = s.UpdateConversation(ctx, dave, store.ConversationChange{Status: &snoozed, SnoozedUntil: &until}, cli)
	check(err, "snooze")
	_, e2, err := s.QueueReply(ctx, store.Reply{ConversationID: dave, AgentID: out.admin.ID, Body: "Rebooked you on the next flight", IdempotencyKey: "r-2", Now: at(12)})
	check(err, "queued reply")
	out.queued = e2.ID

	for _, m := range mustMessages(t, s, res[1].ConversationID) {
		for _, a := range m.Attachments {
			out.attachmentIDs = append(out.attachmentIDs, a.ID)
		}
	}

	tpl := store.Template{Name: "Lost luggage", Shortcut: "lost", CreatedAt: at(13), Variants: []store.TemplateVariant{
		{Language: "nl", Body: "Vervelend, {{contact.name}}!"}, {Language: "en", Tone: "formal", Body: "We apologise, {{contact.name}}."}}}
	check(s.CreateTemplate(ctx, &tpl, cli), "template")
	check(s.Audit(ctx, store.AuditEntry{At: at(14), AgentID: out.admin.ID, Action: "crisis.start", Subject: "crisis/1", Detail: "ash cloud"}), "audit")

	out.session = []byte("session-hash")
	check(s.CreateSession(ctx, store.Session{TokenHash: out.session, AgentID: out.agent.ID, ExpiresAt: time.Now().Add(time.Hour),
		Method: "password+totp", Address: "192.0.2.9", UserAgent: "Firefox"}), "session")
	check(s.LinkOIDCSubject(ctx, out.agent.ID, "provider-subject-1"), "sso subject")
	check(s.SetTwoFactor(ctx, out.agent.ID, "JBSWY3DPEHPK3PXP", [][]byte{[]byte("recovery-1"), []byte("recovery-2")}, cli), "two-factor")
	out.token = []byte("token-hash")
	tok := store.APIToken{AgentID: out.admin.ID, Name: "crm", Hash: out.token, CreatedAt: at(15)}
	check(s.CreateAPIToken(ctx, &tok, cli), "api token")
	out.invite = []byte("invite-hash")
	check(s.CreateInvite(ctx, vera.ID, out.invite, time.Now().Add(24*time.Hour), cli), "invite")
	return out
}

func mustMessages(t *testing.T, s store.Store, conversationID int64) []store.Message {
	t.Helper()
	ms, err := s.Messages(t.Context(), conversationID, 0, 1000)
	if err != nil {
		t.Fatalf("messages of %d: %v", conversationID, err)
	}
	return ms
}

// snapshot is everything a store shows through its interface, as JSON, so
// that two engines' views compare with one string comparison.
func snapshot(t *testing.T, s store.Store) map[string]string {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	put := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("snapshot %s: %v", name, err)
		}
		b, _ := json.MarshalIndent(v, "", " ")
		out[name] = string(b)
	}
	v, err := s.Setting(ctx, "setup.done")
	put("setting", v, err)
	chs, err := s.Channels(ctx)
	put("channels", chs, err)
	for _, c := range chs {
		put("channel token "+c.Name, c.TokenHash, nil)
	}
	ags, err := s.Agents(ctx)
	put("agents", ags, err)
	teams, err := s.Teams(ctx)
	put("teams", teams, err)
	tpls, err := s.Templates(ctx)
	put("templates", tpls, err)
	contacts, err := s.Contacts(ctx, store.ContactFilter{Limit: 500})
	put("contacts", contacts, err)
	convs, err := s.Conversations(ctx, store.ConversationFilter{Limit: 500})
	put("conversations", convs, err)
	waiting, err := s.Conversations(ctx, store.ConversationFilter{Limit: 500, Order: store.OrderWaiting, Statuses: []store.Status{store.StatusNew, store.StatusOpen}})
	put("waiting", waiting, err)
	for _, c := range convs {
		ms, err := s.Messages(ctx, c.ID, 0, 1000)
		put("messages of "+c.Subject+c.LastPreview, ms, err)
		for _, m := range ms {
			for _, a := range m.Attachments {
				full, err := s.Attachment(ctx, a.ID)
				put("attachment "+a.Name, full.Data, err)
			}
		}
	}
	audits, err := s.Audits(ctx, "", 0, 500)
	put("audit", audits, err)
	tokens, err := s.APITokens(ctx, 0)
	put("api tokens", tokens, err)
	stats, err := s.Stats(ctx)
	put("stats", stats, err)
	qs, err := s.QueueStats(ctx)
	put("queues", qs, err)
	return out
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestFromSQLite copies a store filled through the API into PostgreSQL and
// finds the same data there through the same API, still working.
func TestFromSQLite(t *testing.T) {
	target := freshSchema(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "webcare.db")
	src, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	sd := seed(t, src)
	before := snapshot(t, src)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	sum := fileSum(t, path)

	var progress []string
	counts, err := storecopy.FromSQLite(ctx, path, target, storecopy.Options{ProgressEvery: 2, Progress: func(table string, rows int64, done bool) {
		if done {
			progress = append(progress, table)
		}
	}})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if fileSum(t, path) != sum {
		t.Error("the copy changed the SQLite file")
	}
	if len(progress) != len(counts) {
		t.Errorf("progress reported %v, want every table of %v", progress, counts)
	}
	for _, c := range counts {
		if c.Source == 0 || c.Source != c.Target {
			t.Errorf("%s: %d rows in SQLite, %d in PostgreSQL; the seed must fill every table and the copy keep them all", c.Table, c.Source, c.Target)
		}
	}

	dst, err := postgres.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	after := snapshot(t, dst)
	for name, want := range before {
		if after[name] != want {
			t.Errorf("%s differs after the copy:\nSQLite:\n%s\nPostgreSQL:\n%s", name, want, after[name])
		}
	}

	t.Run("the moved-to-private pair still links both ways", func(t *testing.T) {
		pub, err := dst.Conversation(ctx, sd.public)
		if err != nil || pub.LinkedID != sd.priv {
			t.Errorf("public conversation links to %d (%v), want %d", pub.LinkedID, err, sd.priv)
		}
		priv, err := dst.Conversation(ctx, sd.priv)
		if err != nil || priv.LinkedID != sd.public || priv.Visibility != store.Private {
			t.Errorf("private conversation = %+v (%v)", priv, err)
		}
	})
	t.Run("attachment bytes", func(t *testing.T) {
		a, err := dst.Attachment(ctx, sd.attachmentIDs[0])
		if err != nil || !bytes.Equal(a.Data, png) {
			t.Errorf("attachment = %q (%v), want the PNG byte for byte", a.Data, err)
		}
	})
	t.Run("contact identities", func(t *testing.T) {
		cs, err := dst.Contacts(ctx, store.ContactFilter{Query: "anna", Limit: 10})
		if err != nil || len(cs) != 1 || len(cs[0].Identities) != 2 {
			t.Errorf("contacts for anna = %+v (%v), want one with both identities", cs, err)
		}
	})
	t.Run("search finds copied messages", func(t *testing.T) {
		for _, q := range []string{"koffer", "cafe", "boekingscode"} {
			r, err := dst.Search(ctx, store.SearchQuery{Text: q, Limit: 10})
			if err != nil || len(r.Conversations) != 1 {
				t.Errorf("search %q = %+v (%v), want one hit", q, r.Conversations, err)
			}
		}
	})
	t.Run("the session still logs in", func(t *testing.T) {
		a, err := dst.SessionAgent(ctx, sd.session, time.Now())
		if err != nil || a.ID != sd.agent.ID {
			t.Errorf("session agent = %d (%v), want %d", a.ID, err, sd.agent.ID)
		}
	})
	t.Run("the API token still works", func(t *testing.T) {
		a, err := dst.APITokenAgent(ctx, sd.token, time.Now())
		if err != nil || a.ID != sd.admin.ID {
			t.Errorf("token agent = %d (%v), want %d", a.ID, err, sd.admin.ID)
		}
	})
	t.Run("the invite still opens", func(t *testing.T) {
		a, err := dst.InvitedAgent(ctx, sd.invite, time.Now())
		if err != nil || a.Email != "vera@example.com" {
			t.Errorf("invited agent = %q (%v)", a.Email, err)
		}
	})
	t.Run("the queued reply can be claimed", func(t *testing.T) {
		es, err := dst.ClaimOutbox(ctx, time.Now(), time.Minute, 10)
		if err != nil || len(es) != 2 {
			t.Fatalf("claimed %+v (%v), want the expired invitation and the queued reply", es, err)
		}
		if es[0].ID != sd.queued && es[1].ID != sd.queued {
			t.Errorf("claimed %+v, want entry %d among them", es, sd.queued)
		}
	})
	t.Run("new records get fresh ids", func(t *testing.T) {
		maxConv := int64(0)
		convs, _ := dst.Conversations(ctx, store.ConversationFilter{Limit: 500})
		for _, c := range convs {
			maxConv = max(maxConv, c.ID)
		}
		chs, _ := dst.Channels(ctx)
		res, err := dst.Ingest(ctx, []store.Inbound{{ChannelID: chs[0].ID, PlatformID: "new-1", Platform: "x", ExternalID: "u9", Name: "Eve", Body: "Hallo", SentAt: time.Now(), ReceivedAt: time.Now(), Processed: true}})
		if err != nil {
			t.Fatalf("ingest after the copy: %v", err)
		}
		if res[0].ConversationID <= maxConv || !res[0].NewContact {
			t.Errorf("ingest after the copy = %+v, want a new conversation past %d", res[0], maxConv)
		}
		ag := store.Agent{Email: "new@example.com", Name: "New", Role: store.RoleAgent, Presence: store.Offline}
		if err := dst.CreateAgent(ctx, &ag, cli); err != nil || ag.ID <= sd.agent.ID {
			t.Errorf("new agent id %d (%v)", ag.ID, err)
		}
		tpl := store.Template{Name: "New", Shortcut: "new"}
		if err := dst.CreateTemplate(ctx, &tpl, cli); err != nil {
			t.Errorf("new template: %v", err)
		}
	})
	t.Run("a second copy into the now filled database is refused", func(t *testing.T) {
		was := snapshot(t, dst)
		_, err := storecopy.FromSQLite(ctx, path, target, storecopy.Options{})
		if !errors.Is(err, storecopy.ErrNotEmpty) || !strings.Contains(err.Error(), "nothing was copied") {
			t.Errorf("second copy: %v, want ErrNotEmpty saying nothing was copied", err)
		}
		now := snapshot(t, dst)
		for name, want := range was {
			if now[name] != want {
				t.Errorf("%s changed by the refused copy", name)
			}
		}
	})
}

// TestFromSQLiteOldSchema: a file behind the newest migration is refused
// before anything else happens, and left as it was.
func TestFromSQLiteOldSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = storecopy.FromSQLite(t.Context(), path, "postgres://nobody@127.0.0.1:1/none", storecopy.Options{})
	if err == nil || !strings.Contains(err.Error(), "webcare migrate --db") {
		t.Errorf("copy of an old file: %v, want a refusal naming webcare migrate", err)
	}
	_, err = storecopy.FromSQLite(t.Context(), filepath.Join(t.TempDir(), "missing.db"), "postgres://nobody@127.0.0.1:1/none", storecopy.Options{})
	if err == nil || !strings.Contains(err.Error(), "missing.db") {
		t.Errorf("copy of a missing file: %v", err)
	}
}
