// Package whatsapp connects a WhatsApp Business phone number through Meta's
// WhatsApp Cloud API: customers' messages and the delivery receipts of
// webcare's replies arrive as signed "messages" webhooks of the object
// whatsapp_business_account; replies go out through
// POST /{phone-number-id}/messages, files through /{phone-number-id}/media.
//
// Every conversation on WhatsApp is private. A business may answer freely
// for 24 hours after the customer's last message; after that only an
// approved template message may start a conversation again, which webcare
// does not send.
package whatsapp

import (
	"net/http"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
)

// Kind is the channel kind this package serves.
const Kind = "whatsapp"

// DefaultAPIBase is the Graph API the adapter calls when a channel has no
// api_base. Graph API versions stay callable for about two years.
const DefaultAPIBase = "https://graph.facebook.com/v24.0"

// Window is how long after the customer's last message a business may send
// free-form messages on WhatsApp (the customer service window).
const Window = 24 * time.Hour

// WindowNote is what the composer shows once the window has closed.
const WindowNote = "The customer's 24-hour window has closed: WhatsApp only lets a business send an approved template message now. The conversation opens again when the customer writes."

// Rate is the Cloud API's default throughput per business phone number,
// in messages per second (inbound and outbound together; Meta upgrades
// busy numbers to 1,000 automatically).
const Rate = 80

// Limits of the Cloud API for what webcare sends.
const (
	MaxText    = 4096                 // characters in text.body
	MaxCaption = 1024                 // characters in a media caption
	MaxMedia   = channel.MaxFileBytes // bytes webcare downloads of one customer's file (audio and video are 16 MB on WhatsApp)
)

// Settings keys (store.Channel.Settings) the adapter reads.
const (
	SettingAccount     = "account_id" // the phone number id
	SettingAccessToken = "access_token"
	SettingAppSecret   = "app_secret"
	SettingVerifyToken = "verify_token"
	SettingAPIBase     = "api_base"
)

// Fields are what an admin fills in to connect a WhatsApp number.
var Fields = []channel.Field{
	{Key: SettingAccount, Label: "Phone number ID", Required: true,
		Help: "App Dashboard → WhatsApp → API Setup (or WhatsApp Manager → Phone numbers): the Phone number ID of the number customers write to — a long number, not the phone number itself."},
	{Key: SettingAccessToken, Label: "Access token", Required: true, Secret: true,
		Help: "Business Settings → Users → System users → Generate new token, for your app, with the permissions whatsapp_business_messaging and whatsapp_business_management. The temporary token on the API Setup page expires within a day."},
	{Key: SettingAppSecret, Label: "App secret", Required: true, Secret: true,
		Help: "App Dashboard → App settings → Basic → App secret (Show). Webcare checks every webhook's X-Hub-Signature-256 with it."},
	{Key: SettingVerifyToken, Label: "Verify token", Required: true, Generated: true,
		Help: "Paste into App Dashboard → WhatsApp → Configuration → Webhook → Verify token, with the callback URL https://YOUR-WEBCARE/hooks/{channel id}, then subscribe to the messages field."},
	{Key: SettingAPIBase, Label: "API base URL", Default: DefaultAPIBase,
		Help: "Leave empty for Meta's Graph API. Tests and the demo point it at a stand-in."},
}

// New returns the WhatsApp adapter. client makes every call to the Graph
// API; nil means a client with a 20-second timeout that never follows a
// redirect of a POST.
func New(client *http.Client) channel.Adapter {
	api := &API{Client: channel.HTTPClient(client)}
	return channel.Adapter{
		Kind:    Kind,
		Fields:  Fields,
		Webhook: &Webhook{},
		Sender:  &Sender{API: api},
		Checker: api,
		Fetcher: api,
		// Cloud API: a text message body up to 4096 characters; images
		// 5 MB, one medium per message.
		TextLimit:  4096,
		Files:      channel.FileRule{MaxFiles: 1, MaxBytes: 5 << 20, Types: channel.ImagesAndPDFs},
		Rate:       Rate,
		Window:     Window,
		WindowNote: WindowNote,
	}
}

// apiBase is the channel's Graph API base URL without a trailing slash.
func apiBase(settings map[string]string) string {
	b := strings.TrimRight(strings.TrimSpace(settings[SettingAPIBase]), "/")
	if b == "" {
		return DefaultAPIBase
	}
	return b
}
