package storetest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
)

var directoryTests = []testCase{
	{"channel round trip", testChannelRoundTrip},
	{"channel update", testChannelUpdate},
	{"agent round trip", testAgentRoundTrip},
	{"agent e-mail is unique ignoring case", testAgentEmailUnique},
	{"team membership both ways", testTeamMembership},
	{"team name is unique", testTeamUnique},
	{"template round trip", testTemplateRoundTrip},
	{"template update replaces variants", testTemplateUpdate},
	{"template delete", testTemplateDelete},
	{"template shortcut is unique", testTemplateShortcutUnique},
	{"settings", testSettings},
	{"audit trail", testAuditTrail},
	{"ending an agent's sessions", testEndSessions},
}

// testEndSessions: an agent is signed out everywhere but the session kept,
// their API tokens go only when asked, others' are untouched, and it is
// audited.
func testEndSessions(f *fixture) {
	ann, bob := f.agent("ann@example.org"), f.agent("bob@example.org")
	for i, s := range []store.Session{{TokenHash: []byte("ann-1"), AgentID: ann.ID}, {TokenHash: []byte("ann-2"), AgentID: ann.ID}, {TokenHash: []byte("ann-3"), AgentID: ann.ID}, {TokenHash: []byte("bob-1"), AgentID: bob.ID}} {
		s.ExpiresAt = base.Add(time.Hour)
		f.check(f.s.CreateSession(f.ctx, s), "session %d", i)
	}
	for _, tk := range []store.APIToken{{AgentID: ann.ID, Name: "ann's", Hash: []byte("t-ann")}, {AgentID: bob.ID, Name: "bob's", Hash: []byte("t-bob")}} {
		f.check(f.s.CreateAPIToken(f.ctx, &tk, system), "token")
	}
	live := func(hash string) bool {
		_, err := f.s.SessionAgent(f.ctx, []byte(hash), base)
		return err == nil
	}
	n, err := f.s.EndSessions(f.ctx, ann.ID, []byte("ann-2"), false, system)
	f.check(err, "end sessions")
	if n != 2 || live("ann-1") || !live("ann-2") || live("ann-3") || !live("bob-1") {
		f.t.Errorf("ended %d; live: ann-1 %t ann-2 %t ann-3 %t bob-1 %t; want only ann-1 and ann-3 ended",
			n, live("ann-1"), live("ann-2"), live("ann-3"), live("bob-1"))
	}
	if toks, _ := f.s.APITokens(f.ctx, ann.ID); len(toks) != 1 {
		f.t.Errorf("ann's tokens %v; without tokens asked they stay", toks)
	}
	n, err = f.s.EndSessions(f.ctx, ann.ID, nil, true, system)
	f.check(err, "end sessions and tokens")
	if n != 2 || live("ann-2") {
		f.t.Errorf("ended %d, ann-2 live %t; want the last session and the token", n, live("ann-2"))
	}
	if toks, _ := f.s.APITokens(f.ctx, ann.ID); len(toks) != 0 {
		f.t.Errorf("ann's tokens %v after ending them", toks)
	}
	if toks, _ := f.s.APITokens(f.ctx, bob.ID); len(toks) != 1 || !live("bob-1") {
		f.t.Errorf("bob lost his token or session: %v", toks)
	}
	trail, err := f.s.Audits(f.ctx, fmt.Sprintf("agent/%d", ann.ID), 0, 50)
	f.check(err, "audits")
	if !slices.ContainsFunc(trail, func(e store.AuditEntry) bool { return e.Action == "agent.sessions_end" }) {
		f.t.Errorf("no agent.sessions_end in the trail: %+v", trail)
	}
}

