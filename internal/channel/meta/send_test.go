package meta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/meta"
	"github.com/webcare/webcare/internal/channel/meta/metafake"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func newSender(kind string) *meta.Sender {
	return &meta.Sender{Kind: kind, Client: &http.Client{Timeout: 5 * time.Second}, Now: func() time.Time { return now }}
}

var png = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)

func delivery(f *metafake.Fake, visibility store.Visibility) outbox.Delivery {
	return outbox.Delivery{
		Key:          "key-1",
		Channel:      store.Channel{ID: 3, Kind: f.Kind, Settings: f.Settings()},
		Conversation: store.Conversation{ID: 9, Visibility: visibility},
		Message:      store.Message{ID: 11, Body: "Hallo! We kijken ernaar 🙂"},
		To:           store.Identity{Platform: f.Kind, ExternalID: "24000000001"},
		LastInbound:  now.Add(-time.Hour),
	}
}

func jsonField(t *testing.T, r metafake.Request, key string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Form[key]), &m); err != nil {
		t.Fatalf("%s is not JSON: %q", key, r.Form[key])
	}
	return m
}

func TestSendDirect(t *testing.T) {
	tests := []struct {
		name        string
		kind        string
		edit        func(*outbox.Delivery)
		path        string
		messaging   string
		tag         string
		recipient   string // "id" or "comment_id"
		wantRecipID string
	}{
		{name: "messenger within 24 hours", kind: meta.KindFacebook, path: "/104000000000001/messages", messaging: "RESPONSE", recipient: "id", wantRecipID: "24000000001"},
		{name: "messenger after 24 hours: human agent tag", kind: meta.KindFacebook, edit: func(d *outbox.Delivery) { d.LastInbound = now.Add(-72 * time.Hour) },
			path: "/104000000000001/messages", messaging: "MESSAGE_TAG", tag: "HUMAN_AGENT", recipient: "id", wantRecipID: "24000000001"},
		{name: "instagram DM goes to /me/messages", kind: meta.KindInstagram, path: "/me/messages", messaging: "RESPONSE", recipient: "id", wantRecipID: "24000000001"},
		{name: "instagram after 24 hours", kind: meta.KindInstagram, edit: func(d *outbox.Delivery) { d.LastInbound = now.Add(-6 * 24 * time.Hour) },
			path: "/me/messages", messaging: "MESSAGE_TAG", tag: "HUMAN_AGENT", recipient: "id", wantRecipID: "24000000001"},
		{name: "moved from a comment, no DM yet: private reply", kind: meta.KindFacebook, edit: func(d *outbox.Delivery) { d.Origin, d.LastInbound = "122_555", time.Time{} },
			path: "/104000000000001/messages", recipient: "comment_id", wantRecipID: "122_555"},
		{name: "moved from a comment, customer DM'd since: plain DM", kind: meta.KindFacebook, edit: func(d *outbox.Delivery) { d.Origin = "122_555" },
			path: "/104000000000001/messages", messaging: "RESPONSE", recipient: "id", wantRecipID: "24000000001"},
		{name: "moved from a visitor post: private reply names the post", kind: meta.KindFacebook, edit: func(d *outbox.Delivery) { d.Origin, d.LastInbound = "104000000000001_77", time.Time{} },
			path: "/104000000000001/messages", recipient: "post_id", wantRecipID: "104000000000001_77"},
		{name: "instagram private reply to a comment", kind: meta.KindInstagram, edit: func(d *outbox.Delivery) { d.Origin, d.LastInbound = "17900001", now.Add(-48*time.Hour) },
			path: "/me/messages", recipient: "comment_id", wantRecipID: "17900001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := metafake.New(tt.kind)
			defer f.Close()
			d := delivery(f, store.Private)
			if tt.edit != nil {
				tt.edit(&d)
			}
			id, err := newSender(tt.kind).Send(context.Background(), d)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if !strings.HasPrefix(id, "m_fake") {
				t.Errorf("id = %q", id)
			}
			reqs := f.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Path != tt.path || r.Header.Get("Authorization") != "Bearer "+f.Token || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("request %s %s auth %q type %q", r.Method, r.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"))
			}
			if strings.Contains(r.Query, "access_token") {
				t.Error("token in the URL")
			}
			if got := jsonField(t, r, "recipient")[tt.recipient]; got != tt.wantRecipID {
				t.Errorf("recipient.%s = %v", tt.recipient, got)
			}
			if r.Form["messaging_type"] != tt.messaging || r.Form["tag"] != tt.tag {
				t.Errorf("messaging_type %q tag %q", r.Form["messaging_type"], r.Form["tag"])
			}
			if got := jsonField(t, r, "message")["text"]; got != d.Message.Body {
				t.Errorf("text = %v", got)
			}
		})
	}
}

