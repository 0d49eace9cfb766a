// Package xfake stands in for X in tests and the demo: the parts of the
// X API v2 the x adapter calls, checking OAuth 1.0a signatures for real,
// and customers whose mentions and Direct Messages arrive at webcare as
// signed Account Activity API deliveries.
package xfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/x"
	"github.com/webcare/webcare/internal/store"
)

// Request is one call the fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Status is what the fake answered.
	Status int
}

// Sent is a post or Direct Message created through the fake.
type Sent struct {
	ID      string
	Text    string
	ReplyTo string // public replies
	To      string // Direct Messages: the participant
	Media   []string
	Private bool
}

type failure struct {
	status int
	body   string
	header http.Header
}

// Fake is an X API stand-in. Its zero value is not usable: call New.
type Fake struct {
	// The app's and the account's credentials, and who the account is.
	ConsumerKey, ConsumerSecret, AccessToken, TokenSecret string
	AccountID, Username, Name                             string

	srv *httptest.Server

	mu       sync.Mutex
	reqs     []Request
	fails    []failure
	sent     []Sent
	media    map[string][]byte
	uploaded map[string]string // media id → category
	nonces   map[string]bool
	seq      int64
}

var _ channel.Fake = (*Fake)(nil)

// Documented error bodies, for FailNext.
const (
	Unauthorized     = `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`
	Duplicate        = `{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}`
	DMNotAllowed     = `{"detail":"You are not permitted to send Direct Messages to this user.","type":"about:blank","title":"Forbidden","status":403}`
	ReplyNotAllowed  = `{"detail":"Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.","type":"about:blank","title":"Forbidden","status":403}`
	NotEnrolled      = `{"client_id":"101010","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.","registration_url":"https://developer.x.com/en/portal/projects-and-apps","title":"Client Forbidden","required_enrollment":"Appropriate Level of API Access","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}`
	OAuth1Permission = `{"title":"Forbidden","type":"about:blank","status":403,"detail":"Your client app is not configured with the appropriate oauth1 app permissions for this endpoint."}`
	TooManyRequests  = `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`
	ServiceUnavail   = `{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}`
)

// New starts a fake X on 127.0.0.1 for the account @webcare_demo.
func New() *Fake {
	f := &Fake{
		ConsumerKey:    "xvz1evFS4wEEPTGEFPHBog",
		ConsumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
		AccessToken:    "1849000000000000001-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
		TokenSecret:    "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
		AccountID:      "1849000000000000001",
		Username:       "webcare_demo",
		Name:           "Webcare Demo",
		media:          map[string][]byte{},
		uploaded:       map[string]string{},
		nonces:         map[string]bool{},
		seq:            1850000000000000000,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2/tweets", f.createTweet)
	mux.HandleFunc("POST /2/dm_conversations/with/{participant}/messages", f.createDM)
	mux.HandleFunc("POST /2/media/upload", f.uploadMedia)
	mux.HandleFunc("GET /2/users/me", f.me)
	mux.HandleFunc("GET /2/users/{id}/tweets", f.timeline)
	mux.HandleFunc("GET /media/{name}", f.serveMedia)
	mux.HandleFunc("GET /media/dm/{name}", f.serveMedia) // like ton.twitter.com: signed requests only
	f.srv = httptest.NewServer(f.record(mux))
	return f
}

// URL is the fake's API base.
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Settings point an X channel at the fake.
func (f *Fake) Settings() map[string]string {
	return map[string]string{
		"consumer_key":        f.ConsumerKey,
		"consumer_secret":     f.ConsumerSecret,
		"access_token":        f.AccessToken,
		"access_token_secret": f.TokenSecret,
		"account_id":          f.AccountID,
		"api_base":            f.srv.URL,
	}
}

// Requests returns what the fake received so far, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// Sent returns the posts and Direct Messages created so far.
func (f *Fake) Sent() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Sent(nil), f.sent...)
}

