// Package bluesky connects webcare to a Bluesky account through XRPC calls
// to its PDS (or the bsky.social entryway): mentions, replies and quotes
// are polled with app.bsky.notification.listNotifications, replies are
// written with com.atproto.repo.createRecord, private answers go through
// Bluesky chat (chat.bsky.convo, proxied by the PDS).
//
// It signs in with an App Password (com.atproto.server.createSession) and
// keeps one session per channel in memory, refreshing it with
// com.atproto.server.refreshSession when the access token expires.
package bluesky

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Kind is the channel kind this package serves.
const Kind = "bluesky"

// Setting keys in store.Channel.Settings.
const (
	SettingAPIBase     = "api_base"
	SettingHandle      = "handle"
	SettingAppPassword = "app_password"
	SettingAccountID   = "account_id"
	// SettingCDNBase is where images are fetched (default DefaultCDN).
	SettingCDNBase = "cdn_base"
)

// Defaults.
const (
	DefaultAPIBase = "https://bsky.social"
	DefaultCDN     = "https://cdn.bsky.app"
	// ChatProxy is the service the PDS forwards chat.bsky.* calls to.
	ChatProxy = "did:web:api.bsky.chat#bsky_chat"
)

// Fields are the settings an admin gives for a Bluesky channel.
var Fields = []channel.Field{
	{Key: SettingHandle, Label: "Handle", Required: true,
		Help: "The account's handle (e.g. support.example.com) or its DID."},
	{Key: SettingAppPassword, Label: "App password", Secret: true, Required: true,
		Help: "In Bluesky: Settings → Privacy and security → App passwords → Add App Password; tick \"Allow access to your direct messages\" so webcare can answer privately. Never use the account's main password."},
	{Key: SettingAPIBase, Label: "PDS address", Default: DefaultAPIBase,
		Help: "The account's PDS or entryway. Leave https://bsky.social for accounts hosted by Bluesky."},
	{Key: SettingAccountID, Label: "Account DID",
		Help: "The account's DID (did:plc:…). Optional: Test connection shows it; webcare reads it from the session."},
	{Key: SettingCDNBase, Label: "Image CDN", Default: DefaultCDN,
		Help: "Where customers' pictures are downloaded from. Leave https://cdn.bsky.app unless your network reaches Bluesky's images through another address."},
}

// Client talks XRPC for any number of channels; it is the adapter's
// Poller, Sender, Checker and Fetcher. Safe for concurrent use.
type Client struct {
	HTTP *http.Client
	// Now is the clock; nil: time.Now.
	Now func() time.Time

	mu       sync.Mutex
	sessions map[string]*session
	// loginMu serialises first sign-ins, so that a poll and a send
	// starting together sign in once (Bluesky allows 30 sign-ins per 5
	// minutes per account).
	loginMu sync.Mutex
}

var (
	_ channel.Poller  = (*Client)(nil)
	_ channel.Checker = (*Client)(nil)
	_ channel.Fetcher = (*Client)(nil)
	_ outbox.Sender   = (*Client)(nil)
)

// New returns the Bluesky adapter. A nil client gets a 20-second timeout
// and never follows a redirect on POST.
func New(client *http.Client) channel.Adapter {
	c := NewClient(client)
	return channel.Adapter{
		Kind:      Kind,
		Fields:    Fields,
		Poller:    c,
		Sender:    c,
		Checker:   c,
		Fetcher:   c,
		PollEvery: 30 * time.Second,
		TextLimit: 300, // graphemes per post
		// A PDS allows 5,000 write points an hour (a create costs 3):
		// 1,666 posts an hour, so 0.4 a second stays below it.
		Rate: 0.4,
	}
}

