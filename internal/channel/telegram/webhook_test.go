package telegram_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/telegram"
	"github.com/webcare/webcare/internal/store"
)

// testChannel is a channel for the bot the fixtures talk to.
func testChannel() store.Channel {
	return store.Channel{ID: 7, Kind: "telegram", Settings: map[string]string{
		"access_token":   "7000000001:AAFakeTokenForWebcareTests_0123456789",
		"webhook_secret": "s3cr3t_token-ABC",
		"account_id":     "7000000001",
		"bot_username":   "webcare_demo_bot",
	}}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	wh := telegram.New(nil).Webhook
	ch := testChannel()
	noSecret := testChannel()
	delete(noSecret.Settings, "webhook_secret")
	tests := []struct {
		name   string
		ch     store.Channel
		header string
		want   error
	}{
		{"right secret", ch, "s3cr3t_token-ABC", nil},
		{"missing header", ch, "", channel.ErrUnsigned},
		{"wrong secret", ch, "s3cr3t_token-ABD", channel.ErrBadSignature},
		{"prefix of the secret", ch, "s3cr3t", channel.ErrBadSignature},
		{"secret with more after it", ch, "s3cr3t_token-ABC-", channel.ErrBadSignature},
		{"channel without secret", noSecret, "anything", channel.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set(telegram.SecretHeader, tt.header)
			}
			err := wh.Verify(tt.ch, h, []byte(`{"update_id":1}`))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	test := channel.Author{ExternalID: "1111111", Handle: "Test", Name: "Test Lastname"}
	plain := channel.Author{ExternalID: "1111111", Name: "Test"}
	tests := []struct {
		file string
		want []channel.Message // nil: skipped
	}{
		{"private_text.json", []channel.Message{{
			PlatformID: "1111111:1365", From: test, Private: true, SentAt: at(1441645532),
			Text: "Mijn bestelling is niet aangekomen 😞 éè &lt;b&gt;geen HTML&lt;/b&gt; <script>alert(1)</script> 日本語",
		}}},
		{"private_reply.json", []channel.Message{{
			PlatformID: "1111111:1367", From: test, Private: true, SentAt: at(1441645600), ReplyTo: "1111111:1366", Text: "It is 12345",
		}}},
		{"group_mention.json", []channel.Message{{
			PlatformID: "-1001234567890:52", From: channel.Author{ExternalID: "2222222", Handle: "emile", Name: "Émile"},
			SentAt: at(1441645700), Text: "👋🏽 @Webcare_Demo_Bot where is my parcel?",
		}}},
		{"group_not_addressed.json", nil},
		{"group_reply_to_bot.json", []channel.Message{{
			PlatformID: "-4000000001:55", From: channel.Author{ExternalID: "3333333", Name: "Ana"},
			SentAt: at(1441645720), ReplyTo: "-4000000001:54", Text: "Thanks!",
		}}},
		{"group_command.json", []channel.Message{{
			PlatformID: "-4000000001:56", From: channel.Author{ExternalID: "3333333", Name: "Ana"},
			SentAt: at(1441645730), Text: "/help@webcare_demo_bot",
		}}},
		{"edited_message.json", []channel.Message{{
			PlatformID: "1111111:1365:edit:10006", From: test, Private: true, SentAt: at(1441645900),
			ReplyTo: "1111111:1365", Text: "(edited) My order 12345 has not arrived",
		}}},
		{"channel_post.json", nil},
		{"callback_query.json", []channel.Message{{
			PlatformID: "callback:4382bfdwdsb323b2d9", From: test, Private: true, ReplyTo: "1111111:1370", Text: "[button] yes",
		}}},
		{"photo.json", []channel.Message{{
			PlatformID: "1111111:1371", From: plain, Private: true, SentAt: at(1441646000), Text: "The box was damaged",
			Files: []channel.File{{Name: "photo.jpg", Ref: "AgACAgQAAxkBAAIBlarge"}},
		}}},
		{"document.json", []channel.Message{{
			PlatformID: "1111111:1372", From: plain, Private: true, SentAt: at(1441646100),
			Files: []channel.File{{Name: "factuur 2026-11.pdf", Ref: "BQACAgQAAxkBAAIBdoc"}},
		}}},
		{"voice.json", []channel.Message{{
			PlatformID: "1111111:1373", From: plain, Private: true, SentAt: at(1441646200), Text: "[voice message, 1:15]",
		}}},
		{"sticker.json", []channel.Message{{
			PlatformID: "1111111:1374", From: plain, Private: true, SentAt: at(1441646300), Text: "[sticker 👍]",
		}}},
		{"location.json", []channel.Message{{
			PlatformID: "1111111:1375", From: plain, Private: true, SentAt: at(1441646400), Text: "[location: 52.37022, 4.89517]",
		}}},
		{"from_bot.json", nil},
		{"service_message.json", nil},
		{"my_chat_member.json", nil},
	}
	wh := telegram.New(nil).Webhook
	ch := testChannel()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := wh.Parse(ch, fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].ChannelID = ch.ID
			}
			if !reflect.DeepEqual(b.Messages, tt.want) {
				t.Fatalf("Parse:\n got %+v\nwant %+v", b.Messages, tt.want)
			}
			if len(b.Statuses) != 0 {
				t.Fatalf("statuses %+v", b.Statuses)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := map[string]string{
		"empty":                 ``,
		"truncated":             `{"update_id": 1, "message": {`,
		"array":                 `[{"update_id": 1}]`,
		"null":                  `null`,
		"empty object":          `{}`,
		"update_id as string":   `{"update_id": "1"}`,
		"update_id negative":    `{"update_id": -5}`,
		"update_id too big":     `{"update_id": 99999999999999999999999}`,
		"update_id fraction":    `{"update_id": 1.5}`,
		"message is an array":   `{"update_id": 1, "message": []}`,
		"message is a string":   `{"update_id": 1, "message": "hi"}`,
		"message without chat":  `{"update_id": 1, "message": {"message_id": 1, "from": {"id": 1, "first_name": "a"}, "text": "x"}}`,
		"message without id":    `{"update_id": 1, "message": {"chat": {"id": 1, "type": "private"}, "from": {"id": 1}, "text": "x"}}`,
		"chat id too big":       `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": -100123456789012345678901, "type": "supergroup"}}}`,
		"chat id as float":      `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1e3, "type": "private"}}}`,
		"unknown chat type":     `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "secret"}, "from": {"id": 1}, "text": "x"}}`,
		"text is a number":      `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "text": 5}}`,
		"photo is an object":    `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "photo": {"file_id": "x"}}}`,
		"entities is an object": `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "group"}, "entities": {}}}`,
		"callback without from": `{"update_id": 1, "callback_query": {"id": "1", "data": "x"}}`,
		"trailing garbage":      `{"update_id": 1} x`,
		"invalid UTF-8 escape":  `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "text": "\x"}}`,
	}
	wh := telegram.New(nil).Webhook
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := wh.Parse(testChannel(), []byte(body))
			if !errors.Is(err, channel.ErrPayload) {
				t.Fatalf("Parse(%s) = %v, want ErrPayload", body, err)
			}
		})
	}
}