// FailNext makes the next n API calls fail with status: 429 comes with
// X's x-rate-limit-* headers (reset in 60 s), 5xx and others with the
// documented body for the status. FailNextWith gives the body.
func (f *Fake) FailNext(n, status int) {
	body := fmt.Sprintf(`{"title":%q,"type":"about:blank","status":%d,"detail":%q}`, http.StatusText(status), status, http.StatusText(status))
	switch status {
	case http.StatusTooManyRequests:
		body = TooManyRequests
	case http.StatusUnauthorized:
		body = Unauthorized
	case http.StatusServiceUnavailable:
		body = ServiceUnavail
	}
	f.FailNextWith(n, status, body)
}

// FailNextWith makes the next n API calls answer status with body, one of
// the documented error bodies above or any other.
func (f *Fake) FailNextWith(n, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		h := http.Header{}
		if status == http.StatusTooManyRequests {
			h.Set("x-rate-limit-limit", "100")
			h.Set("x-rate-limit-remaining", "0")
			h.Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Add(60*time.Second).Unix(), 10))
		}
		f.fails = append(f.fails, failure{status: status, body: body, header: h})
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader notes the status for Requests.
func (r *recorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }

// record logs every request, serves queued failures, and checks the
// OAuth 1.0a signature of API calls before the handler runs.
func (f *Fake) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			f.mu.Lock()
			f.reqs = append(f.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, Status: rec.status})
			f.mu.Unlock()
		}()
		f.mu.Lock()
		var fail *failure
		if len(f.fails) > 0 {
			fl := f.fails[0]
			f.fails = f.fails[1:]
			fail = &fl
		}
		f.mu.Unlock()
		if fail != nil {
			for k, v := range fail.header {
				rec.Header()[k] = v
			}
			writeJSON(rec, fail.status, fail.body)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/2/") || strings.HasPrefix(r.URL.Path, "/media/dm/") {
			if err := f.checkOAuth(r, body); err != nil {
				rec.Header().Set("www-authenticate", `OAuth realm="https://api.x.com"`)
				writeJSON(rec, http.StatusUnauthorized, Unauthorized)
				return
			}
		}
		next.ServeHTTP(rec, r)
	})
}

