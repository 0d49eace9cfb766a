// Package blueskyfake is a Bluesky PDS in memory for tests and the demo:
// the XRPC methods the bluesky adapter calls (sessions, notifications,
// posts, records, profiles, chat through the PDS proxy, the image CDN),
// with XRPC's {"error": "Name", "message": "..."} answers, backwards
// cursor paging, expiring access tokens and rate-limit headers.
package blueskyfake

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/bluesky"
	"github.com/webcare/webcare/internal/store"
)

// The fake's own account.
const (
	OwnDID      = "did:plc:webcaresupport000000001"
	OwnHandle   = "support.webcare.test"
	AppPassword = "abcd-efgh-ijkl-mnop"
)

// Request is one call the fake received.
type Request struct {
	Method string
	NSID   string // the XRPC method, or the path for other URLs
	Query  map[string][]string
	Header http.Header
	Body   []byte
}

// Failure is a canned XRPC error for the next calls.
type Failure struct {
	Status  int
	Error   string
	Message string
	Header  http.Header
}

type ref struct {
	URI string `json:"uri"`
	CID string `json:"cid"`
}

type profile struct {
	DID         string `json:"did"`
	Handle      string `json:"handle"`
	DisplayName string `json:"displayName,omitempty"`
}

type post struct {
	URI       string
	CID       string
	Author    profile
	Record    map[string]any
	IndexedAt time.Time
}

type notification struct {
	post   *post
	reason string
}

// Fake is a Bluesky PDS. Safe for concurrent use.
type Fake struct {
	srv *httptest.Server

	mu       sync.Mutex
	access   map[string]bool // token → valid (false: expired)
	refresh  map[string]bool
	logins   int
	posts    map[string]*post // by uri
	notes    []notification   // oldest first
	sent     []*post
	chats    []ChatMessage
	noDMs    map[string]bool
	blobs    map[string][]byte // did/cid → bytes
	last     time.Time
	fails    []Failure
	reqs     []Request
	profiles map[string]profile
}

// ChatMessage is a private message webcare sent.
type ChatMessage struct {
	ID, ConvoID, To, Text string
}

var _ channel.Fake = (*Fake)(nil)

// New starts a fake PDS on 127.0.0.1. Close it when done.
func New() *Fake {
	f := &Fake{
		access: map[string]bool{}, refresh: map[string]bool{}, posts: map[string]*post{},
		noDMs: map[string]bool{}, blobs: map[string][]byte{}, profiles: map[string]profile{},
	}
	f.profiles[OwnDID] = profile{DID: OwnDID, Handle: OwnHandle, DisplayName: "Webcare Support"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the PDS address.
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Settings point a bluesky channel at the fake.
func (f *Fake) Settings() map[string]string {
	return map[string]string{"api_base": f.srv.URL, "cdn_base": f.srv.URL, "handle": OwnHandle, "app_password": AppPassword, "account_id": OwnDID}
}

// Fail makes the next n calls (other than the CDN) answer with fl.
func (f *Fake) Fail(n int, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fails = append(f.fails, fl)
	}
}

// RateLimit makes the next n calls answer 429 with the PDS's ratelimit-*
// headers, the window resetting after wait.
func (f *Fake) RateLimit(n int, wait time.Duration) {
	h := http.Header{}
	h.Set("RateLimit-Limit", "5000")
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.FormatInt(time.Now().Add(wait).Unix(), 10))
	h.Set("RateLimit-Policy", "5000;w=3600")
	f.Fail(n, Failure{Status: http.StatusTooManyRequests, Error: "RateLimitExceeded", Message: "Rate Limit Exceeded", Header: h})
}

// Expire makes every access token issued so far expired.
func (f *Fake) Expire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for t := range f.access {
		f.access[t] = false
	}
}

// ExpireAll expires the refresh tokens as well, forcing a new sign-in.
func (f *Fake) ExpireAll() {
	f.Expire()
	f.mu.Lock()
	defer f.mu.Unlock()
	for t := range f.refresh {
		f.refresh[t] = false
	}
}

// DisableDMs makes a customer refuse private messages.
func (f *Fake) DisableDMs(did string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noDMs[did] = true
}

// Logins counts createSession calls that succeeded.
func (f *Fake) Logins() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

// Requests returns the calls received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// Sent returns the post records webcare created, as JSON objects.
func (f *Fake) Sent() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, p := range f.sent {
		out = append(out, p.Record)
	}
	return out
}

// SentURIs returns the uris of the posts webcare created.
func (f *Fake) SentURIs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.sent {
		out = append(out, p.URI)
	}
	return out
}

