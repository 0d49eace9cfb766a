package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Webhook verifies and reads the deliveries Meta posts for a Page (object
// "page") or an Instagram account (object "instagram").
type Webhook struct {
	Kind string // KindFacebook or KindInstagram
}

// Verify checks X-Hub-Signature-256 under the channel's app_secret.
func (w *Webhook) Verify(ch store.Channel, h http.Header, body []byte) error {
	return VerifySignature(ch.Settings["app_secret"], h, body)
}

// VerifyHeader refuses an unsigned delivery before its body is read.
func (w *Webhook) VerifyHeader(ch store.Channel, h http.Header) error {
	return VerifySignatureHeader(ch.Settings["app_secret"], h)
}

// Challenge answers Meta's subscription check with the channel's
// verify_token.
func (w *Webhook) Challenge(ch store.Channel, q url.Values) (string, []byte, error) {
	return Challenge(ch.Settings["verify_token"], q)
}

// maxID bounds any id taken from a payload; Meta's ids are well under 200
// bytes, so anything longer is not Meta's.
const maxID = 256

// id is a Graph id: a JSON string, or (leniently) a non-negative integer.
type id string

func (v *id) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := unquote(b)
		if err != nil {
			return err
		}
		if len(s) > maxID {
			return fmt.Errorf("id of %d bytes", len(s))
		}
		*v = id(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	if len(b) > 40 {
		return fmt.Errorf("id of %d digits", len(b))
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return fmt.Errorf("id %s is neither a string nor a whole number", b)
		}
	}
	*v = id(b)
	return nil
}

// unquote reads a JSON string the decoder has already validated; the
// common case, no escapes, is a plain copy.
func unquote(b []byte) (string, error) {
	if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// number is an integer that Meta sends as a JSON number or, in its test
// payloads, as a numeric string.
type number int64

func (n *number) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = unquote(b); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f < 0 || f > 1e15 {
			return fmt.Errorf("%q is not a time stamp", s)
		}
		v = int64(f)
	}
	*n = number(v)
	return nil
}

// graphTime is a changes[] created_time: Unix seconds as a number or
// string, or an ISO 8601 string as the Graph API writes them
// ("2025-03-22T18:20:04+0000").
type graphTime struct{ time.Time }

func (t *graphTime) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := unquote(b)
		if err != nil {
			return err
		}
		for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339} {
			if v, err := time.Parse(layout, s); err == nil {
				t.Time = v.UTC()
				return nil
			}
		}
	}
	var n number
	if err := n.UnmarshalJSON(b); err != nil {
		return err
	}
	t.Time = unixAuto(int64(n))
	return nil
}

// unixAuto reads a Meta time stamp that may be seconds (feed changes,
// entry.time of changes) or milliseconds (messaging): no second count
// before the year 5000 exceeds 1e11.
func unixAuto(n int64) time.Time {
	switch {
	case n <= 0:
		return time.Time{}
	case n > 1e11:
		return time.UnixMilli(n).UTC()
	default:
		return time.Unix(n, 0).UTC()
	}
}

// payload is a delivery. C is the change type: typedChange decodes every
// change value in the same pass (the fast path); rawChange keeps values raw
// so that changes webcare ignores cannot fail a delivery with shapes of
// their own (the fallback when the fast path trips over one).
type payload[C any] struct {
	Object string     `json:"object"`
	Entry  []entry[C] `json:"entry"`
}

type entry[C any] struct {
	ID        id          `json:"id"`
	Time      number      `json:"time"`
	Messaging []messaging `json:"messaging"`
	Standby   []messaging `json:"standby"`
	Changes   []C         `json:"changes"`
}

type typedChange struct {
	Field string       `json:"field"`
	Value *changeValue `json:"value"`
}

type rawChange struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type party struct {
	ID id `json:"id"`
}

type messaging struct {
	Sender    party     `json:"sender"`
	Recipient party     `json:"recipient"`
	Timestamp number    `json:"timestamp"`
	Message   *message  `json:"message"`
	Delivery  *delivery `json:"delivery"`
	Read      *read     `json:"read"`
	Postback  *postback `json:"postback"`
}

type message struct {
	Mid           id           `json:"mid"`
	Text          string       `json:"text"`
	IsEcho        bool         `json:"is_echo"`
	IsDeleted     bool         `json:"is_deleted"`
	IsUnsupported bool         `json:"is_unsupported"`
	QuickReply    *quickReply  `json:"quick_reply"`
	ReplyTo       *replyTo     `json:"reply_to"`
	Attachments   []attachment `json:"attachments"`
}

type quickReply struct {
	Payload string `json:"payload"`
}

type replyTo struct {
	Mid   id `json:"mid"`
	Story *struct {
		URL string `json:"url"`
		ID  id     `json:"id"`
	} `json:"story"`
}

