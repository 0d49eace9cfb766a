package bluesky

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Polling figures.
const (
	// PageSize is listNotifications' documented maximum limit.
	PageSize = 100
	// FirstPoll is how many of the newest mentions, replies and quotes the
	// first poll of a new channel imports: the ones likely still waiting
	// for an answer, not the account's whole history.
	FirstPoll = 20
	// MaxPages bounds one poll; a longer burst is walked on by the next
	// poll from where this one stopped (see Poll).
	MaxPages = 10
	// MaxMedia bounds a fetched image.
	MaxMedia = channel.MaxFileBytes
)

// Reasons are the notifications webcare imports: someone mentioned the
// account, replied to one of its posts, or quoted one (a customer talking
// about the brand in public, which an agent may want to answer).
var Reasons = []string{"mention", "reply", "quote"}

// Notification is the part of app.bsky.notification.listNotifications#notification
// webcare reads.
type Notification struct {
	URI       string `json:"uri"`
	CID       string `json:"cid"`
	Author    Author `json:"author"`
	Reason    string `json:"reason"`
	Record    Post   `json:"record"`
	IndexedAt string `json:"indexedAt"`
}

// Author is app.bsky.actor.defs#profileView, in part.
type Author struct {
	DID         string `json:"did"`
	Handle      string `json:"handle"`
	DisplayName string `json:"displayName"`
}

// Post is an app.bsky.feed.post record, in part.
type Post struct {
	Type      string   `json:"$type"`
	Text      string   `json:"text"`
	CreatedAt string   `json:"createdAt"`
	Langs     []string `json:"langs"`
	Reply     *struct {
		Root   StrongRef `json:"root"`
		Parent StrongRef `json:"parent"`
	} `json:"reply"`
	Embed *Embed `json:"embed"`
}

// StrongRef is com.atproto.repo.strongRef.
type StrongRef struct {
	URI string `json:"uri"`
	CID string `json:"cid"`
}

// Embed is a post's embed: images, or a quoted record with media.
type Embed struct {
	Type   string  `json:"$type"`
	Images []Image `json:"images"`
	Media  *struct {
		Type   string  `json:"$type"`
		Images []Image `json:"images"`
	} `json:"media"`
}

// Image is app.bsky.embed.images#image with its blob.
type Image struct {
	Alt   string `json:"alt"`
	Image struct {
		Ref struct {
			Link string `json:"$link"`
		} `json:"ref"`
		CID      string `json:"cid"` // legacy blob form
		MimeType string `json:"mimeType"`
	} `json:"image"`
}

type page struct {
	Cursor        string         `json:"cursor"`
	Notifications []Notification `json:"notifications"`
}

func decodePage(body []byte) (*page, error) {
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("bluesky notifications: %w: %v", channel.ErrPayload, err)
	}
	return &p, nil
}