// checkOAuth verifies the Authorization header as X does: the consumer
// key and token are the account's, the signature matches the method, URL,
// query, form body and oauth_* parameters under both secrets, the
// timestamp is recent and the nonce unused.
func (f *Fake) checkOAuth(r *http.Request, body []byte) error {
	params, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_signature_method", "oauth_timestamp", "oauth_token"} {
		if params.Get(k) == "" {
			return fmt.Errorf("%s missing", k)
		}
	}
	if params.Get("oauth_consumer_key") != f.ConsumerKey || params.Get("oauth_token") != f.AccessToken {
		return errors.New("unknown consumer key or token")
	}
	if params.Get("oauth_signature_method") != "HMAC-SHA1" || params.Get("oauth_version") != "" && params.Get("oauth_version") != "1.0" {
		return errors.New("unsupported signature method or version")
	}
	ts, err := strconv.ParseInt(params.Get("oauth_timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return errors.New("timestamp out of range")
	}
	got := params.Get("oauth_signature")
	params.Del("oauth_signature")
	for k, vs := range r.URL.Query() {
		params[k] = append(params[k], vs...)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return err
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	want := x.Signature(r.Method, "http://"+r.Host+r.URL.EscapedPath(), params, f.ConsumerSecret, f.TokenSecret)
	if got != want {
		return errors.New("signature mismatch")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	nonce := params.Get("oauth_nonce")
	if f.nonces[nonce] {
		return errors.New("nonce reused")
	}
	f.nonces[nonce] = true
	return nil
}

// ParseAuthorization reads an "OAuth k="v", …" header into its decoded
// parameters.
func ParseAuthorization(h string) (url.Values, error) {
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return nil, errors.New("not an OAuth authorization")
	}
	out := url.Values{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, fmt.Errorf("malformed parameter %q", part)
		}
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(v[1 : len(v)-1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed encoding in %q", part)
		}
		out.Add(dk, dv)
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	b, _ := json.Marshal(map[string]any{"title": title, "detail": detail, "type": "about:blank", "status": status})
	writeJSON(w, status, string(b))
}

func invalid(w http.ResponseWriter, msg string) {
	b, _ := json.Marshal(map[string]any{
		"errors": []map[string]any{{"parameters": map[string]any{}, "message": msg}},
		"title":  "Invalid Request", "detail": "One or more parameters to your request was invalid.",
		"type": "https://api.twitter.com/2/problems/invalid-request",
	})
	writeJSON(w, http.StatusBadRequest, string(b))
}

func (f *Fake) isUploaded(id, category string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.uploaded[id] == category
}

// nextID hands out snowflake-sized ids; f.mu must be held.
func (f *Fake) nextID() string {
	f.seq++
	return strconv.FormatInt(f.seq, 10)
}

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

func (f *Fake) createTweet(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r) {
		invalid(w, "Content-Type must be application/json")
		return
	}
	var in struct {
		Text  *string `json:"text"`
		Reply *struct {
			InReplyToTweetID string `json:"in_reply_to_tweet_id"`
		} `json:"reply"`
		Media *struct {
			MediaIDs []string `json:"media_ids"`
		} `json:"media"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		invalid(w, "The request body is not valid JSON for this endpoint: "+err.Error())
		return
	}
	text := ""
	if in.Text != nil {
		text = *in.Text
	}
	var mediaIDs []string
	if in.Media != nil {
		mediaIDs = in.Media.MediaIDs
	}
	if text == "" && len(mediaIDs) == 0 {
		invalid(w, "text or media is required")
		return
	}
	if x.Weight(text) > x.MaxWeight {
		problem(w, http.StatusForbidden, "Forbidden", "Your Tweet text is too long. For more information on how X counts characters, visit https://docs.x.com/fundamentals/counting-characters.")
		return
	}
	if len(mediaIDs) > 4 {
		invalid(w, "media.media_ids: at most 4 items")
		return
	}
	for _, id := range mediaIDs {
		if !f.isUploaded(id, "tweet_image") {
			invalid(w, "media.media_ids: "+id+" is not a media id uploaded for posts")
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sent {
		if !s.Private && text != "" && s.Text == text {
			writeJSON(w, http.StatusForbidden, Duplicate)
			return
		}
	}
	s := Sent{ID: f.nextID(), Text: text, Media: mediaIDs}
	if in.Reply != nil {
		s.ReplyTo = in.Reply.InReplyToTweetID
	}
	f.sent = append(f.sent, s)
	b, _ := json.Marshal(map[string]any{"data": map[string]any{"id": s.ID, "text": text, "edit_history_tweet_ids": []string{s.ID}}})
	writeJSON(w, http.StatusCreated, string(b))
}

func (f *Fake) createDM(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r) {
		invalid(w, "Content-Type must be application/json")
		return
	}
	participant := r.PathValue("participant")
	if _, err := strconv.ParseUint(participant, 10, 64); err != nil {
		invalid(w, "participant_id: must be a numeric user id")
		return
	}
	var in struct {
		Text        *string `json:"text"`
		Attachments []struct {
			MediaID string `json:"media_id"`
		} `json:"attachments"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		invalid(w, "The request body is not valid JSON for this endpoint: "+err.Error())
		return
	}
	text := ""
	if in.Text != nil {
		text = *in.Text
	}
	if text == "" && len(in.Attachments) == 0 {
		invalid(w, "text or attachments is required")
		return
	}
	if utf8.RuneCountInString(text) > x.MaxDMLength || len(in.Attachments) > 1 {
		invalid(w, "text: at most 10000 characters; attachments: at most 1 item")
		return
	}
	if participant == f.AccountID {
		problem(w, http.StatusForbidden, "Forbidden", "You cannot send a Direct Message to yourself.")
		return
	}
	var media []string
	for _, a := range in.Attachments {
		if !f.isUploaded(a.MediaID, "dm_image") {
			invalid(w, "attachments: "+a.MediaID+" is not a media id uploaded for Direct Messages")
			return
		}
		media = append(media, a.MediaID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Sent{ID: f.nextID(), Text: text, To: participant, Private: true, Media: media}
	f.sent = append(f.sent, s)
	a, b := f.AccountID, participant
	if len(a) > len(b) || len(a) == len(b) && a > b {
		a, b = b, a
	}
	out, _ := json.Marshal(map[string]any{"data": map[string]any{"dm_conversation_id": a + "-" + b, "dm_event_id": s.ID}})
	writeJSON(w, http.StatusCreated, string(out))
}

func (f *Fake) uploadMedia(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		invalid(w, "Content-Type must be multipart/form-data")
		return
	}
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		invalid(w, "malformed multipart body: "+err.Error())
		return
	}
	category := r.FormValue("media_category")
	switch category {
	case "tweet_image", "dm_image":
	default:
		invalid(w, "media_category: must be tweet_image or dm_image here, not "+strconv.Quote(category))
		return
	}
	file, _, err := r.FormFile("media")
	if err != nil {
		invalid(w, "media is required")
		return
	}
	defer file.Close()
	data, _ := io.ReadAll(io.LimitReader(file, x.MaxImageBytes+1))
	if len(data) > x.MaxImageBytes {
		invalid(w, "media: images may be at most 5242880 bytes")
		return
	}
	if !channel.IsImage(channel.Sniff(data)) {
		invalid(w, "media: not a supported image (JPEG, PNG, GIF, WEBP)")
		return
	}
	f.mu.Lock()
	id := f.nextID()
	f.uploaded[id] = category
	f.mu.Unlock()
	out, _ := json.Marshal(map[string]any{"data": map[string]any{
		"id": id, "media_key": "3_" + id, "size": len(data), "expires_after_secs": 86400,
		"image": map[string]any{"image_type": channel.Sniff(data)},
	}})
	writeJSON(w, http.StatusOK, string(out))
}

func (f *Fake) me(w http.ResponseWriter, r *http.Request) {
	out, _ := json.Marshal(map[string]any{"data": map[string]any{"id": f.AccountID, "name": f.Name, "username": f.Username}})
	writeJSON(w, http.StatusOK, string(out))
}

// timeline answers GET /2/users/{id}/tweets with the posts created so
// far, newest first; each reply starts with the @name X puts in front.
func (f *Fake) timeline(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != f.AccountID {
		problem(w, http.StatusNotFound, "Not Found Error", "Could not find user with id: ["+r.PathValue("id")+"].")
		return
	}
	max := 10
	if n, err := strconv.Atoi(r.URL.Query().Get("max_results")); err == nil {
		if n < 5 || n > 100 {
			invalid(w, "max_results: must be between 5 and 100")
			return
		}
		max = n
	}
	f.mu.Lock()
	var data []map[string]any
	for i := len(f.sent) - 1; i >= 0 && len(data) < max; i-- {
		s := f.sent[i]
		if s.Private {
			continue
		}
		t := map[string]any{"id": s.ID, "text": s.Text, "edit_history_tweet_ids": []string{s.ID}}
		if s.ReplyTo != "" {
			t["text"] = "@customer " + s.Text
			t["referenced_tweets"] = []map[string]string{{"type": "replied_to", "id": s.ReplyTo}}
		}
		data = append(data, t)
	}
	f.mu.Unlock()
	out, _ := json.Marshal(map[string]any{"data": data, "meta": map[string]any{"result_count": len(data)}})
	writeJSON(w, http.StatusOK, string(out))
}

func (f *Fake) serveMedia(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	data, ok := f.media[r.PathValue("name")]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", channel.Sniff(data))
	_, _ = w.Write(data)
}

// Post makes a customer's message reach webcare as X would deliver it: a
// public message as a tweet_create_events delivery mentioning the
// account, a private one as direct_message_events with the users map,
// signed with x-twitter-webhooks-signature and POSTed to
// baseURL/hooks/{channel id}. Files with data are served by the fake and
// pointed at as photos.
func (f *Fake) Post(ctx context.Context, baseURL string, ch store.Channel, m channel.Message) error {
	body, _, err := f.Payload(ch, m)
	if err != nil {
		return err
	}
	return f.deliver(ctx, baseURL, ch, body)
}

// Read makes the customer read the account's Direct Messages up to
// eventID (the id the sender returned), delivered as X does: a
// direct_message_mark_read_events delivery.
func (f *Fake) Read(ctx context.Context, baseURL string, ch store.Channel, customerID, eventID string) error {
	account := ch.Settings["account_id"]
	if account == "" {
		account = f.AccountID
	}
	body, err := json.Marshal(map[string]any{
		"for_user_id": account,
		"direct_message_mark_read_events": []any{map[string]any{
			"created_timestamp": strconv.FormatInt(time.Now().UnixMilli(), 10), "sender_id": customerID,
			"target": map[string]any{"recipient_id": account}, "last_read_event_id": eventID,
		}},
		"users": map[string]any{customerID: map[string]any{"id": customerID, "name": "Customer", "screen_name": "customer"}},
	})
	if err != nil {
		return err
	}
	return f.deliver(ctx, baseURL, ch, body)
}

// deliver POSTs a signed Account Activity delivery to webcare.
func (f *Fake) deliver(ctx context.Context, baseURL string, ch store.Channel, body []byte) error {
	secret := ch.Settings["consumer_secret"]
	if secret == "" {
		secret = f.ConsumerSecret
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/hooks/"+strconv.FormatInt(ch.ID, 10), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(x.SignatureHeader, x.Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webcare answered the delivery with %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	return nil
}

// Challenge does what X does when a webhook is registered or re-checked:
// a GET with a crc_token to baseURL/hooks/{channel id}, whose answer must
// be the token's HMAC under the consumer secret.
func (f *Fake) Challenge(ctx context.Context, baseURL string, ch store.Channel) error {
	token := "crc-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	target := strings.TrimRight(baseURL, "/") + "/hooks/" + strconv.FormatInt(ch.ID, 10) + "?crc_token=" + url.QueryEscape(token) + "&nonce=" + strconv.FormatInt(time.Now().UnixNano(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		ResponseToken string `json:"response_token"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CRC failed: webcare answered %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&out); err != nil {
		return fmt.Errorf("CRC failed: the answer is not JSON: %w", err)
	}
	if out.ResponseToken != x.Sign(f.ConsumerSecret, []byte(token)) {
		return errors.New("CRC failed: response_token does not match")
	}
	return nil
}

// Payload is the Account Activity delivery Post sends for m, and the
// platform id the message gets (m.PlatformID when set, so a test can
// deliver the same message twice).
func (f *Fake) Payload(ch store.Channel, m channel.Message) ([]byte, string, error) {
	account := ch.Settings["account_id"]
	if account == "" {
		account = f.AccountID
	}
	f.mu.Lock()
	id := m.PlatformID
	if id == "" {
		id = f.nextID()
	}
	var photos []map[string]any
	for i, file := range m.Files {
		ref := file.Ref
		if ref == "" && len(file.Data) > 0 {
			name := fmt.Sprintf("%s-%d.%s", id, i, ext(file.Data))
			f.media[name] = file.Data
			ref = f.srv.URL + "/media/" + name
			if m.Private {
				ref = f.srv.URL + "/media/dm/" + name
			}
		}
		if ref == "" {
			continue
		}
		photos = append(photos, map[string]any{
			"id_str": fmt.Sprintf("%s%d", id, i), "type": "photo", "media_url_https": ref,
			"url": "https://t.co/p" + id[max(0, len(id)-6):] + strconv.Itoa(i), "display_url": "pic.x.com/" + id,
		})
	}
	f.mu.Unlock()
	from := m.From
	if from.ExternalID == "" {
		from.ExternalID = "9000000000000000001"
	}
	handle := strings.TrimPrefix(from.Handle, "@")
	if handle == "" {
		handle = "customer" + from.ExternalID[max(0, len(from.ExternalID)-4):]
	}
	name := from.Name
	if name == "" {
		name = handle
	}
	at := m.SentAt
	if at.IsZero() {
		at = time.Now()
	}
	text := escape(m.Text)
	var payload map[string]any
	if m.Private {
		data := map[string]any{"text": text, "entities": map[string]any{"hashtags": []any{}, "symbols": []any{}, "user_mentions": []any{}, "urls": []any{}}}
		if len(photos) > 0 {
			data["text"] = text + " " + photos[0]["url"].(string)
			data["attachment"] = map[string]any{"type": "media", "media": photos[0]}
		}
		payload = map[string]any{
			"for_user_id": account,
			"direct_message_events": []any{map[string]any{
				"type": "message_create", "id": id, "created_timestamp": strconv.FormatInt(at.UnixMilli(), 10),
				"message_create": map[string]any{
					"target": map[string]any{"recipient_id": account}, "sender_id": from.ExternalID,
					"message_data": data,
				},
			}},
			"users": map[string]any{
				from.ExternalID: map[string]any{"id": from.ExternalID, "created_timestamp": "1422556069340", "name": name, "screen_name": handle, "protected": false, "verified": false, "followers_count": 12, "friends_count": 30, "statuses_count": 200, "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/a_normal.jpg"},
				account:         map[string]any{"id": account, "created_timestamp": "1512340000000", "name": f.Name, "screen_name": f.Username, "protected": false, "verified": false},
			},
		}
	} else {
		if !strings.Contains(strings.ToLower(m.Text), "@"+strings.ToLower(f.Username)) {
			text = "@" + f.Username + " " + text
		}
		full := text
		for _, p := range photos {
			full += " " + p["url"].(string)
		}
		tw := map[string]any{
			"created_at": at.UTC().Format(time.RubyDate), "id": num(id), "id_str": id,
			"text": full, "source": `<a href="https://mobile.x.com" rel="nofollow">X Web App</a>`, "truncated": false,
			"in_reply_to_status_id": nil, "in_reply_to_status_id_str": nil,
			"in_reply_to_user_id": nil, "in_reply_to_user_id_str": nil, "in_reply_to_screen_name": nil,
			"user":            map[string]any{"id": num(from.ExternalID), "id_str": from.ExternalID, "name": name, "screen_name": handle, "protected": false, "verified": false, "followers_count": 12, "friends_count": 30, "created_at": "Thu Jan 29 17:54:29 +0000 2015", "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/a_normal.jpg"},
			"is_quote_status": false, "quote_count": 0, "reply_count": 0, "retweet_count": 0, "favorite_count": 0,
			"entities": map[string]any{"hashtags": []any{}, "urls": []any{}, "symbols": []any{},
				"user_mentions": []any{map[string]any{"screen_name": f.Username, "name": f.Name, "id": num(account), "id_str": account, "indices": []int{0, 1 + utf8.RuneCountInString(f.Username)}}}},
			"favorited": false, "retweeted": false, "filter_level": "low", "lang": "en", "timestamp_ms": strconv.FormatInt(at.UnixMilli(), 10),
		}
		if m.ReplyTo != "" {
			tw["in_reply_to_status_id"] = num(m.ReplyTo)
			tw["in_reply_to_status_id_str"] = m.ReplyTo
			tw["in_reply_to_user_id_str"] = account
			tw["in_reply_to_screen_name"] = f.Username
		}
		if len(photos) > 0 {
			tw["entities"].(map[string]any)["media"] = photos
			tw["extended_entities"] = map[string]any{"media": photos}
		}
		payload = map[string]any{"for_user_id": account, "user_has_blocked": false, "tweet_create_events": []any{tw}}
	}
	body, err := json.Marshal(payload)
	return body, id, err
}

// escape is how X's v1.1 objects write &, < and > in text.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func ext(data []byte) string {
	switch channel.Sniff(data) {
	case "image/png":
		return "png"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	}
	return "jpg"
}

// num writes a numeric id as the JSON number X sends beside id_str (a
// 64-bit integer no float64 holds exactly); anything else as null.
func num(id string) any {
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return nil
	}
	return json.Number(id)
}
