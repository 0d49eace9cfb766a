package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

func channelCmd(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "channel", args, map[string]func(context.Context, env, []string) error{
		"add": channelAdd, "list": channelList, "rotate-token": channelRotate, "set": channelSet, "test": channelTest,
	})
}

// settingsFlag collects repeated --set key=value flags.
type settingsFlag map[string]string

func (s settingsFlag) String() string { return "" }

func (s settingsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: write key=value", v)
	}
	s[strings.TrimSpace(k)] = val
	return nil
}

// readStdinValues replaces a value "-" by a line read from standard input,
// so that secrets need not appear in the command line (and the shell's
// history, and ps).
func readStdinValues(e env, set settingsFlag) error {
	in := bufio.NewReader(e.stdin)
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] != "-" {
			continue
		}
		line, err := in.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return fmt.Errorf("%s=-: no line on standard input to read it from", k)
		}
		set[k] = strings.TrimRight(line, "\r\n")
	}
	return nil
}

// guessNote says, after a link made from a guessed base URL, that it is one.
const guessNote = "(links made from --addr, a guess: run with --base-url or WEBCARE_BASE_URL set to the address people and platforms reach webcare at, or start the server with it once)"

// channelHelp prints what a kind needs and where the platform sends to.
func channelHelp(e env, d *desk.Desk, baseURL string, guessed bool, c store.Channel) {
	if hook := d.HookURL(baseURL, c); hook != "" {
		fmt.Fprintf(e.stdout, "webhook URL:     %s   (paste into the platform's console)\n", hook)
		if guessed {
			fmt.Fprintln(e.stdout, guessNote)
		}
	}
	ad := d.Adapters().Get(c.Kind)
	for _, f := range ad.Fields {
		state := "not set"
		if v := c.Settings[f.Key]; v != "" {
			state = "set"
			if !d.Hidden(c.Kind, f.Key) {
				state = v
			}
		}
		req := ""
		if f.Required {
			req = " (required)"
		}
		fmt.Fprintf(e.stdout, "  %-20s %s%s: %s\n", f.Key, f.Label, req, state)
	}
	if len(ad.Fields) > 0 {
		fmt.Fprintf(e.stdout, "set them with: webcare channel set --id %d --set key=value …; then: webcare channel test --id %d\n", c.ID, c.ID)
	}
}

// reach says when running servers take a change made here: at once
// through NATS; else when their cached copy expires.
func reach(t *app.Tools) string {
	if t.Heard {
		return " (running servers were told)"
	}
	return " (running servers use it within 10 seconds)"
}

// withTools opens the store, the bus and the desk for a command that
// changes something, and closes them after fn (sending its events).
func withTools(ctx context.Context, e env, cfg config.Config, fn func(t *app.Tools) error) error {
	t, err := app.OpenTools(ctx, cfg, cfg.Logger(e.stderr))
	if err != nil {
		return err
	}
	return errors.Join(fn(t), t.Close())
}

func channelSet(ctx context.Context, e env, args []string) error {
	fs, finish := flags("channel set", e)
	id := fs.Int64("id", 0, "channel id (required)")
	set := settingsFlag{}
	fs.Var(set, "set", "a platform setting as key=value (repeat; an empty value clears it; key=- reads the value from standard input)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if len(set) == 0 {
		return errors.New("give settings with --set key=value (key=- reads the value from standard input)")
	}
	if err := readStdinValues(e, set); err != nil {
		return err
	}
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		before, err := t.Store.Channel(ctx, *id)
		if err != nil {
			return err
		}
		c, err := t.Desk.UpdateChannel(ctx, cli, *id, desk.ChannelInput{Settings: set})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "saved settings of channel %d%s\n", c.ID, reach(t))
		var dropped []string
		for _, k := range slices.Sorted(maps.Keys(before.Settings)) {
			if _, given := set[k]; !given && c.Settings[k] == "" {
				dropped = append(dropped, k)
			}
		}
		if len(dropped) > 0 {
			// A new server must not get the old server's secrets.
			fmt.Fprintf(e.stdout, "cleared with the new server address: %s; give them again with --set\n", strings.Join(dropped, ", "))
		}
		base, guessed := app.LinkBase(ctx, t.Store, cfg)
		channelHelp(e, t.Desk, base, guessed, c)
		return nil
	})
}

