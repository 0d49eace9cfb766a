// Package mastodonfake is a Mastodon server in memory for tests and the
// demo: the notifications, statuses, media, verify_credentials and instance
// endpoints the mastodon adapter calls, with Mastodon's paging (Link
// headers, since_id / min_id / max_id), its {"error": "..."} answers, the
// Idempotency-Key dedupe of POST /api/v1/statuses and its rate-limit headers.
package mastodonfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// OwnID is the id of the fake's own (webcare's) account.
const OwnID = "109000000000000001"

// MaxCharacters is the fake server's post length limit.
const MaxCharacters = 500

// Request is one API call the fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Form   url.Values // for form posts
	Body   []byte
}

// Failure is a canned answer for the next calls.
type Failure struct {
	Status int
	Error  string // Mastodon's {"error": ...} text
	Header http.Header
}

type account struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Acct        string `json:"acct"`
	DisplayName string `json:"display_name"`
	URL         string `json:"url"`
}

type media struct {
	ID          string  `json:"id"`
	Type        string  `json:"type"`
	URL         *string `json:"url"`
	PreviewURL  *string `json:"preview_url"`
	RemoteURL   *string `json:"remote_url"`
	Description *string `json:"description"`
}

type status struct {
	ID          string  `json:"id"`
	URI         string  `json:"uri"`
	CreatedAt   string  `json:"created_at"`
	InReplyToID *string `json:"in_reply_to_id"`
	Sensitive   bool    `json:"sensitive"`
	SpoilerText string  `json:"spoiler_text"`
	Visibility  string  `json:"visibility"`
	Language    *string `json:"language"`
	Content     string  `json:"content"`
	Account     account `json:"account"`
	Media       []media `json:"media_attachments"`
	Mentions    []any   `json:"mentions"`
}

type notification struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	CreatedAt string  `json:"created_at"`
	Account   account `json:"account"`
	Status    *status `json:"status"`
}

// Fake is a Mastodon server. Safe for concurrent use.
type Fake struct {
	srv   *httptest.Server
	token string
	own   account

	mu       sync.Mutex
	seq      int64
	notes    []notification // ascending id
	statuses map[string]*status
	sent     []*status
	idem     map[string]string // Idempotency-Key → status id
	files    map[string][]byte // path under /system/ → bytes
	pending  map[string]int    // media id → GETs before it is processed
	fails    []Failure
	reqs     []Request
	Slow     bool // answer media uploads with 202 (processed in the background)
	// NextVisibility, if set, is the visibility of the next Mention
	// ("private" for followers-only); it is then cleared.
	NextVisibility string
}

var _ channel.Fake = (*Fake)(nil)

// New starts a fake server on 127.0.0.1. Close it when done.
func New() *Fake {
	b := make([]byte, 16)
	rand.Read(b)
	f := &Fake{
		token:    "fake-" + hex.EncodeToString(b),
		seq:      110000000000000000,
		statuses: map[string]*status{},
		idem:     map[string]string{},
		files:    map[string][]byte{},
		pending:  map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.own = account{ID: OwnID, Username: "support", Acct: "support", DisplayName: "Webcare Support", URL: f.srv.URL + "/@support"}
	return f
}

// URL is the server's base address.
func (f *Fake) URL() string { return f.srv.URL }

// Token is the access token the fake accepts.
func (f *Fake) Token() string { return f.token }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Settings point a mastodon channel at the fake.
func (f *Fake) Settings() map[string]string {
	return map[string]string{"api_base": f.srv.URL, "access_token": f.token, "account_id": OwnID}
}

// Fail makes the next n API calls answer with the failure.
func (f *Fake) Fail(n int, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fails = append(f.fails, fl)
	}
}

// RateLimit makes the next n calls answer 429 with Mastodon's headers,
// the limit resetting after wait.
func (f *Fake) RateLimit(n int, wait time.Duration) {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "300")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", time.Now().Add(wait).UTC().Format("2006-01-02T15:04:05.000Z"))
	f.Fail(n, Failure{Status: http.StatusTooManyRequests, Error: "Too many requests", Header: h})
}

