// Package telegramfake is a stand-in for the Telegram Bot API: a local
// server answering the methods webcare's telegram adapter calls (getMe,
// getWebhookInfo, setWebhook, sendMessage, sendPhoto, sendDocument,
// getFile and the file download URL) in the documented shapes, and
// customers whose messages arrive as Updates POSTed to webcare's webhook
// with the X-Telegram-Bot-Api-Secret-Token header.
//
// It is written from the Bot API documentation, independently of the
// adapter, so that tests of the adapter check it against the platform's
// format rather than against itself.
package telegramfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Defaults of a new fake.
const (
	BotID       int64 = 7000000001
	BotUsername       = "webcare_demo_bot"
	// GroupID is the supergroup that customers write in when a posted
	// message is not private.
	GroupID int64 = -1001234567890
)

// Request is one call the fake received.
type Request struct {
	Method      string            // Bot API method, or "file" for a download
	ContentType string            // the media type, without parameters
	Params      map[string]string // string values as they are; other JSON values as JSON text
	FileField   string            // the multipart file part, if any
	FileName    string
	FileData    []byte
	Answer      int // the HTTP status the fake answered
}

// Sent is a message the bot sent into a chat.
type Sent struct {
	ChatID    int64
	MessageID int64
	Text      string // the text or caption
	ReplyTo   int64  // reply_parameters.message_id
	File      string // the uploaded file's name, if any
}

type failure struct {
	code        int
	description string
	retryAfter  int
	migrateTo   int64
}

type file struct {
	path string
	data []byte
}

// Fake is a running fake Bot API server. It is safe for concurrent use.
type Fake struct {
	Token  string // "<bot id>:<secret part>", as @BotFather hands out
	Secret string // the webhook secret its Settings carry
	Client *http.Client

	srv *httptest.Server

	mu       sync.Mutex
	requests []Request
	sent     []Sent
	fails    []failure
	blocked  map[int64]bool
	migrated map[int64]int64
	chats    map[int64]bool             // chats the bot may write to
	messages map[int64]map[int64]string // chat → message id → "bot" or "user"
	lastID   map[int64]int64
	files    map[string]file
	nextFile int
	updateID int64
	webhook  struct {
		url, secret string
		allowed     []string
	}
}

var _ channel.Fake = (*Fake)(nil)

// New starts a fake on 127.0.0.1. Close it when done.
func New() *Fake {
	f := &Fake{
		Token:    strconv.FormatInt(BotID, 10) + ":AAFakeTokenForWebcareTests_0123456789",
		Secret:   "fake-webhook-secret_0123456789",
		Client:   &http.Client{Timeout: 10 * time.Second},
		blocked:  map[int64]bool{},
		migrated: map[int64]int64{},
		chats:    map[int64]bool{GroupID: true},
		messages: map[int64]map[int64]string{},
		lastID:   map[int64]int64{},
		files:    map[string]file{},
		updateID: 100000000,
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the fake's API base.
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Settings point a telegram channel at the fake.
func (f *Fake) Settings() map[string]string {
	return map[string]string{
		"access_token":   f.Token,
		"webhook_secret": f.Secret,
		"api_base":       f.srv.URL,
		"account_id":     strconv.FormatInt(BotID, 10),
		"bot_username":   BotUsername,
	}
}

// Requests returns a copy of every call received, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Request, len(f.requests))
	copy(out, f.requests)
	return out
}

// Sent returns a copy of the messages the bot sent, in order.
func (f *Fake) Sent() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Sent, len(f.sent))
	copy(out, f.sent)
	return out
}

// Webhook returns the URL, secret and update types of the last setWebhook.
func (f *Fake) Webhook() (url, secret string, allowed []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.webhook.url, f.webhook.secret, append([]string(nil), f.webhook.allowed...)
}

// FailNext makes the next n Bot API calls fail with the given error_code
// and description, as Telegram answers them: HTTP status = error_code.
func (f *Fake) FailNext(n, code int, description string) {
	f.failNext(n, failure{code: code, description: description})
}