// Chats returns the private messages webcare sent.
func (f *Fake) Chats() []ChatMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.chats)
}

func token() string {
	b := make([]byte, 18)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func cidOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return "bafyrei" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:]))[:52]
}

// now gives strictly increasing indexing times with millisecond precision,
// as the AppView's.
func (f *Fake) now() time.Time {
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(f.last) {
		t = f.last.Add(time.Millisecond)
	}
	f.last = t
	return t
}

// Post makes a customer's post arrive as a notification for the next
// poll: m.From.ExternalID is their DID (default a new one), Handle their
// handle; m.ReplyTo, a uri of one of the account's posts, makes it a
// reply, otherwise a mention; m.Files become images on the CDN.
func (f *Fake) Post(ctx context.Context, baseURL string, ch store.Channel, m channel.Message) error {
	_, err := f.Mention(m)
	return err
}

// Mention adds a customer's post notifying the account and returns its uri.
func (f *Fake) Mention(m channel.Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	handle := strings.TrimPrefix(m.From.Handle, "@")
	if handle == "" {
		handle = "customer.bsky.social"
	}
	did := m.From.ExternalID
	if did == "" {
		// The same customer always has the same DID.
		did = "did:plc:" + cidOf(handle)[7:31]
	}
	author := profile{DID: did, Handle: handle, DisplayName: m.From.Name}
	f.profiles[did] = author
	at := f.now()
	created := m.SentAt
	if created.IsZero() {
		created = at
	}
	rkey := bluesky.TID(fmt.Sprint(did, len(f.notes), m.Text), at)
	uri := "at://" + did + "/app.bsky.feed.post/" + rkey
	rec := map[string]any{"$type": "app.bsky.feed.post", "text": m.Text, "createdAt": created.UTC().Format("2006-01-02T15:04:05.000Z")}
	if m.Language != "" {
		rec["langs"] = []string{m.Language}
	}
	reason := "mention"
	if m.ReplyTo != "" {
		parent, ok := f.posts[m.ReplyTo]
		if !ok {
			return "", fmt.Errorf("blueskyfake: no post %s to reply to", m.ReplyTo)
		}
		root := ref{URI: parent.URI, CID: parent.CID}
		if r, ok := parent.Record["reply"].(map[string]any); ok {
			if rr, ok := r["root"].(map[string]any); ok {
				root = ref{URI: fmt.Sprint(rr["uri"]), CID: fmt.Sprint(rr["cid"])}
			}
		}
		rec["reply"] = map[string]any{"root": root, "parent": ref{URI: parent.URI, CID: parent.CID}}
		if parent.Author.DID == OwnDID {
			reason = "reply"
		}
	} else if !strings.Contains(m.Text, "@"+OwnHandle) {
		rec["text"] = "@" + OwnHandle + " " + m.Text
	}
	if text := rec["text"].(string); strings.HasPrefix(text, "@"+OwnHandle) {
		rec["facets"] = []any{map[string]any{"index": map[string]int{"byteStart": 0, "byteEnd": len(OwnHandle) + 1},
			"features": []any{map[string]string{"$type": "app.bsky.richtext.facet#mention", "did": OwnDID}}}}
	}
	if len(m.Files) > 0 {
		var images []any
		for _, file := range m.Files {
			cid := "bafkrei" + cidOf(string(file.Data))[7:]
			f.blobs[did+"/"+cid] = file.Data
			images = append(images, map[string]any{"alt": file.Name, "image": map[string]any{
				"$type": "blob", "ref": map[string]string{"$link": cid}, "mimeType": http.DetectContentType(file.Data), "size": len(file.Data)}})
		}
		rec["embed"] = map[string]any{"$type": "app.bsky.embed.images", "images": images}
	}
	p := &post{URI: uri, CID: cidOf(uri), Author: author, Record: rec, IndexedAt: at}
	f.posts[uri] = p
	f.notes = append(f.notes, notification{post: p, reason: reason})
	return uri, nil
}

// Like adds a notification webcare does not import.
func (f *Fake) Like() {
	f.mu.Lock()
	defer f.mu.Unlock()
	at := f.now()
	did := "did:plc:fan"
	p := &post{URI: "at://" + did + "/app.bsky.feed.like/" + bluesky.TID(at.String(), at), Author: profile{DID: did, Handle: "fan.bsky.social"},
		Record: map[string]any{"$type": "app.bsky.feed.like", "createdAt": at.Format(time.RFC3339)}, IndexedAt: at}
	p.CID = cidOf(p.URI)
	f.notes = append(f.notes, notification{post: p, reason: "like"})
}

