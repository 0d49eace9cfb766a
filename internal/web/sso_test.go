package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/auth/oidctest"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

// ssoCallback is where the provider sends browsers back. The test plays
// the browser, so the host need not resolve: only the path and query are
// taken to the test server.
const ssoCallback = "https://care.example.org/login/sso/callback"

func withSSO(p *oidctest.Provider, role store.Role) func(*web.Options) {
	return func(o *web.Options) {
		o.OIDC = auth.NewOIDC(auth.OIDCConfig{Issuer: p.Issuer(), ClientID: "webcare", ClientSecret: "s3cret", RedirectURL: ssoCallback})
		o.OIDCName, o.OIDCRole = "Testco SSO", role
	}
}

// sso plays a browser through a single sign-on: the start at webcare, the
// provider, and the callback with the start's cookie. change, if set, may
// alter the callback's query or cookie first.
func (ts *testServer) sso(t *testing.T, change func(q url.Values, c *http.Cookie) (url.Values, *http.Cookie)) response {
	t.Helper()
	start := ts.do(t, scenario{method: "GET", url: "/login/sso?next=" + url.QueryEscape("/search?q=x")})
	var flow *http.Cookie
	for _, c := range start.Cookies() {
		if c.Name == "webcare_sso" {
			flow = c
		}
	}
	if start.StatusCode != http.StatusFound || flow == nil || !flow.HttpOnly {
		t.Fatalf("start: %d, cookie %v", start.StatusCode, flow)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(start.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), ssoCallback) {
		t.Fatalf("the provider sent the browser to %q", resp.Header.Get("Location"))
	}
	q := back.Query()
	if change != nil {
		q, flow = change(q, flow)
	}
	return ts.do(t, scenario{method: "GET", url: "/login/sso/callback?" + q.Encode(), cookie: flow})
}

