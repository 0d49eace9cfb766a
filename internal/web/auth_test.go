package web_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

func loginBody(t *testing.T, email, password string) string {
	return jsonBody(t, map[string]string{"email": email, "password": password})
}

func TestLoginSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	var cookie *http.Cookie
	t.Run("good password sets a session cookie", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: loginBody(t, "AGENT@example.org ", testPassword),
			status: http.StatusOK, contains: []string{`"email":"agent@example.org"`, `"role":"agent"`},
			excludes: []string{"argon2", "password", testPassword}})
		cookie = sessionCookie(t, r)
		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Expires.IsZero() {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/ and an expiry", cookie)
		}
		if !strings.HasPrefix(cookie.Value, "wcs_") {
			t.Errorf("cookie value %q: want a wcs_ session token", cookie.Value)
		}
		if set := r.Header.Get("Set-Cookie"); !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") {
			t.Errorf("Set-Cookie %q lacks HttpOnly or SameSite=Lax", set)
		}
	})
	if cookie == nil {
		t.FailNow()
	}
	ts.run(t, []scenario{
		{name: "the cookie authenticates", method: "GET", url: "/api/v1/me", cookie: cookie, status: http.StatusOK,
			contains: []string{`"email":"agent@example.org"`}, excludes: []string{"argon2"}},
		{name: "a made-up cookie does not", method: "GET", url: "/api/v1/me", cookie: &http.Cookie{Name: "webcare_session", Value: "wcs_forged"},
			status: http.StatusUnauthorized},
		{name: "wrong password", method: "POST", url: "/api/v1/login", body: loginBody(t, "supervisor@example.org", "not the password"),
			status: http.StatusUnauthorized, contains: []string{"wrong e-mail address or password"}},
		{name: "unknown e-mail gives the same answer", method: "POST", url: "/api/v1/login", body: loginBody(t, "nobody@example.org", testPassword),
			status: http.StatusUnauthorized, contains: []string{"wrong e-mail address or password"}},
		{name: "disabled agent", method: "POST", url: "/api/v1/login", body: loginBody(t, "gone@example.org", testPassword),
			status: http.StatusUnauthorized, contains: []string{"wrong e-mail address or password"}},
		{name: "login is JSON", method: "POST", url: "/api/v1/login", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: "email=agent@example.org&password=x", status: http.StatusUnsupportedMediaType},
		{name: "PATCH me changes name and presence", method: "PATCH", url: "/api/v1/me", cookie: cookie,
			body: `{"name": "Renamed Agent", "presence": "away", "languages": ["EN", "pt-br"]}`, status: http.StatusOK,
			contains: []string{`"name":"Renamed Agent"`, `"presence":"away"`, `"languages":["en","pt-br"]`, `"role":"agent"`}},
		{name: "PATCH me cannot change the role", method: "PATCH", url: "/api/v1/me", cookie: cookie, body: `{"role": "admin"}`,
			status: http.StatusBadRequest, contains: []string{"unknown field", "role"}},
		{name: "PATCH me with a bad presence", method: "PATCH", url: "/api/v1/me", cookie: cookie, body: `{"presence": "asleep"}`,
			status: http.StatusUnprocessableEntity},
		{name: "a new agent's locale is empty", method: "GET", url: "/api/v1/me", cookie: cookie, status: http.StatusOK,
			contains: []string{`"locale":""`}},
		{name: "PATCH me sets the locale", method: "PATCH", url: "/api/v1/me", cookie: cookie, body: `{"locale": "nl"}`,
			status: http.StatusOK, contains: []string{`"locale":"nl"`, `"name":"Renamed Agent"`}},
		{name: "the locale is kept", method: "GET", url: "/api/v1/me", cookie: cookie, status: http.StatusOK,
			contains: []string{`"locale":"nl"`}},
		{name: "PATCH me with an unknown locale", method: "PATCH", url: "/api/v1/me", cookie: cookie, body: `{"locale": "de"}`,
			status: http.StatusUnprocessableEntity, contains: []string{"locale must be one of en, nl"}},
		{name: "PATCH me with an empty locale", method: "PATCH", url: "/api/v1/me", cookie: cookie, body: `{"locale": ""}`,
			status: http.StatusUnprocessableEntity},
		{name: "PATCH me with a locale in capitals", method: "PATCH", url: "/api/v1/me", cookie: cookie, body: `{"locale": "EN"}`,
			status: http.StatusUnprocessableEntity},
		{name: "PATCH me password needs the current one", method: "PATCH", url: "/api/v1/me", cookie: cookie,
			body: `{"password": "a brand new password", "current_password": "wrong"}`, status: http.StatusForbidden},
		{name: "logout", method: "POST", url: "/api/v1/logout", cookie: cookie, status: http.StatusNoContent},
		{name: "the session has ended", method: "GET", url: "/api/v1/me", cookie: cookie, status: http.StatusUnauthorized},
		{name: "logout without a session", method: "POST", url: "/api/v1/logout", status: http.StatusNoContent},
	})

	t.Run("logout clears the cookie", func(t *testing.T) {
		c := ts.login(t, "supervisor@example.org")
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/logout", cookie: c, status: http.StatusNoContent})
		if got := sessionCookie(t, r); got.MaxAge >= 0 || got.Value != "" {
			t.Errorf("logout cookie %+v: want it deleted", got)
		}
	})

	t.Run("disabling an agent ends their session", func(t *testing.T) {
		c := ts.login(t, "agent2@example.org")
		ts.check(t, scenario{method: "GET", url: "/api/v1/me", cookie: c, status: http.StatusOK})
		ts.check(t, scenario{method: "PATCH", url: path("/api/v1/agents/%d", ts.Agent2.ID), token: ts.Tokens[store.RoleAdmin],
			body: `{"disabled": true}`, status: http.StatusOK})
		ts.check(t, scenario{method: "GET", url: "/api/v1/me", cookie: c, status: http.StatusUnauthorized})
	})
}

