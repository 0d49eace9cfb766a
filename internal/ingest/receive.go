package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// fetchTimeout bounds downloading one file a payload pointed at.
const fetchTimeout = 20 * time.Second

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
		return ch, false, nil
	}

	msgs := make([]Message, 0, len(b.Messages))
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
		p.fetchFiles(ctx, target, ad, &m, log)
		msgs = append(msgs, m)
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
			// Sent from elsewhere (the platform's own app), or the report
			// beat our record of the send: nothing to show.
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

// fetchFiles downloads the files a payload only pointed at. A file that
// cannot be fetched does not cost the customer's words: the message is
// stored with a line saying what is missing.
func (p *Pipeline) fetchFiles(ctx context.Context, ch store.Channel, ad channel.Adapter, m *Message, log *slog.Logger) {
	files := m.Files[:0:0]
	for _, f := range m.Files {
		if len(f.Data) > 0 || f.Ref == "" {
			files = append(files, f)
			continue
		}
		var err error
		if ad.Fetcher == nil {
			err = errors.New("this channel cannot download files")
		} else {
			fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
			var name string
			var data []byte
			name, data, err = ad.Fetcher.Fetch(fctx, ch, f.Ref)
			cancel()
			if err == nil && len(data) == 0 {
				err = io.ErrUnexpectedEOF
			}
			if err == nil && len(data) > MaxFileBytes {
				err = fmt.Errorf("%d bytes; the limit is %d", len(data), MaxFileBytes)
			}
			if err == nil {
				if f.Name != "" {
					name = f.Name
				}
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
