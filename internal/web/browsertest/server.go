// Package browsertest runs end-to-end tests: a real webcare instance on a
// temporary embedded database, driven over real HTTP by a real headless
// Chromium through the DevTools protocol (chromedp).
//
// Only tests import it; production code never links chromedp. A typical test:
//
//	srv := browsertest.Start(t, browsertest.WithDemo())
//	b := browsertest.NewBrowser(t)
//	b.Open(t, srv.URL+"/")
//	// chromedp.Do(b.Ctx, ...), then look at b.Dialogs() and b.Errors()
//
// Without a browser the tests skip, except under CI=true, where a missing
// browser fails them: CI installs Debian's chromium package.
package browsertest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/demo"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Server is a webcare instance running in the test process, listening on a
// loopback port chosen by the system. Start stops it when the test ends.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT, without a trailing slash.
	URL string
	// Store is the instance's store, for seeding and for checking what a
	// page did.
	Store store.Store
	// App is the running instance.
	App *app.App
	// Demo is the Heron Airlines data when Start had WithDemo, nil otherwise.
	Demo *demo.Seeded

	client *http.Client
	log    *syncBuffer
}

// Option changes how Start builds the server.
type Option func(*options)

type options struct {
	demo     bool
	senders  map[string]outbox.Sender
	logLevel slog.Level
}

// WithDemo seeds the Heron Airlines demo data (agents, teams, channels and
// conversation history; see internal/demo) before the server starts
// listening, and delivers replies on the demo's platforms at once, without
// failures. Server.Demo holds the logins and the channel tokens. Seeding
// takes about a second.
func WithDemo() Option { return func(o *options) { o.demo = true } }

// WithSenders replaces or adds reply senders by channel kind, as
// app.Options.Senders does (a fake platform that records replies).
func WithSenders(senders map[string]outbox.Sender) Option {
	return func(o *options) {
		if o.senders == nil {
			o.senders = map[string]outbox.Sender{}
		}
		for k, s := range senders {
			o.senders[k] = s
		}
	}
}

// WithLogLevel sets the level of the server log, which the test prints only
// when it fails; the default is info.
func WithLogLevel(l slog.Level) Option { return func(o *options) { o.logLevel = l } }

// Start opens a webcare instance on a new SQLite file in t.TempDir() and
// serves it on 127.0.0.1 with a port of the system's choosing, as `webcare
// serve` would: with no administrator, a setup token is stored (SetupURL
// gives a usable link). When the test ends it shuts the server down in its
// own order and waits for it; the server log is printed if the test failed.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := options{logLevel: slog.LevelInfo}
	for _, f := range opts {
		f(&o)
	}
	logBuf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: o.logLevel}))
	cfg := config.Config{
		Addr:         "127.0.0.1:0",
		BaseURL:      "http://127.0.0.1",
		DatabasePath: filepath.Join(t.TempDir(), "webcare.db"),
		LogLevel:     o.logLevel.String(),
		LogFormat:    "text",
		SessionTTL:   12 * time.Hour,
	}

	senders := map[string]outbox.Sender{}
	if o.demo {
		platforms := &demo.PlatformSimulator{} // instant and reliable: tests see no random failures
		for _, kind := range app.Adapters(nil, nil).Kinds() {
			if kind != "api" {
				senders[kind] = platforms
			}
		}
	}
	for k, s := range o.senders {
		senders[k] = s
	}

	ctx, stop := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, log, app.Options{Senders: senders})
	if err != nil {
		stop()
		t.Fatalf("browsertest: open webcare: %v", err)
	}
	s := &Server{Store: a.Store, App: a, log: logBuf, client: &http.Client{Timeout: 30 * time.Second}}
	if o.demo {
		seeded, err := demo.Seed(ctx, a.Store, time.Now())
		if err != nil {
			a.Close()
			stop()
			t.Fatalf("browsertest: seed the demo: %v", err)
		}
		s.Demo = &seeded
	}
	if err := a.EnsureSetup(ctx); err != nil {
		a.Close()
		stop()
		t.Fatalf("browsertest: setup token: %v", err)
	}

	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- a.Serve(ctx, func(addr string) {
			a.Config.BaseURL = "http://" + addr
			ready <- addr
		})
	}()
	select {
	case addr := <-ready:
		s.URL = "http://" + addr
	case err := <-done:
		stop()
		t.Fatalf("browsertest: serve: %v\n%s", err, logBuf.String())
	case <-time.After(30 * time.Second):
		stop()
		t.Fatalf("browsertest: the server did not start listening in 30 s\n%s", logBuf.String())
	}
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("browsertest: server shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("browsertest: the server did not shut down in 30 s")
		}
		s.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("server log:\n%s", logBuf.String())
		}
	})
	return s
}