func TestSendPermanentWithoutCall(t *testing.T) {
	tests := []struct {
		name string
		kind string
		vis  store.Visibility
		edit func(*outbox.Delivery)
		want string
	}{
		{"more than 7 days after the last message", meta.KindFacebook, store.Private, func(d *outbox.Delivery) { d.LastInbound = now.Add(-8 * 24 * time.Hour) }, "allows a human-agent reply for 7 days"},
		{"no token", meta.KindFacebook, store.Private, func(d *outbox.Delivery) { d.Channel.Settings["access_token"] = "" }, "no access token"},
		{"public without a comment to answer", meta.KindFacebook, store.Public, nil, "no comment to answer"},
		{"instagram comment reply with a file", meta.KindInstagram, store.Public, func(d *outbox.Delivery) {
			d.Message.ReplyTo = "1790001"
			d.Files = []store.Attachment{{Name: "a.png", ContentType: "image/png", Data: png}}
		}, "only be text"},
		{"facebook comment with a PDF", meta.KindFacebook, store.Public, func(d *outbox.Delivery) {
			d.Message.ReplyTo = "1_2"
			d.Files = []store.Attachment{{Name: "a.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4")}}
		}, "one photo"},
		{"private reply with a file", meta.KindFacebook, store.Private, func(d *outbox.Delivery) {
			d.Origin, d.LastInbound = "1_2", time.Time{}
			d.Files = []store.Attachment{{Name: "a.png", ContentType: "image/png", Data: png}}
		}, "single text message"},
		{"no customer id", meta.KindInstagram, store.Private, func(d *outbox.Delivery) { d.To.ExternalID = "" }, "no instagram id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := metafake.New(tt.kind)
			defer f.Close()
			d := delivery(f, tt.vis)
			if tt.edit != nil {
				tt.edit(&d)
			}
			_, err := newSender(tt.kind).Send(context.Background(), d)
			var oe *outbox.Error
			if !errors.As(err, &oe) || !oe.Permanent || !strings.Contains(oe.Body, tt.want) {
				t.Fatalf("err = %#v, want permanent containing %q", err, tt.want)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
}

func TestSendComment(t *testing.T) {
	tests := []struct {
		name  string
		kind  string
		files []store.Attachment
		path  string
	}{
		{"facebook comment reply", meta.KindFacebook, nil, "/122131676912594941_1213590066982748/comments"},
		{"facebook comment with a photo", meta.KindFacebook, []store.Attachment{{Name: "kapot.png", ContentType: "image/png", Data: png}}, "/122131676912594941_1213590066982748/comments"},
		{"instagram comment reply", meta.KindInstagram, nil, "/122131676912594941_1213590066982748/replies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := metafake.New(tt.kind)
			defer f.Close()
			d := delivery(f, store.Public)
			d.Message.ReplyTo = "122131676912594941_1213590066982748"
			d.Files = tt.files
			id, err := newSender(tt.kind).Send(context.Background(), d)
			if err != nil || id == "" {
				t.Fatalf("Send = %q, %v", id, err)
			}
			r := f.Requests()[0]
			if tt.files == nil && r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("content type %q", r.Header.Get("Content-Type"))
			}
			if r.Path != tt.path || r.Form["message"] != d.Message.Body {
				t.Errorf("got %s message %q", r.Path, r.Form["message"])
			}
			if tt.files != nil && !bytes.Equal(r.Files["source"], png) {
				t.Errorf("photo not sent as source")
			}
		})
	}
}