func testChannelRoundTrip(f *fixture) {
	c := store.Channel{Kind: "whatsapp", Name: "WhatsApp NL", Locale: "nl", Settings: map[string]string{"phone_id": "31612345678", "waba": "x"},
		TokenHash: []byte{1, 2, 3, 250}, CreatedAt: at(0)}
	f.check(f.s.CreateChannel(f.ctx, &c, system), "create")
	other := f.channel("x", "X")

	got, err := f.s.Channel(f.ctx, c.ID)
	f.check(err, "channel")
	wantChannel(f.t, got, c)
	list, err := f.s.Channels(f.ctx)
	f.check(err, "channels")
	if len(list) != 2 {
		f.t.Fatalf("%d channels, want 2", len(list))
	}
	for _, l := range list {
		switch l.ID {
		case c.ID:
			wantChannel(f.t, l, c)
		case other.ID:
			wantChannel(f.t, l, other)
		default:
			f.t.Errorf("unexpected channel %+v", l)
		}
	}
}

func wantChannel(t *testing.T, got, c store.Channel) {
	t.Helper()
	if got.ID != c.ID || got.Kind != c.Kind || got.Name != c.Name || got.Locale != c.Locale || got.Disabled != c.Disabled ||
		!slices.Equal(got.TokenHash, c.TokenHash) || !maps.Equal(got.Settings, c.Settings) || !sameTime(got.CreatedAt, c.CreatedAt) {
		t.Errorf("channel = %+v, want %+v", got, c)
	}
}

func testChannelUpdate(f *fixture) {
	c := f.channel("x", "X")
	c.Name, c.Locale, c.Disabled = "X (oud)", "en", true
	c.Settings = map[string]string{"account": "klm"}
	c.TokenHash = []byte("new hash")
	f.check(f.s.UpdateChannel(f.ctx, &c, system), "update")
	got, err := f.s.Channel(f.ctx, c.ID)
	f.check(err, "channel")
	wantChannel(f.t, got, c)

	unknown := c
	unknown.ID = c.ID + 1000
	f.wantErr("update unknown channel", f.s.UpdateChannel(f.ctx, &unknown, system), store.ErrNotFound)
}

func testAgentRoundTrip(f *fixture) {
	tm := f.team("Baggage")
	a := store.Agent{Email: "  Anna.Bakker@Example.COM ", Name: "Anna Bakker", Role: store.RoleSupervisor,
		Languages: []string{"nl", "en"}, Skills: []string{"baggage", "refunds"}, Capacity: 5, Presence: store.Away, Locale: "nl",
		TeamIDs: []int64{tm.ID}, PasswordHash: "$argon2id$hash", CreatedAt: at(0)}
	f.check(f.s.CreateAgent(f.ctx, &a, system), "create")
	if a.ID == 0 {
		f.t.Fatal("CreateAgent left ID 0")
	}
	other := f.agent("other@example.com")

	check := func(what string, got store.Agent) {
		f.t.Helper()
		want(f.t, what+" id", got.ID, a.ID)
		want(f.t, what+" email", got.Email, "anna.bakker@example.com")
		want(f.t, what+" name", got.Name, a.Name)
		want(f.t, what+" role", got.Role, store.RoleSupervisor)
		wantSlice(f.t, what+" languages", got.Languages, []string{"nl", "en"})
		wantSlice(f.t, what+" skills", got.Skills, []string{"baggage", "refunds"})
		want(f.t, what+" capacity", got.Capacity, 5)
		want(f.t, what+" presence", got.Presence, store.Away)
		want(f.t, what+" locale", got.Locale, "nl")
		want(f.t, what+" disabled", got.Disabled, false)
		want(f.t, what+" password hash", got.PasswordHash, "$argon2id$hash")
		wantSlice(f.t, what+" teams", got.TeamIDs, []int64{tm.ID})
		f.wantTime(what+" created at", got.CreatedAt, at(0))
	}
	got, err := f.s.Agent(f.ctx, a.ID)
	f.check(err, "agent")
	check("by id", got)
	got, err = f.s.AgentByEmail(f.ctx, "ANNA.BAKKER@example.com")
	f.check(err, "agent by e-mail")
	check("by e-mail", got)

	list, err := f.s.Agents(f.ctx)
	f.check(err, "agents")
	if len(list) != 2 {
		f.t.Fatalf("%d agents, want 2", len(list))
	}
	for _, l := range list {
		if l.ID == a.ID {
			check("listed", l)
		} else if l.ID != other.ID {
			f.t.Errorf("unexpected agent %+v", l)
		}
	}

	a.Name, a.Role, a.Capacity, a.Presence, a.Locale = "Anna B.", store.RoleAgent, 2, store.Online, "en"
	a.Languages, a.Skills = []string{"de"}, nil
	f.check(f.s.UpdateAgent(f.ctx, &a, system), "update")
	got, err = f.s.Agent(f.ctx, a.ID)
	f.check(err, "agent after update")
	want(f.t, "updated name", got.Name, "Anna B.")
	want(f.t, "updated role", got.Role, store.RoleAgent)
	want(f.t, "updated capacity", got.Capacity, 2)
	want(f.t, "updated presence", got.Presence, store.Online)
	want(f.t, "updated locale", got.Locale, "en")
	wantSlice(f.t, "updated languages", got.Languages, []string{"de"})
	want(f.t, "updated skills", len(got.Skills), 0)

	unknown := a
	unknown.ID, unknown.Email = a.ID+1000, "ghost@example.com"
	f.wantErr("update unknown agent", f.s.UpdateAgent(f.ctx, &unknown, system), store.ErrNotFound)
}