func TestSingleSignOn(t *testing.T) {
	t.Parallel()
	p := oidctest.Start("webcare", "s3cret", ssoCallback)
	t.Cleanup(p.Close)
	ts := newTestServer(t, withSSO(p, ""))
	verified := true

	ts.check(t, scenario{name: "the login page offers it", method: "GET", url: "/login", status: 200, contains: []string{"Sign in with Testco SSO", `href="/login/sso"`}})

	p.SignIn(&oidctest.User{Subject: "s-1", Email: "Agent@Example.org", Name: "Agent", EmailVerified: &verified})
	r := ts.sso(t, nil)
	c := cookieOf(r)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/search?q=x" || c == nil {
		t.Fatalf("callback: %d to %q: %s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	me := decodeJSON[store.Agent](t, ts.check(t, scenario{method: "GET", url: "/api/v1/me", cookie: c, status: 200}).Body)
	if me.ID != ts.Agents[store.RoleAgent].ID {
		t.Fatalf("signed in as %d, want the agent with that address", me.ID)
	}
	ts.check(t, scenario{method: "GET", url: "/api/v1/me/sessions", cookie: c, status: 200, contains: []string{`"method":"oidc"`}})

	refusals := []struct {
		name   string
		user   *oidctest.User
		change func(url.Values, *http.Cookie) (url.Values, *http.Cookie)
		status int
		says   string
	}{
		{"an address without an agent", &oidctest.User{Subject: "s-2", Email: "stranger@example.org", EmailVerified: &verified}, nil, 403, "has no agent account here"},
		{"a disabled agent", &oidctest.User{Subject: "s-3", Email: "gone@example.org"}, nil, 403, "has no agent account here"},
		{"an address the provider did not verify", &oidctest.User{Subject: "s-4", Email: "admin@example.org", EmailVerified: new(bool)}, nil, 401, "did not succeed"},
		{"the person declines", nil, nil, 401, "access_denied"},
		{"a callback from another browser (no cookie)", &oidctest.User{Subject: "s-1", Email: "agent@example.org"},
			func(q url.Values, _ *http.Cookie) (url.Values, *http.Cookie) { return q, nil }, 400, "opened in another browser"},
		{"a forged state", &oidctest.User{Subject: "s-1", Email: "agent@example.org"},
			func(q url.Values, c *http.Cookie) (url.Values, *http.Cookie) { q.Set("state", "forged"); return q, c }, 400, "opened in another browser"},
		{"a code made up", &oidctest.User{Subject: "s-1", Email: "agent@example.org"},
			func(q url.Values, c *http.Cookie) (url.Values, *http.Cookie) { q.Set("code", "made-up"); return q, c }, 401, "did not succeed"},
	}
	for _, rf := range refusals {
		t.Run(rf.name+" is refused", func(t *testing.T) {
			p.SignIn(rf.user)
			r := ts.sso(t, rf.change)
			if r.StatusCode != rf.status || !strings.Contains(string(r.Body), rf.says) || cookieOf(r) != nil && cookieOf(r).Value != "" {
				t.Errorf("%d, session cookie %v; want %d saying %q: %s", r.StatusCode, cookieOf(r), rf.status, rf.says, r.Body)
			}
		})
	}
	if a, err := ts.Store.AgentByEmail(t.Context(), "stranger@example.org"); err == nil {
		t.Errorf("a stranger became agent %d", a.ID)
	}
	failed, _ := ts.Store.Audits(t.Context(), "login", 0, 50)
	if len(failed) < 4 {
		t.Errorf("%d refused single sign-ons in the trail, want every one", len(failed))
	}
}

func TestSingleSignOnAddsAgents(t *testing.T) {
	t.Parallel()
	p := oidctest.Start("webcare", "s3cret", ssoCallback)
	t.Cleanup(p.Close)
	ts := newTestServer(t, withSSO(p, store.RoleVolunteer))
	p.SignIn(&oidctest.User{Subject: "s-9", Email: "helper@example.org", Name: "Crisis Helper"})
	r := ts.sso(t, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", r.StatusCode, r.Body)
	}
	me := decodeJSON[store.Agent](t, ts.check(t, scenario{method: "GET", url: "/api/v1/me", cookie: cookieOf(r), status: 200}).Body)
	if me.Email != "helper@example.org" || me.Name != "Crisis Helper" || me.Role != store.RoleVolunteer || me.PasswordHash != "" {
		t.Errorf("the new agent: %+v", me)
	}
	// A second sign-in finds the same agent.
	again := decodeJSON[store.Agent](t, ts.check(t, scenario{method: "GET", url: "/api/v1/me", cookie: cookieOf(ts.sso(t, nil)), status: 200}).Body)
	if again.ID != me.ID {
		t.Errorf("second sign-in is agent %d, want %d", again.ID, me.ID)
	}
	// Without a password, the password form lets nobody in as them.
	ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: jsonBody(t, map[string]string{"email": "helper@example.org", "password": ""}), status: 401})
}

// TestSingleSignOnHolds: what an attack review tried against single
// sign-on: another person given an agent's address at the provider, and a
// flood of made-up callbacks.
func TestSingleSignOnHolds(t *testing.T) {
	t.Parallel()
	p := oidctest.Start("webcare", "s3cret", ssoCallback)
	t.Cleanup(p.Close)
	ts := newTestServer(t, withSSO(p, ""))

	p.SignIn(&oidctest.User{Subject: "kate-1", Email: "agent@example.org"})
	if r := ts.sso(t, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first sign-in: %d", r.StatusCode)
	}
	p.SignIn(&oidctest.User{Subject: "someone-else", Email: "agent@example.org"})
	if r := ts.sso(t, nil); r.StatusCode != http.StatusForbidden || cookieOf(r) != nil && cookieOf(r).Value != "" {
		t.Errorf("another subject with the agent's address: %d", r.StatusCode)
	}

	before, _ := ts.Store.Audits(t.Context(), "login", 0, 500)
	tokenCalls := p.Count("/token")
	refused := 0
	for range 150 {
		r := ts.do(t, scenario{method: "GET", url: "/login/sso/callback?state=x&code=made-up", cookie: &http.Cookie{Name: "webcare_sso", Value: "e30"}})
		if r.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	after, _ := ts.Store.Audits(t.Context(), "login", 0, 500)
	if refused == 0 || len(after)-len(before) > 110 || p.Count("/token") != tokenCalls {
		t.Errorf("150 made-up callbacks: %d refused, %d audit rows, %d token calls; want the flood cut off", refused, len(after)-len(before), p.Count("/token")-tokenCalls)
	}
}
