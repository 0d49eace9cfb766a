// Package emailfake stands in for a mail provider in tests and the demo:
// a real SMTP submission server (go-smtp) that records what webcare sends,
// and a real IMAP server (go-imap v2's in-memory server) holding the
// mailbox webcare polls. Both listen on 127.0.0.1 without TLS and demand
// a login, as a provider does.
package emailfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// The fake's account.
const (
	Address  = "support@webcare.test"
	User     = "support@webcare.test"
	Password = "fake-password"
	Mailbox  = "INBOX"
)

// Sent is one mail webcare submitted to the fake SMTP server.
type Sent struct {
	From string
	To   []string
	Data []byte // the raw mail as received
}

// Fake is the provider: SMTP for webcare's replies, IMAP for its mailbox.
type Fake struct {
	// Address is the mailbox's address: customers write to it and the
	// SMTP server lets webcare send only from it. Default: the constant
	// Address; set it before use.
	Address string

	imapSrv *imapserver.Server
	mem     *imapmemserver.Server
	user    *imapmemserver.User
	smtpSrv *smtp.Server
	imapLn  net.Listener
	smtpLn  net.Listener

	mu    sync.Mutex
	sent  []Sent
	fails []*smtp.SMTPError // answers for the next DATA commands
	seq   int
}

var _ channel.Fake = (*Fake)(nil)

// New starts both servers on 127.0.0.1.
func New() (*Fake, error) {
	f := &Fake{mem: imapmemserver.New(), Address: Address}
	f.user = imapmemserver.NewUser(User, Password)
	if err := f.user.Create(Mailbox, nil); err != nil {
		return nil, err
	}
	f.mem.AddUser(f.user)
	quiet := log.New(io.Discard, "", 0)
	f.imapSrv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return f.mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       quiet,
	})
	var err error
	if f.imapLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	go f.imapSrv.Serve(f.imapLn)

	f.smtpSrv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{f: f}, nil
	}))
	f.smtpSrv.Domain = "smtp.webcare.test"
	f.smtpSrv.AllowInsecureAuth = true
	f.smtpSrv.MaxMessageBytes = 30 << 20
	f.smtpSrv.ErrorLog = quiet
	if f.smtpLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		f.imapSrv.Close()
		return nil, err
	}
	go f.smtpSrv.Serve(f.smtpLn)
	return f, nil
}

// Settings point an e-mail channel at the fake: plain IMAP and SMTP on
// 127.0.0.1 with the fake's login.
func (f *Fake) Settings() map[string]string {
	ih, ip, _ := net.SplitHostPort(f.imapLn.Addr().String())
	sh, sp, _ := net.SplitHostPort(f.smtpLn.Addr().String())
	return map[string]string{
		"address": f.Address, "display_name": "Webcare Test Support",
		"imap_host": ih, "imap_port": ip, "imap_user": User, "imap_password": Password, "imap_tls": "none", "imap_mailbox": Mailbox,
		"smtp_host": sh, "smtp_port": sp, "smtp_user": User, "smtp_password": Password, "smtp_tls": "none",
	}
}

// Post puts a customer's mail, built from m, into the IMAP mailbox for the
// poller. baseURL is not used: mail is fetched, not pushed.
func (f *Fake) Post(_ context.Context, _ string, _ store.Channel, m channel.Message) error {
	raw, err := f.Compose(m, f.Address)
	if err != nil {
		return err
	}
	return f.Append(raw)
}

// Append puts a raw mail into the IMAP mailbox.
func (f *Fake) Append(raw []byte) error {
	_, err := f.user.Append(Mailbox, bytes.NewReader(raw), &imap.AppendOptions{Time: time.Now()})
	return err
}

// Seen reports whether the mail with this UID carries \Seen, as a
// person's mail program would see it.
func (f *Fake) Seen(uid uint32) (bool, error) {
	c, err := imapclient.DialInsecure(f.imapLn.Addr().String(), nil)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if err := c.Login(User, Password).Wait(); err != nil {
		return false, err
	}
	if _, err := c.Select(Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return false, err
	}
	msgs, err := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		return false, err
	}
	if len(msgs) == 0 {
		return false, fmt.Errorf("no mail with UID %d", uid)
	}
	return slices.Contains(msgs[0].Flags, imap.FlagSeen), nil
}

