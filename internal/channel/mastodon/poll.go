package mastodon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/htmltext"
	"github.com/webcare/webcare/internal/store"
)

// Notification is the part of Mastodon's Notification entity webcare reads.
// The notification's own account and time are left out: the status
// carries both, and decoding less is faster.
type Notification struct {
	ID     string  `json:"id"`
	Type   string  `json:"type"`
	Status *Status `json:"status"`
}

// Status is the part of Mastodon's Status entity webcare reads.
type Status struct {
	ID              string       `json:"id"`
	CreatedAt       string       `json:"created_at"`
	InReplyToID     *string      `json:"in_reply_to_id"`
	Visibility      string       `json:"visibility"`
	SpoilerText     string       `json:"spoiler_text"`
	Content         string       `json:"content"`
	Language        *string      `json:"language"`
	Account         Account      `json:"account"`
	MediaAttachment []Attachment `json:"media_attachments"`
}

// Attachment is one of a status's media_attachments.
type Attachment struct {
	ID          string  `json:"id"`
	Type        string  `json:"type"`
	URL         *string `json:"url"`
	Description *string `json:"description"`
}

// Poll fetches the mentions that arrived after cursor, the id of the newest
// mention notification seen.
//
// Paging uses min_id, not since_id: since_id returns the newest page above
// the id, so a burst of more than one page would skip the mentions between;
// min_id returns the page immediately above it, and the Link header's
// "prev" link (min_id = the page's newest id) continues upwards. A poll
// reads at most MaxPages pages; the next poll goes on from there.
//
// The first poll of a channel (cursor "") imports the newest FirstPoll
// mentions only. When the account has none, the cursor becomes "0", so
// the next poll takes every mention from the beginning: all of them new.
func (c *Client) Poll(ctx context.Context, ch store.Channel, cursor string) (channel.Batch, string, error) {
	s, err := settings(ch)
	if err != nil {
		return channel.Batch{}, cursor, err
	}
	own, err := c.ownID(ctx, ch, s)
	if err != nil {
		return channel.Batch{}, cursor, plainError(err)
	}
	var b channel.Batch
	seen := map[string]bool{}
	add := func(ms []channel.Message) {
		for _, m := range ms {
			if !seen[m.PlatformID] {
				seen[m.PlatformID] = true
				m.ChannelID = ch.ID
				b.Messages = append(b.Messages, m)
			}
		}
	}
	if cursor == "" {
		q := url.Values{"types[]": {"mention"}, "limit": {strconv.Itoa(FirstPoll)}}
		body, h, err := c.page(ctx, s, q)
		if err != nil {
			return channel.Batch{}, cursor, err
		}
		ms, newest, _, err := Parse(body, own)
		if err != nil {
			return channel.Batch{}, cursor, err
		}
		add(ms)
		next := linkParam(h.Get("Link"), "prev", "min_id")
		if newer(newest, next) {
			next = newest
		}
		if next == "" {
			next = "0"
		}
		return b, next, nil
	}
	next := cursor
	for range MaxPages {
		q := url.Values{"types[]": {"mention"}, "min_id": {next}, "limit": {strconv.Itoa(PageSize)}}
		body, h, err := c.page(ctx, s, q)
		if err != nil {
			if len(b.Messages) > 0 {
				return b, next, nil // keep what was read; the rest next time
			}
			return channel.Batch{}, cursor, err
		}
		ms, newest, n, err := Parse(body, own)
		if err != nil {
			return channel.Batch{}, cursor, err
		}
		add(ms)
		if n == 0 {
			break
		}
		prev := linkParam(h.Get("Link"), "prev", "min_id")
		if newer(newest, prev) {
			prev = newest
		}
		if !newer(prev, next) {
			break // no progress: never loop on the same page
		}
		next = prev
		if n < PageSize {
			break
		}
	}
	return b, next, nil
}

func (c *Client) page(ctx context.Context, s server, q url.Values) ([]byte, http.Header, error) {
	var raw []byte
	h, err := c.do(ctx, s, http.MethodGet, "/api/v1/notifications?"+q.Encode(), nil, "", nil, &raw)
	if err != nil {
		return nil, nil, plainError(err)
	}
	return raw, h, nil
}