type attachment struct {
	Type    string `json:"type"`
	Payload *struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"payload"`
}

type delivery struct {
	Mids      []id   `json:"mids"`
	Watermark number `json:"watermark"`
}

type read struct {
	Watermark number `json:"watermark"`
	Mid       id     `json:"mid"` // Instagram's messaging_seen names the message
}

type postback struct {
	Mid     id     `json:"mid"`
	Title   string `json:"title"`
	Payload string `json:"payload"`
}

// changeValue covers a Page "feed" change, an Instagram "comments" change
// and a messaging event wrapped as a change.
type changeValue struct {
	// feed
	Item        string    `json:"item"`
	Verb        string    `json:"verb"`
	CommentID   id        `json:"comment_id"`
	PostID      id        `json:"post_id"`
	ParentID    id        `json:"parent_id"`
	CreatedTime graphTime `json:"created_time"`
	SenderID    id        `json:"sender_id"` // older feed payloads name the author here
	SenderName  string    `json:"sender_name"`
	Photo       string    `json:"photo"`
	Video       string    `json:"video"`
	Link        string    `json:"link"`
	// instagram comments
	ID    id     `json:"id"`
	Text  string `json:"text"`
	Media *struct {
		ID id `json:"id"`
	} `json:"media"`
	// feed and instagram comments
	From *struct {
		ID       id     `json:"id"`
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"from"`
	// Message is a feed item's text (a string) or a wrapped messaging
	// event's message (an object).
	Message json.RawMessage `json:"message"`
	// a wrapped messaging event
	Sender    party     `json:"sender"`
	Recipient party     `json:"recipient"`
	Timestamp number    `json:"timestamp"`
	Delivery  *delivery `json:"delivery"`
	Read      *read     `json:"read"`
	Postback  *postback `json:"postback"`
}

// handles reports whether webcare reads changes of field; others
// (mentions, ratings, reactions…) have nothing to answer.
func (w *Webhook) handles(field string) bool {
	switch {
	case strings.HasPrefix(field, "messag"):
		// Meta's dashboard "Test" button and some Instagram Login apps
		// send messaging events wrapped as a change.
		return true
	case w.Kind == KindFacebook:
		return field == "feed"
	default:
		return field == "comments" || field == "live_comments"
	}
}

// decode reads a delivery in one pass, or, when a change has a shape of
// its own, in two: the handled changes' values only. A handled change
// that cannot be read is recorded in b and left out.
func (w *Webhook) decode(body []byte, b *channel.Batch) (payload[typedChange], error) {
	var p payload[typedChange]
	fastErr := json.Unmarshal(body, &p)
	if fastErr == nil {
		return p, nil
	}
	var raw payload[rawChange]
	if err := json.Unmarshal(body, &raw); err != nil {
		return p, err
	}
	p = payload[typedChange]{Object: raw.Object, Entry: make([]entry[typedChange], len(raw.Entry))}
	for i, e := range raw.Entry {
		p.Entry[i] = entry[typedChange]{ID: e.ID, Time: e.Time, Messaging: e.Messaging, Standby: e.Standby, Changes: make([]typedChange, len(e.Changes))}
		for j, c := range e.Changes {
			p.Entry[i].Changes[j].Field = c.Field
			if !w.handles(c.Field) || len(c.Value) == 0 || bytes.Equal(c.Value, []byte("null")) {
				continue
			}
			v := new(changeValue)
			if err := json.Unmarshal(c.Value, v); err != nil {
				var kind struct {
					Item string `json:"item"`
				}
				if c.Field == "feed" && json.Unmarshal(c.Value, &kind) == nil && !feedItems[kind.Item] {
					p.Entry[i].Changes[j].Field = "" // a like or share with a shape of its own: skipped
					continue
				}
				p.Entry[i].Changes[j].Field = ""
				b.Skip("entry %d change %d: %v", i, j, err)
				continue
			}
			p.Entry[i].Changes[j].Value = v
		}
	}
	return p, nil
}

