package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/chat"
	"github.com/webcare/webcare/internal/desk"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
	"github.com/webcare/webcare/internal/web"
)

// testPassword is every seeded agent's password.
const testPassword = "correct horse battery staple"

// passwordHash is computed once: argon2id is slow on purpose, more so
// under -race.
var passwordHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// roles are the agent roles, strongest first.
var roles = []store.Role{store.RoleAdmin, store.RoleSupervisor, store.RoleAgent, store.RoleVolunteer, store.RoleField}

// callbackSecret is the seeded API channel's signing secret; it must never
// leave the server except when the channel is made.
const callbackSecret = "whs_seeded-callback-secret-do-not-show"

// testServer is a real webcare HTTP server on a temporary SQLite file,
// seeded with one agent per role, a team and an API channel.
type testServer struct {
	URL      string
	Store    *sqlite.Store
	Bus      *bus.Memory
	Pipeline *ingest.Pipeline
	Web      *web.Server

	Agents   map[store.Role]store.Agent // one per role, all with testPassword
	Tokens   map[store.Role]string      // an API token per role
	Agent2   store.Agent                // a second plain agent
	Disabled store.Agent                // a disabled agent
	Team     store.Team                 // with the agent and the supervisor

	Channel      store.Channel // kind api, with callbackSecret in its settings
	ChannelToken string        // its ingest token
}

// newTestServer starts a server and stops it, the pipeline and the store,
// in that order, when the test ends. opts may adjust the web options.
func newTestServer(t *testing.T, opts ...func(*web.Options)) *testServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	b := bus.NewMemory()
	p := ingest.New(st, b, ingest.Options{})
	t.Cleanup(p.Close) // before the store closes: cleanups run last-in, first-out
	o := web.Options{
		Store: st, Pipeline: p, Bus: b, Chat: chat.New(chat.Options{Store: st, Bus: b, Ingest: p.Ingest}),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "# metrics\nwebcare_up 1\n")
		}),
	}
	for _, f := range opts {
		f(&o)
	}
	if o.Desk == nil {
		o.Desk = desk.New(desk.Options{Store: st, Bus: b, Adapters: app.Adapters(nil, nil), Channels: o.Pipeline})
	}
	w := web.New(o)
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)

	ts := &testServer{URL: srv.URL, Store: st, Bus: b, Pipeline: o.Pipeline, Web: w,
		Agents: map[store.Role]store.Agent{}, Tokens: map[store.Role]string{}}
	by := store.Actor{Via: "test"}
	newAgent := func(email, name string, role store.Role, disabled bool) store.Agent {
		a := store.Agent{Email: email, Name: name, Role: role, Languages: []string{"en", "nl"}, Capacity: 10,
			Presence: store.Online, Disabled: disabled, PasswordHash: passwordHash()}
		if err := st.CreateAgent(ctx, &a, by); err != nil {
			t.Fatalf("seed agent %s: %v", email, err)
		}
		return a
	}
	for _, r := range roles {
		a := newAgent(string(r)+"@example.org", "Test "+string(r), r, false)
		ts.Agents[r] = a
		token, hash := auth.NewToken("wct_")
		if err := st.CreateAPIToken(ctx, &store.APIToken{AgentID: a.ID, Name: "test " + string(r), Hash: hash}, by); err != nil {
			t.Fatalf("seed token: %v", err)
		}
		ts.Tokens[r] = token
	}
	ts.Agent2 = newAgent("agent2@example.org", "Second Agent", store.RoleAgent, false)
	ts.Disabled = newAgent("gone@example.org", "Gone Agent", store.RoleAgent, true)

	ts.Team = store.Team{Name: "Care", AgentIDs: []int64{ts.Agents[store.RoleAgent].ID, ts.Agents[store.RoleSupervisor].ID}}
	if err := st.CreateTeam(ctx, &ts.Team, by); err != nil {
		t.Fatalf("seed team: %v", err)
	}
	ts.Channel, ts.ChannelToken = ts.seedChannel(t, "API feed", false)
	return ts
}

