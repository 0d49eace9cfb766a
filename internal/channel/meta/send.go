package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Sender delivers replies through the Graph API: direct messages through
// the Send API (POST /{page-id}/messages, or /me/messages for Instagram),
// public replies as comments (Facebook POST /{comment-id}/comments,
// Instagram POST /{comment-id}/replies).
type Sender struct {
	Kind   string // KindFacebook or KindInstagram
	Client *http.Client
	Now    func() time.Time

	mu   sync.Mutex
	done map[string]*progress // by delivery key: parts already sent
}

// progress remembers which parts of a multi-part reply (text, then each
// file as its own message) went out, so that a retry after a partial
// failure does not send the first parts twice.
type progress struct {
	ids  []string
	seen time.Time
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return channel.HTTPClient(nil)
}

// Send delivers one reply and returns Meta's id for it (the message id of
// its first part, or the new comment's id).
func (s *Sender) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	if d.Channel.Settings["access_token"] == "" {
		return "", &outbox.Error{Permanent: true, Body: "The channel has no access token: add the Page access token in Admin → Channels."}
	}
	if d.Conversation.Visibility == store.Public {
		return s.comment(ctx, d)
	}
	return s.direct(ctx, d)
}

// comment answers the customer's comment in public.
func (s *Sender) comment(ctx context.Context, d outbox.Delivery) (string, error) {
	target := d.Message.ReplyTo
	if target == "" {
		return "", &outbox.Error{Permanent: true, Body: "There is no comment to answer: this public conversation has no message from the customer with a " + s.Kind + " id."}
	}
	text := d.Message.Body
	if s.Kind == KindInstagram {
		if len(d.Files) > 0 {
			return "", &outbox.Error{Permanent: true, Body: "Instagram comment replies can only be text: remove the file, or move the conversation to private and send it there."}
		}
		return s.postParams(ctx, d, endpoint(d.Channel, target, "replies"), text)
	}
	switch len(d.Files) {
	case 0:
		return s.postParams(ctx, d, endpoint(d.Channel, target, "comments"), text)
	case 1:
		f := d.Files[0]
		if !strings.HasPrefix(f.ContentType, "image/") {
			return "", &outbox.Error{Permanent: true, Body: "A Facebook comment can carry one photo, not a " + f.ContentType + " file: send the document in a private message instead."}
		}
		parts := []formPart{{name: "message", value: text}, {name: "source", file: &f}}
		return s.postForm(ctx, d, endpoint(d.Channel, target, "comments"), parts)
	default:
		return "", &outbox.Error{Permanent: true, Body: "A Facebook comment can carry one photo only."}
	}
}

// direct sends a Messenger or Instagram direct message.
func (s *Sender) direct(ctx context.Context, d outbox.Delivery) (string, error) {
	if d.To.ExternalID == "" && d.Origin == "" {
		return "", &outbox.Error{Permanent: true, Body: "The customer has no " + s.Kind + " id to send to."}
	}
	now := s.now()
	age := now.Sub(d.LastInbound)
	open := !d.LastInbound.IsZero() && age < Window
	// A private conversation moved from a comment, in which the customer
	// has not written privately within the window: the first message must
	// be Meta's "private reply" to that comment.
	if d.Origin != "" && !open {
		if len(d.Files) > 0 {
			return "", &outbox.Error{Permanent: true, Body: "A private reply to a comment is a single text message: send the text now and the file once the customer answers."}
		}
		// A visitor post on the Page has an id "{page-id}_{n}"; a comment
		// "{post-n}_{n}". Private replies name the one or the other.
		field := "comment_id"
		if acct := d.Channel.Settings["account_id"]; s.Kind == KindFacebook && acct != "" && strings.HasPrefix(d.Origin, acct+"_") {
			field = "post_id"
		}
		body := map[string]any{
			"recipient": map[string]string{field: d.Origin},
			"message":   map[string]string{"text": d.Message.Body},
		}
		return s.postJSON(ctx, d, s.messagesURL(d), body)
	}
	if d.To.ExternalID == "" {
		return "", &outbox.Error{Permanent: true, Body: "The customer has no " + s.Kind + " id to send to."}
	}
	envelope := map[string]any{
		"recipient":      map[string]string{"id": d.To.ExternalID},
		"messaging_type": "RESPONSE",
	}
	switch {
	case open || d.LastInbound.IsZero():
		// A zero LastInbound is unknown rather than old: let Meta judge.
	case age < HumanAgentWindow:
		envelope["messaging_type"] = "MESSAGE_TAG"
		envelope["tag"] = "HUMAN_AGENT"
	default:
		app := "Messenger"
		if s.Kind == KindInstagram {
			app = "Instagram"
		}
		return "", &outbox.Error{Permanent: true, Body: fmt.Sprintf("The customer last wrote %d days ago: %s allows a human-agent reply for 7 days after the customer's last message, and nothing after that until they write again.", int(age.Hours()/24), app)}
	}

	// Text and each file go as separate messages; remember what went out
	// so that a retry continues where the last attempt stopped.
	type part struct {
		text string
		file *store.Attachment
	}
	var parts []part
	if strings.TrimSpace(d.Message.Body) != "" {
		parts = append(parts, part{text: d.Message.Body})
	}
	for i := range d.Files {
		parts = append(parts, part{file: &d.Files[i]})
	}
	if len(parts) == 0 {
		return "", &outbox.Error{Permanent: true, Body: "The reply is empty."}
	}
	sent := s.sentParts(d.Key)
	for i := len(sent); i < len(parts); i++ {
		p := parts[i]
		var mid string
		var err error
		if p.file == nil {
			body := clone(envelope)
			body["message"] = map[string]string{"text": p.text}
			mid, err = s.postJSON(ctx, d, s.messagesURL(d), body)
		} else {
			mid, err = s.sendFile(ctx, d, envelope, p.file)
		}
		if err != nil {
			return "", err
		}
		sent = append(sent, mid)
		s.remember(d.Key, sent)
	}
	s.forget(d.Key)
	return sent[0], nil
}

