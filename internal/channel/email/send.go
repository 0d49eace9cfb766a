package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Sender sends agents' replies through the channel's SMTP submission
// server. The reply is text/plain UTF-8 in quoted-printable, files ride
// along as multipart/mixed attachments. It carries no Auto-Submitted
// header: a person wrote it, and the customer's out-of-office should be
// free to answer it (webcare then skips that answer).
type Sender struct {
	Now func() time.Time // nil: time.Now
}

var _ outbox.Sender = (*Sender)(nil)

// Send delivers one reply and returns its Message-ID (without angle
// brackets), made from d.Key: every retry of one reply carries the same
// Message-ID, so a customer's mail program shows a retried send once, and
// the customer's answer (In-Reply-To) points back at it.
func (s *Sender) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	to := strings.TrimSpace(d.To.ExternalID)
	if !validAddress(to) {
		return "", &outbox.Error{Permanent: true, Body: fmt.Sprintf("This contact has no e-mail address to answer (%q).", to)}
	}
	from := strings.TrimSpace(d.Channel.Settings[SettingAddress])
	if !strings.Contains(from, "@") {
		return "", &outbox.Error{Permanent: true, Body: "The channel has no sender address: set \"address\" in Admin → Channels."}
	}
	id := MessageID(d.Key, from)
	m := Mail{
		From:       &mail.Address{Name: d.Channel.Settings[SettingDisplayName], Address: from},
		To:         &mail.Address{Name: d.To.DisplayName, Address: to},
		Subject:    ReplySubject(d.Conversation.Subject, d.Channel.Name),
		Body:       d.Message.Body,
		MessageID:  id,
		InReplyTo:  d.Message.ReplyTo,
		References: d.Thread,
		Date:       s.now(),
	}
	for _, f := range d.Files {
		m.Files = append(m.Files, f)
	}
	if err := send(ctx, d.Channel, m); err != nil {
		return "", err
	}
	return id, nil
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// SendPlain sends one plain-text mail through an e-mail channel's SMTP
// settings: to is the recipient's address, messageID (without angle
// brackets; empty: one is made up) lets the caller recognise a retried
// send. The error is an *outbox.Error, Permanent when retrying cannot help.
// The web chat uses it to mail answers to visitors who left.
func SendPlain(ctx context.Context, ch store.Channel, to, subject, body, messageID string) error {
	from := strings.TrimSpace(ch.Settings[SettingAddress])
	if !strings.Contains(from, "@") {
		return &outbox.Error{Permanent: true, Body: "The e-mail channel has no sender address: set \"address\" in Admin → Channels."}
	}
	if !validAddress(to) {
		return &outbox.Error{Permanent: true, Body: fmt.Sprintf("%q is not an e-mail address.", to)}
	}
	if messageID == "" {
		messageID = MessageID(fmt.Sprintf("%d/%s/%s", time.Now().UnixNano(), to, subject), from)
	}
	return send(ctx, ch, Mail{
		From:      &mail.Address{Name: ch.Settings[SettingDisplayName], Address: from},
		To:        &mail.Address{Address: to},
		Subject:   subject,
		Body:      body,
		MessageID: strings.Trim(messageID, "<>"),
		Date:      time.Now(),
	})
}

// validAddress reports whether s is a bare addr-spec with a local part
// and a domain.
func validAddress(s string) bool {
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// MessageID is the Message-ID webcare gives a reply: a hash of the outbox
// key at the sender address's domain, the same on every retry.
func MessageID(key, from string) string {
	domain := "webcare.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = strings.ToLower(d)
	}
	sum := sha256.Sum256([]byte(key))
	return "webcare-" + hex.EncodeToString(sum[:16]) + "@" + domain
}

var replyPrefix = regexp.MustCompile(`(?i)^\s*((re|aw|antw|antwort|sv|vs|r|rif|res|ref|réf|fw|fwd|wg|tr|rv)\s*(\[\d+\])?\s*:\s*)+`)

// ReplySubject is "Re: " and the conversation's subject without the
// prefixes mail programs pile up (Re:, AW:, Antw:, SV:, Fwd: …), so a
// thread never reads "Re: Re: Re:". Without a subject it names the channel.
func ReplySubject(subject, channelName string) string {
	s := strings.TrimSpace(replyPrefix.ReplaceAllString(cleanLine(subject), ""))
	if s == "" {
		s = "Your message"
		if channelName != "" {
			s += " to " + channelName
		}
	}
	return "Re: " + s
}

// Mail is one outgoing plain-text mail.
type Mail struct {
	From, To  *mail.Address
	Subject   string
	Body      string
	MessageID string // without angle brackets
	InReplyTo string // the customer's Message-ID
	// References are the Message-IDs of the thread before this mail,
	// oldest first; InReplyTo ends them.
	References []string
	Date       time.Time
	Files      []store.Attachment
}

// maxReferences bounds the References header: RFC 5322 (3.6.4) lets a
// long chain keep its first id and the latest ones.
const maxReferences = 20

