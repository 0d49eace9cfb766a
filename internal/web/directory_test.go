package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
)

func TestChannels(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.Tokens[store.RoleAdmin]

	type created struct {
		Channel        store.Channel `json:"channel"`
		Token          string        `json:"token"`
		CallbackSecret string        `json:"callback_secret"`
		IngestURL      string        `json:"ingest_url"`
	}
	var ch created
	t.Run("admin creates an api channel", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/channels", token: admin,
			body:   `{"kind": "api", "name": " Web shop ", "locale": "NL", "callback_url": "https://shop.example/webcare"}`,
			status: http.StatusCreated, contains: []string{`"callback_secret":"********"`, `"callback_url":"https://shop.example/webcare"`}})
		ch = decodeJSON[created](t, r.Body)
		if !strings.HasPrefix(ch.Token, "wch_") || !strings.HasPrefix(ch.CallbackSecret, "whs_") {
			t.Errorf("token %q, secret %q: want wch_ and whs_ secrets shown once", ch.Token, ch.CallbackSecret)
		}
		if ch.Channel.Name != "Web shop" || ch.Channel.Locale != "nl" || ch.Channel.Kind != "api" || ch.Channel.ID == 0 {
			t.Errorf("channel %+v", ch.Channel)
		}
		if want := path("%s/api/v1/channels/%d/messages", ts.URL, ch.Channel.ID); ch.IngestURL != want {
			t.Errorf("ingest_url %q, want %q", ch.IngestURL, want)
		}
	})
	if ch.Token == "" {
		t.FailNow()
	}
	chURL := path("/api/v1/channels/%d", ch.Channel.ID)
	ingestURL := chURL + "/messages"
	secrets := []string{ch.Token, ch.CallbackSecret, callbackSecret, ts.ChannelToken, "token_hash"}
	msg := func(id string) string {
		return jsonBody(t, inbound{ID: id, From: author{ID: "shopper"}, Text: "order 42?"})
	}

	var rotated string
	t.Run("secrets are never shown again", func(t *testing.T) {
		ts.runParallel(t, []scenario{
			{name: "list as admin", method: "GET", url: "/api/v1/channels", token: admin, status: http.StatusOK,
				contains: []string{`"callback_secret":"********"`, "Web shop", "API feed"}, excludes: secrets},
			{name: "list as volunteer", method: "GET", url: "/api/v1/channels", token: ts.Tokens[store.RoleVolunteer], status: http.StatusOK,
				contains: []string{`"callback_secret":"********"`}, excludes: secrets},
			{name: "one", method: "GET", url: chURL, token: ts.Tokens[store.RoleAgent], status: http.StatusOK,
				contains: []string{`"callback_secret":"********"`, `"locale":"nl"`}, excludes: secrets},
			{name: "unknown", method: "GET", url: "/api/v1/channels/999999", token: admin, status: http.StatusNotFound},
		})
	})
	ts.run(t, []scenario{
		{name: "the token works", method: "POST", url: ingestURL, token: ch.Token, body: msg("s-1"), status: http.StatusCreated},
		{name: "the token works only on its channel", method: "POST", url: path("/api/v1/channels/%d/messages", ts.Channel.ID), token: ch.Token,
			body: msg("s-x"), status: http.StatusUnauthorized},
	})
	t.Run("rotate the token", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: chURL + "/token", token: admin, status: http.StatusOK,
			contains: []string{`"token":"wch_`, `"ingest_url"`}, excludes: []string{ch.Token, ch.CallbackSecret, `"callback_secret":"whs_`}})
		rotated = decodeJSON[created](t, r.Body).Token
		if rotated == "" || rotated == ch.Token {
			t.Fatalf("rotated token %q", rotated)
		}
	})
	ts.run(t, []scenario{
		{name: "the old token is refused", method: "POST", url: ingestURL, token: ch.Token, body: msg("s-2"), status: http.StatusUnauthorized},
		{name: "the new token works", method: "POST", url: ingestURL, token: rotated, body: msg("s-3"), status: http.StatusCreated},
		{name: "rotate an unknown channel", method: "POST", url: "/api/v1/channels/999999/token", token: admin, status: http.StatusNotFound},
		{name: "supervisor cannot rotate", method: "POST", url: chURL + "/token", token: ts.Tokens[store.RoleSupervisor], status: http.StatusForbidden},
		{name: "disable", method: "PATCH", url: chURL, token: admin, body: `{"disabled": true}`, status: http.StatusOK,
			contains: []string{`"disabled":true`, `"callback_secret":"********"`}, excludes: secrets},
		{name: "a disabled channel takes nothing", method: "POST", url: ingestURL, token: rotated, body: msg("s-4"), status: http.StatusConflict},
		{name: "enable and rename", method: "PATCH", url: chURL, token: admin, body: `{"disabled": false, "name": "Shop"}`, status: http.StatusOK,
			contains: []string{`"disabled":false`, `"name":"Shop"`}},
		{name: "enabled again", method: "POST", url: ingestURL, token: rotated, body: msg("s-5"), status: http.StatusCreated},
		{name: "the rename kept the secret", method: "GET", url: chURL, token: admin, status: http.StatusOK, contains: []string{`"callback_secret":"********"`}},

		{name: "unknown kind", method: "POST", url: "/api/v1/channels", token: admin, body: `{"kind": "fax", "name": "Fax"}`, status: http.StatusUnprocessableEntity, contains: []string{"kind"}},
		{name: "no name", method: "POST", url: "/api/v1/channels", token: admin, body: `{"kind": "api"}`, status: http.StatusUnprocessableEntity, contains: []string{"name"}},
		{name: "empty name", method: "POST", url: "/api/v1/channels", token: admin, body: `{"kind": "api", "name": " "}`, status: http.StatusUnprocessableEntity},
		{name: "bad callback URL", method: "POST", url: "/api/v1/channels", token: admin, body: `{"kind": "api", "name": "x", "callback_url": "javascript:alert(1)"}`,
			status: http.StatusUnprocessableEntity, contains: []string{"callback_url"}},
		{name: "bad locale", method: "POST", url: "/api/v1/channels", token: admin, body: `{"kind": "api", "name": "x", "locale": "Dutch"}`, status: http.StatusUnprocessableEntity},
		{name: "the token cannot be set", method: "POST", url: "/api/v1/channels", token: admin, body: `{"kind": "api", "name": "x", "token": "wch_mine"}`, status: http.StatusBadRequest},
		{name: "kind cannot change", method: "PATCH", url: chURL, token: admin, body: `{"kind": "x"}`, status: http.StatusUnprocessableEntity},
		{name: "update unknown", method: "PATCH", url: "/api/v1/channels/999999", token: admin, body: `{"name": "x"}`, status: http.StatusNotFound},
		{name: "another kind", method: "POST", url: "/api/v1/channels", token: admin, body: `{"kind": "whatsapp", "name": "WhatsApp"}`, status: http.StatusCreated,
			contains: []string{`"kind":"whatsapp"`, `"token":"wch_`}},
	})

	t.Run("the conversation view masks the callback secret too", func(t *testing.T) {
		conv := ts.ingest(t, inbound{ID: "leak-1", From: author{ID: "x"}, Text: "hi"})
		for _, role := range []store.Role{store.RoleAdmin, store.RoleVolunteer} {
			ts.check(t, scenario{method: "GET", url: path("/api/v1/conversations/%d", conv.ConversationID), token: ts.Tokens[role],
				status: http.StatusOK, contains: []string{`"callback_secret":"********"`}, excludes: secrets})
		}
	})
}

