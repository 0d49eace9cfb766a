// Package chat is webcare's own chat widget (channel kind "webchat"): a
// website adds one script tag,
//
//	<script src="https://WEBCARE/chat/widget.js" data-channel="ID" async></script>
//
// and its visitors chat live with the agents. webcare is the platform here,
// so there is no webhook: the widget talks to the visitor API under
// /chat/{channel id}/ that Widget serves.
//
//	POST /chat/{id}/session   start or resume: {visitor_id, token, agents_online, mail, …}
//	POST /chat/{id}/messages  {id, text, name?, email?}: the visitor writes
//	GET  /chat/{id}/messages  ?after=N: the visitor's history
//	GET  /chat/{id}/stream    server-sent events: new messages (id = message id)
//	POST /chat/{id}/profile   {name?, email?}: "leave your e-mail"
//
// A visitor is a random id with a token, HMAC-SHA256 of the id under the
// channel's webhook_secret, sent as "Authorization: Bearer TOKEN"; the
// widget keeps both in the host site's localStorage, so a reload keeps the
// identity. There are no cookies. Cross-origin requests are allowed only
// from the channel's allowed_origins (none listed: any origin).
//
// Replies go through Adapter().Sender: the reply is already stored, so it is
// "sent" at once; the visitor sees it through the stream or the history. A
// visitor who is not connected and left an e-mail address gets the reply by
// mail as well, once per outbox key, to one address and a few times a day
// at most (see Sender).
package chat

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/clientip"
	"github.com/webcare/webcare/internal/store"
)

// Kind is the channel kind this package serves.
const Kind = "webchat"

// Settings keys of a webchat channel.
const (
	SettingSecret   = "webhook_secret"  // signs visitor tokens
	SettingOrigins  = "allowed_origins" // comma-separated; empty: any origin
	SettingGreeting = "greeting"        // optional first line the widget shows
)

//go:embed static/widget.js
var static embed.FS

// Store is what the widget reads and keeps: the channel, the visitor's
// contact and conversations, whether agents are online, and its own small
// records (visitors, mails sent) as settings.
type Store interface {
	Channel(ctx context.Context, id int64) (store.Channel, error)
	Contact(ctx context.Context, id int64) (store.Contact, error)
	Contacts(ctx context.Context, f store.ContactFilter) ([]store.Contact, error)
	Conversation(ctx context.Context, id int64) (store.Conversation, error)
	Conversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error)
	Messages(ctx context.Context, conversationID, after int64, limit int) ([]store.Message, error)
	Agents(ctx context.Context) ([]store.Agent, error)
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

// Options are the Widget's parts. Store, Bus and Ingest are required.
type Options struct {
	Store Store
	Bus   bus.Bus
	// Ingest stores a visitor's message; (*ingest.Pipeline).Ingest fits.
	Ingest func(ctx context.Context, m channel.Message) (store.IngestResult, error)
	Log    *slog.Logger
	Now    func() time.Time
	// Mail sends a plain-text e-mail. Nil: replies to visitors who are
	// away wait in the widget, and the widget says so.
	Mail func(ctx context.Context, to, subject, body string) error

	// ClientIP names the client of a request for the per-address limit.
	// Nil: the connection's address, which behind a reverse proxy is the
	// proxy's for every visitor; there, pass clientip.ForwardedFor with the
	// proxies' addresses. Whatever it returns, an IPv6 address counts by
	// its /64.
	ClientIP func(r *http.Request) string

	// Heartbeat is the stream's keep-alive interval; default 20 s. Tests
	// make it short.
	Heartbeat time.Duration
	// Limits override the default request limits; zero fields keep them.
	Limits Limits
}

// Limits bound what one visitor or one address may do.
type Limits struct {
	// MessagesBurst and MessagesPerMinute limit posts per visitor.
	MessagesBurst     int
	MessagesPerMinute float64
	// RequestsBurst and RequestsPerMinute limit every POST per client
	// address (sessions, messages, profile), and reads (history, stream
	// connections) per visitor.
	RequestsBurst     int
	RequestsPerMinute float64
	// Streams is how many open streams one visitor may hold.
	Streams int
	// MailsPerDay is how many replies one visitor may get by e-mail a
	// day (UTC); default 5. Further replies wait in the widget.
	MailsPerDay int
}