// Parse reads a page of notifications (a JSON array) into messages, one per
// mention, skipping statuses by ownID. It also returns the newest
// notification id on the page and how many notifications it held. A body
// that is not such an array gives an error wrapping channel.ErrPayload.
func Parse(body []byte, ownID string) (msgs []channel.Message, newest string, n int, err error) {
	var page []Notification
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", 0, fmt.Errorf("mastodon notifications: %w: %v", channel.ErrPayload, err)
	}
	for i := range page {
		nt := &page[i]
		if nt.ID == "" {
			return nil, "", 0, fmt.Errorf("mastodon notifications: %w: a notification without id", channel.ErrPayload)
		}
		if newer(nt.ID, newest) {
			newest = nt.ID
		}
		if nt.Type != "mention" || nt.Status == nil {
			continue
		}
		m, ok := message(nt.Status)
		if !ok || m.From.ExternalID == ownID {
			continue
		}
		msgs = append(msgs, m)
	}
	return msgs, newest, len(page), nil
}

func message(st *Status) (channel.Message, bool) {
	if st.ID == "" || st.Account.ID == "" {
		return channel.Message{}, false
	}
	text := htmltext.String(st.Content)
	if cw := strings.TrimSpace(st.SpoilerText); cw != "" {
		text = "CW: " + cw + "\n\n" + text
	}
	m := channel.Message{
		PlatformID: st.ID,
		Text:       text,
		Private:    st.Visibility == "direct",
		From:       channel.Author{ExternalID: st.Account.ID, Handle: st.Account.Acct, Name: st.Account.DisplayName},
		SentAt:     parseTime(st.CreatedAt),
	}
	if st.InReplyToID != nil {
		m.ReplyTo = *st.InReplyToID
	}
	if st.Language != nil {
		m.Language = *st.Language
	}
	missing := 0
	for _, a := range st.MediaAttachment {
		ref := ""
		if a.URL != nil {
			ref = *a.URL
		}
		// A url of null means the server has not copied a remote
		// file yet. Its remote_url is chosen by whoever posted, so it is
		// never fetched: the agent is told a file exists instead.
		if u, err := url.Parse(ref); ref == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			missing++
			continue
		}
		name := path.Base(ref)
		if u, err := url.Parse(ref); err == nil {
			name = path.Base(u.Path)
		}
		m.Files = append(m.Files, channel.File{Name: channel.CleanName(name), Ref: ref})
	}
	if missing > 0 {
		m.Text += fmt.Sprintf("\n\n[%d attachment(s) not yet available on the server; see the post on Mastodon]", missing)
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

// newer reports whether id a is above id b. Mastodon ids are decimal
// strings of growing length; other servers' ids sort as strings: both
// compare by length, then byte by byte. "" is below everything.
func newer(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}

// linkParam finds the link with relation rel in an RFC 8288 Link header
// and returns the value of its query parameter name.
func linkParam(header, rel, name string) string {
	for part := range strings.SplitSeq(header, ",") {
		target, params, ok := strings.Cut(part, ";")
		if !ok {
			continue
		}
		isRel := false
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "rel") && strings.Trim(v, `"`) == rel {
				isRel = true
			}
		}
		if !isRel {
			continue
		}
		target = strings.Trim(strings.TrimSpace(target), "<>")
		u, err := url.Parse(target)
		if err != nil {
			return ""
		}
		return u.Query().Get(name)
	}
	return ""
}

// Fetch downloads a media attachment. Media URLs point at the server's
// file storage or CDN and need no token, so none is sent. Only the
// server's own host may be on a private address; any other media host,
// and any host a redirect leads to, must be on the public internet (see
// channel.PublicOnly).
func (c *Client) Fetch(ctx context.Context, ch store.Channel, ref string) (string, []byte, error) {
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", nil, fmt.Errorf("mastodon: media reference %q is not an http(s) URL", ref)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
	if err != nil {
		return "", nil, err
	}
	server := ""
	if base, err := url.Parse(ch.Settings[SettingAPIBase]); err == nil {
		server = base.Hostname()
	}
	resp, err := c.mediaClient(server).Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("mastodon: media %s answered %d", ref, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMedia+1))
	if err != nil {
		return "", nil, err
	}
	if len(data) > MaxMedia {
		return "", nil, fmt.Errorf("mastodon: media %s is larger than %d bytes", ref, MaxMedia)
	}
	return channel.CleanName(path.Base(u.Path)), data, nil
}
