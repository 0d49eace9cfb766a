package mastodon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// TextLimit is the longest post, in characters: the default of
// mastodon.social and most servers.
const TextLimit = 500

// SettingMaxCharacters optionally overrides TextLimit for one channel (the
// server's configuration.statuses.max_characters, which Check reports).
const SettingMaxCharacters = "max_characters"

// PublicVisibility is the visibility of replies in public conversations.
// "unlisted" keeps the reply in the thread and on the account's profile,
// where the customer and anyone reading the thread see it, without
// pushing support chatter into the server's public timelines.
const PublicVisibility = "unlisted"

// Send posts a reply with POST /api/v1/statuses. The Idempotency-Key header
// carries d.Key: Mastodon answers a repeat within an hour with the status
// it already created, so a retry after a crash does not post twice.
func (c *Client) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	s, err := settings(d.Channel)
	if err != nil {
		return "", &outbox.Error{Permanent: true, Body: err.Error()}
	}
	text := strings.TrimSpace(d.Message.Body)
	if acct := strings.TrimPrefix(strings.TrimSpace(d.To.Handle), "@"); acct != "" && !mentions(text, acct) {
		// Mastodon delivers a status only to the accounts it mentions.
		text = "@" + acct + " " + text
	}
	limit := TextLimit
	if n, err := strconv.Atoi(d.Channel.Settings[SettingMaxCharacters]); err == nil && n > 0 {
		limit = n
	}
	if n := Length(text); n > limit {
		return "", &outbox.Error{Permanent: true, Body: fmt.Sprintf(
			"The reply is %d characters long, the @mention of the customer included; this Mastodon server accepts at most %d. Shorten it and send again.", n, limit)}
	}
	if text == "" && len(d.Files) == 0 {
		return "", &outbox.Error{Permanent: true, Body: "The reply is empty."}
	}
	form := url.Values{}
	form.Set("status", text)
	if d.Message.ReplyTo != "" {
		form.Set("in_reply_to_id", d.Message.ReplyTo)
	}
	if d.Conversation.Visibility == store.Visibility("private") {
		form.Set("visibility", "direct")
	} else {
		vis, err := c.replyVisibility(ctx, s, d.Message.ReplyTo)
		if err != nil {
			return "", c.sendError(err)
		}
		form.Set("visibility", vis)
	}
	// Mastodon takes an ISO 639 code: "pt" of "pt-BR".
	if lang, _, _ := strings.Cut(d.Conversation.Language, "-"); len(lang) == 2 || len(lang) == 3 {
		form.Set("language", strings.ToLower(lang))
	}
	for i, f := range d.Files {
		id, err := c.upload(ctx, s, d.Key, i, f)
		if err != nil {
			return "", err
		}
		form.Add("media_ids[]", id)
	}
	var st struct {
		ID string `json:"id"`
	}
	hdr := http.Header{"Idempotency-Key": {d.Key}}
	_, err = c.do(ctx, s, http.MethodPost, "/api/v1/statuses", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", hdr, &st)
	if err != nil {
		return "", c.sendError(err)
	}
	if st.ID == "" {
		return "", &outbox.Error{Body: "Mastodon answered without a status id"}
	}
	return st.ID, nil
}

// replyVisibility is PublicVisibility, or the visibility of the status
// answered when that is narrower: as Mastodon's own apps do, a reply to a
// followers-only or direct status is never shown to more people than the
// status itself.
func (c *Client) replyVisibility(ctx context.Context, s server, replyTo string) (string, error) {
	if replyTo == "" {
		return PublicVisibility, nil
	}
	var st struct {
		Visibility string `json:"visibility"`
	}
	if _, err := c.do(ctx, s, http.MethodGet, "/api/v1/statuses/"+url.PathEscape(replyTo), nil, "", nil, &st); err != nil {
		return "", err
	}
	switch st.Visibility {
	case "private", "direct":
		return st.Visibility, nil
	}
	return PublicVisibility, nil
}

