package web_test

import (
	"bytes"
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

// plainForm is a form posted by a browser without JavaScript.
func plainForm(name, u, token string, v url.Values, status int) scenario {
	return scenario{name: name, method: "POST", url: u, token: token, body: v.Encode(), status: status, notProblem: true,
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
}

// shown finds the value of the readonly field with the given id.
func shown(t *testing.T, body []byte, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `" readonly value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no field %s in %s", id, body)
	}
	return string(m[1])
}

func TestAdminAgentInvite(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.Tokens[store.RoleAdmin]
	r := ts.check(t, form("add an agent", "/admin/agents", admin, url.Values{"name": {"Nina Bakker"}, "email": {"Nina@Example.org"},
		"role": {"agent"}, "languages": {"nl", "de"}, "capacity": {"6"}}, 201))
	link := shown(t, r.Body, "invite-url")
	if !strings.HasPrefix(link, ts.URL+"/invite/wci_") || !bytes.Contains(r.Body, []byte(`data-copy="invite-url"`)) {
		t.Fatalf("invite link %q, or no copy button", link)
	}
	nina, err := ts.Store.AgentByEmail(context.Background(), "nina@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if nina.Role != store.RoleAgent || nina.Capacity != 6 || strings.Join(nina.Languages, ",") != "nl,de" {
		t.Errorf("stored %+v", nina)
	}
	invite := strings.TrimPrefix(link, ts.URL)
	token := strings.TrimPrefix(invite, "/invite/")

	ts.check(t, scenario{name: "the link is shown once", method: "GET", url: "/admin/agents", token: admin, status: 200,
		contains: []string{"Nina Bakker", "nina@example.org", "Dutch, German"}, excludes: []string{token}})
	ts.check(t, scenario{name: "the invite page greets", method: "GET", url: invite, status: 200,
		contains: []string{"Welcome, Nina Bakker", `name="repeat"`}})
	ts.check(t, plainForm("passwords differ", invite, "", url.Values{"password": {"a long enough password"}, "repeat": {"another long password"}}, 422))
	ts.check(t, plainForm("too short", invite, "", url.Values{"password": {"short"}, "repeat": {"short"}}, 422))
	r = ts.check(t, plainForm("accept", invite, "", url.Values{"password": {"a long enough password"}, "repeat": {"a long enough password"}}, 303))
	if loc := r.Header.Get("Location"); loc != "/inbox" {
		t.Errorf("accepted, then to %q", loc)
	}
	ts.check(t, scenario{name: "the session works", method: "GET", url: "/inbox", cookie: sessionCookie(t, r), status: 200, contains: []string{"Nina Bakker"}})
	ts.check(t, scenario{name: "a used link says so", method: "GET", url: invite, status: 404, notProblem: true,
		contains: []string{"This link no longer works"}, excludes: []string{`name="password"`}})
	ts.check(t, plainForm("a used link cannot be used again", invite, "", url.Values{"password": {"a long enough password"}, "repeat": {"a long enough password"}}, 404))

	t.Run("a new link replaces the old one", func(t *testing.T) {
		r := ts.check(t, form("new link", "/admin/agents/"+itoa(nina.ID)+"/invite", admin, url.Values{}, 201))
		if fresh := shown(t, r.Body, "invite-url"); fresh == link {
			t.Errorf("the same link again: %s", fresh)
		}
	})
	t.Run("edit, disable, enable", func(t *testing.T) {
		id := itoa(nina.ID)
		ts.check(t, form("edit", "/admin/agents/"+id, admin, url.Values{"edit": {"1"}, "role": {"supervisor"}, "languages": {"fr"}, "capacity": {"3"}}, 303))
		ts.check(t, form("disable", "/admin/agents/"+id, admin, url.Values{"disabled": {"true"}}, 303))
		got, err := ts.Store.Agent(context.Background(), nina.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Role != store.RoleSupervisor || got.Capacity != 3 || strings.Join(got.Languages, ",") != "fr" || !got.Disabled {
			t.Errorf("after editing: %+v", got)
		}
		ts.check(t, scenario{name: "the page shows it", method: "GET", url: "/admin/agents?saved=1", token: admin, status: 200,
			contains: []string{"Saved.", "Supervisor", "French", "disabled"}})
		ts.check(t, form("a disabled agent gets no invite", "/admin/agents/"+id+"/invite", admin, url.Values{}, 409))
		ts.check(t, form("enable", "/admin/agents/"+id, admin, url.Values{"disabled": {"false"}}, 303))
	})
	t.Run("an admin cannot lock themselves out", func(t *testing.T) {
		me := itoa(ts.Agents[store.RoleAdmin].ID)
		r := ts.check(t, form("demote myself, htmx", "/admin/agents/"+me, admin, url.Values{"role": {"agent"}}, 409))
		if !bytes.Contains(r.Body, []byte("you cannot disable yourself")) {
			t.Errorf("htmx refusal: %s", r.Body)
		}
		ts.check(t, plainForm("disable myself, no JavaScript", "/admin/agents/"+me, admin, url.Values{"disabled": {"true"}}, 409))
		ts.check(t, scenario{name: "the message on the page", method: "POST", url: "/admin/agents/" + me, token: admin, body: "disabled=true", status: 409, notProblem: true,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, contains: []string{`class="alert"`, "you cannot disable yourself", "Add an agent"}})
		if got, _ := ts.Store.Agent(context.Background(), ts.Agents[store.RoleAdmin].ID); got.Disabled || got.Role != store.RoleAdmin {
			t.Errorf("the admin changed: %+v", got)
		}
	})
	t.Run("a refused add keeps what was typed", func(t *testing.T) {
		ts.check(t, plainForm("bad e-mail", "/admin/agents", admin, url.Values{"name": {"Piet"}, "email": {"not-an-address"}, "role": {"agent"}, "capacity": {"4"}}, 422))
		r := ts.do(t, plainForm("", "/admin/agents", admin, url.Values{"name": {"Piet"}, "email": {"not-an-address"}, "role": {"agent"}, "capacity": {"4"}}, 422))
		for _, s := range []string{`value="Piet"`, `value="not-an-address"`, "is not a valid address"} {
			if !bytes.Contains(r.Body, []byte(s)) {
				t.Errorf("page lacks %q", s)
			}
		}
	})
}

func TestAdminInviteUnknown(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.check(t, scenario{method: "GET", url: "/invite/wci_nothing", status: 404, notProblem: true,
		headers: map[string]string{"Accept-Language": "nl"}, contains: []string{"Deze link werkt niet meer"}, excludes: []string{"goroutine", `name="password"`}})
}

func TestAdminChannels(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.Tokens[store.RoleAdmin]
	r := ts.check(t, form("create", "/admin/channels", admin, url.Values{"kind": {"api"}, "name": {"Booking system"}, "locale": {"nl"},
		"callback_url": {"https://booking.example/replies"}}, 201))
	chs, err := ts.Store.Channels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	made := chs[len(chs)-1]
	ingest := ts.URL + "/api/v1/channels/" + itoa(made.ID) + "/messages"
	token, secret := shown(t, r.Body, "made-token"), shown(t, r.Body, "made-callback-secret")
	if got := shown(t, r.Body, "made-ingest-url"); got != ingest {
		t.Errorf("ingest URL %q, want %q", got, ingest)
	}
	if !strings.HasPrefix(token, "wch_") || !bytes.Equal(auth.HashToken(token), made.TokenHash) {
		t.Errorf("token %q does not match the stored hash", token)
	}
	if made.Kind != "api" || made.Locale != "nl" || made.Settings["callback_url"] != "https://booking.example/replies" {
		t.Errorf("stored %+v", made)
	}
	ts.check(t, scenario{name: "the list shows where to point, not the secrets", method: "GET", url: "/admin/channels", token: admin, status: 200,
		contains: []string{ingest, "Booking system", "https://booking.example/replies", "Bearer"}, excludes: []string{token, secret, callbackSecret}})

	r = ts.check(t, form("rotate", "/admin/channels/"+itoa(made.ID)+"/token", admin, url.Values{}, 200))
	fresh := shown(t, r.Body, "made-token")
	got, err := ts.Store.Channel(context.Background(), made.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == token || !bytes.Equal(auth.HashToken(fresh), got.TokenHash) {
		t.Errorf("rotated token %q does not match the stored hash", fresh)
	}
	if bytes.Contains(r.Body, []byte(secret)) {
		t.Error("rotating shows the callback secret again")
	}

	ts.check(t, form("disable", "/admin/channels/"+itoa(made.ID), admin, url.Values{"disabled": {"true"}}, 303))
	if got, _ := ts.Store.Channel(context.Background(), made.ID); !got.Disabled {
		t.Error("the channel is still enabled")
	}
	ts.check(t, plainForm("a bad callback URL, no JavaScript", "/admin/channels", admin, url.Values{"kind": {"api"}, "name": {"Shop"}, "callback_url": {"ftp://x"}}, 422))

	t.Run("the configured base URL", func(t *testing.T) {
		ts := newTestServer(t, func(o *web.Options) { o.BaseURL = "https://care.example/" })
		r := ts.check(t, form("create", "/admin/channels", ts.Tokens[store.RoleAdmin], url.Values{"kind": {"whatsapp"}, "name": {"WhatsApp"}}, 201))
		if got := shown(t, r.Body, "made-ingest-url"); !strings.HasPrefix(got, "https://care.example/api/v1/channels/") {
			t.Errorf("ingest URL %q", got)
		}
		if !bytes.Contains(r.Body, []byte("subscribe the WhatsApp Business Account to messages")) {
			t.Error("no word on what WhatsApp needs")
		}
	})
}

func TestAdminTemplates(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	super := ts.Tokens[store.RoleSupervisor]
	ts.check(t, form("create with two variants and a blank row", "/admin/templates", super, url.Values{
		"name": {"Lost luggage"}, "shortcut": {"Luggage"},
		"language": {"en", "nl", ""}, "tone": {"", "formal", ""}, "body": {"Sorry about your bag, {{contact.name}}.", "Excuses voor uw koffer.", ""}}, 303))
	ts.check(t, scenario{name: "listed", method: "GET", url: "/admin/templates?saved=1", token: super, status: 200,
		contains: []string{"Saved.", "Lost luggage", "/luggage", "English, Dutch"}})
	tmpls, err := ts.Store.Templates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tmpls) != 1 || len(tmpls[0].Variants) != 2 || tmpls[0].Variants[1].Tone != "formal" {
		t.Fatalf("stored %+v", tmpls)
	}
	id := itoa(tmpls[0].ID)
	ts.check(t, scenario{name: "the edit form", method: "GET", url: "/admin/templates/" + id, token: super, status: 200,
		contains: []string{"Excuses voor uw koffer.", `action="/admin/templates/` + id + `"`, "Variant 5"}, excludes: []string{"Variant 6"}})
	ts.check(t, form("drop a variant", "/admin/templates/"+id, super, url.Values{
		"name": {"Lost luggage"}, "shortcut": {"luggage"}, "language": {"", "nl"}, "tone": {"", "formal"}, "body": {"", "Excuses."}}, 303))
	if got, _ := ts.Store.Template(context.Background(), tmpls[0].ID); len(got.Variants) != 1 || got.Variants[0].Body != "Excuses." {
		t.Errorf("after editing: %+v", got)
	}
	ts.check(t, scenario{name: "refused without JavaScript, as typed", method: "POST", url: "/admin/templates", token: super, status: 422, notProblem: true,
		body:    url.Values{"name": {"Half"}, "shortcut": {"half"}, "language": {"en"}, "tone": {""}, "body": {""}}.Encode(),
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, contains: []string{`class="alert"`, "body is required", `value="Half"`}})
	ts.check(t, form("delete", "/admin/templates/"+id+"/delete", super, url.Values{}, 303))
	if _, err := ts.Store.Template(context.Background(), tmpls[0].ID); err == nil {
		t.Error("the template is still there")
	}
}

func TestAdminTeams(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	super := ts.Tokens[store.RoleSupervisor]
	a2 := itoa(ts.Agent2.ID)
	ts.check(t, form("create", "/admin/teams", super, url.Values{"name": {"Baggage"}, "agents": {a2}}, 303))
	teams, err := ts.Store.Teams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	made := teams[len(teams)-1]
	if made.Name != "Baggage" || len(made.AgentIDs) != 1 || made.AgentIDs[0] != ts.Agent2.ID {
		t.Fatalf("stored %+v", made)
	}
	ts.check(t, form("rename, no members", "/admin/teams/"+itoa(made.ID), super, url.Values{"name": {"Lost baggage"}}, 303))
	ts.check(t, scenario{name: "listed", method: "GET", url: "/admin/teams", token: super, status: 200, contains: []string{"Lost baggage", "No members yet."}})
	ts.check(t, form("an unknown agent", "/admin/teams/"+itoa(made.ID), super, url.Values{"name": {"X"}, "agents": {"999999"}}, 422))
}

func TestAdminRoles(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin, super, vol := ts.Tokens[store.RoleAdmin], ts.Tokens[store.RoleSupervisor], ts.Tokens[store.RoleVolunteer]
	for _, sc := range []scenario{
		{name: "admin lands on agents", method: "GET", url: "/admin", token: admin, status: 303},
		{name: "supervisor lands on teams", method: "GET", url: "/admin", token: super, status: 303},
	} {
		r := ts.check(t, sc)
		want := map[string]string{admin: "/admin/agents", super: "/admin/teams"}[sc.token]
		if loc := r.Header.Get("Location"); loc != want {
			t.Errorf("%s: to %q, want %q", sc.name, loc, want)
		}
	}
	ts.runParallel(t, []scenario{
		{name: "supervisor: no agents", method: "GET", url: "/admin/agents", token: super, status: 403, notProblem: true},
		{name: "supervisor: no channels", method: "GET", url: "/admin/channels", token: super, status: 403, notProblem: true},
		{name: "supervisor: templates, with only their tabs", method: "GET", url: "/admin/templates", token: super, status: 200,
			contains: []string{`href="/admin/teams"`, `href="/admin/templates"`}, excludes: []string{`href="/admin/agents"`, `href="/admin/channels"`}},
		{name: "supervisor sees the admin link", method: "GET", url: "/inbox", token: super, status: 200, contains: []string{`href="/admin"`}},
		{name: "admin sees every tab", method: "GET", url: "/admin/channels", token: admin, status: 200,
			contains: []string{`href="/admin/agents"`, `href="/admin/teams"`, `href="/admin/channels"`, `href="/admin/templates"`}},
		{name: "volunteer: no admin link", method: "GET", url: "/inbox", token: vol, status: 200, excludes: []string{`href="/admin"`}},
		{name: "volunteer: /admin", method: "GET", url: "/admin", token: vol, status: 403, notProblem: true},
		{name: "volunteer: agents", method: "GET", url: "/admin/agents", token: vol, status: 403, notProblem: true},
		{name: "volunteer: teams", method: "GET", url: "/admin/teams", token: vol, status: 403, notProblem: true},
		{name: "volunteer: channels", method: "GET", url: "/admin/channels", token: vol, status: 403, notProblem: true},
		{name: "volunteer: templates", method: "GET", url: "/admin/templates", token: vol, status: 403, notProblem: true},
		{name: "volunteer: add a template", method: "POST", url: "/admin/templates", token: vol, status: 403, notProblem: true,
			body: "name=x", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
	})
}

func TestAdminEscapes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.Tokens[store.RoleAdmin]
	const evil = `<img src=x onerror=alert(1)>`
	const escaped = `&lt;img src=x onerror=alert(1)&gt;`
	r := ts.check(t, form("agent", "/admin/agents", admin, url.Values{"name": {evil}, "email": {"evil@example.org"}, "role": {"agent"}, "capacity": {"1"}}, 201))
	link := strings.TrimPrefix(shown(t, r.Body, "invite-url"), ts.URL)
	ts.check(t, form("team", "/admin/teams", admin, url.Values{"name": {evil}}, 303))
	ts.check(t, form("channel", "/admin/channels", admin, url.Values{"kind": {"api"}, "name": {evil}}, 201))
	ts.check(t, form("template", "/admin/templates", admin, url.Values{"name": {evil}, "shortcut": {"evil"}, "language": {"en"}, "tone": {""}, "body": {evil}}, 303))
	tmpls, _ := ts.Store.Templates(context.Background())
	ts.runParallel(t, []scenario{
		{name: "agents", method: "GET", url: "/admin/agents", token: admin, status: 200, contains: []string{escaped}, excludes: []string{evil}},
		{name: "teams", method: "GET", url: "/admin/teams", token: admin, status: 200, contains: []string{escaped}, excludes: []string{evil}},
		{name: "channels", method: "GET", url: "/admin/channels", token: admin, status: 200, contains: []string{escaped}, excludes: []string{evil}},
		{name: "templates", method: "GET", url: "/admin/templates", token: admin, status: 200, contains: []string{escaped}, excludes: []string{evil}},
		{name: "template form", method: "GET", url: "/admin/templates/" + itoa(tmpls[0].ID), token: admin, status: 200, contains: []string{escaped}, excludes: []string{evil}},
		{name: "invite page", method: "GET", url: link, status: 200, contains: []string{escaped}, excludes: []string{evil}},
	})
}

// TestChannelSettingsFoldedUntilNeeded: the admin's channel list unfolds
// the settings of a channel that still lacks a required one and keeps the
// rest folded, so that ten channels are not one very tall page.
func TestChannelSettingsFoldedUntilNeeded(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.Tokens[store.RoleAdmin]
	ready := store.Channel{Kind: "telegram", Name: "Bot", Settings: map[string]string{"access_token": "123:abc", "webhook_secret": "s"}}
	unset := store.Channel{Kind: "whatsapp", Name: "WhatsApp"}
	for _, c := range []*store.Channel{&ready, &unset} {
		if err := ts.Store.CreateChannel(t.Context(), c, store.Actor{Via: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	r := ts.check(t, scenario{method: "GET", url: "/admin/channels", token: admin, status: 200, notProblem: true})
	page := string(r.Body)
	open := func(c store.Channel) bool {
		i := strings.Index(page, `id="settings-`+itoa(c.ID)+`"`)
		j := strings.LastIndex(page[:max(i, 0)], "<details")
		return i >= 0 && j >= 0 && strings.HasPrefix(page[j:], "<details open")
	}
	if open(ready) || !open(unset) {
		t.Errorf("settings unfolded: configured %t, lacking a required one %t; want only the latter", open(ready), open(unset))
	}
}