// NewClient returns a Client; nil client as in New.
func NewClient(client *http.Client) *Client {
	client = channel.HTTPClient(client)
	return &Client{HTTP: client, sessions: map[string]*session{}}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// account is one channel's connection settings.
type account struct {
	base     string
	handle   string
	password string
}

func (a account) key(chID int64) string {
	h := sha256.Sum256([]byte(a.base + "\x00" + a.handle + "\x00" + a.password))
	return strconv.FormatInt(chID, 10) + ":" + string(h[:8])
}

func settings(ch store.Channel) (account, error) {
	a := account{
		base:     strings.TrimRight(strings.TrimSpace(ch.Settings[SettingAPIBase]), "/"),
		handle:   strings.TrimPrefix(strings.TrimSpace(ch.Settings[SettingHandle]), "@"),
		password: strings.TrimSpace(ch.Settings[SettingAppPassword]),
	}
	if a.base == "" {
		a.base = DefaultAPIBase
	}
	if u, err := url.Parse(a.base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return a, fmt.Errorf("the PDS address %q is not an http(s) URL", a.base)
	}
	if a.handle == "" || a.password == "" {
		return a, errors.New("the channel needs the account's handle and an App Password: set them in Admin → Channels")
	}
	return a, nil
}

// session is a signed-in account. mu serialises refreshes.
type session struct {
	mu      sync.Mutex
	access  string
	refresh string
	did     string
	handle  string
}

func (s *session) tokens() (access, did string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access, s.did
}

// xrpcError is an XRPC error answer: {"error": "Name", "message": "..."}.
type xrpcError struct {
	Status  int
	Name    string
	Message string
	Header  http.Header
}

func (e *xrpcError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("bluesky answered %d %s: %s", e.Status, e.Name, e.Message)
	}
	return fmt.Sprintf("bluesky answered %d %s", e.Status, e.Name)
}

// call makes one XRPC request with a bearer token (none for ""). in, when
// not nil, is sent as JSON (a procedure: POST); otherwise it is a query
// (GET) with q.
func (c *Client) call(ctx context.Context, base, token, nsid string, q url.Values, in, out any, hdr http.Header) error {
	u := base + "/xrpc/" + nsid
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	method := http.MethodGet
	var body io.Reader
	if in != nil {
		method = http.MethodPost
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &xrpcError{Status: resp.StatusCode, Header: resp.Header}
		var x struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &x) == nil && x.Error != "" {
			e.Name, e.Message = x.Error, x.Message
		} else {
			e.Name = http.StatusText(resp.StatusCode)
			e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		return e
	}
	switch out := out.(type) {
	case nil:
	case *[]byte: // the caller decodes: the body is not read twice
		*out = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("bluesky %s: %w: %v", nsid, channel.ErrPayload, err)
		}
	}
	return nil
}

type sessionOut struct {
	AccessJwt  string `json:"accessJwt"`
	RefreshJwt string `json:"refreshJwt"`
	Did        string `json:"did"`
	Handle     string `json:"handle"`
}

// login signs in with the App Password and stores the session.
func (c *Client) login(ctx context.Context, chID int64, a account) (*session, error) {
	var out sessionOut
	in := map[string]string{"identifier": a.handle, "password": a.password}
	if err := c.call(ctx, a.base, "", "com.atproto.server.createSession", nil, in, &out, nil); err != nil {
		return nil, err
	}
	if out.AccessJwt == "" || out.Did == "" {
		return nil, fmt.Errorf("createSession: %w: no token or did", channel.ErrPayload)
	}
	s := &session{access: out.AccessJwt, refresh: out.RefreshJwt, did: out.Did, handle: out.Handle}
	c.mu.Lock()
	c.sessions[a.key(chID)] = s
	c.mu.Unlock()
	return s, nil
}

// session returns the channel's session, signing in the first time.
func (c *Client) session(ctx context.Context, chID int64, a account) (*session, error) {
	c.mu.Lock()
	s := c.sessions[a.key(chID)]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	s = c.sessions[a.key(chID)]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	return c.login(ctx, chID, a)
}

