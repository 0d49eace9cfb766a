package bluesky

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// Limits of app.bsky.feed.post and chat messages.
const (
	MaxPostGraphemes = 300
	MaxPostBytes     = 3000
	MaxChatGraphemes = 1000
)

// Facet is app.bsky.richtext.facet with a mention feature.
type Facet struct {
	Index struct {
		ByteStart int `json:"byteStart"`
		ByteEnd   int `json:"byteEnd"`
	} `json:"index"`
	Features []Feature `json:"features"`
}

// Feature is app.bsky.richtext.facet#mention.
type Feature struct {
	Type string `json:"$type"`
	DID  string `json:"did"`
}

// PostRecord is the app.bsky.feed.post record webcare writes.
type PostRecord struct {
	Type      string   `json:"$type"`
	Text      string   `json:"text"`
	CreatedAt string   `json:"createdAt"`
	Reply     *Reply   `json:"reply,omitempty"`
	Langs     []string `json:"langs,omitempty"`
	Facets    []Facet  `json:"facets,omitempty"`
}

// Reply is app.bsky.feed.post#replyRef.
type Reply struct {
	Root   StrongRef `json:"root"`
	Parent StrongRef `json:"parent"`
}

// Send writes a reply. Public: a post answering d.Message.ReplyTo, whose
// record key is derived from d.Key (see TID), so a retry after a crash
// cannot post twice: the PDS refuses a second record under the same key,
// and Send then finds the first with getRecord and returns its uri.
// Private: a Bluesky chat message to the customer.
func (c *Client) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	if _, err := settings(d.Channel); err != nil {
		return "", &outbox.Error{Permanent: true, Body: err.Error()}
	}
	text := strings.TrimSpace(d.Message.Body)
	if len(d.Files) > 0 {
		return "", &outbox.Error{Permanent: true, Body: "Replies on Bluesky cannot carry files from webcare yet: send the text alone."}
	}
	if text == "" {
		return "", &outbox.Error{Permanent: true, Body: "The reply is empty."}
	}
	if d.Conversation.Visibility == store.Visibility("private") {
		return c.sendChat(ctx, d, text)
	}
	if n := Graphemes(text); n > MaxPostGraphemes || len(text) > MaxPostBytes {
		return "", &outbox.Error{Permanent: true, Body: fmt.Sprintf(
			"The reply is %d characters long; a Bluesky post holds at most %d. Shorten it, or answer in a private conversation.", n, MaxPostGraphemes)}
	}
	rec := PostRecord{Type: "app.bsky.feed.post", Text: text, CreatedAt: c.now().UTC().Format("2006-01-02T15:04:05.000Z")}
	if lang := d.Conversation.Language; lang != "" {
		rec.Langs = []string{lang}
	}
	rec.Facets = mentionFacets(text, d.To)
	if d.Message.ReplyTo != "" {
		r, err := c.replyRef(ctx, d.Channel, d.Message.ReplyTo)
		if err != nil {
			return "", c.sendError(err, "the post being answered")
		}
		rec.Reply = r
	}
	at := d.Message.CreatedAt
	if at.IsZero() {
		at = d.Message.SentAt
	}
	rkey := TID(d.Key, at)
	a, _ := settings(d.Channel)
	s, err := c.session(ctx, d.Channel.ID, a)
	if err != nil {
		return "", c.sendError(err, "")
	}
	_, did := s.tokens()
	var out StrongRef
	in := map[string]any{"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey, "record": rec}
	_, err = c.authed(ctx, d.Channel, "com.atproto.repo.createRecord", nil, in, &out, nil)
	if err == nil {
		return out.URI, nil
	}
	var xe *xrpcError
	if errors.As(err, &xe) && xe.Status != http.StatusTooManyRequests && xe.Status != http.StatusUnauthorized {
		// A record under this key may be there from an attempt whose
		// answer was lost: the PDS refuses to create it again.
		var got StrongRef
		q := url.Values{"repo": {did}, "collection": {"app.bsky.feed.post"}, "rkey": {rkey}}
		if _, gerr := c.authed(ctx, d.Channel, "com.atproto.repo.getRecord", q, nil, &got, nil); gerr == nil && got.URI != "" {
			return got.URI, nil
		}
	}
	return "", c.sendError(err, "")
}

// mentionFacets marks the customer's @handle in the text, if it is there,
// as a mention of their DID: byte offsets into the UTF-8 text.
func mentionFacets(text string, to store.Identity) []Facet {
	handle := strings.TrimPrefix(to.Handle, "@")
	if handle == "" || !strings.HasPrefix(to.ExternalID, "did:") {
		return nil
	}
	s, e := byteIndex(text, handle)
	if s < 0 {
		return nil
	}
	var f Facet
	f.Index.ByteStart, f.Index.ByteEnd = s, e
	f.Features = []Feature{{Type: "app.bsky.richtext.facet#mention", DID: to.ExternalID}}
	return []Facet{f}
}

