// Package whatsappfake stands in for Meta's WhatsApp Cloud API in tests and
// the demo: the Graph API endpoints webcare's adapter calls (send, media
// upload and download, the phone number), checked against the documented
// request format and answered with the documented shapes, including
// Meta's error object; and customers whose messages, and the delivery
// receipts of webcare's replies, arrive at webcare as signed webhooks.
package whatsappfake

import (
	"bytes"
	"context"
	"crypto/sha256"
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

// Version is the Graph API version path the fake serves under.
const Version = "v24.0"

// Request is one call the fake received.
type Request struct {
	Method      string
	Path        string // without the version prefix, e.g. "/106540352242922/messages"
	Query       string
	Header      http.Header
	Body        []byte // the raw body (multipart uploads included)
	ContentType string
}

// Sent is a message webcare sent, as the fake accepted it.
type Sent struct {
	ID      string // the wamid the fake answered with
	To      string // "to", or "recipient" for a business-scoped user id
	Type    string // text, image, document
	Text    string // text.body or the media's caption
	MediaID string
	ReplyTo string // context.message_id
}

// Media is a file the fake holds: a customer's photo waiting to be
// fetched, or a file webcare uploaded.
type Media struct {
	ID       string
	MimeType string
	Name     string
	Data     []byte
}

// Failure is an answer the fake gives instead of the real one.
type Failure struct {
	Status  int    // HTTP status; 0: 400
	Code    int    // Meta's error code, e.g. 131047; 0 with a 5xx status answers plain text
	Message string // the error's message (its title)
	Details string // error_data.details
	Header  http.Header
}

// Fake is a WhatsApp Cloud API for one business phone number.
type Fake struct {
	AppSecret     string
	VerifyToken   string
	AccessToken   string
	PhoneNumberID string
	DisplayPhone  string // display_phone_number in webhooks, digits only
	VerifiedName  string
	WABAID        string

	srv    *httptest.Server
	client *http.Client

	mu       sync.Mutex
	requests []Request
	sent     []Sent
	media    map[string]Media
	fail     []Failure
	seq      int
}

var _ channel.Fake = (*Fake)(nil)

// New starts a fake on 127.0.0.1. Close it when done.
func New() *Fake {
	f := &Fake{
		AppSecret:     "fake-app-secret",
		VerifyToken:   "fake-verify-token",
		AccessToken:   "fake-access-token",
		PhoneNumberID: "106540352242922",
		DisplayPhone:  "15550783881",
		VerifiedName:  "Webcare Demo",
		WABAID:        "102290129340398",
		media:         map[string]Media{},
		client:        &http.Client{Timeout: 20 * time.Second},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the fake's root; the Graph API is under URL()+"/"+Version.
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Settings point a whatsapp channel at the fake.
func (f *Fake) Settings() map[string]string {
	return map[string]string{
		"account_id":   f.PhoneNumberID,
		"access_token": f.AccessToken,
		"app_secret":   f.AppSecret,
		"verify_token": f.VerifyToken,
		"api_base":     f.srv.URL + "/" + Version,
	}
}

// Requests returns what the fake received, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Sent returns the messages the fake accepted, oldest first.
func (f *Fake) Sent() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Sent(nil), f.sent...)
}

// Media returns a stored file by id.
func (f *Fake) Media(id string) (Media, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.media[id]
	return m, ok
}

// AddMedia stores a file as if a customer had sent it and returns its id.
func (f *Fake) AddMedia(name, mimeType string, data []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := strconv.Itoa(2754859441498128 + f.seq)
	f.media[id] = Media{ID: id, MimeType: mimeType, Name: name, Data: append([]byte(nil), data...)}
	return id
}

// FailNext makes the next n API calls answer with fail.
func (f *Fake) FailNext(n int, fail Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fail = append(f.fail, fail)
	}
}

// RateLimited is the failure Meta answers when a number's throughput is
// exceeded: code 130429, with the usage header that says when to retry.
func RateLimited(minutes int) Failure {
	h := http.Header{}
	h.Set("X-Business-Use-Case-Usage", fmt.Sprintf(`{"102290129340398":[{"type":"whatsapp_business_messaging","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":%d}]}`, minutes))
	return Failure{Status: http.StatusTooManyRequests, Code: 130429, Message: "(#130429) Rate limit hit",
		Details: "Cloud API message throughput has been reached.", Header: h}
}

// WindowClosed is the failure for a reply more than 24 hours after the
// customer last wrote.
func WindowClosed() Failure {
	return Failure{Code: 131047, Message: "(#131047) Re-engagement message",
		Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}
}

