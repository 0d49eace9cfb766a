package x

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
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// API calls X as the channel's account: it sends replies, checks the
// connection and downloads media. Nil Now and Nonce mean the clock and
// random nonces.
type API struct {
	Client *http.Client
	Now    func() time.Time
	Nonce  func() string
}

var (
	_ outbox.Sender   = (*API)(nil)
	_ channel.Checker = (*API)(nil)
	_ channel.Fetcher = (*API)(nil)
)

// MaxImageBytes is the largest image X takes in a post or Direct Message.
const MaxImageBytes = 5 << 20

// maxFetch bounds a media download.
const maxFetch = channel.MaxFileBytes

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) client() *http.Client {
	if a.Client != nil {
		return a.Client
	}
	return channel.HTTPClient(nil)
}

// call makes one signed request and reads at most limit bytes of the answer.
func (a *API) call(ctx context.Context, ch store.Channel, method, rawURL string, query url.Values, contentType string, body []byte, limit int64) (*http.Response, []byte, error) {
	target := rawURL
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	nonce := newNonce()
	if a.Nonce != nil {
		nonce = a.Nonce()
	}
	req.Header.Set("Authorization", credentials(ch).Authorization(method, rawURL, query, nonce, a.now().Unix()))
	req.Header.Set("User-Agent", "webcare")
	resp, err := a.client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, nil, err
	}
	return resp, answer, nil
}

func permanent(format string, args ...any) *outbox.Error {
	return &outbox.Error{Permanent: true, Body: fmt.Sprintf(format, args...)}
}