// renew refreshes s after the access token used failed as expired. Calls
// that failed at the same time refresh once: whoever comes second sees a
// new token and just retries.
func (c *Client) renew(ctx context.Context, chID int64, a account, s *session, used string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access != used {
		return nil
	}
	var out sessionOut
	err := c.call(ctx, a.base, s.refresh, "com.atproto.server.refreshSession", nil, struct{}{}, &out, nil)
	if err == nil && out.AccessJwt != "" {
		s.access, s.refresh = out.AccessJwt, out.RefreshJwt
		if out.Did != "" {
			s.did = out.Did
		}
		return nil
	}
	var xe *xrpcError
	if err != nil && !errors.As(err, &xe) {
		return err // network trouble
	}
	// The refresh token is gone too: sign in again.
	var in sessionOut
	if err := c.call(ctx, a.base, "", "com.atproto.server.createSession", nil,
		map[string]string{"identifier": a.handle, "password": a.password}, &in, nil); err != nil {
		return err
	}
	s.access, s.refresh, s.did = in.AccessJwt, in.RefreshJwt, in.Did
	return nil
}

func expired(err error) bool {
	var xe *xrpcError
	if !errors.As(err, &xe) {
		return false
	}
	return xe.Name == "ExpiredToken" || (xe.Status == http.StatusUnauthorized && (xe.Name == "InvalidToken" || xe.Name == "AuthenticationRequired"))
}

// authed calls nsid with the channel's session, refreshing it once when the
// access token has expired. It returns the session's DID.
func (c *Client) authed(ctx context.Context, ch store.Channel, nsid string, q url.Values, in, out any, hdr http.Header) (string, error) {
	a, err := settings(ch)
	if err != nil {
		return "", err
	}
	s, err := c.session(ctx, ch.ID, a)
	if err != nil {
		return "", err
	}
	token, did := s.tokens()
	err = c.call(ctx, a.base, token, nsid, q, in, out, hdr)
	if err != nil && expired(err) {
		if err := c.renew(ctx, ch.ID, a, s, token); err != nil {
			return did, err
		}
		token, did = s.tokens()
		err = c.call(ctx, a.base, token, nsid, q, in, out, hdr)
	}
	return did, err
}

// plain turns sign-in and API failures into words an admin understands.
func plain(err error) error {
	var xe *xrpcError
	if !errors.As(err, &xe) {
		return err
	}
	switch {
	case xe.Name == "AuthFactorTokenRequired":
		return fmt.Errorf("Bluesky asks for a confirmation code: the password is the account's main password; create an App Password under Settings → Privacy and security → App passwords and use that (%s)", xe.Name)
	case xe.Name == "AccountTakedown" || xe.Name == "AccountDeactivated":
		return fmt.Errorf("the Bluesky account is suspended or deactivated (%s: %s)", xe.Name, xe.Message)
	case xe.Status == http.StatusUnauthorized:
		return fmt.Errorf("Bluesky refused the handle or App Password (revoked or mistyped): create a new App Password and paste it in Admin → Channels (%s: %s)", xe.Name, xe.Message)
	case xe.Status == http.StatusTooManyRequests:
		return fmt.Errorf("Bluesky's rate limit was reached (sign-ins are limited to 30 per 5 minutes); try again later (%s)", xe.Message)
	}
	return err
}

// Check signs in afresh with the App Password and reads the profile with
// app.bsky.actor.getProfile.
func (c *Client) Check(ctx context.Context, ch store.Channel) (string, error) {
	a, err := settings(ch)
	if err != nil {
		return "", err
	}
	s, err := c.login(ctx, ch.ID, a)
	if err != nil {
		return "", plain(err)
	}
	_, did := s.tokens()
	var p struct {
		Did         string `json:"did"`
		Handle      string `json:"handle"`
		DisplayName string `json:"displayName"`
		Followers   int    `json:"followersCount"`
	}
	if _, err := c.authed(ctx, ch, "app.bsky.actor.getProfile", url.Values{"actor": {did}}, nil, &p, nil); err != nil {
		return "", plain(err)
	}
	out := fmt.Sprintf("@%s (%s), %d followers", p.Handle, p.Did, p.Followers)
	if p.DisplayName != "" {
		out = p.DisplayName + " " + out
	}
	if id := ch.Settings[SettingAccountID]; id != "" && id != did {
		return out, fmt.Errorf("signed in as %s, but the channel's account DID is %s", did, id)
	}
	return out, nil
}
