package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-*, windows-125x, Shift_JIS, GB18030…: decoded to UTF-8
	"github.com/emersion/go-message/mail"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/htmltext"
	"github.com/webcare/webcare/internal/store"
)

// DefaultMaxBytes bounds a mail Parse reads when given no limit: 25 MiB,
// what most providers accept.
const DefaultMaxBytes = 25 << 20

// Limits on what one mail may bring in.
const (
	maxFiles    = 10
	maxFileSize = 10 << 20 // per file, as a reply may carry (the adapter's Files)
	maxTextLen  = 64 << 10 // characters of text kept; the rest is in the mailbox
)

// Errors Parse returns besides those wrapping channel.ErrPayload.
var (
	// ErrTooLarge: the mail is larger than the limit. It wraps
	// channel.ErrPayload.
	ErrTooLarge = fmt.Errorf("%w: mail too large", channel.ErrPayload)
	// ErrSkipped: the mail is an automatic one (an out-of-office reply, a
	// bounce, a list or bulk mail) that webcare does not store, so that
	// two robots never answer each other. The mail was understood: the
	// SMTP listener accepts it with 250 and the poller moves past it. It
	// does not wrap channel.ErrPayload.
	ErrSkipped = errors.New("automatic mail skipped")
)

// Skipped is the error for a mail that was understood but not stored; it
// wraps ErrSkipped and says why. A bounce of one of webcare's own replies
// carries Status, for the reply it reports as failed.
type Skipped struct {
	Reason string
	Status *channel.Status
}

func (s *Skipped) Error() string { return "automatic mail skipped: " + s.Reason }

// Unwrap makes errors.Is(err, ErrSkipped) true.
func (s *Skipped) Unwrap() error { return ErrSkipped }

func payloadErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{channel.ErrPayload}, a...)...)
}

// Parse reads one raw RFC 5322 mail (at most maxBytes; 0 or less:
// DefaultMaxBytes) and returns it as a customer message: Message-ID as
// PlatformID, In-Reply-To (else the last References entry) as ReplyTo,
// From as the author, the new text without the quoted history, the
// attachments and inline images as files. A mail without a Message-ID gets
// a stable one made from a hash of its headers and body.
//
// Mail that must not be stored (auto-replies, bounces, bulk) gives a
// *Skipped error; mail that cannot be read gives an error wrapping
// channel.ErrPayload. Parse never panics.
func Parse(raw io.Reader, maxBytes int64) (m channel.Message, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(raw, maxBytes+1))
	if err != nil {
		return m, fmt.Errorf("email: reading mail: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return m, fmt.Errorf("%w (more than %d bytes)", ErrTooLarge, maxBytes)
	}
	return ParseBytes(data)
}

