package webchat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Sender delivers replies to web chat visitors. The reply is already in
// the store, where the visitor's stream and history read it, so it counts
// as sent at once: the platform id is "out-" + the message id. When the
// visitor is not connected and left an e-mail address, the reply also goes
// by mail, once per outbox key, with a link back to the page they chatted on.
type Sender struct{ w *Widget }

var _ outbox.Sender = (*Sender)(nil)

func mailedKey(key string) string { return "webchat:mailed:" + key }

// Send delivers one reply. A failing mail is a temporary error, so the
// outbox tries again; the visitor still sees the reply in the widget.
func (s *Sender) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	w := s.w
	id := "out-" + strconv.FormatInt(d.Message.ID, 10)
	visitor := d.To.ExternalID
	if visitor == "" {
		return "", &outbox.Error{Permanent: true, Body: "This conversation has no web chat visitor to answer."}
	}
	if w.Connected(ctx, d.Channel.ID, visitor) || w.mail == nil {
		return id, nil
	}
	rec, _, err := w.loadVisitor(ctx, d.Channel.ID, visitor)
	if err != nil {
		return "", err
	}
	to := rec.Email
	if to == "" && strings.Contains(d.To.Handle, "@") {
		to = d.To.Handle // the e-mail the visitor gave with a message
	}
	if to == "" {
		return id, nil // they read it when they come back
	}
	if d.Key != "" {
		if _, err := w.store.Setting(ctx, mailedKey(d.Key)); err == nil {
			return id, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	subject, body := replyMail(d, rec)
	if err := w.mail(ctx, to, subject, body); err != nil {
		return "", &outbox.Error{Body: "The visitor has left the chat and the e-mail with the reply could not be sent: " + shortText(err.Error(), 200), Err: err}
	}
	if d.Key != "" {
		// Kept after the mail went: a crash between the two sends it once
		// more, which beats never.
		if err := w.store.SetSetting(ctx, mailedKey(d.Key), w.now().UTC().Format("2006-01-02T15:04:05Z")); err != nil {
			w.log.Warn("webchat: mail sent but not recorded", "key", d.Key, "err", err)
		}
	}
	return id, nil
}

// replyMail writes the mail in the visitor's language (their browser's, or
// the channel's), Dutch or English.
func replyMail(d outbox.Delivery, rec visitorRecord) (subject, body string) {
	lang := strings.ToLower(or(rec.Lang, d.Channel.Locale))
	name := d.Channel.Name
	if name == "" {
		name = "our team"
	}
	var b strings.Builder
	if strings.HasPrefix(lang, "nl") {
		subject = "Antwoord van " + name
		fmt.Fprintf(&b, "Je stelde ons een vraag in de chat. Ons antwoord:\n\n%s\n\n", d.Message.Body)
		if rec.Page != "" {
			fmt.Fprintf(&b, "Verder chatten: %s\n", rec.Page)
		} else {
			b.WriteString("Je vindt het antwoord ook in de chat op onze website.\n")
		}
	} else {
		subject = "Reply from " + name
		fmt.Fprintf(&b, "You asked us a question in the chat. Our answer:\n\n%s\n\n", d.Message.Body)
		if rec.Page != "" {
			fmt.Fprintf(&b, "Continue the chat: %s\n", rec.Page)
		} else {
			b.WriteString("You will also find the answer in the chat on our website.\n")
		}
	}
	return subject, b.String()
}
