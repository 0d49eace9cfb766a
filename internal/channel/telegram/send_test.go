package telegram_test

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
	"github.com/webcare/webcare/internal/channel/telegram"
	"github.com/webcare/webcare/internal/channel/telegram/telegramfake"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

var (
	jpeg = append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, bytes.Repeat([]byte{1}, 200)...)
	pdf  = []byte("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
)

func fakeChannel(f *telegramfake.Fake) store.Channel {
	return store.Channel{ID: 7, Kind: "telegram", Settings: f.Settings()}
}

func delivery(ch store.Channel, visibility store.Visibility, replyTo, to, body string, files ...store.Attachment) outbox.Delivery {
	return outbox.Delivery{
		Key:          "k1",
		Channel:      ch,
		Conversation: store.Conversation{ID: 1, Visibility: visibility},
		Message:      store.Message{ID: 2, Body: body, ReplyTo: replyTo},
		To:           store.Identity{Platform: "telegram", ExternalID: to},
		Files:        files,
	}
}

func TestSend(t *testing.T) {
	const user = 1111111
	tests := []struct {
		name    string
		setup   func(f *telegramfake.Fake)
		d       func(ch store.Channel) outbox.Delivery
		want    string   // platform id returned
		methods []string // calls made, in order
		check   func(t *testing.T, reqs []telegramfake.Request)
	}{
		{
			name: "private reply to the customer's last message",
			d: func(ch store.Channel) outbox.Delivery {
				return delivery(ch, store.Private, "1111111:1365", "1111111", "Hallo 👋 <b>niet vet</b> & \"quotes\"")
			},
			want: "1111111:1", methods: []string{"sendMessage"},
			check: func(t *testing.T, reqs []telegramfake.Request) {
				r := reqs[0]
				if r.ContentType != "application/json" || r.Params["chat_id"] != "1111111" || r.Params["text"] != "Hallo 👋 <b>niet vet</b> & \"quotes\"" {
					t.Fatalf("request %+v", r)
				}
				if _, set := r.Params["parse_mode"]; set {
					t.Fatal("parse_mode set: agent text must go out as plain text")
				}
				var rp map[string]any
				if err := json.Unmarshal([]byte(r.Params["reply_parameters"]), &rp); err != nil || rp["message_id"] != float64(1365) || rp["allow_sending_without_reply"] != true {
					t.Fatalf("reply_parameters %s", r.Params["reply_parameters"])
				}
			},
		},
		{
			name: "private, nothing to reply to: the user's chat",
			d:    func(ch store.Channel) outbox.Delivery { return delivery(ch, store.Private, "", "1111111", "Hi") },
			want: "1111111:1", methods: []string{"sendMessage"},
			check: func(t *testing.T, reqs []telegramfake.Request) {
				if _, set := reqs[0].Params["reply_parameters"]; set {
					t.Fatal("reply_parameters without a message to reply to")
				}
			},
		},
		{
			name: "private conversation moved from a group: the user's chat, no reply",
			d: func(ch store.Channel) outbox.Delivery {
				return delivery(ch, store.Private, "-1001234567890:52", "1111111", "Let's continue here")
			},
			want: "1111111:1", methods: []string{"sendMessage"},
		},
		{
			name: "public reply in a supergroup",
			d: func(ch store.Channel) outbox.Delivery {
				return delivery(ch, store.Public, "-1001234567890:52:edit:10020", "2222222", "On its way")
			},
			want: "-1001234567890:1", methods: []string{"sendMessage"},
			check: func(t *testing.T, reqs []telegramfake.Request) {
				if reqs[0].Params["chat_id"] != "-1001234567890" || !strings.Contains(reqs[0].Params["reply_parameters"], `"message_id":52`) {
					t.Fatalf("request %+v", reqs[0])
				}
			},
		},
		{
			name: "photo with a caption",
			d: func(ch store.Channel) outbox.Delivery {
				return delivery(ch, store.Private, "1111111:1365", "1111111", "Here is the label",
					store.Attachment{Name: "label.jpg", ContentType: "image/jpeg", Data: jpeg})
			},
			want: "1111111:1", methods: []string{"sendPhoto"},
			check: func(t *testing.T, reqs []telegramfake.Request) {
				r := reqs[0]
				if r.ContentType != "multipart/form-data" || r.FileField != "photo" || r.FileName != "label.jpg" || !bytes.Equal(r.FileData, jpeg) ||
					r.Params["caption"] != "Here is the label" || r.Params["chat_id"] != "1111111" || !strings.Contains(r.Params["reply_parameters"], "1365") {
					t.Fatalf("request %+v", r)
				}
			},
		},
		{
			name: "PDF as a document",
			d: func(ch store.Channel) outbox.Delivery {
				return delivery(ch, store.Private, "", "1111111", "", store.Attachment{Name: "invoice.pdf", ContentType: "application/pdf", Data: pdf})
			},
			want: "1111111:1", methods: []string{"sendDocument"},
			check: func(t *testing.T, reqs []telegramfake.Request) {
				if reqs[0].FileField != "document" || reqs[0].Params["caption"] != "" {
					t.Fatalf("request %+v", reqs[0])
				}
			},
		},
		{
			name: "text longer than a caption: text first, then the file",
			d: func(ch store.Channel) outbox.Delivery {
				return delivery(ch, store.Private, "1111111:1365", "1111111", strings.Repeat("é", 1500),
					store.Attachment{Name: "invoice.pdf", ContentType: "application/pdf", Data: pdf})
			},
			want: "1111111:1", methods: []string{"sendMessage", "sendDocument"},
			check: func(t *testing.T, reqs []telegramfake.Request) {
				if reqs[1].Params["reply_parameters"] != "" {
					t.Fatal("the file repeated the reply")
				}
			},
		},
		{
			name:  "group migrated to a supergroup: sent to the new chat",
			setup: func(f *telegramfake.Fake) { f.Migrate(-4000000001, -1004000000001) },
			d: func(ch store.Channel) outbox.Delivery {
				return delivery(ch, store.Public, "-4000000001:55", "3333333", "Thanks for waiting")
			},
			want: "-1004000000001:1", methods: []string{"sendMessage", "sendMessage"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := telegramfake.New()
			defer f.Close()
			f.AddChat(user)
			if tt.setup != nil {
				tt.setup(f)
			}
			id, err := telegram.New(nil).Sender.Send(context.Background(), tt.d(fakeChannel(f)))
			if err != nil {
				t.Fatal(err)
			}
			if id != tt.want {
				t.Fatalf("id %q, want %q", id, tt.want)
			}
			reqs := f.Requests()
			var methods []string
			for _, r := range reqs {
				methods = append(methods, r.Method)
			}
			if strings.Join(methods, ",") != strings.Join(tt.methods, ",") {
				t.Fatalf("calls %v, want %v", methods, tt.methods)
			}
			if tt.check != nil {
				tt.check(t, reqs)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *telegramfake.Fake, ch *store.Channel)
		d          func(ch store.Channel) outbox.Delivery
		permanent  bool
		retryAfter time.Duration
		body       string // must appear in the error's Body
	}{
		{
			name:       "flood control 429 with retry_after",
			setup:      func(f *telegramfake.Fake, _ *store.Channel) { f.FloodNext(1, 17) },
			retryAfter: 17 * time.Second, body: "429",
		},
		{
			name:  "502 from the Bot API",
			setup: func(f *telegramfake.Fake, _ *store.Channel) { f.FailNext(1, 502, "Bad Gateway") },
			body:  "502",
		},
		{
			name:      "blocked by the user",
			setup:     func(f *telegramfake.Fake, _ *store.Channel) { f.Block(1111111) },
			permanent: true, body: "blocked the bot",
		},
		{
			name:      "chat not found",
			d:         func(ch store.Channel) outbox.Delivery { return delivery(ch, store.Private, "", "4444444", "Hi") },
			permanent: true, body: "cannot find this chat",
		},
		{
			name: "user never pressed Start",
			setup: func(f *telegramfake.Fake, _ *store.Channel) {
				f.FailNext(1, 403, "Forbidden: bot can't initiate conversation with a user")
			},
			permanent: true, body: "press Start",
		},
		{
			name:      "token revoked",
			setup:     func(_ *telegramfake.Fake, ch *store.Channel) { ch.Settings["access_token"] = "7000000001:revoked" },
			permanent: true, body: "bot token",
		},
		{
			name:      "public conversation without a message to reply to",
			d:         func(ch store.Channel) outbox.Delivery { return delivery(ch, store.Public, "", "1111111", "Hi") },
			permanent: true, body: "no Telegram message",
		},
		{
			name: "text too long",
			d: func(ch store.Channel) outbox.Delivery {
				return delivery(ch, store.Private, "", "1111111", strings.Repeat("a", 4097))
			},
			permanent: true, body: "too long",
		},
		{
			name:      "empty text",
			d:         func(ch store.Channel) outbox.Delivery { return delivery(ch, store.Private, "", "1111111", " ") },
			permanent: true, body: "empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := telegramfake.New()
			defer f.Close()
			f.AddChat(1111111)
			ch := fakeChannel(f)
			if tt.setup != nil {
				tt.setup(f, &ch)
			}
			d := delivery(ch, store.Private, "1111111:1365", "1111111", "Hello")
			if tt.d != nil {
				d = tt.d(ch)
			}
			_, err := telegram.New(nil).Sender.Send(context.Background(), d)
			var oe *outbox.Error
			if !errors.As(err, &oe) {
				t.Fatalf("err %v (%T), want *outbox.Error", err, err)
			}
			if oe.Permanent != tt.permanent || oe.RetryAfter != tt.retryAfter || !strings.Contains(oe.Body, tt.body) {
				t.Fatalf("got permanent=%v retryAfter=%v body=%q", oe.Permanent, oe.RetryAfter, oe.Body)
			}
			if strings.Contains(err.Error(), "AAFakeToken") {
				t.Fatal("the token leaked into the error")
			}
		})
	}
}

func TestSendNetworkErrorIsTemporary(t *testing.T) {
	f := telegramfake.New()
	ch := fakeChannel(f)
	f.Close()
	_, err := telegram.New(nil).Sender.Send(context.Background(), delivery(ch, store.Private, "", "1111111", "Hi"))
	var oe *outbox.Error
	if err == nil || (errors.As(err, &oe) && oe.Permanent) {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "AAFakeToken") {
		t.Fatalf("the token leaked into the error: %v", err)
	}
}

func TestFetch(t *testing.T) {
	f := telegramfake.New()
	defer f.Close()
	id := f.AddFile("label.jpg", jpeg)
	ch := fakeChannel(f)
	fetcher := telegram.New(nil).Fetcher
	name, data, err := fetcher.Fetch(context.Background(), ch, id)
	if err != nil || !bytes.Equal(data, jpeg) || !strings.HasSuffix(name, ".jpg") {
		t.Fatalf("Fetch = %q, %d bytes, %v", name, len(data), err)
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[0].Method != "getFile" || reqs[0].Params["file_id"] != id || reqs[1].Method != "file" {
		t.Fatalf("requests %+v", reqs)
	}
	if _, _, err := fetcher.Fetch(context.Background(), ch, "no-such-file"); err == nil {
		t.Fatal("unknown file_id fetched")
	}
}

func TestCheckAndSetWebhook(t *testing.T) {
	f := telegramfake.New()
	defer f.Close()
	ch := fakeChannel(f)
	checker := telegram.New(nil).Checker
	ctx := context.Background()

	got, err := checker.Check(ctx, ch)
	if err != nil || !strings.Contains(got, "@webcare_demo_bot") || !strings.Contains(got, "webhook not set") {
		t.Fatalf("Check before setWebhook = %q, %v", got, err)
	}
	if err := telegram.SetWebhook(ctx, nil, ch, "https://webcare.example/hooks/7"); err != nil {
		t.Fatal(err)
	}
	url, secret, allowed := f.Webhook()
	if url != "https://webcare.example/hooks/7" || secret != ch.Settings["webhook_secret"] || strings.Join(allowed, ",") != "message,edited_message,callback_query" {
		t.Fatalf("webhook %q %q %v", url, secret, allowed)
	}
	var set telegramfake.Request
	for _, r := range f.Requests() {
		if r.Method == "setWebhook" {
			set = r
		}
	}
	if set.ContentType != "application/json" || set.Params["drop_pending_updates"] != "false" {
		t.Fatalf("setWebhook request %+v", set)
	}
	got, err = checker.Check(ctx, ch)
	if err != nil || !strings.Contains(got, "webhook https://webcare.example/hooks/7") {
		t.Fatalf("Check after setWebhook = %q, %v", got, err)
	}

	me, err := telegram.GetMe(ctx, nil, ch)
	if err != nil || me.ID != telegramfake.BotID || me.Username != telegramfake.BotUsername {
		t.Fatalf("GetMe = %+v, %v", me, err)
	}

	bad := fakeChannel(f)
	bad.Settings["access_token"] = "7000000001:wrong"
	if _, err := checker.Check(ctx, bad); err == nil || !strings.Contains(err.Error(), "rejected the bot token") {
		t.Fatalf("Check with a wrong token: %v", err)
	}
	bad.Settings["webhook_secret"] = "has spaces"
	if err := telegram.SetWebhook(ctx, nil, bad, "https://webcare.example/hooks/7"); err == nil {
		t.Fatal("SetWebhook took a secret Telegram refuses")
	}
}

// TestFakePost runs the whole receiving path against the fake: Post
// delivers Updates to a webhook endpoint like webcare's, which verifies,
// parses and fetches the files.
func TestFakePost(t *testing.T) {
	f := telegramfake.New()
	defer f.Close()
	ad := telegram.New(nil)
	ch := fakeChannel(f)
	var (
		mu  sync.Mutex
		got []channel.Message
	)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hooks/7" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if err := ad.Webhook.Verify(ch, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		b, err := ad.Webhook.Parse(ch, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for i, m := range b.Messages {
			for j, fl := range m.Files {
				_, data, err := ad.Fetcher.Fetch(r.Context(), ch, fl.Ref)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				b.Messages[i].Files[j].Data = data
			}
		}
		mu.Lock()
		got = append(got, b.Messages...)
		mu.Unlock()
	}))
	defer hooks.Close()

	ctx := context.Background()
	author := channel.Author{ExternalID: "1111111", Handle: "klant", Name: "Klaas Klant"}
	if err := f.Post(ctx, hooks.URL, ch, channel.Message{From: author, Private: true, Text: "Waar blijft mijn pakket? 📦",
		Files: []channel.File{{Name: "bon.jpg", Data: jpeg}, {Name: "factuur.pdf", Data: pdf}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Post(ctx, hooks.URL, ch, channel.Message{From: author, Text: "Also in the group"}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d messages: %+v", len(got), got)
	}
	if m := got[0]; m.PlatformID != "1111111:1" || !m.Private || m.Text != "Waar blijft mijn pakket? 📦" || m.From != author ||
		len(m.Files) != 1 || !bytes.Equal(m.Files[0].Data, jpeg) {
		t.Fatalf("first %+v", m)
	}
	if m := got[1]; m.PlatformID != "1111111:2" || len(m.Files) != 1 || m.Files[0].Name != "factuur.pdf" || !bytes.Equal(m.Files[0].Data, pdf) {
		t.Fatalf("second %+v", m)
	}
	if m := got[2]; m.Private || !strings.HasPrefix(m.PlatformID, "-1001234567890:") || !strings.Contains(m.Text, "Also in the group") {
		t.Fatalf("group %+v", m)
	}

	// A reply from webcare, then the customer answers it: ReplyTo is the
	// id the sender returned.
	id, err := ad.Sender.Send(ctx, delivery(ch, store.Private, got[0].PlatformID, "1111111", "We kijken het na"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Post(ctx, hooks.URL, ch, channel.Message{From: author, Private: true, Text: "Dank!", ReplyTo: id}); err != nil {
		t.Fatal(err)
	}
	if last := got[len(got)-1]; last.ReplyTo != id {
		t.Fatalf("reply %+v, want ReplyTo %s", last, id)
	}

	// A wrong secret is refused by webcare and reported by the fake.
	wrong := ch
	wrong.Settings = map[string]string{"webhook_secret": "not-the-secret"}
	if err := f.Post(ctx, hooks.URL, wrong, channel.Message{From: author, Private: true, Text: "x"}); err == nil {
		t.Fatal("Post with a wrong secret succeeded")
	}
}