// Parse reads one listNotifications answer into messages: mentions,
// replies and quotes not written by ownDID. A body that is not such an
// answer gives an error wrapping channel.ErrPayload.
func Parse(body []byte, ownDID string) ([]channel.Message, error) {
	p, err := decodePage(body)
	if err != nil {
		return nil, err
	}
	var out []channel.Message
	for i := range p.Notifications {
		if m, ok := message(&p.Notifications[i], ownDID); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

func wanted(reason string) bool {
	return reason == "mention" || reason == "reply" || reason == "quote"
}

func message(n *Notification, ownDID string) (channel.Message, bool) {
	if !wanted(n.Reason) || !strings.HasPrefix(n.URI, "at://") || !strings.HasPrefix(n.Author.DID, "did:") || n.Author.DID == ownDID {
		return channel.Message{}, false
	}
	if n.Record.Type != "" && n.Record.Type != "app.bsky.feed.post" {
		return channel.Message{}, false
	}
	m := channel.Message{
		PlatformID: n.URI,
		Text:       n.Record.Text,
		From:       channel.Author{ExternalID: n.Author.DID, Handle: n.Author.Handle, Name: n.Author.DisplayName},
		SentAt:     parseTime(n.Record.CreatedAt),
	}
	if m.SentAt.IsZero() {
		m.SentAt = parseTime(n.IndexedAt)
	}
	if r := n.Record.Reply; r != nil {
		m.ReplyTo = r.Parent.URI
	}
	if len(n.Record.Langs) > 0 {
		m.Language = n.Record.Langs[0]
	}
	if e := n.Record.Embed; e != nil {
		images := e.Images
		if e.Media != nil {
			images = e.Media.Images
		}
		for i, img := range images {
			cid := img.Image.Ref.Link
			if cid == "" {
				cid = img.Image.CID
			}
			if !validCID(cid) || !validDID(n.Author.DID) {
				continue
			}
			m.Files = append(m.Files, channel.File{Name: "image-" + strconv.Itoa(i+1) + ".jpg", Ref: n.Author.DID + "/" + cid})
		}
	}
	return m, true
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// cursor is the stored poll position: seen up to Top; while a burst is
// being walked down (newest first, as listNotifications pages), Since is
// the old position and Page the listNotifications cursor to go on from.
type cursor struct {
	Top   time.Time
	Since time.Time
	Page  string
}

func (c cursor) String() string {
	top := c.Top.UTC().Format(time.RFC3339Nano)
	if c.Page == "" {
		return top
	}
	return top + "|" + c.Since.UTC().Format(time.RFC3339Nano) + "|" + c.Page
}

func parseCursor(s string) (cursor, error) {
	parts := strings.SplitN(s, "|", 3)
	top, err := time.Parse(time.RFC3339Nano, parts[0])
	if err != nil {
		return cursor{}, fmt.Errorf("bluesky: cursor %q not understood", s)
	}
	c := cursor{Top: top, Since: top}
	if len(parts) == 3 {
		if c.Since, err = time.Parse(time.RFC3339Nano, parts[1]); err != nil {
			return cursor{}, fmt.Errorf("bluesky: cursor %q not understood", s)
		}
		c.Page = parts[2]
	}
	return c, nil
}

// Poll fetches the mentions, replies and quotes indexed since cursor.
//
// listNotifications pages backwards, newest first, with an opaque cursor
// that only leads further into the past. So webcare keeps its own cursor:
// the indexedAt of the newest notification it has read ("seen up to
// here"). A poll reads from the top down until it reaches that time; if a
// burst is longer than MaxPages pages, the cursor it returns also holds
// the old time and the listNotifications cursor reached, and the next poll
// walks on down from there before moving the mark up. Notifications
// indexed at exactly the stored time are read again: ingest dedupes them.
//
// The first poll (cursor "") imports the newest FirstPoll only. When there
// are none, the cursor becomes the epoch, so the next poll takes all.
func (c *Client) Poll(ctx context.Context, ch store.Channel, cur string) (channel.Batch, string, error) {
	var b channel.Batch
	seen := map[string]bool{}
	own := ch.Settings[SettingAccountID]
	take := func(n *Notification, did string) {
		if own == "" {
			own = did
		}
		if m, ok := message(n, own); ok && !seen[m.PlatformID] {
			seen[m.PlatformID] = true
			m.ChannelID = ch.ID
			b.Messages = append(b.Messages, m)
		}
	}
	if cur == "" {
		p, did, err := c.list(ctx, ch, FirstPoll, "")
		if err != nil {
			return b, cur, plain(err)
		}
		top := time.Unix(0, 0)
		for i := range p.Notifications {
			take(&p.Notifications[i], did)
			if t := parseTime(p.Notifications[i].IndexedAt); t.After(top) {
				top = t
			}
		}
		return b, cursor{Top: top}.String(), nil
	}
	pos, err := parseCursor(cur)
	if err != nil {
		return b, cur, err
	}
	next := cursor{Top: pos.Top}
	pc := pos.Page
	for range MaxPages {
		p, did, err := c.list(ctx, ch, PageSize, pc)
		if err != nil {
			if len(b.Messages) > 0 && pc != "" {
				// Keep what was read; walk on from here next time.
				return b, cursor{Top: next.Top, Since: pos.Since, Page: pc}.String(), nil
			}
			return channel.Batch{}, cur, plain(err)
		}
		reached := false
		for i := range p.Notifications {
			n := &p.Notifications[i]
			t := parseTime(n.IndexedAt)
			if !t.IsZero() && t.Before(pos.Since) {
				// Seen before. Not a reason to stop at once: a page
				// slightly out of order may hold newer ones after it.
				reached = true
				continue
			}
			take(n, did)
			if t.After(next.Top) {
				next.Top = t
			}
		}
		if reached || p.Cursor == "" || len(p.Notifications) == 0 || p.Cursor == pc {
			return b, next.String(), nil
		}
		pc = p.Cursor
	}
	return b, cursor{Top: next.Top, Since: pos.Since, Page: pc}.String(), nil
}

func (c *Client) list(ctx context.Context, ch store.Channel, limit int, pc string) (*page, string, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}, "reasons": Reasons}
	if pc != "" {
		q.Set("cursor", pc)
	}
	var raw []byte
	did, err := c.authed(ctx, ch, "app.bsky.notification.listNotifications", q, nil, &raw, nil)
	if err != nil {
		return nil, did, err
	}
	p, err := decodePage(raw)
	return p, did, err
}

func validCID(s string) bool {
	if len(s) < 8 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}

func validDID(s string) bool {
	if !strings.HasPrefix(s, "did:") || len(s) > 2048 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b == ':' || b == '.' || b == '_' || b == '-' || b == '%') {
			return false
		}
	}
	return true
}

// Fetch downloads an image of a post (ref "did/cid") from Bluesky's image
// CDN, which serves every account's blobs whatever PDS holds them.
func (c *Client) Fetch(ctx context.Context, ch store.Channel, ref string) (string, []byte, error) {
	did, cid, ok := strings.Cut(ref, "/")
	if !ok || !validDID(did) || !validCID(cid) {
		return "", nil, fmt.Errorf("bluesky: image reference %q not understood", ref)
	}
	cdn := strings.TrimRight(ch.Settings[SettingCDNBase], "/")
	if cdn == "" {
		cdn = DefaultCDN
	}
	u := cdn + "/img/feed_fullsize/plain/" + did + "/" + cid + "@jpeg"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("bluesky: image %s answered %d", ref, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMedia+1))
	if err != nil {
		return "", nil, err
	}
	if len(data) > MaxMedia {
		return "", nil, fmt.Errorf("bluesky: image %s is larger than %d bytes", ref, MaxMedia)
	}
	return cid + ".jpg", data, nil
}