func (s *Sender) sendFile(ctx context.Context, d outbox.Delivery, envelope map[string]any, f *store.Attachment) (string, error) {
	kind := "file"
	if strings.HasPrefix(f.ContentType, "image/") {
		kind = "image"
	} else if s.Kind == KindInstagram && f.ContentType != "application/pdf" {
		return "", &outbox.Error{Permanent: true, Body: "Instagram messages can carry images and PDFs, not " + f.ContentType + "."}
	}
	recipient, _ := json.Marshal(envelope["recipient"])
	message, _ := json.Marshal(map[string]any{"attachment": map[string]any{"type": kind, "payload": map[string]bool{"is_reusable": false}}})
	parts := []formPart{
		{name: "recipient", value: string(recipient)},
		{name: "messaging_type", value: envelope["messaging_type"].(string)},
	}
	if tag, ok := envelope["tag"].(string); ok {
		parts = append(parts, formPart{name: "tag", value: tag})
	}
	parts = append(parts, formPart{name: "message", value: string(message)}, formPart{name: "filedata", file: f})
	return s.postForm(ctx, d, s.messagesURL(d), parts)
}

// messagesURL is the Send API endpoint: the Page's id for Facebook, "me"
// for Instagram (the Page behind a Page token, or the Instagram account
// behind an Instagram Login token; the Instagram account id itself is not
// a node a Page token can post messages to).
func (s *Sender) messagesURL(d outbox.Delivery) string {
	node := d.Channel.Settings["account_id"]
	if s.Kind == KindInstagram || node == "" {
		node = "me"
	}
	return endpoint(d.Channel, node, "messages")
}

func (s *Sender) postJSON(ctx context.Context, d outbox.Delivery, target string, body any) (string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	return s.do(ctx, d, target, "application/json", raw)
}

// postParams posts a comment's message as a Graph parameter
// (form-encoded: the documented "?message=" without putting the text in
// the URL).
func (s *Sender) postParams(ctx context.Context, d outbox.Delivery, target, message string) (string, error) {
	return s.do(ctx, d, target, "application/x-www-form-urlencoded", []byte(url.Values{"message": {message}}.Encode()))
}

type formPart struct {
	name  string
	value string
	file  *store.Attachment
}

func (s *Sender) postForm(ctx context.Context, d outbox.Delivery, target string, parts []formPart) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.file == nil {
			if err := mw.WriteField(p.name, p.value); err != nil {
				return "", &outbox.Error{Permanent: true, Err: err}
			}
			continue
		}
		h := make(textproto.MIMEHeader)
		name := strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(p.file.Name)
		if name == "" {
			name = "file"
		}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, name))
		ct := p.file.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		w, err := mw.CreatePart(h)
		if err == nil {
			_, err = w.Write(p.file.Data)
		}
		if err != nil {
			return "", &outbox.Error{Permanent: true, Err: err}
		}
	}
	if err := mw.Close(); err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	return s.do(ctx, d, target, mw.FormDataContentType(), buf.Bytes())
}

func (s *Sender) do(ctx context.Context, d outbox.Delivery, target, contentType string, body []byte) (string, error) {
	var attempt channel.Attempt
	req, err := http.NewRequestWithContext(attempt.Trace(ctx), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", &outbox.Error{Permanent: true, Body: "The channel's API base URL is not valid.", Err: err}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+d.Channel.Settings["access_token"])
	resp, err := s.client().Do(req)
	if err != nil {
		return "", attempt.Failed(err, platformName(s.Kind))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", outboxError(readGraphError(resp, s.now()), s.Kind)
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out struct {
		ID        string      `json:"id"`
		MessageID string      `json:"message_id"`
		Error     *GraphError `json:"error"`
	}
	err = json.Unmarshal(raw, &out)
	if err == nil && out.Error != nil && out.ID == "" && out.MessageID == "" {
		out.Error.HTTPStatus = resp.StatusCode
		return "", outboxError(out.Error, s.Kind)
	}
	if err != nil || (out.ID == "" && out.MessageID == "") {
		// Sent, but we cannot tell its id: retrying would send it twice.
		return "", &outbox.Error{Permanent: true, Status: resp.StatusCode, Body: "Meta accepted the reply but did not say its id; it was probably delivered: check the conversation on " + s.Kind + " before resending. Answer: " + channel.Excerpt(string(raw))}
	}
	if out.MessageID != "" {
		return out.MessageID, nil
	}
	return out.ID, nil
}

func (s *Sender) sentParts(key string) []string {
	if key == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.done[key]; p != nil {
		return append([]string(nil), p.ids...)
	}
	return nil
}

func (s *Sender) remember(key string, ids []string) {
	if key == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		s.done = make(map[string]*progress)
	}
	now := s.now()
	for k, p := range s.done { // keep the map small: retries come within hours
		if now.Sub(p.seen) > 48*time.Hour {
			delete(s.done, k)
		}
	}
	s.done[key] = &progress{ids: append([]string(nil), ids...), seen: now}
}

func (s *Sender) forget(key string) {
	s.mu.Lock()
	delete(s.done, key)
	s.mu.Unlock()
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