func channelTest(ctx context.Context, e env, args []string) error {
	fs, finish := flags("channel test", e)
	id := fs.Int64("id", 0, "channel id (required)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		base, guessed := app.LinkBase(ctx, t.Store, cfg)
		c, err := t.Store.Channel(ctx, *id)
		if err != nil {
			return err
		}
		if guessed && t.Desk.Adapters().Get(c.Kind).Connect != nil {
			return fmt.Errorf("testing registers webcare's webhook with %s, and %s/hooks/%d is only a guess: give --base-url (or WEBCARE_BASE_URL) the address %s reaches webcare at", c.Kind, base, c.ID, c.Kind)
		}
		res, err := t.Desk.TestChannel(ctx, cli, *id, base)
		if err != nil {
			return err
		}
		if !res.OK {
			return fmt.Errorf("not connected: %s", res.Detail)
		}
		fmt.Fprintf(e.stdout, "connected: %s\n", res.Detail)
		return nil
	})
}

func channelAdd(ctx context.Context, e env, args []string) error {
	fs, finish := flags("channel add", e)
	kinds := app.Adapters(nil, nil).Kinds()
	kind := fs.String("kind", "api", "platform: "+strings.Join(kinds, ", "))
	name := fs.String("name", "", "a name agents recognise, e.g. \"Booking system\" (required)")
	locale := fs.String("locale", "", "language most customers write in (nl, en…)")
	callback := fs.String("callback-url", "", "api channels: where replies are posted")
	set := settingsFlag{}
	fs.Var(set, "set", "a platform setting as key=value (repeat; key=- reads the value from standard input, one line per such key in key order); see docs/channels/KIND.md")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if !slices.Contains(kinds, *kind) {
		return fmt.Errorf("--kind %q: use one of %s", *kind, strings.Join(kinds, ", "))
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("--name is required")
	}
	if err := readStdinValues(e, set); err != nil {
		return err
	}
	in := desk.ChannelInput{Kind: *kind, Name: name, Locale: locale, Settings: set}
	if *callback != "" {
		in.CallbackURL = callback
	}
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		made, err := t.Desk.AddChannel(ctx, cli, in)
		if err != nil {
			return err
		}
		c := made.Channel
		fmt.Fprintf(e.stdout, "added %s channel %q (id %d)\n", c.Kind, c.Name, c.ID)
		base, guessed := app.LinkBase(ctx, t.Store, cfg)
		fmt.Fprintf(e.stdout, "ingest URL:      %s\n", desk.IngestURL(base, c.ID))
		fmt.Fprintf(e.stdout, "ingest token:    %s\n", made.Token)
		fmt.Fprintf(e.stdout, "callback secret: %s\n", made.CallbackSecret)
		for _, k := range slices.Sorted(maps.Keys(made.Generated)) {
			fmt.Fprintf(e.stdout, "%-16s %s\n", k+":", made.Generated[k])
		}
		fmt.Fprintln(e.stdout, "(tokens and secrets shown once)")
		channelHelp(e, t.Desk, base, guessed, c)
		if guessed && t.Desk.HookURL(base, c) == "" {
			fmt.Fprintln(e.stdout, guessNote)
		}
		return nil
	})
}

func channelList(ctx context.Context, e env, args []string) error {
	fs, finish := flags("channel list", e)
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	chs, err := st.Channels(ctx)
	if err != nil {
		return err
	}
	base, guessed := app.LinkBase(ctx, st, cfg)
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tLOCALE\tSTATE\tINGEST URL")
	for _, c := range chs {
		state := "enabled"
		if c.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Kind, c.Name, c.Locale, state, desk.IngestURL(base, c.ID))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if guessed && len(chs) > 0 {
		fmt.Fprintln(e.stdout, guessNote)
	}
	return nil
}

func channelRotate(ctx context.Context, e env, args []string) error {
	fs, finish := flags("channel rotate-token", e)
	id := fs.Int64("id", 0, "channel id (required)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		made, err := t.Desk.RotateChannelToken(ctx, cli, *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "new ingest token for channel %d: %s\n(the old one stops working%s)\n", made.Channel.ID, made.Token, reach(t))
		return nil
	})
}
