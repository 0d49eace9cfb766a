package x

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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

// SignatureHeader carries "sha256=" + base64 HMAC-SHA256 of the raw body
// under the app's consumer secret on every Account Activity POST.
const SignatureHeader = "X-Twitter-Webhooks-Signature"

// Sign is the value X puts in SignatureHeader for body, and (with the
// crc_token as body) the response_token of a CRC answer.
func Sign(consumerSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(consumerSecret))
	m.Write(body)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Webhook receives X's Account Activity API deliveries and answers its
// Challenge-Response Checks. It keeps no state.
type Webhook struct{}

var (
	_ channel.Webhook    = Webhook{}
	_ channel.Challenger = Webhook{}
)

// Challenge answers X's CRC: a GET with crc_token, answered with
// {"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret,
// crc_token))} as JSON. The CRC carries no secret of its own: answering it
// proves webcare holds the consumer secret, so a channel without one is
// refused with ErrBadSignature.
func (Webhook) Challenge(ch store.Channel, q url.Values) (string, []byte, error) {
	token := q.Get("crc_token")
	if token == "" || len(token) > 1024 {
		return "", nil, fmt.Errorf("%w: crc_token missing or too long", channel.ErrPayload)
	}
	secret := ch.Settings["consumer_secret"]
	if secret == "" {
		return "", nil, fmt.Errorf("%w: the channel has no API key secret (consumer_secret) to answer X's CRC with", channel.ErrBadSignature)
	}
	body, _ := json.Marshal(struct {
		ResponseToken string `json:"response_token"`
	}{Sign(secret, []byte(token))})
	return "application/json; charset=utf-8", body, nil
}

// Verify checks x-twitter-webhooks-signature against the raw body under
// the channel's consumer secret, in constant time.
func (Webhook) Verify(ch store.Channel, h http.Header, body []byte) error {
	sum, secret, err := signature(ch, h)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(sum, m.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body under the API key secret", channel.ErrBadSignature, SignatureHeader)
	}
	return nil
}

// VerifyHeader refuses, before the body is read, a delivery whose
// signature header is missing or malformed.
func (Webhook) VerifyHeader(ch store.Channel, h http.Header) error {
	_, _, err := signature(ch, h)
	return err
}

// signature is the HMAC a delivery's header claims, and the secret to
// check it with.
func signature(ch store.Channel, h http.Header) (sum []byte, secret string, err error) {
	got := strings.TrimSpace(h.Get(SignatureHeader))
	if got == "" {
		return nil, "", fmt.Errorf("%w: no %s header", channel.ErrUnsigned, SignatureHeader)
	}
	secret = ch.Settings["consumer_secret"]
	if secret == "" {
		return nil, "", fmt.Errorf("%w: the channel has no API key secret (consumer_secret) configured", channel.ErrBadSignature)
	}
	b64, ok := strings.CutPrefix(got, "sha256=")
	sum, err = base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(sum) != sha256.Size {
		return nil, "", fmt.Errorf("%w: %s is not sha256=<base64>", channel.ErrBadSignature, SignatureHeader)
	}
	return sum, secret, nil
}

// activity is an Account Activity API delivery, reduced to what webcare
// reads. Ids are strings only: X's 64-bit ids lose digits as float64, so
// the numeric "id" fields are never decoded. Event kinds webcare has no
// use for (favorite_events, follow_events, user_event, …) are not named
// here and so are skipped by the decoder.
type activity struct {
	ForUserID string            `json:"for_user_id"`
	Tweets    []tweet           `json:"tweet_create_events"`
	DMs       []dmEvent         `json:"direct_message_events"`
	Reads     []readEvent       `json:"direct_message_mark_read_events"`
	Users     map[string]dmUser `json:"users"`
}

// readEvent says someone read a Direct Message conversation up to an event.
type readEvent struct {
	CreatedTimestamp string `json:"created_timestamp"`
	SenderID         string `json:"sender_id"`
	LastReadEventID  string `json:"last_read_event_id"`
}