func TestLoginBruteForce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	t.Run("ten failures lock the account", func(t *testing.T) {
		t.Parallel()
		for i := range 10 {
			r := ts.do(t, scenario{method: "POST", url: "/api/v1/login", body: loginBody(t, "volunteer@example.org", "guess-"+string(rune('a'+i)))})
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i+1, r.StatusCode)
			}
		}
		ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: loginBody(t, "volunteer@example.org", testPassword),
			status: http.StatusTooManyRequests, contains: []string{"too many failed logins"}})
		ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: loginBody(t, " Volunteer@Example.org", testPassword),
			status: http.StatusTooManyRequests})
	})

	t.Run("parallel guesses cannot pass the limit", func(t *testing.T) {
		t.Parallel()
		const guesses = 20
		codes := make(chan int, guesses)
		var wg sync.WaitGroup
		for i := range guesses {
			wg.Go(func() {
				r := ts.do(t, scenario{method: "POST", url: "/api/v1/login", body: loginBody(t, "field@example.org", "parallel guess "+string(rune('a'+i)))})
				codes <- r.StatusCode
			})
		}
		wg.Wait()
		close(codes)
		count := map[int]int{}
		for c := range codes {
			count[c]++
		}
		if count[http.StatusUnauthorized] != 10 || count[http.StatusTooManyRequests] != guesses-10 {
			t.Errorf("answers %v: want exactly 10 × 401 and %d × 429", count, guesses-10)
		}
	})

	t.Run("other accounts are not locked", func(t *testing.T) {
		t.Parallel()
		ts.login(t, "supervisor@example.org")
	})

	t.Run("a good login resets the count", func(t *testing.T) {
		t.Parallel()
		for range 9 {
			ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: loginBody(t, "agent@example.org", "wrong password!"), status: http.StatusUnauthorized})
		}
		ts.login(t, "agent@example.org")
		// Without the reset this would be the tenth failure, and the
		// login after it refused.
		ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: loginBody(t, "agent@example.org", "wrong password!"), status: http.StatusUnauthorized})
		ts.login(t, "agent@example.org")
	})
}

