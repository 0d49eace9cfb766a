package x_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/x"
	"github.com/webcare/webcare/internal/store"
)

const (
	secret  = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
	account = "1849000000000000001"
)

func testChannel() store.Channel {
	return store.Channel{ID: 7, Kind: "x", Settings: map[string]string{"consumer_secret": secret, "account_id": account}}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestChallenge(t *testing.T) {
	// The consumer secret and token of X's sample CRC code; the expected
	// token was computed independently with Python's hmac module.
	ch := store.Channel{Settings: map[string]string{"consumer_secret": "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"}}
	tests := []struct {
		name    string
		ch      store.Channel
		q       url.Values
		want    string
		wantErr error
	}{
		{"documented sample", ch, url.Values{"crc_token": {"9b4507b3-9040-4669-9ca3-6b94edb50553"}}, `{"response_token":"sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="}`, nil},
		{"no token", ch, url.Values{}, "", channel.ErrPayload},
		{"huge token", ch, url.Values{"crc_token": {strings.Repeat("a", 2000)}}, "", channel.ErrPayload},
		{"no secret", store.Channel{}, url.Values{"crc_token": {"abc"}}, "", channel.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body, err := x.Webhook{}.Challenge(tt.ch, tt.q)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if ct != "application/json; charset=utf-8" || string(body) != tt.want {
				t.Errorf("got %s %s, want %s", ct, body, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := fixture(t, "dm.json")
	// Computed independently with Python's hmac module.
	const good = "sha256=Rdm1rsNhpP33ysSzdWicwNYrxj5oUJyD7I7JQvfNg6U="
	if got := x.Sign(secret, body); got != good {
		t.Fatalf("Sign = %s, want %s", got, good)
	}
	tests := []struct {
		name   string
		ch     store.Channel
		header string
		body   []byte
		want   error
	}{
		{"valid", testChannel(), good, body, nil},
		{"missing", testChannel(), "", body, channel.ErrUnsigned},
		{"tampered body", testChannel(), good, append([]byte(" "), body...), channel.ErrBadSignature},
		{"wrong secret", store.Channel{Settings: map[string]string{"consumer_secret": "other"}}, good, body, channel.ErrBadSignature},
		{"no secret configured", store.Channel{}, good, body, channel.ErrBadSignature},
		{"no prefix", testChannel(), strings.TrimPrefix(good, "sha256="), body, channel.ErrBadSignature},
		{"not base64", testChannel(), "sha256=%%%", body, channel.ErrBadSignature},
		{"hex instead of base64", testChannel(), "sha256=45d9b5aec361a4fdf7cac4b375689cc0d62bc63e68509c83ec8ec942f7cd83a5", body, channel.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("x-twitter-webhooks-signature", tt.header)
			}
			if err := (x.Webhook{}).Verify(tt.ch, h, tt.body); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		file string
		want []channel.Message
	}{
		{"tweet_mention.json", []channel.Message{{
			ChannelID: 7, PlatformID: "1850123456789012345",
			From:     channel.Author{ExternalID: "9007199254740993123", Handle: "@jandevries", Name: "Jan de Vries 🚢"},
			Text:     "@webcare_demo Mijn bestelling #4521 is nog steeds niet geleverd & de tracking zegt <onbekend>. Ik heb al drie keer gebeld en niemand kan me zeggen waar mijn pakket is. Dit is echt de laatste keer dat ik bij jullie bestel 😡📦",
			SentAt:   time.Date(2018, 10, 10, 20, 19, 24, 0, time.UTC),
			Language: "nl",
			Files: []channel.File{
				{Name: "DpMvXzzU8AAyBvC.jpg", Ref: "https://pbs.twimg.com/media/DpMvXzzU8AAyBvC.jpg"},
				{Name: "DpMvY0aV4AEQbXk.png", Ref: "https://pbs.twimg.com/media/DpMvY0aV4AEQbXk.png"},
			},
		}}},
		{"tweet_reply.json", []channel.Message{{
			ChannelID: 7, PlatformID: "1850123456789099999", ReplyTo: "1850000000000000777",
			From:   channel.Author{ExternalID: "9007199254740993123", Handle: "@jandevries", Name: "Jan de Vries"},
			Text:   "@webcare_demo Thanks, het nummer is 4521 — één pakket, geen <b>twee</b> ❤️",
			SentAt: time.Date(2018, 10, 11, 8, 1, 2, 0, time.UTC),
		}}},
		{"tweet_echo.json", nil},
		{"dm.json", []channel.Message{{
			ChannelID: 7, PlatformID: "1850200000000000042", Private: true,
			From:   channel.Author{ExternalID: "9007199254740993123", Handle: "@jandevries", Name: "Jan de Vries"},
			Text:   "Hier is de foto van de doos & het label 📸",
			SentAt: time.UnixMilli(1539245100538).UTC(),
			Files:  []channel.File{{Name: "AbCdEfGh.jpg", Ref: "https://ton.twitter.com/1.1/ton/data/dm/1850200000000000042/1850200000000000043/AbCdEfGh.jpg"}},
		}}},
		{"dm_echo.json", nil},
		{"favorite.json", nil},
		{"follow.json", nil},
		{"revoke.json", nil},
		{"typing.json", nil}, // its read receipt: TestParseReadReceipt
		{"mixed.json", []channel.Message{
			{ChannelID: 7, PlatformID: "1850123456789200002", ReplyTo: "1850123456789200001", From: channel.Author{ExternalID: "555", Handle: "@bee", Name: "B"},
				Text: "@webcare_demo tweede bericht", SentAt: time.Date(2018, 10, 11, 9, 0, 2, 0, time.UTC)},
			{ChannelID: 7, PlatformID: "1850123456789200001", From: channel.Author{ExternalID: "555", Handle: "@bee", Name: "B"},
				Text: "@webcare_demo eerste bericht, full_text only 日本語", SentAt: time.Date(2018, 10, 11, 9, 0, 1, 0, time.UTC), Language: "ja"},
			{ChannelID: 7, PlatformID: "1850200000000000101", Private: true, From: channel.Author{ExternalID: "555"},
				Text: "dm zonder users-map", SentAt: time.UnixMilli(1539248400000).UTC()},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := fixture(t, tt.file)
			b, err := x.Webhook{}.Parse(testChannel(), body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.Messages, tt.want) {
				t.Errorf("messages:\n got %+v\nwant %+v", b.Messages, tt.want)
			}
			// The same delivery twice gives the same platform ids.
			again, _ := x.Webhook{}.Parse(testChannel(), body)
			if !reflect.DeepEqual(again, b) {
				t.Error("second parse differs")
			}
		})
	}
}

func TestParseOtherAccount(t *testing.T) {
	// One app webhook serves every account it subscribed; a delivery for
	// another account says which.
	ch := testChannel()
	ch.Settings["account_id"] = "42"
	b, err := x.Webhook{}.Parse(ch, fixture(t, "tweet_reply.json"))
	if err != nil || len(b.Messages) != 1 || b.Messages[0].Account != account {
		t.Fatalf("got %+v, %v", b.Messages, err)
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"not json", `hello`},
		{"truncated", `{"for_user_id": "1", "tweet_create_events": [`},
		{"array", `[{"for_user_id": "1"}]`},
		{"trailing garbage", `{"for_user_id": "1"} {}`},
		{"numeric for_user_id", `{"for_user_id": 1849000000000000001, "tweet_create_events": []}`},
		{"events as object", `{"for_user_id": "1", "tweet_create_events": {"id_str": "2"}}`},
		{"numeric id_str", `{"for_user_id": "1", "tweet_create_events": [{"id_str": 2, "user": {"id_str": "3"}}]}`},
		{"text as number", `{"for_user_id": "1", "tweet_create_events": [{"id_str": "2", "text": 5, "user": {"id_str": "3"}}]}`},
		{"user as string", `{"for_user_id": "1", "tweet_create_events": [{"id_str": "2", "user": "3"}]}`},
		{"missing id_str", `{"for_user_id": "1", "tweet_create_events": [{"text": "hi", "user": {"id_str": "3"}}]}`},
		{"missing user", `{"for_user_id": "1", "tweet_create_events": [{"id_str": "2", "text": "hi"}]}`},
		{"missing for_user_id", `{"tweet_create_events": [{"id_str": "2", "text": "hi", "user": {"id_str": "3"}}]}`},
		{"dm without id", `{"for_user_id": "1", "direct_message_events": [{"type": "message_create", "message_create": {"sender_id": "3", "message_data": {"text": "x"}}}]}`},
		{"dm timestamp as number", `{"for_user_id": "1", "direct_message_events": [{"type": "message_create", "id": "9", "created_timestamp": 1539245100538, "message_create": {"sender_id": "3"}}]}`},
		{"users as array", `{"for_user_id": "1", "users": []}`},
		{"huge numeric id_str", `{"for_user_id": "1", "tweet_create_events": [{"id_str": 123456789012345678901234567890, "user": {"id_str": "3"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := (x.Webhook{}).Parse(testChannel(), []byte(tt.body)); !errors.Is(err, channel.ErrPayload) {
				t.Errorf("err = %v, want ErrPayload", err)
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	tests := []struct {
		name string
		body string
		n    int
	}{
		{"null", `null`, 0},
		{"empty object", `{}`, 0},
		// The numeric "id" beside id_str is never decoded, so no digits
		// are lost however large it is.
		{"huge numeric id ignored", `{"for_user_id": "1", "tweet_create_events": [{"id": 123456789012345678901234567890, "id_str": "123456789012345678901234567890", "text": "hi", "user": {"id": 99999999999999999999, "id_str": "3"}}]}`, 1},
		{"bad created_at", `{"for_user_id": "1", "tweet_create_events": [{"id_str": "2", "text": "hi", "created_at": "yesterday", "user": {"id_str": "3"}}]}`, 1},
		{"null reply id", `{"for_user_id": "1", "tweet_create_events": [{"id_str": "2", "text": "hi", "in_reply_to_status_id_str": null, "user": {"id_str": "3"}}]}`, 1},
		{"other dm event type", `{"for_user_id": "1", "direct_message_events": [{"type": "welcome_message", "id": "5"}]}`, 0},
		{"retweet of someone else", `{"for_user_id": "1", "tweet_create_events": [{"id_str": "2", "text": "RT @x: y", "user": {"id_str": "3"}, "retweeted_status": {"id_str": "4", "user": {"id_str": "5"}}}]}`, 0},
		{"quote tweet kept", `{"for_user_id": "1", "tweet_create_events": [{"id_str": "2", "text": "look at this", "is_quote_status": true, "quoted_status": {"id_str": "4", "user": {"id_str": "1"}}, "user": {"id_str": "3"}}]}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := x.Webhook{}.Parse(testChannel(), []byte(tt.body))
			if err != nil || len(b.Messages) != tt.n {
				t.Fatalf("got %d messages, %v; want %d", len(b.Messages), err, tt.n)
			}
			if tt.name == "huge numeric id ignored" && b.Messages[0].PlatformID != "123456789012345678901234567890" {
				t.Errorf("PlatformID = %s", b.Messages[0].PlatformID)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"for_user_id":"1","tweet_create_events":[{"id_str":"2","user":{"id_str":"3"},"extended_tweet":{"full_text":"&amp;&lt;"}}]}`))
	ch := testChannel()
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := x.Webhook{}.Parse(ch, body)
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
	// X sends compact JSON; the fixture is indented for people.
	var compact bytes.Buffer
	if err := json.Compact(&compact, fixture(b, "tweet_mention.json")); err != nil {
		b.Fatal(err)
	}
	body := compact.Bytes()
	h := http.Header{}
	h.Set(x.SignatureHeader, x.Sign(secret, body))
	ch := testChannel()
	wh := x.Webhook{}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := wh.Verify(ch, h, body); err != nil {
			b.Fatal(err)
		}
		if m, err := wh.Parse(ch, body); err != nil || len(m.Messages) != 1 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
}

func TestParseVideoKeepsLink(t *testing.T) {
	body := `{"for_user_id":"1","tweet_create_events":[{"id_str":"2","text":"kijk dan https://t.co/vid","user":{"id_str":"3"},
		"extended_entities":{"media":[{"type":"video","media_url_https":"https://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/a.jpg","url":"https://t.co/vid"}]}}]}`
	b, err := x.Webhook{}.Parse(testChannel(), []byte(body))
	if err != nil || len(b.Messages) != 1 || b.Messages[0].Text != "kijk dan https://t.co/vid" || len(b.Messages[0].Files) != 0 {
		t.Fatalf("%+v %v", b, err)
	}
}

func TestParseReadReceipt(t *testing.T) {
	b, err := x.Webhook{}.Parse(testChannel(), fixture(t, "typing.json"))
	want := []channel.Status{{PlatformID: "1850200000000000050", State: store.Read, At: time.UnixMilli(1518452444662).UTC()}}
	if err != nil || !reflect.DeepEqual(b.Statuses, want) {
		t.Fatalf("statuses %+v, %v", b.Statuses, err)
	}
	// The account reading the customer's messages is no news.
	own := `{"for_user_id":"1","direct_message_mark_read_events":[{"created_timestamp":"1","sender_id":"1","target":{"recipient_id":"3"},"last_read_event_id":"9"}]}`
	if b, err := (x.Webhook{}).Parse(testChannel(), []byte(own)); err != nil || len(b.Statuses) != 0 {
		t.Fatalf("%+v %v", b, err)
	}
}
