// Package app wires webcare together. This file is the map of the system:
// a message travels
//
//	channel (HTTP ingest) → ingest.Pipeline (check, dedupe, group commit)
//	  → store (contact, thread, durable) → bus (events) → agents' streams
//	  → stages (understand, route: after the commit, idempotent)
//
// and a reply travels
//
//	web (agent) → desk.Reply (rules) → store.QueueReply (message + outbox
//	  entry, one transaction) → outbox.Worker → channel Sender → platform
//
// Everything an agent, an admin, the command line or a timer changes goes
// through the desk, which announces it on the bus after the commit.
package app

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/bus/natsbus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/email"
	"github.com/webcare/webcare/internal/chat"
	"github.com/webcare/webcare/internal/clientip"
	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/metrics"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/poll"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/postgres"
	"github.com/webcare/webcare/internal/store/sqlite"
	"github.com/webcare/webcare/internal/web"
)

// App is one running webcare instance.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	Store    store.Store
	Bus      bus.Bus
	Pipeline *ingest.Pipeline
	// Desk performs what agents, admins and timers do to conversations,
	// channels and the directory.
	Desk   *desk.Desk
	Outbox *outbox.Worker
	Poll   *poll.Runner
	Web    *web.Server
	// Adapters are the platforms this instance speaks. Change them only
	// before Serve.
	Adapters *channel.Registry

	closeBus func() error
	chat     *chat.Widget
}

// Options add to what the configuration decides.
type Options struct {
	// Senders replace or add reply senders by channel kind (the demo's
	// simulated platforms, a test's fake).
	Senders map[string]outbox.Sender
	// Stages run after each inbound message is committed.
	Stages []ingest.Stage
}

// Open builds the parts in dependency order: store, bus, pipeline, outbox,
// web. Close undoes it.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) (*App, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b, closeBus, err := OpenBus(ctx, cfg, log)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	a := &App{Config: cfg, Log: log, Store: st, Bus: b, closeBus: closeBus}
	m := metrics.New(st, log)
	a.Pipeline = ingest.New(st, a.Bus, ingest.Options{Stages: o.Stages, Log: log.With("part", "ingest"), Metrics: m.Ingest()})

	a.Adapters = Adapters(nil, log.With("part", "channel"))
	proxies, err := cfg.Proxies()
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	chatOpts := chat.Options{Store: st, Bus: a.Bus, Ingest: a.Pipeline.Ingest, Log: log.With("part", "webchat"), Mail: a.mailVisitor}
	var clientIP func(*http.Request) string // the connection's address
	if len(proxies) > 0 {
		clientIP = clientip.ForwardedFor(proxies)
	}
	chatOpts.ClientIP = clientIP
	chat := chat.New(chatOpts)
	a.chat = chat
	a.Adapters.Set(chat.Adapter())
	senders, rates := map[string]outbox.Sender{}, map[string]float64{}
	for _, ad := range a.Adapters.All() {
		if ad.Sender != nil {
			senders[ad.Kind] = ad.Sender
		}
		rates[ad.Kind] = ad.Rate
	}
	for kind, s := range o.Senders {
		senders[kind] = s
	}
	a.Outbox = &outbox.Worker{Store: st, Bus: a.Bus, Senders: senders, Rates: rates, Log: log.With("part", "outbox")}
	m.WatchOutbox(a.Outbox.HeldBack)
	a.Desk = desk.New(desk.Options{Store: st, Bus: a.Bus, Adapters: a.Adapters, Channels: a.Pipeline,
		WakeOutbox: a.Outbox.Wake, Log: log.With("part", "desk")})
	a.Poll = &poll.Runner{Store: st, Pipeline: a.Pipeline, Adapters: a.Adapters, Log: log.With("part", "poll")}
	wo := web.Options{
		Desk: a.Desk, ClientIP: clientIP, Store: st, Pipeline: a.Pipeline, Bus: a.Bus, Log: log.With("part", "web"),
		Metrics: m.Handler(), Chat: chat, PollStatus: a.Poll.Status,
		SecureCookies: cfg.SecureCookies, SessionTTL: cfg.SessionTTL, BaseURL: cfg.BaseURL,
	}
	if cfg.OIDCIssuer != "" {
		if cfg.BaseURLGuessed {
			log.Warn("single sign-on uses the callback " + cfg.BaseURL + "/login/sso/callback, made from --addr; set --base-url to the address people use")
		}
		wo.OIDC = auth.NewOIDC(auth.OIDCConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: cfg.BaseURL + "/login/sso/callback"})
		wo.OIDCName, wo.OIDCRole = cfg.OIDCName, store.Role(cfg.OIDCDefaultRole)
	}
	a.Web = web.New(wo)
	return a, nil
}

