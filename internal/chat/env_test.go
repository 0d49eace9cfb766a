package chat

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// env is a webcare with one webchat channel: real SQLite, the memory bus,
// the real ingest pipeline, the Widget on an httptest server.
type env struct {
	t     *testing.T
	st    *sqlite.Store
	bus   *bus.Memory
	w     *Widget
	srv   *httptest.Server
	ch    store.Channel
	agent store.Agent
	mail  *mailbox
}

type mailbox struct {
	mu   sync.Mutex
	sent []mailed
	fail error
}

type mailed struct{ To, Subject, Body string }

func (m *mailbox) send(_ context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.sent = append(m.sent, mailed{to, subject, body})
	return nil
}

func (m *mailbox) all() []mailed {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mailed(nil), m.sent...)
}

type envOption func(*Options, *store.Channel)

func withOrigins(list string) envOption {
	return func(_ *Options, c *store.Channel) { c.Settings[SettingOrigins] = list }
}

func withLimits(l Limits) envOption { return func(o *Options, _ *store.Channel) { o.Limits = l } }

func withoutMail() envOption { return func(o *Options, _ *store.Channel) { o.Mail = nil } }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "webcare.db"))
	if err != nil {
		t.Fatal(err)
	}
	b := bus.NewMemory()
	pipe := ingest.New(st, b, ingest.Options{})
	e := &env{t: t, st: st, bus: b, mail: &mailbox{}}
	ch := store.Channel{Kind: Kind, Name: "Heron chat", Settings: map[string]string{SettingSecret: "s3cret-for-tests", SettingGreeting: "Hi! How can we help?"}}
	o := Options{Store: st, Bus: b, Ingest: pipe.Ingest, Mail: e.mail.send, Heartbeat: 50 * time.Millisecond}
	for _, f := range opts {
		f(&o, &ch)
	}
	if err := st.CreateChannel(ctx, &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	e.ch = ch
	e.agent = store.Agent{Email: "ann@example.com", Name: "Ann", Role: store.RoleAgent, Presence: store.Offline}
	if err := st.CreateAgent(ctx, &e.agent, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	e.w = New(o)
	mux := http.NewServeMux()
	mux.Handle("/chat/", e.w)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.srv.Close()
		pipe.Close()
		st.Close()
	})
	return e
}

// visitor starts a new visitor session.
func (e *env) visitor() *Visitor {
	e.t.Helper()
	v := &Visitor{BaseURL: e.srv.URL, ChannelID: e.ch.ID}
	if _, err := v.Start(context.Background(), "https://shop.example.com/help"); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// call makes a raw request and returns the status, headers and body.
func (e *env) call(method, path, token, body string, hdr map[string]string) (int, http.Header, string) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// reply queues an agent's reply as the web server does (store, then the
// MessageCreated event) and returns the delivery the outbox would hand to
// the Sender.
func (e *env) reply(conv int64, body, key string) outbox.Delivery {
	e.t.Helper()
	ctx := context.Background()
	m, _, err := e.st.QueueReply(ctx, store.Reply{ConversationID: conv, AgentID: e.agent.ID, Body: body, IdempotencyKey: key, Now: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.st.Conversation(ctx, conv)
	if err != nil {
		e.t.Fatal(err)
	}
	e.bus.Publish(ctx, bus.Event{Type: bus.MessageCreated, ConversationID: conv, MessageID: m.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: e.agent.ID})
	contact, err := e.st.Contact(ctx, c.ContactID)
	if err != nil {
		e.t.Fatal(err)
	}
	var to store.Identity
	for _, i := range contact.Identities {
		if i.Platform == Kind {
			to = i
		}
	}
	return outbox.Delivery{Key: key, Channel: e.ch, Conversation: c, Message: m, To: to}
}

// sse is an open event stream.
type sse struct {
	events chan sseEvent
	cancel func()
}

type sseEvent struct {
	ID, Type, Data string
}

func (e *env) stream(token string, lastID string) *sse {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/chat/"+itoa(e.ch.ID)+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		e.t.Fatalf("stream: status %d", resp.StatusCode)
	}
	s := &sse{events: make(chan sseEvent, 100), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Data != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Type = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data += line[6:]
			}
		}
	}()
	e.t.Cleanup(cancel)
	return s
}

// next waits for the next "message" event.
func (s *sse) next(t *testing.T) WireMessage {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.Type != "message" {
				continue
			}
			var m WireMessage
			if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
				t.Fatal(err)
			}
			if itoa(m.ID) != ev.ID {
				t.Errorf("event id %s for message %d", ev.ID, m.ID)
			}
			return m
		case <-timeout:
			t.Fatal("no message on the stream within 5s")
		}
	}
}

// quiet checks that no message event comes for a while.
func (s *sse) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if ok && ev.Type == "message" {
				t.Fatalf("unexpected message on the stream: %s", ev.Data)
			}
			if !ok {
				return
			}
		case <-timeout:
			return
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