// ParseBytes is Parse on a mail already in memory, without a size limit.
func ParseBytes(data []byte) (m channel.Message, err error) {
	defer func() {
		// go-message is well behaved, but a mail is the most hostile input
		// webcare reads: a bug there must cost one mail, not the process.
		if r := recover(); r != nil {
			m, err = channel.Message{}, payloadErr("mail reader failed: %v", r)
		}
	}()
	if len(bytes.TrimSpace(data)) == 0 {
		return m, payloadErr("empty mail")
	}
	mr, err := mail.CreateReader(bytes.NewReader(data))
	if err != nil && !message.IsUnknownCharset(err) {
		return m, payloadErr("mail header: %v", err)
	}
	h := mr.Header
	if len(h.Map()) == 0 {
		return m, payloadErr("no header")
	}

	from, err := h.AddressList("From")
	if err != nil || len(from) == 0 {
		// A From the strict parser refuses ("Jan <jan@x>" with a stray
		// comma, say) may still carry an address.
		if a := looseAddress(h.Get("From")); a != nil {
			from = []*mail.Address{a}
		} else {
			return m, payloadErr("no readable From address")
		}
	}
	author := from[0]
	addr := strings.ToLower(strings.TrimSpace(author.Address))
	if addr == "" || !strings.Contains(addr, "@") {
		return m, payloadErr("From has no address")
	}

	if reason := automatic(h, addr); reason != "" {
		s := &Skipped{Reason: reason}
		if strings.HasPrefix(reason, "bounce") {
			s.Status = bounceStatus(mr)
		}
		return m, s
	}

	m.Private = true
	m.From = channel.Author{ExternalID: addr, Name: strings.TrimSpace(author.Name), Handle: addr}
	if id, err := h.MessageID(); err == nil && id != "" {
		m.PlatformID = fitID(id)
	} else if id := looseID(h.Get("Message-Id")); id != "" {
		m.PlatformID = fitID(id)
	} else {
		m.PlatformID = derivedID(data)
	}
	m.ReplyTo = fitID(replyTo(h))
	if s, err := h.Subject(); err == nil {
		m.Subject = cleanLine(s)
	} else {
		m.Subject = cleanLine(h.Get("Subject"))
	}
	if t, err := h.Date(); err == nil {
		m.SentAt = t.UTC()
	}

	var plain, html, notes []string
	total := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			if len(plain)+len(html)+len(m.Files) > 0 {
				break // a truncated last part: keep what was read
			}
			return channel.Message{}, payloadErr("mail body: %v", err)
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			t, _, _ := ph.ContentType()
			if t == "text/plain" || t == "text/html" || t == "" {
				if t == "text/html" && len(plain) > 0 {
					continue // the plain alternative is there; NextPart skips the rest undecoded
				}
				b, _ := io.ReadAll(io.LimitReader(p.Body, 4<<20))
				s := strings.ToValidUTF8(string(b), "\uFFFD")
				if t == "text/html" {
					html = append(html, s)
				} else {
					plain = append(plain, s)
				}
				continue
			}
			if strings.HasPrefix(t, "text/") {
				continue // text/calendar, text/rfc822-headers: not the customer's words
			}
			name, _ := filename(ph.Header, t)
			total = addFile(&m, &notes, name, p.Body, total)
		case *mail.AttachmentHeader:
			t, _, _ := ph.ContentType()
			name, _ := filename(ph.Header, t)
			total = addFile(&m, &notes, name, p.Body, total)
		}
	}

	var text string
	if s := strings.Join(plain, "\n"); strings.TrimSpace(s) != "" {
		text = StripQuoted(s)
	} else if len(html) > 0 {
		text = StripQuoted(htmltext.String(cutHTMLQuote(strings.Join(html, "\n"))))
	}
	m.Text = truncate(text, maxTextLen)
	for _, n := range notes {
		m.Text = appendNote(m.Text, n)
	}
	if strings.TrimFunc(m.Text, blank) == "" && len(m.Files) == 0 {
		if strings.TrimFunc(m.Subject, blank) == "" {
			return channel.Message{}, payloadErr("mail has no text, subject or files")
		}
		// "Please call me back" in the subject and nothing below: the
		// subject is what the customer said.
		m.Text = m.Subject
	}
	return m, nil
}

// automatic says why a mail was written by a robot, or "" for a person's.
// The headers are those of RFC 3834 (Auto-Submitted), the de-facto ones
// of Exchange and older vacation programs, and RFC 3464 reports.
func automatic(h mail.Header, from string) string {
	t, params, _ := h.ContentType()
	if t == "multipart/report" {
		return "bounce (" + strings.ToLower(params["report-type"]) + " report)"
	}
	local, _, _ := strings.Cut(from, "@")
	switch local {
	case "mailer-daemon", "postmaster":
		return "bounce (from " + from + ")"
	}
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && !strings.HasPrefix(v, "no") {
		return "auto-reply (Auto-Submitted: " + v + ")"
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "junk", "list", "auto_reply":
		return "bulk mail (Precedence: " + h.Get("Precedence") + ")"
	}
	if h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" {
		return "auto-reply (X-Autoreply)"
	}
	if v := strings.ToLower(h.Get("X-Auto-Response-Suppress")); strings.Contains(v, "all") || strings.Contains(v, "oof") && strings.Contains(v, "autoreply") {
		// Exchange marks its own out-of-office and delivery reports so.
		if strings.Contains(strings.ToLower(h.Get("Subject")), "automatic reply") || h.Get("X-MS-Exchange-Inbox-Rules-Loop") != "" {
			return "auto-reply (Exchange)"
		}
	}
	return ""
}

// bounceStatus reads a delivery report for the Message-ID of the mail that
// failed, so the reply can be marked as not delivered.
func bounceStatus(mr *mail.Reader) *channel.Status {
	var id, why string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		var t string
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			t, _, _ = ph.ContentType()
		case *mail.AttachmentHeader:
			t, _, _ = ph.ContentType()
		}
		switch t {
		case "message/delivery-status":
			b, _ := io.ReadAll(io.LimitReader(p.Body, 64<<10))
			for line := range strings.Lines(string(b)) {
				k, v, ok := strings.Cut(line, ":")
				if !ok {
					continue
				}
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "diagnostic-code":
					why = strings.TrimSpace(v)
				case "status":
					if why == "" {
						why = "status " + strings.TrimSpace(v)
					}
				}
			}
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers":
			e, err := message.Read(io.LimitReader(p.Body, 256<<10))
			if err == nil || message.IsUnknownCharset(err) {
				mh := mail.Header{Header: e.Header}
				if v, err := mh.MessageID(); err == nil {
					id = v
				}
			}
		}
	}
	if id == "" {
		return nil
	}
	if why == "" {
		why = "the receiving server could not deliver it"
	}
	return &channel.Status{PlatformID: id, State: store.Failed, Error: "The mail could not be delivered: " + why}
}