// seedChannel stores an api channel directly and returns it with its token.
func (ts *testServer) seedChannel(t *testing.T, name string, disabled bool) (store.Channel, string) {
	t.Helper()
	token, hash := auth.NewToken("wch_")
	c := store.Channel{Kind: "api", Name: name, TokenHash: hash, Disabled: disabled,
		Settings: map[string]string{"callback_url": "http://127.0.0.1:9/callback", "callback_secret": callbackSecret}}
	if err := ts.Store.CreateChannel(context.Background(), &c, store.Actor{Via: "test"}); err != nil {
		t.Fatalf("seed channel: %v", err)
	}
	return c, token
}

// scenario is one HTTP request and what its answer must (not) hold.
type scenario struct {
	name    string
	method  string
	url     string            // path and query, relative to the server
	token   string            // sent as Authorization: Bearer; "" sends none
	cookie  *http.Cookie      // a session cookie
	headers map[string]string // extra headers; a Content-Type here wins
	body    string            // sent as application/json unless headers say otherwise

	status   int
	contains []string // substrings the body must hold
	excludes []string // substrings the body must not hold
	// notProblem skips the check that a 4xx/5xx is a problem document
	// (the setup page answers its form errors in HTML).
	notProblem bool
}

// response is what a scenario got back.
type response struct {
	*http.Response
	Body []byte
}

// do sends one request; it does not follow redirects.
func (ts *testServer) do(t *testing.T, sc scenario) response {
	t.Helper()
	var body io.Reader
	if sc.body != "" {
		body = strings.NewReader(sc.body)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, sc.method, ts.URL+sc.url, body)
	if err != nil {
		t.Fatalf("%s %s: %v", sc.method, sc.url, err)
	}
	if sc.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if sc.token != "" {
		req.Header.Set("Authorization", "Bearer "+sc.token)
	}
	if sc.cookie != nil {
		req.AddCookie(sc.cookie)
	}
	for k, v := range sc.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", sc.method, sc.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", sc.method, sc.url, err)
	}
	return response{Response: resp, Body: b}
}

// check runs a scenario and asserts its status and body.
func (ts *testServer) check(t *testing.T, sc scenario) response {
	t.Helper()
	r := ts.do(t, sc)
	if r.StatusCode != sc.status {
		t.Fatalf("%s %s: status %d, want %d; body: %s", sc.method, sc.url, r.StatusCode, sc.status, r.Body)
	}
	for _, s := range sc.contains {
		if !bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("%s %s: body lacks %q; body: %s", sc.method, sc.url, s, r.Body)
		}
	}
	for _, s := range sc.excludes {
		if bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("%s %s: body holds %q; body: %s", sc.method, sc.url, s, r.Body)
		}
	}
	if r.StatusCode >= 400 && !sc.notProblem {
		checkProblem(t, r)
	}
	return r
}

// run runs scenarios one after the other, each as a subtest.
func (ts *testServer) run(t *testing.T, scs []scenario) {
	t.Helper()
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) { ts.check(t, sc) })
	}
}

// runParallel runs scenarios that change nothing (or only what no other
// of them looks at) side by side.
func (ts *testServer) runParallel(t *testing.T, scs []scenario) {
	t.Helper()
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			ts.check(t, sc)
		})
	}
}

// checkProblem asserts an RFC 9457 problem document with a detail.
func checkProblem(t *testing.T, r response) {
	t.Helper()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/problem+json" {
		t.Errorf("status %d: Content-Type %q, want application/problem+json; body: %s", r.StatusCode, r.Header.Get("Content-Type"), r.Body)
		return
	}
	var p struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Errorf("problem is not JSON: %v; body: %s", err, r.Body)
		return
	}
	if p.Status != r.StatusCode || p.Title == "" || p.Detail == "" {
		t.Errorf("problem %+v for status %d lacks status, title or detail", p, r.StatusCode)
	}
}