// Store is a storage engine as the application and the command line use
// it: the contract, and the schema version that migrate reports.
type Store interface {
	store.Store
	SchemaVersion(ctx context.Context) (int, error)
}

// OpenStore opens the engine the configuration names, bringing its schema
// up to date: PostgreSQL when a database URL is set, else the embedded
// SQLite file.
func OpenStore(ctx context.Context, cfg config.Config) (Store, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL database: %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, cfg.DatabasePath)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", cfg.DatabasePath, err)
	}
	return st, nil
}

// BaseURLKey is the setting where a server given --base-url leaves it,
// so that commands print the links people really use.
const BaseURLKey = "base_url"

// LinkBase is the public URL for links a command prints: the configured
// one, else the one a server left in st, else the guess from the listen
// address (guessed true).
func LinkBase(ctx context.Context, st interface {
	Setting(ctx context.Context, key string) (string, error)
}, cfg config.Config) (url string, guessed bool) {
	if !cfg.BaseURLGuessed {
		return cfg.BaseURL, false
	}
	if u, err := st.Setting(ctx, BaseURLKey); err == nil && u != "" {
		return u, false
	}
	return cfg.BaseURL, true
}

// Tools are what a command-line subcommand acts with on the data of
// running servers: the store, and a desk whose events reach the servers'
// pages when the bus is NATS. (On the embedded bus a separate process
// reaches no page; they show the change at their next refresh, and a
// changed channel within 10 seconds.)
type Tools struct {
	Store Store
	Desk  *desk.Desk
	// Heard is true when running servers hear of changes at once: the bus
	// is NATS and it answered.
	Heard bool

	closeBus func() error
}

// OpenTools opens the store and the bus the configuration names and a
// desk on them, speaking this build's platforms. A NATS that cannot be
// reached does not stop a command (an admin resetting a password during
// an outage must not wait for NATS): the change is made, with a warning,
// and Heard says the servers were not told.
func OpenTools(ctx context.Context, cfg config.Config, log *slog.Logger) (*Tools, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b, closeBus, err := OpenBus(ctx, cfg, log)
	heard := cfg.NATSURL != ""
	if err != nil {
		log.Warn("running servers will not hear of this change at once", "err", err)
		b, closeBus, heard = bus.NewMemory(), func() error { return nil }, false
	}
	d := desk.New(desk.Options{Store: st, Bus: b, Adapters: Adapters(nil, log.With("part", "channel")), Log: log.With("part", "desk")})
	return &Tools{Store: st, Desk: d, Heard: heard, closeBus: closeBus}, nil
}

// Close sends the events still queued, then closes the store.
func (t *Tools) Close() error {
	return errors.Join(t.closeBus(), t.Store.Close())
}

// Close stops the pipeline (committing what it accepted and publishing its
// last events), then the bus (sending what it still holds), then the store.
func (a *App) Close() error {
	a.Pipeline.Close()
	return errors.Join(a.closeBus(), a.Store.Close())
}

