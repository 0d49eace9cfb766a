package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/config"
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

// applySettings checks settings against the kind's fields, so that a typo
// is an error rather than a setting nobody reads.
func applySettings(c *store.Channel, set settingsFlag) error {
	ad := app.Adapters(nil, nil).Get(c.Kind)
	for k, v := range set {
		if _, ok := ad.Field(k); !ok {
			var keys []string
			for _, f := range ad.Fields {
				keys = append(keys, f.Key)
			}
			return fmt.Errorf("%s channels have no setting %q; they have: %s", c.Kind, k, strings.Join(keys, ", "))
		}
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		if v = strings.TrimSpace(v); v == "" {
			delete(c.Settings, k)
		} else {
			c.Settings[k] = v
		}
	}
	return nil
}

// channelHelp prints what a kind needs and where the platform sends to.
func channelHelp(e env, baseURL string, c store.Channel) {
	ad := app.Adapters(nil, nil).Get(c.Kind)
	if ad.Webhook != nil {
		fmt.Fprintf(e.stdout, "webhook URL:     %s/hooks/%d   (paste into the platform's console)\n", baseURL, c.ID)
	}
	for _, f := range ad.Fields {
		state := "not set"
		if v := c.Settings[f.Key]; v != "" {
			state = "set"
			if !f.Secret && !strings.HasSuffix(f.Key, "password") && (!strings.HasSuffix(f.Key, "_token") || f.Key == "verify_token") && !strings.HasSuffix(f.Key, "_secret") {
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

// onChannel opens the store and the channel named by --id for a command
// that changes one channel, and closes the store after fn.
func onChannel(ctx context.Context, cfg config.Config, id int64, fn func(st app.Store, c store.Channel) error) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.Channel(ctx, id)
	if err != nil {
		return err
	}
	return fn(st, c)
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
	return onChannel(ctx, cfg, *id, func(st app.Store, c store.Channel) error {
		if err := applySettings(&c, set); err != nil {
			return err
		}
		if err := st.UpdateChannel(ctx, &c, cli); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "saved settings of channel %d (running servers use them within 10 seconds)\n", c.ID)
		channelHelp(e, cfg.BaseURL, c)
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
	return onChannel(ctx, cfg, *id, func(st app.Store, c store.Channel) error {
		ad := app.Adapters(nil, nil).Get(c.Kind)
		if ad.Connect != nil {
			hook := fmt.Sprintf("%s/hooks/%d", cfg.BaseURL, c.ID)
			learned, err := ad.Connect(ctx, c, hook)
			if err != nil {
				return fmt.Errorf("registering the webhook %s: %w", hook, err)
			}
			fmt.Fprintf(e.stdout, "webhook registered: %s\n", hook)
			if len(learned) > 0 {
				if c.Settings == nil {
					c.Settings = map[string]string{}
				}
				maps.Copy(c.Settings, learned)
				if err := st.UpdateChannel(ctx, &c, cli); err != nil {
					return err
				}
			}
		}
		if ad.Checker == nil {
			if ad.Connect == nil {
				return fmt.Errorf("%s channels have no connection check", c.Kind)
			}
			return nil
		}
		who, err := ad.Checker.Check(ctx, c)
		if err != nil {
			return fmt.Errorf("not connected: %w", err)
		}
		fmt.Fprintf(e.stdout, "connected: %s\n", who)
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
	if *callback != "" {
		if u, err := url.Parse(*callback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--callback-url %q must be an http(s) URL", *callback)
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	token, hash := auth.NewToken("wch_")
	secret, _ := auth.NewToken("whs_")
	c := store.Channel{Kind: *kind, Name: strings.TrimSpace(*name), Locale: strings.ToLower(*locale), TokenHash: hash,
		Settings: map[string]string{"callback_secret": secret}}
	if *callback != "" {
		c.Settings["callback_url"] = *callback
	}
	if err := readStdinValues(e, set); err != nil {
		return err
	}
	if err := applySettings(&c, set); err != nil {
		return err
	}
	var generated []string
	for _, f := range app.Adapters(nil, nil).Get(c.Kind).Fields {
		if f.Generated && c.Settings[f.Key] == "" {
			v, _ := auth.NewToken("")
			c.Settings[f.Key] = v
			generated = append(generated, fmt.Sprintf("%-16s %s", f.Key+":", v))
		}
		if f.Default != "" && c.Settings[f.Key] == "" {
			c.Settings[f.Key] = f.Default
		}
	}
	if err := st.CreateChannel(ctx, &c, cli); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %s channel %q (id %d)\n", c.Kind, c.Name, c.ID)
	fmt.Fprintf(e.stdout, "ingest URL:      %s/api/v1/channels/%d/messages\n", cfg.BaseURL, c.ID)
	fmt.Fprintf(e.stdout, "ingest token:    %s\n", token)
	fmt.Fprintf(e.stdout, "callback secret: %s\n", secret)
	for _, g := range generated {
		fmt.Fprintln(e.stdout, g)
	}
	fmt.Fprintln(e.stdout, "(tokens and secrets shown once)")
	channelHelp(e, cfg.BaseURL, c)
	return nil
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
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tLOCALE\tSTATE\tINGEST URL")
	for _, c := range chs {
		state := "enabled"
		if c.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s/api/v1/channels/%d/messages\n", c.ID, c.Kind, c.Name, c.Locale, state, cfg.BaseURL, c.ID)
	}
	return tw.Flush()
}

func channelRotate(ctx context.Context, e env, args []string) error {
	fs, finish := flags("channel rotate-token", e)
	id := fs.Int64("id", 0, "channel id (required)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	return onChannel(ctx, cfg, *id, func(st app.Store, c store.Channel) error {
		token, hash := auth.NewToken("wch_")
		c.TokenHash = hash
		if err := st.UpdateChannel(ctx, &c, cli); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "new ingest token for channel %d: %s\n(running servers stop taking the old one within 10 seconds; from the admin screen or the API, at once)\n", c.ID, token)
		return nil
	})
}
