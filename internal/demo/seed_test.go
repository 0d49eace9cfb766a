package demo

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// seeded opens a store and seeds it once per test.
func seeded(t *testing.T) (*sqlite.Store, Seeded, time.Time) {
	t.Helper()
	st := openStore(t)
	now := time.Date(2026, 4, 15, 9, 30, 0, 0, time.UTC)
	s, err := Seed(context.Background(), st, now)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return st, s, now
}

// everything loads every conversation and its messages.
func everything(t *testing.T, st store.Store) ([]store.Conversation, map[int64][]store.Message) {
	t.Helper()
	ctx := context.Background()
	convs, err := st.Conversations(ctx, store.ConversationFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[int64][]store.Message{}
	for _, c := range convs {
		m, err := st.Messages(ctx, c.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		msgs[c.ID] = m
	}
	return convs, msgs
}

// TestSeed seeds one store and checks it from every side; seeding costs a
// password hash and a few hundred transactions, so it is done once.
func TestSeed(t *testing.T) {
	st, s, now := seeded(t)
	t.Run("agents and teams", func(t *testing.T) { seedAgentsAndTeams(t, st, s, now) })
	t.Run("channels", func(t *testing.T) { seedChannels(t, st, s, now) })
	t.Run("templates", func(t *testing.T) { seedTemplates(t, st, s, now) })
	t.Run("history", func(t *testing.T) { seedHistory(t, st, s, now) })
	t.Run("remembers Jayden", func(t *testing.T) { seedRemembersJayden(t, st, s, now) })
	t.Run("refuses a full store", func(t *testing.T) { seedRefusesAFullStore(t, st, s, now) })
}

func seedAgentsAndTeams(t *testing.T, st *sqlite.Store, s Seeded, _ time.Time) {
	ctx := context.Background()
	if s.Email != "admin@heron.example" || s.Password != "heron-demo-2026" {
		t.Errorf("login = %q / %q", s.Email, s.Password)
	}
	admin, err := st.AgentByEmail(ctx, s.Email)
	if err != nil {
		t.Fatal(err)
	}
	if admin.Role != store.RoleAdmin {
		t.Errorf("admin role = %s", admin.Role)
	}
	if err := auth.CheckPassword(admin.PasswordHash, s.Password); err != nil {
		t.Errorf("admin password: %v", err)
	}
	agents, err := st.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(agents); n < 6 || n > 8 {
		t.Errorf("%d agents, want 6–8", n)
	}
	roles := map[store.Role]bool{}
	langs := map[string]bool{}
	for _, a := range agents {
		roles[a.Role] = true
		for _, l := range a.Languages {
			langs[l] = true
		}
		if a.Capacity <= 0 || !a.Presence.Valid() || len(a.Skills) == 0 {
			t.Errorf("agent %s: capacity %d, presence %q, skills %v", a.Email, a.Capacity, a.Presence, a.Skills)
		}
	}
	for _, r := range []store.Role{store.RoleAdmin, store.RoleSupervisor, store.RoleAgent, store.RoleVolunteer, store.RoleField} {
		if !roles[r] {
			t.Errorf("no agent with role %s", r)
		}
	}
	for _, l := range []string{"nl", "en", "de", "fr", "es", "it", "pt", "ja"} {
		if !langs[l] {
			t.Errorf("no agent speaks %s", l)
		}
	}
	teams, err := st.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tm := range teams {
		names = append(names, tm.Name)
		if len(tm.AgentIDs) == 0 {
			t.Errorf("team %s has no members", tm.Name)
		}
	}
	slices.Sort(names)
	if want := []string{"Crisis volunteers", "Webcare International", "Webcare NL"}; !slices.Equal(names, want) {
		t.Errorf("teams = %v, want %v", names, want)
	}
}

func seedChannels(t *testing.T, st *sqlite.Store, s Seeded, _ time.Time) {
	ctx := context.Background()
	kinds := map[string]bool{}
	for _, sc := range s.Channels {
		kinds[sc.Channel.Kind] = true
		if !strings.HasPrefix(sc.Token, "wch_") {
			t.Errorf("channel %s: token %q lacks the wch_ prefix", sc.Channel.Name, sc.Token)
		}
		stored, err := st.Channel(ctx, sc.Channel.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored.TokenHash, auth.HashToken(sc.Token)) {
			t.Errorf("channel %s: stored hash does not match the token", sc.Channel.Name)
		}
	}
	for _, k := range []string{"x", "facebook", "instagram", "whatsapp", "telegram", "mastodon", "email", "webchat", "api"} {
		if !kinds[k] {
			t.Errorf("no %s channel", k)
		}
	}
}

func seedTemplates(t *testing.T, st *sqlite.Store, _ Seeded, _ time.Time) {
	ts, err := st.Templates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byShortcut := map[string]store.Template{}
	for _, tm := range ts {
		byShortcut[tm.Shortcut] = tm
	}
	for _, sc := range []string{"hello", "sorry", "dm", "delay", "bag", "thanks"} {
		tm, ok := byShortcut[sc]
		if !ok {
			t.Errorf("no template %q", sc)
			continue
		}
		langs := map[string]bool{}
		for _, v := range tm.Variants {
			langs[v.Language] = true
			if !strings.Contains(v.Body, "{{contact.name}}") {
				t.Errorf("%s/%s/%s does not greet the contact by name", sc, v.Language, v.Tone)
			}
		}
		for _, l := range []string{"nl", "en", "de", "fr", "es"} {
			if !langs[l] {
				t.Errorf("template %q has no %s variant", sc, l)
			}
		}
	}
	tones := map[string]bool{}
	for _, v := range byShortcut["sorry"].Variants {
		tones[v.Tone] = true
	}
	if !tones["formal"] || !tones["casual"] {
		t.Errorf("apology tones = %v, want formal and casual", tones)
	}
	if !strings.Contains(byShortcut["bag"].Variants[0].Body, "{{conversation.id}}") {
		t.Error("the baggage template does not quote the conversation id")
	}
}

func seedHistory(t *testing.T, st *sqlite.Store, s Seeded, now time.Time) {
	ctx := context.Background()
	contacts, err := st.Contacts(ctx, store.ContactFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(contacts); n < 20 || n > 40 {
		t.Errorf("%d contacts, want 20–40", n)
	}
	merged := 0
	for _, c := range contacts {
		platforms := map[string]bool{}
		for _, id := range c.Identities {
			platforms[id.Platform] = true
		}
		if len(platforms) >= 2 {
			merged++
		}
	}
	if merged == 0 {
		t.Error("no contact has identities on two platforms")
	}

	convs, msgs := everything(t, st)
	perContact := map[int64]int{}
	statuses := map[store.Status]int{}
	delivered, linked := 0, 0
	for _, c := range convs {
		perContact[c.ContactID]++
		statuses[c.Status]++
		if c.LinkedID != 0 {
			linked++
		}
		for _, m := range msgs[c.ID] {
			if m.SentAt.After(now) {
				t.Errorf("message %d is from the future: %v", m.ID, m.SentAt)
			}
			if m.Direction == store.DirOutbound && m.Delivery == store.Sent && m.PlatformID != "" {
				delivered++
			}
			if m.Direction == store.DirOutbound && m.Delivery != store.Sent {
				t.Errorf("reply %d is %s, want sent", m.ID, m.Delivery)
			}
		}
	}
	several := 0
	for _, n := range perContact {
		if n >= 2 {
			several++
		}
	}
	if several < 3 {
		t.Errorf("%d contacts with several conversations, want at least 3", several)
	}
	if statuses[store.StatusResolved] < 10 {
		t.Errorf("%d resolved conversations, want at least 10", statuses[store.StatusResolved])
	}
	for _, want := range []store.Status{store.StatusNew, store.StatusOpen, store.StatusPending, store.StatusSnoozed} {
		if statuses[want] == 0 {
			t.Errorf("no %s conversation to show", want)
		}
	}
	if delivered < 20 {
		t.Errorf("%d delivered replies, want at least 20", delivered)
	}
	if linked < 2 {
		t.Errorf("%d linked conversations, want the public and private threads linked", linked)
	}
	if stats, err := st.Stats(ctx); err != nil || stats.OutboxDepth != 0 {
		t.Errorf("outbox depth %d (%v): seeded replies must all be delivered", stats.OutboxDepth, err)
	}

	if len(s.Regulars) < 10 {
		t.Errorf("%d regulars, want at least 10", len(s.Regulars))
	}
	for _, r := range s.Regulars {
		if r.LastReplyID == "" || r.ExternalID == "" || r.ChannelID == 0 || r.ContactID == 0 || r.Language == "" {
			t.Errorf("incomplete regular %+v", r)
		}
	}
}

// seedRemembersJayden checks the story the demo is built around: a
// customer from last year is back, and his profile holds the old chat.
func seedRemembersJayden(t *testing.T, st *sqlite.Store, _ Seeded, now time.Time) {
	ctx := context.Background()
	found, err := st.Contacts(ctx, store.ContactFilter{Query: "jaydenkstr"})
	if err != nil || len(found) != 1 {
		t.Fatalf("Jayden: %v, %v", found, err)
	}
	convs, err := st.Conversations(ctx, store.ConversationFilter{ContactID: found[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 2 {
		t.Fatalf("Jayden has %d conversations, want 2", len(convs))
	}
	latest, old := convs[0], convs[1]
	if latest.Status != store.StatusNew || now.Sub(latest.LastMessageAt) > time.Hour {
		t.Errorf("latest conversation: %s at %v, want new and recent", latest.Status, latest.LastMessageAt)
	}
	if old.Status != store.StatusResolved || now.Sub(old.LastMessageAt) < 300*24*time.Hour {
		t.Errorf("old conversation: %s at %v, want resolved and about a year old", old.Status, old.LastMessageAt)
	}
	msgs, err := st.Messages(ctx, old.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var sawNote, sawStroopwafel bool
	for _, m := range msgs {
		sawNote = sawNote || m.Direction == store.DirNote
		sawStroopwafel = sawStroopwafel || strings.Contains(m.Body, "stroopwafel")
	}
	if !sawNote || !sawStroopwafel {
		t.Errorf("old conversation: note %t, stroopwafel %t", sawNote, sawStroopwafel)
	}
}

func seedRefusesAFullStore(t *testing.T, st *sqlite.Store, _ Seeded, now time.Time) {
	if _, err := Seed(context.Background(), st, now); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("second Seed: %v, want ErrNotEmpty", err)
	}
}