// TestParseOdd covers shapes that are valid but unusual: they must be
// read or skipped without error.
func TestParseOdd(t *testing.T) {
	tests := []struct {
		name, body string
		want       int // messages
	}{
		{"unknown update type", `{"update_id": 1, "message_reaction": {"chat": {"id": 1}}}`, 0},
		{"unknown fields", `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "first_name": "a"}, "text": "x", "new_field": {"a": [1, 2]}}}`, 1},
		{"mention entity out of range", `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": -5, "type": "group"}, "from": {"id": 5}, "text": "@x", "entities": [{"type": "mention", "offset": 1000, "length": 5}, {"type": "mention", "offset": -1, "length": 5}, {"type": "mention", "offset": 1, "length": 99999999}]}}`, 0},
		{"text_mention of the bot", `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": -5, "type": "group"}, "from": {"id": 5}, "text": "Demo help", "entities": [{"type": "text_mention", "offset": 0, "length": 4, "user": {"id": 7000000001, "is_bot": true, "first_name": "Demo"}}]}}`, 1},
		{"mention in a caption", `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": -5, "type": "group"}, "from": {"id": 5}, "caption": "@webcare_demo_bot look", "caption_entities": [{"type": "mention", "offset": 0, "length": 17}], "document": {"file_id": "d"}}}`, 1},
		{"own message", `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 7000000001, "is_bot": false}, "text": "x"}}`, 0},
		{"no from", `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": -5, "type": "group"}, "sender_chat": {"id": -5, "type": "group"}, "text": "x"}}`, 0},
		{"button from a bot", `{"update_id": 1, "callback_query": {"id": "1", "from": {"id": 9, "is_bot": true}, "data": "x"}}`, 0},
		{"game button", `{"update_id": 1, "callback_query": {"id": "1", "from": {"id": 9}, "game_short_name": "g"}}`, 0},
		{"document too large", `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 5}, "document": {"file_id": "d", "file_name": "big.zip", "file_size": 52428800}}}`, 1},
		{"huge negative supergroup id", `{"update_id": 9223372036854775807, "message": {"message_id": 9223372036854775807, "chat": {"id": -9223372036854775808, "type": "supergroup"}, "from": {"id": 9223372036854775807}, "text": "@webcare_demo_bot", "entities": [{"type": "mention", "offset": 0, "length": 17}]}}`, 1},
	}
	wh := telegram.New(nil).Webhook
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := wh.Parse(testChannel(), []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != tt.want {
				t.Fatalf("got %d messages (%+v), want %d", len(b.Messages), b.Messages, tt.want)
			}
		})
	}
}

