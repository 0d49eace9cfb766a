package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// BatchSize is the most mails one Poll fetches; the rest come on the next.
const BatchSize = 200

// Poller reads new mail from the channel's IMAP folder. It opens the
// folder read-only (EXAMINE) and fetches with BODY.PEEK[], so webcare
// never changes the mailbox: \Seen and the rest stay for the people who
// also use it. The cursor "UIDVALIDITY:lastUID" says how far it got; a
// changed UIDVALIDITY (the folder was re-created or the server renumbered
// it) starts over from the first mail, which is safe because ingest skips
// Message-IDs it already stored.
//
// Poller is also a Watcher: with IMAP IDLE it keeps one connection open
// per channel and wakes the poll as soon as the server announces a mail.
// The poll still runs every 30 seconds over its own connection, so a
// watch that died quietly (a NAT dropped it) costs speed, never mail.
type Poller struct {
	Log      *slog.Logger
	MaxBytes int64 // per mail; 0: DefaultMaxBytes
}

var (
	_ channel.Poller  = (*Poller)(nil)
	_ channel.Watcher = (*Poller)(nil)
)

// WatchFor is how long one IDLE connection is kept before it is opened
// afresh: shorter than the NAT and firewall timeouts that drop a silent
// connection without telling either side, so a dead one is not kept long.
const WatchFor = 10 * time.Minute

// Watch opens the channel's folder and waits in IDLE (RFC 2177), calling
// wake when the server says the number of mails changed, and once at the
// start for what came between the last poll and the watch. It returns
// nil after WatchFor, to be opened again; channel.ErrNoWatch for a
// channel without IMAP or a server without IDLE.
func (p *Poller) Watch(ctx context.Context, ch store.Channel, wake func()) error {
	if strings.TrimSpace(ch.Settings[SettingIMAPHost]) == "" {
		return fmt.Errorf("%w: no IMAP server (mail comes through the SMTP listener)", channel.ErrNoWatch)
	}
	c, srv, err := dialIMAP(ctx, ch, func(d *imapclient.UnilateralDataMailbox) {
		if d.NumMessages != nil {
			wake()
		}
	})
	if err != nil {
		return err
	}
	defer c.Close()
	caps := c.Caps()
	if caps == nil { // the list could not be read: the connection failed
		return fmt.Errorf("email: reading the capabilities of %s failed", srv.addr())
	}
	if !caps.Has(imap.CapIdle) {
		_ = c.Logout().Wait()
		return fmt.Errorf("%w: %s does not offer IDLE", channel.ErrNoWatch, srv.addr())
	}
	mailbox := mailboxName(ch)
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return fmt.Errorf("email: opening folder %q on %s: %w", mailbox, srv.addr(), err)
	}
	idle, err := c.Idle()
	if err != nil {
		return fmt.Errorf("email: IDLE on %s: %w", srv.addr(), err)
	}
	wake()
	t := time.NewTimer(WatchFor)
	defer t.Stop()
	select {
	case <-ctx.Done(): // the connection is closed with ctx
		return nil
	case <-t.C:
		_ = idle.Close()
		_ = c.Logout().Wait()
		return nil
	case <-c.Closed():
		if ctx.Err() != nil {
			return nil // closed because ctx ended
		}
		return fmt.Errorf("email: %s closed the IDLE connection", srv.addr())
	}
}

// Poll returns the mails that arrived since cursor. A channel without
// imap_host (mail comes through the SMTP listener) polls nothing. A mail
// that cannot be read is logged and passed over, so one broken mail never
// blocks the folder; auto-replies are passed over too, and bounces of
// webcare's replies come back as failed statuses.
func (p *Poller) Poll(ctx context.Context, ch store.Channel, cursor string) (channel.Batch, string, error) {
	var b channel.Batch
	if strings.TrimSpace(ch.Settings[SettingIMAPHost]) == "" {
		return b, cursor, nil
	}
	c, srv, err := dialIMAP(ctx, ch, nil)
	if err != nil {
		return b, cursor, err
	}
	defer c.Close()
	mailbox := mailboxName(ch)
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return b, cursor, fmt.Errorf("email: opening folder %q on %s: %w", mailbox, srv.addr(), err)
	}
	validity, last := parseCursor(cursor)
	if validity != sel.UIDValidity {
		if validity != 0 {
			p.log().Info("email: UIDVALIDITY changed, reading the folder again", "channel", ch.ID, "old", validity, "new", sel.UIDValidity)
		}
		validity, last = sel.UIDValidity, 0
	}
	next := fmt.Sprintf("%d:%d", validity, last)
	if sel.NumMessages == 0 || (sel.UIDNext != 0 && uint32(sel.UIDNext) <= last+1) {
		_ = c.Logout().Wait()
		return b, next, nil
	}
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // last+1:*
	res, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return b, cursor, fmt.Errorf("email: searching %q: %w", mailbox, err)
	}
	var uids []imap.UID
	for _, u := range res.AllUIDs() {
		if uint32(u) > last { // "n:*" also names the last mail when it is older
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	if len(uids) > BatchSize {
		uids = uids[:BatchSize]
	}
	if len(uids) == 0 {
		_ = c.Logout().Wait()
		return b, next, nil
	}
	max := p.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	// Sizes first, so a mail too large to store is never downloaded.
	sizes, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true, Envelope: true}).Collect()
	if err != nil {
		return b, cursor, fmt.Errorf("email: fetching sizes: %w", err)
	}
	var small []imap.UID
	big := map[imap.UID]*imapclient.FetchMessageBuffer{}
	for _, m := range sizes {
		if m.RFC822Size > max {
			big[m.UID] = m
		} else {
			small = append(small, m.UID)
		}
	}
	bodies := map[imap.UID][]byte{}
	if len(small) > 0 {
		section := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.UIDSetNum(small...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return b, cursor, fmt.Errorf("email: fetching mail: %w", err)
		}
		for _, m := range msgs {
			bodies[m.UID] = m.FindBodySection(section)
		}
	}
	for _, uid := range uids {
		if m, ok := big[uid]; ok {
			if msg, ok := tooLarge(m, max); ok {
				msg.ChannelID = ch.ID
				b.Messages = append(b.Messages, msg)
			}
		} else if raw, ok := bodies[uid]; ok {
			msg, err := ParseBytes(raw)
			var sk *Skipped
			switch {
			case errors.As(err, &sk):
				p.log().Info("email: automatic mail not stored", "channel", ch.ID, "uid", uid, "reason", sk.Reason)
				if sk.Status != nil {
					b.Statuses = append(b.Statuses, *sk.Status)
				}
			case err != nil:
				p.log().Warn("email: mail not understood, skipped", "channel", ch.ID, "uid", uid, "err", err)
			default:
				msg.ChannelID = ch.ID
				b.Messages = append(b.Messages, msg)
			}
		} else {
			// The server listed it but sent no body: expunged meanwhile.
			// Stop here and look again next time rather than skip it.
			p.log().Warn("email: no body for mail, retrying next poll", "channel", ch.ID, "uid", uid)
			break
		}
		last = uint32(uid)
	}
	_ = c.Logout().Wait()
	return b, fmt.Sprintf("%d:%d", validity, last), nil
}

