package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Receipt counts what became of one platform delivery or poll.
type Receipt struct {
	Stored     int // new messages committed
	Duplicates int // messages webcare already had
	Refused    int // messages that broke a rule (logged, not retried)
	Unrouted   int // messages for an account no channel here serves
	Statuses   int // reply states that moved forward
}

// Bounds on downloading the files payloads point at: one file, all the
// files of one delivery, and their bytes together.
const (
	fetchTimeout  = 20 * time.Second
	fetchDeadline = 40 * time.Second
	maxFetchBytes = 64 << 20
)

// Receive stores what a platform delivered on channel ch: it fetches the
// files payloads only pointed at, routes each message to the channel of
// the account it was addressed to, ingests them together (one group
// commit), and applies delivery reports to the replies they are about.
//
// It returns an error only when retrying the whole delivery could help
// (the store is down): a message that breaks a rule is logged and counted,
// since the platform would send it again and again.
func (p *Pipeline) Receive(ctx context.Context, ch store.Channel, ad channel.Adapter, b channel.Batch) (Receipt, error) {
	var r Receipt
	log := p.log.With("channel_id", ch.ID, "channel", ch.Kind)
	if len(b.Skipped) > 0 {
		// Signed by the platform but unreadable: kept out, the rest kept.
		log.Warn("ingest: events skipped in a delivery", "count", len(b.Skipped), "reasons", b.Skipped[:min(len(b.Skipped), 10)])
	}
	var siblings []store.Channel // loaded once, when an account needs it
	route := func(account string) (store.Channel, bool, error) {
		if account == "" || account == ch.Settings["account_id"] {
			return ch, true, nil
		}
		if siblings == nil {
			all, err := p.store.Channels(ctx)
			if err != nil {
				return ch, false, err
			}
			siblings = append(all[:0:0], all...)
		}
		for _, c := range siblings {
			// Same kind and signed with the same app secret: the platform
			// sends one app's accounts to one callback URL.
			if c.Kind == ch.Kind && !c.Disabled && c.Settings["account_id"] == account && c.Settings["app_secret"] == ch.Settings["app_secret"] {
				return c, true, nil
			}
		}
		// A channel whose account id was never filled in takes what its
		// own URL receives: dropping it would lose customers' words over
		// a missing setting.
		if ch.Settings["account_id"] == "" {
			return ch, true, nil
		}
		return ch, false, nil
	}

	// Downloads share one deadline and one byte budget per delivery, so
	// that a batch of large or slow files cannot hold the platform's
	// request (or memory) for long.
	fctx, cancel := context.WithTimeout(ctx, fetchDeadline)
	defer cancel()
	budget := int64(maxFetchBytes)
	msgs := make([]channel.Message, 0, len(b.Messages))
	for _, m := range b.Messages {
		target, ok, err := route(m.Account)
		if err != nil {
			return r, err
		}
		if !ok {
			r.Unrouted++
			log.Warn("message for an account no channel serves; add a channel with that account id", "account", m.Account, "platform_id", m.PlatformID)
			continue
		}
		m.ChannelID = target.ID
		Fit(&m)
		p.fetchFiles(fctx, target, ad, &m, &budget, log)
		msgs = append(msgs, m)
	}
	if err := ctx.Err(); err != nil {
		// The platform hung up while files were fetched: what failed for
		// that reason must not be stored without its file. Its retry
		// brings everything again.
		return r, err
	}

	// Ingest them at once, so that they share a commit.
	results := make([]error, len(msgs))
	dups := make([]bool, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Ingest(ctx, m)
			results[i], dups[i] = err, res.Duplicate
		}()
	}
	wg.Wait()
	var retry error
	for i, err := range results {
		switch {
		case err == nil && dups[i]:
			r.Duplicates++
		case err == nil:
			r.Stored++
		case errors.Is(err, ErrInvalid):
			r.Refused++
			log.Warn("message refused", "platform_id", msgs[i].PlatformID, "err", err)
		default:
			retry = errors.Join(retry, err)
		}
	}
	if retry != nil {
		return r, retry
	}

	for _, st := range b.Statuses {
		target, ok, err := route(st.Account)
		if err != nil {
			return r, err
		}
		if !ok || st.PlatformID == "" {
			continue
		}
		m, changed, err := p.store.UpdateDelivery(ctx, target.ID, st.PlatformID, st.State, st.Error, p.now())
		if errors.Is(err, store.ErrNotFound) {
			// The report beat our record of the send (the store keeps it
			// for an hour and applies it then), or the message was sent
			// from elsewhere (the platform's own app): nothing to show yet.
			log.Debug("delivery report for an unknown reply", "platform_id", st.PlatformID, "state", st.State)
			continue
		}
		if err != nil {
			return r, err
		}
		if !changed {
			continue
		}
		r.Statuses++
		typ, detail := bus.ReplyDelivered, string(st.State)
		if st.State == store.Failed {
			typ, detail = bus.ReplyFailed, st.Error
		}
		_ = p.bus.Publish(ctx, bus.Event{Type: typ, ConversationID: m.ConversationID, MessageID: m.ID, ChannelID: m.ChannelID, Detail: detail})
	}
	return r, nil
}

