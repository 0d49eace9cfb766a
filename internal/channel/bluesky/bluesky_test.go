package bluesky_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/bluesky"
	"github.com/webcare/webcare/internal/channel/bluesky/blueskyfake"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

func fixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/notifications.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixture(t *testing.T) {
	msgs, err := bluesky.Parse(fixture(t), blueskyfake.OwnDID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("want reply, mention and quote (like and own skipped), got %d: %+v", len(msgs), msgs)
	}
	r, m, q := msgs[0], msgs[1], msgs[2]
	tests := []struct{ name, got, want string }{
		{"platform id", r.PlatformID, "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l6oveex3ii2l"},
		{"reply to parent", r.ReplyTo, "at://did:plc:webcaresupport000000001/app.bsky.feed.post/3l6oucqs2ib2c"},
		{"author did", r.From.ExternalID, "did:plc:ewvi7nxzyoun6zhxrhs64oiz"},
		{"handle", r.From.Handle, "zoë.example.com"},
		{"name", r.From.Name, "Zoë 🌻"},
		{"text", r.Text, "my order <#1234> still hasn’t arrived — café & croissants 🥐 &amp; more"},
		{"lang", r.Language, "en"},
		{"sent at", r.SentAt.Format(time.RFC3339Nano), "2024-10-15T09:12:33.123Z"},
		{"image ref", r.Files[0].Ref, "did:plc:ewvi7nxzyoun6zhxrhs64oiz/bafkreibabalobzn6cd366ukcsjycp4yymjymgfxcv6xczmlgpemzkz3cfa"},
		{"public", fmt.Sprint(r.Private), "false"},
		{"mention text", m.Text, "@support.webcare.test 請幫我查一下帳單"},
		{"mention reply to", m.ReplyTo, ""},
		{"quote media", q.Files[0].Ref, "did:plc:abcquoter/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	again, _ := bluesky.Parse(fixture(t), blueskyfake.OwnDID)
	for i := range again {
		if again[i].PlatformID != msgs[i].PlatformID {
			t.Error("ids not stable")
		}
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"empty", `{"notifications": []}`, true},
		{"not json", `<html>`, false},
		{"array", `[]`, false},
		{"notifications object", `{"notifications": {}}`, false},
		{"text number", `{"notifications": [{"uri": "at://did:plc:a/app.bsky.feed.post/1", "reason": "mention", "author": {"did": "did:plc:a"}, "record": {"text": 5}}]}`, false},
		{"no uri", `{"notifications": [{"reason": "mention", "author": {"did": "did:plc:a"}, "record": {"text": "x"}}]}`, true},
		{"no author", `{"notifications": [{"uri": "at://x/app.bsky.feed.post/1", "reason": "mention", "record": {"text": "x"}}]}`, true},
		{"huge uri", `{"notifications": [{"uri": "at://did:plc:a/app.bsky.feed.post/` + strings.Repeat("9", 5000) + `", "reason": "reply", "author": {"did": "did:plc:a"}, "record": {"text": "x"}}]}`, true},
		{"bad blob cid", `{"notifications": [{"uri": "at://did:plc:a/app.bsky.feed.post/1", "reason": "mention", "author": {"did": "did:plc:a"}, "record": {"text": "x", "embed": {"$type": "app.bsky.embed.images", "images": [{"image": {"ref": {"$link": "../../etc/passwd"}}}]}}}]}`, true},
		{"escapes", `{"notifications": [{"uri": "at://did:plc:a/app.bsky.feed.post/1", "reason": "mention", "author": {"did": "did:plc:a"}, "record": {"text": "\u003cb\u003e \ud83d\ude00"}}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := bluesky.Parse([]byte(tt.body), blueskyfake.OwnDID)
			if tt.ok && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !tt.ok && !errors.Is(err, channel.ErrPayload) {
				t.Fatalf("want ErrPayload, got %v", err)
			}
			for _, m := range msgs {
				if m.PlatformID == "" || m.From.ExternalID == "" {
					t.Errorf("message without ids: %+v", m)
				}
				if len(m.Files) > 0 {
					t.Errorf("unsafe file ref: %+v", m.Files)
				}
			}
		})
	}
}

func newChannel(f *blueskyfake.Fake) store.Channel {
	return store.Channel{ID: 9, Kind: "bluesky", Settings: f.Settings()}
}

func texts(b channel.Batch) map[string]bool {
	out := map[string]bool{}
	for _, m := range b.Messages {
		out[strings.TrimPrefix(m.Text, "@"+blueskyfake.OwnHandle+" ")] = true
	}
	return out
}

func TestPoll(t *testing.T) {
	ctx := context.Background()
	f := blueskyfake.New()
	defer f.Close()
	ch := newChannel(f)
	c := bluesky.NewClient(nil)

	for i := range 30 {
		f.Mention(channel.Message{From: channel.Author{ExternalID: "did:plc:old", Handle: "old.bsky.social"}, Text: fmt.Sprintf("old %d", i)})
	}
	f.Like()
	b, cur, err := c.Poll(ctx, ch, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != bluesky.FirstPoll || !texts(b)["old 29"] || texts(b)["old 9"] || b.Messages[0].ChannelID != 9 {
		t.Fatalf("first poll: %d messages: %v", len(b.Messages), texts(b))
	}
	// Idle: nothing new, except notifications at exactly the mark (dedupe).
	b, cur2, err := c.Poll(ctx, ch, cur)
	if err != nil || len(b.Messages) > 1 || cur2 != cur {
		t.Fatalf("idle poll: %d, %q→%q, %v", len(b.Messages), cur, cur2, err)
	}
	// A burst of 250 with a reply to our post among them: all read.
	ours := f.OwnPost("We are here to help")
	for i := range 250 {
		m := channel.Message{From: channel.Author{ExternalID: "did:plc:burst", Handle: "burst.bsky.social"}, Text: fmt.Sprintf("burst %d", i)}
		if i == 100 {
			m.ReplyTo = ours
		}
		f.Mention(m)
	}
	b, cur3, err := c.Poll(ctx, ch, cur)
	if err != nil {
		t.Fatal(err)
	}
	got := texts(b)
	for i := range 250 {
		if !got[fmt.Sprintf("burst %d", i)] {
			t.Errorf("burst %d lost", i)
		}
	}
	var reply channel.Message
	for _, m := range b.Messages {
		if m.ReplyTo == ours {
			reply = m
		}
	}
	if reply.Text != "burst 100" {
		t.Errorf("reply not found: %+v", reply)
	}
	for _, r := range f.Requests() {
		if r.NSID == "app.bsky.notification.listNotifications" && strings.Join(r.Query["reasons"], ",") != "mention,reply,quote" {
			t.Errorf("reasons %v", r.Query["reasons"])
		}
	}
	b, _, _ = c.Poll(ctx, ch, cur3)
	if len(b.Messages) > 1 {
		t.Errorf("after the burst: %d messages", len(b.Messages))
	}
	if f.Logins() != 1 {
		t.Errorf("%d sign-ins, want one session kept", f.Logins())
	}
}

func TestPollLongBurstResumes(t *testing.T) {
	ctx := context.Background()
	f := blueskyfake.New()
	defer f.Close()
	ch := newChannel(f)
	c := bluesky.NewClient(nil)
	_, cur, err := c.Poll(ctx, ch, "")
	if err != nil || !strings.HasPrefix(cur, "1970-01-01") {
		t.Fatalf("empty first poll: %q %v", cur, err)
	}
	n := bluesky.PageSize*bluesky.MaxPages + 150
	for i := range n {
		f.Mention(channel.Message{From: channel.Author{ExternalID: "did:plc:x"}, Text: fmt.Sprint("m", i)})
	}
	all := map[string]bool{}
	for poll := 0; poll < 5; poll++ {
		b, next, err := c.Poll(ctx, ch, cur)
		if err != nil {
			t.Fatal(err)
		}
		for k := range texts(b) {
			all[k] = true
		}
		if poll == 0 && !strings.Contains(next, "|") {
			t.Errorf("a cut-off walk must say where to go on: %q", next)
		}
		if next == cur {
			break
		}
		cur = next
	}
	if len(all) != n {
		t.Errorf("read %d of %d", len(all), n)
	}
	if strings.Contains(cur, "|") {
		t.Errorf("walk not finished: %q", cur)
	}
}

func TestSessionRefresh(t *testing.T) {
	ctx := context.Background()
	f := blueskyfake.New()
	defer f.Close()
	ch := newChannel(f)
	c := bluesky.NewClient(nil)
	var start sync.WaitGroup
	for range 3 {
		start.Go(func() {
			if _, _, err := c.Poll(ctx, ch, ""); err != nil {
				t.Error(err)
			}
		})
	}
	start.Wait()
	if f.Logins() != 1 {
		t.Fatalf("%d sign-ins for three polls starting together", f.Logins())
	}
	f.Expire()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, _, err := c.Poll(ctx, ch, "2024-01-01T00:00:00Z"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	refreshes := 0
	for _, r := range f.Requests() {
		if r.NSID == "com.atproto.server.refreshSession" {
			refreshes++
		}
	}
	if refreshes != 1 || f.Logins() != 1 {
		t.Errorf("%d refreshes, %d logins; want one refresh, no new sign-in", refreshes, f.Logins())
	}
	// Refresh token gone too: sign in again.
	f.ExpireAll()
	if _, _, err := c.Poll(ctx, ch, "2024-01-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	if f.Logins() != 2 {
		t.Errorf("%d logins after the refresh token expired", f.Logins())
	}
	bad := ch
	bad.ID = 10
	bad.Settings = f.Settings()
	bad.Settings["app_password"] = "wrong"
	if _, _, err := c.Poll(ctx, bad, ""); err == nil || !strings.Contains(err.Error(), "App Password") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestFetch(t *testing.T) {
	ctx := context.Background()
	f := blueskyfake.New()
	defer f.Close()
	ch := newChannel(f)
	c := bluesky.NewClient(nil)
	f.Mention(channel.Message{From: channel.Author{ExternalID: "did:plc:pic"}, Text: "look", Files: []channel.File{{Name: "a.jpg", Data: []byte("\xff\xd8\xff\xe0jpegdata")}}})
	b, _, err := c.Poll(ctx, ch, "")
	if err != nil || len(b.Messages) != 1 || len(b.Messages[0].Files) != 1 {
		t.Fatalf("%+v %v", b, err)
	}
	_, data, err := c.Fetch(ctx, ch, b.Messages[0].Files[0].Ref)
	if err != nil || string(data) != "\xff\xd8\xff\xe0jpegdata" {
		t.Fatalf("fetch: %q %v", data, err)
	}
	if _, _, err := c.Fetch(ctx, ch, "did:plc:x/../../secret"); err == nil {
		t.Error("path in ref accepted")
	}
}

func delivery(f *blueskyfake.Fake, replyTo string) outbox.Delivery {
	return outbox.Delivery{
		Key:          "reply-1",
		Channel:      store.Channel{ID: 9, Kind: "bluesky", Settings: f.Settings()},
		Conversation: store.Conversation{Visibility: "public", Language: "en"},
		Message:      store.Message{Body: "@zoë.example.com Thanks — we’re on it 🙂", ReplyTo: replyTo, CreatedAt: time.Date(2026, 11, 30, 10, 0, 0, 123456000, time.UTC)},
		To:           store.Identity{ExternalID: "did:plc:zoe", Handle: "zoë.example.com"},
	}
}

func TestSend(t *testing.T) {
	ctx := context.Background()
	f := blueskyfake.New()
	defer f.Close()
	c := bluesky.NewClient(nil)
	root := f.OwnPost("Our announcement")
	parent, _ := f.Mention(channel.Message{From: channel.Author{ExternalID: "did:plc:zoe", Handle: "zoë.example.com"}, Text: "where is my parcel?", ReplyTo: root})
	d := delivery(f, parent)
	uri, err := c.Send(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	rkey := uri[strings.LastIndex(uri, "/")+1:]
	if !bluesky.ValidTID(rkey) || rkey != bluesky.TID(d.Key, d.Message.CreatedAt) {
		t.Errorf("rkey %q", rkey)
	}
	// A retry (the answer was lost) finds the first post, posts nothing.
	uri2, err := c.Send(ctx, d)
	if err != nil || uri2 != uri || len(f.Sent()) != 1 {
		t.Fatalf("retry: %q %v, %d posts", uri2, err, len(f.Sent()))
	}
	rec := f.Sent()[0]
	js, _ := json.Marshal(rec)
	var got struct {
		Type   string   `json:"$type"`
		Text   string   `json:"text"`
		Langs  []string `json:"langs"`
		Reply  bluesky.Reply
		Facets []bluesky.Facet
	}
	json.Unmarshal(js, &got)
	if got.Type != "app.bsky.feed.post" || got.Text != d.Message.Body || got.Langs[0] != "en" {
		t.Errorf("record %s", js)
	}
	if got.Reply.Parent.URI != parent || got.Reply.Root.URI != root || got.Reply.Parent.CID == "" || got.Reply.Root.CID == "" {
		t.Errorf("reply refs %+v", got.Reply)
	}
	if len(got.Facets) != 1 || got.Facets[0].Index.ByteStart != 0 || got.Facets[0].Index.ByteEnd != len("@zoë.example.com") || got.Facets[0].Features[0].DID != "did:plc:zoe" {
		t.Errorf("facets %+v", got.Facets)
	}

	// Private: a chat message through the PDS proxy.
	d.Key = "dm-1"
	d.Conversation.Visibility = "private"
	id, err := c.Send(ctx, d)
	if err != nil || id == "" {
		t.Fatalf("dm: %q %v", id, err)
	}
	if chats := f.Chats(); len(chats) != 1 || chats[0].Text != d.Message.Body {
		t.Errorf("chats %+v", chats)
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r.NSID, "chat.") && r.Header.Get("Atproto-Proxy") != "did:web:api.bsky.chat#bsky_chat" {
			t.Errorf("no proxy header on %s", r.NSID)
		}
	}
}

func TestSendErrors(t *testing.T) {
	ctx := context.Background()
	f := blueskyfake.New()
	defer f.Close()
	c := bluesky.NewClient(nil)
	parent, _ := f.Mention(channel.Message{From: channel.Author{ExternalID: "did:plc:zoe", Handle: "zoe.bsky.social"}, Text: "hi"})
	f.DisableDMs("did:plc:nodm")
	tests := []struct {
		name      string
		setup     func(d *outbox.Delivery)
		permanent bool
		retry     bool
		words     string
	}{
		{"429", func(*outbox.Delivery) { f.RateLimit(1, 2*time.Minute) }, false, true, "rate limit"},
		{"502", func(*outbox.Delivery) {
			f.Fail(1, blueskyfake.Failure{Status: 502, Error: "UpstreamFailure", Message: "upstream"})
		}, false, false, "UpstreamFailure"},
		{"too long", func(d *outbox.Delivery) { d.Message.Body = strings.Repeat("👍🏽", 301) }, true, false, "at most 300"},
		{"emoji fit", nil, false, false, ""},
		{"invalid request", func(d *outbox.Delivery) {
			d.Message.ReplyTo = "" // createRecord is the first call
			f.Fail(1, blueskyfake.Failure{Status: 400, Error: "InvalidRequest", Message: "Invalid app.bsky.feed.post record"})
		}, true, false, "rejected the reply"},
		{"parent deleted", func(d *outbox.Delivery) { d.Message.ReplyTo = "at://did:plc:zoe/app.bsky.feed.post/3aaaaaaaaaaaa" }, true, false, "deleted"},
		{"dm disabled", func(d *outbox.Delivery) {
			d.Conversation.Visibility = "private"
			d.To.ExternalID = "did:plc:nodm"
		}, true, false, "does not accept private messages"},
		{"bad password", func(d *outbox.Delivery) { d.Channel.ID = 99; d.Channel.Settings["app_password"] = "nope" }, true, false, "App Password"},
		{"files", func(d *outbox.Delivery) { d.Files = []store.Attachment{{Name: "x.png"}} }, true, false, "files"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := delivery(f, parent)
			d.Channel.Settings = f.Settings()
			d.Key = fmt.Sprint("err-", i)
			d.Message.Body = "ok " + strings.Repeat("👍🏽", 290)
			if tt.setup != nil {
				tt.setup(&d)
			}
			_, err := c.Send(ctx, d)
			if tt.setup == nil {
				if err != nil {
					t.Fatalf("290 emoji with skin tones must fit: %v", err)
				}
				return
			}
			var oe *outbox.Error
			if !errors.As(err, &oe) {
				t.Fatalf("want *outbox.Error, got %v", err)
			}
			if oe.Permanent != tt.permanent || (oe.RetryAfter > 0) != tt.retry || !strings.Contains(oe.Body, tt.words) {
				t.Errorf("got %+v", oe)
			}
			if tt.retry && (oe.RetryAfter < 100*time.Second || oe.RetryAfter > 121*time.Second) {
				t.Errorf("RetryAfter %v", oe.RetryAfter)
			}
		})
	}
}

func TestTID(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	a, b := bluesky.TID("k1", at), bluesky.TID("k1", at)
	if a != b || !bluesky.ValidTID(a) || bluesky.TID("k2", at) == a {
		t.Errorf("TID %q %q", a, bluesky.TID("k2", at))
	}
	if z := bluesky.TID("k1", time.Time{}); !bluesky.ValidTID(z) {
		t.Errorf("zero time TID %q", z)
	}
	for _, s := range []string{"3jzfcijpj2z2a", "2222222222222"} {
		if !bluesky.ValidTID(s) {
			t.Errorf("%s should be valid", s)
		}
	}
	for _, s := range []string{"", "3jzfcijpj2z2", "kjzfcijpj2z2a", "3jzfcijpj2z21", "3JZFCIJPJ2Z2A"} {
		if bluesky.ValidTID(s) {
			t.Errorf("%s should be invalid", s)
		}
	}
}

func TestGraphemes(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"hello", 5},
		{"café", 4},
		{"cafe\u0301", 4},
		{"👍🏽", 1},
		{"👨‍👩‍👧‍👦", 1},
		{"🇳🇱🇧🇪", 2},
		{"❤️", 1},
		{"a\r\nb", 3},
		{"請幫我", 3},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := bluesky.Graphemes(tt.s); got != tt.want {
				t.Errorf("Graphemes(%q) = %d, want %d", tt.s, got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	f := blueskyfake.New()
	defer f.Close()
	c := bluesky.NewClient(nil)
	ch := newChannel(f)
	out, err := c.Check(ctx, ch)
	if err != nil || !strings.Contains(out, blueskyfake.OwnHandle) || !strings.Contains(out, blueskyfake.OwnDID) {
		t.Fatalf("Check = %q, %v", out, err)
	}
	ch.Settings["app_password"] = "wrong"
	if _, err := c.Check(ctx, ch); err == nil || !strings.Contains(err.Error(), "App Password") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestAdapter(t *testing.T) {
	a := bluesky.New(nil)
	if a.Kind != "bluesky" || a.Poller == nil || a.Sender == nil || a.Checker == nil || a.Fetcher == nil || a.Webhook != nil {
		t.Fatalf("adapter %+v", a)
	}
	var fake channel.Fake = blueskyfake.New()
	defer fake.Close()
	if err := fake.Post(context.Background(), "", store.Channel{}, channel.Message{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(fixture(f))
	f.Add([]byte(`{"notifications": []}`))
	f.Add([]byte(`{"notifications": [{"uri": "at://did:plc:a/app.bsky.feed.post/1", "reason": "reply", "author": {"did": "did:plc:a"}, "record": {"text": "x", "reply": {"parent": {"uri": "at://p"}}}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := bluesky.Parse(body, blueskyfake.OwnDID)
		if err != nil && !errors.Is(err, channel.ErrPayload) {
			t.Fatalf("error does not wrap ErrPayload: %v", err)
		}
		for _, m := range msgs {
			if !strings.HasPrefix(m.PlatformID, "at://") || !strings.HasPrefix(m.From.ExternalID, "did:") {
				t.Fatal("message without ids")
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	// A page of 40 notifications as the fake PDS serves them.
	f := blueskyfake.New()
	defer f.Close()
	root := f.OwnPost("Our announcement")
	for i := range 40 {
		f.Mention(channel.Message{From: channel.Author{ExternalID: fmt.Sprint("did:plc:user", i), Handle: "user.bsky.social", Name: "Ünïcode 🙂"},
			Text: "Hello, my order #1234 hasn't arrived yet & I'm waiting <since> Monday. Can you help?", ReplyTo: root, Language: "en"})
	}
	req, _ := http.NewRequest("POST", f.URL()+"/xrpc/com.atproto.server.createSession", strings.NewReader(`{"identifier":"`+blueskyfake.OwnHandle+`","password":"`+blueskyfake.AppPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var s struct{ AccessJwt string }
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	req, _ = http.NewRequest("GET", f.URL()+"/xrpc/app.bsky.notification.listNotifications?limit=40", nil)
	req.Header.Set("Authorization", "Bearer "+s.AccessJwt)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if msgs, err := bluesky.Parse(body, blueskyfake.OwnDID); err != nil || len(msgs) != 40 {
		b.Fatalf("page: %d, %v", len(msgs), err)
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		bluesky.Parse(body, blueskyfake.OwnDID)
	}
	b.ReportMetric(float64(b.N*40)/b.Elapsed().Seconds(), "payloads/s")
}

func TestParseOutOfOrder(t *testing.T) {
	var p struct {
		Notifications []json.RawMessage `json:"notifications"`
	}
	if err := json.Unmarshal(fixture(t), &p); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(p.Notifications)
	reversed, _ := json.Marshal(p)
	a, errA := bluesky.Parse(fixture(t), blueskyfake.OwnDID)
	b, errB := bluesky.Parse(reversed, blueskyfake.OwnDID)
	if errA != nil || errB != nil || len(a) != len(b) {
		t.Fatalf("%v %v %d %d", errA, errB, len(a), len(b))
	}
	for i := range a {
		if a[i].PlatformID != b[len(b)-1-i].PlatformID {
			t.Errorf("message %d differs", i)
		}
	}
}
