package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/webcare/webcare/internal/store"
)

// Customers write whatever they like; it must come back as data, never as
// markup a browser would run.
func TestHostileTextStaysData(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	payloads := []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`</textarea><svg onload=alert(document.cookie)>`,
		"javascript:alert(1)\n<a href=\"javascript:alert(1)\">click</a> & ' \" \u2028",
	}
	raw := []string{"<script", "<img", "<svg", "<a href", "</textarea"}

	for i, p := range payloads {
		t.Run(path("payload %d", i), func(t *testing.T) {
			t.Parallel()
			name := `<b onmouseover=alert(1)>Eve</b>`
			a := ts.ingest(t, inbound{ID: path("x-%d", i), From: author{ID: path("eve-%d", i), Name: name, Handle: p}, Text: p, Subject: p})
			r := ts.check(t, scenario{method: "GET", url: path("/api/v1/conversations/%d", a.ConversationID), token: ts.Tokens[store.RoleAgent],
				status: http.StatusOK, excludes: raw})
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			d := decodeJSON[conversationDetail](t, r.Body)
			if len(d.Messages) != 1 || d.Messages[0].Body != p {
				t.Errorf("stored body %q, want verbatim %q", d.Messages[0].Body, p)
			}
			if d.Contact.Name != name || d.Contact.Identities[0].DisplayName != name {
				t.Errorf("contact name %q, want verbatim %q", d.Contact.Name, name)
			}
			// The list's preview and the contact search give it back as data too.
			ts.check(t, scenario{method: "GET", url: "/api/v1/conversations", token: ts.Tokens[store.RoleAgent], status: http.StatusOK, excludes: raw})
			ts.check(t, scenario{method: "GET", url: "/api/v1/contacts?q=" + url.QueryEscape("<b"), token: ts.Tokens[store.RoleAgent], status: http.StatusOK,
				contains: []string{`\u003cb onmouseover=alert(1)\u003eEve\u003c/b\u003e`}, excludes: []string{"<b "}})
		})
	}

	t.Run("error details echo input as JSON", func(t *testing.T) {
		ts.runParallel(t, []scenario{
			{name: "status filter", method: "GET", url: "/api/v1/conversations?status=" + url.QueryEscape("<script>alert(1)</script>"), token: ts.Tokens[store.RoleAgent],
				status: http.StatusBadRequest, excludes: raw},
			{name: "unknown path", method: "GET", url: "/api/v1/%3Cscript%3Ealert(1)%3C%2Fscript%3E", status: http.StatusNotFound, excludes: raw},
			{name: "email in a 422", method: "POST", url: "/api/v1/agents", token: ts.Tokens[store.RoleAdmin],
				body: `{"email": "<script>alert(1)</script>", "name": "x"}`, status: http.StatusUnprocessableEntity, excludes: raw},
		})
	})
}