// Requests returns the API calls received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// Sent returns the statuses webcare posted, oldest first, with their text
// as webcare sent it.
func (f *Fake) Sent() []SentStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []SentStatus
	for _, s := range f.sent {
		ss := SentStatus{ID: s.ID, Text: html.UnescapeString(strings.TrimSuffix(strings.TrimPrefix(s.Content, "<p>"), "</p>")), Visibility: s.Visibility, Media: len(s.Media)}
		if s.InReplyToID != nil {
			ss.InReplyToID = *s.InReplyToID
		}
		if s.Language != nil {
			ss.Language = *s.Language
		}
		out = append(out, ss)
	}
	return out
}

// SentStatus is a status webcare posted.
type SentStatus struct {
	ID, Text, Visibility, InReplyToID, Language string
	Media                                       int
}

func (f *Fake) nextID() string {
	f.seq += 1 + int64(len(f.notes)%3) // ids grow, with gaps, as snowflakes do
	return strconv.FormatInt(f.seq, 10)
}

// Post makes a customer mention the account, as the next poll will see it:
// m.From.ExternalID is the customer's account id (default a new one),
// Handle their acct, m.Private a direct mention, m.ReplyTo the status they
// answer, m.Files media the fake serves. m.PlatformID, if set, becomes
// the status id. It returns nothing about webcare's side: the poller picks
// the mention up.
func (f *Fake) Post(ctx context.Context, baseURL string, ch store.Channel, m channel.Message) error {
	_, err := f.Mention(m)
	return err
}

// Mention adds a customer's mention and returns its status id.
func (f *Fake) Mention(m channel.Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	acct := strings.TrimPrefix(m.From.Handle, "@")
	if acct == "" {
		acct = "customer"
	}
	id := m.From.ExternalID
	if id == "" {
		// The same customer always has the same account id.
		h := fnv.New32a()
		h.Write([]byte(acct))
		id = "2" + strconv.FormatUint(uint64(h.Sum32()), 10)
	}
	name := m.From.Name
	a := account{ID: id, Username: strings.SplitN(acct, "@", 2)[0], Acct: acct, DisplayName: name, URL: "https://example.social/@" + acct}
	at := m.SentAt
	if at.IsZero() {
		at = time.Now()
	}
	sid := m.PlatformID
	if sid == "" {
		sid = f.nextID()
	}
	vis := "public"
	if m.Private {
		vis = "direct"
	}
	if f.NextVisibility != "" {
		vis, f.NextVisibility = f.NextVisibility, ""
	}
	content := "<p><span class=\"h-card\"><a href=\"" + f.own.URL + "\" class=\"u-url mention\">@<span>support</span></a></span> " +
		strings.ReplaceAll(html.EscapeString(m.Text), "\n", "<br />") + "</p>"
	st := &status{ID: sid, URI: f.srv.URL + "/users/" + a.Username + "/statuses/" + sid, CreatedAt: at.UTC().Format("2006-01-02T15:04:05.000Z"),
		Visibility: vis, Content: content, Account: a, Media: []media{}, Mentions: []any{}}
	if m.ReplyTo != "" {
		r := m.ReplyTo
		st.InReplyToID = &r
	}
	if m.Language != "" {
		l := m.Language
		st.Language = &l
	}
	for i, file := range m.Files {
		p := fmt.Sprintf("/system/media_attachments/files/%s/%d/%s", sid, i, url.PathEscape(channel.CleanName(file.Name)))
		f.files[p] = file.Data
		u := f.srv.URL + p
		st.Media = append(st.Media, media{ID: sid + strconv.Itoa(i), Type: "image", URL: &u, PreviewURL: &u})
	}
	f.statuses[sid] = st
	f.notes = append(f.notes, notification{ID: f.nextID(), Type: "mention", CreatedAt: st.CreatedAt, Account: a, Status: st})
	return sid, nil
}