func TestParseBotIDFromToken(t *testing.T) {
	ch := testChannel()
	delete(ch.Settings, "account_id")
	body := `{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 7000000001, "is_bot": false}, "text": "x"}}`
	b, err := telegram.New(nil).Webhook.Parse(ch, []byte(body))
	if err != nil || len(b.Messages) != 0 {
		t.Fatalf("own message without account_id: %+v, %v", b, err)
	}
}

// TestParseRedelivery: Telegram re-sends an update until it is answered
// 2xx; each copy must give the same PlatformIDs, and updates may arrive
// in any order.
func TestParseRedelivery(t *testing.T) {
	wh := telegram.New(nil).Webhook
	ch := testChannel()
	files := []string{"private_text.json", "edited_message.json", "callback_query.json", "photo.json", "group_mention.json"}
	ids := func(order []string) map[string]string {
		out := map[string]string{}
		for _, f := range order {
			b, err := wh.Parse(ch, fixture(t, f))
			if err != nil || len(b.Messages) != 1 {
				t.Fatalf("%s: %+v %v", f, b, err)
			}
			out[f] = b.Messages[0].PlatformID
		}
		return out
	}
	first := ids(files)
	reversed := make([]string, len(files))
	for i, f := range files {
		reversed[len(files)-1-i] = f
	}
	again := ids(reversed)
	if !reflect.DeepEqual(first, again) {
		t.Fatalf("re-delivery changed ids: %v vs %v", first, again)
	}
	seen := map[string]bool{}
	for _, id := range first {
		if seen[id] {
			t.Fatalf("two updates share PlatformID %s", id)
		}
		seen[id] = true
	}
	// A second edit of the same message is a new update: a new id.
	second := []byte(`{"update_id": 10099, "edited_message": {"message_id": 1365, "from": {"id": 1111111, "first_name": "Test"}, "chat": {"id": 1111111, "type": "private"}, "date": 1441645532, "edit_date": 1441646900, "text": "again"}}`)
	b, err := wh.Parse(ch, second)
	if err != nil || b.Messages[0].PlatformID == first["edited_message.json"] {
		t.Fatalf("second edit: %+v %v", b, err)
	}
}

func TestPlatformIDs(t *testing.T) {
	tests := []struct {
		id         string
		chat, msg  int64
		ok         bool
		roundTrips bool
	}{
		{"1111111:1365", 1111111, 1365, true, true},
		{"-1001234567890:52", -1001234567890, 52, true, true},
		{"1111111:1365:edit:10006", 1111111, 1365, true, false},
		{"callback:abc", 0, 0, false, false},
		{"", 0, 0, false, false},
		{"1:0", 0, 0, false, false},
		{"0:5", 0, 0, false, false},
		{"99999999999999999999:1", 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			c, m, ok := telegram.SplitPlatformID(tt.id)
			if ok != tt.ok || c != tt.chat || m != tt.msg {
				t.Fatalf("SplitPlatformID(%q) = %d, %d, %v", tt.id, c, m, ok)
			}
			if tt.roundTrips && telegram.PlatformID(c, m) != tt.id {
				t.Fatalf("PlatformID(%d, %d) = %q", c, m, telegram.PlatformID(c, m))
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".json" {
			f.Add(fixture(f, e.Name()))
		}
	}
	f.Add([]byte(`{"update_id": 1, "message": {"message_id": 1, "chat": {"id": -5, "type": "group"}, "from": {"id": 5}, "text": "😀@webcare_demo_bot", "entities": [{"type": "mention", "offset": 1, "length": 17}]}}`))
	wh := telegram.New(nil).Webhook
	ch := testChannel()
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := wh.Parse(ch, body)
		if err != nil {
			if !errors.Is(err, channel.ErrPayload) {
				t.Fatalf("error not wrapping ErrPayload: %v", err)
			}
			return
		}
		for _, m := range b.Messages {
			if m.PlatformID == "" || m.From.ExternalID == "" {
				t.Fatalf("message without ids: %+v", m)
			}
		}
	})
}

func BenchmarkVerifyParse(b *testing.B) {
	// Telegram sends compact JSON; the fixture is indented for reading.
	var buf bytes.Buffer
	if err := json.Compact(&buf, fixture(b, "private_reply.json")); err != nil {
		b.Fatal(err)
	}
	body := buf.Bytes()
	wh := telegram.New(nil).Webhook
	ch := testChannel()
	h := http.Header{}
	h.Set(telegram.SecretHeader, ch.Settings["webhook_secret"])
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := wh.Verify(ch, h, body); err != nil {
			b.Fatal(err)
		}
		if _, err := wh.Parse(ch, body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
	// The same per second of CPU the process used (GC included), which a
	// busy shared machine does not distort.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "payloads/cpu-s")
	}
}
