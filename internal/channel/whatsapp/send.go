package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// timeNow is the clock of code without a Sender; tests leave it alone.
var timeNow = time.Now

// Sender delivers agents' replies through POST /{phone-number-id}/messages.
type Sender struct {
	API *API
	Now func() time.Time // nil: time.Now
}

var _ outbox.Sender = (*Sender)(nil)

// outMessage is the body of a send request.
type outMessage struct {
	MessagingProduct string    `json:"messaging_product"`
	RecipientType    string    `json:"recipient_type"`
	To               string    `json:"to,omitempty"`
	Recipient        string    `json:"recipient,omitempty"` // a business-scoped user id, for customers without a known number
	Type             string    `json:"type"`
	Context          *outCtx   `json:"context,omitempty"`
	Text             *outText  `json:"text,omitempty"`
	Image            *outMedia `json:"image,omitempty"`
	Document         *outMedia `json:"document,omitempty"`
}

type outCtx struct {
	MessageID string `json:"message_id"`
}

type outText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type outMedia struct {
	ID       string `json:"id"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// Send delivers one reply. Text goes as a text message quoting the
// customer's message; a file is uploaded first and sent as an image (JPEG,
// PNG) or a document (anything else), with the text as its caption when
// the text fits one. It returns the WhatsApp message id (wamid) of the
// message carrying the text, which the status webhooks name.
func (s *Sender) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ch := d.Channel
	if ch.Settings[SettingAccount] == "" || ch.Settings[SettingAccessToken] == "" {
		return "", &outbox.Error{Permanent: true, Body: errNotConfigured.Error()}
	}
	// No window known (zero) is left to WhatsApp, which answers 131047 if
	// it is closed.
	if !d.LastInbound.IsZero() && now().Sub(d.LastInbound) > Window {
		return "", &outbox.Error{Permanent: true, Body: windowClosed}
	}
	to := strings.TrimPrefix(strings.TrimSpace(d.To.ExternalID), "+")
	if to == "" {
		return "", &outbox.Error{Permanent: true, Body: "The conversation has no WhatsApp number to reply to."}
	}
	body := d.Message.Body
	if n := utf8.RuneCountInString(body); n > MaxText {
		return "", &outbox.Error{Permanent: true, Body: fmt.Sprintf("The reply is %d characters; WhatsApp takes at most %d in one message. Shorten it or split it.", n, MaxText)}
	}
	if strings.TrimSpace(body) == "" && len(d.Files) == 0 {
		return "", &outbox.Error{Permanent: true, Body: "The reply is empty."}
	}
	base := apiBase(ch.Settings) + "/" + url.PathEscape(ch.Settings[SettingAccount])

	// Upload first: an upload has no effect the customer sees, so a
	// failure there leaves nothing half sent.
	ids := make([]string, len(d.Files))
	for i, f := range d.Files {
		id, err := s.upload(ctx, ch, base, f, now())
		if err != nil {
			return "", err
		}
		ids[i] = id
	}

	newMsg := func(kind string) outMessage {
		m := outMessage{MessagingProduct: "whatsapp", RecipientType: "individual", Type: kind}
		if isDigits(to) {
			m.To = to
		} else {
			m.Recipient = to
		}
		return m
	}
	var msgs []outMessage
	caption := ""
	if strings.TrimSpace(body) != "" {
		if len(d.Files) > 0 && utf8.RuneCountInString(body) <= MaxCaption {
			caption = body
		} else {
			m := newMsg("text")
			m.Text = &outText{Body: body, PreviewURL: strings.Contains(body, "https://")}
			msgs = append(msgs, m)
		}
	}
	for i, f := range d.Files {
		md := &outMedia{ID: ids[i]}
		if i == 0 {
			md.Caption = caption
		}
		var m outMessage
		if f.ContentType == "image/jpeg" || f.ContentType == "image/png" {
			m = newMsg("image")
			m.Image = md
		} else {
			m = newMsg("document")
			md.Filename = channel.CleanName(f.Name)
			m.Document = md
		}
		msgs = append(msgs, m)
	}
	if r := d.Message.ReplyTo; r != "" {
		msgs[0].Context = &outCtx{MessageID: r}
	}

	first := ""
	for _, m := range msgs {
		id, err := s.post(ctx, ch, base+"/messages", m, now())
		if err != nil {
			return "", err
		}
		if first == "" {
			first = id
		}
	}
	return first, nil
}

// post sends one message and returns messages[0].id of the answer.
func (s *Sender) post(ctx context.Context, ch store.Channel, target string, m outMessage, now time.Time) (string, error) {
	payload, err := json.Marshal(m)
	if err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	var attempt channel.Attempt
	answer, err := s.do(attempt.Trace(ctx), ch, target, "application/json", payload, now)
	if oe := (*outbox.Error)(nil); err != nil && !errors.As(err, &oe) {
		// No answer to a message: the Cloud API has no idempotency key.
		return "", attempt.Failed(err, "WhatsApp")
	}
	if err != nil {
		return "", err
	}
	var out struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || len(out.Messages) == 0 || out.Messages[0].ID == "" {
		// Accepted, but without an id the receipts cannot be matched;
		// sending again would send twice.
		return "", nil
	}
	return out.Messages[0].ID, nil
}

// upload puts a reply's file on WhatsApp's servers: POST
// /{phone-number-id}/media as multipart/form-data with messaging_product,
// type and file. It returns the media id.
func (s *Sender) upload(ctx context.Context, ch store.Channel, base string, f store.Attachment, now time.Time) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("messaging_product", "whatsapp")
	_ = w.WriteField("type", f.ContentType)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, channel.CleanName(f.Name)))
	h.Set("Content-Type", f.ContentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	_, _ = part.Write(f.Data)
	if err := w.Close(); err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	answer, err := s.do(ctx, ch, base+"/media", w.FormDataContentType(), buf.Bytes(), now)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(answer, &out) != nil || out.ID == "" {
		return "", &outbox.Error{Body: "WhatsApp accepted the file without giving a media id."}
	}
	return out.ID, nil
}

// do POSTs body and returns a 2xx answer, or the classified error.
func (s *Sender) do(ctx context.Context, ch store.Channel, target, contentType string, body []byte, now time.Time) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, &outbox.Error{Permanent: true, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+ch.Settings[SettingAccessToken])
	req.Header.Set("Content-Type", contentType)
	resp, err := s.API.Client.Do(req)
	if err != nil {
		return nil, err // network trouble: temporary, unless post says otherwise
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return answer, nil
	}
	return nil, classify(resp, answer, now)
}
