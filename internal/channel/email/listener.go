package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// ListenerOptions configure the inbound SMTP listener.
type ListenerOptions struct {
	Addr   string // e.g. ":25"; default ":25"
	Domain string // the name in the greeting, e.g. "mx.example.com"
	// Lookup finds the channel a recipient address (lowercased) belongs
	// to, by its "address" setting. Required.
	Lookup func(ctx context.Context, rcpt string) (store.Channel, bool)
	// Ingest stores one message durably. Required. The listener answers
	// the sending server 250 only after it returned without error; an
	// error wrapping ErrRefused is permanent (554: the mail will never be
	// taken), any other temporary (451: the server tries again later).
	Ingest func(ctx context.Context, m channel.Message) (store.IngestResult, error)
	// Status applies a delivery status (a bounce of one of webcare's
	// replies) to the reply it names. Optional: without it bounces are
	// only logged.
	Status   func(ctx context.Context, ch store.Channel, s channel.Status) error
	MaxBytes int64        // per mail; default DefaultMaxBytes (552 above it)
	Log      *slog.Logger // nil: discarded
	// TLS, when set, is offered with STARTTLS. Sending servers use it
	// opportunistically; a public MX should have it.
	TLS *tls.Config

	MaxConns        int           // open connections at once; default 200
	MaxConnsPerIP   int           // per client address; default 10
	MaxRecipients   int           // per mail; default 50
	Timeout         time.Duration // per command read/write; default 2 minutes
	IngestTimeout   time.Duration // per mail; default 1 minute
	MaxMailsPerConn int           // then 421 to close; default 100
}

// Listener is webcare's inbound SMTP server (a public MX for the channel
// addresses). It accepts mail only for the addresses of e-mail channels
// (anything else: 550 at RCPT, so it is never an open relay), answers 250
// only once every recipient channel has stored the mail (a failure: 451,
// and the sending server tries again later), refuses mail over MaxBytes
// with 552 and mail it cannot read with 554. It has no AUTH: it only
// receives.
type Listener struct {
	o   ListenerOptions
	srv *smtp.Server
	ctx context.Context

	mu     sync.Mutex
	perIP  map[string]int
	open   int
	cancel context.CancelFunc
}

// NewListener returns a listener; start it with ListenAndServe or Serve.
func NewListener(o ListenerOptions) *Listener {
	if o.Addr == "" {
		o.Addr = ":25"
	}
	if o.Domain == "" {
		o.Domain = "localhost"
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 200
	}
	if o.MaxConnsPerIP <= 0 {
		o.MaxConnsPerIP = 10
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = 50
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.IngestTimeout <= 0 {
		o.IngestTimeout = time.Minute
	}
	if o.MaxMailsPerConn <= 0 {
		o.MaxMailsPerConn = 100
	}
	l := &Listener{o: o, perIP: map[string]int{}}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	s := smtp.NewServer(smtp.BackendFunc(l.newSession))
	s.Addr = o.Addr
	s.Domain = o.Domain
	s.MaxMessageBytes = o.MaxBytes
	s.MaxRecipients = o.MaxRecipients
	s.ReadTimeout = o.Timeout
	s.WriteTimeout = o.Timeout
	s.TLSConfig = o.TLS
	s.EnableSMTPUTF8 = true
	s.ErrorLog = slogLogger{o.Log}
	l.srv = s
	return l
}

// ListenAndServe listens on Addr and serves until ctx ends or Close.
func (l *Listener) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", l.o.Addr)
	if err != nil {
		return fmt.Errorf("email: SMTP listener: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	return l.Serve(ln)
}

// Serve accepts connections on ln until Close. It returns nil after Close.
func (l *Listener) Serve(ln net.Listener) error {
	err := l.srv.Serve(&limitListener{Listener: ln, l: l})
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Close stops listening and drops open connections; a mail in the middle
// of DATA is not acknowledged, so its sender retries.
func (l *Listener) Close() error {
	l.cancel()
	err := l.srv.Close()
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// limitListener refuses connections over the total and per-address limits
// with 421, before any session exists.
type limitListener struct {
	net.Listener
	l *Listener
}

func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		l := ll.l
		l.mu.Lock()
		ok := l.open < l.o.MaxConns && l.perIP[ip] < l.o.MaxConnsPerIP
		if ok {
			l.open++
			l.perIP[ip]++
		}
		l.mu.Unlock()
		if !ok {
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, "421 4.7.0 Too many connections, try again later\r\n")
			c.Close()
			l.o.Log.Warn("email: SMTP connection refused: too many", "remote", ip)
			continue
		}
		return &countedConn{Conn: c, release: func() {
			l.mu.Lock()
			l.open--
			if l.perIP[ip]--; l.perIP[ip] <= 0 {
				delete(l.perIP, ip)
			}
			l.mu.Unlock()
		}}, nil
	}
}

type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

func (l *Listener) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{l: l, remote: remoteIP(c.Conn().RemoteAddr())}, nil
}