// ServerError is a 500 without Meta's error object.
func ServerError() Failure { return Failure{Status: http.StatusInternalServerError} }

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 120<<20))
	path := strings.TrimPrefix(r.URL.Path, "/"+Version)
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, ContentType: r.Header.Get("Content-Type")})
	var fail *Failure
	if len(f.fail) > 0 {
		fail = &f.fail[0]
		f.fail = f.fail[1:]
	}
	f.mu.Unlock()

	if r.Header.Get("Authorization") != "Bearer "+f.AccessToken {
		writeError(w, http.StatusUnauthorized, 190, "OAuthException",
			"Error validating access token: Session has expired.", "")
		return
	}
	if fail != nil {
		for k, v := range fail.Header {
			w.Header()[k] = v
		}
		status := fail.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		if fail.Code == 0 && status >= 500 {
			http.Error(w, http.StatusText(status), status)
			return
		}
		writeError(w, status, fail.Code, "OAuthException", fail.Message, fail.Details)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/download/") {
		f.download(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/"+Version+"/") {
		writeError(w, http.StatusBadRequest, 2500, "OAuthException", "Unknown path components: "+r.URL.Path, "")
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == f.PhoneNumberID:
		writeJSON(w, map[string]string{"verified_name": f.VerifiedName, "display_phone_number": displayNumber(f.DisplayPhone),
			"id": f.PhoneNumberID})
	case r.Method == http.MethodGet && len(parts) == 1:
		f.mediaInfo(w, parts[0])
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "messages":
		if parts[0] != f.PhoneNumberID {
			writeError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported post request. Object with ID '"+parts[0]+"' does not exist.", "")
			return
		}
		f.send(w, r, body)
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "media":
		if parts[0] != f.PhoneNumberID {
			writeError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported post request. Object with ID '"+parts[0]+"' does not exist.", "")
			return
		}
		f.upload(w, r, body)
	default:
		writeError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported "+strings.ToLower(r.Method)+" request.", "")
	}
}

func (f *Fake) mediaInfo(w http.ResponseWriter, id string) {
	m, ok := f.Media(id)
	if !ok {
		writeError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported get request. Object with ID '"+id+"' does not exist.", "")
		return
	}
	sum := sha256.Sum256(m.Data)
	writeJSON(w, map[string]any{
		"messaging_product": "whatsapp",
		"url":               f.srv.URL + "/download/" + id + "?ext=1700000000&hash=" + hex.EncodeToString(sum[:8]),
		"mime_type":         m.MimeType,
		"sha256":            hex.EncodeToString(sum[:]),
		"file_size":         len(m.Data),
		"id":                id,
	})
}

func (f *Fake) download(w http.ResponseWriter, r *http.Request) {
	m, ok := f.Media(strings.TrimPrefix(r.URL.Path, "/download/"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", m.MimeType)
	w.Write(m.Data)
}

// limits of the Cloud API's supported media types.
var mediaTypes = map[string]int{
	"image/jpeg": 5 << 20, "image/png": 5 << 20, "image/webp": 500 << 10,
	"application/pdf": 100 << 20, "text/plain": 100 << 20,
	"audio/ogg": 16 << 20, "audio/mpeg": 16 << 20, "video/mp4": 16 << 20,
}

func (f *Fake) upload(w http.ResponseWriter, r *http.Request, body []byte) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter file is required.", "upload media as multipart/form-data")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Invalid parameter", err.Error())
		return
	}
	_ = params
	if r.FormValue("messaging_product") != "whatsapp" {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter messaging_product is required.", "")
		return
	}
	typ := r.FormValue("type")
	limit, ok := mediaTypes[typ]
	if !ok {
		writeError(w, http.StatusBadRequest, 131053, "OAuthException", "(#131053) Media upload error",
			"Param file must be a file with one of the following types: image/jpeg, image/png, application/pdf, …. Received file of type '"+typ+"'.")
		return
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter file is required.", "")
		return
	}
	data, _ := io.ReadAll(file)
	if len(data) == 0 || len(data) > limit {
		writeError(w, http.StatusBadRequest, 131053, "OAuthException", "(#131053) Media upload error",
			fmt.Sprintf("File of %d bytes; the limit for %s is %d.", len(data), typ, limit))
		return
	}
	id := f.AddMedia(hdr.Filename, typ, data)
	writeJSON(w, map[string]string{"id": id})
}

