// Package email is the e-mail channel (kind "email"): customers write to
// an address such as support@example.com and agents answer from webcare.
//
// Mail comes in one of two ways, or both:
//   - IMAP: a Poller reads new mail from a mailbox every PollEvery
//     (imap_* settings), with the cursor "UIDVALIDITY:lastUID";
//   - SMTP: a Listener is webcare's own MX for the channel addresses
//     (setting "address"), answering 250 only once the mail is stored.
//
// Replies go out through the channel's SMTP submission server (smtp_*
// settings) as plain UTF-8 text threaded with In-Reply-To and References.
// Parse turns a raw mail into a channel.Message; it folds quoted history
// away and skips automatic mail (out-of-office replies, bounces, bulk) so
// that webcare never answers a robot.
package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Kind is the channel kind this package serves.
const Kind = "email"

// Setting keys of an e-mail channel.
const (
	SettingAddress      = "address"
	SettingDisplayName  = "display_name"
	SettingIMAPHost     = "imap_host"
	SettingIMAPPort     = "imap_port"
	SettingIMAPUser     = "imap_user"
	SettingIMAPPassword = "imap_password"
	SettingIMAPTLS      = "imap_tls"
	SettingIMAPMailbox  = "imap_mailbox"
	SettingSMTPHost     = "smtp_host"
	SettingSMTPPort     = "smtp_port"
	SettingSMTPUser     = "smtp_user"
	SettingSMTPPassword = "smtp_password"
	SettingSMTPTLS      = "smtp_tls"
)

// TLS modes of the imap_tls and smtp_tls settings.
const (
	TLSImplicit = "tls"      // TLS from the first byte (IMAPS 993, SMTPS 465)
	TLSStart    = "starttls" // plain connection upgraded with STARTTLS (143, 587)
	TLSNone     = "none"     // no encryption: only for a server on the same host or the tests
)

// Fields are the settings an admin gives for an e-mail channel.
var Fields = []channel.Field{
	{Key: SettingAddress, Label: "E-mail address", Required: true,
		Help: "The address customers write to, e.g. support@example.com. Replies are sent from it, and webcare's own SMTP listener (if you point the domain's MX at it) accepts mail for it."},
	{Key: SettingDisplayName, Label: "Sender name", Help: "The name shown with the address on replies, e.g. \"Example Support\"."},
	{Key: SettingIMAPHost, Label: "IMAP server", Help: "Your provider's incoming-mail (IMAP) server, e.g. imap.gmail.com or outlook.office365.com. Leave empty if mail reaches webcare through its SMTP listener instead."},
	{Key: SettingIMAPPort, Label: "IMAP port", Default: "993", Help: "993 for TLS, 143 for STARTTLS."},
	{Key: SettingIMAPUser, Label: "IMAP user name", Help: "Usually the full mailbox address."},
	{Key: SettingIMAPPassword, Label: "IMAP password", Secret: true, Help: "The mailbox password, or an app password (Google Account → Security → App passwords; Microsoft 365 needs an app password or SMTP/IMAP AUTH enabled for the mailbox)."},
	{Key: SettingIMAPTLS, Label: "IMAP security", Default: TLSImplicit, Help: "tls (port 993), starttls (port 143) or none (only for a server on the same machine)."},
	{Key: SettingIMAPMailbox, Label: "IMAP folder", Default: "INBOX", Help: "The folder webcare reads new mail from."},
	{Key: SettingSMTPHost, Label: "SMTP server", Help: "Your provider's outgoing-mail (submission) server, e.g. smtp.gmail.com or smtp.office365.com."},
	{Key: SettingSMTPPort, Label: "SMTP port", Default: "587", Help: "587 for STARTTLS, 465 for TLS."},
	{Key: SettingSMTPUser, Label: "SMTP user name", Help: "Usually the full mailbox address; empty for a server that needs no login."},
	{Key: SettingSMTPPassword, Label: "SMTP password", Secret: true, Help: "The mailbox password or an app password, as for IMAP."},
	{Key: SettingSMTPTLS, Label: "SMTP security", Default: TLSStart, Help: "starttls (port 587), tls (port 465) or none (only for a relay on the same machine)."},
}

// New returns the e-mail adapter: an IMAP poller, an SMTP sender and a
// checker. log may be nil. The SMTP listener is separate (NewListener): it
// serves every e-mail channel at once.
func New(log *slog.Logger) channel.Adapter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Poller{Log: log}
	s := &Sender{}
	return channel.Adapter{
		Kind:      Kind,
		Fields:    Fields,
		Poller:    p,
		Watcher:   p,
		Sender:    s,
		Checker:   &Checker{Poller: p, Sender: s},
		PollEvery: 30 * time.Second,
		Files:     channel.FileRule{MaxFiles: 5, MaxBytes: maxFileSize, Types: channel.ImagesAndPDFs},
		// Providers limit submissions per day more than per second
		// (Gmail ~2,000 a day); a few a second keeps clear of their
		// burst limits.
		Rate: 2,
	}
}

// server is one IMAP or SMTP server from a channel's settings.
type server struct {
	host, user, password, mode string
	port                       int
}

func (s server) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// settingsServer reads the prefix's (imap or smtp) settings.
func settingsServer(ch store.Channel, prefix string) (server, error) {
	st := ch.Settings
	s := server{
		host:     strings.TrimSpace(st[prefix+"_host"]),
		user:     st[prefix+"_user"],
		password: st[prefix+"_password"],
		mode:     strings.ToLower(strings.TrimSpace(st[prefix+"_tls"])),
	}
	if s.host == "" {
		return s, fmt.Errorf("%s_host is not set", prefix)
	}
	switch s.mode {
	case "":
		s.mode = TLSImplicit
		if prefix == "smtp" {
			s.mode = TLSStart
		}
	case TLSImplicit, TLSStart, TLSNone:
	case "ssl":
		s.mode = TLSImplicit
	default:
		return s, fmt.Errorf("%s_tls must be tls, starttls or none, not %q", prefix, s.mode)
	}
	if p := strings.TrimSpace(st[prefix+"_port"]); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return s, fmt.Errorf("%s_port %q is not a port number", prefix, p)
		}
		s.port = n
	} else {
		s.port = defaultPort(prefix, s.mode)
	}
	return s, nil
}

func defaultPort(prefix, mode string) int {
	switch {
	case prefix == "imap" && mode == TLSImplicit:
		return 993
	case prefix == "imap":
		return 143
	case mode == TLSImplicit:
		return 465
	case mode == TLSStart:
		return 587
	}
	return 25
}

func (s server) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

// dial opens a TCP connection (TLS for mode tls) bounded by ctx.
func (s server) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: 20 * time.Second}
	if s.mode == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig()}
		return td.DialContext(ctx, "tcp", s.addr())
	}
	return d.DialContext(ctx, "tcp", s.addr())
}