// references is the chain thread ending with parent: each id once,
// without angle brackets, the first and the latest kept when it is long.
func references(thread []string, parent string) []string {
	var ids []string
	seen := map[string]bool{}
	for _, t := range append(slices.Clone(thread), parent) {
		t = strings.Trim(strings.TrimSpace(t), "<>")
		if t == "" || seen[t] || strings.ContainsAny(t, " \t\r\n<>") {
			continue
		}
		seen[t] = true
		ids = append(ids, t)
	}
	if i := slices.Index(ids, parent); i >= 0 && i != len(ids)-1 {
		ids = append(slices.Delete(ids, i, i+1), parent) // the parent comes last
	}
	if len(ids) > maxReferences {
		ids = append(ids[:1], ids[len(ids)-maxReferences+1:]...)
	}
	return ids
}

// Build writes the mail in RFC 5322 form: text/plain; charset=utf-8 in
// quoted-printable, multipart/mixed when there are files.
func (m Mail) Build() ([]byte, error) {
	var h mail.Header
	h.SetDate(m.Date)
	h.SetAddressList("From", []*mail.Address{m.From})
	h.SetAddressList("To", []*mail.Address{m.To})
	h.SetSubject(m.Subject)
	h.SetMessageID(m.MessageID)
	if m.InReplyTo != "" {
		id := strings.Trim(m.InReplyTo, "<>")
		h.SetMsgIDList("In-Reply-To", []string{id})
		h.SetMsgIDList("References", references(m.References, id))
	}
	h.Set("MIME-Version", "1.0")
	var buf bytes.Buffer
	body := strings.ReplaceAll(m.Body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\n", "\r\n")
	var th mail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	th.Set("Content-Transfer-Encoding", "quoted-printable")
	if len(m.Files) == 0 {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, body); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		var ah mail.AttachmentHeader
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		ah.SetContentType(ct, nil)
		ah.SetFilename(cleanLine(f.Name))
		w, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.Data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// send submits m through the channel's SMTP server.
func send(ctx context.Context, ch store.Channel, m Mail) error {
	srv, err := settingsServer(ch, "smtp")
	if err != nil {
		return &outbox.Error{Permanent: true, Body: "The channel's outgoing mail server is not set up: " + err.Error() + " (Admin → Channels)."}
	}
	raw, err := m.Build()
	if err != nil {
		return &outbox.Error{Permanent: true, Err: err}
	}
	c, err := dialSMTP(ctx, srv)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Mail(m.From.Address, &smtp.MailOptions{Size: int64(len(raw))}); err != nil {
		return smtpErr(ctx, "The mail server refused the sender address "+m.From.Address, err)
	}
	if err := c.Rcpt(m.To.Address, nil); err != nil {
		return smtpErr(ctx, "The receiving server refused the address "+m.To.Address, err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(ctx, "The mail server refused the message", err)
	}
	if _, err := w.Write(raw); err != nil {
		return smtpErr(ctx, "The mail server refused the message", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(ctx, "The mail server refused the message", err)
	}
	_ = c.Quit()
	return nil
}

// dialSMTP connects, says EHLO, upgrades and logs in as the settings say.
func dialSMTP(ctx context.Context, srv server) (*smtp.Client, error) {
	conn, err := srv.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to the mail server %s: %w", srv.addr(), err) // temporary
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	}
	var c *smtp.Client
	if srv.mode == TLSStart {
		c, err = smtp.NewClientStartTLS(conn, srv.tlsConfig())
		if err != nil {
			conn.Close()
			return nil, smtpErr(ctx, "The mail server "+srv.addr()+" did not start TLS", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	if err := c.Hello(helloName(srv)); err != nil {
		c.Close()
		return nil, smtpErr(ctx, "The mail server "+srv.addr()+" did not greet", err)
	}
	if srv.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			c.Close()
			return nil, &outbox.Error{Permanent: true, Body: "The mail server " + srv.addr() + " offers no login (AUTH); check smtp_tls and smtp_port in Admin → Channels."}
		}
		if err := c.Auth(sasl.NewPlainClient("", srv.user, srv.password)); err != nil {
			c.Close()
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code/100 == 5 {
				return nil, &outbox.Error{Permanent: true, Body: fmt.Sprintf("The mail server did not accept the user name and password: check smtp_user and smtp_password in Admin → Channels (%d %s).", se.Code, se.Message), Err: err}
			}
			return nil, smtpErr(ctx, "Logging in to the mail server failed", err)
		}
	}
	return c, nil
}

// helloName is the EHLO name: the submission server's own host name is
// not ours to claim, and webcare has no public name of its own here, so it
// says "localhost" as RFC 5321 allows a client without one to do by
// address literal; submission servers authenticate the user, not the name.
func helloName(server) string {
	return "localhost"
}

// smtpErr turns an SMTP answer into an outbox error: 4xx temporary, 5xx
// permanent with the agent-facing words, anything else (the network) a
// temporary failure.
func smtpErr(ctx context.Context, what string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e := &outbox.Error{Body: fmt.Sprintf("%s: %d %s", what, se.Code, strings.TrimSpace(se.Message)), Err: err}
		if se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode != (smtp.EnhancedCode{}) {
			e.Body = fmt.Sprintf("%s: %d %d.%d.%d %s", what, se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], strings.TrimSpace(se.Message))
		}
		e.Permanent = se.Code/100 == 5
		if se.Code == 421 || se.Code == 450 || se.Code == 451 || se.Code == 452 {
			e.RetryAfter = time.Minute
		}
		return e
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s: %w", what, err) // the network: temporary
}