// tweet is a v1.1 Tweet object.
type tweet struct {
	IDStr       string `json:"id_str"`
	Text        string `json:"text"`
	FullText    string `json:"full_text"`
	CreatedAt   string `json:"created_at"`
	TimestampMS string `json:"timestamp_ms"`
	Lang        string `json:"lang"`
	ReplyTo     string `json:"in_reply_to_status_id_str"`
	User        user   `json:"user"`
	Retweeted   *struct {
		User user `json:"user"`
	} `json:"retweeted_status"`
	Extended *struct {
		FullText         string   `json:"full_text"`
		Entities         entities `json:"entities"`
		ExtendedEntities entities `json:"extended_entities"`
	} `json:"extended_tweet"`
	Entities         entities `json:"entities"`
	ExtendedEntities entities `json:"extended_entities"`
}

type user struct {
	IDStr      string `json:"id_str"`
	ScreenName string `json:"screen_name"`
	Name       string `json:"name"`
}

type entities struct {
	Media []media `json:"media"`
}

type media struct {
	Type          string `json:"type"`
	MediaURLHTTPS string `json:"media_url_https"`
	URL           string `json:"url"` // the t.co link X appends to the text
}

// dmEvent is a v1.1 Direct Message event.
type dmEvent struct {
	Type             string `json:"type"`
	ID               string `json:"id"`
	CreatedTimestamp string `json:"created_timestamp"`
	MessageCreate    struct {
		SenderID string `json:"sender_id"`
		Target   struct {
			RecipientID string `json:"recipient_id"`
		} `json:"target"`
		MessageData struct {
			Text       string `json:"text"`
			Attachment *struct {
				Type  string `json:"type"`
				Media media  `json:"media"`
			} `json:"attachment"`
		} `json:"message_data"`
	} `json:"message_create"`
}

type dmUser struct {
	Name       string `json:"name"`
	ScreenName string `json:"screen_name"`
}

// Parse turns an Account Activity delivery into messages: mentions,
// replies and quotes in tweet_create_events become public messages;
// message_create events in direct_message_events become private ones;
// the customer's read receipts (direct_message_mark_read_events) become
// Read statuses of the Direct Message they name.
// The account's own posts and Direct Messages (webcare's replies coming
// back), retweets, which carry no words of the customer's, and every other
// event type are skipped. A body that is not such a delivery, or an event
// without its ids, gives ErrPayload.
func (Webhook) Parse(ch store.Channel, body []byte) (channel.Batch, error) {
	var a activity
	if err := parseActivity(body, &a); err != nil {
		return channel.Batch{}, fmt.Errorf("%w: %v", channel.ErrPayload, err)
	}
	if a.ForUserID == "" && (len(a.Tweets) > 0 || len(a.DMs) > 0) {
		return channel.Batch{}, fmt.Errorf("%w: for_user_id missing", channel.ErrPayload)
	}
	account := ""
	if id := ch.Settings["account_id"]; id != "" && a.ForUserID != id {
		// One X app has one webhook for every account it subscribed:
		// say which one this is for.
		account = a.ForUserID
	}
	var b channel.Batch
	for i := range a.Tweets {
		t := &a.Tweets[i]
		if t.IDStr == "" || t.User.IDStr == "" {
			return channel.Batch{}, fmt.Errorf("%w: tweet_create_events[%d] without id_str or user.id_str", channel.ErrPayload, i)
		}
		if t.User.IDStr == a.ForUserID || t.Retweeted != nil {
			continue
		}
		b.Messages = append(b.Messages, t.message(ch.ID, account))
	}
	for i := range a.DMs {
		e := &a.DMs[i]
		if e.Type != "message_create" {
			continue
		}
		mc := &e.MessageCreate
		if e.ID == "" || mc.SenderID == "" {
			return channel.Batch{}, fmt.Errorf("%w: direct_message_events[%d] without id or sender_id", channel.ErrPayload, i)
		}
		if mc.SenderID == a.ForUserID {
			continue
		}
		m := channel.Message{
			ChannelID:  ch.ID,
			PlatformID: e.ID,
			From:       channel.Author{ExternalID: mc.SenderID},
			Text:       mc.MessageData.Text,
			Private:    true,
			Account:    account,
		}
		if u, ok := a.Users[mc.SenderID]; ok {
			m.From.Name = u.Name
			if u.ScreenName != "" {
				m.From.Handle = "@" + u.ScreenName
			}
		}
		if ms, err := strconv.ParseInt(e.CreatedTimestamp, 10, 64); err == nil && ms > 0 {
			m.SentAt = time.UnixMilli(ms).UTC()
		}
		if at := mc.MessageData.Attachment; at != nil && at.Type == "media" {
			m.Text, m.Files = addMedia(m.Text, m.Files, []media{at.Media})
		}
		m.Text = unescape(m.Text)
		b.Messages = append(b.Messages, m)
	}
	for _, e := range a.Reads {
		// The customer read the conversation up to one of webcare's
		// Direct Messages; the account reading the customer's is no news.
		if e.LastReadEventID == "" || e.SenderID == "" || e.SenderID == a.ForUserID {
			continue
		}
		st := channel.Status{PlatformID: e.LastReadEventID, State: store.Read, Account: account}
		if ms, err := strconv.ParseInt(e.CreatedTimestamp, 10, 64); err == nil && ms > 0 {
			st.At = time.UnixMilli(ms).UTC()
		}
		b.Statuses = append(b.Statuses, st)
	}
	return b, nil
}