func TestSendFiles(t *testing.T) {
	f := metafake.New(meta.KindFacebook)
	defer f.Close()
	s := newSender(meta.KindFacebook)
	d := delivery(f, store.Private)
	d.LastInbound = now.Add(-30 * time.Hour) // the tag must travel with every part
	d.Files = []store.Attachment{
		{Name: "foto.png", ContentType: "image/png", Data: png},
		{Name: "factuur.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 test")},
	}
	first, err := s.Send(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want text + 2 files", len(reqs))
	}
	if first != "m_fake1" {
		t.Errorf("id = %q, want the text's", first)
	}
	for i, want := range []struct{ typ, file string }{{"image", "foto.png"}, {"file", "factuur.pdf"}} {
		r := reqs[i+1]
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			t.Fatalf("part %d type %q", i, r.Header.Get("Content-Type"))
		}
		att := jsonField(t, r, "message")["attachment"].(map[string]any)
		if att["type"] != want.typ || len(r.Files["filedata"]) == 0 {
			t.Errorf("part %d: %v files %v", i, att, len(r.Files["filedata"]))
		}
		if r.Form["messaging_type"] != "MESSAGE_TAG" || r.Form["tag"] != "HUMAN_AGENT" || jsonField(t, r, "recipient")["id"] != "24000000001" {
			t.Errorf("part %d envelope %v", i, r.Form)
		}
	}
}

func TestSendRetryContinues(t *testing.T) {
	f := metafake.New(meta.KindInstagram)
	defer f.Close()
	s := newSender(meta.KindInstagram)
	d := delivery(f, store.Private)
	d.Files = []store.Attachment{{Name: "foto.png", ContentType: "image/png", Data: png}}
	// Text goes through, the photo hits a server error.
	srvErr := metafake.Error{Status: 500, Code: 2, Message: "An unexpected error has occurred. Please retry your request later."}
	f.FailAfter(1, srvErr)
	_, err := s.Send(context.Background(), d)
	var oe *outbox.Error
	if !errors.As(err, &oe) || oe.Permanent {
		t.Fatalf("first attempt: %v, want temporary", err)
	}
	id, err := s.Send(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want text, failed photo, photo", len(reqs))
	}
	if !strings.HasPrefix(reqs[2].Header.Get("Content-Type"), "multipart/") {
		t.Errorf("retry resent the text")
	}
	if id != "m_fake1" {
		t.Errorf("id = %q, want the text's m_fake1", id)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		kind      string
		fail      func(*metafake.Fake)
		permanent bool
		retry     time.Duration
		body      string
	}{
		{"business use case limit with regain header", meta.KindFacebook, func(f *metafake.Fake) { f.RateLimit(1, 7) }, false, 7 * time.Minute, "80006"},
		{"instagram rate limit", meta.KindInstagram, func(f *metafake.Fake) { f.RateLimit(1, 2) }, false, 2 * time.Minute, "80002"},
		{"429 with Retry-After", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Status: 429, Code: 4, Message: "(#4) Application request limit reached", Header: http.Header{"Retry-After": {"30"}}})
		}, false, 30 * time.Second, "Meta error 4"},
		{"613 without header", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 613, Message: "Calls to this api have exceeded the rate limit."})
		}, false, time.Minute, "613"},
		{"page rate limit 32", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 32, Message: "Page request limit reached"})
		}, false, 5 * time.Minute, "32"},
		{"server error", meta.KindFacebook, func(f *metafake.Fake) { f.ServerError(1) }, false, 0, "Meta error 2"},
		{"temporary send failure 1200", meta.KindInstagram, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 1200, Message: "Temporary send message failure. Please try again later."})
		}, false, 0, "1200"},
		{"token expired", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired"})
		}, true, 0, "The access token has expired or was revoked: reconnect the channel in Admin → Channels"},
		{"outside the window", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 10, Subcode: 2018278, Message: "(#10) This message is sent outside of allowed window."})
		}, true, 0, "The customer's messaging window has closed: Messenger allows a human-agent reply for 7 days"},
		{"instagram outside the window", meta.KindInstagram, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 10, Subcode: 2534022, Message: "This message is sent outside of allowed window."})
		}, true, 0, "Instagram allows a human-agent reply for 7 days"},
		{"user unavailable", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 551, Subcode: 1545041, Message: "This person isn't available right now."})
		}, true, 0, "This person isn't available right now"},
		{"blocked for policy", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 368, Subcode: 1390008, Message: "The action attempted has been deemed abusive or is otherwise disallowed"})
		}, true, 0, "temporarily blocked"},
		{"no permission", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 200, Message: "(#200) Requires pages_messaging permission to manage the object"})
		}, true, 0, "not allowed"},
		{"no matching user", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Code: 100, Subcode: 2018001, Message: "No matching user found"})
		}, true, 0, "does not know this customer"},
		{"garbage 502", meta.KindFacebook, func(f *metafake.Fake) {
			f.FailNext(1, metafake.Error{Status: 502, Code: 0})
		}, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := metafake.New(tt.kind)
			defer f.Close()
			tt.fail(f)
			_, err := newSender(tt.kind).Send(context.Background(), delivery(f, store.Private))
			var oe *outbox.Error
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *outbox.Error", err)
			}
			if oe.Permanent != tt.permanent || oe.RetryAfter != tt.retry || !strings.Contains(oe.Body, tt.body) {
				t.Fatalf("got permanent=%v retry=%v body=%q", oe.Permanent, oe.RetryAfter, oe.Body)
			}
			if tt.permanent && !strings.Contains(oe.Body, "Meta code") {
				t.Errorf("permanent body lacks Meta's code: %q", oe.Body)
			}
		})
	}
}

