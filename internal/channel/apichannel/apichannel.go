// Package apichannel delivers replies for "api" channels: the integration
// that feeds messages in gets the agents' replies posted to its callback URL.
//
// Each delivery is a JSON POST with headers
//
//	Idempotency-Key:     the same on every attempt of one reply; dedupe on it
//	X-Webcare-Timestamp: Unix seconds
//	X-Webcare-Signature: sha256=HEX(HMAC-SHA256(callback_secret, timestamp + "." + body))
//
// A 2xx answer means delivered; its JSON may carry {"id": "..."}, the
// integration's id for the message. 429 and 5xx are retried (honouring
// Retry-After); other 4xx answers are permanent failures.
package apichannel

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/outbox"
)

// Kind is the channel kind of integrations.
const Kind = "api"

// New is the "api" kind: any system that can make an HTTP call feeds
// messages in through the channel's ingest endpoint and gets the replies
// at its callback URL. client nil: a 20-second timeout.
func New(client *http.Client) channel.Adapter {
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	return channel.Adapter{
		Kind:   Kind,
		Sender: &Sender{Client: client},
		Fields: []channel.Field{
			{Key: "callback_url", Label: "Callback URL", Help: "Where webcare posts the agents' replies (signed with the callback secret)."},
		},
		Files: channel.FileRule{MaxFiles: 5, MaxBytes: 10 << 20, Types: channel.ImagesAndPDFs},
	}
}

// Sender posts replies to an api channel's callback URL.
type Sender struct {
	Client *http.Client
	Now    func() time.Time
}

var _ outbox.Sender = (*Sender)(nil)

// Payload is the body of a delivery.
type Payload struct {
	ID             string    `json:"id"` // webcare's idempotency key for this reply
	ConversationID int64     `json:"conversation_id"`
	MessageID      int64     `json:"message_id"`
	To             Recipient `json:"to"`
	Text           string    `json:"text"`
	ReplyTo        string    `json:"reply_to,omitempty"`
	Private        bool      `json:"private"`
	SentAt         time.Time `json:"sent_at"`
	Attachments    []File    `json:"attachments,omitempty"`
}

// File is a reply's file, in base64, with its sniffed type.
type File struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Data        []byte `json:"data"`
}

// Recipient is the customer as the integration named them.
type Recipient struct {
	ID     string `json:"id"`
	Handle string `json:"handle,omitempty"`
	Name   string `json:"name,omitempty"`
}

// Send delivers one reply. Without a callback URL there is nowhere to push
// to, so that is a permanent failure the agent sees.
func (s *Sender) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	target := d.Channel.Settings["callback_url"]
	if target == "" {
		return "", &outbox.Error{Permanent: true, Body: "channel has no callback_url; set one to deliver replies"}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	p := Payload{
		ID: d.Key, ConversationID: d.Conversation.ID, MessageID: d.Message.ID,
		To:   Recipient{ID: d.To.ExternalID, Handle: d.To.Handle, Name: d.To.DisplayName},
		Text: d.Message.Body, ReplyTo: d.Message.ReplyTo, Private: d.Conversation.Visibility == "private", SentAt: d.Message.SentAt,
	}
	for _, f := range d.Files {
		p.Attachments = append(p.Attachments, File{Name: f.Name, ContentType: f.ContentType, SHA256: f.SHA256, Data: f.Data})
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", d.Key)
	req.Header.Set("X-Webcare-Timestamp", ts)
	req.Header.Set("X-Webcare-Signature", "sha256="+Sign(d.Channel.Settings["callback_secret"], ts, body))
	client := http.Client{Timeout: 30 * time.Second}
	if s.Client != nil {
		client = *s.Client
	}
	// A redirect would turn the POST into a GET without the reply and
	// could still answer 2xx: never follow one.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return "", err // network trouble: temporary
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var out struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(answer, &out)
		return out.ID, nil
	}
	e := &outbox.Error{Status: resp.StatusCode, Body: channel.Excerpt(string(answer))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now())
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusConflict:
		// temporary too
	default:
		e.Permanent = true
	}
	return "", e
}

// Sign is the hex HMAC-SHA256 of timestamp + "." + body under secret.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		// Bounded, so that an absurd value cannot wrap around into a
		// negative or short wait.
		return time.Duration(min(n, math.MaxInt64/int64(time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