func TestCrossOriginProtection(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	conv := ts.ingest(t, inbound{ID: "csrf-1", From: author{ID: "c1"}, Text: "hello"})
	cookie := ts.login(t, "agent@example.org")
	notes := path("/api/v1/conversations/%d/notes", conv.ConversationID)
	note := `{"body": "internal remark"}`

	t.Run("requests", func(t *testing.T) {
		ts.runParallel(t, []scenario{
			{name: "cross-site POST with cookie", method: "POST", url: notes, cookie: cookie, body: note,
				headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: http.StatusForbidden},
			{name: "same-site but other origin POST", method: "POST", url: notes, cookie: cookie, body: note,
				headers: map[string]string{"Sec-Fetch-Site": "same-site"}, status: http.StatusForbidden},
			{name: "foreign Origin without Sec-Fetch-Site", method: "POST", url: notes, cookie: cookie, body: note,
				headers: map[string]string{"Origin": "https://evil.example"}, status: http.StatusForbidden},
			{name: "cross-site PATCH", method: "PATCH", url: path("/api/v1/conversations/%d", conv.ConversationID), cookie: cookie,
				body: `{"priority": 3}`, headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: http.StatusForbidden},
			{name: "cross-site login", method: "POST", url: "/api/v1/login", body: loginBody(t, "agent@example.org", testPassword),
				headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: http.StatusForbidden},
			{name: "cross-site logout", method: "POST", url: "/api/v1/logout", cookie: cookie,
				headers: map[string]string{"Origin": "https://evil.example"}, status: http.StatusForbidden},
			{name: "same-origin POST", method: "POST", url: notes, cookie: cookie, body: note,
				headers: map[string]string{"Sec-Fetch-Site": "same-origin"}, status: http.StatusCreated},
			{name: "own Origin", method: "POST", url: notes, cookie: cookie, body: note,
				headers: map[string]string{"Origin": ts.URL}, status: http.StatusCreated},
			{name: "no browser headers (an API client)", method: "POST", url: notes, cookie: cookie, body: note, status: http.StatusCreated},
			{name: "cross-site GET is harmless and allowed", method: "GET", url: "/api/v1/me", cookie: cookie,
				headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: http.StatusOK},
		})
	})

	t.Run("refused posts stored nothing", func(t *testing.T) {
		d := ts.conversation(t, store.RoleAgent, conv.ConversationID)
		var notes int
		for _, m := range d.Messages {
			if m.Direction == store.DirNote {
				notes++
			}
		}
		if notes != 3 || d.Conversation.Priority != 0 {
			t.Errorf("%d notes and priority %d, want the 3 allowed notes and priority 0", notes, d.Conversation.Priority)
		}
	})
}

func TestSetup(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// A setup link exists only while no administrator can log in.
	admin := ts.Agents[store.RoleAdmin]
	admin.Disabled = true
	if err := ts.Store.UpdateAgent(context.Background(), &admin, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	token, hash := auth.NewToken("wcu_")
	if err := ts.Store.SetSetting(context.Background(), desk.SetupTokenKey, hex.EncodeToString(hash)); err != nil {
		t.Fatal(err)
	}
	form := func(v url.Values) string { return v.Encode() }
	formHeader := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	hostile := `<script>alert(1)</script>"><img src=x onerror=alert(1)>`

	ts.run(t, []scenario{
		{name: "no token", method: "GET", url: "/setup", status: http.StatusForbidden},
		{name: "wrong token", method: "GET", url: "/setup?token=wcu_wrong", status: http.StatusForbidden},
		{name: "right token shows the form", method: "GET", url: "/setup?token=" + token, status: http.StatusOK,
			contains: []string{"<form", `name="password"`, `value="` + token + `"`}},
		{name: "POST with a wrong token", method: "POST", url: "/setup", headers: formHeader,
			body:   form(url.Values{"token": {"wcu_wrong"}, "name": {"Eve"}, "email": {"eve@example.org"}, "password": {"long enough password"}}),
			status: http.StatusForbidden},
		{name: "short password re-renders the form, escaped", method: "POST", url: "/setup", headers: formHeader,
			body:   form(url.Values{"token": {token}, "name": {hostile}, "email": {"root@example.org"}, "password": {"short"}}),
			status: http.StatusUnprocessableEntity, notProblem: true,
			contains: []string{"at least 10 characters", "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", `value="root@example.org"`},
			excludes: []string{"<script>", "<img"}},
		{name: "bad e-mail re-renders the form", method: "POST", url: "/setup", headers: formHeader,
			body:   form(url.Values{"token": {token}, "name": {"Root"}, "email": {`"><script>x</script>`}, "password": {"long enough password"}}),
			status: http.StatusUnprocessableEntity, notProblem: true,
			contains: []string{"valid e-mail", "&lt;script&gt;x&lt;/script&gt;"}, excludes: []string{"<script>"}},
		{name: "missing name", method: "POST", url: "/setup", headers: formHeader,
			body:   form(url.Values{"token": {token}, "name": {"  "}, "email": {"root@example.org"}, "password": {"long enough password"}}),
			status: http.StatusUnprocessableEntity, notProblem: true, contains: []string{"name is required"}},
	})

	t.Run("the error page is HTML with a strict policy", func(t *testing.T) {
		r := ts.do(t, scenario{method: "POST", url: "/setup", headers: formHeader,
			body: form(url.Values{"token": {token}, "name": {hostile}, "email": {"root@example.org"}, "password": {"short"}})})
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("security headers missing: %v", r.Header)
		}
	})

	var cookie *http.Cookie
	t.Run("good form creates the admin and logs in", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/setup", headers: formHeader,
			body:   form(url.Values{"token": {token}, "name": {"Root Admin"}, "email": {"root@example.org"}, "password": {"long enough password"}}),
			status: http.StatusOK, contains: []string{"Your administrator account is ready"}, excludes: []string{"<form"}})
		cookie = sessionCookie(t, r)
	})
	if cookie == nil {
		t.FailNow()
	}
	ts.run(t, []scenario{
		{name: "the new admin is logged in", method: "GET", url: "/api/v1/me", cookie: cookie, status: http.StatusOK,
			contains: []string{`"email":"root@example.org"`, `"role":"admin"`}},
		{name: "the token is used up", method: "GET", url: "/setup?token=" + token, status: http.StatusGone},
		{name: "a second POST is refused", method: "POST", url: "/setup", headers: formHeader,
			body:   form(url.Values{"token": {token}, "name": {"Mallory"}, "email": {"mallory@example.org"}, "password": {"long enough password"}}),
			status: http.StatusGone},
	})
	t.Run("a link left over is spent once an administrator can log in", func(t *testing.T) {
		spare, hash := auth.NewToken("wcu_")
		if err := ts.Store.SetSetting(context.Background(), desk.SetupTokenKey, hex.EncodeToString(hash)); err != nil {
			t.Fatal(err)
		}
		ts.check(t, scenario{method: "GET", url: "/setup?token=" + spare, status: http.StatusGone})
		if err := ts.Store.SetSetting(context.Background(), desk.SetupTokenKey, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the setting is gone", func(t *testing.T) {
		if v, err := ts.Store.Setting(context.Background(), desk.SetupTokenKey); err == nil {
			t.Errorf("setup token hash still stored: %q", v)
		}
		if _, err := ts.Store.AgentByEmail(context.Background(), "mallory@example.org"); err == nil {
			t.Error("a second admin was created")
		}
	})
}