// outgoing is what the fake reads of a send request.
type outgoing struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Recipient        string `json:"recipient"`
	Type             string `json:"type"`
	Context          *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *outMedia `json:"image"`
	Document *outMedia `json:"document"`
}

type outMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

func (f *Fake) send(w http.ResponseWriter, r *http.Request, body []byte) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter messaging_product is required.", "send JSON with Content-Type: application/json")
		return
	}
	var m outgoing
	if err := json.Unmarshal(body, &m); err != nil {
		writeError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Invalid parameter", err.Error())
		return
	}
	to := m.To
	if to == "" {
		to = m.Recipient
	}
	bad := func(code int, msg, details string) {
		writeError(w, http.StatusBadRequest, code, "OAuthException", msg, details)
	}
	switch {
	case m.MessagingProduct != "whatsapp":
		bad(100, "(#100) The parameter messaging_product is required.", "")
		return
	case m.RecipientType != "" && m.RecipientType != "individual":
		bad(100, "(#100) Invalid parameter", "recipient_type must be individual")
		return
	case to == "":
		bad(100, "(#100) The parameter to is required.", "")
		return
	case m.Context != nil && m.Context.MessageID == "":
		bad(131009, "(#131009) Parameter value is not valid", "context.message_id is empty")
		return
	}
	s := Sent{To: to, Type: m.Type}
	if m.Context != nil {
		s.ReplyTo = m.Context.MessageID
	}
	switch m.Type {
	case "text":
		if m.Text == nil || strings.TrimSpace(m.Text.Body) == "" {
			bad(100, "(#100) The parameter text['body'] is required.", "")
			return
		}
		if utf8.RuneCountInString(m.Text.Body) > 4096 {
			bad(100, "(#100) Param text['body'] must be at most 4096 characters long.", "")
			return
		}
		s.Text = m.Text.Body
	case "image", "document":
		md := m.Image
		if m.Type == "document" {
			md = m.Document
		}
		if md == nil || (md.ID == "" && md.Link == "") {
			bad(100, "(#100) The parameter "+m.Type+"['id'] is required.", "")
			return
		}
		if md.ID != "" {
			if _, ok := f.Media(md.ID); !ok {
				bad(131053, "(#131053) Media upload error", "Unknown media id "+md.ID)
				return
			}
		}
		if utf8.RuneCountInString(md.Caption) > 1024 {
			bad(100, "(#100) Param "+m.Type+"['caption'] must be at most 1024 characters long.", "")
			return
		}
		s.Text, s.MediaID = md.Caption, md.ID
	default:
		bad(131051, "(#131051) Unsupported message type", "Message type "+m.Type+" is not supported by this fake.")
		return
	}
	f.mu.Lock()
	f.seq++
	s.ID = "wamid.HBgL" + strconv.Itoa(1000000+f.seq) + "FAKE"
	f.sent = append(f.sent, s)
	f.mu.Unlock()
	writeJSON(w, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": to, "wa_id": to}},
		"messages":          []map[string]string{{"id": s.ID, "message_status": "accepted"}},
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// writeError answers with Meta's error object.
func writeError(w http.ResponseWriter, status, code int, typ, msg, details string) {
	e := map[string]any{"message": msg, "type": typ, "code": code, "fbtrace_id": "AwmiSOCojlAkqvjCTjGt37r"}
	if details != "" {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": details}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func displayNumber(digits string) string {
	if len(digits) == 11 && digits[0] == '1' {
		return "+1 " + digits[1:4] + "-" + digits[4:7] + "-" + digits[7:]
	}
	return "+" + digits
}

// Webhook payload shapes, as Meta sends them.
type (
	hook struct {
		Object string      `json:"object"`
		Entry  []hookEntry `json:"entry"`
	}
	hookEntry struct {
		ID      string       `json:"id"`
		Changes []hookChange `json:"changes"`
	}
	hookChange struct {
		Value hookValue `json:"value"`
		Field string    `json:"field"`
	}
	hookValue struct {
		MessagingProduct string            `json:"messaging_product"`
		Metadata         map[string]string `json:"metadata"`
		Contacts         []any             `json:"contacts,omitempty"`
		Messages         []any             `json:"messages,omitempty"`
		Statuses         []any             `json:"statuses,omitempty"`
	}
)

func (f *Fake) envelope(ch store.Channel, v hookValue) hook {
	pnid := ch.Settings["account_id"]
	if pnid == "" {
		pnid = f.PhoneNumberID
	}
	v.MessagingProduct = "whatsapp"
	v.Metadata = map[string]string{"display_phone_number": f.DisplayPhone, "phone_number_id": pnid}
	return hook{Object: "whatsapp_business_account", Entry: []hookEntry{{ID: f.WABAID, Changes: []hookChange{{Value: v, Field: "messages"}}}}}
}

// Post makes a customer write to the business: a text message, or a photo
// or document (m.Files[0], stored for the adapter to fetch) with m.Text as
// its caption, delivered as a signed messages webhook to
// baseURL/hooks/{ch.ID}. m.From.ExternalID is the customer's number
// (default 31612345678), m.PlatformID the wamid (default: a new one),
// m.ReplyTo the message quoted.
func (f *Fake) Post(ctx context.Context, baseURL string, ch store.Channel, m channel.Message) error {
	from := m.From.ExternalID
	if from == "" {
		from = "31612345678"
	}
	name := m.From.Name
	if name == "" {
		name = "Customer " + from[max(0, len(from)-4):]
	}
	id := m.PlatformID
	if id == "" {
		f.mu.Lock()
		f.seq++
		id = "wamid.HBgL" + from + "FQIAEhgU" + strconv.Itoa(3000000+f.seq)
		f.mu.Unlock()
	}
	at := m.SentAt
	if at.IsZero() {
		at = time.Now()
	}
	msg := map[string]any{"from": from, "id": id, "timestamp": strconv.FormatInt(at.Unix(), 10)}
	if m.ReplyTo != "" {
		msg["context"] = map[string]string{"from": f.DisplayPhone, "id": m.ReplyTo}
	}
	if len(m.Files) > 0 && len(m.Files[0].Data) > 0 {
		file := m.Files[0]
		mt := channel.Sniff(file.Data)
		kind := "document"
		if mt == "image/jpeg" || mt == "image/png" || mt == "image/webp" {
			kind = "image"
		}
		mid := f.AddMedia(file.Name, mt, file.Data)
		sum := sha256.Sum256(file.Data)
		md := map[string]string{"mime_type": mt, "sha256": hex.EncodeToString(sum[:]), "id": mid}
		if m.Text != "" {
			md["caption"] = m.Text
		}
		if kind == "document" {
			md["filename"] = channel.CleanName(file.Name)
		}
		msg["type"], msg[kind] = kind, md
	} else {
		msg["type"], msg["text"] = "text", map[string]string{"body": m.Text}
	}
	contact := map[string]any{"profile": map[string]string{"name": name}, "wa_id": from}
	return f.deliver(ctx, baseURL, ch, f.envelope(ch, hookValue{Contacts: []any{contact}, Messages: []any{msg}}))
}

// PostStatus delivers the receipt of a message webcare sent: state is
// store.Sent, store.Delivered, store.Read or store.Failed (which carries
// error 131026, undeliverable).
func (f *Fake) PostStatus(ctx context.Context, baseURL string, ch store.Channel, wamid string, state store.Delivery) error {
	to := "31612345678"
	for _, s := range f.Sent() {
		if s.ID == wamid {
			to = s.To
		}
	}
	st := map[string]any{"id": wamid, "timestamp": strconv.FormatInt(time.Now().Unix(), 10), "recipient_id": to}
	switch state {
	case store.Sent:
		st["status"] = "sent"
		st["pricing"] = map[string]any{"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
	case store.Delivered:
		st["status"] = "delivered"
	case store.Read:
		st["status"] = "read"
	case store.Failed:
		st["status"] = "failed"
		st["errors"] = []map[string]any{{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
			"error_data": map[string]string{"details": "Message Undeliverable."}, "href": "/documentation/business-messaging/whatsapp/support/error-codes"}}
	default:
		return fmt.Errorf("whatsappfake: no WhatsApp status for %q", state)
	}
	return f.deliver(ctx, baseURL, ch, f.envelope(ch, hookValue{Statuses: []any{st}}))
}

// PostRaw delivers body, signed, as a webhook: for payloads Post cannot make.
func (f *Fake) PostRaw(ctx context.Context, baseURL string, ch store.Channel, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/hooks/"+strconv.FormatInt(ch.ID, 10), bytes.NewReader(body))
	if err != nil {
		return err
	}
	secret := ch.Settings["app_secret"]
	if secret == "" {
		secret = f.AppSecret
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set(meta.SignatureHeader, meta.Sign(secret, body))
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("whatsappfake: webhook answered %s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	return nil
}

func (f *Fake) deliver(ctx context.Context, baseURL string, ch store.Channel, h hook) error {
	body, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return f.PostRaw(ctx, baseURL, ch, body)
}