// ResetMailbox deletes and re-creates the mailbox: its UIDVALIDITY
// changes and its mail is gone, as when a provider rebuilds a folder.
func (f *Fake) ResetMailbox() error {
	if err := f.user.Delete(Mailbox); err != nil {
		return err
	}
	return f.user.Create(Mailbox, nil)
}

// Deliver hands a raw mail to an SMTP server at addr (webcare's listener)
// the way a sending MTA does, and returns the server's answer to the
// first recipient refused or to DATA as an *smtp.SMTPError.
func Deliver(ctx context.Context, addr, from string, to []string, raw []byte) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("mx.customer.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, t := range to {
		if err := c.Rcpt(t, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Compose builds a customer's mail as a mail program would: From with the
// display name, To, Subject and Date, a Message-ID (m.PlatformID, or a new
// one), In-Reply-To and References, text/plain UTF-8 in quoted-printable,
// files as attachments.
func (f *Fake) Compose(m channel.Message, to string) ([]byte, error) {
	f.mu.Lock()
	f.seq++
	n := f.seq
	f.mu.Unlock()
	var h mail.Header
	sent := m.SentAt
	if sent.IsZero() {
		sent = time.Now()
	}
	h.SetDate(sent)
	from := m.From.ExternalID
	if !strings.Contains(from, "@") {
		from = "customer" + strconv.Itoa(n) + "@customer.test"
	}
	h.SetAddressList("From", []*mail.Address{{Name: m.From.Name, Address: from}})
	h.SetAddressList("To", []*mail.Address{{Address: to}})
	h.SetSubject(m.Subject)
	id := m.PlatformID
	if id == "" {
		id = fmt.Sprintf("%d.%d@mail.customer.test", time.Now().UnixNano(), n)
	}
	h.SetMessageID(id)
	if m.ReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{m.ReplyTo})
		h.SetMsgIDList("References", []string{m.ReplyTo})
	}
	h.Set("MIME-Version", "1.0")
	h.Set("User-Agent", "Mozilla/5.0 Thunderbird/128.0")
	var buf bytes.Buffer
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th mail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8", "format": "flowed"})
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	io.WriteString(tw, strings.ReplaceAll(m.Text, "\n", "\r\n"))
	tw.Close()
	for _, file := range m.Files {
		var ah mail.AttachmentHeader
		ah.SetContentType("application/octet-stream", nil)
		ah.SetFilename(file.Name)
		w, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		w.Write(file.Data)
		w.Close()
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Sent returns what webcare submitted so far.
func (f *Fake) Sent() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Sent(nil), f.sent...)
}

// FailNext makes the next n submissions fail with the given SMTP answer
// (e.g. 451 4.3.0 or 550 5.1.1) at RCPT.
func (f *Fake) FailNext(n, code int, enhanced smtp.EnhancedCode, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fails = append(f.fails, &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg})
	}
}

// Close stops both servers.
func (f *Fake) Close() {
	f.smtpSrv.Close()
	f.imapSrv.Close()
}

// session is one submission connection; it requires AUTH PLAIN with the
// fake's login and checks the mail has the fields RFC 5322 requires.
type session struct {
	f      *Fake
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != User || pass != Password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	if !strings.EqualFold(from, s.f.Address) {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender address not owned by user " + User}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.f.mu.Lock()
	var fail *smtp.SMTPError
	if len(s.f.fails) > 0 {
		fail, s.f.fails = s.f.fails[0], s.f.fails[1:]
	}
	s.f.mu.Unlock()
	if fail != nil {
		return fail
	}
	if !strings.Contains(to, "@") {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message not RFC 5322: " + err.Error()}
	}
	for _, k := range []string{"From", "Date", "Message-Id"} {
		if mr.Header.Get(k) == "" {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message lacks the " + k + " field"}
		}
	}
	s.f.mu.Lock()
	s.f.sent = append(s.f.sent, Sent{From: s.from, To: append([]string(nil), s.to...), Data: raw})
	s.f.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// ErrRefused reports whether err is an SMTP answer with the given code.
func ErrRefused(err error, code int) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code
}
