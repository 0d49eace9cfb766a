// Package x connects webcare to X (formerly Twitter): mentions, replies
// and Direct Messages arrive through the Account Activity API webhook
// (with its Challenge-Response Check); replies go out through the X API
// v2 (POST /2/tweets, POST /2/dm_conversations/with/{id}/messages),
// signed with OAuth 1.0a as the connected account.
//
// Settings: consumer_key and consumer_secret (the app's API key and API
// key secret, which also sign webhooks and CRCs), access_token and
// access_token_secret (the account's OAuth 1.0a user tokens), account_id
// (the account's numeric user id) and api_base (default
// https://api.x.com).
package x

import (
	"net/http"
	"strings"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Kind is the channel kind this package serves.
const Kind = "x"

// DefaultAPIBase is where the X API lives.
const DefaultAPIBase = "https://api.x.com"

// MaxDMLength is the longest Direct Message text X accepts, in characters.
const MaxDMLength = 10000

// Fields are the settings an admin gives for an X channel.
var Fields = []channel.Field{
	{Key: "consumer_key", Label: "API key", Required: true,
		Help: "X Developer Portal → Projects & Apps → your app → Keys and tokens → Consumer Keys: API Key."},
	{Key: "consumer_secret", Label: "API key secret", Required: true, Secret: true,
		Help: "Shown next to the API Key under Consumer Keys (regenerate it if you no longer have it). It also signs X's webhook deliveries and CRC checks."},
	{Key: "access_token", Label: "Access token", Required: true,
		Help: "Keys and tokens → Authentication Tokens → Access Token and Secret, generated while signed in as the account webcare answers for, after setting the app's permissions to Read, Write and Direct Messages. It starts with the account's user id."},
	{Key: "access_token_secret", Label: "Access token secret", Required: true, Secret: true,
		Help: "Shown with the access token when it is generated. Regenerate both after changing the app's permissions."},
	{Key: "account_id", Label: "Account user id", Required: true,
		Help: "The numeric user id of the account (the digits before the dash in the access token). \"Test connection\" shows it."},
	{Key: "api_base", Label: "API base URL", Default: DefaultAPIBase,
		Help: "Leave empty for https://api.x.com; tests and the demo point it at a stand-in."},
}

// New is the X adapter. client makes every call to X; nil means a client
// with a 20 s timeout. Redirects are never followed on a POST, so a reply
// cannot turn into a GET that still answers 2xx.
func New(client *http.Client) channel.Adapter {
	api := &API{Client: channel.HTTPClient(client)}
	return channel.Adapter{
		Kind:    Kind,
		Fields:  Fields,
		Webhook: Webhook{},
		Sender:  api,
		Checker: api,
		Fetcher: api,
		// A post; X counts most characters once, and Weight counts the
		// rest as X does.
		TextLimit: 280,
		Length:    Weight,
		Files:     channel.FileRule{MaxFiles: 4, MaxBytes: 5 << 20, Types: channel.Images}, // 4 images of 5 MB per post
		// POST /2/tweets allows 100 requests per 15 minutes per user on
		// the Pro tier (less on Basic); DMs 200 per 15 minutes. Keep to
		// the lower of the two.
		Rate: 100.0 / (15 * 60),
	}
}

func apiBase(ch store.Channel) string {
	if b := strings.TrimRight(strings.TrimSpace(ch.Settings["api_base"]), "/"); b != "" {
		return b
	}
	return DefaultAPIBase
}

func credentials(ch store.Channel) Credentials {
	s := ch.Settings
	return Credentials{ConsumerKey: s["consumer_key"], ConsumerSecret: s["consumer_secret"], Token: s["access_token"], TokenSecret: s["access_token_secret"]}
}
