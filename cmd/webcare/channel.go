package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

func channelCmd(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "channel", args, map[string]func(context.Context, env, []string) error{
		"add": channelAdd, "list": channelList, "rotate-token": channelRotate,
	})
}

func channelAdd(ctx context.Context, e env, args []string) error {
	fs, finish := flags("channel add", e)
	kind := fs.String("kind", "api", "platform: "+strings.Join(channel.Kinds, ", "))
	name := fs.String("name", "", "a name agents recognise, e.g. \"Booking system\" (required)")
	locale := fs.String("locale", "", "language most customers write in (nl, en…)")
	callback := fs.String("callback-url", "", "api channels: where replies are posted")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if !slices.Contains(channel.Kinds, *kind) {
		return fmt.Errorf("--kind %q: use one of %s", *kind, strings.Join(channel.Kinds, ", "))
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
	if err := st.CreateChannel(ctx, &c, cli); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %s channel %q (id %d)\n", c.Kind, c.Name, c.ID)
	fmt.Fprintf(e.stdout, "ingest URL:      %s/api/v1/channels/%d/messages\n", cfg.BaseURL, c.ID)
	fmt.Fprintf(e.stdout, "ingest token:    %s\n", token)
	fmt.Fprintf(e.stdout, "callback secret: %s\n(both shown once)\n", secret)
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
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.Channel(ctx, *id)
	if err != nil {
		return err
	}
	token, hash := auth.NewToken("wch_")
	c.TokenHash = hash
	if err := st.UpdateChannel(ctx, &c, cli); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "new ingest token for channel %d: %s\n(running servers stop taking the old one within 10 seconds; from the admin screen or the API, at once)\n", c.ID, token)
	return nil
}