func testAgentEmailUnique(f *fixture) {
	anna := f.agent("anna@example.com")
	dup := store.Agent{Email: "ANNA@Example.com", Name: "Other Anna", Role: store.RoleAgent}
	f.wantErr("create with a taken e-mail", f.s.CreateAgent(f.ctx, &dup, system), store.ErrConflict)

	bert := f.agent("bert@example.com")
	bert.Email = "Anna@EXAMPLE.com"
	f.wantErr("update to a taken e-mail", f.s.UpdateAgent(f.ctx, &bert, system), store.ErrConflict)
	got, err := f.s.Agent(f.ctx, bert.ID)
	f.check(err, "bert")
	want(f.t, "bert's e-mail after the refused update", got.Email, "bert@example.com")
	got, err = f.s.AgentByEmail(f.ctx, "anna@example.com")
	f.check(err, "anna")
	want(f.t, "owner of the e-mail", got.ID, anna.ID)
	list, err := f.s.Agents(f.ctx)
	f.check(err, "agents")
	want(f.t, "agents", len(list), 2)
}

func testTeamMembership(f *fixture) {
	a := f.agent("a@example.com")
	t1 := f.team("Baggage", a.ID)
	t2 := f.team("Refunds")
	b := store.Agent{Email: "b@example.com", Name: "B", Role: store.RoleAgent, TeamIDs: []int64{t2.ID, t1.ID}}
	f.check(f.s.CreateAgent(f.ctx, &b, system), "create b")

	members := func(id int64) []int64 {
		f.t.Helper()
		tm, err := f.s.Team(f.ctx, id)
		f.check(err, "team %d", id)
		slices.Sort(tm.AgentIDs)
		return tm.AgentIDs
	}
	teams := func(id int64) []int64 {
		f.t.Helper()
		ag, err := f.s.Agent(f.ctx, id)
		f.check(err, "agent %d", id)
		slices.Sort(ag.TeamIDs)
		return ag.TeamIDs
	}
	wantSlice(f.t, "members of t1", members(t1.ID), []int64{a.ID, b.ID})
	wantSlice(f.t, "members of t2", members(t2.ID), []int64{b.ID})
	wantSlice(f.t, "teams of b", teams(b.ID), []int64{t1.ID, t2.ID})
	wantSlice(f.t, "teams of a", teams(a.ID), []int64{t1.ID})

	// Through the agent: b leaves t1.
	b.TeamIDs = []int64{t2.ID}
	f.check(f.s.UpdateAgent(f.ctx, &b, system), "update b")
	wantSlice(f.t, "members of t1 after b left", members(t1.ID), []int64{a.ID})
	wantSlice(f.t, "teams of b after leaving", teams(b.ID), []int64{t2.ID})

	// Through the team: t2 becomes a alone, and is renamed.
	t2.Name, t2.AgentIDs = "Refunds & Claims", []int64{a.ID}
	f.check(f.s.UpdateTeam(f.ctx, &t2, system), "update t2")
	wantSlice(f.t, "teams of b after t2 changed", teams(b.ID), []int64{})
	wantSlice(f.t, "teams of a after t2 changed", teams(a.ID), []int64{t1.ID, t2.ID})
	got, err := f.s.Team(f.ctx, t2.ID)
	f.check(err, "t2")
	want(f.t, "t2 name", got.Name, "Refunds & Claims")
	f.wantTime("t2 created at", got.CreatedAt, base)

	list, err := f.s.Teams(f.ctx)
	f.check(err, "teams")
	var names []string
	for _, tm := range list {
		names = append(names, tm.Name)
	}
	slices.Sort(names)
	wantSlice(f.t, "team names", names, []string{"Baggage", "Refunds & Claims"})

	ghost := store.Team{Name: "Ghosts", AgentIDs: []int64{4242}}
	f.wantErr("team with an unknown member", f.s.CreateTeam(f.ctx, &ghost, system), store.ErrNotFound)
	unknown := t2
	unknown.ID, unknown.Name = t2.ID+1000, "Nobody"
	f.wantErr("update unknown team", f.s.UpdateTeam(f.ctx, &unknown, system), store.ErrNotFound)
}

