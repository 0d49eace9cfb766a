package demo

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/bluesky/blueskyfake"
	"github.com/webcare/webcare/internal/channel/email/emailfake"
	"github.com/webcare/webcare/internal/channel/mastodon/mastodonfake"
	"github.com/webcare/webcare/internal/channel/meta/metafake"
	"github.com/webcare/webcare/internal/channel/telegram/telegramfake"
	"github.com/webcare/webcare/internal/channel/whatsapp/whatsappfake"
	"github.com/webcare/webcare/internal/channel/x/xfake"
	"github.com/webcare/webcare/internal/chat"
	"github.com/webcare/webcare/internal/store"
)

// Platforms are the fake platform servers the demo runs on loopback, by
// channel kind: each speaks its platform's documented API to webcare's
// adapters, and delivers the simulated customers' messages the way the
// real platform would. Nothing leaves the machine.
type Platforms map[string]channel.Fake

// StartPlatforms starts a fake for every platform that has one.
func StartPlatforms() (Platforms, error) {
	p := Platforms{
		"x":         xfake.New(),
		"facebook":  metafake.New("facebook"),
		"instagram": metafake.New("instagram"),
		"whatsapp":  whatsappfake.New(),
		"telegram":  telegramfake.New(),
		"mastodon":  mastodonfake.New(),
		"bluesky":   blueskyfake.New(),
		"webchat":   chat.NewFake(nil), // visitors on Heron's site, over webcare's own chat API
	}
	mail, err := emailfake.New()
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("demo: the fake mail server: %w", err)
	}
	mail.Address = "care@heron.example" // Heron's mailbox, as seeded
	p["email"] = mail
	return p, nil
}

// Close stops every fake.
func (p Platforms) Close() {
	for _, f := range p {
		f.Close()
	}
}

// Connect points the seeded channels at the fakes: their settings get the
// fake's API address, secrets and account ids, as an admin would paste
// them from the real platform's console.
//
// Platforms that only let an account write to people who wrote first
// (Telegram bots) are told about the seeded customers, who did so before
// the demo's history began.
func (p Platforms) Connect(ctx context.Context, st store.Store, chs []SeededChannel, regulars []Regular) error {
	if tg, ok := p["telegram"].(interface{ AddChat(int64) }); ok {
		for _, r := range regulars {
			if id, err := strconv.ParseInt(r.ExternalID, 10, 64); err == nil && r.Kind == "telegram" {
				tg.AddChat(id)
			}
		}
	}
	for i, sc := range chs {
		f := p[sc.Channel.Kind]
		if f == nil {
			continue
		}
		c := sc.Channel
		settings := maps.Clone(c.Settings)
		if settings == nil {
			settings = map[string]string{}
		}
		maps.Copy(settings, f.Settings())
		c.Settings = settings
		if err := st.UpdateChannel(ctx, &c, seedActor); err != nil {
			return fmt.Errorf("demo: connecting %s to its fake platform: %w", c.Name, err)
		}
		chs[i].Channel = c
	}
	return nil
}

// Receipts makes the fake WhatsApp report what happens to each reply on
// channel ch the way the real one does: delivered to the phone after a
// moment, read a little later. It runs until ctx ends.
func (p Platforms) Receipts(ctx context.Context, baseURL string, ch store.Channel) {
	wa, ok := p["whatsapp"].(*whatsappfake.Fake)
	if !ok {
		return
	}
	seen := map[string]bool{}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, s := range wa.Sent() {
			if seen[s.ID] {
				continue
			}
			seen[s.ID] = true
			go func(id string) {
				for _, st := range []store.Delivery{store.Delivered, store.Read} {
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Duration(1+rand.IntN(4)) * time.Second):
					}
					_ = wa.PostStatus(ctx, baseURL, ch, id, st)
				}
			}(s.ID)
		}
	}
}
