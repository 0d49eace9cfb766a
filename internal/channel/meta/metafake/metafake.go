// Package metafake stands in for Meta's Graph API and webhooks in tests and
// the demo: the Send API, comment replies, the node lookup the checker
// uses, attachment URLs, and customers whose messages and comments arrive
// at webcare as signed webhook deliveries.
package metafake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/meta"
	"github.com/webcare/webcare/internal/store"
)

// Version is the Graph API version the fake serves under.
const Version = "v25.0"

// Request is one API call the fake received.
type Request struct {
	Method string
	Path   string // without the version, e.g. "/me/messages"
	Query  string
	Header http.Header
	// Form holds the fields of a multipart or JSON body (JSON values
	// re-encoded as text), files excluded.
	Form map[string]string
	// Files are multipart files by field name.
	Files map[string][]byte
	Body  []byte // raw body of a JSON request
}

// Error is a Graph error the fake answers with.
type Error struct {
	Status  int // HTTP status; 0: 400
	Code    int
	Subcode int
	Message string
	// Header is added to the answer (Retry-After, X-Business-Use-Case-Usage).
	Header http.Header
}

// Fake is a Graph API for one Facebook Page or Instagram account.
type Fake struct {
	Kind      string // meta.KindFacebook or meta.KindInstagram
	AccountID string // the Page or Instagram account id (entry[].id)
	Name      string // what GET /{id}?fields=name answers
	Username  string // Instagram's fields=username
	AppSecret string // signs Post's deliveries
	Token     string // the only access token the API accepts
	Verify    string // the verify token in Settings

	srv *httptest.Server

	mu       sync.Mutex
	requests []Request
	fails    []*Error // nil: let the call through
	seq      int
	replied  map[string]bool // comment ids answered with a private reply
	media    map[string][]byte
	posts    map[string]string // the post or media each customer comment is on
}

// New starts a fake for kind (meta.KindFacebook or meta.KindInstagram).
func New(kind string) *Fake {
	f := &Fake{
		Kind: kind, AccountID: "104000000000001", Name: "Webcare Demo Page",
		AppSecret: random(), Token: "EAAfake" + random(), Verify: random(),
		replied: map[string]bool{}, media: map[string][]byte{}, posts: map[string]string{},
	}
	if kind == meta.KindInstagram {
		f.AccountID, f.Name, f.Username = "17841400000000001", "Webcare Demo", "webcare.demo"
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the fake's root; the Graph API lives under URL + "/" + Version.
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Settings point a channel at the fake.
func (f *Fake) Settings() map[string]string {
	return map[string]string{
		"account_id":   f.AccountID,
		"access_token": f.Token,
		"app_secret":   f.AppSecret,
		"verify_token": f.Verify,
		"api_base":     f.srv.URL + "/" + Version,
	}
}

// Requests returns a copy of the API calls received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// FailNext makes the next n API calls answer with e.
func (f *Fake) FailNext(n int, e Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fails = append(f.fails, &e)
	}
}

// FailAfter lets the next n calls through and makes the one after fail
// with e: a reply whose second part fails.
func (f *Fake) FailAfter(n int, e Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fails = append(f.fails, nil)
	}
	f.fails = append(f.fails, &e)
}

// RateLimit makes the next n calls fail as Meta's business use case rate
// limit does: HTTP 400 with code 80006 (Messenger) or 80002 (Instagram)
// and an X-Business-Use-Case-Usage header whose
// estimated_time_to_regain_access says how many minutes to wait.
func (f *Fake) RateLimit(n, minutes int) {
	code, typ := 80006, "messenger"
	if f.Kind == meta.KindInstagram {
		code, typ = 80002, "instagram"
	}
	usage := fmt.Sprintf(`{%q:[{"type":%q,"call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":%d}]}`, f.AccountID, typ, minutes)
	f.FailNext(n, Error{Status: http.StatusBadRequest, Code: code, Message: "There have been too many calls to this account. Wait a bit and try again.", Header: http.Header{"X-Business-Use-Case-Usage": {usage}}})
}

// ServerError makes the next n calls fail with 500 and Graph code 2.
func (f *Fake) ServerError(n int) {
	f.FailNext(n, Error{Status: http.StatusInternalServerError, Code: 2, Message: "An unexpected error has occurred. Please retry your request later."})
}

// AddMedia serves data at a URL like a Meta CDN link and returns the URL.
func (f *Fake) AddMedia(name string, data []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.media[name] = data
	return f.srv.URL + "/cdn/" + name
}