func testTeamUnique(f *fixture) {
	f.team("Baggage")
	dup := store.Team{Name: "Baggage"}
	f.wantErr("create a taken name", f.s.CreateTeam(f.ctx, &dup, system), store.ErrConflict)
	other := f.team("Refunds")
	other.Name = "Baggage"
	f.wantErr("rename to a taken name", f.s.UpdateTeam(f.ctx, &other, system), store.ErrConflict)
	list, err := f.s.Teams(f.ctx)
	f.check(err, "teams")
	want(f.t, "teams", len(list), 2)
}

// sortedVariants orders variants by language and tone, for comparing.
func sortedVariants(vs []store.TemplateVariant) []store.TemplateVariant {
	out := slices.Clone(vs)
	slices.SortFunc(out, func(a, b store.TemplateVariant) int {
		return cmp.Or(cmp.Compare(a.Language, b.Language), cmp.Compare(a.Tone, b.Tone))
	})
	return out
}

func wantTemplate(f *fixture, what string, got, t store.Template) {
	f.t.Helper()
	want(f.t, what+" id", got.ID, t.ID)
	want(f.t, what+" name", got.Name, t.Name)
	want(f.t, what+" shortcut", got.Shortcut, t.Shortcut)
	wantSlice(f.t, what+" variants", sortedVariants(got.Variants), sortedVariants(t.Variants))
}

