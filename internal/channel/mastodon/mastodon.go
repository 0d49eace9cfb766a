// Package mastodon connects webcare to an account on a Mastodon server
// through the server's REST API: mentions are polled from
// GET /api/v1/notifications, replies are posted with POST /api/v1/statuses.
//
// Mastodon pushes nothing to applications (its web push needs a browser
// subscription), so the adapter is a Poller, a Sender, a Checker and a
// Fetcher for the mentions' media.
package mastodon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Kind is the channel kind this package serves.
const Kind = "mastodon"

// Setting keys in store.Channel.Settings.
const (
	SettingAPIBase     = "api_base"
	SettingAccessToken = "access_token"
	SettingAccountID   = "account_id"
)

// Polling and paging figures.
const (
	// PageSize is the documented maximum of limit for notifications
	// (default 40, maximum 80); 40 keeps each page small.
	PageSize = 40
	// FirstPoll is how many of the newest mentions the first poll of a
	// new channel imports: enough to show the questions that are probably
	// still waiting, without flooding the inbox with the account's history.
	FirstPoll = 20
	// MaxPages bounds one poll; a longer burst is fetched by the next poll
	// from where this one stopped, so nothing is lost.
	MaxPages = 10
	// MaxMedia bounds a fetched media file: Mastodon's own limit for
	// images is 16 MB (videos are larger and stay on the server, linked).
	MaxMedia = channel.MaxFileBytes
)

// Fields are the settings an admin gives for a Mastodon channel.
var Fields = []channel.Field{
	{Key: SettingAPIBase, Label: "Server", Required: true,
		Help: "The address of the Mastodon server the account lives on, e.g. https://mastodon.social."},
	{Key: SettingAccessToken, Label: "Access token", Secret: true, Required: true,
		Help: "In Mastodon: Preferences → Development → New application, with the scopes profile (or read:accounts), read:notifications, read:statuses, write:statuses and write:media; save, open the application and copy \"Your access token\"."},
	{Key: SettingAccountID, Label: "Account id",
		Help: "The numeric id of the account. Optional: Test connection shows it, and webcare looks it up itself when it is empty."},
}

// Client talks to Mastodon servers for any number of channels. It is the
// Poller, Sender, Checker and Fetcher of the adapter; safe for concurrent use.
type Client struct {
	HTTP *http.Client
	// Now is the clock; nil: time.Now.
	Now func() time.Time

	mu    sync.Mutex
	own   map[string]string       // server + token hash → our account id
	media map[string]*http.Client // per server host: HTTP for media, see mediaClient
}

// mediaClient is HTTP for media: to the public internet, and to the
// server itself, which may be on a private address; a redirect from the
// server to any other private address is refused as well.
func (c *Client) mediaClient(server string) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.media == nil {
		c.media = map[string]*http.Client{}
	}
	m, ok := c.media[server]
	if !ok {
		m = channel.PublicOnly(c.HTTP, server)
		c.media[server] = m
	}
	return m
}

var (
	_ channel.Poller  = (*Client)(nil)
	_ channel.Checker = (*Client)(nil)
	_ channel.Fetcher = (*Client)(nil)
	_ outbox.Sender   = (*Client)(nil)
)

// New returns the Mastodon adapter. A nil client gets a 20-second timeout
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
		TextLimit: TextLimit,
		Files:     channel.FileRule{MaxFiles: 4, MaxBytes: 8 << 20, Types: channel.Images}, // 4 media; 8 MB is the common image limit
		// Mastodon allows 300 API calls per 5 minutes per account: one
		// reply a second leaves room for polls and media uploads.
		Rate: 1,
	}
}

// NewClient returns a Client; nil client as in New.
func NewClient(client *http.Client) *Client {
	client = channel.HTTPClient(client)
	return &Client{HTTP: client, own: map[string]string{}}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// server is one channel's API base and token.
type server struct {
	base  string
	token string
}

func settings(ch store.Channel) (server, error) {
	base := strings.TrimRight(strings.TrimSpace(ch.Settings[SettingAPIBase]), "/")
	token := strings.TrimSpace(ch.Settings[SettingAccessToken])
	if base == "" {
		return server{}, errors.New("the channel has no Mastodon server address (api_base): set it in Admin → Channels")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return server{}, fmt.Errorf("the Mastodon server address %q is not an http(s) URL", base)
	}
	if token == "" {
		return server{}, errors.New("the channel has no access token: set it in Admin → Channels")
	}
	return server{base: base, token: token}, nil
}

// apiError is a non-2xx answer of the server.
type apiError struct {
	Status  int
	Message string // the server's "error" text, or the body shortened
	Header  http.Header
}

func (e *apiError) Error() string {
	return fmt.Sprintf("mastodon answered %d: %s", e.Status, e.Message)
}

// do sends one request and decodes a 2xx JSON answer into out (nil: the
// body is discarded). It returns the response headers.
func (c *Client) do(ctx context.Context, s server, method, path string, body io.Reader, contentType string, extra http.Header, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.Header, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, &apiError{Status: resp.StatusCode, Message: errorText(data), Header: resp.Header}
	}
	switch out := out.(type) {
	case nil:
	case *[]byte: // the caller decodes: the body is not read twice
		*out = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("mastodon %s %s: %w: %v", method, path, channel.ErrPayload, err)
		}
	}
	return resp.Header, nil
}