// Favourite adds a notification of another type, which webcare ignores.
func (f *Fake) Favourite() {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := account{ID: "3", Username: "fan", Acct: "fan@example.social"}
	f.notes = append(f.notes, notification{ID: f.nextID(), Type: "favourite", CreatedAt: time.Now().UTC().Format(time.RFC3339), Account: a})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req.Form, _ = url.ParseQuery(string(body))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	if strings.HasPrefix(r.URL.Path, "/system/") {
		data, ok := f.files[r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
		return
	}
	if len(f.fails) > 0 {
		fl := f.fails[0]
		f.fails = f.fails[1:]
		f.mu.Unlock()
		for k, v := range fl.Header {
			w.Header()[k] = v
		}
		fail(w, fl.Status, fl.Error)
		return
	}
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		fail(w, http.StatusUnauthorized, "The access token is invalid")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/accounts/verify_credentials":
		writeJSON(w, 200, f.own)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v2/instance":
		writeJSON(w, 200, map[string]any{"domain": strings.TrimPrefix(f.srv.URL, "http://"), "title": "Fake Mastodon",
			"configuration": map[string]any{"statuses": map[string]any{"max_characters": MaxCharacters, "max_media_attachments": 4}}})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/notifications":
		f.notifications(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/statuses":
		f.postStatus(w, r, req.Form)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v2/media":
		f.postMedia(w, r, body)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/statuses/"):
		f.mu.Lock()
		st, ok := f.statuses[strings.TrimPrefix(r.URL.Path, "/api/v1/statuses/")]
		var out status
		if ok {
			out = *st
		}
		f.mu.Unlock()
		if !ok {
			fail(w, http.StatusNotFound, "Record not found")
			return
		}
		writeJSON(w, 200, out)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/media/"):
		f.getMedia(w, strings.TrimPrefix(r.URL.Path, "/api/v1/media/"))
	default:
		fail(w, http.StatusNotFound, "Record not found")
	}
}

// notifications pages as Mastodon does: newest first; max_id bounds from
// above; since_id gives the newest page above it; min_id the page just
// above it. The Link header's next has max_id = the page's oldest id, prev
// has min_id = its newest.
func (f *Fake) notifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 40
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(w, http.StatusUnprocessableEntity, "limit is invalid")
			return
		}
		limit = min(n, 80)
	}
	types := q["types[]"]
	maxID, sinceID, minID := q.Get("max_id"), q.Get("since_id"), q.Get("min_id")
	f.mu.Lock()
	var match []notification
	for _, n := range f.notes {
		if len(types) > 0 && !slices.Contains(types, n.Type) {
			continue
		}
		if maxID != "" && !idLess(n.ID, maxID) {
			continue
		}
		if sinceID != "" && !idLess(sinceID, n.ID) {
			continue
		}
		if minID != "" && !idLess(minID, n.ID) {
			continue
		}
		match = append(match, n) // ascending
	}
	f.mu.Unlock()
	var page []notification
	if minID != "" {
		page = match[:min(limit, len(match))] // immediately above min_id
	} else {
		page = match[max(0, len(match)-limit):] // the newest
	}
	page = slices.Clone(page)
	slices.Reverse(page)
	if len(page) > 0 {
		base := f.srv.URL + "/api/v1/notifications?"
		lq := url.Values{"limit": {strconv.Itoa(limit)}}
		if len(types) > 0 {
			lq["types[]"] = types
		}
		next, prev := cloneValues(lq), cloneValues(lq)
		next.Set("max_id", page[len(page)-1].ID)
		prev.Set("min_id", page[0].ID)
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next", <%s%s>; rel="prev"`, base, next.Encode(), base, prev.Encode()))
	}
	if page == nil {
		page = []notification{}
	}
	writeJSON(w, 200, page)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (f *Fake) postStatus(w http.ResponseWriter, r *http.Request, form url.Values) {
	if form == nil {
		fail(w, http.StatusUnprocessableEntity, "Validation failed: Text can't be blank")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	defer f.mu.Unlock()
	if key != "" {
		if id, ok := f.idem[key]; ok {
			writeJSON(w, 200, f.statuses[id])
			return
		}
	}
	text := form.Get("status")
	mediaIDs := form["media_ids[]"]
	if strings.TrimSpace(text) == "" && len(mediaIDs) == 0 {
		writeJSON(w, 422, map[string]string{"error": "Validation failed: Text can't be blank"})
		return
	}
	if length(text) > MaxCharacters {
		writeJSON(w, 422, map[string]string{"error": fmt.Sprintf("Validation failed: Text character limit of %d exceeded", MaxCharacters)})
		return
	}
	vis := form.Get("visibility")
	if vis == "" {
		vis = "public"
	}
	if !slices.Contains([]string{"public", "unlisted", "private", "direct"}, vis) {
		writeJSON(w, 422, map[string]string{"error": "Validation failed: Visibility is not included in the list"})
		return
	}
	if len(mediaIDs) > 4 {
		writeJSON(w, 422, map[string]string{"error": "Validation failed: Media attachments cannot be more than 4"})
		return
	}
	st := &status{ID: f.nextID(), CreatedAt: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), Visibility: vis,
		Content: "<p>" + html.EscapeString(text) + "</p>", Account: f.own, Media: []media{}, Mentions: []any{}}
	st.URI = f.srv.URL + "/users/support/statuses/" + st.ID
	if id := form.Get("in_reply_to_id"); id != "" {
		if _, ok := f.statuses[id]; !ok {
			writeJSON(w, 404, map[string]string{"error": "Record not found"})
			return
		}
		st.InReplyToID = &id
	}
	if l := form.Get("language"); l != "" {
		st.Language = &l
	}
	for _, id := range mediaIDs {
		if _, ok := f.pending[id]; !ok {
			writeJSON(w, 422, map[string]string{"error": "Validation failed: Media attachments are invalid"})
			return
		}
		if f.pending[id] > 0 {
			writeJSON(w, 422, map[string]string{"error": "Cannot attach files that have not finished processing. Try again in a moment!"})
			return
		}
		u := f.srv.URL + "/system/media/" + id
		st.Media = append(st.Media, media{ID: id, Type: "image", URL: &u})
	}
	f.statuses[st.ID] = st
	f.sent = append(f.sent, st)
	if key != "" {
		f.idem[key] = st.ID
	}
	writeJSON(w, 200, st)
}