// Widget serves the widget script and the visitor API. Mount it at /chat/
// outside any CSRF or cookie middleware: it uses no cookies, every request
// carries its token, and cross-origin use is its purpose.
type Widget struct {
	store     Store
	bus       bus.Bus
	ingest    func(ctx context.Context, m channel.Message) (store.IngestResult, error)
	log       *slog.Logger
	now       func() time.Time
	mail      func(ctx context.Context, to, subject, body string) error
	heartbeat time.Duration
	limits    Limits
	clientIP  func(r *http.Request) string

	mux     *http.ServeMux
	limiter *limiter
	script  []byte
	etag    string

	mu        sync.Mutex
	connected map[visitorKey]int // open streams on this instance

	closing   chan struct{} // closed by Close: streams end, new ones are refused
	closeOnce sync.Once

	agentsMu   sync.Mutex
	agentsAt   time.Time
	agentsOnly bool

	convMu      sync.Mutex
	convContact map[int64]int64    // conversation id → contact id, for stream filtering
	contactIDs  map[int64][]string // contact id → its webchat visitor ids
}

type visitorKey struct {
	channel int64
	visitor string
}

// New builds a Widget.
func New(o Options) *Widget {
	w := &Widget{
		store: o.Store, bus: o.Bus, ingest: o.Ingest, log: o.Log, now: o.Now, mail: o.Mail,
		heartbeat: o.Heartbeat, limits: o.Limits, clientIP: o.ClientIP,
		connected: map[visitorKey]int{}, closing: make(chan struct{}), convContact: map[int64]int64{}, contactIDs: map[int64][]string{},
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.clientIP == nil {
		w.clientIP = clientip.Remote
	} else {
		ip := w.clientIP
		w.clientIP = func(r *http.Request) string { return clientip.Key(ip(r)) }
	}
	if w.heartbeat <= 0 {
		w.heartbeat = 20 * time.Second
	}
	l := &w.limits
	if l.MessagesBurst <= 0 {
		l.MessagesBurst = 10
	}
	if l.MessagesPerMinute <= 0 {
		l.MessagesPerMinute = 12
	}
	if l.RequestsBurst <= 0 {
		l.RequestsBurst = 120
	}
	if l.RequestsPerMinute <= 0 {
		l.RequestsPerMinute = 120
	}
	if l.Streams <= 0 {
		l.Streams = 5
	}
	if l.MailsPerDay <= 0 {
		l.MailsPerDay = 5
	}
	w.limiter = newLimiter(w.now)
	script, err := static.ReadFile("static/widget.js")
	if err != nil {
		panic("webchat: embedded widget.js missing: " + err.Error()) // a build defect
	}
	w.script = script
	w.etag = fmt.Sprintf(`"%x"`, hashBytes(script))

	m := http.NewServeMux()
	m.HandleFunc("GET /chat/widget.js", w.serveScript)
	m.HandleFunc("OPTIONS /chat/{id}/{rest...}", w.api(w.preflight))
	m.HandleFunc("POST /chat/{id}/session", w.api(w.startSession))
	m.HandleFunc("POST /chat/{id}/messages", w.api(w.postMessage))
	m.HandleFunc("GET /chat/{id}/messages", w.api(w.listMessages))
	m.HandleFunc("GET /chat/{id}/stream", w.api(w.streamMessages))
	m.HandleFunc("POST /chat/{id}/profile", w.api(w.saveProfile))
	m.HandleFunc("/chat/", func(rw http.ResponseWriter, r *http.Request) {
		writeError(rw, &apiError{http.StatusNotFound, "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	w.mux = m
	return w
}

// Close ends every open visitor stream at once and makes new ones answer
// 503, so that http.Server.Shutdown need not wait for them: register it
// with RegisterOnShutdown. The widgets reconnect, to another instance or
// to this one once it is back. Other requests are still served. Calling
// Close more than once does nothing more.
func (w *Widget) Close() {
	w.closeOnce.Do(func() { close(w.closing) })
}

func (w *Widget) closed() bool {
	select {
	case <-w.closing:
		return true
	default:
		return false
	}
}

// ServeHTTP serves /chat/…: paths keep their /chat/ prefix.
func (w *Widget) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.mux.ServeHTTP(rw, r) }

// Adapter is the webchat channel kind for the registry: Base with the
// widget's Sender.
func (w *Widget) Adapter() channel.Adapter {
	a := Base()
	a.Sender = &Sender{w: w}
	return a
}

// Base is what is true of the web chat without a Widget: its settings and
// what a reply may be, for admins and the command line. It sends nothing.
func Base() channel.Adapter {
	return channel.Adapter{
		Kind:      Kind,
		Fields:    Fields,
		TextLimit: 0, // webcare's own widget: no platform limit to keep to
		Files:     channel.FileRule{MaxFiles: 5, MaxBytes: 10 << 20, Types: channel.ImagesAndPDFs},
	}
}

// Fields are the settings an admin gives a webchat channel.
var Fields = []channel.Field{
	{Key: SettingOrigins, Label: "Allowed websites",
		Help: "The websites that may show this chat, as origins separated by commas, e.g. https://www.example.com, https://shop.example.com " +
			"(scheme and host, no path). Empty allows ANY website: then anyone can put your chat on their page."},
	{Key: SettingGreeting, Label: "Greeting",
		Help: "Optional: the first line visitors read when they open the chat, e.g. \"Hi! How can we help?\"."},
	{Key: SettingSecret, Label: "Visitor token secret", Secret: true, Generated: true, Required: true,
		Help: "Made by webcare; it signs the tokens that keep visitors signed in to their conversation. " +
			"Changing it signs every visitor out: they start a new conversation."},
}

// apiError is a refusal with a status and words the visitor may read.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, format string, a ...any) error {
	return &apiError{status, fmt.Sprintf(format, a...)}
}

// request is what every visitor endpoint knows about its caller.
type request struct {
	ch      store.Channel
	visitor string // empty until authenticated
}

// api wraps a handler with the channel lookup, CORS and the one place
// errors turn into JSON.
func (w *Widget) api(h func(rw http.ResponseWriter, r *http.Request, q *request) error) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		hdr := rw.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Cache-Control", "no-store")
		err := func() error {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil || id <= 0 {
				return errorf(http.StatusNotFound, "no such chat")
			}
			ch, err := w.store.Channel(r.Context(), id)
			if errors.Is(err, store.ErrNotFound) || (err == nil && (ch.Kind != Kind || ch.Disabled)) {
				return errorf(http.StatusNotFound, "no such chat")
			}
			if err != nil {
				return err
			}
			if err := cors(rw, r, ch); err != nil {
				return err
			}
			if ch.Settings[SettingSecret] == "" {
				return errorf(http.StatusServiceUnavailable, "this chat is not set up yet: an administrator must save the channel once")
			}
			return h(rw, r, &request{ch: ch})
		}()
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			w.log.Error("webchat request failed", "path", r.URL.Path, "err", err)
			ae = &apiError{http.StatusInternalServerError, "something went wrong on our side; please try again"}
		}
		writeError(rw, ae)
	}
}

func writeError(rw http.ResponseWriter, e *apiError) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(e.Status)
	json.NewEncoder(rw).Encode(struct {
		Error string `json:"error"`
	}{e.Message})
}

func writeJSON(rw http.ResponseWriter, status int, v any) error {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	return json.NewEncoder(rw).Encode(v)
}

// serveScript serves the widget. It is loaded by other sites' pages, so it
// says it may be (Cross-Origin-Resource-Policy) and is cached briefly, so
// that an upgrade reaches visitors within minutes.
func (w *Widget) serveScript(rw http.ResponseWriter, r *http.Request) {
	h := rw.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", w.etag)
	if r.Header.Get("If-None-Match") == w.etag {
		rw.WriteHeader(http.StatusNotModified)
		return
	}
	rw.Write(w.script)
}
