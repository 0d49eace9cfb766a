package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

func TestInvites(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(o *web.Options) { o.BaseURL = "https://care.example.com/" })
	admin := ts.Tokens[store.RoleAdmin]
	newcomer := store.Agent{Email: "new@example.org", Name: "New Agent", Role: store.RoleAgent, Presence: store.Offline}
	if err := ts.Store.CreateAgent(t.Context(), &newcomer, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	invite := func(t *testing.T) (url, token string) {
		t.Helper()
		r := ts.check(t, scenario{method: "POST", url: path("/api/v1/agents/%d/invite", newcomer.ID), token: admin, status: http.StatusCreated})
		link := decodeJSON[struct {
			URL       string    `json:"url"`
			ExpiresAt time.Time `json:"expires_at"`
		}](t, r.Body)
		token, ok := strings.CutPrefix(link.URL, "https://care.example.com/invite/")
		if !ok || len(token) < 40 {
			t.Fatalf("invite url %q: want the base URL, /invite/ and a long token", link.URL)
		}
		if d := time.Until(link.ExpiresAt); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour {
			t.Errorf("expires_at %v: want 7 days from now", link.ExpiresAt)
		}
		return link.URL, token
	}
	accept := func(password string) string {
		return jsonBody(t, map[string]string{"password": password})
	}
	const password = "a long enough password"

	_, replaced := invite(t)
	_, token := invite(t)
	ts.run(t, []scenario{
		{name: "too short", method: "POST", url: "/api/v1/invites/" + token, body: accept("elevenchars"),
			status: http.StatusUnprocessableEntity, contains: []string{"at least 12 characters"}},
		{name: "the replaced link", method: "POST", url: "/api/v1/invites/" + replaced, body: accept(password),
			status: http.StatusNotFound, contains: []string{"unknown, used or expired"}},
		{name: "an unknown link", method: "POST", url: "/api/v1/invites/wci_made-up", body: accept(password), status: http.StatusNotFound},
		{name: "agents may not invite", method: "POST", url: path("/api/v1/agents/%d/invite", newcomer.ID), token: ts.Tokens[store.RoleSupervisor],
			status: http.StatusForbidden},
		{name: "a disabled agent is not invited", method: "POST", url: path("/api/v1/agents/%d/invite", ts.Disabled.ID), token: admin,
			status: http.StatusConflict},
	})

	var cookie *http.Cookie
	t.Run("accepting sets the password and logs in", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/invites/" + token, body: accept(password), status: http.StatusOK,
			contains: []string{`"email":"new@example.org"`}, excludes: []string{"argon2", password}})
		cookie = sessionCookie(t, r)
		ts.check(t, scenario{method: "GET", url: "/api/v1/me", cookie: cookie, status: http.StatusOK, contains: []string{`"email":"new@example.org"`}})
		ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: loginBody(t, "new@example.org", password), status: http.StatusOK})
	})
	ts.run(t, []scenario{
		{name: "the link works once", method: "POST", url: "/api/v1/invites/" + token, body: accept("another long password"),
			status: http.StatusNotFound},
		{name: "the first password stays", method: "POST", url: "/api/v1/login", body: loginBody(t, "new@example.org", "another long password"),
			status: http.StatusUnauthorized},
	})

	t.Run("without a base URL the request's host is used", func(t *testing.T) {
		ts2 := newTestServer(t)
		ts2.check(t, scenario{method: "POST", url: path("/api/v1/agents/%d/invite", ts2.Agent2.ID), token: ts2.Tokens[store.RoleAdmin],
			status: http.StatusCreated, contains: []string{`"url":"` + ts2.URL + `/invite/wci_`}})
	})
}