// OpenBus picks the event bus: NATS JetStream when a URL is set, so events
// reach the agents of every instance; otherwise the in-process bus, which
// is all one instance needs.
func OpenBus(ctx context.Context, cfg config.Config, log *slog.Logger) (bus.Bus, func() error, error) {
	if cfg.NATSURL == "" {
		return bus.NewMemory(), func() error { return nil }, nil
	}
	b, err := natsbus.Open(ctx, cfg.NATSURL, natsbus.Options{Name: "webcare " + cfg.BaseURL, Log: log.With("part", "bus"),
		Prefix: cfg.NATSPrefix, Stream: strings.ToUpper(strings.ReplaceAll(cfg.NATSPrefix, "-", "_")) + "_EVENTS"})
	if err != nil {
		return nil, nil, fmt.Errorf("open event bus: %w", err)
	}
	return b, b.Close, nil
}

// Serve listens on the configured address until ctx ends, then shuts down
// in order: stop taking requests, let the workers finish, close the store.
// ready, if not nil, receives the bound address once listening.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.Web.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // event streams clear their own deadline
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(a.Web.CloseStreams)
	srv.RegisterOnShutdown(a.chat.Close)
	// Both listeners are open before any work starts, so a port in use
	// fails the start cleanly.
	mail, err := a.mailListener()
	if err != nil {
		ln.Close()
		return errors.Join(err, a.Close())
	}
	var mailLn net.Listener
	if mail != nil {
		if mailLn, err = net.Listen("tcp", a.Config.SMTPAddr); err != nil {
			ln.Close()
			return errors.Join(fmt.Errorf("mail listener: %w", err), a.Close())
		}
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan error, 1)
	go func() { workerDone <- a.Outbox.Run(workCtx) }()
	pollDone := make(chan error, 1)
	go func() { pollDone <- a.Poll.Run(workCtx) }()
	idleDone := make(chan struct{})
	go func() { defer close(idleDone); a.resolveIdle(workCtx, resolveIdleEvery) }()

	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	stopMail := func() {}
	if mail != nil {
		go func() {
			if err := mail.Serve(mailLn); err != nil && ctx.Err() == nil {
				serveErr <- fmt.Errorf("mail listener: %w", err)
			}
		}()
		stopMail = func() { mail.Close() }
		a.Log.Info("listening for mail", "addr", mailLn.Addr().String())
	}
	a.Log.Info("webcare listening", "addr", ln.Addr().String(), "url", a.Config.BaseURL, "db", a.Config.Database())
	if !a.Config.BaseURLGuessed {
		// Commands run elsewhere print links with it (webcare channel …).
		if err := a.Store.SetSetting(ctx, BaseURLKey, a.Config.BaseURL); err != nil {
			a.Log.Warn("remembering the base URL for commands failed", "err", err)
		}
	}
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	// Workers stop taking new work at once; sends under way finish (the
	// outbox does not cut them off) while HTTP drains.
	stopWork()
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil {
		srv.Close() // event streams do not end on their own
	}
	stopMail() // mail in flight is answered 451 and sent again later
	<-workerDone
	<-pollDone
	<-idleDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, a.Close())
}

// resolveIdleEvery is how often the server looks for conversations idle
// for longer than Config.ResolveIdle.
const resolveIdleEvery = 10 * time.Minute