func (f *Fake) postMedia(w http.ResponseWriter, r *http.Request, body []byte) {
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		fail(w, http.StatusUnprocessableEntity, "Validation failed: File can't be blank")
		return
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		fail(w, http.StatusUnprocessableEntity, "Validation failed: File can't be blank")
		return
	}
	data, _ := io.ReadAll(file)
	ct := http.DetectContentType(data)
	if !strings.HasPrefix(ct, "image/") {
		fail(w, http.StatusUnprocessableEntity, "Validation failed: File content type is invalid")
		return
	}
	f.mu.Lock()
	id := f.nextID()
	f.files["/system/media/"+id] = data
	slow := f.Slow
	if slow {
		f.pending[id] = 1
	} else {
		f.pending[id] = 0
	}
	f.mu.Unlock()
	u := f.srv.URL + "/system/media/" + id
	if slow {
		writeJSON(w, http.StatusAccepted, media{ID: id, Type: "image"})
		return
	}
	writeJSON(w, 200, media{ID: id, Type: "image", URL: &u, PreviewURL: &u})
}

func (f *Fake) getMedia(w http.ResponseWriter, id string) {
	f.mu.Lock()
	left, ok := f.pending[id]
	if ok && left > 0 {
		f.pending[id] = left - 1
	}
	f.mu.Unlock()
	if !ok {
		fail(w, http.StatusNotFound, "Record not found")
		return
	}
	if left > 0 {
		writeJSON(w, http.StatusPartialContent, media{ID: id, Type: "image"})
		return
	}
	u := f.srv.URL + "/system/media/" + id
	writeJSON(w, 200, media{ID: id, Type: "image", URL: &u, PreviewURL: &u})
}

var (
	urlRE     = regexp.MustCompile(`https?://[^\s]+`)
	mentionRE = regexp.MustCompile(`@([A-Za-z0-9_]+)@[A-Za-z0-9.\-]+[A-Za-z0-9]`)
)

// length counts as Mastodon does: links are 23 characters, remote
// mentions count their local part only.
func length(text string) int {
	text = urlRE.ReplaceAllString(text, strings.Repeat("x", 23))
	text = mentionRE.ReplaceAllString(text, "@$1")
	return utf8.RuneCountInString(text)
}
