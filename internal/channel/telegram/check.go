package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// AllowedUpdates are the update types webcare asks Telegram for.
var AllowedUpdates = []string{"message", "edited_message", "callback_query"}

// Checker is the admin's "test connection": getMe says which bot the token
// belongs to, getWebhookInfo whether Telegram can deliver to webcare.
type Checker struct {
	API *API
}

var _ channel.Checker = (*Checker)(nil)

// Me is the part of getMe's User that the checker reports.
type Me struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	Username  string `json:"username"`
}

// WebhookInfo is the part of getWebhookInfo's answer the checker reports.
type WebhookInfo struct {
	URL                  string   `json:"url"`
	PendingUpdateCount   int64    `json:"pending_update_count"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
}

// Check reports "@username (bot id N)" and the state of the webhook, e.g.
// "@acme_support_bot (bot id 123); webhook https://…/hooks/7, 0 updates waiting".
// A token Telegram refuses is an error; a missing or failing webhook is
// said in the text, since the admin sets it with the connect step.
func (c *Checker) Check(ctx context.Context, ch store.Channel) (string, error) {
	me, err := GetMe(ctx, c.API.Client, ch)
	if err != nil {
		return "", err
	}
	s := fmt.Sprintf("@%s (bot id %d)", me.Username, me.ID)
	if want := BotID(ch.Settings); want != 0 && want != me.ID {
		s += fmt.Sprintf("; warning: the channel's bot id is %d, the token belongs to %d", want, me.ID)
	}
	if u := strings.TrimPrefix(ch.Settings[SettingBotUsername], "@"); u != "" && !strings.EqualFold(u, me.Username) {
		s += fmt.Sprintf("; warning: the channel's bot username is %q, the token belongs to @%s", u, me.Username)
	}
	var wi WebhookInfo
	if err := c.API.CallJSON(ctx, ch.Settings, "getWebhookInfo", struct{}{}, &wi); err != nil {
		return s, fmt.Errorf("getWebhookInfo: %w", explain(err))
	}
	if wi.URL == "" {
		return s + "; webhook not set: Telegram delivers nothing until webcare sets it (connect the channel)", nil
	}
	s += fmt.Sprintf("; webhook %s, %d updates waiting", wi.URL, wi.PendingUpdateCount)
	if wi.LastErrorMessage != "" {
		when := ""
		if wi.LastErrorDate > 0 {
			when = " at " + time.Unix(wi.LastErrorDate, 0).UTC().Format(time.RFC3339)
		}
		s += fmt.Sprintf("; last delivery error%s: %s", when, wi.LastErrorMessage)
	}
	return s, nil
}

// GetMe asks Telegram (through client; nil: a default one) which bot the channel's token belongs to. Connect
// stores Me.ID as account_id and Me.Username as bot_username.
func GetMe(ctx context.Context, client *http.Client, ch store.Channel) (Me, error) {
	var me Me
	if err := newAPI(client).CallJSON(ctx, ch.Settings, "getMe", struct{}{}, &me); err != nil {
		return Me{}, fmt.Errorf("getMe: %w", explain(err))
	}
	if me.ID == 0 {
		return Me{}, errors.New("getMe: Telegram gave no bot id")
	}
	return me, nil
}

// SetWebhook (through client; nil: a default one) points the bot's webhook at url (https://YOUR-WEBCARE/hooks/{id})
// with the channel's webhook secret as secret_token, for messages, edits
// and button presses, keeping updates that are already waiting.
func SetWebhook(ctx context.Context, client *http.Client, ch store.Channel, url string) error {
	secret := ch.Settings[SettingSecret]
	if !ValidSecret(secret) {
		return errors.New("the webhook secret must be 1–256 characters of A-Z a-z 0-9 _ -")
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(ch.Settings[SettingAPIBase], "http://") {
		// Telegram only delivers to HTTPS; a local fake (http api_base) may take http.
		return fmt.Errorf("Telegram delivers webhooks only to https:// URLs, not %q", url)
	}
	params := map[string]any{
		"url":                  url,
		"secret_token":         secret,
		"allowed_updates":      AllowedUpdates,
		"drop_pending_updates": false,
	}
	if err := newAPI(client).CallJSON(ctx, ch.Settings, "setWebhook", params, nil); err != nil {
		return fmt.Errorf("setWebhook: %w", explain(err))
	}
	return nil
}

// connect is the adapter's Connect: it asks which bot the token belongs
// to, points the bot's webhook at hookURL, and gives the bot's id and
// username for the channel to keep.
func (a *API) connect(ctx context.Context, ch store.Channel, hookURL string) (map[string]string, error) {
	me, err := GetMe(ctx, a.Client, ch)
	if err != nil {
		return nil, err
	}
	if err := SetWebhook(ctx, a.Client, ch, hookURL); err != nil {
		return nil, err
	}
	return map[string]string{SettingAccountID: strconv.FormatInt(me.ID, 10), SettingBotUsername: me.Username}, nil
}

// ValidSecret reports whether s may be a secret_token: 1–256 characters of
// A-Z, a-z, 0-9, _ and -.
func ValidSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// explain puts the common setup errors in plain words.
func explain(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case http.StatusUnauthorized, http.StatusNotFound:
		return fmt.Errorf("Telegram rejected the bot token: copy the current token from @BotFather (Telegram %d: %s)", ae.Code, ae.Description)
	}
	return err
}