// resolveIdle resolves conversations pending on the customer for longer
// than the configuration says, every so often, until ctx ends; open
// inboxes are told through the bus like for any change. Every instance
// may run it: the store resolves each conversation once.
func (a *App) resolveIdle(ctx context.Context, every time.Duration) {
	if a.Config.ResolveIdle == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		a.resolveIdleOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// resolveIdleOnce is one round of resolveIdle; it returns how many it
// resolved.
func (a *App) resolveIdleOnce(ctx context.Context) int {
	if a.Config.ResolveIdle == 0 {
		return 0
	}
	n, err := a.Desk.ResolveIdle(ctx, desk.System("timer"), []store.Status{store.StatusPending}, a.Config.ResolveIdle)
	switch {
	case err != nil && ctx.Err() == nil:
		a.Log.Warn("resolving idle conversations failed; trying again later", "err", err)
	case n > 0:
		a.Log.Info("resolved idle conversations", "count", n, "idle", a.Config.ResolveIdle)
	}
	return n
}

// mailVisitor mails a web chat answer to a visitor who left, through the
// first e-mail channel that can send.
func (a *App) mailVisitor(ctx context.Context, to, subject, body string) error {
	chs, err := a.Store.Channels(ctx)
	if err != nil {
		return err
	}
	for _, c := range chs {
		if c.Kind == "email" && !c.Disabled && c.Settings["smtp_host"] != "" && c.Settings["address"] != "" {
			return email.SendPlain(ctx, c, to, subject, body, "")
		}
	}
	return &outbox.Error{Permanent: true, Body: "No e-mail channel can send: add one with SMTP settings to mail answers to visitors who left."}
}

// mailListener is the SMTP server for e-mail channels, when an address is
// configured: mail to a channel's address is stored before the sending
// server hears 250, and bounces of our replies mark them failed.
func (a *App) mailListener() (*email.Listener, error) {
	if a.Config.SMTPAddr == "" {
		return nil, nil
	}
	host := "localhost"
	if u, err := url.Parse(a.Config.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	var tlsConfig *tls.Config
	if a.Config.SMTPTLSCert != "" {
		if _, err := tls.LoadX509KeyPair(a.Config.SMTPTLSCert, a.Config.SMTPTLSKey); err != nil {
			return nil, fmt.Errorf("mail listener certificate: %w", err)
		}
		// Read per handshake, so a renewed certificate needs no restart.
		certFile, keyFile := a.Config.SMTPTLSCert, a.Config.SMTPTLSKey
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			c, err := tls.LoadX509KeyPair(certFile, keyFile)
			return &c, err
		}}
	}
	l := email.NewListener(email.ListenerOptions{
		Addr: a.Config.SMTPAddr, Domain: host, Log: a.Log.With("part", "smtp"), TLS: tlsConfig,
		Lookup: func(ctx context.Context, rcpt string) (store.Channel, bool) {
			chs, err := a.Store.Channels(ctx)
			if err != nil {
				return store.Channel{}, false
			}
			for _, c := range chs {
				if c.Kind == "email" && !c.Disabled && strings.EqualFold(c.Settings["address"], rcpt) {
					return c, true
				}
			}
			return store.Channel{}, false
		},
		Ingest: func(ctx context.Context, m channel.Message) (store.IngestResult, error) {
			ingest.Fit(&m) // a long mail is clipped, as on every channel, not refused
			res, err := a.Pipeline.Ingest(ctx, m)
			if errors.Is(err, ingest.ErrInvalid) {
				err = fmt.Errorf("%w: %w", email.ErrRefused, err)
			}
			return res, err
		},
		Status: func(ctx context.Context, ch store.Channel, s channel.Status) error {
			_, err := a.Pipeline.Receive(ctx, ch, a.Adapters.Get("email"), channel.Batch{Statuses: []channel.Status{s}})
			return err
		},
	})
	return l, nil
}

// EnsureSetup prints a one-time setup link when nobody can log in yet.
func (a *App) EnsureSetup(ctx context.Context) error {
	agents, err := a.Store.Agents(ctx)
	if err != nil {
		return err
	}
	for _, ag := range agents {
		if ag.Role == store.RoleAdmin && !ag.Disabled && ag.PasswordHash != "" {
			return nil
		}
	}
	token, hash := auth.NewToken("wcu_")
	if err := a.Store.SetSetting(ctx, desk.SetupTokenKey, hex.EncodeToString(hash)); err != nil {
		return err
	}
	a.Log.Warn("no administrator yet: open this link to create one (or run `webcare user add --admin`)",
		"url", a.Config.BaseURL+"/setup?token="+token)
	return nil
}