func (t *tweet) message(channelID int64, account string) channel.Message {
	m := channel.Message{
		ChannelID:  channelID,
		PlatformID: t.IDStr,
		From:       channel.Author{ExternalID: t.User.IDStr, Name: t.User.Name},
		ReplyTo:    t.ReplyTo,
		Account:    account,
	}
	if t.User.ScreenName != "" {
		m.From.Handle = "@" + t.User.ScreenName
	}
	// A tweet longer than 140 characters arrives with a cut "text" and the
	// whole of it in extended_tweet.full_text.
	text, ents, ext := t.Text, t.Entities, t.ExtendedEntities
	switch {
	case t.Extended != nil && t.Extended.FullText != "":
		text, ents, ext = t.Extended.FullText, t.Extended.Entities, t.Extended.ExtendedEntities
	case t.FullText != "":
		text = t.FullText
	}
	ms := ext.Media
	if len(ms) == 0 {
		ms = ents.Media
	}
	text, m.Files = addMedia(text, nil, ms)
	m.Text = unescape(text)
	if ts, err := time.Parse(time.RubyDate, t.CreatedAt); err == nil {
		m.SentAt = ts.UTC()
	} else if n, err := strconv.ParseInt(t.TimestampMS, 10, 64); err == nil && n > 0 {
		m.SentAt = time.UnixMilli(n).UTC()
	}
	if l := t.Lang; l != "" && l != "und" && len(l) <= 8 {
		m.Language = l
	}
	return m
}

// addMedia adds the photos among ms as files to fetch, and takes the t.co
// link X appends for them off the end of the text: the customer did not
// type it. For a video or GIF, which webcare does not fetch, the link
// stays, so the agent can open it.
func addMedia(text string, files []channel.File, ms []media) (string, []channel.File) {
	for _, md := range ms {
		if md.Type != "photo" || !strings.HasPrefix(md.MediaURLHTTPS, "https://") && !strings.HasPrefix(md.MediaURLHTTPS, "http://") {
			continue
		}
		if md.URL != "" {
			text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), md.URL))
		}
		if len(files) >= 10 {
			break
		}
		files = append(files, channel.File{Name: path.Base(md.MediaURLHTTPS), Ref: md.MediaURLHTTPS})
	}
	return text, files
}

// unescape undoes X's v1.1 escaping of &, < and > in text as HTML
// entities; nothing else is escaped. One pass, so "&amp;lt;" (a customer
// who typed "&lt;") stays "&lt;".
func unescape(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "&amp;"):
			b.WriteByte('&')
			s = s[5:]
		case strings.HasPrefix(s, "&lt;"):
			b.WriteByte('<')
			s = s[4:]
		case strings.HasPrefix(s, "&gt;"):
			b.WriteByte('>')
			s = s[4:]
		default:
			b.WriteByte('&')
			s = s[1:]
		}
		i = strings.IndexByte(s, '&')
	}
	b.WriteString(s)
	return b.String()
}