// TestNewPasswordShutsOutTheOldOne: changing a password ends every other
// session and API token of the agent (the one it was changed with
// stays); an admin's change or the CLI's ends them all; and an agent can
// sign out everywhere else without changing it.
func TestNewPasswordShutsOutTheOldOne(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	email := "agent@example.org"
	here, laptop, phone := ts.login(t, email), ts.login(t, email), ts.login(t, email)
	token := ts.Tokens[store.RoleAgent]
	me := func(c *http.Cookie, token string) int {
		return ts.do(t, scenario{method: "GET", url: "/api/v1/me", cookie: c, token: token}).StatusCode
	}

	ts.check(t, scenario{method: "POST", url: "/api/v1/me/sessions/end", cookie: phone, status: http.StatusOK, contains: []string{`"ended":2`}})
	if me(phone, "") != 200 || me(here, "") != 401 || me(laptop, "") != 401 || me(nil, token) != 200 {
		t.Fatalf("after signing out elsewhere: phone %d, here %d, laptop %d, token %d; want only the phone's session ended elsewhere, the token kept",
			me(phone, ""), me(here, ""), me(laptop, ""), me(nil, token))
	}
	here = ts.login(t, email)
	ts.check(t, scenario{method: "PATCH", url: "/api/v1/me", cookie: here, status: http.StatusOK,
		body: jsonBody(t, map[string]string{"password": "a completely new password", "current_password": testPassword})})
	if me(here, "") != 200 || me(phone, "") != 401 || me(nil, token) != 401 {
		t.Errorf("after a new password: here %d, phone %d, API token %d; want only the session it was changed in", me(here, ""), me(phone, ""), me(nil, token))
	}
	// An admin sets another password: every session of the agent ends.
	ts.check(t, scenario{method: "PATCH", url: path("/api/v1/agents/%d", ts.Agents[store.RoleAgent].ID), token: ts.Tokens[store.RoleAdmin], status: http.StatusOK,
		body: jsonBody(t, map[string]string{"password": "set by the admin, long"})})
	if me(here, "") != 401 {
		t.Errorf("the agent's session survives the admin's new password")
	}
}