// OwnPost adds a post by the account itself (for replies to reply to).
func (f *Fake) OwnPost(text string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	at := f.now()
	uri := "at://" + OwnDID + "/app.bsky.feed.post/" + bluesky.TID(text, at)
	f.posts[uri] = &post{URI: uri, CID: cidOf(uri), Author: f.profiles[OwnDID], IndexedAt: at,
		Record: map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": at.Format(time.RFC3339)}}
	return uri
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func xerr(w http.ResponseWriter, code int, name, msg string) {
	writeJSON(w, code, map[string]string{"error": name, "message": msg})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	nsid, isXRPC := strings.CutPrefix(r.URL.Path, "/xrpc/")
	if !isXRPC {
		nsid = r.URL.Path
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, Request{Method: r.Method, NSID: nsid, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	if !isXRPC {
		data, ok := f.blobs[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/img/feed_fullsize/plain/"), "@jpeg")]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
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
		xerr(w, fl.Status, fl.Error, fl.Message)
		return
	}
	f.mu.Unlock()

	procedure := map[string]bool{"com.atproto.server.createSession": true, "com.atproto.server.refreshSession": true,
		"com.atproto.repo.createRecord": true, "chat.bsky.convo.sendMessage": true}
	if procedure[nsid] != (r.Method == http.MethodPost) {
		xerr(w, http.StatusBadRequest, "InvalidRequest", "Incorrect HTTP method ("+r.Method+") expected "+map[bool]string{true: "POST", false: "GET"}[procedure[nsid]])
		return
	}
	if r.Method == http.MethodPost && nsid != "com.atproto.server.refreshSession" && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		xerr(w, http.StatusBadRequest, "InvalidRequest", "Wrong request encoding (Content-Type): "+r.Header.Get("Content-Type"))
		return
	}
	switch nsid {
	case "com.atproto.server.createSession":
		f.createSession(w, body)
		return
	case "com.atproto.server.refreshSession":
		f.refreshSession(w, r)
		return
	}
	if !f.authorized(w, r) {
		return
	}
	if strings.HasPrefix(nsid, "chat.bsky.") && r.Header.Get("Atproto-Proxy") != bluesky.ChatProxy {
		xerr(w, http.StatusNotImplemented, "MethodNotImplemented", "Method Not Implemented")
		return
	}
	switch nsid {
	case "app.bsky.notification.listNotifications":
		f.listNotifications(w, r)
	case "app.bsky.feed.getPosts":
		f.getPosts(w, r)
	case "com.atproto.repo.createRecord":
		f.createRecord(w, body)
	case "com.atproto.repo.getRecord":
		f.getRecord(w, r)
	case "app.bsky.actor.getProfile":
		f.mu.Lock()
		p, ok := f.profiles[r.URL.Query().Get("actor")]
		f.mu.Unlock()
		if !ok {
			xerr(w, 400, "InvalidRequest", "Profile not found")
			return
		}
		writeJSON(w, 200, map[string]any{"did": p.DID, "handle": p.Handle, "displayName": p.DisplayName, "followersCount": 42, "followsCount": 7, "postsCount": 3})
	case "chat.bsky.convo.getConvoForMembers":
		f.getConvo(w, r)
	case "chat.bsky.convo.sendMessage":
		f.sendMessage(w, body)
	default:
		xerr(w, http.StatusNotImplemented, "MethodNotImplemented", "Method Not Implemented")
	}
}

func (f *Fake) createSession(w http.ResponseWriter, body []byte) {
	var in struct {
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Identifier == "" || in.Password == "" {
		xerr(w, 400, "InvalidRequest", "Input must have the properties \"identifier\", \"password\"")
		return
	}
	if (in.Identifier != OwnHandle && in.Identifier != OwnDID) || in.Password != AppPassword {
		xerr(w, 401, "AuthenticationRequired", "Invalid identifier or password")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins++
	a, rf := token(), token()
	f.access[a], f.refresh[rf] = true, true
	writeJSON(w, 200, map[string]any{"accessJwt": a, "refreshJwt": rf, "handle": OwnHandle, "did": OwnDID, "active": true})
}

func (f *Fake) refreshSession(w http.ResponseWriter, r *http.Request) {
	t := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	valid, ok := f.refresh[t]
	if !ok {
		xerr(w, 400, "InvalidToken", "Token could not be verified")
		return
	}
	if !valid {
		xerr(w, 400, "ExpiredToken", "Token has been revoked")
		return
	}
	f.refresh[t] = false // refresh tokens are single use
	a, rf := token(), token()
	f.access[a], f.refresh[rf] = true, true
	writeJSON(w, 200, map[string]any{"accessJwt": a, "refreshJwt": rf, "handle": OwnHandle, "did": OwnDID, "active": true})
}

func (f *Fake) authorized(w http.ResponseWriter, r *http.Request) bool {
	t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		xerr(w, 401, "AuthenticationRequired", "Authentication Required")
		return false
	}
	f.mu.Lock()
	valid, known := f.access[t]
	f.mu.Unlock()
	switch {
	case !known:
		xerr(w, 401, "InvalidToken", "Token could not be verified")
	case !valid:
		xerr(w, 400, "ExpiredToken", "Token has expired")
	default:
		return true
	}
	return false
}

type notificationView struct {
	URI       string         `json:"uri"`
	CID       string         `json:"cid"`
	Author    profile        `json:"author"`
	Reason    string         `json:"reason"`
	Record    map[string]any `json:"record"`
	IsRead    bool           `json:"isRead"`
	IndexedAt string         `json:"indexedAt"`
	Labels    []any          `json:"labels"`
}

// listNotifications pages newest first; the cursor is
// "<indexedAt in ms>::<cid>" of the last notification on the page and
// leads to older ones.
func (f *Fake) listNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			xerr(w, 400, "InvalidRequest", "limit must be between 1 and 100")
			return
		}
		limit = n
	}
	reasons := q["reasons"]
	f.mu.Lock()
	defer f.mu.Unlock()
	start := len(f.notes) - 1
	if c := q.Get("cursor"); c != "" {
		_, cid, ok := strings.Cut(c, "::")
		if !ok {
			xerr(w, 400, "InvalidRequest", "Malformed cursor")
			return
		}
		start = -1
		for i, n := range f.notes {
			if n.post.CID == cid {
				start = i - 1
			}
		}
	}
	out := []notificationView{}
	next := ""
	for i := start; i >= 0 && len(out) < limit; i-- {
		n := f.notes[i]
		if len(reasons) > 0 && !slices.Contains(reasons, n.reason) {
			continue
		}
		out = append(out, notificationView{URI: n.post.URI, CID: n.post.CID, Author: n.post.Author, Reason: n.reason,
			Record: n.post.Record, IndexedAt: n.post.IndexedAt.Format("2006-01-02T15:04:05.000Z"), Labels: []any{}})
		next = strconv.FormatInt(n.post.IndexedAt.UnixMilli(), 10) + "::" + n.post.CID
	}
	resp := map[string]any{"notifications": out, "priority": false}
	if len(out) == limit {
		resp["cursor"] = next
	}
	writeJSON(w, 200, resp)
}

func (f *Fake) getPosts(w http.ResponseWriter, r *http.Request) {
	uris := r.URL.Query()["uris"]
	if len(uris) == 0 || len(uris) > 25 {
		xerr(w, 400, "InvalidRequest", "uris must have between 1 and 25 items")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []any{}
	for _, u := range uris {
		if p, ok := f.posts[u]; ok {
			out = append(out, map[string]any{"uri": p.URI, "cid": p.CID, "author": p.Author, "record": p.Record, "indexedAt": p.IndexedAt.Format(time.RFC3339)})
		}
	}
	writeJSON(w, 200, map[string]any{"posts": out})
}

func (f *Fake) createRecord(w http.ResponseWriter, body []byte) {
	var in struct {
		Repo       string          `json:"repo"`
		Collection string          `json:"collection"`
		Rkey       string          `json:"rkey"`
		Record     json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Repo == "" || in.Collection == "" || len(in.Record) == 0 {
		xerr(w, 400, "InvalidRequest", "Input must have the properties \"repo\", \"collection\", \"record\"")
		return
	}
	if in.Repo != OwnDID && in.Repo != OwnHandle {
		xerr(w, 401, "AuthRequired", "Authentication Required")
		return
	}
	if in.Collection != "app.bsky.feed.post" {
		xerr(w, 400, "InvalidRequest", "Unsupported collection in this fake: "+in.Collection)
		return
	}
	var rec struct {
		Type      string `json:"$type"`
		Text      string `json:"text"`
		CreatedAt string `json:"createdAt"`
		Reply     *struct {
			Root, Parent ref
		} `json:"reply"`
		Facets []struct {
			Index struct{ ByteStart, ByteEnd int } `json:"index"`
		} `json:"facets"`
	}
	if err := json.Unmarshal(in.Record, &rec); err != nil || rec.Type != "app.bsky.feed.post" {
		xerr(w, 400, "InvalidRequest", "Invalid app.bsky.feed.post record: Record/$type must be app.bsky.feed.post")
		return
	}
	if _, err := time.Parse(time.RFC3339Nano, rec.CreatedAt); err != nil {
		xerr(w, 400, "InvalidRequest", "Invalid app.bsky.feed.post record: Record/createdAt must be an valid atproto datetime")
		return
	}
	if len(rec.Text) > bluesky.MaxPostBytes || bluesky.Graphemes(rec.Text) > bluesky.MaxPostGraphemes {
		xerr(w, 400, "InvalidRequest", "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes")
		return
	}
	for _, fc := range rec.Facets {
		if fc.Index.ByteStart < 0 || fc.Index.ByteEnd > len(rec.Text) || fc.Index.ByteStart >= fc.Index.ByteEnd {
			xerr(w, 400, "InvalidRequest", "Invalid app.bsky.feed.post record: facet index out of range")
			return
		}
	}
	rkey := in.Rkey
	f.mu.Lock()
	defer f.mu.Unlock()
	if rkey == "" {
		rkey = bluesky.TID(token(), time.Now())
	} else if !bluesky.ValidTID(rkey) {
		xerr(w, 400, "InvalidRequest", "Invalid record key for app.bsky.feed.post: must be a TID")
		return
	}
	if rec.Reply != nil {
		for _, x := range []ref{rec.Reply.Root, rec.Reply.Parent} {
			p, ok := f.posts[x.URI]
			if !ok || p.CID != x.CID {
				xerr(w, 400, "InvalidRequest", "Invalid app.bsky.feed.post record: reply refers to an unknown post or a wrong cid")
				return
			}
		}
	}
	uri := "at://" + OwnDID + "/app.bsky.feed.post/" + rkey
	if _, ok := f.posts[uri]; ok {
		// What the reference PDS does: its repository refuses a second
		// record under the same key, as an internal error.
		xerr(w, 500, "InternalServerError", "Internal Server Error")
		return
	}
	var record map[string]any
	json.Unmarshal(in.Record, &record)
	p := &post{URI: uri, CID: cidOf(uri + string(in.Record)), Author: f.profiles[OwnDID], Record: record, IndexedAt: f.now()}
	f.posts[uri] = p
	f.sent = append(f.sent, p)
	writeJSON(w, 200, map[string]any{"uri": p.URI, "cid": p.CID, "validationStatus": "valid"})
}

func (f *Fake) getRecord(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	uri := "at://" + q.Get("repo") + "/" + q.Get("collection") + "/" + q.Get("rkey")
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.posts[uri]
	if !ok {
		xerr(w, 400, "RecordNotFound", "Could not locate record: "+uri)
		return
	}
	writeJSON(w, 200, map[string]any{"uri": p.URI, "cid": p.CID, "value": p.Record})
}

func (f *Fake) getConvo(w http.ResponseWriter, r *http.Request) {
	members := r.URL.Query()["members"]
	if len(members) == 0 || len(members) > 10 {
		xerr(w, 400, "InvalidRequest", "members must have between 1 and 10 items")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range members {
		if f.noDMs[m] {
			xerr(w, 400, "MessagesDisabled", "recipient has disabled incoming messages")
			return
		}
		if _, ok := f.profiles[m]; !ok {
			xerr(w, 400, "RecipientNotFound", "recipient not found")
			return
		}
	}
	all := append([]string{OwnDID}, members...)
	slices.Sort(all)
	id := cidOf(strings.Join(all, ","))[7:20]
	writeJSON(w, 200, map[string]any{"convo": map[string]any{"id": id, "rev": "1", "members": all, "muted": false, "unreadCount": 0}})
}

func (f *Fake) sendMessage(w http.ResponseWriter, body []byte) {
	var in struct {
		ConvoID string `json:"convoId"`
		Message struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.ConvoID == "" || in.Message.Text == "" {
		xerr(w, 400, "InvalidRequest", "Input must have the properties \"convoId\", \"message\"")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := bluesky.TID(token(), time.Now())
	f.chats = append(f.chats, ChatMessage{ID: id, ConvoID: in.ConvoID, Text: in.Message.Text})
	writeJSON(w, 200, map[string]any{"id": id, "rev": id, "text": in.Message.Text, "sender": map[string]string{"did": OwnDID}, "sentAt": time.Now().UTC().Format(time.RFC3339)})
}