// Send posts a reply: a public reply to the customer's post
// (d.Message.ReplyTo) or a Direct Message to the customer (d.To). It
// returns the new post's id or the Direct Message event's id.
func (a *API) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	ch := d.Channel
	c := credentials(ch)
	if c.ConsumerKey == "" || c.ConsumerSecret == "" || c.Token == "" || c.TokenSecret == "" {
		return "", permanent("The channel is missing X's API key, API key secret, access token or access token secret: complete it in Admin → Channels.")
	}
	text := d.Message.Body
	private := d.Conversation.Visibility == store.Private
	if strings.TrimSpace(text) == "" && len(d.Files) == 0 {
		return "", permanent("The reply is empty: X accepts no post or Direct Message without text or an image.")
	}
	if private {
		if d.To.ExternalID == "" {
			return "", permanent("The customer has no X user id in webcare, so there is nobody to send the Direct Message to.")
		}
		if n := utf8.RuneCountInString(text); n > MaxDMLength {
			return "", permanent("The Direct Message is too long for X: %d characters of at most %d. Shorten it or split it in two.", n, MaxDMLength)
		}
		if len(d.Files) > 1 {
			return "", permanent("X allows one image per Direct Message: send the others in further messages.")
		}
	} else {
		if d.Message.ReplyTo == "" {
			return "", permanent("There is no post of the customer's to reply to, so the reply would go out as a post to all followers: answer by Direct Message instead.")
		}
		if w := Weight(text); w > MaxWeight {
			return "", permanent("The post is too long for X: it counts %d of %d characters (links count 23, emoji and CJK characters 2). Shorten it, or answer by Direct Message.", w, MaxWeight)
		}
		if len(d.Files) > 4 {
			return "", permanent("X allows at most 4 images per post.")
		}
	}
	var mediaIDs []string
	for _, f := range d.Files {
		id, err := a.upload(ctx, ch, f, private)
		if err != nil {
			return "", err
		}
		mediaIDs = append(mediaIDs, id)
	}
	base := apiBase(ch)
	var target string
	var payload any
	if private {
		target = base + "/2/dm_conversations/with/" + url.PathEscape(d.To.ExternalID) + "/messages"
		dm := dmRequest{Text: text}
		for _, id := range mediaIDs {
			dm.Attachments = append(dm.Attachments, dmAttachment{MediaID: id})
		}
		payload = dm
	} else {
		target = base + "/2/tweets"
		tw := tweetRequest{Text: text, Reply: &tweetReply{InReplyToTweetID: d.Message.ReplyTo}}
		if len(mediaIDs) > 0 {
			tw.Media = &tweetMedia{MediaIDs: mediaIDs}
		}
		payload = tw
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", &outbox.Error{Permanent: true, Err: err}
	}
	var attempt channel.Attempt
	resp, answer, err := a.call(attempt.Trace(ctx), ch, http.MethodPost, target, nil, "application/json", body, 64<<10)
	if err != nil && private {
		// Direct Messages have no idempotency key and no duplicate check.
		return "", attempt.Failed(err, "X")
	}
	if err != nil {
		// A retried post that went out meets X's duplicate check, which
		// duplicate settles: temporary.
		return "", err
	}
	if resp.StatusCode/100 == 2 {
		var out struct {
			Data struct {
				ID        string `json:"id"`
				DMEventID string `json:"dm_event_id"`
				DMConvID  string `json:"dm_conversation_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(answer, &out)
		if private {
			return out.Data.DMEventID, nil
		}
		return out.Data.ID, nil
	}
	e := a.failure(resp, answer, private)
	if !private && resp.StatusCode == http.StatusForbidden && isDuplicate(answer) {
		return a.duplicate(ctx, d, e)
	}
	return "", e
}

type tweetRequest struct {
	Text  string      `json:"text,omitempty"`
	Reply *tweetReply `json:"reply,omitempty"`
	Media *tweetMedia `json:"media,omitempty"`
}

type tweetReply struct {
	InReplyToTweetID string `json:"in_reply_to_tweet_id"`
}

type tweetMedia struct {
	MediaIDs []string `json:"media_ids"`
}

type dmRequest struct {
	Text        string         `json:"text,omitempty"`
	Attachments []dmAttachment `json:"attachments,omitempty"`
}

type dmAttachment struct {
	MediaID string `json:"media_id"`
}

// upload sends one image through POST /2/media/upload (multipart: media
// and media_category) and returns its media id.
func (a *API) upload(ctx context.Context, ch store.Channel, f store.Attachment, private bool) (string, error) {
	ct := f.ContentType
	if ct == "" {
		ct = channel.Sniff(f.Data)
	}
	if !channel.IsImage(ct) {
		return "", permanent("X takes only images (JPEG, PNG, GIF, WebP) with a reply; %q is %s.", f.Name, ct)
	}
	if len(f.Data) > MaxImageBytes {
		return "", permanent("The image %q is %d bytes; X takes images of at most 5 MB.", f.Name, len(f.Data))
	}
	category := "tweet_image"
	if private {
		category = "dm_image"
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("media_category", category)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="media"; filename="%s"`, strings.NewReplacer(`"`, "", "\\", "", "\r", "", "\n", "").Replace(channel.CleanName(f.Name))))
	h.Set("Content-Type", ct)
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(f.Data)
	_ = mw.Close()
	resp, answer, err := a.call(ctx, ch, http.MethodPost, apiBase(ch)+"/2/media/upload", nil, mw.FormDataContentType(), buf.Bytes(), 64<<10)
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", a.failure(resp, answer, private)
	}
	var out struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || out.Data.ID == "" {
		return "", &outbox.Error{Status: resp.StatusCode, Body: "X answered the image upload without a media id: " + channel.Excerpt(string(answer))}
	}
	return out.Data.ID, nil
}

// apiError holds the error shapes X answers with: the v2 problem
// ({"title", "detail", "type"}) and the older {"errors": [{"message",
// "code"}]}.
type apiError struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
	Errors []struct {
		Message string `json:"message"`
		Detail  string `json:"detail"`
		Title   string `json:"title"`
	} `json:"errors"`
}