func testTemplateRoundTrip(f *fixture) {
	t := store.Template{Name: "Lost baggage", Shortcut: "bag", CreatedAt: at(0), Variants: []store.TemplateVariant{
		{Language: "nl", Tone: "formal", Body: "Beste {{contact.name}}, het spijt ons."},
		{Language: "nl", Tone: "casual", Body: "Hoi {{contact.name}}, balen!"},
		{Language: "en", Body: "Dear {{contact.name}}, we are sorry."},
	}}
	f.check(f.s.CreateTemplate(f.ctx, &t, system), "create")
	if t.ID == 0 {
		f.t.Fatal("CreateTemplate left ID 0")
	}
	empty := store.Template{Name: "Empty", Shortcut: "empty"}
	f.check(f.s.CreateTemplate(f.ctx, &empty, system), "create empty")

	got, err := f.s.Template(f.ctx, t.ID)
	f.check(err, "template")
	wantTemplate(f, "got", got, t)
	f.wantTime("created at", got.CreatedAt, at(0))
	got, err = f.s.Template(f.ctx, empty.ID)
	f.check(err, "empty template")
	wantTemplate(f, "empty", got, empty)

	list, err := f.s.Templates(f.ctx)
	f.check(err, "templates")
	if len(list) != 2 {
		f.t.Fatalf("%d templates, want 2", len(list))
	}
	for _, l := range list {
		switch l.ID {
		case t.ID:
			wantTemplate(f, "listed", l, t)
		case empty.ID:
			wantTemplate(f, "listed empty", l, empty)
		default:
			f.t.Errorf("unexpected template %+v", l)
		}
	}
}

func testTemplateUpdate(f *fixture) {
	t := store.Template{Name: "Delay", Shortcut: "delay", Variants: []store.TemplateVariant{
		{Language: "nl", Body: "Vertraging"}, {Language: "en", Body: "Delay"},
	}}
	f.check(f.s.CreateTemplate(f.ctx, &t, system), "create")
	other := store.Template{Name: "Other", Shortcut: "other", Variants: []store.TemplateVariant{{Language: "nl", Body: "Ander"}}}
	f.check(f.s.CreateTemplate(f.ctx, &other, system), "create other")

	t.Name, t.Shortcut = "Flight delay", "vertraging"
	t.Variants = []store.TemplateVariant{{Language: "de", Tone: "formal", Body: "Verspätung"}}
	f.check(f.s.UpdateTemplate(f.ctx, &t, system), "update")
	got, err := f.s.Template(f.ctx, t.ID)
	f.check(err, "template")
	wantTemplate(f, "updated", got, t)
	got, err = f.s.Template(f.ctx, other.ID)
	f.check(err, "other template")
	wantTemplate(f, "untouched", got, other)

	unknown := t
	unknown.ID, unknown.Shortcut = t.ID+1000, "ghost"
	f.wantErr("update unknown template", f.s.UpdateTemplate(f.ctx, &unknown, system), store.ErrNotFound)
}

func testTemplateDelete(f *fixture) {
	var ts []store.Template
	for _, sc := range []string{"a", "b"} {
		t := store.Template{Name: sc, Shortcut: sc, Variants: []store.TemplateVariant{{Language: "nl", Body: sc}}}
		f.check(f.s.CreateTemplate(f.ctx, &t, system), "create %s", sc)
		ts = append(ts, t)
	}
	f.check(f.s.DeleteTemplate(f.ctx, ts[0].ID, system), "delete")
	_, err := f.s.Template(f.ctx, ts[0].ID)
	f.wantErr("deleted template", err, store.ErrNotFound)
	list, err := f.s.Templates(f.ctx)
	f.check(err, "templates")
	if len(list) != 1 || list[0].ID != ts[1].ID {
		f.t.Errorf("templates after delete = %+v, want only %d", list, ts[1].ID)
	}
	f.wantErr("delete again", f.s.DeleteTemplate(f.ctx, ts[0].ID, system), store.ErrNotFound)

	// The shortcut is free again.
	again := store.Template{Name: "a again", Shortcut: "a"}
	f.check(f.s.CreateTemplate(f.ctx, &again, system), "create with the deleted shortcut")
	got, err := f.s.Template(f.ctx, again.ID)
	f.check(err, "new template")
	want(f.t, "variants of the new template", len(got.Variants), 0)
}