// replyRef resolves the parent's cid and the thread's root with
// app.bsky.feed.getPosts.
func (c *Client) replyRef(ctx context.Context, ch store.Channel, uri string) (*Reply, error) {
	var out struct {
		Posts []struct {
			URI    string `json:"uri"`
			CID    string `json:"cid"`
			Record Post   `json:"record"`
		} `json:"posts"`
	}
	if _, err := c.authed(ctx, ch, "app.bsky.feed.getPosts", url.Values{"uris": {uri}}, nil, &out, nil); err != nil {
		return nil, err
	}
	for _, p := range out.Posts {
		if p.URI != uri || p.CID == "" {
			continue
		}
		r := &Reply{Parent: StrongRef{URI: p.URI, CID: p.CID}}
		r.Root = r.Parent
		if p.Record.Reply != nil && p.Record.Reply.Root.URI != "" && p.Record.Reply.Root.CID != "" {
			r.Root = p.Record.Reply.Root
		}
		return r, nil
	}
	return nil, &outbox.Error{Permanent: true, Body: "The post being answered was deleted, or is hidden from this account: answer in a new post or a private conversation."}
}

// sendChat sends a direct message through the PDS, proxied to Bluesky's
// chat service. Chat has no idempotency key: a crash between sending and
// recording could send it twice.
func (c *Client) sendChat(ctx context.Context, d outbox.Delivery, text string) (string, error) {
	if n := Graphemes(text); n > MaxChatGraphemes {
		return "", &outbox.Error{Permanent: true, Body: fmt.Sprintf(
			"The message is %d characters long; a Bluesky chat message holds at most %d. Shorten it.", n, MaxChatGraphemes)}
	}
	if !strings.HasPrefix(d.To.ExternalID, "did:") {
		return "", &outbox.Error{Permanent: true, Body: "The customer has no Bluesky DID to send a private message to."}
	}
	proxy := http.Header{"Atproto-Proxy": {ChatProxy}}
	var convo struct {
		Convo struct {
			ID string `json:"id"`
		} `json:"convo"`
	}
	if _, err := c.authed(ctx, d.Channel, "chat.bsky.convo.getConvoForMembers", url.Values{"members": {d.To.ExternalID}}, nil, &convo, proxy); err != nil {
		return "", c.sendError(err, "")
	}
	if convo.Convo.ID == "" {
		return "", &outbox.Error{Body: "Bluesky chat answered without a conversation id"}
	}
	msg := map[string]any{"text": text}
	if f := mentionFacets(text, d.To); f != nil {
		msg["facets"] = f
	}
	var out struct {
		ID string `json:"id"`
	}
	if _, err := c.authed(ctx, d.Channel, "chat.bsky.convo.sendMessage", nil, map[string]any{"convoId": convo.Convo.ID, "message": msg}, &out, proxy); err != nil {
		return "", c.sendError(err, "")
	}
	if out.ID == "" {
		return "", &outbox.Error{Body: "Bluesky chat answered without a message id"}
	}
	return out.ID, nil
}

// sendError turns an XRPC failure into an outbox error.
func (c *Client) sendError(err error, what string) error {
	var oe *outbox.Error
	if errors.As(err, &oe) {
		return oe
	}
	var xe *xrpcError
	if !errors.As(err, &xe) {
		return err // network trouble: temporary
	}
	e := &outbox.Error{Status: xe.Status, Err: err}
	code := " (" + xe.Name + ": " + xe.Message + ")"
	switch {
	case xe.Status == http.StatusTooManyRequests:
		e.Body = "Bluesky's rate limit was reached" + code
		e.RetryAfter = rateLimitReset(xe.Header, c.now())
	case xe.Status >= 500:
		e.Body = xe.Name + ": " + xe.Message
	case xe.Name == "MessagesDisabled" || xe.Name == "NotFollowedBySender":
		e.Permanent = true
		e.Body = "The customer does not accept private messages from this account on Bluesky: answer in public instead." + code
	case xe.Name == "BlockedActor" || xe.Name == "BlockedSubject":
		e.Permanent = true
		e.Body = "The customer and this account block each other on Bluesky: no message can reach them." + code
	case xe.Name == "RecipientNotFound" || xe.Name == "AccountDeactivated" || xe.Name == "AccountTakedown":
		e.Permanent = true
		e.Body = "The customer's Bluesky account is gone or deactivated." + code
	case strings.Contains(strings.ToLower(xe.Message), "scope"):
		e.Permanent = true
		e.Body = "The App Password may not use private messages: create one with \"Allow access to your direct messages\" ticked and paste it in Admin → Channels." + code
	case xe.Status == http.StatusUnauthorized || xe.Name == "AuthFactorTokenRequired":
		e.Permanent = true
		e.Body = "Bluesky refused the handle or App Password (revoked or changed): create a new App Password and paste it in Admin → Channels." + code
	case xe.Name == "NotFound" && what != "":
		e.Permanent = true
		e.Body = "Bluesky cannot find " + what + ": it was probably deleted." + code
	default:
		e.Permanent = true
		e.Body = "Bluesky rejected the reply." + code
	}
	return e
}

// rateLimitReset reads ratelimit-reset (Unix seconds, or seconds to wait
// on servers that send the draft's delta form), then Retry-After.
func rateLimitReset(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Ratelimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			if n > 1_000_000_000 {
				if t := time.Unix(n, 0); t.After(now) {
					return t.Sub(now)
				}
				return 0
			}
			return time.Duration(min(n, 86400)) * time.Second
		}
	}
	return apichannel.RetryAfter(h.Get("Retry-After"), now)
}
