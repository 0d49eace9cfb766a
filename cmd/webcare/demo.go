package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/auth/oidctest"
	"github.com/webcare/webcare/internal/demo"
	"github.com/webcare/webcare/internal/outbox"
)

func runDemo(ctx context.Context, e env, args []string) error {
	fs, finish := flags("demo", e)
	rate := fs.Float64("rate", 1, "customer messages per second")
	surge := fs.Bool("surge", false, "after 30 s, flood the channels with crisis messages (×factor for 60 s)")
	factor := fs.Float64("surge-factor", 20, "how many times the normal rate during a surge")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if *rate < 0 || *rate > 10000 || *factor < 1 {
		return errors.New("--rate must be between 0 and 10000 and --surge-factor at least 1")
	}
	dbSet := e.getenv("WEBCARE_DB") != ""
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	if !dbSet {
		// A fresh database each time, gone afterwards: the demo never
		// touches a real webcare.db.
		dir, err := os.MkdirTemp("", "webcare-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DatabasePath = filepath.Join(dir, "demo.db")
	}
	log := cfg.Logger(e.stderr)

	// Fake platform servers on loopback stand in for X, Meta, Telegram…:
	// the real adapters talk to them, so replies leave in each platform's
	// documented format and never reach a real platform. Kinds without a
	// fake (the API channel, whose integration is the user's own) get the
	// simulated sender.
	platforms, err := demo.StartPlatforms()
	if err != nil {
		return err
	}
	defer platforms.Close()
	simulated := demo.NewPlatformSimulator(uint64(time.Now().UnixNano()))
	senders := map[string]outbox.Sender{}
	for _, k := range app.Adapters(nil, nil).Kinds() {
		if platforms[k] == nil {
			senders[k] = simulated
		}
	}
	// A fake identity provider shows single sign-on: it signs in whoever
	// clicks as the demo's admin. It needs the callback up front, so not
	// with a port the system picks.
	var idp *oidctest.Provider
	if cfg.OIDCIssuer == "" && !strings.HasSuffix(cfg.Addr, ":0") {
		idp = oidctest.Start("webcare-demo", "demo-secret", cfg.BaseURL+"/login/sso/callback")
		defer idp.Close()
		cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret, cfg.OIDCName = idp.Issuer(), "webcare-demo", "demo-secret", "Heron SSO (demo)"
	}
	a, err := app.Open(ctx, cfg, log, app.Options{Senders: senders})
	if err != nil {
		return err
	}
	seeded, err := demo.Seed(ctx, a.Store, time.Now())
	if errors.Is(err, demo.ErrNotEmpty) {
		a.Close()
		return fmt.Errorf("%s already holds data; the demo needs an empty database (leave out --db and WEBCARE_DATABASE_URL for a temporary file)", cfg.Database())
	}
	if err != nil {
		a.Close()
		return fmt.Errorf("seeding the demo: %w", err)
	}

	ssoNote := ""
	if idp != nil {
		verified := true
		idp.SignIn(&oidctest.User{Subject: "demo-admin", Email: seeded.Email, EmailVerified: &verified})
		ssoNote = fmt.Sprintf("\n  sso       or \"Sign in with %s\": a fake identity provider signs you in as %s", cfg.OIDCName, seeded.Email)
	}
	if err := platforms.Connect(ctx, a.Store, seeded.Channels, seeded.Regulars); err != nil {
		a.Close()
		return err
	}
	// Mail is fetched, not pushed: in the demo, every few seconds rather
	// than the half minute a real mailbox gets.
	for _, ad := range a.Adapters.All() {
		if ad.Poller != nil {
			ad.PollEvery = 3 * time.Second
			a.Adapters.Set(ad)
		}
	}
	sim := &demo.Simulator{Channels: seeded.Channels, Regulars: seeded.Regulars, Rate: *rate, Log: log.With("part", "simulator"), Platforms: platforms}
	if *surge {
		sim.Surge = demo.SurgeProfile{At: 30 * time.Second, Factor: *factor, For: 60 * time.Second}
	}
	surgeNote := ""
	if *surge {
		surgeNote = fmt.Sprintf(", surge ×%g after 30 s", *factor)
	}
	return a.Serve(ctx, func(addr string) {
		sim.BaseURL = "http://" + addr
		url := cfg.BaseURL
		if strings.HasSuffix(cfg.Addr, ":0") {
			url = sim.BaseURL // the port was chosen by the system
		}
		fmt.Fprintf(e.stdout, `
  webcare demo — Heron Airlines' webcare team

  open      %s
  log in    %s / %s%s
  API       curl -c jar -H 'Content-Type: application/json' -d '{"email":"%s","password":"%s"}' %s/api/v1/login
            curl -b jar '%s/api/v1/conversations?status=new,open'
  live      curl -N -b jar %s/api/v1/events
  traffic   %.1f messages/s%s
  database  %s

`, url, seeded.Email, seeded.Password, ssoNote, seeded.Email, seeded.Password, url, url, url, *rate, surgeNote, cfg.Database())
		// The simulator stops with ctx, like the server.
		go sim.Run(ctx)
		for _, c := range seeded.Channels {
			if c.Channel.Kind == "whatsapp" {
				go platforms.Receipts(ctx, sim.BaseURL, c.Channel)
			}
		}
	})
}