// Parse reads a verified delivery. Messenger and Instagram DMs become
// private messages, feed comments, visitor posts and Instagram comments
// public ones; delivery receipts and Instagram read receipts become
// statuses. The Page's or account's own messages and comments are skipped.
func (w *Webhook) Parse(ch store.Channel, body []byte) (channel.Batch, error) {
	var b channel.Batch
	p, err := w.decode(body, &b)
	if err != nil {
		return channel.Batch{}, fmt.Errorf("%w: %v", channel.ErrPayload, err)
	}
	want := "page"
	if w.Kind == KindInstagram {
		want = "instagram"
	}
	if p.Object != want {
		return channel.Batch{}, fmt.Errorf("%w: object is %q; a %s channel takes %q deliveries (is the webhook of the right product pointed at this channel?)", channel.ErrPayload, p.Object, w.Kind, want)
	}
	self := ch.Settings["account_id"]
	for i := range p.Entry {
		e := &p.Entry[i]
		if e.ID == "" {
			b.Skip("entry %d has no id", i)
			continue
		}
		acct := string(e.ID)
		for _, list := range [][]messaging{e.Messaging, e.Standby} {
			for j := range list {
				if err := readMessaging(&b, &list[j], acct, self); err != nil {
					b.Skip("entry %d: %v", i, err)
				}
			}
		}
		for j := range e.Changes {
			if err := w.readChange(&b, &e.Changes[j], acct, self, unixAuto(int64(e.Time))); err != nil {
				b.Skip("entry %d change %d: %v", i, j, err)
			}
		}
	}
	return b, nil
}

// own reports whether an author id is the Page or account itself.
func own(author id, acct, self string) bool {
	return author == id(acct) || (self != "" && author == id(self))
}

func readMessaging(b *channel.Batch, m *messaging, acct, self string) error {
	at := unixAuto(int64(m.Timestamp))
	switch {
	case m.Message != nil:
		msg := m.Message
		if msg.IsEcho || msg.IsDeleted || own(m.Sender.ID, acct, self) {
			return nil // our own message coming back, or a retraction
		}
		if msg.Mid == "" {
			return fmt.Errorf("message without mid")
		}
		if m.Sender.ID == "" {
			return fmt.Errorf("message %s without sender", msg.Mid)
		}
		out := channel.Message{
			PlatformID: string(msg.Mid),
			From:       channel.Author{ExternalID: string(m.Sender.ID)},
			Text:       msg.Text,
			Private:    true,
			SentAt:     at,
			Account:    acct,
		}
		var notes []string
		if msg.ReplyTo != nil {
			out.ReplyTo = string(msg.ReplyTo.Mid)
			if s := msg.ReplyTo.Story; s != nil && s.URL != "" {
				notes = append(notes, "[replying to a story: "+s.URL+"]")
			}
		}
		for _, a := range msg.Attachments {
			if a.Payload == nil || !webURL(a.Payload.URL) {
				if a.Type != "" {
					notes = append(notes, "["+a.Type+"]")
				}
				continue
			}
			switch a.Type {
			case "image", "video", "audio", "file":
				out.Files = append(out.Files, channel.File{Name: refName(a.Type, a.Payload.URL), Ref: a.Payload.URL})
			default: // share, fallback, reel, ig_reel, story_mention, post, template…
				label := a.Type
				if a.Payload.Title != "" {
					label += " " + strconv.Quote(a.Payload.Title)
				}
				notes = append(notes, "["+label+": "+a.Payload.URL+"]")
			}
		}
		if msg.IsUnsupported && out.Text == "" && len(out.Files) == 0 {
			notes = append(notes, "[a message of a kind Meta's API does not pass on]")
		}
		if len(notes) > 0 {
			out.Text = strings.TrimSpace(out.Text + "\n" + strings.Join(notes, "\n"))
		}
		b.Messages = append(b.Messages, out)
	case m.Postback != nil:
		pb := m.Postback
		if own(m.Sender.ID, acct, self) || m.Sender.ID == "" {
			return nil
		}
		pid := string(pb.Mid)
		if pid == "" {
			// Older postbacks carry no mid: the sender and the time name
			// the tap, and stay the same when Meta redelivers.
			pid = "postback:" + string(m.Sender.ID) + ":" + strconv.FormatInt(int64(m.Timestamp), 10)
		}
		text := pb.Title
		if text == "" {
			text = pb.Payload
		}
		b.Messages = append(b.Messages, channel.Message{
			PlatformID: pid, From: channel.Author{ExternalID: string(m.Sender.ID)},
			Text: text, Private: true, SentAt: at, Account: acct,
		})
	case m.Delivery != nil:
		when := unixAuto(int64(m.Delivery.Watermark))
		if at.After(when) {
			when = at
		}
		for _, mid := range m.Delivery.Mids {
			if mid != "" {
				b.Statuses = append(b.Statuses, channel.Status{PlatformID: string(mid), State: store.Delivered, At: when, Account: acct})
			}
		}
	case m.Read != nil:
		// Messenger's read receipt carries only a watermark ("everything
		// sent before this time was read"). Statuses name single replies
		// and Parse cannot look up which of ours are older, so a
		// watermark marks nothing. Instagram names the message read.
		if m.Read.Mid != "" {
			b.Statuses = append(b.Statuses, channel.Status{PlatformID: string(m.Read.Mid), State: store.Read, At: at, Account: acct})
		}
	}
	return nil
}

