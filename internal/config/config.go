// Package config reads webcare's settings from flags and WEBCARE_*
// environment variables (flags win), with defaults that need nothing.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of a webcare process.
type Config struct {
	Addr    string // listen address
	BaseURL string // how users reach us, for printed links
	// BaseURLGuessed is true when BaseURL was not given but made from Addr:
	// fine for the server's own links, a guess for a command run elsewhere.
	BaseURLGuessed bool
	DatabasePath   string        // the embedded store's file
	DatabaseURL    string        // postgres://… (secret: may hold a password)
	NATSURL        string        // nats://… (secret: may hold a token)
	NATSPrefix     string        // subject prefix and stream name, so deployments can share one NATS
	LogLevel       string        // debug, info, warn, error
	LogFormat      string        // text or json
	SecureCookies  bool          // set behind HTTPS
	SessionTTL     time.Duration // how long a login lasts
	SMTPAddr       string        // where the inbound mail listener listens; empty: none
	SMTPTLSCert    string        // PEM certificate (chain) offered with STARTTLS on the mail listener
	SMTPTLSKey     string        // its private key
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed, for per-visitor limits of the web chat.
	TrustedProxies string
	// ResolveIdle, when set, makes the server resolve conversations
	// pending on the customer for that long, as `webcare resolve-idle`
	// does; 0: never.
	ResolveIdle time.Duration
	// OIDCIssuer, when set, offers single sign-on with that OpenID Connect
	// provider; the client is OIDCClientID / OIDCClientSecret (secret),
	// registered with the callback BaseURL/login/sso/callback.
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCName         string // the provider as people know it, on the button
	// OIDCDefaultRole is the role of an agent that a first sign-in of an
	// unknown address creates; "" refuses such sign-ins.
	OIDCDefaultRole string
}

// Getenv is how settings are looked up; os.Getenv in production.
type Getenv func(string) string