func testTemplateShortcutUnique(f *fixture) {
	t := store.Template{Name: "Bag", Shortcut: "bag", Variants: []store.TemplateVariant{{Language: "nl", Body: "koffer"}}}
	f.check(f.s.CreateTemplate(f.ctx, &t, system), "create")
	dup := store.Template{Name: "Bag 2", Shortcut: "bag"}
	f.wantErr("create a taken shortcut", f.s.CreateTemplate(f.ctx, &dup, system), store.ErrConflict)

	other := store.Template{Name: "Delay", Shortcut: "delay"}
	f.check(f.s.CreateTemplate(f.ctx, &other, system), "create other")
	other.Shortcut = "bag"
	f.wantErr("update to a taken shortcut", f.s.UpdateTemplate(f.ctx, &other, system), store.ErrConflict)
	got, err := f.s.Template(f.ctx, t.ID)
	f.check(err, "template")
	wantTemplate(f, "owner of the shortcut", got, t)
	list, err := f.s.Templates(f.ctx)
	f.check(err, "templates")
	want(f.t, "templates", len(list), 2)
}

func testSettings(f *fixture) {
	_, err := f.s.Setting(f.ctx, "setup_token")
	f.wantErr("unset setting", err, store.ErrNotFound)

	steps := []struct {
		set, value string
		want       string // "" means ErrNotFound
	}{
		{"setup_token", "abc", "abc"},
		{"setup_token", "def", "def"},
		{"other", "x", "x"},
		{"setup_token", "", ""},
	}
	for _, st := range steps {
		f.check(f.s.SetSetting(f.ctx, st.set, st.value), "set %s=%q", st.set, st.value)
		got, err := f.s.Setting(f.ctx, st.set)
		if st.want == "" {
			f.wantErr(fmt.Sprintf("%s after setting it empty", st.set), err, store.ErrNotFound)
			continue
		}
		f.check(err, "setting %s", st.set)
		want(f.t, st.set, got, st.want)
	}
	got, err := f.s.Setting(f.ctx, "other")
	f.check(err, "other")
	want(f.t, "other setting", got, "x")
	f.check(f.s.SetSetting(f.ctx, "never-set", ""), "delete a setting that does not exist")
}

func testAuditTrail(f *fixture) {
	ag := f.agent("agent@example.com")
	var wantIDs []int64
	for i := range 5 {
		e := store.AuditEntry{At: at(i), AgentID: ag.ID, Action: "test.step", Subject: "thing/1", Detail: fmt.Sprintf("step %d", i)}
		if i == 2 {
			e.Subject, e.AgentID = "thing/2", 0
		}
		f.check(f.s.Audit(f.ctx, e), "audit %d", i)
	}
	got := f.audits("thing/1")
	if len(got) != 4 {
		f.t.Fatalf("%d entries for thing/1, want 4: %+v", len(got), got)
	}
	for i, e := range got {
		n := []int{4, 3, 1, 0}[i]
		want(f.t, "detail", e.Detail, fmt.Sprintf("step %d", n))
		want(f.t, "agent", e.AgentID, ag.ID)
		want(f.t, "action", e.Action, "test.step")
		f.wantTime("at", e.At, at(n))
		wantIDs = append(wantIDs, e.ID)
	}
	other := f.audits("thing/2")
	if len(other) != 1 || other[0].AgentID != 0 || other[0].Detail != "step 2" {
		f.t.Errorf("entries for thing/2 = %+v, want step 2 by the system", other)
	}

	page, err := f.s.Audits(f.ctx, "thing/1", wantIDs[1], 10)
	f.check(err, "audits before")
	var pageIDs []int64
	for _, e := range page {
		pageIDs = append(pageIDs, e.ID)
	}
	wantSlice(f.t, "entries before the second", pageIDs, wantIDs[2:])
	page, err = f.s.Audits(f.ctx, "thing/1", 0, 2)
	f.check(err, "audits limited")
	want(f.t, "limited entries", len(page), 2)

	// "" lists every subject; the agent creation above is on the trail too.
	all := f.audits("")
	if len(all) < 5 {
		f.t.Errorf("%d entries for every subject, want at least 5", len(all))
	}
}