// FloodNext makes the next n calls fail with 429 "Too Many Requests: retry
// after N" and parameters.retry_after, as the flood control does.
func (f *Fake) FloodNext(n, retryAfter int) {
	f.failNext(n, failure{code: 429, description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), retryAfter: retryAfter})
}

func (f *Fake) failNext(n int, fl failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fails = append(f.fails, fl)
	}
}

// Block makes a user block the bot: sends to their private chat fail
// with 403 "Forbidden: bot was blocked by the user".
func (f *Fake) Block(userID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked[userID] = true
}

// Migrate upgrades a group to a supergroup: sends to the old id fail with
// 400 and parameters.migrate_to_chat_id, and the new id works.
func (f *Fake) Migrate(oldID, newID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.migrated[oldID] = newID
	f.chats[newID] = true
}

// AddChat lets the bot write to a chat, as when a user presses Start.
func (f *Fake) AddChat(chatID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chats[chatID] = true
}

// AddFile stores a file customers can send and returns its file_id.
func (f *Fake) AddFile(name string, data []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addFile(name, data)
}

func (f *Fake) addFile(name string, data []byte) string {
	f.nextFile++
	id := fmt.Sprintf("AgACAgQAAxkBAAI%06d", f.nextFile)
	dir := "documents"
	if strings.HasPrefix(http.DetectContentType(data), "image/") {
		dir = "photos"
	}
	ext := ".bin"
	if i := strings.LastIndexByte(name, '.'); i >= 0 && len(name)-i <= 6 {
		ext = name[i:]
	}
	f.files[id] = file{path: fmt.Sprintf("%s/file_%d%s", dir, f.nextFile, ext), data: data}
	return id
}

// apiError writes the Bot API's error shape.
func apiError(w http.ResponseWriter, code int, description string, params map[string]any) {
	body := map[string]any{"ok": false, "error_code": code, "description": description}
	if params != nil {
		body["parameters"] = params
	}
	if ra, ok := params["retry_after"].(int); ok {
		w.Header().Set("Retry-After", strconv.Itoa(ra))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func ok(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

// recorder notes the status a handler answered with.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	req := Request{}
	defer func() {
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		req.Answer = rec.status
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.mu.Unlock()
	}()
	p := r.URL.Path
	if rest, found := strings.CutPrefix(p, "/file/bot"); found {
		req.Method = "file"
		tok, fpath, _ := strings.Cut(rest, "/")
		if tok != f.Token {
			apiError(rec, 401, "Unauthorized", nil)
			return
		}
		f.mu.Lock()
		var data []byte
		found := false
		for _, fl := range f.files {
			if fl.path == fpath {
				data, found = fl.data, true
			}
		}
		f.mu.Unlock()
		if !found {
			apiError(rec, 404, "Not Found", nil)
			return
		}
		rec.Header().Set("Content-Type", "application/octet-stream")
		_, _ = rec.Write(data)
		return
	}
	rest, found := strings.CutPrefix(p, "/bot")
	tok, method, _ := strings.Cut(rest, "/")
	req.Method = method
	if !found || method == "" || strings.Contains(method, "/") {
		apiError(rec, 404, "Not Found", nil)
		return
	}
	if tok != f.Token {
		apiError(rec, 401, "Unauthorized", nil)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		apiError(rec, 405, "Method Not Allowed", nil)
		return
	}
	if err := readParams(r, &req); err != nil {
		apiError(rec, 400, "Bad Request: "+err.Error(), nil)
		return
	}
	f.mu.Lock()
	var fl *failure
	if len(f.fails) > 0 {
		fl = &f.fails[0]
		f.fails = f.fails[1:]
	}
	f.mu.Unlock()
	if fl != nil {
		var params map[string]any
		if fl.retryAfter > 0 {
			params = map[string]any{"retry_after": fl.retryAfter}
		}
		apiError(rec, fl.code, fl.description, params)
		return
	}
	switch method {
	case "getMe":
		ok(rec, map[string]any{"id": BotID, "is_bot": true, "first_name": "Webcare Demo", "username": BotUsername,
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false})
	case "getWebhookInfo":
		f.mu.Lock()
		info := map[string]any{"url": f.webhook.url, "has_custom_certificate": false, "pending_update_count": 0}
		if len(f.webhook.allowed) > 0 {
			info["allowed_updates"] = f.webhook.allowed
		}
		f.mu.Unlock()
		ok(rec, info)
	case "setWebhook":
		f.setWebhook(rec, req)
	case "sendMessage", "sendPhoto", "sendDocument":
		f.send(rec, req)
	case "getFile":
		f.mu.Lock()
		fl, found := f.files[req.Params["file_id"]]
		f.mu.Unlock()
		if !found {
			apiError(rec, 400, "Bad Request: invalid file_id", nil)
			return
		}
		ok(rec, map[string]any{"file_id": req.Params["file_id"], "file_unique_id": "AQAD" + req.Params["file_id"][len(req.Params["file_id"])-6:],
			"file_size": len(fl.data), "file_path": fl.path})
	default:
		apiError(rec, 404, "Not Found", nil)
	}
}

// readParams reads a method's parameters the three ways the Bot API takes
// them: a query string, application/json, or multipart/form-data.
func readParams(r *http.Request, req *Request) error {
	req.Params = map[string]string{}
	for k, v := range r.URL.Query() {
		req.Params[k] = v[0]
	}
	if r.Method == http.MethodGet || r.ContentLength == 0 {
		return nil
	}
	ct, mp, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	req.ContentType = ct
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
			return fmt.Errorf("can't parse JSON object")
		}
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) == nil {
				req.Params[k] = s
			} else {
				req.Params[k] = string(v)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return err
		}
		for k, v := range r.PostForm {
			req.Params[k] = v[0]
		}
	case "multipart/form-data":
		mr := multipart.NewReader(io.LimitReader(r.Body, 60<<20), mp["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("can't parse multipart body")
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return err
			}
			if part.FileName() != "" {
				req.FileField, req.FileName, req.FileData = part.FormName(), part.FileName(), data
			} else {
				req.Params[part.FormName()] = string(data)
			}
		}
	default:
		return fmt.Errorf("unsupported Content-Type %q", ct)
	}
	return nil
}

