package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig names an OpenID Connect provider (Keycloak, Entra ID, Google
// Workspace, Authentik…) that people may sign in with.
type OIDCConfig struct {
	Issuer       string // the provider's issuer URL; discovery is read from it
	ClientID     string
	ClientSecret string // empty for a public client, which PKCE alone protects
	RedirectURL  string // this server's callback, BASE_URL/login/oidc/callback
	// HTTPClient reaches the provider; nil: one with a 10 s timeout.
	HTTPClient *http.Client
}

// OIDC signs people in with the authorisation code flow and PKCE. The
// provider's discovery document is read on first use and kept, so a
// provider that is down when webcare starts delays nothing else.
type OIDC struct {
	cfg    OIDCConfig
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	fetching chan struct{} // closed when the discovery under way ends
	failed   error         // the last discovery's failure, kept briefly
	failedAt time.Time
}

// retryAfter is how long a failed discovery is remembered: a provider
// that is down is asked again soon, but not by every sign-in at once.
const retryAfter = 5 * time.Second

// NewOIDC prepares sign-in with cfg's provider without contacting it.
func NewOIDC(cfg OIDCConfig) *OIDC {
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{cfg: cfg, client: c}
}

func (o *OIDC) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.client)
}

// discover reads the provider's configuration once it answers. One
// discovery runs at a time; every sign-in waits for it no longer than its
// own request lasts.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	if o.provider != nil {
		defer o.mu.Unlock()
		return o.provider, nil
	}
	if o.failed != nil && time.Since(o.failedAt) < retryAfter {
		defer o.mu.Unlock()
		return nil, o.failed
	}
	done := o.fetching
	if done == nil {
		done = make(chan struct{})
		o.fetching = done
		go o.fetch(done)
	}
	o.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("single sign-on provider %s: %w", o.cfg.Issuer, ctx.Err())
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	return nil, o.failed
}

// fetch runs one discovery, bounded by the client's timeout.
func (o *OIDC) fetch(done chan struct{}) {
	p, err := oidc.NewProvider(o.ctx(context.Background()), o.cfg.Issuer)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.failed, o.failedAt = fmt.Errorf("single sign-on provider %s: %w", o.cfg.Issuer, err), time.Now()
	} else {
		o.provider, o.failed = p, nil
	}
	o.fetching = nil
	close(done)
}

func (o *OIDC) oauth(p *oidc.Provider) oauth2.Config {
	return oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// OIDCStart is one sign-in under way: the values the callback must find
// again (kept in a cookie of the browser that started it), and where to
// send that browser.
type OIDCStart struct {
	State, Nonce, Verifier string
	URL                    string
}

// Start begins a sign-in: a fresh state, nonce and PKCE verifier, and the
// provider's authorisation URL with them.
func (o *OIDC) Start(ctx context.Context) (OIDCStart, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return OIDCStart{}, err
	}
	s := OIDCStart{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier()}
	cfg := o.oauth(p)
	s.URL = cfg.AuthCodeURL(s.State, oidc.Nonce(s.Nonce), oauth2.S256ChallengeOption(s.Verifier))
	return s, nil
}

// OIDCIdentity is who the provider says signed in.
type OIDCIdentity struct {
	Subject string
	Email   string // lower case
	Name    string
}

// ErrOIDCDenied is a sign-in the provider or its answer refused: the
// person is told, and nothing is logged as a server fault.
var ErrOIDCDenied = errors.New("single sign-on refused")

// Finish exchanges the callback's code for tokens, with the verifier of
// its start, and checks the ID token: signature, issuer, audience, expiry
// and nonce. The e-mail address must be there and not marked unverified.
func (o *OIDC) Finish(ctx context.Context, code string, start OIDCStart) (OIDCIdentity, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return OIDCIdentity{}, err
	}
	cfg := o.oauth(p)
	tok, err := cfg.Exchange(o.ctx(ctx), code, oauth2.VerifierOption(start.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return OIDCIdentity{}, fmt.Errorf("%w: the provider refused the code (%s)", ErrOIDCDenied, re.ErrorCode)
		}
		return OIDCIdentity{}, fmt.Errorf("single sign-on token exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return OIDCIdentity{}, fmt.Errorf("%w: the provider sent no ID token", ErrOIDCDenied)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(o.ctx(ctx), raw)
	if err != nil {
		return OIDCIdentity{}, fmt.Errorf("%w: the ID token does not check out: %v", ErrOIDCDenied, err)
	}
	if idt.Nonce == "" || idt.Nonce != start.Nonce {
		return OIDCIdentity{}, fmt.Errorf("%w: the ID token is not for this sign-in (nonce)", ErrOIDCDenied)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return OIDCIdentity{}, fmt.Errorf("%w: unreadable claims: %v", ErrOIDCDenied, err)
	}
	// An address the provider says it has not verified could be anyone's:
	// it would let a stranger claim an agent's account.
	if claims.Email == "" || (claims.EmailVerified != nil && !*claims.EmailVerified) {
		return OIDCIdentity{}, fmt.Errorf("%w: the provider gave no verified e-mail address", ErrOIDCDenied)
	}
	// Only plain ASCII addresses: lower-casing maps look-alikes such as
	// the Kelvin sign (U+212A) onto ASCII letters, and "Kate" would sign in
	// as "kate".
	for _, r := range claims.Email {
		if r > unicode.MaxASCII || unicode.IsSpace(r) {
			return OIDCIdentity{}, fmt.Errorf("%w: the e-mail address has characters other than plain ASCII", ErrOIDCDenied)
		}
	}
	if idt.Subject == "" {
		return OIDCIdentity{}, fmt.Errorf("%w: the ID token names no subject", ErrOIDCDenied)
	}
	return OIDCIdentity{Subject: idt.Subject, Email: strings.ToLower(strings.TrimSpace(claims.Email)), Name: strings.TrimSpace(claims.Name)}, nil
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
