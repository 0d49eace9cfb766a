package meta

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// DefaultAPIBase is the Graph API root used when a channel sets no api_base.
// Page access tokens work here for both Facebook Pages and Instagram
// accounts linked to a Page ("Instagram API with Facebook Login").
const DefaultAPIBase = "https://graph.facebook.com/v25.0"

// Kinds of channel this package serves.
const (
	KindFacebook  = "facebook"
	KindInstagram = "instagram"
)

// Window is Meta's standard messaging window: free replies for 24 hours
// after the customer's last message.
const Window = 24 * time.Hour

// HumanAgentWindow is how long after the customer's last message a human
// agent may still answer with the HUMAN_AGENT tag.
const HumanAgentWindow = 7 * 24 * time.Hour

// Rate is the sends per second webcare allows itself per Page or Instagram
// account. Meta documents 300 Send API calls per second per Page or
// account for text and 10 for audio and video; comment replies count
// against the Pages/Instagram business use case limits, and too many
// messages to one thread are throttled. Ten a second is far above what
// human agents type and well inside every one of those limits.
const Rate = 10

// MaxMedia bounds a file fetched from a payload's attachment URL.
const MaxMedia = channel.MaxFileBytes

// windowNote is what the composer shows once the 24-hour window is closed.
const windowNote = "Messenger and Instagram allow a reply by a human agent for 7 days after the customer's last message (sent with the HUMAN_AGENT tag); after that nothing can be sent until the customer writes again."

// Facebook is the adapter for a Facebook Page: Messenger conversations
// (private) and comments and visitor posts on the Page's feed (public).
// A nil client gets one with a 20 s timeout that never follows a redirect
// of a POST.
func Facebook(client *http.Client) channel.Adapter { return adapter(KindFacebook, client) }

// Instagram is the adapter for an Instagram professional account: direct
// messages (private) and comments on the account's media (public). A nil
// client is replaced as for Facebook.
func Instagram(client *http.Client) channel.Adapter { return adapter(KindInstagram, client) }

func adapter(kind string, client *http.Client) channel.Adapter {
	client = channel.HTTPClient(client)
	a := channel.Adapter{
		Kind:       kind,
		Fields:     Fields(kind),
		Webhook:    &Webhook{Kind: kind},
		Sender:     &Sender{Kind: kind, Client: client},
		Checker:    &Checker{Kind: kind, Client: client},
		Fetcher:    &Fetcher{Client: client},
		Rate:       Rate,
		Window:     Window,
		WindowNote: windowNote,
	}
	switch kind {
	case KindFacebook:
		// Messenger Send API text; one attachment, 25 MB.
		a.TextLimit = 2000
		a.Files = channel.FileRule{MaxFiles: 1, MaxBytes: 25 << 20, Types: channel.ImagesAndPDFs}
	case KindInstagram:
		// Instagram messaging API: text up to 1000 bytes of UTF-8; one
		// image per message.
		a.TextLimit = 1000
		a.Files = channel.FileRule{MaxFiles: 1, MaxBytes: 8 << 20, Types: channel.Images}
	}
	return a
}

// Compile-time checks: every part does what the adapter promises.
var (
	_ channel.Webhook    = (*Webhook)(nil)
	_ channel.Challenger = (*Webhook)(nil)
	_ outbox.Sender      = (*Sender)(nil)
	_ channel.Checker    = (*Checker)(nil)
	_ channel.Fetcher    = (*Fetcher)(nil)
)

// Fields are the settings an admin fills in for a channel of kind.
func Fields(kind string) []channel.Field {
	account := channel.Field{
		Key: "account_id", Label: "Page ID", Required: true,
		Help: "Facebook: your Page → About → Page transparency (or Meta Business Suite → Settings → Business assets → Pages) shows the Page ID.",
	}
	token := channel.Field{
		Key: "access_token", Label: "Page access token", Required: true, Secret: true,
		Help: "App Dashboard → Messenger → Messenger API Settings → Generate access tokens, for the Page (a long-lived Page token from a system user in Business Settings does not expire). Needs pages_messaging, pages_manage_metadata, pages_read_engagement, pages_read_user_content and pages_manage_engagement.",
	}
	if kind == KindInstagram {
		account.Label = "Instagram account ID"
		account.Help = "The Instagram professional account ID (a number like 17841400000000000): App Dashboard → Instagram → API setup lists it, or GET /me?fields=instagram_business_account with the Page token of the linked Page."
		token.Help = "App Dashboard → Messenger → Instagram settings → Generate access tokens for the Facebook Page linked to the Instagram account. Needs instagram_basic, instagram_manage_messages, instagram_manage_comments, pages_messaging and pages_manage_metadata. With Instagram Login instead, paste the Instagram user token and set the API base to https://graph.instagram.com/v25.0."
	}
	return []channel.Field{
		account,
		token,
		{
			Key: "app_secret", Label: "App secret", Required: true, Secret: true,
			Help: "App Dashboard → App settings → Basic → App secret. Meta signs every webhook delivery with it (X-Hub-Signature-256).",
		},
		{
			Key: "verify_token", Label: "Verify token", Required: true, Secret: true, Generated: true,
			Help: "Paste this into App Dashboard → Webhooks (or Messenger/Instagram settings → Webhooks) → Verify token, with the callback URL https://YOUR-WEBCARE/hooks/{channel id}.",
		},
		{
			Key: "api_base", Label: "Graph API base URL", Default: DefaultAPIBase,
			Help: "Leave empty for " + DefaultAPIBase + ". Tests and the demo point it at a fake.",
		},
	}
}

// apiBase is the channel's Graph API root without a trailing slash.
func apiBase(ch store.Channel) string {
	b := strings.TrimRight(strings.TrimSpace(ch.Settings["api_base"]), "/")
	if b == "" {
		return DefaultAPIBase
	}
	return b
}

// endpoint joins the API base and path segments, escaping each segment so
// an id from a payload cannot walk the path.
func endpoint(ch store.Channel, segments ...string) string {
	var b strings.Builder
	b.WriteString(apiBase(ch))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