func (f *Fake) setWebhook(w http.ResponseWriter, req Request) {
	url := req.Params["url"]
	secret := req.Params["secret_token"]
	if url != "" && !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://127.0.0.1") && !strings.HasPrefix(url, "http://localhost") {
		apiError(w, 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook", nil)
		return
	}
	if len(secret) > 256 || strings.IndexFunc(secret, func(c rune) bool {
		return !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-')
	}) >= 0 {
		apiError(w, 400, "Bad Request: secret token contains unallowed characters", nil)
		return
	}
	var allowed []string
	if a := req.Params["allowed_updates"]; a != "" {
		if err := json.Unmarshal([]byte(a), &allowed); err != nil {
			apiError(w, 400, "Bad Request: can't parse allowed updates", nil)
			return
		}
	}
	f.mu.Lock()
	f.webhook.url, f.webhook.secret, f.webhook.allowed = url, secret, allowed
	f.mu.Unlock()
	ok(w, true)
}

func (f *Fake) send(w http.ResponseWriter, req Request) {
	chatID, err := strconv.ParseInt(req.Params["chat_id"], 10, 64)
	if err != nil {
		apiError(w, 400, "Bad Request: chat not found", nil)
		return
	}
	var rp struct {
		MessageID                int64 `json:"message_id"`
		AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
	}
	if s := req.Params["reply_parameters"]; s != "" {
		if err := json.Unmarshal([]byte(s), &rp); err != nil || rp.MessageID <= 0 {
			apiError(w, 400, "Bad Request: can't parse reply parameters JSON object", nil)
			return
		}
	}
	text := req.Params["text"]
	switch req.Method {
	case "sendMessage":
		if req.ContentType == "multipart/form-data" && req.FileField != "" {
			apiError(w, 400, "Bad Request: unexpected file", nil)
			return
		}
		if strings.TrimSpace(text) == "" {
			apiError(w, 400, "Bad Request: message text is empty", nil)
			return
		}
		if utf8.RuneCountInString(text) > 4096 {
			apiError(w, 400, "Bad Request: message is too long", nil)
			return
		}
	case "sendPhoto", "sendDocument":
		field := strings.ToLower(strings.TrimPrefix(req.Method, "send"))
		if req.ContentType != "multipart/form-data" || req.FileField != field || len(req.FileData) == 0 {
			apiError(w, 400, fmt.Sprintf("Bad Request: there is no %s in the request", field), nil)
			return
		}
		limit := 50 << 20
		if field == "photo" {
			limit = 10 << 20
			if ct := http.DetectContentType(req.FileData); ct != "image/jpeg" && ct != "image/png" {
				apiError(w, 400, "Bad Request: IMAGE_PROCESS_FAILED", nil)
				return
			}
		}
		if len(req.FileData) > limit {
			apiError(w, 400, "Bad Request: file is too big", nil)
			return
		}
		text = req.Params["caption"]
		if utf8.RuneCountInString(text) > 1024 {
			apiError(w, 400, "Bad Request: message caption is too long", nil)
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if to, ok := f.migrated[chatID]; ok {
		apiError(w, 400, "Bad Request: group chat was upgraded to a supergroup chat", map[string]any{"migrate_to_chat_id": to})
		return
	}
	if f.blocked[chatID] {
		apiError(w, 403, "Forbidden: bot was blocked by the user", nil)
		return
	}
	if !f.chats[chatID] {
		apiError(w, 400, "Bad Request: chat not found", nil)
		return
	}
	if rp.MessageID > 0 && f.messages[chatID][rp.MessageID] == "" && !rp.AllowSendingWithoutReply {
		apiError(w, 400, "Bad Request: message to be replied not found", nil)
		return
	}
	id := f.nextMessageID(chatID, "bot")
	f.sent = append(f.sent, Sent{ChatID: chatID, MessageID: id, Text: text, ReplyTo: rp.MessageID, File: req.FileName})
	msg := map[string]any{
		"message_id": id,
		"from":       map[string]any{"id": BotID, "is_bot": true, "first_name": "Webcare Demo", "username": BotUsername},
		"chat":       chatObject(chatID),
		"date":       time.Now().Unix(),
	}
	if req.Method == "sendMessage" {
		msg["text"] = text
	} else if text != "" {
		msg["caption"] = text
	}
	ok(w, msg)
}

func (f *Fake) nextMessageID(chatID int64, who string) int64 {
	f.lastID[chatID]++
	id := f.lastID[chatID]
	if f.messages[chatID] == nil {
		f.messages[chatID] = map[int64]string{}
	}
	f.messages[chatID][id] = who
	return id
}

func chatObject(id int64) map[string]any {
	if id < 0 {
		return map[string]any{"id": id, "type": "supergroup", "title": "Webcare demo group"}
	}
	return map[string]any{"id": id, "type": "private", "first_name": "Customer"}
}

// UserID is the Telegram user id the fake uses for an author: their
// ExternalID when it is a number, else a stable number made from it.
func UserID(a channel.Author) int64 {
	if id, err := strconv.ParseInt(a.ExternalID, 10, 64); err == nil && id > 0 {
		return id
	}
	h := fnv.New32a()
	h.Write([]byte(a.ExternalID + "|" + a.Handle + "|" + a.Name))
	return 100000000 + int64(h.Sum32()%900000000)
}

// Post makes a customer's message arrive at webcare as Telegram would
// deliver it: one Update POSTed to baseURL + "/hooks/{channel id}" with
// the channel's secret token. A private message comes from the author's
// private chat; any other comes from the fake's group, mentioning the
// bot. The first file goes with the message (a photo for images, else a
// document); further files follow as messages of their own.
func (f *Fake) Post(ctx context.Context, baseURL string, ch store.Channel, m channel.Message) error {
	userID := UserID(m.From)
	chatID := userID
	if !m.Private {
		chatID = GroupID
	}
	first, last, _ := strings.Cut(m.From.Name, " ")
	from := map[string]any{"id": userID, "is_bot": false, "first_name": first}
	if last != "" {
		from["last_name"] = last
	}
	if m.From.Handle != "" {
		from["username"] = strings.TrimPrefix(m.From.Handle, "@")
	}
	sentAt := m.SentAt
	if sentAt.IsZero() {
		sentAt = time.Now()
	}
	files := m.Files
	for i := 0; i == 0 || i < len(files); i++ {
		f.mu.Lock()
		f.chats[chatID] = true
		msg := map[string]any{
			"message_id": f.nextMessageID(chatID, "user"),
			"from":       from,
			"chat":       chatObject(chatID),
			"date":       sentAt.Unix(),
		}
		if chatID == userID {
			msg["chat"] = map[string]any{"id": chatID, "type": "private", "first_name": first}
		}
		text := ""
		if i == 0 {
			text = m.Text
		}
		var entities []map[string]any
		if !m.Private && i == 0 {
			mention := "@" + BotUsername
			text = mention + " " + text
			entities = []map[string]any{{"type": "mention", "offset": 0, "length": utf8.RuneCountInString(mention)}}
		}
		if i == 0 && m.ReplyTo != "" {
			if c, mid, ok := splitID(m.ReplyTo); ok && c == chatID {
				reply := map[string]any{"message_id": mid, "chat": msg["chat"], "date": sentAt.Unix() - 60}
				if f.messages[c][mid] == "bot" {
					reply["from"] = map[string]any{"id": BotID, "is_bot": true, "first_name": "Webcare Demo", "username": BotUsername}
				}
				msg["reply_to_message"] = reply
			}
		}
		if i < len(files) {
			fl := files[i]
			id := f.addFile(fl.Name, fl.Data)
			if ct := http.DetectContentType(fl.Data); strings.HasPrefix(ct, "image/jpeg") || strings.HasPrefix(ct, "image/png") {
				msg["photo"] = []map[string]any{
					{"file_id": id, "file_unique_id": "AQADs" + id[len(id)-6:], "width": 90, "height": 90, "file_size": len(fl.Data)},
					{"file_id": id, "file_unique_id": "AQADl" + id[len(id)-6:], "width": 1280, "height": 960, "file_size": len(fl.Data)},
				}
			} else {
				msg["document"] = map[string]any{"file_id": id, "file_unique_id": "AgAD" + id[len(id)-6:], "file_name": fl.Name,
					"mime_type": ct, "file_size": len(fl.Data)}
			}
			if text != "" {
				msg["caption"] = text
				if entities != nil {
					msg["caption_entities"] = entities
				}
			}
		} else {
			msg["text"] = text
			if entities != nil {
				msg["entities"] = entities
			}
		}
		f.updateID++
		update := map[string]any{"update_id": f.updateID, "message": msg}
		f.mu.Unlock()
		body, err := json.Marshal(update)
		if err != nil {
			return err
		}
		if err := f.Deliver(ctx, baseURL, ch, body); err != nil {
			return err
		}
	}
	return nil
}

// Deliver POSTs one raw Update to webcare's webhook for the channel, with
// the channel's secret token (the fake's own when the channel has none).
func (f *Fake) Deliver(ctx context.Context, baseURL string, ch store.Channel, body []byte) error {
	secret := ch.Settings["webhook_secret"]
	if secret == "" {
		secret = f.Secret
	}
	url := strings.TrimRight(baseURL, "/") + "/hooks/" + strconv.FormatInt(ch.ID, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	resp, err := f.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		// Telegram would retry; the fake reports it.
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

func splitID(id string) (chatID, messageID int64, ok bool) {
	c, rest, found := strings.Cut(id, ":")
	m, _, _ := strings.Cut(rest, ":")
	chatID, err1 := strconv.ParseInt(c, 10, 64)
	messageID, err2 := strconv.ParseInt(m, 10, 64)
	return chatID, messageID, found && err1 == nil && err2 == nil
}