func random() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *Fake) next(prefix string) string {
	f.seq++
	return prefix + strconv.Itoa(f.seq)
}

func writeError(w http.ResponseWriter, e Error) {
	for k, v := range e.Header {
		w.Header()[k] = v
	}
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	typ := "OAuthException"
	if e.Code == 2 || e.Code == 1 {
		typ = "FacebookApiException"
	}
	body := map[string]any{"message": e.Message, "type": typ, "code": e.Code, "fbtrace_id": "AbCdEf" + strconv.Itoa(e.Code)}
	if e.Subcode != 0 {
		body["error_subcode"] = e.Subcode
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": body})
}

func invalid(w http.ResponseWriter, msg string) {
	writeError(w, Error{Code: 100, Message: "(#100) " + msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok && r.Method == http.MethodGet {
		f.mu.Lock()
		data, found := f.media[name]
		f.mu.Unlock()
		if !found {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", http.DetectContentType(data))
		_, _ = w.Write(data)
		return
	}
	p, ok := strings.CutPrefix(r.URL.Path, "/"+Version+"/")
	if !ok {
		invalid(w, "Unknown path components: "+r.URL.Path)
		return
	}
	req, err := readRequest(r)
	req.Path = "/" + p
	f.mu.Lock()
	f.requests = append(f.requests, req)
	var fail *Error
	if len(f.fails) > 0 {
		fail = f.fails[0]
		f.fails = f.fails[1:]
	}
	f.mu.Unlock()
	if fail != nil {
		writeError(w, *fail)
		return
	}
	if err != nil {
		invalid(w, err.Error())
		return
	}
	token := r.URL.Query().Get("access_token")
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = v
	}
	if token == "" {
		writeError(w, Error{Code: 104, Message: "An access token is required to request this resource."})
		return
	}
	if token != f.Token {
		writeError(w, Error{Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired."})
		return
	}
	segs := strings.Split(p, "/")
	switch {
	case r.Method == http.MethodGet && len(segs) == 1:
		f.node(w, r, segs[0])
	case r.Method == http.MethodPost && len(segs) == 2 && segs[1] == "messages":
		f.messages(w, segs[0], req)
	case r.Method == http.MethodPost && len(segs) == 2 && segs[1] == "comments" && f.Kind == meta.KindFacebook:
		f.comment(w, segs[0], req)
	case r.Method == http.MethodPost && len(segs) == 2 && segs[1] == "replies" && f.Kind == meta.KindInstagram:
		f.comment(w, segs[0], req)
	default:
		writeError(w, Error{Code: 100, Subcode: 33, Message: "Unsupported " + strings.ToLower(r.Method) + " request. Object with ID '" + segs[0] + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation."})
	}
}

func readRequest(r *http.Request) (Request, error) {
	req := Request{Method: r.Method, Query: r.URL.RawQuery, Header: r.Header.Clone(), Form: map[string]string{}, Files: map[string][]byte{}}
	if r.Method != http.MethodPost {
		return req, nil
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return req, err
		}
		req.Body = body
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return req, fmt.Errorf("the body is not a JSON object: %v", err)
		}
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) == nil {
				req.Form[k] = s
			} else {
				req.Form[k] = string(v)
			}
		}
	case "multipart/form-data":
		if params["boundary"] == "" {
			return req, fmt.Errorf("multipart body without boundary")
		}
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return req, err
		}
		for k, v := range r.MultipartForm.Value {
			req.Form[k] = v[0]
		}
		for k, hs := range r.MultipartForm.File {
			fh, err := hs[0].Open()
			if err != nil {
				return req, err
			}
			data, _ := io.ReadAll(fh)
			fh.Close()
			if len(data) > 25<<20 {
				return req, fmt.Errorf("Attachment size exceeds allowable limit")
			}
			req.Files[k] = data
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return req, err
		}
		for k, v := range r.PostForm {
			req.Form[k] = v[0]
		}
	default:
		return req, fmt.Errorf("unsupported content type %q", ct)
	}
	return req, nil
}

func (f *Fake) node(w http.ResponseWriter, r *http.Request, id string) {
	if id != f.AccountID && id != "me" {
		writeError(w, Error{Code: 100, Subcode: 33, Message: "Unsupported get request. Object with ID '" + id + "' does not exist."})
		return
	}
	out := map[string]string{"id": f.AccountID}
	for _, field := range strings.Split(r.URL.Query().Get("fields"), ",") {
		switch field {
		case "name":
			out["name"] = f.Name
		case "username":
			if f.Kind == meta.KindInstagram {
				out["username"] = f.Username
			}
		}
	}
	writeJSON(w, out)
}

// messages is the Send API: JSON with recipient, messaging_type and
// message, or multipart with the same fields as JSON text plus filedata.
func (f *Fake) messages(w http.ResponseWriter, node string, req Request) {
	if node != "me" && node != f.AccountID {
		writeError(w, Error{Code: 100, Subcode: 33, Message: "Unsupported post request. Object with ID '" + node + "' does not exist."})
		return
	}
	var recipient struct {
		ID        string `json:"id"`
		CommentID string `json:"comment_id"`
		PostID    string `json:"post_id"`
	}
	if err := json.Unmarshal([]byte(req.Form["recipient"]), &recipient); err != nil {
		invalid(w, "param recipient must be a JSON object")
		return
	}
	var msg struct {
		Text       string `json:"text"`
		Attachment *struct {
			Type    string         `json:"type"`
			Payload map[string]any `json:"payload"`
		} `json:"attachment"`
	}
	if err := json.Unmarshal([]byte(req.Form["message"]), &msg); err != nil {
		invalid(w, "param message must be a JSON object")
		return
	}
	private := recipient.CommentID != "" || recipient.PostID != ""
	switch {
	case recipient.ID == "" && !private:
		invalid(w, "param recipient[id] must be non-empty.")
		return
	case msg.Text == "" && msg.Attachment == nil:
		invalid(w, "param message must contain text or attachment")
		return
	case msg.Text != "" && msg.Attachment != nil:
		invalid(w, "Cannot send both text and attachment in one message")
		return
	}
	limit := 2000
	if f.Kind == meta.KindInstagram {
		limit = 1000 // bytes of UTF-8
		if len(msg.Text) > limit {
			invalid(w, "Length of param message[text] must be less than or equal to 1000")
			return
		}
	} else if utf8.RuneCountInString(msg.Text) > limit {
		invalid(w, "Length of param message[text] must be less than or equal to 2000")
		return
	}
	if !private {
		switch mt := req.Form["messaging_type"]; mt {
		case "RESPONSE", "UPDATE":
		case "MESSAGE_TAG":
			if req.Form["tag"] != "HUMAN_AGENT" {
				invalid(w, "param tag must be one of {CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE, HUMAN_AGENT}")
				return
			}
		default:
			invalid(w, "param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
			return
		}
	}
	if msg.Attachment != nil {
		if _, ok := req.Files["filedata"]; !ok && msg.Attachment.Payload["url"] == nil && msg.Attachment.Payload["attachment_id"] == nil {
			invalid(w, "Upload attachment failure: no filedata, url or attachment_id")
			return
		}
		if private {
			invalid(w, "Private replies can only be text")
			return
		}
	}
	f.mu.Lock()
	if private {
		key := recipient.CommentID + recipient.PostID
		if f.replied[key] {
			f.mu.Unlock()
			writeError(w, Error{Code: 10, Subcode: 2018278, Message: "(#10) This message is sent outside of allowed window."})
			return
		}
		f.replied[key] = true
	}
	mid := f.next("m_fake")
	f.mu.Unlock()
	rid := recipient.ID
	if rid == "" {
		rid = "psid-of-" + recipient.CommentID + recipient.PostID
	}
	writeJSON(w, map[string]string{"recipient_id": rid, "message_id": mid})
}

// comment is Facebook's POST /{object-id}/comments and Instagram's POST
// /{ig-comment-id}/replies.
func (f *Fake) comment(w http.ResponseWriter, target string, req Request) {
	_, hasSource := req.Files["source"]
	if req.Form["message"] == "" && !hasSource && req.Form["attachment_url"] == "" {
		invalid(w, "Missing message or attachment")
		return
	}
	if f.Kind == meta.KindInstagram && utf8.RuneCountInString(req.Form["message"]) > 2200 {
		invalid(w, "The comment is too long")
		return
	}
	f.mu.Lock()
	post, known := f.posts[target]
	if !known {
		post = target // a post or media answered directly
	}
	var id string
	if f.Kind == meta.KindFacebook {
		_, postPart, found := strings.Cut(post, "_")
		if !found {
			postPart = post
		}
		id = postPart + "_" + f.next("7000000000000")
	} else {
		id = f.next("1791000000000")
	}
	f.posts[id] = post
	f.mu.Unlock()
	writeJSON(w, map[string]string{"id": id})
}

// Post makes a customer's message arrive at webcare: a private message as
// a Messenger/Instagram DM (entry[].messaging), a public one as a comment
// on one of the account's posts (a "feed" change for a Page, a "comments"
// change for Instagram), signed with the channel's app secret.
func (f *Fake) Post(ctx context.Context, baseURL string, ch store.Channel, m channel.Message) error {
	body, err := f.Delivery(ch, m)
	if err != nil {
		return err
	}
	secret := ch.Settings["app_secret"]
	if secret == "" {
		secret = f.AppSecret
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/hooks/"+strconv.FormatInt(ch.ID, 10), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(meta.SignatureHeader, meta.Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("metafake: webcare answered %d: %s", resp.StatusCode, b)
	}
	return nil
}

// Delivery is the webhook body Post would send for m, filling in ids and
// times the message leaves empty. Comments it creates become answerable
// through the fake's comment endpoints.
func (f *Fake) Delivery(ch store.Channel, m channel.Message) ([]byte, error) {
	acct := ch.Settings["account_id"]
	if acct == "" {
		acct = f.AccountID
	}
	if m.Account != "" {
		acct = m.Account
	}
	at := m.SentAt
	if at.IsZero() {
		at = time.Now()
	}
	from := m.From.ExternalID
	f.mu.Lock()
	if from == "" {
		from = f.next("2400000000")
	}
	pid := m.PlatformID
	f.mu.Unlock()
	object := "page"
	if f.Kind == meta.KindInstagram {
		object = "instagram"
	}
	e := map[string]any{"id": acct, "time": at.UnixMilli()}
	if m.Private {
		f.mu.Lock()
		if pid == "" {
			pid = f.next("m_cust")
		}
		f.mu.Unlock()
		msg := map[string]any{"mid": pid, "text": m.Text}
		if m.ReplyTo != "" {
			msg["reply_to"] = map[string]any{"mid": m.ReplyTo}
		}
		var atts []map[string]any
		for _, file := range m.Files {
			u := file.Ref
			if u == "" {
				u = f.AddMedia(channel.CleanName(file.Name), file.Data)
			}
			typ := "file"
			if channel.IsImage(channel.Sniff(file.Data)) || file.Data == nil {
				typ = "image"
			}
			atts = append(atts, map[string]any{"type": typ, "payload": map[string]any{"url": u}})
		}
		if atts != nil {
			msg["attachments"] = atts
		}
		e["messaging"] = []any{map[string]any{
			"sender": map[string]string{"id": from}, "recipient": map[string]string{"id": acct},
			"timestamp": at.UnixMilli(), "message": msg,
		}}
	} else {
		e["time"] = at.Unix()
		var value map[string]any
		f.mu.Lock()
		if f.Kind == meta.KindInstagram {
			media, parent := "18000000000000001", ""
			if m.ReplyTo != "" {
				if on, isComment := f.posts[m.ReplyTo]; isComment {
					media, parent = on, m.ReplyTo
				} else {
					media = m.ReplyTo
				}
			}
			if pid == "" {
				pid = f.next("1790000000000")
			}
			f.posts[pid] = media
			value = map[string]any{
				"id": pid, "text": m.Text, "from": map[string]string{"id": from, "username": handle(m.From)},
				"media": map[string]string{"id": media, "media_product_type": "FEED"},
			}
			if parent != "" {
				value["parent_id"] = parent
			}
		} else {
			post := acct + "_1220000000000001"
			parent := post
			if m.ReplyTo != "" {
				if on, isComment := f.posts[m.ReplyTo]; isComment {
					post, parent = on, m.ReplyTo
				} else {
					post, parent = m.ReplyTo, m.ReplyTo
				}
			}
			if pid == "" {
				_, postPart, found := strings.Cut(post, "_")
				if !found {
					postPart = post
				}
				pid = postPart + "_" + f.next("5000000000000")
			}
			f.posts[pid] = post
			value = map[string]any{
				"item": "comment", "verb": "add", "comment_id": pid, "post_id": post, "parent_id": parent,
				"message": m.Text, "created_time": at.Unix(),
				"from": map[string]string{"id": from, "name": m.From.Name},
			}
		}
		f.mu.Unlock()
		field := "feed"
		if f.Kind == meta.KindInstagram {
			field = "comments"
		}
		e["changes"] = []any{map[string]any{"field": field, "value": value}}
	}
	return json.Marshal(map[string]any{"object": object, "entry": []any{e}})
}

func handle(a channel.Author) string {
	if a.Handle != "" {
		return strings.TrimPrefix(a.Handle, "@")
	}
	return "customer" + a.ExternalID
}

var _ channel.Fake = (*Fake)(nil)