func TestAgents(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.Tokens[store.RoleAdmin]
	me := ts.Agents[store.RoleAdmin]

	var made store.Agent
	t.Run("create", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/agents", token: admin,
			body: path(`{"email": " New.Person@Example.org ", "name": "New Person", "role": "volunteer", "languages": ["EN", "fr"],
				"skills": ["billing", "billing", "refunds"], "capacity": 5, "team_ids": [%d], "password": %q}`, ts.Team.ID, testPassword),
			status:   http.StatusCreated,
			contains: []string{`"email":"new.person@example.org"`, `"role":"volunteer"`, `"languages":["en","fr"]`, `"skills":["billing","refunds"]`, `"capacity":5`},
			excludes: []string{"password", "argon2"}})
		made = decodeJSON[store.Agent](t, r.Body)
	})
	ts.login(t, "new.person@example.org")
	url := path("/api/v1/agents/%d", made.ID)

	ts.run(t, []scenario{
		{name: "list", method: "GET", url: "/api/v1/agents", token: ts.Tokens[store.RoleVolunteer], status: http.StatusOK,
			contains: []string{"new.person@example.org", "admin@example.org"}, excludes: []string{"argon2", "password"}},
		{name: "one", method: "GET", url: url, token: ts.Tokens[store.RoleAgent], status: http.StatusOK, contains: []string{path(`"team_ids":[%d]`, ts.Team.ID)}},
		{name: "unknown", method: "GET", url: "/api/v1/agents/999999", token: admin, status: http.StatusNotFound},
		{name: "bad email", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "not-an-address", "name": "X"}`, status: http.StatusUnprocessableEntity, contains: []string{"email"}},
		{name: "email with a display name", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "X <x@example.org>", "name": "X"}`, status: http.StatusUnprocessableEntity},
		{name: "bad role", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "x@example.org", "name": "X", "role": "root"}`, status: http.StatusUnprocessableEntity, contains: []string{"role"}},
		{name: "duplicate email, other case", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "AGENT@example.org", "name": "Copy"}`, status: http.StatusConflict},
		{name: "no name", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "x@example.org"}`, status: http.StatusUnprocessableEntity},
		{name: "short password", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "x@example.org", "name": "X", "password": "short"}`, status: http.StatusUnprocessableEntity,
			contains: []string{"at least 10"}},
		{name: "negative capacity", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "x@example.org", "name": "X", "capacity": -1}`, status: http.StatusUnprocessableEntity},
		{name: "unknown team", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "x@example.org", "name": "X", "team_ids": [999999]}`, status: http.StatusUnprocessableEntity},
		{name: "bad language", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "x@example.org", "name": "X", "languages": ["Dutch!"]}`, status: http.StatusUnprocessableEntity},
		{name: "password hash cannot be set", method: "POST", url: "/api/v1/agents", token: admin, body: `{"email": "x@example.org", "name": "X", "password_hash": "$argon2id$"}`, status: http.StatusBadRequest},
		{name: "promote", method: "PATCH", url: url, token: admin, body: `{"role": "supervisor", "name": "Promoted"}`, status: http.StatusOK,
			contains: []string{`"role":"supervisor"`, `"name":"Promoted"`, `"email":"new.person@example.org"`}},
		{name: "rename to a taken email", method: "PATCH", url: url, token: admin, body: `{"email": "agent@example.org"}`, status: http.StatusConflict},
		{name: "update unknown", method: "PATCH", url: "/api/v1/agents/999999", token: admin, body: `{"name": "X"}`, status: http.StatusNotFound},
		{name: "admin cannot disable themselves", method: "PATCH", url: path("/api/v1/agents/%d", me.ID), token: admin, body: `{"disabled": true}`, status: http.StatusConflict},
		{name: "admin cannot demote themselves", method: "PATCH", url: path("/api/v1/agents/%d", me.ID), token: admin, body: `{"role": "agent"}`, status: http.StatusConflict},
		{name: "admin may rename themselves", method: "PATCH", url: path("/api/v1/agents/%d", me.ID), token: admin, body: `{"name": "Chief"}`, status: http.StatusOK},
		{name: "supervisor cannot create agents", method: "POST", url: "/api/v1/agents", token: ts.Tokens[store.RoleSupervisor], body: `{"email": "y@example.org", "name": "Y"}`, status: http.StatusForbidden},
		{name: "disable", method: "PATCH", url: path("/api/v1/agents/%d", ts.Agents[store.RoleVolunteer].ID), token: admin, body: `{"disabled": true}`, status: http.StatusOK,
			contains: []string{`"disabled":true`}},
		{name: "a disabled agent's token stops working", method: "GET", url: "/api/v1/me", token: ts.Tokens[store.RoleVolunteer], status: http.StatusUnauthorized},
		{name: "the admin is still an admin", method: "GET", url: "/api/v1/me", token: admin, status: http.StatusOK, contains: []string{`"role":"admin"`, `"name":"Chief"`}},
	})
}

func TestTeams(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	sup := ts.Tokens[store.RoleSupervisor]
	var team store.Team
	t.Run("create", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/teams", token: sup, body: path(`{"name": " Night shift ", "agent_ids": [%d]}`, ts.Agent2.ID),
			status: http.StatusCreated, contains: []string{`"name":"Night shift"`, path(`"agent_ids":[%d]`, ts.Agent2.ID)}})
		team = decodeJSON[store.Team](t, r.Body)
	})
	url := path("/api/v1/teams/%d", team.ID)
	ts.run(t, []scenario{
		{name: "membership shows on the agent", method: "GET", url: path("/api/v1/agents/%d", ts.Agent2.ID), token: sup, status: http.StatusOK,
			contains: []string{path(`"team_ids":[%d]`, team.ID)}},
		{name: "rename", method: "PATCH", url: url, token: sup, body: `{"name": "Nights"}`, status: http.StatusOK, contains: []string{`"name":"Nights"`}},
		{name: "list", method: "GET", url: "/api/v1/teams", token: ts.Tokens[store.RoleVolunteer], status: http.StatusOK, contains: []string{"Nights", "Care"}},
		{name: "no name", method: "POST", url: "/api/v1/teams", token: sup, body: `{}`, status: http.StatusUnprocessableEntity},
		{name: "name too long", method: "POST", url: "/api/v1/teams", token: sup, body: jsonBody(t, map[string]string{"name": strings.Repeat("n", 101)}), status: http.StatusUnprocessableEntity},
		{name: "unknown member", method: "POST", url: "/api/v1/teams", token: sup, body: `{"name": "Ghosts", "agent_ids": [999999]}`, status: http.StatusUnprocessableEntity},
		{name: "update unknown", method: "PATCH", url: "/api/v1/teams/999999", token: sup, body: `{"name": "x"}`, status: http.StatusNotFound},
		{name: "agent cannot manage teams", method: "POST", url: "/api/v1/teams", token: ts.Tokens[store.RoleAgent], body: `{"name": "Mine"}`, status: http.StatusForbidden},
	})
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	sup := ts.Tokens[store.RoleSupervisor]
	good := `{"name": "Greeting", "shortcut": "Hi", "created_at": "2001-01-01T00:00:00Z", "variants": [
		{"language": "en", "body": "Hello {{contact.name}}"},
		{"language": "NL", "tone": "Formal", "body": "Goedendag {{contact.name}}"},
		{"language": "nl", "tone": "casual", "body": "Hoi!"}]}`
	var tmpl store.Template
	t.Run("create", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/templates", token: sup, body: good, status: http.StatusCreated,
			contains: []string{`"shortcut":"hi"`, `"language":"nl","tone":"formal"`}})
		tmpl = decodeJSON[store.Template](t, r.Body)
	})
	url := path("/api/v1/templates/%d", tmpl.ID)
	t.Run("created_at is the server's", func(t *testing.T) {
		if tmpl.CreatedAt.Year() < 2020 {
			t.Errorf("created_at %v from the client", tmpl.CreatedAt)
		}
		r := ts.check(t, scenario{method: "PUT", url: url, token: sup, body: good, status: http.StatusOK})
		// The store keeps milliseconds.
		if got := decodeJSON[store.Template](t, r.Body).CreatedAt; !got.Equal(tmpl.CreatedAt.Truncate(time.Millisecond)) {
			t.Errorf("PUT answers created_at %v, want %v", got, tmpl.CreatedAt)
		}
	})
	variant := func(extra string) string {
		return `{"name": "T", "shortcut": "t", "variants": [{"language": "en", "body": "a"}` + extra + `]}`
	}
	ts.run(t, []scenario{
		{name: "show", method: "GET", url: url, token: ts.Tokens[store.RoleVolunteer], status: http.StatusOK, contains: []string{"Goedendag", "Hoi!"}},
		{name: "list", method: "GET", url: "/api/v1/templates", token: ts.Tokens[store.RoleAgent], status: http.StatusOK, contains: []string{`"shortcut":"hi"`}},
		{name: "unknown", method: "GET", url: "/api/v1/templates/999999", token: sup, status: http.StatusNotFound},
		{name: "duplicate language and tone", method: "POST", url: "/api/v1/templates", token: sup, body: variant(`, {"language": "EN", "body": "b"}`),
			status: http.StatusUnprocessableEntity, contains: []string{"two variants"}},
		{name: "duplicate language and tone, case and spaces", method: "POST", url: "/api/v1/templates", token: sup,
			body:   `{"name": "T", "shortcut": "t", "variants": [{"language": "de", "tone": "formal", "body": "a"}, {"language": "DE", "tone": " Formal ", "body": "b"}]}`,
			status: http.StatusUnprocessableEntity},
		{name: "same language, other tone", method: "POST", url: "/api/v1/templates", token: sup, body: variant(`, {"language": "en", "tone": "casual", "body": "b"}`),
			status: http.StatusCreated},
		{name: "no variants", method: "POST", url: "/api/v1/templates", token: sup, body: `{"name": "T", "shortcut": "t2", "variants": []}`, status: http.StatusUnprocessableEntity},
		{name: "bad shortcut", method: "POST", url: "/api/v1/templates", token: sup, body: `{"name": "T", "shortcut": "hi there", "variants": [{"language": "en", "body": "a"}]}`,
			status: http.StatusUnprocessableEntity, contains: []string{"shortcut"}},
		{name: "bad language", method: "POST", url: "/api/v1/templates", token: sup, body: `{"name": "T", "shortcut": "t3", "variants": [{"language": "english", "body": "a"}]}`,
			status: http.StatusUnprocessableEntity},
		{name: "empty body", method: "POST", url: "/api/v1/templates", token: sup, body: `{"name": "T", "shortcut": "t3", "variants": [{"language": "en", "body": ""}]}`,
			status: http.StatusUnprocessableEntity},
		{name: "taken shortcut", method: "POST", url: "/api/v1/templates", token: sup, body: `{"name": "Other", "shortcut": "HI", "variants": [{"language": "en", "body": "a"}]}`,
			status: http.StatusConflict},
		{name: "replace", method: "PUT", url: url, token: sup, body: `{"name": "Greeting", "shortcut": "hello", "variants": [{"language": "en", "body": "Hi there"}]}`,
			status: http.StatusOK, contains: []string{`"shortcut":"hello"`, "Hi there"}, excludes: []string{"Goedendag"}},
		{name: "replace with a duplicate variant", method: "PUT", url: url, token: sup, body: variant(`, {"language": "en", "body": "b"}`), status: http.StatusUnprocessableEntity},
		{name: "replace unknown", method: "PUT", url: "/api/v1/templates/999999", token: sup, body: variant(""), status: http.StatusNotFound},
		{name: "the replacement holds", method: "GET", url: url, token: sup, status: http.StatusOK, contains: []string{"Hi there"}, excludes: []string{"Goedendag", "Hoi!"}},
		{name: "agent cannot delete", method: "DELETE", url: url, token: ts.Tokens[store.RoleAgent], status: http.StatusForbidden},
		{name: "delete", method: "DELETE", url: url, token: sup, status: http.StatusNoContent},
		{name: "gone", method: "GET", url: url, token: sup, status: http.StatusNotFound},
		{name: "delete again", method: "DELETE", url: url, token: sup, status: http.StatusNotFound},
	})
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	agent := ts.Tokens[store.RoleAgent]
	type created struct {
		Token    string         `json:"token"`
		APIToken store.APIToken `json:"api_token"`
	}
	var tok created
	t.Run("create", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/tokens", token: agent, body: `{"name": " Zapier "}`, status: http.StatusCreated,
			contains: []string{`"name":"Zapier"`, `"token":"wct_`}, excludes: []string{"hash"}})
		tok = decodeJSON[created](t, r.Body)
		if tok.APIToken.AgentID != ts.Agents[store.RoleAgent].ID {
			t.Errorf("token for agent %d", tok.APIToken.AgentID)
		}
	})
	if tok.Token == "" {
		t.FailNow()
	}
	del := path("/api/v1/tokens/%d", tok.APIToken.ID)
	ts.run(t, []scenario{
		{name: "the new token acts as its maker", method: "GET", url: "/api/v1/me", token: tok.Token, status: http.StatusOK, contains: []string{`"email":"agent@example.org"`}},
		{name: "list own", method: "GET", url: "/api/v1/tokens", token: agent, status: http.StatusOK, contains: []string{"Zapier", "test agent"},
			excludes: []string{tok.Token, "hash", "test supervisor"}},
		{name: "list is own only without all", method: "GET", url: "/api/v1/tokens", token: ts.Tokens[store.RoleAdmin], status: http.StatusOK,
			contains: []string{"test admin"}, excludes: []string{"Zapier"}},
		{name: "admin lists all", method: "GET", url: "/api/v1/tokens?all=1", token: ts.Tokens[store.RoleAdmin], status: http.StatusOK,
			contains: []string{"Zapier", "test supervisor", "test admin"}, excludes: []string{tok.Token}},
		{name: "supervisor cannot list all", method: "GET", url: "/api/v1/tokens?all=1", token: ts.Tokens[store.RoleSupervisor], status: http.StatusOK,
			excludes: []string{"Zapier"}},
		{name: "no name", method: "POST", url: "/api/v1/tokens", token: agent, body: `{"name": ""}`, status: http.StatusUnprocessableEntity},
		{name: "volunteers have no tokens", method: "POST", url: "/api/v1/tokens", token: ts.Tokens[store.RoleVolunteer], body: `{"name": "x"}`, status: http.StatusForbidden},
		{name: "someone else's token is not found", method: "DELETE", url: del, token: ts.Tokens[store.RoleSupervisor], status: http.StatusNotFound},
		{name: "still works", method: "GET", url: "/api/v1/me", token: tok.Token, status: http.StatusOK},
		{name: "delete own", method: "DELETE", url: del, token: agent, status: http.StatusNoContent},
		{name: "revoked", method: "GET", url: "/api/v1/me", token: tok.Token, status: http.StatusUnauthorized},
		{name: "delete again", method: "DELETE", url: del, token: agent, status: http.StatusNotFound},
		{name: "admin deletes anyone's", method: "DELETE", url: path("/api/v1/tokens/%d", tokenID(t, ts, store.RoleSupervisor)), token: ts.Tokens[store.RoleAdmin], status: http.StatusNoContent},
		{name: "the supervisor's token is revoked", method: "GET", url: "/api/v1/me", token: ts.Tokens[store.RoleSupervisor], status: http.StatusUnauthorized},
		{name: "admin deletes unknown", method: "DELETE", url: "/api/v1/tokens/999999", token: ts.Tokens[store.RoleAdmin], status: http.StatusNotFound},
	})
}

// tokenID finds the id of the seeded API token of role.
func tokenID(t *testing.T, ts *testServer, role store.Role) int64 {
	t.Helper()
	toks, err := ts.Store.APITokens(t.Context(), ts.Agents[role].ID)
	if err != nil || len(toks) == 0 {
		t.Fatalf("tokens of %s: %v, %v", role, toks, err)
	}
	return toks[0].ID
}