// session is one SMTP connection's mail transaction.
type session struct {
	l        *Listener
	remote   string
	from     string
	channels []store.Channel
	mails    int
	// postmaster: a recipient was postmaster@, which is accepted and
	// dropped when it is no channel's address.
	postmaster bool
}

func (s *session) Reset() { s.from, s.channels, s.postmaster = "", nil, false }

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.mails >= s.l.o.MaxMailsPerConn {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many mails on one connection, reconnect"}
	}
	s.from = from
	s.channels, s.postmaster = nil, false
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	rcpt := strings.ToLower(strings.TrimSpace(to))
	ctx, cancel := context.WithTimeout(s.l.ctx, 10*time.Second)
	defer cancel()
	ch, ok := s.l.o.Lookup(ctx, rcpt)
	if !ok {
		// support+order123@example.com: sub-addressing reaches support@.
		if local, domain, found := strings.Cut(rcpt, "@"); found {
			if base, _, plus := strings.Cut(local, "+"); plus {
				ch, ok = s.l.o.Lookup(ctx, base+"@"+domain)
			}
		}
	}
	if !ok && strings.HasPrefix(rcpt, "postmaster@") {
		// RFC 5321 §4.5.1: postmaster must be accepted. Nobody reads it
		// in webcare; the mail is logged and dropped.
		s.postmaster = true
		return nil
	}
	if !ok || ch.Disabled {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	}
	for _, c := range s.channels {
		if c.ID == ch.ID {
			return nil // two of a channel's addresses: one message
		}
	}
	s.channels = append(s.channels, ch)
	return nil
}

// ErrRefused marks an Ingest error that no retry will cure.
var ErrRefused = errors.New("mail refused")

var (
	errTemporary  = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Could not store the mail right now, try again later"}
	errUnreadable = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The mail could not be read (malformed MIME or missing From)"}
)

func (s *session) Data(r io.Reader) error {
	s.mails++
	raw, err := io.ReadAll(r)
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se // 552 from the size limit
		}
		if errors.Is(err, smtp.ErrTooLongLine) {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Line longer than RFC 5321 allows"}
		}
		return errTemporary
	}
	log := s.l.o.Log.With("remote", s.remote, "mail_from", s.from)
	if len(s.channels) == 0 {
		log.Info("email: mail to postmaster accepted and dropped", "bytes", len(raw))
		return nil
	}
	m, err := ParseBytes(raw)
	var sk *Skipped
	switch {
	case errors.As(err, &sk):
		log.Info("email: automatic mail accepted and not stored", "reason", sk.Reason)
		if sk.Status != nil && s.l.o.Status != nil {
			st := *sk.Status
			for _, ch := range s.channels {
				ctx, cancel := context.WithTimeout(s.l.ctx, s.l.o.IngestTimeout)
				if err := s.l.o.Status(ctx, ch, st); err != nil {
					log.Warn("email: bounce not applied", "channel", ch.ID, "err", err)
				}
				cancel()
			}
		}
		return nil
	case err != nil:
		log.Warn("email: mail refused", "err", err)
		return errUnreadable
	}
	for _, ch := range s.channels {
		mm := m
		mm.ChannelID = ch.ID
		ctx, cancel := context.WithTimeout(s.l.ctx, s.l.o.IngestTimeout)
		res, err := s.l.o.Ingest(ctx, mm)
		cancel()
		if errors.Is(err, ErrRefused) {
			log.Warn("email: mail refused", "channel", ch.ID, "message_id", m.PlatformID, "err", err)
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The mail cannot be stored: " + clipReason(err)}
		}
		if err != nil {
			// The channels stored before this one see the retry as a
			// duplicate; nothing is stored twice.
			log.Error("email: ingest failed, asking the sender to retry", "channel", ch.ID, "message_id", m.PlatformID, "err", err)
			return errTemporary
		}
		log.Info("email: mail stored", "channel", ch.ID, "message_id", m.PlatformID, "duplicate", res.Duplicate)
	}
	return nil
}

// clipReason makes an error fit on one SMTP reply line.
func clipReason(err error) string {
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return ' '
		}
		return r
	}, err.Error())
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// slogLogger adapts slog to go-smtp's Logger.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s slogLogger) Println(v ...any)               { s.l.Debug(fmt.Sprint(v...)) }