// fitID keeps a Message-ID that webcare can store as it is; a longer one
// becomes a hash of itself, the same every time, so that a reply that
// names it in In-Reply-To still finds its thread.
func fitID(id string) string {
	if len(id) <= channel.MaxIDBytes {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:]) + "@webcare.invalid"
}

// replyTo is what the mail answers: In-Reply-To, else the last References
// entry (RFC 5322 §3.6.4).
func replyTo(h mail.Header) string {
	if l, _ := h.MsgIDList("In-Reply-To"); len(l) > 0 {
		return l[0]
	}
	if v := looseID(h.Get("In-Reply-To")); v != "" {
		return v
	}
	if l, _ := h.MsgIDList("References"); len(l) > 0 {
		return l[len(l)-1]
	}
	if f := strings.Fields(h.Get("References")); len(f) > 0 {
		return looseID(f[len(f)-1])
	}
	return ""
}

// looseID takes the id out of a Message-ID the strict parser refused.
func looseID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 995 || strings.ContainsAny(v, " \t\r\n<>") {
		return ""
	}
	return v
}

// looseAddress finds an address in a From the strict parser refused.
func looseAddress(v string) *mail.Address {
	v = cleanLine(v)
	var a string
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		a, _, _ = strings.Cut(v[i+1:], ">")
		v = strings.Trim(strings.TrimSpace(v[:i]), `"`)
	} else {
		for _, f := range strings.Fields(v) {
			if strings.Contains(f, "@") {
				a, v = f, ""
				break
			}
		}
	}
	a = strings.TrimSpace(a)
	at := strings.IndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " ,;\"") {
		return nil
	}
	if dec, err := (&mime.WordDecoder{}).DecodeHeader(v); err == nil {
		v = dec
	}
	return &mail.Address{Name: v, Address: a}
}

// derivedID is the PlatformID of a mail without a Message-ID: a hash of
// the headers that travel with a mail unchanged (not Received and other
// trace fields that each relay adds) and of the body, so the same mail
// delivered twice, or once by SMTP and once through IMAP, is one message.
func derivedID(data []byte) string {
	hdr, body := data, []byte(nil)
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := bytes.Index(data, []byte(sep)); i >= 0 {
			hdr, body = data[:i], data[i+len(sep):]
			break
		}
	}
	sum := sha256.New()
	var cur string
	keep := func() {
		k, _, _ := strings.Cut(cur, ":")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "from", "to", "cc", "date", "subject", "in-reply-to", "references", "content-type":
			sum.Write([]byte(strings.Join(strings.Fields(cur), " ")))
			sum.Write([]byte{'\n'})
		}
	}
	for line := range strings.Lines(string(hdr)) {
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			cur += line
			continue
		}
		keep()
		cur = line
	}
	keep()
	sum.Write(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))
	return "sha256-" + hex.EncodeToString(sum.Sum(nil)[:16]) + "@webcare.invalid"
}

// filename is a part's file name, made up from its type when it has none.
func filename(h message.Header, t string) (string, error) {
	ah := mail.AttachmentHeader{Header: h}
	name, err := ah.Filename()
	name = cleanLine(path.Base(strings.ReplaceAll(name, `\`, "/")))
	if name == "" || name == "." || name == "/" {
		name = "attachment"
		if exts, _ := mime.ExtensionsByType(t); len(exts) > 0 {
			name += exts[0]
		} else if t == "message/rfc822" {
			name += ".eml"
		}
	}
	return name, err
}

// addFile reads a part into m.Files within the limits; a file over them
// is named in the text, so the agent knows to look in the mailbox.
func addFile(m *channel.Message, notes *[]string, name string, body io.Reader, total int) int {
	b, err := io.ReadAll(io.LimitReader(body, maxFileSize+1))
	switch {
	case len(b) == 0:
		if err == nil {
			*notes = append(*notes, fmt.Sprintf("[attachment %q is empty]", name))
		}
		return total
	case len(b) > maxFileSize || total+len(b) > DefaultMaxBytes:
		*notes = append(*notes, fmt.Sprintf("[attachment %q left out: larger than %d MB]", name, maxFileSize>>20))
		return total
	case len(m.Files) >= maxFiles:
		*notes = append(*notes, fmt.Sprintf("[attachment %q left out: more than %d files]", name, maxFiles))
		return total
	}
	m.Files = append(m.Files, channel.File{Name: name, Data: b})
	return total + len(b)
}

// blank is a character that shows nothing.
func blank(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

func appendNote(text, note string) string {
	if text == "" {
		return note
	}
	return text + "\n" + note
}

// cleanLine makes a header value one line of valid UTF-8 without control
// characters.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "\n[…]"
		}
		i++
	}
	return s
}