// Log returns what the server logged so far.
func (s *Server) Log() string { return s.log.String() }

// SetupURL returns a working one-time link to the first-administrator form,
// replacing the token Start stored (which, as in production, went only to
// the log). It is valid until someone completes the setup.
func (s *Server) SetupURL(t testing.TB) string {
	t.Helper()
	token, hash := auth.NewToken("wcu_")
	if err := s.Store.SetSetting(context.Background(), desk.SetupTokenKey, hex.EncodeToString(hash)); err != nil {
		t.Fatalf("browsertest: store setup token: %v", err)
	}
	return s.URL + "/setup?token=" + url.QueryEscape(token)
}

// AddAgent creates an enabled, online agent with role, e-mail address and
// password (at least auth.MinPasswordLength characters; hashed with
// argon2id as a real login expects). The name is taken from the address.
func (s *Server) AddAgent(t testing.TB, role store.Role, email, password string) store.Agent {
	t.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatalf("browsertest: agent %s: %v", email, err)
	}
	name, _, _ := strings.Cut(email, "@")
	a := store.Agent{Email: email, Name: name, Role: role, Languages: []string{"en"}, Capacity: 10,
		Presence: store.Online, PasswordHash: hash}
	if err := s.Store.CreateAgent(context.Background(), &a, store.Actor{Via: "test"}); err != nil {
		t.Fatalf("browsertest: agent %s: %v", email, err)
	}
	return a
}

// AddAPIChannel creates an enabled channel of kind api and returns its id
// and its ingest token, for Inject.
func (s *Server) AddAPIChannel(t testing.TB) (channelID int64, token string) {
	t.Helper()
	token, hash := auth.NewToken("wch_")
	c := store.Channel{Kind: "api", Name: "Test feed", Locale: "en", TokenHash: hash, Settings: map[string]string{}}
	if err := s.Store.CreateChannel(context.Background(), &c, store.Actor{Via: "test"}); err != nil {
		t.Fatalf("browsertest: API channel: %v", err)
	}
	return c.ID, token
}

// Injected is the server's answer to an ingested message.
type Injected struct {
	MessageID      int64 `json:"message_id"`
	ConversationID int64 `json:"conversation_id"`
	ContactID      int64 `json:"contact_id"`
	Duplicate      bool  `json:"duplicate"`
}

// Inject posts a customer message, body in the JSON format of docs/api.md
// (`{"id": "m1", "from": {"id": "u1", "name": "Anna"}, "text": "…"}`), to
// the API channel over real HTTP, as an integration would, and fails the
// test unless the server answers 201 or 200 (a duplicate). The body is sent
// as given, so a test can send any payload a customer could.
func (s *Server) Inject(t testing.TB, channelID int64, token, body string) Injected {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/channels/%d/messages", s.URL, channelID), strings.NewReader(body))
	if err != nil {
		t.Fatalf("browsertest: inject: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	var out Injected
	if status, answer := s.do(t, req, &out); status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("browsertest: inject into channel %d: status %d: %s", channelID, status, answer)
	}
	return out
}

// SessionCookie logs in through the JSON API with email and password and
// returns the session cookie the server set, for Browser.SetCookie: a test
// can start logged in without the login page.
func (s *Server) SessionCookie(t testing.TB, email, password string) *http.Cookie {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v1/login", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("browsertest: login: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("browsertest: login as %s: %v", email, err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("browsertest: login as %s: status %d: %s", email, resp.StatusCode, answer)
	}
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			return c
		}
	}
	t.Fatalf("browsertest: login as %s set no cookie", email)
	return nil
}

// do sends req, decodes a 2xx JSON answer into out, and returns the status
// and the raw answer.
func (s *Server) do(t testing.TB, req *http.Request, out any) (int, string) {
	t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("browsertest: %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("browsertest: %s %s: read answer: %v", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			t.Fatalf("browsertest: %s %s: decode %q: %v", req.Method, req.URL.Path, answer, err)
		}
	}
	return resp.StatusCode, string(answer)
}

// syncBuffer collects output written from several goroutines (the server's
// log, the browser's stderr). It keeps the last 1 MiB.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const maxBuffer = 1 << 20

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) > maxBuffer {
		tail := append([]byte(nil), b.buf.Bytes()[b.buf.Len()/2:]...)
		b.buf.Reset()
		b.buf.WriteString("… (earlier output dropped)\n")
		b.buf.Write(tail)
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