func (w *Webhook) readChange(b *channel.Batch, c *typedChange, acct, self string, entryTime time.Time) error {
	if !w.handles(c.Field) {
		return nil
	}
	v := c.Value
	if v == nil {
		return fmt.Errorf("%s change without value", c.Field)
	}
	switch {
	case strings.HasPrefix(c.Field, "messag"):
		m := messaging{Sender: v.Sender, Recipient: v.Recipient, Timestamp: v.Timestamp, Delivery: v.Delivery, Read: v.Read, Postback: v.Postback}
		if len(v.Message) > 0 && v.Message[0] == '{' {
			m.Message = new(message)
			if err := json.Unmarshal(v.Message, m.Message); err != nil {
				return err
			}
		}
		return readMessaging(b, &m, acct, self)
	case w.Kind == KindInstagram:
		return readInstagramComment(b, v, acct, self, entryTime)
	default:
		return readFeed(b, v, acct, self)
	}
}

// text reads a feed item's message, a JSON string or nothing.
func text(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] != '"' {
		return "", fmt.Errorf("message is not text")
	}
	return unquote(raw)
}

// feedItems are the feed items webcare reads: comments and visitor posts.
var feedItems = map[string]bool{"comment": true, "status": true, "post": true, "photo": true, "video": true}

func readFeed(b *channel.Batch, v *changeValue, acct, self string) error {
	// Edits arrive under the comment's own id: ingest keeps the first
	// version and drops the edit as a duplicate, but a comment whose "add"
	// was missed still arrives. Removals and hides retract nothing.
	if v.Verb != "add" && v.Verb != "edited" && v.Verb != "edit" {
		return nil
	}
	var pid, replyTo string
	switch v.Item {
	case "comment":
		if v.CommentID == "" {
			return fmt.Errorf("feed comment without comment_id")
		}
		pid = string(v.CommentID)
		replyTo = string(v.ParentID)
		if replyTo == "" {
			replyTo = string(v.PostID)
		}
	case "status", "post", "photo", "video":
		if v.PostID == "" {
			return fmt.Errorf("feed %s without post_id", v.Item)
		}
		pid = string(v.PostID)
	default:
		return nil // likes, reactions, shares, ratings…
	}
	author := channel.Author{}
	if v.From != nil {
		author.ExternalID, author.Name = string(v.From.ID), v.From.Name
	}
	if author.ExternalID == "" {
		author.ExternalID, author.Name = string(v.SenderID), v.SenderName
	}
	if author.ExternalID == "" || own(id(author.ExternalID), acct, self) {
		// The Page's own posts and comments, or an author Meta withheld
		// (the app lacks pages_read_user_content): nothing to answer.
		return nil
	}
	msg, err := text(v.Message)
	if err != nil {
		return err
	}
	out := channel.Message{
		PlatformID: pid, From: author, Text: msg, ReplyTo: replyTo,
		SentAt: v.CreatedTime.Time, Account: acct,
	}
	for _, u := range []struct{ kind, url string }{{"image", v.Photo}, {"video", v.Video}} {
		if webURL(u.url) {
			out.Files = append(out.Files, channel.File{Name: refName(u.kind, u.url), Ref: u.url})
		}
	}
	if out.Text == "" && len(out.Files) == 0 && webURL(v.Link) {
		out.Text = v.Link
	}
	b.Messages = append(b.Messages, out)
	return nil
}

func readInstagramComment(b *channel.Batch, v *changeValue, acct, self string, at time.Time) error {
	if v.ID == "" {
		return fmt.Errorf("comment without id")
	}
	if v.From == nil || v.From.ID == "" {
		return fmt.Errorf("comment %s without from.id", v.ID)
	}
	if own(v.From.ID, acct, self) {
		return nil // the account's own comment, such as our replies
	}
	replyTo := string(v.ParentID)
	if replyTo == "" && v.Media != nil {
		replyTo = string(v.Media.ID)
	}
	b.Messages = append(b.Messages, channel.Message{
		PlatformID: string(v.ID),
		From:       channel.Author{ExternalID: string(v.From.ID), Handle: v.From.Username},
		Text:       v.Text, ReplyTo: replyTo,
		SentAt:  at, // comments carry no time of their own; entry.time is when Meta sent it
		Account: acct,
	})
	return nil
}

func webURL(s string) bool {
	if len(s) > 4096 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// refName is a file name for an attachment URL: the URL's base name when
// it has an extension, otherwise the attachment type.
func refName(kind, ref string) string {
	if u, err := url.Parse(ref); err == nil {
		if base := path.Base(u.Path); path.Ext(base) != "" && base != "." {
			return channel.CleanName(base)
		}
	}
	return kind
}