// Fit trims what a platform sent to the limits ingest enforces, at UTF-8
// boundaries, and takes out what ingest would refuse (NUL, invalid UTF-8),
// so that a long name or an enormous mail loses its tail rather than the
// whole message. (The API channel's callers get a refusal
// instead: they can fix what they send.)
func Fit(m *channel.Message) {
	for _, s := range []*string{&m.From.Name, &m.From.Handle, &m.Subject, &m.Text} {
		*s = strings.ReplaceAll(strings.ToValidUTF8(*s, "\uFFFD"), "\x00", "")
	}
	m.From.Name = channel.Clip(m.From.Name, MaxNameBytes)
	m.From.Handle = channel.Clip(m.From.Handle, MaxNameBytes)
	m.Subject = channel.Clip(m.Subject, MaxSubjectLen)
	if len(m.Text) > MaxBodyBytes {
		m.Text = channel.Clip(m.Text, MaxBodyBytes-len(clipped)) + clipped
	}
}

const clipped = "\n[…]"

// fetchFiles downloads the files a payload only pointed at. A file that
// cannot be fetched does not cost the customer's words: the message is
// stored with a line saying what is missing.
func (p *Pipeline) fetchFiles(ctx context.Context, ch store.Channel, ad channel.Adapter, m *channel.Message, budget *int64, log *slog.Logger) {
	files := m.Files[:0:0]
	for _, f := range m.Files {
		if len(f.Data) > 0 || f.Ref == "" {
			files = append(files, f)
			continue
		}
		var err error
		switch {
		case ad.Fetcher == nil:
			err = errors.New("this channel cannot download files")
		case *budget <= 0:
			err = fmt.Errorf("the delivery's files passed %d bytes together", maxFetchBytes)
		default:
			fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
			var name string
			var data []byte
			name, data, err = ad.Fetcher.Fetch(fctx, ch, f.Ref)
			cancel()
			if err == nil && len(data) == 0 {
				err = io.ErrUnexpectedEOF
			}
			if err == nil && len(data) > channel.MaxFileBytes {
				err = fmt.Errorf("%d bytes; the limit is %d", len(data), channel.MaxFileBytes)
			}
			if err == nil {
				if f.Name != "" {
					name = f.Name
				}
				*budget -= int64(len(data))
				files = append(files, channel.File{Name: name, Data: data})
				continue
			}
		}
		log.Warn("file not fetched", "platform_id", m.PlatformID, "ref", f.Ref, "err", err)
		if m.Text != "" {
			m.Text += "\n"
		}
		m.Text += "[a file the customer sent could not be downloaded]"
	}
	if len(files) > MaxFiles {
		files = files[:MaxFiles]
		m.Text += fmt.Sprintf("\n[only the first %d files were kept]", MaxFiles)
	}
	m.Files = files
}
