package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Sender delivers replies to web chat visitors. The reply is already in
// the store, where the visitor's stream and history read it, so it counts
// as sent at once: the platform id is "out-" + the message id. When the
// visitor is not connected and left an e-mail address, the reply also goes
// by mail, once per outbox key.
//
// Anyone can type any address into the chat, so the mail is written for a
// reader who may never have chatted: it says it answers a chat on the
// site and may be ignored, links only to pages on the channel's allowed
// origins, goes to one address per visitor (the first one mailed), and at
// most Limits.MailsPerDay times a day per visitor.
type Sender struct{ w *Widget }

var _ outbox.Sender = (*Sender)(nil)

func mailedKey(key string) string { return "webchat:mailed:" + key }

// mailLogKey keeps, per visitor, the address their replies go to and how
// many went today.
func mailLogKey(chID int64, visitor string) string {
	return "webchat:maillog:" + strconv.FormatInt(chID, 10) + ":" + visitor
}

type mailLog struct {
	To    string `json:"to"`
	Day   string `json:"day"` // UTC, 2006-01-02
	Count int    `json:"count"`
}

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
	ml, err := w.loadMailLog(ctx, d.Channel.ID, visitor)
	if err != nil {
		return "", err
	}
	day := w.now().UTC().Format(time.DateOnly)
	if ml.Day != day {
		ml.Day, ml.Count = day, 0
	}
	switch {
	case ml.To != "" && !strings.EqualFold(ml.To, to):
		w.log.Info("webchat: reply not mailed: the visitor's replies already went to another address",
			"channel", d.Channel.ID, "conversation_id", d.Conversation.ID)
		return id, nil
	case ml.Count >= w.limits.MailsPerDay:
		w.log.Info("webchat: reply not mailed: the visitor's mails for today are used up",
			"channel", d.Channel.ID, "conversation_id", d.Conversation.ID, "limit", w.limits.MailsPerDay)
		return id, nil
	}
	subject, body := replyMail(d, rec)
	if err := w.mail(ctx, to, subject, body); err != nil {
		return "", &outbox.Error{Body: "The visitor has left the chat and the e-mail with the reply could not be sent: " + shortText(err.Error(), 200), Err: err}
	}
	ml.To = or(ml.To, to)
	ml.Count++
	if b, err := json.Marshal(ml); err == nil {
		if err := w.store.SetSetting(ctx, mailLogKey(d.Channel.ID, visitor), string(b)); err != nil {
			w.log.Warn("webchat: mail sent but not counted", "channel", d.Channel.ID, "err", err)
		}
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

func (w *Widget) loadMailLog(ctx context.Context, chID int64, visitor string) (mailLog, error) {
	var l mailLog
	v, err := w.store.Setting(ctx, mailLogKey(chID, visitor))
	if errors.Is(err, store.ErrNotFound) || v == "" {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal([]byte(v), &l); err != nil {
		// Unreadable: count today as used up rather than mail freely.
		w.log.Warn("webchat: unreadable mail log", "channel", chID, "err", err)
		return mailLog{Day: w.now().UTC().Format(time.DateOnly), Count: w.limits.MailsPerDay}, nil
	}
	return l, nil
}

// pageLink is the page to link back to: only a page on one of the
// channel's allowed origins, since the visitor chose it and the mail goes
// out in the company's name. No allowed origins: no link.
func pageLink(ch store.Channel, page string) string {
	if page == "" || strings.TrimSpace(ch.Settings[SettingOrigins]) == "" {
		return ""
	}
	u, err := url.Parse(page)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	origin := normalOrigin(u.Scheme, u.Host)
	for _, o := range strings.Split(ch.Settings[SettingOrigins], ",") {
		ou, err := url.Parse(strings.TrimSpace(o))
		if err == nil && ou.Host != "" && normalOrigin(ou.Scheme, ou.Host) == origin {
			return page
		}
	}
	return ""
}

// normalOrigin is scheme://host[:port] in lower case, without the
// scheme's default port.
func normalOrigin(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	if (scheme == "https" && strings.HasSuffix(host, ":443")) || (scheme == "http" && strings.HasSuffix(host, ":80")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return scheme + "://" + host
}

// replyMail writes the mail in the visitor's language (their browser's, or
// the channel's), Dutch or English. It says where the answer comes from
// and that the reader may ignore it, since whoever typed the address need
// not own it.
func replyMail(d outbox.Delivery, rec visitorRecord) (subject, body string) {
	lang := strings.ToLower(or(rec.Lang, d.Channel.Locale))
	name := d.Channel.Name
	if name == "" {
		name = "our team"
	}
	link := pageLink(d.Channel, rec.Page)
	site := ""
	if link != "" {
		u, _ := url.Parse(link)
		site = u.Host
	}
	var b strings.Builder
	if strings.HasPrefix(lang, "nl") {
		subject = "Antwoord van " + name
		where := "onze website"
		if site != "" {
			where = site
		}
		fmt.Fprintf(&b, "Dit is een antwoord op een vraag die in de chat op %s is gesteld; daarbij is dit e-mailadres opgegeven. "+
			"Heb je daar niet gechat, dan kun je deze e-mail negeren.\n\nOns antwoord:\n\n%s\n\n", where, d.Message.Body)
		if link != "" {
			fmt.Fprintf(&b, "Verder chatten: %s\n", link)
		} else {
			b.WriteString("Je vindt het antwoord ook in de chat op onze website.\n")
		}
	} else {
		subject = "Reply from " + name
		where := "our website"
		if site != "" {
			where = site
		}
		fmt.Fprintf(&b, "This answers a question asked in the chat on %s, where this e-mail address was given. "+
			"If you did not chat with us, you can ignore this e-mail.\n\nOur answer:\n\n%s\n\n", where, d.Message.Body)
		if link != "" {
			fmt.Fprintf(&b, "Continue the chat: %s\n", link)
		} else {
			b.WriteString("You will also find the answer in the chat on our website.\n")
		}
	}
	return subject, b.String()
}