func (e apiError) summary() string {
	var parts []string
	add := func(s string) {
		if s != "" && !containsString(parts, s) {
			parts = append(parts, s)
		}
	}
	add(e.Title)
	add(e.Detail)
	for _, x := range e.Errors {
		add(x.Message)
		add(x.Detail)
	}
	return strings.Join(parts, ": ")
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func isDuplicate(answer []byte) bool {
	return bytes.Contains(bytes.ToLower(answer), []byte("duplicate content"))
}

// failure turns an error answer into an outbox error: 429 waits for the
// rate limit window to reset, 5xx is retried, the rest is permanent and
// says in plain words what the agent can do.
func (a *API) failure(resp *http.Response, answer []byte, private bool) *outbox.Error {
	var ae apiError
	_ = json.Unmarshal(answer, &ae)
	said := ae.summary()
	if said == "" {
		said = channel.Excerpt(string(answer))
	}
	status := resp.StatusCode
	e := &outbox.Error{Status: status}
	x := fmt.Sprintf(" (X %d: %s)", status, channel.Excerpt(said))
	lower := strings.ToLower(said + " " + ae.Reason + " " + ae.Type)
	switch {
	case status == http.StatusTooManyRequests:
		e.RetryAfter = rateLimitWait(resp.Header, a.now())
		e.Body = "X's rate limit for the account is reached; the reply waits until it resets" + x
	case status >= 500:
		e.RetryAfter = apichannel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
		e.Body = "X is having trouble; the reply will be retried" + x
	case status == http.StatusUnauthorized:
		e.Permanent = true
		e.Body = "The access token was revoked or is wrong: reconnect the channel in Admin → Channels with a new access token and secret" + x
	case status == http.StatusForbidden && (strings.Contains(lower, "oauth1") || strings.Contains(lower, "client-not-enrolled") || strings.Contains(lower, "client-forbidden") || strings.Contains(lower, "app permissions")):
		e.Permanent = true
		e.Body = "The X app may not do this: in the Developer Portal set the app's permissions to Read, Write and Direct Messages, generate a new access token and secret, and reconnect the channel" + x
	case status == http.StatusForbidden && isDuplicate(answer):
		e.Permanent = true
		e.Body = "X refused the post because the account posted the same text recently: reword the reply and send it again" + x
	case status == http.StatusForbidden && (strings.Contains(lower, "too long") || strings.Contains(lower, "bit shorter")):
		e.Permanent = true
		e.Body = "The post is too long for X: shorten it, or answer by Direct Message" + x
	case status == http.StatusForbidden && private:
		e.Permanent = true
		e.Body = "X does not let the account send this customer a Direct Message: they may not accept messages from the account, or have blocked it. Answer in public, or ask them to message the account first" + x
	case status == http.StatusForbidden:
		e.Permanent = true
		e.Body = "X does not allow this reply: the customer may have limited who can reply, protected their posts or blocked the account" + x
	case status == http.StatusNotFound:
		e.Permanent = true
		e.Body = "What this answers no longer exists on X: the post was deleted or the customer's account is gone" + x
	case status == http.StatusRequestTimeout || status == http.StatusConflict:
		e.Body = "X did not finish the request; it will be retried" + x
	default:
		e.Permanent = true
		e.Body = "X did not accept the reply" + x
	}
	return e
}

// rateLimitWait is how long until X's rate limit resets: the 24-hour
// limits when they are spent, else x-rate-limit-reset (Unix seconds), else
// Retry-After.
func rateLimitWait(h http.Header, now time.Time) time.Duration {
	reset := int64(0)
	for _, p := range []string{"x-user-limit-24hour", "x-app-limit-24hour"} {
		if h.Get(p+"-remaining") == "0" {
			if n, err := strconv.ParseInt(h.Get(p+"-reset"), 10, 64); err == nil && n > reset {
				reset = n
			}
		}
	}
	if reset == 0 {
		if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("x-rate-limit-reset")), 10, 64); err == nil {
			reset = n
		}
	}
	if reset > 0 {
		d := time.Unix(min(reset, now.Unix()+7*24*3600), 0).Sub(now)
		return max(d, time.Second)
	}
	if d := apichannel.RetryAfter(h.Get("Retry-After"), now); d > 0 {
		return d
	}
	return time.Minute
}

