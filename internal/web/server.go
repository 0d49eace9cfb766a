// Package web is webcare's HTTP face: the JSON API under /api/v1, the
// channel ingest endpoint, the live event stream, health and metrics. It
// turns requests into calls on the store, the ingest pipeline and the bus;
// the domain packages never see HTTP.
package web

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/clientip"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/poll"
	"github.com/webcare/webcare/internal/store"
)

// Server holds what the handlers need.
type Server struct {
	desk     *desk.Desk
	store    store.Store
	pipeline *ingest.Pipeline
	bus      bus.Bus
	log      *slog.Logger
	now      func() time.Time
	metrics  http.Handler
	ready    func() error
	baseURL  string
	adapters *channel.Registry
	chat     http.Handler
	polls    func(int64) (poll.Status, bool)
	oidc     *auth.OIDC
	oidcName string
	oidcRole store.Role

	secureCookies bool
	sessionTTL    time.Duration
	logins        *loginLimiter
	codes         *codeLimiter
	hookReads     chan struct{} // a place per webhook body read before it is verified
	readersMu     sync.Mutex
	readers       map[string]int // client → unverified bodies it is sending
	ingesting     atomic.Int64   // inbound deliveries in hand
	searches      chan struct{}  // a place per search running
	searching     sync.Map       // agent id → chan struct{}: the agent's one place to search
	maxIngesting  int64
	clientIP      func(*http.Request) string
	checkPassword func(hash, password string) error
	heartbeat     time.Duration
	ui            *ui
	activity      *activity

	streamsMu sync.Mutex
	streams   int
	closing   chan struct{} // closed when the server shuts down: streams end
	closeOnce sync.Once
}

// CloseStreams ends every open event stream, so that a graceful shutdown
// does not wait for clients that never hang up. Clients reconnect to
// another instance, or to this one when it is back.
func (s *Server) CloseStreams() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// Options are the Server's parts; Desk, Store, Pipeline and Bus are
// required.
type Options struct {
	// Desk performs every change an agent or admin asks for; the handlers
	// read the store directly.
	Desk     *desk.Desk
	Store    store.Store
	Pipeline *ingest.Pipeline
	Bus      bus.Bus
	Log      *slog.Logger
	Now      func() time.Time
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	// Ready reports whether the instance can take traffic (/readyz).
	Ready func() error
	// SecureCookies marks the session cookie Secure (behind HTTPS).
	SecureCookies bool
	// SessionTTL is how long a login lasts; default 12 hours, a long shift.
	SessionTTL time.Duration
	// Heartbeat is the event stream's keep-alive interval; default 15s.
	Heartbeat time.Duration
	// BaseURL is how people reach this server ("https://care.example.com",
	// no trailing slash), for links such as invites. Empty: links use the
	// scheme and host of the request that makes them.
	BaseURL string
	// ClientIP names the client of a request, for slowing password
	// guessing per address. Nil: the connection's address, which behind a
	// reverse proxy is the proxy's; there, pass clientip.ForwardedFor with
	// the proxies' addresses.
	ClientIP func(*http.Request) string
	// MaxIngesting bounds the inbound deliveries worked on at once; past
	// it senders hear 503 with Retry-After. Default 512.
	MaxIngesting int
	// Chat serves the web chat widget under /chat/; nil leaves it out.
	Chat http.Handler
	// PollStatus says how fetching a polled channel went on this
	// instance (ok false: not polled yet); nil: not shown.
	PollStatus func(channelID int64) (poll.Status, bool)
	// OIDC, when set, offers single sign-on on the login page; OIDCName
	// is the provider as people know it ("Okta"), and OIDCRole the role of
	// an agent the first sign-in of an unknown address creates ("": such
	// a sign-in is refused; an admin adds or invites the agent first).
	OIDC     *auth.OIDC
	OIDCName string
	OIDCRole store.Role
}

// New builds a Server. A missing Desk is a wiring defect: it panics.
func New(o Options) *Server {
	if o.Desk == nil {
		panic("web: Options.Desk is required")
	}
	s := &Server{
		adapters: o.Desk.Adapters(), // the platforms the desk speaks
		desk:     o.Desk, store: o.Store, pipeline: o.Pipeline, bus: o.Bus, log: o.Log, now: o.Now,
		metrics: o.Metrics, ready: o.Ready, secureCookies: o.SecureCookies, sessionTTL: o.SessionTTL,
		heartbeat: o.Heartbeat, logins: newLoginLimiter(), codes: newCodeLimiter(), hookReads: make(chan struct{}, unverifiedReads), readers: map[string]int{}, searches: make(chan struct{}, maxSearches), closing: make(chan struct{}), activity: newActivity(),
		baseURL: strings.TrimRight(o.BaseURL, "/"), chat: o.Chat, polls: o.PollStatus,
		oidc: o.OIDC, oidcName: o.OIDCName, oidcRole: o.OIDCRole,
	}
	if s.oidcName == "" {
		s.oidcName = "single sign-on"
	}
	u, err := loadUI()
	if err != nil {
		panic("web: the embedded UI does not load: " + err.Error()) // a build defect, caught by every test
	}
	s.ui = u
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.maxIngesting = int64(o.MaxIngesting)
	if s.maxIngesting <= 0 {
		s.maxIngesting = maxIngesting
	}
	s.clientIP, s.checkPassword = clientip.Remote, auth.CheckPassword
	if o.ClientIP != nil {
		s.clientIP = func(r *http.Request) string { return clientip.Key(o.ClientIP(r)) }
	}
	if s.ready == nil {
		s.ready = func() error { return nil }
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = 12 * time.Hour
	}
	if s.heartbeat <= 0 {
		s.heartbeat = 15 * time.Second
	}
	go s.followActivity()
	return s
}
