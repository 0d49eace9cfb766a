package app

import (
	"net/http"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/apichannel"
)

// Adapters are the platforms this build speaks, by channel kind. client
// makes every platform call (nil: a client with a 20 s timeout).
func Adapters(client *http.Client) map[string]channel.Adapter {
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	list := []channel.Adapter{
		{Kind: "api", Sender: &apichannel.Sender{Client: client}, Fields: []channel.Field{
			{Key: "callback_url", Label: "Callback URL", Help: "Where webcare posts the agents' replies (signed with the callback secret)."},
		}},
	}
	out := make(map[string]channel.Adapter, len(list))
	for _, a := range list {
		out[a.Kind] = a
	}
	return out
}
