package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	lost := ts.ingest(t, inbound{ID: "s-1", From: author{ID: "u-anna", Handle: "@anna_j", Name: "Anna Jansen"}, Text: "Mijn koffer is kwijt <b>echt</b>"})
	late := ts.ingest(t, inbound{ID: "s-2", From: author{ID: "u-bob", Name: "Bob Müller"}, Text: "Flight delayed, koffer also late"})
	// Field staff find what was handed to them, and nothing else.
	ts.patch(t, store.RoleSupervisor, late.ConversationID, jsonBody(t, map[string]int64{"assignee_id": ts.Agents[store.RoleField].ID}))

	type results struct {
		Conversations []store.SearchHit `json:"conversations"`
		Contacts      []store.Contact   `json:"contacts"`
	}
	search := func(t *testing.T, role store.Role, q string) results {
		t.Helper()
		r := ts.check(t, scenario{method: "GET", url: "/api/v1/search?q=" + url.QueryEscape(q), token: ts.Tokens[role], status: http.StatusOK})
		return decodeJSON[results](t, r.Body)
	}
	hitIDs := func(res results) []int64 {
		var out []int64
		for _, h := range res.Conversations {
			out = append(out, h.Conversation.ID)
		}
		return out
	}
	contactIDs := func(res results) []int64 {
		var out []int64
		for _, c := range res.Contacts {
			out = append(out, c.ID)
		}
		return out
	}

	tests := []struct {
		name         string
		role         store.Role
		q            string
		wantConvs    []int64
		wantContacts []int64
	}{
		{"a word, newest first", store.RoleAgent, "koffer", []int64{late.ConversationID, lost.ConversationID}, nil},
		{"a prefix while typing", store.RoleAgent, "koff", []int64{late.ConversationID, lost.ConversationID}, nil},
		{"two words", store.RoleAgent, "koffer kwijt", []int64{lost.ConversationID}, nil},
		{"a name without its accent", store.RoleAgent, "muller", nil, []int64{late.ContactID}},
		{"a handle", store.RoleSupervisor, "@anna_j", nil, []int64{lost.ContactID}},
		{"search syntax is text", store.RoleAgent, `koffer" OR * NEAR(`, nil, nil},
		{"only blanks", store.RoleAgent, "   ", nil, nil},
		{"volunteers find conversations but no contacts", store.RoleVolunteer, "kwijt", []int64{lost.ConversationID}, nil},
		{"volunteers see no contacts by name either", store.RoleVolunteer, "jansen", nil, nil},
		{"field staff only what is assigned to them", store.RoleField, "koffer", []int64{late.ConversationID}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := search(t, tt.role, tt.q)
			if got := hitIDs(res); !slices.Equal(got, tt.wantConvs) {
				t.Errorf("conversations %v, want %v", got, tt.wantConvs)
			}
			if got := contactIDs(res); !slices.Equal(got, tt.wantContacts) {
				t.Errorf("contacts %v, want %v", got, tt.wantContacts)
			}
		})
	}

	t.Run("the answer's shape", func(t *testing.T) {
		r := ts.check(t, scenario{method: "GET", url: "/api/v1/search?q=kwijt", token: ts.Tokens[store.RoleAgent], status: http.StatusOK,
			contains: []string{`"conversations":[{"conversation":{"id":`, `"message_id":`, `"snippet":"`, `"match_start":`, `"match_end":`, `"contacts":[]`}})
		res := decodeJSON[results](t, r.Body)
		if len(res.Conversations) != 1 {
			t.Fatalf("hits %+v", res.Conversations)
		}
		h := res.Conversations[0]
		// Plain text: the customer's own angle brackets come back as they are,
		// for the UI to escape; the match is given by offsets, not markup.
		if !strings.Contains(h.Snippet, "<b>echt</b>") {
			t.Errorf("snippet %q", h.Snippet)
		}
		if got := string([]rune(h.Snippet)[h.MatchStart:h.MatchEnd]); got != "kwijt" {
			t.Errorf("match %q in %q, want kwijt", got, h.Snippet)
		}
	})
	t.Run("empty lists, not null", func(t *testing.T) {
		ts.check(t, scenario{method: "GET", url: "/api/v1/search?q=", token: ts.Tokens[store.RoleAgent], status: http.StatusOK,
			contains: []string{`"conversations":[]`, `"contacts":[]`}})
	})
	ts.runParallel(t, []scenario{
		{name: "limit", method: "GET", url: "/api/v1/search?q=koffer&limit=1", token: ts.Tokens[store.RoleAgent], status: http.StatusOK,
			contains: []string{path(`"conversation":{"id":%d,`, late.ConversationID)}, excludes: []string{path(`"conversation":{"id":%d,`, lost.ConversationID)}},
		{name: "limit too high", method: "GET", url: "/api/v1/search?q=koffer&limit=101", token: ts.Tokens[store.RoleAgent], status: http.StatusBadRequest},
		{name: "limit zero", method: "GET", url: "/api/v1/search?q=koffer&limit=0", token: ts.Tokens[store.RoleAgent], status: http.StatusBadRequest},
		{name: "text too long", method: "GET", url: "/api/v1/search?q=" + strings.Repeat("k", 501), token: ts.Tokens[store.RoleAgent], status: http.StatusUnprocessableEntity},
		{name: "not logged in", method: "GET", url: "/api/v1/search?q=koffer", status: http.StatusUnauthorized},
	})
}

