package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Sender delivers replies with sendMessage, sendPhoto and sendDocument.
//
// The Bot API has no idempotency key: a send whose answer is lost (a
// timeout) is not retried but fails with a note to look (see
// channel.Attempt), since a retry could reach the customer twice.
type Sender struct {
	API *API
}

var _ outbox.Sender = (*Sender)(nil)

// ReplyParameters says which message a reply answers. With
// allow_sending_without_reply the reply still goes when that message was
// deleted.
type ReplyParameters struct {
	MessageID                int64 `json:"message_id"`
	AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
}

// SendMessageParams is the body of sendMessage.
type SendMessageParams struct {
	ChatID          int64            `json:"chat_id"`
	Text            string           `json:"text"`
	ReplyParameters *ReplyParameters `json:"reply_parameters,omitempty"`
}

type sent struct {
	MessageID int64 `json:"message_id"`
	Chat      Chat  `json:"chat"`
}

// target is where a delivery goes and which message it answers (0: none).
func target(d outbox.Delivery) (chatID, replyTo int64, err error) {
	rc, rm, ok := SplitPlatformID(d.Message.ReplyTo)
	if d.Conversation.Visibility != store.Public {
		user, uerr := strconv.ParseInt(strings.TrimSpace(d.To.ExternalID), 10, 64)
		switch {
		case ok && rc > 0:
			// A private chat's id is the user's id.
			return rc, rm, nil
		case uerr == nil && user > 0:
			// A conversation moved out of a group: write to the user's
			// private chat with the bot (possible once they pressed Start).
			return user, 0, nil
		}
		return 0, 0, errors.New("no Telegram chat to write to: the customer's user id is unknown")
	}
	if !ok {
		return 0, 0, errors.New("no Telegram message to reply to in this conversation")
	}
	return rc, rm, nil
}

// Send delivers one reply and returns "<chat_id>:<message_id>" of the
// (first) message Telegram created.
func (s *Sender) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	chatID, replyTo, err := target(d)
	if err != nil {
		return "", &outbox.Error{Permanent: true, Body: err.Error()}
	}
	text := d.Message.Body
	if n := utf8.RuneCountInString(text); n > TextLimit {
		return "", &outbox.Error{Permanent: true, Body: fmt.Sprintf("The reply is too long for Telegram: %d characters, at most %d.", n, TextLimit)}
	}
	id, err := s.send(ctx, d, chatID, replyTo, text)
	var ae *APIError
	if errors.As(err, &ae) && ae.MigrateTo != 0 && ae.MigrateTo != chatID {
		// The group became a supergroup with a new id; message ids are
		// not carried over reliably, so send once more to the new chat
		// without insisting on the reply. Later messages from the group
		// arrive with the new chat id.
		id, err = s.send(ctx, d, ae.MigrateTo, replyTo, text)
	}
	if err != nil {
		return "", sendError(err)
	}
	return id, nil
}

func (s *Sender) send(ctx context.Context, d outbox.Delivery, chatID, replyTo int64, text string) (string, error) {
	var rp *ReplyParameters
	if replyTo > 0 {
		rp = &ReplyParameters{MessageID: replyTo, AllowSendingWithoutReply: true}
	}
	settings := d.Channel.Settings
	first := ""
	keep := func(m sent) {
		if first == "" {
			c := m.Chat.ID
			if c == 0 {
				c = chatID
			}
			first = PlatformID(c, m.MessageID)
		}
	}
	caption := ""
	if len(d.Files) > 0 && utf8.RuneCountInString(text) <= CaptionLimit {
		caption, text = text, ""
	}
	if strings.TrimSpace(text) != "" || len(d.Files) == 0 {
		if strings.TrimSpace(text) == "" {
			return "", &APIError{Code: 400, Description: "Bad Request: message text is empty"}
		}
		var m sent
		if err := s.API.CallJSON(ctx, settings, "sendMessage", SendMessageParams{ChatID: chatID, Text: text, ReplyParameters: rp}, &m); err != nil {
			return "", err
		}
		keep(m)
		rp = nil // the text carried the reply; the files follow it
	}
	for i, f := range d.Files {
		method, field := "sendDocument", "document"
		ct := f.ContentType
		if ct == "" {
			ct = http.DetectContentType(f.Data)
		}
		if ct == "image/jpeg" || ct == "image/png" {
			method, field = "sendPhoto", "photo"
		}
		fields := map[string]string{"chat_id": strconv.FormatInt(chatID, 10)}
		if i == 0 && caption != "" {
			fields["caption"] = caption
		}
		if rp != nil {
			b, _ := json.Marshal(rp)
			fields["reply_parameters"] = string(b)
			rp = nil
		}
		name := f.Name
		if name == "" {
			name = field
		}
		var m sent
		if err := s.API.CallMultipart(ctx, settings, method, fields, Part{Field: field, Name: name, Data: f.Data}, &m); err != nil {
			return "", err
		}
		keep(m)
	}
	return first, nil
}

// sendError turns a failed call into what the outbox acts on: 429 and
// 5xx are retried (honouring retry_after), everything else Telegram
// refuses is permanent and explained to the agent in plain words.
func sendError(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err // network trouble: temporary
	}
	e := &outbox.Error{Status: ae.Status, RetryAfter: ae.RetryAfter, Err: err}
	if ae.Code == http.StatusTooManyRequests || ae.Code >= 500 || ae.Status >= 500 {
		e.Body = fmt.Sprintf("Telegram asked to slow down or had trouble; webcare will retry. (Telegram %d: %s)", ae.Code, ae.Description)
		return e
	}
	e.Permanent = true
	e.Body = plain(ae) + fmt.Sprintf(" (Telegram %d: %s)", ae.Code, ae.Description)
	return e
}

func plain(ae *APIError) string {
	d := strings.ToLower(ae.Description)
	switch {
	case ae.Code == http.StatusUnauthorized:
		return "Telegram rejected the bot token: copy the current token from @BotFather into Admin → Channels."
	case ae.Code == http.StatusNotFound:
		return "Telegram does not know this bot token or API address: check the bot token and the Bot API server in Admin → Channels."
	case strings.Contains(d, "blocked by the user"):
		return "The customer has blocked the bot: replies reach them only after they unblock it."
	case strings.Contains(d, "can't initiate conversation"), strings.Contains(d, "can't send messages to bots"):
		return "The customer has not started a chat with the bot: they must open the bot and press Start before it can write to them."
	case strings.Contains(d, "user is deactivated"):
		return "The customer's Telegram account has been deleted."
	case strings.Contains(d, "kicked"), strings.Contains(d, "not a member"), strings.Contains(d, "have no rights to send"), strings.Contains(d, "not enough rights"):
		return "The bot can no longer write in this group: it was removed or lost the right to send messages."
	case strings.Contains(d, "chat not found"):
		return "Telegram cannot find this chat: it was deleted, or the bot never had access to it."
	case ae.MigrateTo != 0:
		return "The group was upgraded to a supergroup and the reply could not be delivered there."
	case strings.Contains(d, "too long"):
		return "The reply is too long for Telegram."
	case strings.Contains(d, "too big"), strings.Contains(d, "file is too"):
		return "The file is too large for Telegram."
	case ae.Code == http.StatusForbidden:
		return "Telegram does not let the bot write to this chat."
	}
	return "Telegram refused the reply."
}