// upload sends one file with POST /api/v2/media and waits briefly for a
// file the server processes in the background (202, url null).
func (c *Client) upload(ctx context.Context, s server, key string, i int, f store.Attachment) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, channel.CleanName(f.Name)))
	ct := f.ContentType
	if ct == "" {
		ct = channel.Sniff(f.Data)
	}
	h.Set("Content-Type", ct)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	part.Write(f.Data)
	w.Close()
	var m struct {
		ID  string  `json:"id"`
		URL *string `json:"url"`
	}
	if _, err := c.do(ctx, s, http.MethodPost, "/api/v2/media", &buf, w.FormDataContentType(), nil, &m); err != nil {
		return "", c.sendError(err)
	}
	if m.ID == "" {
		return "", &outbox.Error{Body: "Mastodon answered the upload without a media id"}
	}
	for try := 0; m.URL == nil && try < 10; try++ {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		// 206 Partial Content while processing (url still null), 200 when done.
		_, err := c.do(ctx, s, http.MethodGet, "/api/v1/media/"+url.PathEscape(m.ID), nil, "", nil, &m)
		if err != nil {
			return "", c.sendError(err)
		}
	}
	return m.ID, nil
}

// sendError turns an API failure into an outbox error: 429 waits until
// X-RateLimit-Reset, 5xx is retried, the documented 4xx are permanent with
// plain words for the agent.
func (c *Client) sendError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err // network trouble: temporary
	}
	e := &outbox.Error{Status: ae.Status, Err: err}
	switch {
	case ae.Status == http.StatusTooManyRequests:
		e.Body = "Mastodon's rate limit was reached: " + ae.Message
		e.RetryAfter = rateLimitReset(ae.Header, c.now())
	case ae.Status >= 500 || ae.Status == http.StatusRequestTimeout:
		e.Body = ae.Message
	case ae.Status == http.StatusUnauthorized:
		e.Permanent = true
		e.Body = "Mastodon refused the access token (revoked or expired): create a new one in Mastodon under Preferences → Development and paste it in Admin → Channels. (" + ae.Message + ")"
	case ae.Status == http.StatusForbidden:
		e.Permanent = true
		e.Body = "Mastodon does not let this account post: the token lacks the write:statuses or write:media scope, or the account is limited or suspended. (" + ae.Message + ")"
	case ae.Status == http.StatusNotFound:
		e.Permanent = true
		e.Body = "The post being answered no longer exists on Mastodon, or this account may not see it. (" + ae.Message + ")"
	case ae.Status == http.StatusUnprocessableEntity:
		e.Permanent = true
		e.Body = "Mastodon rejected the reply: " + ae.Message
	default:
		e.Permanent = true
		e.Body = "Mastodon rejected the reply (" + strconv.Itoa(ae.Status) + "): " + ae.Message
	}
	return e
}

// rateLimitReset reads X-RateLimit-Reset, an ISO 8601 time, falling back on
// Retry-After.
func rateLimitReset(h http.Header, now time.Time) time.Duration {
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			if t.After(now) {
				return t.Sub(now)
			}
			return 0
		}
	}
	return apichannel.RetryAfter(h.Get("Retry-After"), now)
}

// mentions reports whether text already mentions @acct.
func mentions(text, acct string) bool {
	lt, la := strings.ToLower(text), "@"+strings.ToLower(acct)
	for i := 0; ; {
		j := strings.Index(lt[i:], la)
		if j < 0 {
			return false
		}
		end := i + j + len(la)
		before := i + j
		okBefore := before == 0 || !isHandleByte(lt[before-1])
		okAfter := end == len(lt) || !(isHandleByte(lt[end]) || lt[end] == '@')
		if okBefore && okAfter {
			return true
		}
		i = end
	}
}

func isHandleByte(b byte) bool {
	return b == '_' || b == '.' || b == '-' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
}

var (
	urlRE     = regexp.MustCompile(`https?://[^\s]+`)
	mentionRE = regexp.MustCompile(`@([A-Za-z0-9_]+)@[A-Za-z0-9.\-]+[A-Za-z0-9]`)
)

// Length counts characters as Mastodon does: every link counts as 23,
// and a mention of a remote account counts only its local part.
func Length(text string) int {
	text = urlRE.ReplaceAllString(text, strings.Repeat("x", 23))
	text = mentionRE.ReplaceAllString(text, "@$1")
	return utf8.RuneCountInString(text)
}
