package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

// search finds messages, contacts and handles from the command line, as the
// UI's search box does, reading the database directly (a running server
// may keep running: readers do not block it).
func search(ctx context.Context, e env, args []string) error {
	fs, finish := flags("search", e)
	limit := fs.Int("limit", 20, "at most this many conversations and contacts")
	// The words come after the flags, so no parse(): it refuses arguments.
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := finish()
	if err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	if strings.TrimSpace(text) == "" {
		return errors.New("say what to search for: webcare search [--db FILE] [--limit N] WORDS")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.Search(ctx, store.SearchQuery{Text: text, Limit: *limit})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CONVERSATION\tSTATUS\tLAST MESSAGE\tMATCH\n")
	for _, h := range res.Conversations {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", h.Conversation.ID, h.Conversation.Status, h.Conversation.LastMessageAt.Local().Format("2006-01-02 15:04"), oneLine(h.Snippet))
	}
	fmt.Fprintf(tw, "\nCONTACT\tNAME\tHANDLES\t\n")
	for _, c := range res.Contacts {
		var handles []string
		for _, id := range c.Identities {
			handles = append(handles, id.Platform+":"+firstNonEmpty(id.Handle, id.ExternalID))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t\n", c.ID, oneLine(c.Name), strings.Join(handles, " "))
	}
	return tw.Flush()
}

// queues prints what the supervisor view shows: open and waiting work per
// queue and every agent's load.
func queues(ctx context.Context, e env, args []string) error {
	fs, finish := flags("queues", e)
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	q, err := st.QueueStats(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "QUEUE\tOPEN\tWAITING\tOLDEST WAITING\n")
	row := func(name string, f store.QueueFigure) {
		oldest := "-"
		if f.OldestWaiting != nil {
			oldest = time.Since(*f.OldestWaiting).Round(time.Minute).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", oneLine(name), f.Open, f.Waiting, oldest)
	}
	row("all", q.Total)
	row("unassigned", q.Unassigned)
	for _, t := range q.Teams {
		row("team "+t.Name, t.QueueFigure)
	}
	fmt.Fprintf(tw, "\nAGENT\tPRESENCE\tLOAD\t\n")
	for _, a := range q.Agents {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t\n", oneLine(a.Name), a.Presence, a.Open, a.Capacity)
	}
	return tw.Flush()
}

// oneLine keeps a customer's text from breaking the table (or the
// terminal): line breaks become spaces, control characters go.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// resolveIdle closes conversations nobody has touched for a while, as a
// helpdesk's auto-close does: by default those pending on the customer for
// a week. Run it from cron; every change is in the audit trail.
func resolveIdle(ctx context.Context, e env, args []string) error {
	fs, finish := flags("resolve-idle", e)
	idle := fs.Duration("idle", 7*24*time.Hour, "resolve conversations whose last message is older than this")
	statuses := fs.String("status", "pending", "statuses to close, comma-separated (new, open, pending, snoozed)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	var sts []store.Status
	for _, v := range strings.Split(*statuses, ",") {
		sts = append(sts, store.Status(strings.TrimSpace(v)))
	}
	if err := desk.CheckIdle(sts, *idle); err != nil {
		return err // before anything is opened
	}
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		n, err := t.Desk.ResolveIdle(ctx, cli, sts, *idle)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "resolved %d conversations idle for more than %s (%s)\n", n, *idle, strings.Join(strings.Split(*statuses, ","), ", "))
		return nil
	})
}