// decodeJSON parses a JSON answer into T.
func decodeJSON[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v; body: %s", v, err, b)
	}
	return v
}

// jsonBody encodes v for a request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// inbound is what an integration posts to the API channel.
type inbound struct {
	ID       string    `json:"id"`
	From     author    `json:"from"`
	Text     string    `json:"text"`
	ReplyTo  string    `json:"reply_to,omitempty"`
	Private  bool      `json:"private,omitempty"`
	Language string    `json:"language,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	SentAt   time.Time `json:"sent_at,omitzero"`
}

type author struct {
	ID       string `json:"id"`
	Handle   string `json:"handle,omitempty"`
	Name     string `json:"name,omitempty"`
	Platform string `json:"platform,omitempty"`
}

// ingestAnswer is the ingest endpoint's answer.
type ingestAnswer struct {
	MessageID      int64 `json:"message_id"`
	ConversationID int64 `json:"conversation_id"`
	ContactID      int64 `json:"contact_id"`
	Duplicate      bool  `json:"duplicate"`
}

// ingest posts a message to the seeded API channel and expects 201.
func (ts *testServer) ingest(t *testing.T, m inbound) ingestAnswer {
	t.Helper()
	return ts.ingestTo(t, ts.Channel.ID, ts.ChannelToken, m)
}

// ingestTo posts a message to a channel and expects 201.
func (ts *testServer) ingestTo(t *testing.T, channelID int64, token string, m inbound) ingestAnswer {
	t.Helper()
	r := ts.check(t, scenario{method: "POST", url: fmt.Sprintf("/api/v1/channels/%d/messages", channelID),
		token: token, body: jsonBody(t, m), status: http.StatusCreated})
	a := decodeJSON[ingestAnswer](t, r.Body)
	if a.MessageID == 0 || a.ConversationID == 0 || a.ContactID == 0 || a.Duplicate {
		t.Fatalf("ingest answer %+v: want ids and duplicate=false", a)
	}
	return a
}

// conversationDetail is GET /api/v1/conversations/{id}.
type conversationDetail struct {
	Conversation store.Conversation   `json:"conversation"`
	Channel      store.Channel        `json:"channel"`
	Contact      store.Contact        `json:"contact"`
	Messages     []store.Message      `json:"messages"`
	MoreMessages bool                 `json:"more_messages"`
	History      []store.Conversation `json:"history"`
}

// conversation fetches a conversation's detail as role.
func (ts *testServer) conversation(t *testing.T, role store.Role, id int64) conversationDetail {
	t.Helper()
	r := ts.check(t, scenario{method: "GET", url: fmt.Sprintf("/api/v1/conversations/%d", id), token: ts.Tokens[role], status: http.StatusOK})
	return decodeJSON[conversationDetail](t, r.Body)
}

// patch changes a conversation as role and expects 200.
func (ts *testServer) patch(t *testing.T, role store.Role, id int64, body string) store.Conversation {
	t.Helper()
	r := ts.check(t, scenario{method: "PATCH", url: fmt.Sprintf("/api/v1/conversations/%d", id), token: ts.Tokens[role], body: body, status: http.StatusOK})
	return decodeJSON[store.Conversation](t, r.Body)
}

// login logs in by password and returns the session cookie.
func (ts *testServer) login(t *testing.T, email string) *http.Cookie {
	t.Helper()
	r := ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: jsonBody(t, map[string]string{"email": email, "password": testPassword}), status: http.StatusOK})
	return sessionCookie(t, r)
}

// sessionCookie returns the session cookie a response sets.
func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	i := slices.IndexFunc(r.Cookies(), func(c *http.Cookie) bool { return c.Name == "webcare_session" })
	if i < 0 {
		t.Fatalf("no webcare_session cookie in %q", r.Header.Values("Set-Cookie"))
	}
	return r.Cookies()[i]
}

// ids lists the ids of conversations.
func ids(cs []store.Conversation) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func path(format string, a ...any) string { return fmt.Sprintf(format, a...) }