// Register declares the shared flags on fs with defaults from the
// environment, and returns a function that finishes and checks the Config
// after fs.Parse.
func Register(fs *flag.FlagSet, getenv Getenv) func() (Config, error) {
	var c Config
	var errs []error
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		// Secrets can come from a file (Docker/Kubernetes secrets).
		if path := getenv(name + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				return def
			}
			return strings.TrimSpace(string(b))
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("WEBCARE_ADDR", "127.0.0.1:8080"), "listen address (WEBCARE_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", env("WEBCARE_BASE_URL", ""), "public URL of this server, for links (WEBCARE_BASE_URL; default http://ADDR)")
	fs.StringVar(&c.DatabasePath, "db", env("WEBCARE_DB", "webcare.db"), "embedded database file (WEBCARE_DB)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("WEBCARE_DATABASE_URL", ""), "PostgreSQL URL; empty uses the embedded database (WEBCARE_DATABASE_URL, or _FILE)")
	fs.StringVar(&c.NATSURL, "nats-url", env("WEBCARE_NATS_URL", ""), "NATS URL; empty uses the in-process bus (WEBCARE_NATS_URL, or _FILE)")
	fs.StringVar(&c.NATSPrefix, "nats-prefix", env("WEBCARE_NATS_PREFIX", "webcare"), "NATS subject prefix; the stream is named after it (WEBCARE_NATS_PREFIX)")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", env("WEBCARE_SMTP_ADDR", ""), "listen for inbound mail to e-mail channels here, e.g. :25 (WEBCARE_SMTP_ADDR; empty: no listener)")
	fs.StringVar(&c.SMTPTLSCert, "smtp-tls-cert", env("WEBCARE_SMTP_TLS_CERT", ""), "PEM certificate file for STARTTLS on the mail listener (WEBCARE_SMTP_TLS_CERT)")
	fs.StringVar(&c.SMTPTLSKey, "smtp-tls-key", env("WEBCARE_SMTP_TLS_KEY", ""), "its private key file (WEBCARE_SMTP_TLS_KEY)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("WEBCARE_TRUSTED_PROXIES", ""), "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (WEBCARE_TRUSTED_PROXIES)")
	fs.StringVar(&c.LogLevel, "log-level", env("WEBCARE_LOG_LEVEL", "info"), "debug, info, warn or error (WEBCARE_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("WEBCARE_LOG_FORMAT", "text"), "text or json (WEBCARE_LOG_FORMAT)")
	secure, err := parseBool(env("WEBCARE_SECURE_COOKIES", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("WEBCARE_SECURE_COOKIES: %w", err))
	}
	fs.BoolVar(&c.SecureCookies, "secure-cookies", secure, "mark session cookies Secure; set when served over HTTPS (WEBCARE_SECURE_COOKIES)")
	ttl, err := time.ParseDuration(env("WEBCARE_SESSION_TTL", "12h"))
	if err != nil {
		errs = append(errs, fmt.Errorf("WEBCARE_SESSION_TTL: %w", err))
	}
	fs.DurationVar(&c.SessionTTL, "session-ttl", ttl, "how long a login lasts (WEBCARE_SESSION_TTL)")
	idle, err := time.ParseDuration(env("WEBCARE_RESOLVE_IDLE", "0s"))
	if err != nil {
		errs = append(errs, fmt.Errorf("WEBCARE_RESOLVE_IDLE: %w", err))
	}
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", env("WEBCARE_OIDC_ISSUER", ""), "OpenID Connect provider's issuer URL, for single sign-on; empty: none (WEBCARE_OIDC_ISSUER)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", env("WEBCARE_OIDC_CLIENT_ID", ""), "client id registered with the provider (WEBCARE_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", env("WEBCARE_OIDC_CLIENT_SECRET", ""), "its client secret (WEBCARE_OIDC_CLIENT_SECRET, or _FILE)")
	fs.StringVar(&c.OIDCName, "oidc-name", env("WEBCARE_OIDC_NAME", "single sign-on"), "the provider's name on the login button, e.g. Okta (WEBCARE_OIDC_NAME)")
	fs.StringVar(&c.OIDCDefaultRole, "oidc-default-role", env("WEBCARE_OIDC_DEFAULT_ROLE", ""), "role of the agent a first sign-in of an unknown address creates; empty: refuse it (WEBCARE_OIDC_DEFAULT_ROLE)")
	fs.DurationVar(&c.ResolveIdle, "resolve-idle", idle, "resolve conversations pending on the customer for this long, e.g. 168h; 0: never (WEBCARE_RESOLVE_IDLE)")
	return func() (Config, error) {
		if err := errors.Join(errs...); err != nil {
			return c, err
		}
		return c, c.validate()
	}
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("addr %q: %w", c.Addr, err)
	}
	if c.BaseURL == "" {
		c.BaseURLGuessed = true
		host := c.Addr
		if h, p, _ := net.SplitHostPort(c.Addr); h == "" || h == "0.0.0.0" || h == "::" {
			host = net.JoinHostPort("localhost", p)
		}
		c.BaseURL = "http://" + host
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("base-url %q must be an http(s) URL", c.BaseURL)
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("database-url must be a postgres:// URL")
		}
	}
	if (c.SMTPTLSCert == "") != (c.SMTPTLSKey == "") {
		return errors.New("smtp-tls-cert and smtp-tls-key go together")
	}
	if c.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
			return fmt.Errorf("smtp-addr %q: %w", c.SMTPAddr, err)
		}
	}
	if _, err := c.Proxies(); err != nil {
		return err
	}
	if !natsPrefixRE.MatchString(c.NATSPrefix) {
		return fmt.Errorf("nats-prefix %q: use letters, digits, - and _ only", c.NATSPrefix)
	}
	if err := checkNATSURL(c.NATSURL); err != nil {
		return err
	}
	if c.DatabasePath == "" && c.DatabaseURL == "" {
		return errors.New("db: a database file is required")
	}
	if _, err := c.Level(); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log-format %q: use text or json", c.LogFormat)
	}
	if c.ResolveIdle != 0 && c.ResolveIdle < time.Hour {
		return fmt.Errorf("resolve-idle %s: 0 (never) or at least an hour, so nothing a customer just wrote is closed", c.ResolveIdle)
	}
	if c.OIDCIssuer != "" {
		if u, err := url.Parse(c.OIDCIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("oidc-issuer %q must be an http(s) URL", c.OIDCIssuer)
		}
		if c.OIDCClientID == "" {
			return errors.New("oidc-client-id is required with oidc-issuer")
		}
	}
	switch c.OIDCDefaultRole {
	case "", "supervisor", "agent", "volunteer", "field":
	case "admin":
		return errors.New("oidc-default-role admin: whoever the provider lets in would run webcare; add administrators by hand")
	default:
		return fmt.Errorf("oidc-default-role %q: use supervisor, agent, volunteer, field, or leave it empty", c.OIDCDefaultRole)
	}
	if c.SessionTTL < time.Minute {
		return fmt.Errorf("session-ttl %s is too short", c.SessionTTL)
	}
	return nil
}

var natsPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkNATSURL accepts what the NATS client does: one URL or several,
// comma-separated (the servers of a cluster), each nats:// or tls://.
func checkNATSURL(s string) error {
	if s == "" {
		return nil
	}
	for raw := range strings.SplitSeq(s, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "tls") {
			return fmt.Errorf("nats-url %q: use nats://host:4222 or tls://host:4222, several separated by commas", maskURL(strings.TrimSpace(raw)))
		}
	}
	return nil
}

// Level is the parsed log level.
func (c Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("log-level %q: use debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Logger makes the process's logger.
func (c Config) Logger(w io.Writer) *slog.Logger {
	level, _ := c.Level()
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Proxies parses TrustedProxies: addresses (as /32 or /128) and CIDRs.
func (c Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(c.TrustedProxies, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies: %q is not an address or CIDR", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Print writes the effective settings, secrets masked.
func (c Config) Print(w io.Writer) {
	rows := [][2]string{
		{"addr", c.Addr}, {"base-url", c.BaseURL}, {"db", c.DatabasePath},
		{"database-url", maskURL(c.DatabaseURL)}, {"nats-url", maskURL(c.NATSURL)}, {"nats-prefix", c.NATSPrefix},
		{"log-level", c.LogLevel}, {"log-format", c.LogFormat},
		{"secure-cookies", strconv.FormatBool(c.SecureCookies)}, {"session-ttl", c.SessionTTL.String()}, {"smtp-addr", c.SMTPAddr}, {"smtp-tls-cert", c.SMTPTLSCert}, {"trusted-proxies", c.TrustedProxies},
		{"resolve-idle", resolveIdle(c.ResolveIdle)},
		{"oidc-issuer", c.OIDCIssuer}, {"oidc-client-id", c.OIDCClientID}, {"oidc-client-secret", mask(c.OIDCClientSecret)},
		{"oidc-name", c.OIDCName}, {"oidc-default-role", c.OIDCDefaultRole},
	}
	for _, r := range rows {
		v := r[1]
		if v == "" {
			v = "(not set)"
		}
		fmt.Fprintf(w, "%-15s %s\n", r[0], v)
	}
}

// mask shows whether a secret is set, never the secret.
func mask(s string) string {
	if s == "" {
		return ""
	}
	return "(set)"
}

func resolveIdle(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

// maskURL hides the password (or token) in a URL.
func maskURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "********"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else {
			u.User = url.User("xxxxx")
		}
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(k), "token") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Database names the database in use, for logs and messages: the
// PostgreSQL URL with its password masked, or the embedded file.
func (c Config) Database() string {
	if c.DatabaseURL != "" {
		return maskURL(c.DatabaseURL)
	}
	return c.DatabasePath
}