func TestSendWrongTokenAndPrivateReplyOnce(t *testing.T) {
	f := metafake.New(meta.KindFacebook)
	defer f.Close()
	s := newSender(meta.KindFacebook)
	d := delivery(f, store.Private)
	d.Origin, d.LastInbound = "122_9", time.Time{}
	if _, err := s.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	d.Key = "key-2"
	_, err := s.Send(context.Background(), d)
	var oe *outbox.Error
	if !errors.As(err, &oe) || !oe.Permanent || !strings.Contains(oe.Body, "only once") {
		t.Fatalf("second private reply: %v", err)
	}
	d.Channel.Settings["access_token"] = "stale"
	d.Key = "key-3"
	_, err = s.Send(context.Background(), d)
	if !errors.As(err, &oe) || !oe.Permanent || !strings.Contains(oe.Body, "access token") {
		t.Fatalf("stale token: %v", err)
	}
}

func TestChecker(t *testing.T) {
	tests := []struct {
		kind string
		want string
	}{
		{meta.KindFacebook, "Webcare Demo Page (Page 104000000000001)"},
		{meta.KindInstagram, "@webcare.demo (Webcare Demo, Instagram account 17841400000000001)"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			f := metafake.New(tt.kind)
			defer f.Close()
			c := &meta.Checker{Kind: tt.kind}
			ch := store.Channel{Kind: tt.kind, Settings: f.Settings()}
			got, err := c.Check(context.Background(), ch)
			if err != nil || got != tt.want {
				t.Fatalf("Check = %q, %v", got, err)
			}
			if r := f.Requests()[0]; r.Method != http.MethodGet || r.Path != "/"+f.AccountID {
				t.Errorf("request %s %s?%s", r.Method, r.Path, r.Query)
			}
			other := ch
			other.Settings = f.Settings()
			other.Settings["account_id"] = "999"
			if _, err := c.Check(context.Background(), other); err == nil || !strings.Contains(err.Error(), "does not know account 999") {
				t.Errorf("wrong account: %v", err)
			}
			ch.Settings["access_token"] = "expired"
			if _, err := c.Check(context.Background(), ch); err == nil || !strings.Contains(err.Error(), "access token") {
				t.Errorf("bad token: %v", err)
			}
		})
	}
}

