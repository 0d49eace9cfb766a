package app

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/channel/bluesky"
	"github.com/webcare/webcare/internal/channel/email"
	"github.com/webcare/webcare/internal/channel/mastodon"
	"github.com/webcare/webcare/internal/channel/meta"
	"github.com/webcare/webcare/internal/channel/telegram"
	"github.com/webcare/webcare/internal/channel/webchat"
	"github.com/webcare/webcare/internal/channel/whatsapp"
	"github.com/webcare/webcare/internal/channel/x"
	"github.com/webcare/webcare/internal/store"
)

// Adapters are the platforms this build speaks, by channel kind. client
// makes every platform call; nil gives each adapter its own default (a
// timeout, and no redirects followed on a POST).
func Adapters(client *http.Client, log *slog.Logger) map[string]channel.Adapter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tg := telegram.New(client)
	tg.Connect = func(ctx context.Context, ch store.Channel, hookURL string) (map[string]string, error) {
		me, err := telegram.GetMe(ctx, client, ch)
		if err != nil {
			return nil, err
		}
		if err := telegram.SetWebhook(ctx, client, ch, hookURL); err != nil {
			return nil, err
		}
		return map[string]string{"account_id": strconv.FormatInt(me.ID, 10), telegram.SettingBotUsername: me.Username}, nil
	}
	xa := x.New(client)
	xa.Length = x.Weight
	list := []channel.Adapter{
		xa,
		meta.Facebook(client),
		meta.Instagram(client),
		whatsapp.New(client),
		email.New(log.With("channel", "email")),
		mastodon.New(client),
		bluesky.New(client),
		// The web chat's sender needs the store and bus: app.Open puts
		// the whole adapter in; here, what admins and the CLI need.
		{Kind: "webchat", Fields: webchat.Fields},
		tg,
		{Kind: "api", Sender: &apichannel.Sender{Client: apiClient(client)}, Fields: []channel.Field{
			{Key: "callback_url", Label: "Callback URL", Help: "Where webcare posts the agents' replies (signed with the callback secret)."},
		}},
	}
	out := make(map[string]channel.Adapter, len(list))
	for _, a := range list {
		out[a.Kind] = a
	}
	return out
}

func apiClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 20 * time.Second}
}