func (p *Poller) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// tooLarge stands in for a mail over the size limit: who sent it and a
// note to read it in the mailbox, so the customer is not ignored.
func tooLarge(m *imapclient.FetchMessageBuffer, max int64) (channel.Message, bool) {
	env := m.Envelope
	if env == nil || len(env.From) == 0 || env.From[0].Addr() == "" {
		return channel.Message{}, false
	}
	from := env.From[0]
	msg := channel.Message{
		PlatformID: fitID(strings.Trim(env.MessageID, "<>")),
		From:       channel.Author{ExternalID: strings.ToLower(from.Addr()), Handle: strings.ToLower(from.Addr()), Name: from.Name},
		Subject:    cleanLine(env.Subject),
		SentAt:     env.Date.UTC(),
		Private:    true,
		Text:       fmt.Sprintf("[This mail of %d MB is larger than webcare's limit of %d MB; read it in the mailbox.]", m.RFC822Size>>20, max>>20),
	}
	if len(env.InReplyTo) > 0 {
		msg.ReplyTo = fitID(strings.Trim(env.InReplyTo[0], "<>"))
	}
	if msg.PlatformID == "" {
		msg.PlatformID = fmt.Sprintf("imap-uid-%d-%d@webcare.invalid", m.UID, m.RFC822Size)
	}
	return msg, true
}

func parseCursor(c string) (validity, last uint32) {
	v, l, ok := strings.Cut(c, ":")
	if !ok {
		return 0, 0
	}
	a, err1 := strconv.ParseUint(v, 10, 32)
	b, err2 := strconv.ParseUint(l, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	return uint32(a), uint32(b)
}

func mailboxName(ch store.Channel) string {
	if m := strings.TrimSpace(ch.Settings[SettingIMAPMailbox]); m != "" {
		return m
	}
	return "INBOX"
}

// imapConn is a logged-in client whose connection also closes when the
// context it was opened with ends.
type imapConn struct {
	*imapclient.Client
	stop func() bool
}

// Close closes the connection and forgets the context.
func (c imapConn) Close() error {
	c.stop()
	return c.Client.Close()
}

// dialIMAP connects and logs in with the channel's imap_* settings. The
// connection is closed when ctx ends. onMailbox, if not nil, hears the
// server's unasked news about the selected folder.
func dialIMAP(ctx context.Context, ch store.Channel, onMailbox func(*imapclient.UnilateralDataMailbox)) (imapConn, server, error) {
	srv, err := settingsServer(ch, "imap")
	if err != nil {
		return imapConn{}, srv, fmt.Errorf("email: %w", err)
	}
	conn, err := srv.dial(ctx)
	if err != nil {
		return imapConn{}, srv, fmt.Errorf("email: connecting to %s: %w", srv.addr(), err)
	}
	var c *imapclient.Client
	opts := &imapclient.Options{TLSConfig: srv.tlsConfig()}
	if onMailbox != nil {
		opts.UnilateralDataHandler = &imapclient.UnilateralDataHandler{Mailbox: onMailbox}
	}
	if srv.mode == TLSStart {
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
			return imapConn{}, srv, fmt.Errorf("email: STARTTLS with %s: %w", srv.addr(), err)
		}
	} else {
		c = imapclient.New(conn, opts)
	}
	ic := imapConn{Client: c, stop: context.AfterFunc(ctx, func() { c.Close() })}
	if err := c.WaitGreeting(); err != nil {
		ic.Close()
		return imapConn{}, srv, fmt.Errorf("email: %s did not greet: %w", srv.addr(), err)
	}
	if err := c.Login(srv.user, srv.password).Wait(); err != nil {
		ic.Close()
		return imapConn{}, srv, fmt.Errorf("email: logging in to %s as %q: %w", srv.addr(), srv.user, err)
	}
	return ic, srv, nil
}