// errorText reads Mastodon's {"error": "..."} (plus error_description
// for OAuth errors), or shortens whatever else came.
func errorText(data []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		if e.Description != "" {
			return e.Error + ": " + e.Description
		}
		return e.Error
	}
	s := strings.TrimSpace(string(data))
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// Account is the part of Mastodon's Account entity webcare reads.
type Account struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Acct        string `json:"acct"`
	DisplayName string `json:"display_name"`
	URL         string `json:"url"`
}

// ownID is our account id: the account_id setting, else looked up once
// with verify_credentials and remembered.
func (c *Client) ownID(ctx context.Context, ch store.Channel, s server) (string, error) {
	if id := strings.TrimSpace(ch.Settings[SettingAccountID]); id != "" {
		return id, nil
	}
	h := sha256.Sum256([]byte(s.base + "\x00" + s.token))
	key := hex.EncodeToString(h[:])
	c.mu.Lock()
	id, ok := c.own[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	var a Account
	if _, err := c.do(ctx, s, http.MethodGet, "/api/v1/accounts/verify_credentials", nil, "", nil, &a); err != nil {
		return "", err
	}
	if a.ID == "" {
		return "", fmt.Errorf("verify_credentials: %w: no account id", channel.ErrPayload)
	}
	c.mu.Lock()
	c.own[key] = a.ID
	c.mu.Unlock()
	return a.ID, nil
}

// Check verifies the token with GET /api/v1/accounts/verify_credentials and
// reads the server's post length from GET /api/v2/instance.
func (c *Client) Check(ctx context.Context, ch store.Channel) (string, error) {
	s, err := settings(ch)
	if err != nil {
		return "", err
	}
	var a Account
	if _, err := c.do(ctx, s, http.MethodGet, "/api/v1/accounts/verify_credentials", nil, "", nil, &a); err != nil {
		return "", plainError(err)
	}
	host := s.base
	if u, err := url.Parse(s.base); err == nil {
		host = u.Host
	}
	out := fmt.Sprintf("@%s@%s (account id %s)", a.Acct, host, a.ID)
	if a.DisplayName != "" {
		out = a.DisplayName + " " + out
	}
	if max := c.maxChars(ctx, s); max > 0 {
		out += fmt.Sprintf("; this server allows %d characters per post", max)
	}
	if id := ch.Settings[SettingAccountID]; id != "" && id != a.ID {
		return out, fmt.Errorf("the token belongs to account %s, but the channel's account id is %s", a.ID, id)
	}
	return out, nil
}

// maxChars is configuration.statuses.max_characters of GET /api/v2/instance,
// 0 when the server does not say.
func (c *Client) maxChars(ctx context.Context, s server) int {
	var inst struct {
		Configuration struct {
			Statuses struct {
				MaxCharacters int `json:"max_characters"`
			} `json:"statuses"`
		} `json:"configuration"`
	}
	if _, err := c.do(ctx, s, http.MethodGet, "/api/v2/instance", nil, "", nil, &inst); err != nil {
		return 0
	}
	return inst.Configuration.Statuses.MaxCharacters
}

// plainError turns an API error into words an admin understands.
func plainError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("the access token was refused (revoked or mistyped): create a new one in Mastodon under Preferences → Development and paste it in Admin → Channels (%s)", ae.Message)
	case http.StatusForbidden:
		return fmt.Errorf("the access token lacks a scope or the account is suspended: it needs profile (or read:accounts), read:notifications, read:statuses, write:statuses and write:media (%s)", ae.Message)
	case http.StatusNotFound:
		return fmt.Errorf("no Mastodon API at this address: check the server address (%s)", ae.Message)
	}
	return err
}