// duplicate settles a "duplicate content" refusal of a public reply. X
// says it when a retry follows an attempt whose answer was lost (the post
// went out: success, with the post's id) and when the account posted the
// same words earlier to someone else (nothing went out: the agent must
// reword). The account's latest posts tell the two apart.
func (a *API) duplicate(ctx context.Context, d outbox.Delivery, refused *outbox.Error) (string, error) {
	account := d.Channel.Settings["account_id"]
	if account == "" {
		return "", refused
	}
	q := url.Values{"max_results": {"10"}, "tweet.fields": {"referenced_tweets"}}
	resp, answer, err := a.call(ctx, d.Channel, http.MethodGet, apiBase(d.Channel)+"/2/users/"+url.PathEscape(account)+"/tweets", q, "", nil, 1<<20)
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		if e := a.failure(resp, answer, false); !e.Permanent {
			return "", e
		}
		return "", refused
	}
	var out struct {
		Data []struct {
			ID   string `json:"id"`
			Text string `json:"text"`
			Refs []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"referenced_tweets"`
		} `json:"data"`
	}
	if json.Unmarshal(answer, &out) != nil {
		return "", refused
	}
	want := strings.TrimSpace(d.Message.Body)
	if want == "" {
		return "", refused
	}
	for _, t := range out.Data {
		for _, r := range t.Refs {
			// A reply's text starts with the @names X put in front.
			if r.Type == "replied_to" && r.ID == d.Message.ReplyTo && strings.HasSuffix(strings.TrimSpace(unescape(t.Text)), want) {
				return t.ID, nil
			}
		}
	}
	return "", refused
}

// Check calls GET /2/users/me as the account and names it.
func (a *API) Check(ctx context.Context, ch store.Channel) (string, error) {
	q := url.Values{"user.fields": {"username"}}
	resp, answer, err := a.call(ctx, ch, http.MethodGet, apiBase(ch)+"/2/users/me", q, "", nil, 64<<10)
	if err != nil {
		return "", fmt.Errorf("could not reach X: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return "", errors.New(a.failure(resp, answer, false).Body)
	}
	var out struct {
		Data struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Username string `json:"username"`
		} `json:"data"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || out.Data.ID == "" {
		return "", fmt.Errorf("X answered /2/users/me without a user: %s", channel.Excerpt(string(answer)))
	}
	who := fmt.Sprintf("@%s (%s), user id %s", out.Data.Username, out.Data.Name, out.Data.ID)
	if id := ch.Settings["account_id"]; id != "" && id != out.Data.ID {
		return who, fmt.Errorf("the access token belongs to %s, but the channel's account user id is %s: webcare would not recognise its own replies", who, id)
	}
	return who, nil
}

// Fetch downloads a photo a payload pointed at. Photos in posts are
// public (pbs.twimg.com); Direct Message media (ton.twitter.com) need the
// account's signature. Other hosts are refused, so a payload cannot make
// webcare fetch from anywhere else.
func (a *API) Fetch(ctx context.Context, ch store.Channel, ref string) (string, []byte, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", nil, fmt.Errorf("media reference %q: %w", ref, err)
	}
	api, _ := url.Parse(apiBase(ch))
	sign := false
	switch {
	case u.Scheme == "https" && (u.Host == "pbs.twimg.com"):
	case u.Scheme == "https" && u.Host == "ton.twitter.com":
		sign = true
	case api != nil && u.Scheme == api.Scheme && u.Host == api.Host:
		sign = true
	default:
		return "", nil, fmt.Errorf("media reference %q is not on an X media host", ref)
	}
	var resp *http.Response
	var data []byte
	if sign {
		resp, data, err = a.call(ctx, ch, http.MethodGet, u.Scheme+"://"+u.Host+u.EscapedPath(), u.Query(), "", nil, maxFetch+1)
	} else {
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
		if rerr != nil {
			return "", nil, rerr
		}
		resp, err = a.client().Do(req)
		if err == nil {
			defer resp.Body.Close()
			data, err = io.ReadAll(io.LimitReader(resp.Body, maxFetch+1))
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("fetching %s: %w", ref, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("fetching %s: X answered %d", ref, resp.StatusCode)
	}
	if len(data) > maxFetch {
		return "", nil, fmt.Errorf("fetching %s: larger than %d bytes", ref, maxFetch)
	}
	return path.Base(u.Path), data, nil
}