func TestFetcher(t *testing.T) {
	f := metafake.New(meta.KindFacebook)
	defer f.Close()
	fe := &meta.Fetcher{}
	ch := store.Channel{Settings: f.Settings()}
	u := f.AddMedia("foto.png", png)
	name, data, err := fe.Fetch(context.Background(), ch, u)
	if err != nil || name != "foto.png" || !bytes.Equal(data, png) {
		t.Fatalf("Fetch = %q %d %v", name, len(data), err)
	}
	big := f.AddMedia("big.bin", make([]byte, meta.MaxMedia+1))
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // no Content-Length: the limit must hold while reading
		_, _ = io.CopyN(w, zeroReader{}, meta.MaxMedia+10)
	}))
	defer chunked.Close()
	for _, bad := range []string{big, chunked.URL + "/x", f.URL() + "/cdn/missing.png", "file:///etc/passwd", "ftp://example.com/a", "://"} {
		if _, _, err := fe.Fetch(context.Background(), ch, bad); err == nil {
			t.Errorf("Fetch(%q) succeeded", bad)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestFakePost runs the fake's deliveries through the adapter as the
// receiving side does: verify, parse, then answer in kind.
func TestFakePost(t *testing.T) {
	for _, kind := range []string{meta.KindFacebook, meta.KindInstagram} {
		t.Run(kind, func(t *testing.T) {
			f := metafake.New(kind)
			defer f.Close()
			var adapter channel.Adapter
			if kind == meta.KindFacebook {
				adapter = meta.Facebook(nil)
			} else {
				adapter = meta.Instagram(nil)
			}
			ch := store.Channel{ID: 42, Kind: kind, Settings: f.Settings()}
			var mu sync.Mutex
			var got []channel.Message
			hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/hooks/42" {
					http.NotFound(w, r)
					return
				}
				body, _ := io.ReadAll(r.Body)
				if err := adapter.Webhook.Verify(ch, r.Header, body); err != nil {
					http.Error(w, err.Error(), 403)
					return
				}
				b, err := adapter.Webhook.Parse(ch, body)
				if err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				mu.Lock()
				got = append(got, b.Messages...)
				mu.Unlock()
			}))
			defer hooks.Close()
			ctx := context.Background()
			dm := channel.Message{From: channel.Author{ExternalID: "2400000077"}, Text: "Waar blijft mijn bestelling? 📦", Private: true,
				Files: []channel.File{{Name: "bon.png", Data: png}}}
			pub := channel.Message{From: channel.Author{ExternalID: "2400000078", Name: "Piet", Handle: "piet"}, Text: "Slechte service <script>"}
			for _, m := range []channel.Message{dm, pub} {
				if err := f.Post(ctx, hooks.URL, ch, m); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != 2 {
				t.Fatalf("got %d messages", len(got))
			}
			if !got[0].Private || got[0].Text != dm.Text || got[0].From.ExternalID != "2400000077" || len(got[0].Files) != 1 {
				t.Errorf("DM arrived as %+v", got[0])
			}
			name, data, err := adapter.Fetcher.Fetch(ctx, ch, got[0].Files[0].Ref)
			if err != nil || !bytes.Equal(data, png) {
				t.Errorf("fetch %q: %v", name, err)
			}
			if got[1].Private || got[1].Text != pub.Text || got[1].Account != f.AccountID {
				t.Errorf("comment arrived as %+v", got[1])
			}
			// Answer the comment in public and the DM in private.
			d := outbox.Delivery{Key: "k", Channel: ch, Conversation: store.Conversation{Visibility: store.Public},
				Message: store.Message{Body: "Sorry! Stuur ons een DM.", ReplyTo: got[1].PlatformID},
				To:      store.Identity{ExternalID: got[1].From.ExternalID}}
			if _, err := adapter.Sender.Send(ctx, d); err != nil {
				t.Fatalf("public reply: %v", err)
			}
			d.Key, d.Conversation.Visibility, d.To.ExternalID, d.LastInbound = "k2", store.Private, got[0].From.ExternalID, time.Now()
			if _, err := adapter.Sender.Send(ctx, d); err != nil {
				t.Fatalf("DM: %v", err)
			}
			// A tampered delivery is refused by webcare and reported.
			bad := ch
			bad.Settings = map[string]string{"app_secret": "not-the-secret"}
			if err := f.Post(ctx, hooks.URL, bad, dm); err == nil {
				t.Error("post signed with the wrong secret was accepted")
			}
		})
	}
}

func TestAdapter(t *testing.T) {
	for _, a := range []channel.Adapter{meta.Facebook(nil), meta.Instagram(nil)} {
		if a.Webhook == nil || a.Sender == nil || a.Checker == nil || a.Fetcher == nil || a.Window != 24*time.Hour || a.Rate <= 0 || a.WindowNote == "" {
			t.Errorf("%s adapter incomplete: %+v", a.Kind, a)
		}
		if _, ok := a.Webhook.(channel.Challenger); !ok {
			t.Errorf("%s webhook is no Challenger", a.Kind)
		}
		keys := map[string]bool{}
		for _, f := range a.Fields {
			keys[f.Key] = true
			if f.Label == "" || f.Help == "" {
				t.Errorf("%s field %s lacks label or help", a.Kind, f.Key)
			}
		}
		for _, k := range []string{"account_id", "access_token", "app_secret", "verify_token", "api_base"} {
			if !keys[k] {
				t.Errorf("%s lacks field %s", a.Kind, k)
			}
		}
	}
}
