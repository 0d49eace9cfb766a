package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/store"
)

// Instance is a webcare server started for a load run, in this process.
type Instance struct {
	App  *app.App
	URL  string
	stop context.CancelFunc
	done chan error
}

// StartInstance opens webcare with cfg (Addr is replaced by a free port on
// loopback) and serves until Stop.
func StartInstance(ctx context.Context, cfg config.Config) (*Instance, error) {
	cfg.Addr = "127.0.0.1:0"
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	in := &Instance{App: a, stop: stop, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() { in.done <- a.Serve(runCtx, func(s string) { addr <- s }) }()
	select {
	case s := <-addr:
		in.URL = "http://" + s
		return in, nil
	case err := <-in.done:
		stop()
		return nil, fmt.Errorf("start webcare: %w", err)
	}
}

// Stop shuts the instance down in order and waits for it.
func (in *Instance) Stop() error {
	in.stop()
	return <-in.done
}

// Prepare creates, through the store every instance shares, an API channel
// and an agent with an API token, and returns the target for url.
func Prepare(ctx context.Context, st store.Store, url string) (Target, error) {
	by := store.Actor{Via: "bench"}
	token, hash := auth.NewToken("wch_")
	ch := store.Channel{Kind: "api", Name: "Load generator", Locale: "en", TokenHash: hash, Settings: map[string]string{}}
	if err := st.CreateChannel(ctx, &ch, by); err != nil {
		return Target{}, err
	}
	// Nobody logs in as the watcher: a random password nobody knows.
	secret, _ := auth.NewToken("")
	pw, err := auth.HashPassword(secret)
	if err != nil {
		return Target{}, err
	}
	ag := store.Agent{Email: fmt.Sprintf("load-%d@bench.invalid", ch.ID), Name: "Load watcher", Role: store.RoleAgent,
		Languages: []string{"en"}, Capacity: 1, Presence: store.Online, PasswordHash: pw}
	if err := st.CreateAgent(ctx, &ag, by); err != nil && !errors.Is(err, store.ErrConflict) {
		return Target{}, err
	}
	agentToken, agentHash := auth.NewToken("wct_")
	if err := st.CreateAPIToken(ctx, &store.APIToken{AgentID: ag.ID, Name: "bench", Hash: agentHash}, by); err != nil {
		return Target{}, err
	}
	return Target{URL: url, ChannelID: ch.ID, Token: token, AgentToken: agentToken}, nil
}
