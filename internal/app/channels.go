package app

import (
	"log/slog"
	"net/http"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/channel/bluesky"
	"github.com/webcare/webcare/internal/channel/email"
	"github.com/webcare/webcare/internal/channel/mastodon"
	"github.com/webcare/webcare/internal/channel/meta"
	"github.com/webcare/webcare/internal/channel/telegram"
	"github.com/webcare/webcare/internal/channel/whatsapp"
	"github.com/webcare/webcare/internal/channel/x"
	"github.com/webcare/webcare/internal/chat"
)

// Adapters are the platforms this build speaks, in the order the UI lists
// them. client makes every platform call; nil gives each adapter its own
// default (a timeout, and no redirects followed on a POST).
func Adapters(client *http.Client, log *slog.Logger) *channel.Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return channel.NewRegistry(
		x.New(client),
		meta.Facebook(client),
		meta.Instagram(client),
		whatsapp.New(client),
		telegram.New(client),
		mastodon.New(client),
		bluesky.New(client),
		email.New(log.With("channel", "email")),
		// The web chat's sender needs the store and bus: app.Open puts
		// the whole adapter in; here, what admins and the CLI need.
		chat.Base(),
		apichannel.New(client),
	)
}
