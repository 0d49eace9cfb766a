package mastodon_test

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
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/mastodon"
	"github.com/webcare/webcare/internal/channel/mastodon/mastodonfake"
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
	msgs, newest, n, err := mastodon.Parse(fixture(t), "14715")
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || newest != "34975861" {
		t.Fatalf("n=%d newest=%q", n, newest)
	}
	if len(msgs) != 2 {
		t.Fatalf("want 2 messages (favourite and own skipped), got %d: %+v", len(msgs), msgs)
	}
	m := msgs[0]
	tests := []struct{ name, got, want string }{
		{"platform id", m.PlatformID, "103186126728896492"},
		{"reply to", m.ReplyTo, "103186038209478512"},
		{"author id", m.From.ExternalID, "971724"},
		{"handle", m.From.Handle, "zsc"},
		{"name", m.From.Name, "Zoë 🌻"},
		{"language", m.Language, "en"},
		{"sent at", m.SentAt.Format(time.RFC3339Nano), "2019-11-23T07:49:01.94Z"},
		{"file ref", m.Files[0].Ref, "https://files.mastodon.social/media_attachments/files/022/345/792/original/57859aede991da25.jpeg"},
		{"file name", m.Files[0].Name, "57859aede991da25.jpeg"},
		{"private", fmt.Sprint(m.Private), "false"},
		{"dm private", fmt.Sprint(msgs[1].Private), "true"},
		{"dm reply to", msgs[1].ReplyTo, ""},
		{"dm handle", msgs[1].From.Handle, "Gargron@example.social"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	for _, want := range []string{"my order <#1234> still hasn’t arrived — café & croissants 🥐", "second line\nthird"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text %q lacks %q", m.Text, want)
		}
	}
	if !strings.HasPrefix(msgs[1].Text, "CW: billing\n\n") || !strings.Contains(msgs[1].Text, "請幫我查一下帳單") {
		t.Errorf("content warning text: %q", msgs[1].Text)
	}
	// The same page twice gives the same ids.
	again, _, _, _ := mastodon.Parse(fixture(t), "14715")
	if again[0].PlatformID != m.PlatformID || again[1].PlatformID != msgs[1].PlatformID {
		t.Error("ids not stable")
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"empty array", `[]`, true},
		{"not json", `<html>`, false},
		{"object", `{"error":"nope"}`, false},
		{"null", `null`, true},
		{"numeric id", `[{"id": 12, "type": "mention"}]`, false},
		{"missing id", `[{"type": "mention"}]`, false},
		{"status is array", `[{"id": "1", "type": "mention", "status": []}]`, false},
		{"status without id", `[{"id": "1", "type": "mention", "status": {"account": {"id": "2"}}}]`, true},
		{"huge id", `[{"id": "` + strings.Repeat("9", 400) + `", "type": "mention", "status": {"id": "` + strings.Repeat("9", 400) + `", "account": {"id": "5"}}}]`, true},
		{"bad time", `[{"id": "1", "type": "mention", "status": {"id": "2", "created_at": "yesterday", "account": {"id": "5"}}}]`, true},
		{"media url is number", `[{"id": "1", "type": "mention", "status": {"id": "2", "account": {"id": "5"}, "media_attachments": [{"url": 5}]}}]`, false},
		{"media url javascript", `[{"id": "1", "type": "mention", "status": {"id": "2", "account": {"id": "5"}, "media_attachments": [{"url": "javascript:alert(1)"}]}}]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, _, _, err := mastodon.Parse([]byte(tt.body), "0")
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
				for _, f := range m.Files {
					if !strings.HasPrefix(f.Ref, "http") {
						t.Errorf("unsafe ref %q", f.Ref)
					}
				}
			}
		})
	}
}

func newChannel(f *mastodonfake.Fake) store.Channel {
	return store.Channel{ID: 7, Kind: "mastodon", Settings: f.Settings()}
}

func TestPollFirstAndPaging(t *testing.T) {
	ctx := context.Background()
	f := mastodonfake.New()
	defer f.Close()
	ch := newChannel(f)
	c := mastodon.NewClient(nil)

	// History before the channel existed: only the newest FirstPoll come in.
	for i := range 30 {
		f.Mention(channel.Message{From: channel.Author{ExternalID: "500", Handle: "old@example.social"}, Text: fmt.Sprintf("old %d", i)})
	}
	f.Favourite()
	b, cur, err := c.Poll(ctx, ch, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != mastodon.FirstPoll {
		t.Fatalf("first poll: %d messages, want %d", len(b.Messages), mastodon.FirstPoll)
	}
	if b.Messages[0].Text != "@support old 29" || b.Messages[0].ChannelID != 7 {
		t.Errorf("first poll newest: %+v", b.Messages[0])
	}
	// Nothing new: the same cursor, nothing returned.
	b, cur2, err := c.Poll(ctx, ch, cur)
	if err != nil || len(b.Messages) != 0 || cur2 != cur {
		t.Fatalf("idle poll: %d msgs, %q→%q, %v", len(b.Messages), cur, cur2, err)
	}
	// A burst of 95 (three pages) is read completely, in one poll.
	for i := range 95 {
		f.Mention(channel.Message{From: channel.Author{ExternalID: "600", Handle: "burst"}, Text: fmt.Sprintf("burst %d", i)})
	}
	b, cur3, err := c.Poll(ctx, ch, cur)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range b.Messages {
		got[strings.TrimPrefix(m.Text, "@support ")] = true
	}
	for i := range 95 {
		if !got[fmt.Sprintf("burst %d", i)] {
			t.Errorf("burst %d lost", i)
		}
	}
	if len(b.Messages) != 95 {
		t.Errorf("got %d messages, want 95", len(b.Messages))
	}
	pages := 0
	for _, r := range f.Requests() {
		if r.Path == "/api/v1/notifications" && r.Query.Get("min_id") != "" {
			pages++
			if r.Query.Get("since_id") != "" || r.Query["types[]"][0] != "mention" || r.Header.Get("Authorization") != "Bearer "+f.Token() {
				t.Errorf("request %v", r.Query)
			}
		}
	}
	if pages < 3 {
		t.Errorf("%d pages read, want at least 3", pages)
	}
	// A re-poll from the old cursor (a crash before the cursor was stored)
	// brings the same ids again: ingest dedupes.
	b2, _, _ := c.Poll(ctx, ch, cur)
	if len(b2.Messages) != 95 || b2.Messages[0].PlatformID != b.Messages[0].PlatformID {
		t.Error("re-poll does not give the same ids")
	}
	b, _, _ = c.Poll(ctx, ch, cur3)
	if len(b.Messages) != 0 {
		t.Errorf("after the burst: %d messages", len(b.Messages))
	}
}

func TestPollEmptyAccount(t *testing.T) {
	ctx := context.Background()
	f := mastodonfake.New()
	defer f.Close()
	ch := newChannel(f)
	c := mastodon.NewClient(nil)
	b, cur, err := c.Poll(ctx, ch, "")
	if err != nil || len(b.Messages) != 0 || cur != "0" {
		t.Fatalf("first poll of an empty account: %d, %q, %v", len(b.Messages), cur, err)
	}
	for i := range 45 {
		f.Mention(channel.Message{From: channel.Author{ExternalID: "9"}, Text: fmt.Sprint(i)})
	}
	b, _, err = c.Poll(ctx, ch, cur)
	if err != nil || len(b.Messages) != 45 {
		t.Fatalf("second poll: %d, %v", len(b.Messages), err)
	}
}

func TestPollOwnAndLookup(t *testing.T) {
	ctx := context.Background()
	f := mastodonfake.New()
	defer f.Close()
	ch := newChannel(f)
	delete(ch.Settings, "account_id") // looked up with verify_credentials
	c := mastodon.NewClient(nil)
	f.Mention(channel.Message{From: channel.Author{ExternalID: mastodonfake.OwnID, Handle: "support"}, Text: "echo"})
	f.Mention(channel.Message{From: channel.Author{ExternalID: "42", Handle: "jan@example.nl", Name: "Jan"}, Text: "hallo", Private: true, Language: "nl",
		Files: []channel.File{{Name: "a.png", Data: []byte("\x89PNG\r\n\x1a\nfake")}}})
	b, _, err := c.Poll(ctx, ch, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != 1 || b.Messages[0].Text != "@support hallo" || !b.Messages[0].Private || b.Messages[0].Language != "nl" {
		t.Fatalf("messages: %+v", b.Messages)
	}
	name, data, err := c.Fetch(ctx, ch, b.Messages[0].Files[0].Ref)
	if err != nil || name != "a.png" || !strings.HasPrefix(string(data), "\x89PNG") {
		t.Fatalf("fetch: %q %q %v", name, data, err)
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r.Path, "/system/") && r.Header.Get("Authorization") != "" {
			t.Error("token sent to the media host")
		}
	}
}

// A post from anywhere in the fediverse chooses its media links: only the
// server's own copies are fetched, and only the server itself may sit on
// a private address.
func TestMediaFromStrangers(t *testing.T) {
	msgs, _, _, err := mastodon.Parse([]byte(`[{"id": "1", "type": "mention", "status": {"id": "2", "content": "<p>look</p>", "account": {"id": "5"},
		"media_attachments": [{"id": "9", "type": "unknown", "url": null, "remote_url": "http://169.254.169.254/latest/meta-data/"}]}}]`), "0")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%v %+v", err, msgs)
	}
	if len(msgs[0].Files) != 0 || !strings.Contains(msgs[0].Text, "1 attachment(s) not yet available") {
		t.Errorf("remote_url taken or not mentioned: %+v", msgs[0])
	}

	f := mastodonfake.New()
	defer f.Close()
	ch := newChannel(f)
	c := mastodon.NewClient(nil)
	f.Mention(channel.Message{From: channel.Author{ExternalID: "42", Handle: "jan"}, Text: "pic",
		Files: []channel.File{{Name: "a.png", Data: []byte("\x89PNG\r\n\x1a\nfake")}}})
	b, _, err := c.Poll(context.Background(), ch, "")
	if err != nil || len(b.Messages) != 1 || len(b.Messages[0].Files) != 1 {
		t.Fatalf("poll: %v %+v", err, b)
	}
	ref := b.Messages[0].Files[0].Ref
	if _, _, err := c.Fetch(context.Background(), ch, ref); err != nil {
		t.Fatalf("the server's own media refused: %v", err)
	}
	// The same file under another name for loopback is another host.
	other := strings.Replace(ref, "127.0.0.1", "localhost", 1)
	if other == ref {
		t.Fatalf("fake not on 127.0.0.1: %s", ref)
	}
	if _, _, err := c.Fetch(context.Background(), ch, other); !errors.Is(err, channel.ErrNotPublic) {
		t.Errorf("media on an internal host fetched: %v", err)
	}
}

func TestPollErrors(t *testing.T) {
	ctx := context.Background()
	f := mastodonfake.New()
	defer f.Close()
	ch := newChannel(f)
	c := mastodon.NewClient(nil)
	f.Fail(1, mastodonfake.Failure{Status: 503, Error: "Service Unavailable"})
	if _, cur, err := c.Poll(ctx, ch, "5"); err == nil || cur != "5" {
		t.Fatalf("want error and the old cursor, got %q %v", cur, err)
	}
	bad := ch
	bad.Settings = map[string]string{"api_base": f.URL(), "access_token": "wrong", "account_id": "1"}
	if _, _, err := c.Poll(ctx, bad, "5"); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("want a token error, got %v", err)
	}
}

func delivery(f *mastodonfake.Fake, replyTo string) outbox.Delivery {
	return outbox.Delivery{
		Key:          "key-1",
		Channel:      store.Channel{ID: 7, Kind: "mastodon", Settings: f.Settings()},
		Conversation: store.Conversation{Visibility: "public", Language: "en"},
		Message:      store.Message{Body: "Thanks, we are looking into it!", ReplyTo: replyTo},
		To:           store.Identity{ExternalID: "42", Handle: "jan@example.nl"},
	}
}

func TestSend(t *testing.T) {
	ctx := context.Background()
	f := mastodonfake.New()
	defer f.Close()
	c := mastodon.NewClient(nil)
	sid, _ := f.Mention(channel.Message{From: channel.Author{ExternalID: "42", Handle: "jan@example.nl"}, Text: "help"})
	d := delivery(f, sid)
	id, err := c.Send(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	// A retry with the same key does not post twice.
	id2, err := c.Send(ctx, d)
	if err != nil || id2 != id {
		t.Fatalf("retry: %q %v", id2, err)
	}
	sent := f.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d statuses posted", len(sent))
	}
	s := sent[0]
	if s.Text != "@jan@example.nl Thanks, we are looking into it!" || s.Visibility != "unlisted" || s.InReplyToID != sid || s.Language != "en" {
		t.Errorf("posted %+v", s)
	}
	var post mastodonfake.Request
	for _, r := range f.Requests() {
		if r.Path == "/api/v1/statuses" {
			post = r
		}
	}
	if post.Header.Get("Idempotency-Key") != "key-1" || post.Header.Get("Authorization") != "Bearer "+f.Token() {
		t.Errorf("headers %v", post.Header)
	}

	// A followers-only mention is answered followers-only.
	f.NextVisibility = "private"
	fo, _ := f.Mention(channel.Message{From: channel.Author{ExternalID: "42", Handle: "jan@example.nl"}, Text: "quiet question"})
	d.Key, d.Message.ReplyTo = "key-fo", fo
	if _, err := c.Send(ctx, d); err != nil {
		t.Fatal(err)
	}
	if s := f.Sent()[1]; s.Visibility != "private" || s.InReplyToID != fo {
		t.Errorf("followers-only reply: %+v", s)
	}

	// Private, already mentioning, with a picture processed in the background.
	f.Slow = true
	d.Key = "key-2"
	d.Conversation.Visibility = "private"
	d.Message.Body = "@Jan@Example.nl sent you a DM 🙂"
	d.Files = []store.Attachment{{Name: "p.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nxx")}}
	if _, err := c.Send(ctx, d); err != nil {
		t.Fatal(err)
	}
	s = f.Sent()[2]
	if s.Text != "@Jan@Example.nl sent you a DM 🙂" || s.Visibility != "direct" || s.Media != 1 {
		t.Errorf("posted %+v", s)
	}
}

func TestSendErrors(t *testing.T) {
	ctx := context.Background()
	f := mastodonfake.New()
	defer f.Close()
	c := mastodon.NewClient(nil)
	sid, _ := f.Mention(channel.Message{From: channel.Author{ExternalID: "42", Handle: "jan"}, Text: "help"})
	tests := []struct {
		name      string
		setup     func(d *outbox.Delivery)
		permanent bool
		retry     bool
		words     string
	}{
		{"429", func(*outbox.Delivery) { f.RateLimit(1, 90*time.Second) }, false, true, "rate limit"},
		{"503", func(*outbox.Delivery) { f.Fail(1, mastodonfake.Failure{Status: 503, Error: "unavailable"}) }, false, false, "unavailable"},
		{"401", func(d *outbox.Delivery) { d.Channel.Settings["access_token"] = "revoked" }, true, false, "access token"},
		{"403", func(*outbox.Delivery) {
			f.Fail(1, mastodonfake.Failure{Status: 403, Error: "This action is outside the authorized scopes"})
		}, true, false, "scope"},
		{"422", func(*outbox.Delivery) {
			f.Fail(1, mastodonfake.Failure{Status: 422, Error: "Validation failed: Text character limit of 500 exceeded"})
		}, true, false, "character limit"},
		{"reply gone", func(d *outbox.Delivery) { d.Message.ReplyTo = "1" }, true, false, "no longer exists"},
		{"too long", func(d *outbox.Delivery) { d.Message.Body = strings.Repeat("é", 497) }, true, false, "at most 500"},
		{"no server", func(d *outbox.Delivery) { delete(d.Channel.Settings, "api_base") }, true, false, "server"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := delivery(f, sid)
			d.Channel.Settings = f.Settings()
			d.Key = fmt.Sprint("err-", i)
			tt.setup(&d)
			_, err := c.Send(ctx, d)
			var oe *outbox.Error
			if !errors.As(err, &oe) {
				t.Fatalf("want *outbox.Error, got %v", err)
			}
			if oe.Permanent != tt.permanent || (oe.RetryAfter > 0) != tt.retry || !strings.Contains(oe.Body, tt.words) {
				t.Errorf("got %+v", oe)
			}
			if tt.retry && (oe.RetryAfter < 80*time.Second || oe.RetryAfter > 91*time.Second) {
				t.Errorf("RetryAfter %v", oe.RetryAfter)
			}
		})
	}
}

func TestLength(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"hello", 5},
		{"see https://example.com/a/very/long/path/that/goes/on/and/on/forever", 4 + 23},
		{"@jan@example.nl hi", len("@jan hi")},
		{"🙂é", 2},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := mastodon.Length(tt.text); got != tt.want {
				t.Errorf("Length = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	f := mastodonfake.New()
	defer f.Close()
	c := mastodon.NewClient(nil)
	ch := newChannel(f)
	out, err := c.Check(ctx, ch)
	if err != nil || !strings.Contains(out, "@support@") || !strings.Contains(out, mastodonfake.OwnID) || !strings.Contains(out, "500 characters") {
		t.Fatalf("Check = %q, %v", out, err)
	}
	ch.Settings["access_token"] = "nope"
	if _, err := c.Check(ctx, ch); err == nil || !strings.Contains(err.Error(), "access token was refused") {
		t.Fatalf("bad token: %v", err)
	}
}

func TestAdapter(t *testing.T) {
	a := mastodon.New(nil)
	if a.Kind != "mastodon" || a.Poller == nil || a.Sender == nil || a.Checker == nil || a.Fetcher == nil || a.Webhook != nil || a.PollEvery == 0 {
		t.Fatalf("adapter %+v", a)
	}
	var fake channel.Fake = mastodonfake.New()
	defer fake.Close()
	if err := fake.Post(context.Background(), "", store.Channel{}, channel.Message{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(fixture(f))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id":"1","type":"mention","status":{"id":"2","account":{"id":"3"},"content":"<p>x</p>"}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, _, _, err := mastodon.Parse(body, "3")
		if err != nil && !errors.Is(err, channel.ErrPayload) {
			t.Fatalf("error does not wrap ErrPayload: %v", err)
		}
		for _, m := range msgs {
			if m.PlatformID == "" || m.From.ExternalID == "" {
				t.Fatal("message without ids")
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	// A page of 40 mentions, as one poll reads it.
	f := mastodonfake.New()
	defer f.Close()
	for i := range 40 {
		f.Mention(channel.Message{From: channel.Author{ExternalID: fmt.Sprint(1000 + i), Handle: "user@example.social", Name: "Ünïcode 🙂"},
			Text: "Hello, my order #1234 hasn't arrived yet & I'm waiting <since> Monday. Can you help?", ReplyTo: "103186038209478512"})
	}
	req, _ := http.NewRequest("GET", f.URL()+"/api/v1/notifications?limit=40", nil)
	req.Header.Set("Authorization", "Bearer "+f.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if msgs, _, _, err := mastodon.Parse(body, "1"); err != nil || len(msgs) != 40 {
		b.Fatalf("page: %d, %v", len(msgs), err)
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		mastodon.Parse(body, "1")
	}
	b.ReportMetric(float64(b.N*40)/b.Elapsed().Seconds(), "payloads/s")
}

func TestParseOutOfOrder(t *testing.T) {
	var page []json.RawMessage
	if err := json.Unmarshal(fixture(t), &page); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(page)
	reversed, _ := json.Marshal(page)
	a, newestA, _, errA := mastodon.Parse(fixture(t), "14715")
	b, newestB, _, errB := mastodon.Parse(reversed, "14715")
	if errA != nil || errB != nil || newestA != newestB || len(a) != len(b) {
		t.Fatalf("%v %v %q %q", errA, errB, newestA, newestB)
	}
	ids := map[string]bool{}
	for _, m := range a {
		ids[m.PlatformID] = true
	}
	for _, m := range b {
		if !ids[m.PlatformID] {
			t.Errorf("%s only in the reversed page", m.PlatformID)
		}
	}
}
