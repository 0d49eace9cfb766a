package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// anonymous is the "role" of a request without credentials.
const anonymous store.Role = "anonymous"

// route is one entry of routes.go, with a request that passes validation
// only as far as needed to show whether the role got in, and changes
// nothing that another row looks at.
type route struct {
	pattern string // exactly as in routes.go
	url     string
	body    string
	form    bool              // body is a form, not JSON
	perm    auth.Permission   // checked by require; "" needs only a login
	anyOf   []auth.Permission // the handler lets in a role with any of these
	public  bool              // no login needed at all
	ok      int               // the status when let in
	fieldOK int               // the status for field staff when let in, if not ok
	stream  bool              // an event stream: stop reading once the status is in
	page    bool              // an agent UI page: anonymous visitors are sent to log in, errors are HTML
	anonOK  int               // the status for anonymous visitors of a public route, if not ok
}

func TestRolesOnEveryRoute(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := context.Background()
	conv := ts.ingest(t, inbound{ID: "r-1", From: author{ID: "who"}, Text: "hello"})
	tmpl := store.Template{Name: "Hello", Shortcut: "hello", Variants: []store.TemplateVariant{{Language: "en", Body: "Hello!"}}}
	if err := ts.Store.CreateTemplate(ctx, &tmpl, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	c, ch, a, tm, tp := conv.ConversationID, ts.Channel.ID, ts.Agent2.ID, ts.Team.ID, tmpl.ID

	routes := []route{
		{pattern: "GET /healthz", url: "/healthz", public: true, ok: 200},
		{pattern: "GET /readyz", url: "/readyz", public: true, ok: 200},
		{pattern: "GET /metrics", url: "/metrics", public: true, ok: 200},
		{pattern: "GET /setup", url: "/setup", public: true, ok: 410},
		{pattern: "POST /setup", url: "/setup", form: true, body: "token=x", public: true, ok: 410},
		{pattern: "POST /api/v1/login", url: "/api/v1/login", body: `{"email": 1}`, public: true, ok: 400},
		{pattern: "POST /api/v1/logout", url: "/api/v1/logout", public: true, ok: 204},
		{pattern: "GET /api/v1/me", url: "/api/v1/me", ok: 200},
		{pattern: "PATCH /api/v1/me", url: "/api/v1/me", body: `{"presence": "sleeping"}`, ok: 422},
		{pattern: "POST /api/v1/me/sessions/end", url: "/api/v1/me/sessions/end", ok: 200},
		{pattern: "GET /api/v1/me/sessions", url: "/api/v1/me/sessions", ok: 200},
		{pattern: "DELETE /api/v1/me/sessions/{id}", url: "/api/v1/me/sessions/999999", ok: 404},
		{pattern: "GET /api/v1/security", url: "/api/v1/security", perm: auth.ManageAgents, ok: 200},
		{pattern: "PUT /api/v1/security", url: "/api/v1/security", body: `{"two_factor_roles": ["king"]}`, perm: auth.ManageAgents, ok: 422},
		{pattern: "POST /api/v1/agents/{id}/two-factor/reset", url: "/api/v1/agents/999999/two-factor/reset", perm: auth.ManageAgents, ok: 404},

		{pattern: "POST /api/v1/channels/{id}/messages", url: path("/api/v1/channels/%d/messages", ch), body: `{}`, ok: 422}, // see below

		{pattern: "GET /api/v1/conversations", url: "/api/v1/conversations", ok: 200},
		{pattern: "POST /api/v1/conversations/assign", url: "/api/v1/conversations/assign", body: `{"conversation_ids": []}`, perm: auth.AssignOthers, ok: 422},
		{pattern: "GET /api/v1/queues", url: "/api/v1/queues", perm: auth.SuperviseQueues, ok: 200},
		{pattern: "GET /api/v1/conversations/{id}", url: path("/api/v1/conversations/%d", c), ok: 200, fieldOK: 404},
		{pattern: "GET /api/v1/conversations/{id}/messages", url: path("/api/v1/conversations/%d/messages", c), ok: 200, fieldOK: 404},
		{pattern: "PATCH /api/v1/conversations/{id}", url: path("/api/v1/conversations/%d", c), body: `{"priority": 9}`, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "POST /api/v1/conversations/{id}/replies", url: path("/api/v1/conversations/%d/replies", c), body: `{"body": ""}`, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "POST /api/v1/conversations/{id}/private", url: path("/api/v1/conversations/%d/private", c), body: `{"body": ""}`, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "POST /api/v1/conversations/{id}/notes", url: path("/api/v1/conversations/%d/notes", c), body: `{"body": ""}`, perm: auth.WorkConversations, ok: 422, fieldOK: 404},

		{pattern: "GET /api/v1/search", url: "/api/v1/search?q=hello", ok: 200},

		{pattern: "GET /api/v1/contacts", url: "/api/v1/contacts", perm: auth.ReadContacts, ok: 200},
		{pattern: "GET /api/v1/contacts/{id}", url: path("/api/v1/contacts/%d", conv.ContactID), perm: auth.ReadContacts, ok: 200},
		{pattern: "POST /api/v1/contacts/{id}/merge", url: path("/api/v1/contacts/%d/merge", conv.ContactID), body: `{}`, perm: auth.ManageContacts, ok: 422},

		{pattern: "GET /api/v1/channels", url: "/api/v1/channels", perm: auth.ReadDirectory, ok: 200},
		{pattern: "POST /api/v1/channels", url: "/api/v1/channels", body: `{"kind": "fax"}`, perm: auth.ManageChannels, ok: 422},
		{pattern: "GET /api/v1/channels/{id}", url: path("/api/v1/channels/%d", ch), perm: auth.ReadDirectory, ok: 200},
		{pattern: "PATCH /api/v1/channels/{id}", url: path("/api/v1/channels/%d", ch), body: `{"kind": "x"}`, perm: auth.ManageChannels, ok: 422},
		{pattern: "POST /api/v1/channels/{id}/token", url: "/api/v1/channels/999999/token", perm: auth.ManageChannels, ok: 404},
		{pattern: "POST /api/v1/channels/{id}/test", url: "/api/v1/channels/999999/test", perm: auth.ManageChannels, ok: 404},
		// Platforms call these with their own signatures: no login. An API
		// channel takes no webhooks.
		{pattern: "GET /hooks/{id}", url: path("/hooks/%d?hub.mode=subscribe", ch), public: true, ok: 404},
		{pattern: "POST /hooks/{id}", url: path("/hooks/%d", ch), body: `{}`, public: true, ok: 404},
		{pattern: "/chat/", url: "/chat/widget.js", public: true, ok: 200},

		{pattern: "GET /api/v1/agents", url: "/api/v1/agents", perm: auth.ReadDirectory, ok: 200},
		{pattern: "POST /api/v1/agents", url: "/api/v1/agents", body: `{}`, perm: auth.ManageAgents, ok: 422},
		{pattern: "GET /api/v1/agents/{id}", url: path("/api/v1/agents/%d", a), perm: auth.ReadDirectory, ok: 200},
		{pattern: "PATCH /api/v1/agents/{id}", url: path("/api/v1/agents/%d", a), body: `{"role": "king"}`, perm: auth.ManageAgents, ok: 422},

		{pattern: "POST /api/v1/agents/{id}/invite", url: "/api/v1/agents/999999/invite", perm: auth.ManageAgents, ok: 404},
		{pattern: "POST /api/v1/invites/{token}", url: "/api/v1/invites/wci_unknown", body: `{"password": "short"}`, public: true, ok: 422},

		{pattern: "GET /api/v1/teams", url: "/api/v1/teams", perm: auth.ReadDirectory, ok: 200},
		{pattern: "POST /api/v1/teams", url: "/api/v1/teams", body: `{}`, perm: auth.ManageTeams, ok: 422},
		{pattern: "PATCH /api/v1/teams/{id}", url: path("/api/v1/teams/%d", tm), body: `{"name": ""}`, perm: auth.ManageTeams, ok: 422},

		{pattern: "GET /api/v1/templates", url: "/api/v1/templates", perm: auth.ReadDirectory, ok: 200},
		{pattern: "POST /api/v1/templates", url: "/api/v1/templates", body: `{}`, perm: auth.ManageTemplates, ok: 422},
		{pattern: "GET /api/v1/templates/{id}", url: path("/api/v1/templates/%d", tp), perm: auth.ReadDirectory, ok: 200},
		{pattern: "PUT /api/v1/templates/{id}", url: path("/api/v1/templates/%d", tp), body: `{}`, perm: auth.ManageTemplates, ok: 422},
		{pattern: "DELETE /api/v1/templates/{id}", url: "/api/v1/templates/999999", perm: auth.ManageTemplates, ok: 404},

		{pattern: "GET /api/v1/tokens", url: "/api/v1/tokens", perm: auth.ManageOwnAPITokens, ok: 200},
		{pattern: "POST /api/v1/tokens", url: "/api/v1/tokens", body: `{}`, perm: auth.ManageOwnAPITokens, ok: 422},
		{pattern: "DELETE /api/v1/tokens/{id}", url: "/api/v1/tokens/999999", perm: auth.ManageOwnAPITokens, ok: 404},

		{pattern: "GET /api/v1/audit", url: "/api/v1/audit", perm: auth.ReadAudit, ok: 200},
		{pattern: "GET /api/v1/events", url: "/api/v1/events", perm: auth.ReadEvents, ok: 200, stream: true},

		{pattern: "/api/", url: "/api/v1/nope", public: true, ok: 404},

		{pattern: "GET /{$}", url: "/", public: true, ok: 303},
		{pattern: "GET /static/{hash}/{name}", url: "/static/0/app.js", public: true, ok: 200},
		{pattern: "GET /login", url: "/login", public: true, page: true, ok: 303, anonOK: 200},
		{pattern: "POST /login", url: "/login", form: true, body: "email=nobody%40example.org&password=x", public: true, page: true, ok: 401},
		{pattern: "POST /logout", url: "/logout", form: true, public: true, page: true, ok: 303},
		// Without a half-login, the second step sends everyone to log in again.
		{pattern: "GET /login/two-factor", url: "/login/two-factor", public: true, page: true, ok: 401},
		{pattern: "POST /login/two-factor", url: "/login/two-factor", form: true, body: "code=123456", public: true, page: true, ok: 401},
		{pattern: "GET /login/two-factor/setup", url: "/login/two-factor/setup", public: true, page: true, ok: 401},
		{pattern: "POST /login/two-factor/setup", url: "/login/two-factor/setup", form: true, body: "code=123456", public: true, page: true, ok: 401},
		// This server has no single sign-on.
		{pattern: "GET /login/sso", url: "/login/sso", public: true, page: true, ok: 404},
		{pattern: "GET /login/sso/callback", url: "/login/sso/callback?code=x&state=y", public: true, page: true, ok: 404},
		{pattern: "GET /inbox", url: "/inbox", page: true, ok: 200},
		{pattern: "GET /inbox/rows", url: "/inbox/rows?queue=unassigned", page: true, ok: 303},
		{pattern: "GET /inbox/queues", url: "/inbox/queues", page: true, ok: 200},
		{pattern: "GET /conversations/{id}", url: path("/conversations/%d", c), page: true, ok: 200, fieldOK: 404},
		{pattern: "GET /conversations/{id}/thread", url: path("/conversations/%d/thread", c), page: true, ok: 200, fieldOK: 404},
		{pattern: "POST /conversations/{id}/messages", url: path("/conversations/%d/messages", c), form: true, body: "kind=shout&body=hi", page: true, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "POST /conversations/{id}/assign", url: path("/conversations/%d/assign", c), form: true, body: "assignee=-5", page: true, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "POST /conversations/{id}/status", url: path("/conversations/%d/status", c), form: true, body: "status=asleep", page: true, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "POST /conversations/{id}/tags", url: path("/conversations/%d/tags", c), form: true, body: "tags=" + strings.Repeat("t", 60), page: true, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "POST /conversations/{id}/private", url: path("/conversations/%d/private", c), form: true, body: "body=" + strings.Repeat("x", 5000), page: true, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "POST /conversations/{id}/activity", url: path("/conversations/%d/activity", c), form: true, body: "state=dancing", page: true, perm: auth.WorkConversations, ok: 422, fieldOK: 404},
		{pattern: "GET /contacts/{id}", url: path("/contacts/%d", conv.ContactID), page: true, perm: auth.ReadContacts, ok: 200},
		{pattern: "GET /search", url: "/search?q=hello", page: true, ok: 200},
		{pattern: "GET /attachments/{id}", url: "/attachments/999999", page: true, ok: 404},
		{pattern: "GET /supervisor", url: "/supervisor", page: true, perm: auth.SuperviseQueues, ok: 200},
		{pattern: "POST /supervisor/assign", url: "/supervisor/assign", form: true, body: "assignee=1", page: true, perm: auth.AssignOthers, ok: 422},
		{pattern: "GET /settings", url: "/settings", page: true, ok: 200},
		{pattern: "POST /settings", url: "/settings", form: true, body: "name=Someone&presence=asleep", page: true, ok: 422},
		{pattern: "POST /settings/presence", url: "/settings/presence", form: true, body: "presence=asleep", page: true, ok: 422},
		{pattern: "POST /settings/sessions/end", url: "/settings/sessions/end", form: true, page: true, ok: 200},
		{pattern: "POST /settings/sessions/{id}/end", url: "/settings/sessions/999999/end", form: true, page: true, ok: 303},
		{pattern: "POST /settings/tokens", url: "/settings/tokens", form: true, body: "name=", page: true, perm: auth.ManageOwnAPITokens, ok: 422},
		{pattern: "POST /settings/tokens/{id}/delete", url: "/settings/tokens/999999/delete", form: true, page: true, perm: auth.ManageOwnAPITokens, ok: 303},
		{pattern: "GET /settings/two-factor", url: "/settings/two-factor", page: true, ok: 200},
		{pattern: "POST /settings/two-factor", url: "/settings/two-factor", form: true, body: "secret=x&code=1", page: true, ok: 422},
		{pattern: "POST /settings/two-factor/off", url: "/settings/two-factor/off", form: true, body: "code=1", page: true, ok: 409},
		{pattern: "POST /settings/two-factor/recovery", url: "/settings/two-factor/recovery", form: true, body: "code=1", page: true, ok: 409},

		{pattern: "GET /admin", url: "/admin", page: true, anyOf: []auth.Permission{auth.ManageAgents, auth.ManageTeams, auth.ManageChannels, auth.ManageTemplates}, ok: 303},
		{pattern: "GET /admin/agents", url: "/admin/agents", page: true, perm: auth.ManageAgents, ok: 200},
		{pattern: "POST /admin/agents", url: "/admin/agents", form: true, body: "name=&email=x&capacity=1", page: true, perm: auth.ManageAgents, ok: 422},
		{pattern: "POST /admin/agents/{id}", url: path("/admin/agents/%d", a), form: true, body: "role=king", page: true, perm: auth.ManageAgents, ok: 422},
		{pattern: "POST /admin/agents/{id}/invite", url: "/admin/agents/999999/invite", form: true, page: true, perm: auth.ManageAgents, ok: 404},
		{pattern: "POST /admin/agents/{id}/two-factor/reset", url: "/admin/agents/999999/two-factor/reset", form: true, page: true, perm: auth.ManageAgents, ok: 404},
		{pattern: "POST /admin/security", url: "/admin/security", form: true, body: "two_factor_roles=king", page: true, perm: auth.ManageAgents, ok: 422},
		{pattern: "GET /admin/teams", url: "/admin/teams", page: true, perm: auth.ManageTeams, ok: 200},
		{pattern: "POST /admin/teams", url: "/admin/teams", form: true, body: "name=", page: true, perm: auth.ManageTeams, ok: 422},
		{pattern: "POST /admin/teams/{id}", url: path("/admin/teams/%d", tm), form: true, body: "name=", page: true, perm: auth.ManageTeams, ok: 422},
		{pattern: "GET /admin/channels", url: "/admin/channels", page: true, perm: auth.ManageChannels, ok: 200},
		{pattern: "POST /admin/channels", url: "/admin/channels", form: true, body: "kind=fax&name=x", page: true, perm: auth.ManageChannels, ok: 422},
		{pattern: "POST /admin/channels/{id}", url: "/admin/channels/999999", form: true, body: "disabled=false", page: true, perm: auth.ManageChannels, ok: 404},
		{pattern: "POST /admin/channels/{id}/token", url: "/admin/channels/999999/token", form: true, page: true, perm: auth.ManageChannels, ok: 404},
		{pattern: "POST /admin/channels/{id}/settings", url: "/admin/channels/999999/settings", form: true, page: true, perm: auth.ManageChannels, ok: 404},
		{pattern: "POST /admin/channels/{id}/test", url: "/admin/channels/999999/test", form: true, page: true, perm: auth.ManageChannels, ok: 404},
		{pattern: "GET /admin/templates", url: "/admin/templates", page: true, perm: auth.ManageTemplates, ok: 200},
		{pattern: "POST /admin/templates", url: "/admin/templates", form: true, body: "name=", page: true, perm: auth.ManageTemplates, ok: 422},
		{pattern: "GET /admin/templates/{id}", url: path("/admin/templates/%d", tp), page: true, perm: auth.ManageTemplates, ok: 200},
		{pattern: "POST /admin/templates/{id}", url: path("/admin/templates/%d", tp), form: true, body: "name=", page: true, perm: auth.ManageTemplates, ok: 422},
		{pattern: "POST /admin/templates/{id}/delete", url: "/admin/templates/999999/delete", form: true, page: true, perm: auth.ManageTemplates, ok: 404},
		{pattern: "GET /invite/{token}", url: "/invite/wci_unknown", public: true, page: true, ok: 404},
		{pattern: "POST /invite/{token}", url: "/invite/wci_unknown", form: true, body: "password=short&repeat=short", public: true, page: true, ok: 422},
	}

	t.Run("the table lists every route", func(t *testing.T) {
		src, err := os.ReadFile("routes.go")
		if err != nil {
			t.Fatal(err)
		}
		var inSource []string
		for _, m := range regexp.MustCompile(`mux\.Handle(?:Func)?\("([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
			inSource = append(inSource, m[1])
		}
		var inTable []string
		for _, r := range routes {
			inTable = append(inTable, r.pattern)
		}
		slices.Sort(inSource)
		slices.Sort(inTable)
		if !slices.Equal(inSource, inTable) {
			t.Errorf("routes.go has\n%q\nthe table has\n%q", inSource, inTable)
		}
	})

	const ingestPattern = "POST /api/v1/channels/{id}/messages"
	for _, rt := range routes {
		method, _, _ := strings.Cut(rt.pattern, " ")
		if !strings.Contains(rt.pattern, " ") {
			method = "GET"
		}
		for _, role := range append(slices.Clone(roles), anonymous) {
			want := rt.ok
			switch {
			case rt.pattern == ingestPattern:
				// The channel's own token is the only way in: an agent's
				// token is no ingest credential, whatever the role.
				if role != anonymous {
					want = http.StatusUnauthorized
				}
			case rt.public:
				if role == anonymous && rt.anonOK != 0 {
					want = rt.anonOK
				}
			case role == anonymous && rt.page:
				want = http.StatusSeeOther
			case role == anonymous:
				want = http.StatusUnauthorized
			case rt.perm != "" && !auth.Can(role, rt.perm):
				want = http.StatusForbidden
			case rt.anyOf != nil && !slices.ContainsFunc(rt.anyOf, func(p auth.Permission) bool { return auth.Can(role, p) }):
				want = http.StatusForbidden
			case role == store.RoleField && rt.fieldOK != 0:
				want = rt.fieldOK
			}
			t.Run(rt.pattern+" as "+string(role), func(t *testing.T) {
				t.Parallel()
				sc := scenario{method: method, url: rt.url, body: rt.body, status: want}
				if role != anonymous {
					sc.token = ts.Tokens[role]
				} else if rt.pattern == ingestPattern {
					sc.token = ts.ChannelToken
				}
				if rt.form {
					sc.headers = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
				}
				sc.notProblem = rt.page
				if rt.stream {
					checkStreamStatus(t, ts, sc)
					return
				}
				ts.check(t, sc)
			})
		}
	}

	t.Run("no credentials at all on the ingest endpoint", func(t *testing.T) {
		ts.check(t, scenario{method: "POST", url: path("/api/v1/channels/%d/messages", ch), body: `{}`, status: http.StatusUnauthorized})
	})
	t.Run("an unknown token is 401 everywhere", func(t *testing.T) {
		ts.check(t, scenario{method: "GET", url: "/api/v1/conversations", token: "wct_unknown", status: http.StatusUnauthorized})
		ts.check(t, scenario{method: "GET", url: "/api/v1/me", headers: map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}, status: http.StatusUnauthorized,
			contains: []string{"Bearer"}})
	})
	t.Run("the field list is empty until something is assigned", func(t *testing.T) {
		if got := ts.listIDs(t, store.RoleField, ""); len(got) != 0 {
			t.Errorf("field staff see %v", got)
		}
	})
}

// checkStreamStatus opens an event stream, checks its status and hangs up.
func checkStreamStatus(t *testing.T, ts *testServer, sc scenario) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, sc.method, ts.URL+sc.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.token != "" {
		req.Header.Set("Authorization", "Bearer "+sc.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != sc.status {
		t.Fatalf("status %d, want %d", resp.StatusCode, sc.status)
	}
	if resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		return
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkProblem(t, response{Response: resp, Body: b})
}
