package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/store"
)

type contactDetail struct {
	Contact       store.Contact        `json:"contact"`
	Conversations []store.Conversation `json:"conversations"`
}

func TestContacts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	agent, sup := ts.Tokens[store.RoleAgent], ts.Tokens[store.RoleSupervisor]

	anna := ts.ingest(t, inbound{ID: "c-1", From: author{ID: "u-anna", Handle: "@anna_j", Name: "Anna Jansen"}, Text: "first"})
	ts.patch(t, store.RoleAgent, anna.ConversationID, `{"status": "resolved"}`)
	anna2 := ts.ingest(t, inbound{ID: "c-2", From: author{ID: "u-anna"}, Text: "second"})
	bob := ts.ingest(t, inbound{ID: "c-3", From: author{ID: "u-bob", Name: "Bob 100% Real"}, Text: "hi"})
	// Anna again, by e-mail: a separate profile until someone merges them.
	annaMail := ts.ingest(t, inbound{ID: "c-4", From: author{ID: "anna@example.org", Platform: "email", Name: "A. Jansen"}, Text: "by mail"})
	if annaMail.ContactID == anna.ContactID || bob.ContactID == anna.ContactID {
		t.Fatalf("contacts %d, %d, %d should differ", anna.ContactID, bob.ContactID, annaMail.ContactID)
	}

	t.Run("search", func(t *testing.T) {
		ts.runParallel(t, []scenario{
			{name: "by name", method: "GET", url: "/api/v1/contacts?q=jansen", token: agent, status: http.StatusOK,
				contains: []string{"Anna Jansen", "A. Jansen"}, excludes: []string{"Bob"}},
			{name: "ignoring case", method: "GET", url: "/api/v1/contacts?q=ANNA", token: agent, status: http.StatusOK,
				contains: []string{"Anna Jansen"}, excludes: []string{"Bob"}},
			{name: "by handle", method: "GET", url: "/api/v1/contacts?q=%40anna_j", token: agent, status: http.StatusOK,
				contains: []string{"Anna Jansen"}, excludes: []string{"A. Jansen", "Bob"}},
			{name: "by external id", method: "GET", url: "/api/v1/contacts?q=u-bob", token: agent, status: http.StatusOK,
				contains: []string{"Bob"}, excludes: []string{"Anna"}},
			{name: "percent is no wildcard", method: "GET", url: "/api/v1/contacts?q=%25", token: agent, status: http.StatusOK,
				contains: []string{"Bob 100% Real"}, excludes: []string{"Anna"}},
			{name: "underscore is no wildcard", method: "GET", url: "/api/v1/contacts?q=a_j", token: agent, status: http.StatusOK,
				contains: []string{"Anna Jansen"}, excludes: []string{"Bob"}},
			{name: "no match", method: "GET", url: "/api/v1/contacts?q=zebra", token: agent, status: http.StatusOK, contains: []string{`"contacts":[]`}},
			{name: "all", method: "GET", url: "/api/v1/contacts", token: agent, status: http.StatusOK, contains: []string{"Anna Jansen", "Bob", "A. Jansen"}},
			{name: "query too long", method: "GET", url: "/api/v1/contacts?q=" + strings.Repeat("q", 201), token: agent, status: http.StatusUnprocessableEntity},
			{name: "bad cursor", method: "GET", url: "/api/v1/contacts?cursor=abc", token: agent, status: http.StatusBadRequest},
			{name: "unknown", method: "GET", url: "/api/v1/contacts/999999", token: agent, status: http.StatusNotFound},
			{name: "volunteers may not browse", method: "GET", url: "/api/v1/contacts?q=anna", token: ts.Tokens[store.RoleVolunteer], status: http.StatusForbidden,
				excludes: []string{"Anna"}},
		})
	})

	t.Run("detail has every conversation", func(t *testing.T) {
		r := ts.check(t, scenario{method: "GET", url: path("/api/v1/contacts/%d", anna.ContactID), token: agent, status: http.StatusOK})
		d := decodeJSON[contactDetail](t, r.Body)
		if got := ids(d.Conversations); !slices.Equal(got, []int64{anna2.ConversationID, anna.ConversationID}) {
			t.Errorf("conversations %v, want newest first [%d %d]", got, anna2.ConversationID, anna.ConversationID)
		}
		if len(d.Contact.Identities) != 1 || d.Contact.Identities[0].Handle != "@anna_j" {
			t.Errorf("identities %+v", d.Contact.Identities)
		}
	})

	merge := path("/api/v1/contacts/%d/merge", anna.ContactID)
	ts.run(t, []scenario{
		{name: "agent may not merge", method: "POST", url: merge, token: agent, body: path(`{"from": %d}`, annaMail.ContactID), status: http.StatusForbidden},
		{name: "merge without from", method: "POST", url: merge, token: sup, body: `{}`, status: http.StatusUnprocessableEntity},
		{name: "merge unknown", method: "POST", url: merge, token: sup, body: `{"from": 999999}`, status: http.StatusNotFound},
		{name: "merge into unknown", method: "POST", url: "/api/v1/contacts/999999/merge", token: sup, body: path(`{"from": %d}`, annaMail.ContactID), status: http.StatusNotFound},
		{name: "merge into itself", method: "POST", url: merge, token: sup, body: path(`{"from": %d}`, anna.ContactID), status: http.StatusConflict},
		{name: "merge", method: "POST", url: merge, token: sup, body: path(`{"from": %d}`, annaMail.ContactID), status: http.StatusOK,
			contains: []string{`"external_id":"u-anna"`, `"external_id":"anna@example.org"`, `"platform":"email"`, `"name":"Anna Jansen"`}},
		{name: "the merged profile is gone", method: "GET", url: path("/api/v1/contacts/%d", annaMail.ContactID), token: agent, status: http.StatusNotFound},
		{name: "merging it again", method: "POST", url: merge, token: sup, body: path(`{"from": %d}`, annaMail.ContactID), status: http.StatusNotFound},
	})

	t.Run("after the merge", func(t *testing.T) {
		r := ts.check(t, scenario{method: "GET", url: path("/api/v1/contacts/%d", anna.ContactID), token: agent, status: http.StatusOK})
		d := decodeJSON[contactDetail](t, r.Body)
		if !sameIDs(ids(d.Conversations), []int64{anna.ConversationID, anna2.ConversationID, annaMail.ConversationID}) {
			t.Errorf("conversations %v after the merge", ids(d.Conversations))
		}
		if len(d.Contact.Identities) != 2 {
			t.Errorf("identities %+v, want both", d.Contact.Identities)
		}
		// A new e-mail from Anna lands with the merged contact.
		again := ts.ingest(t, inbound{ID: "c-5", From: author{ID: "anna@example.org", Platform: "email"}, Text: "still me"})
		if again.ContactID != anna.ContactID {
			t.Errorf("new e-mail went to contact %d, want %d", again.ContactID, anna.ContactID)
		}
		history := ts.conversation(t, store.RoleAgent, anna2.ConversationID).History
		if !sameIDs(ids(history), []int64{anna.ConversationID, annaMail.ConversationID}) {
			t.Errorf("history %v", ids(history))
		}
		ts.check(t, scenario{method: "GET", url: "/api/v1/audit?subject=" + path("contact/%d", anna.ContactID), token: sup, status: http.StatusOK,
			contains: []string{"contact.merge", path("merged contact %d", annaMail.ContactID)}})
	})
}