// slowSearchStore holds every search until released, or until its
// context ends, like a search over far too much text.
type slowSearchStore struct {
	store.Store
	release chan struct{}
	started chan struct{}
}

func (s slowSearchStore) Search(ctx context.Context, q store.SearchQuery) (store.SearchResults, error) {
	s.started <- struct{}{}
	select {
	case <-s.release:
		return s.Store.Search(ctx, q)
	case <-ctx.Done():
		return store.SearchResults{}, ctx.Err()
	}
}

// TestSearchIsBounded: searches cannot take the instance: two run at once,
// one per agent, a third agent waits briefly and hears 503, a second
// search of a busy agent hears 429, one that runs too long is stopped with
// 503, and the inbox answers throughout.
func TestSearchIsBounded(t *testing.T) {
	slow := slowSearchStore{release: make(chan struct{}), started: make(chan struct{}, 10)}
	ts := newTestServer(t, func(o *web.Options) {
		slow.Store = o.Store
		o.Store = slow
	})
	url := "/api/v1/search?q=koffer"
	codes := make(chan int, 10)
	run := func(role store.Role) { // in a goroutine: no t.Fatal here
		req, _ := http.NewRequest(http.MethodGet, ts.URL+url, nil)
		req.Header.Set("Authorization", "Bearer "+ts.Tokens[role])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	go run(store.RoleAgent)
	go run(store.RoleSupervisor)
	<-slow.started
	<-slow.started // both places taken
	// Both asked at once, while the two places are held (the first
	// searches' deadline is further away than the wait).
	t.Run("while both places are held", func(t *testing.T) {
		ts.runParallel(t, []scenario{
			{name: "a third agent", method: "GET", url: url, token: ts.Tokens[store.RoleAdmin],
				status: http.StatusServiceUnavailable, contains: []string{"busy"}},
			{name: "the agent again", method: "GET", url: url, token: ts.Tokens[store.RoleAgent],
				status: http.StatusTooManyRequests, contains: []string{"still running"}},
			{name: "the inbox meanwhile", method: "GET", url: "/api/v1/conversations", token: ts.Tokens[store.RoleVolunteer], status: http.StatusOK},
		})
	})
	// Neither is released: the deadline stops both.
	for range 2 {
		if c := <-codes; c != http.StatusServiceUnavailable {
			t.Errorf("a search past its deadline answered %d, want 503", c)
		}
	}
	go func() { <-slow.started; close(slow.release) }()
	ts.check(t, scenario{name: "places free again", method: "GET", url: url, token: ts.Tokens[store.RoleAdmin], status: http.StatusOK})
}

// syncBuffer is a log sink the server and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClientThatLeavesIsNoServerError: a client that hangs up while its
// request runs is logged as such, at Info, not as a 500 of the server's.
func TestClientThatLeavesIsNoServerError(t *testing.T) {
	var logs syncBuffer
	slow := slowSearchStore{release: make(chan struct{}), started: make(chan struct{}, 1)}
	ts := newTestServer(t, func(o *web.Options) {
		slow.Store = o.Store
		o.Store = slow
		o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/v1/search?q=koffer", nil)
	req.Header.Set("Authorization", "Bearer "+ts.Tokens[store.RoleAgent])
	go func() { <-slow.started; cancel() }()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the request was answered; the client had hung up")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "client_gone=true") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if !strings.Contains(out, "client_gone=true") || strings.Contains(out, "level=ERROR") || strings.Contains(out, "status=500") {
		t.Errorf("the log says:\n%s\nwant an Info line that the client left, and no server error", out)
	}
}
