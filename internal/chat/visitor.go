package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Visitor is a web chat visitor over HTTP, as the widget is: the demo and
// tests chat with it. Not safe for concurrent use.
type Visitor struct {
	BaseURL   string // webcare's, without a trailing slash
	ChannelID int64
	Client    *http.Client // nil: a client with a 20 s timeout
	// ID and Token are the visitor's identity, set by Start; set them to
	// resume a visitor.
	ID, Token string
	// Origin, when set, is sent as the Origin header, as a browser would.
	Origin string
}

// APIError is a refusal from the visitor API.
type APIError struct {
	Status     int
	Message    string
	RetryAfter time.Duration
}

func (e *APIError) Error() string { return fmt.Sprintf("webchat: %d: %s", e.Status, e.Message) }

func (v *Visitor) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.BaseURL+"/chat/"+strconv.FormatInt(v.ChannelID, 10)+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if v.Token != "" {
		req.Header.Set("Authorization", "Bearer "+v.Token)
	}
	if v.Origin != "" {
		req.Header.Set("Origin", v.Origin)
	}
	c := v.Client
	if c == nil {
		c = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return &APIError{Status: resp.StatusCode, Message: e.Error, RetryAfter: time.Duration(secs) * time.Second}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Session is what Start learns.
type Session = sessionAnswer

// Start starts a session, or resumes the one ID and Token name.
func (v *Visitor) Start(ctx context.Context, page string) (Session, error) {
	var s Session
	if err := v.do(ctx, http.MethodPost, "/session", SessionStart{Page: page}, &s); err != nil {
		return s, err
	}
	v.ID, v.Token = s.VisitorID, s.Token
	return s, nil
}

// PostResult says what webcare did with a posted message.
type PostResult = postAnswer

// Send posts a message; p.ID empty gets a random one. Posting the same ID
// again is a retry: stored once.
func (v *Visitor) Send(ctx context.Context, p Post) (PostResult, error) {
	if p.ID == "" {
		p.ID = RandomID()
	}
	var r PostResult
	err := v.do(ctx, http.MethodPost, "/messages", p, &r)
	return r, err
}

// History returns the visitor's messages after the given message id.
func (v *Visitor) History(ctx context.Context, after int64) ([]WireMessage, error) {
	var h historyAnswer
	err := v.do(ctx, http.MethodGet, "/messages?after="+strconv.FormatInt(after, 10), nil, &h)
	return h.Messages, err
}

// SaveProfile leaves a name and e-mail address.
func (v *Visitor) SaveProfile(ctx context.Context, p Profile) error {
	return v.do(ctx, http.MethodPost, "/profile", p, nil)
}

// RandomID makes a message id as the widget does.
func RandomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Fake is the webchat channel.Fake: webcare is the platform, so there is
// no API to stand in for; Post chats as a visitor over HTTP, one visitor
// per message author.
type Fake struct {
	secret string
	client *http.Client

	mu       sync.Mutex
	visitors map[string]*fakeVisitor // by channel and author ExternalID
}

type fakeVisitor struct {
	mu sync.Mutex // one request at a time per visitor
	v  *Visitor
}

var _ channel.Fake = (*Fake)(nil)

// NewFake returns a Fake; client nil uses a 20 s timeout.
func NewFake(client *http.Client) *Fake {
	b := make([]byte, 24)
	rand.Read(b)
	return &Fake{secret: hex.EncodeToString(b), client: client, visitors: map[string]*fakeVisitor{}}
}

// Settings are a webchat channel's settings: a token secret, any origin.
func (f *Fake) Settings() map[string]string {
	return map[string]string{SettingSecret: f.secret, SettingOrigins: ""}
}

// Post makes m.From write m.Text in the chat of ch at baseURL, starting a
// session for that author the first time. m.PlatformID becomes the
// widget's message id (hashed when it does not fit), so posting the same
// message twice stores it once; m.From.Handle is sent as the e-mail
// address when it is one.
func (f *Fake) Post(ctx context.Context, baseURL string, ch store.Channel, m channel.Message) error {
	key := strconv.FormatInt(ch.ID, 10) + "\x00" + m.From.ExternalID
	f.mu.Lock()
	fv := f.visitors[key]
	if fv == nil {
		fv = &fakeVisitor{v: &Visitor{BaseURL: strings.TrimRight(baseURL, "/"), ChannelID: ch.ID, Client: f.client}}
		f.visitors[key] = fv
	}
	f.mu.Unlock()
	fv.mu.Lock()
	defer fv.mu.Unlock()
	v := fv.v
	if v.Token == "" {
		if _, err := v.Start(ctx, ""); err != nil {
			return err
		}
	}
	p := Post{ID: m.PlatformID, Text: m.Text, Name: m.From.Name}
	if checkClientID(p.ID) != nil {
		sum := sha256.Sum256([]byte(m.PlatformID))
		p.ID = hex.EncodeToString(sum[:16])
	}
	if strings.Contains(m.From.Handle, "@") {
		p.Email = m.From.Handle
	}
	_, err := v.Send(ctx, p)
	return err
}

// Visitor returns a copy of the visitor Post uses for an author on a
// channel (its id and token), or nil.
func (f *Fake) Visitor(chID int64, externalID string) *Visitor {
	f.mu.Lock()
	fv := f.visitors[strconv.FormatInt(chID, 10)+"\x00"+externalID]
	f.mu.Unlock()
	if fv == nil {
		return nil
	}
	fv.mu.Lock()
	defer fv.mu.Unlock()
	c := *fv.v
	return &c
}

// Close does nothing: the fake holds no server.
func (f *Fake) Close() {}
