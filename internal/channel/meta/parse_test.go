package meta_test

import (
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
	"github.com/webcare/webcare/internal/channel/meta"
	"github.com/webcare/webcare/internal/store"
)

const secret = "s3cr3t-app-secret"

func chFor(kind, account string) store.Channel {
	return store.Channel{ID: 7, Kind: kind, Settings: map[string]string{
		"account_id": account, "app_secret": secret, "verify_token": "vt-123", "access_token": "tok",
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

func webhook(kind string) *meta.Webhook { return &meta.Webhook{Kind: kind} }

func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		kind     string
		file     string
		account  string
		messages []channel.Message
		statuses []channel.Status
	}{
		{
			name: "messenger text with quick reply and reply_to", kind: meta.KindFacebook, file: "fb_message_text.json", account: "682498302938465",
			messages: []channel.Message{{
				PlatformID: "m_1457764197618:41d102a3e1ae206a38", From: channel.Author{ExternalID: "1254477777772919"},
				Text: "hello, world!", ReplyTo: "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU", Private: true,
				SentAt: ms(1458692752478), Account: "682498302938465",
			}},
		},
		{
			name: "messenger attachments become refs, shares become text", kind: meta.KindFacebook, file: "fb_message_attachments.json", account: "682498302938465",
			messages: []channel.Message{{
				PlatformID: "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c", From: channel.Author{ExternalID: "1254477777772919"},
				Text:    "[fallback \"Blue kettle\": https://example.com/product/42]\n[fallback]",
				Private: true, SentAt: ms(1518479195308), Account: "682498302938465",
				Files: []channel.File{
					{Name: "photo_n.jpg", Ref: "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo_n.jpg?_nc_cat=1&oh=abc"},
					{Name: "invoice.pdf", Ref: "https://cdn.fbsbx.com/v/t59.2708-21/invoice.pdf?_nc_cat=2"},
				},
			}},
		},
		{name: "our own echo is skipped", kind: meta.KindFacebook, file: "fb_echo.json", account: "682498302938465"},
		{
			name: "delivery mids become statuses; a read watermark marks nothing", kind: meta.KindFacebook, file: "fb_receipts.json", account: "682498302938465",
			statuses: []channel.Status{{PlatformID: "mid.1458668856218:ed81099e15d3f4f233", State: store.Delivered, At: ms(1458668856253), Account: "682498302938465"}},
		},
		{
			name: "postback is the tapped button's title", kind: meta.KindFacebook, file: "fb_postback.json", account: "682498302938465",
			messages: []channel.Message{{
				PlatformID: "m_MESSAGE-ID", From: channel.Author{ExternalID: "1254477777772919"}, Text: "Talk to a person",
				Private: true, SentAt: ms(1527459824000), Account: "682498302938465",
			}},
		},
		{
			name: "feed comments: customer comments in, own comment, removal and reaction out", kind: meta.KindFacebook, file: "fb_feed.json", account: "448242228374517",
			messages: []channel.Message{
				{
					PlatformID: "122131676912594941_1213590066982748", From: channel.Author{ExternalID: "6111111111111111", Name: "Anna de Vries"},
					Text: "Mijn pakket is nog steeds niet bezorgd", ReplyTo: "448242228374517_122131676912594941",
					SentAt: time.Unix(1742667604, 0).UTC(), Account: "448242228374517",
				},
				{
					PlatformID: "122131676912594941_1213590066982799", From: channel.Author{ExternalID: "6222222222222222", Name: "Bram"},
					Text: "Same here", ReplyTo: "122131676912594941_1213590066982748",
					SentAt: time.Date(2025, 3, 22, 18, 21, 0, 0, time.UTC), Account: "448242228374517",
				},
				{
					PlatformID: "448242228374517_555", From: channel.Author{ExternalID: "6444444444444444", Name: "Dana"},
					Text: "Look at this broken cup", SentAt: time.Unix(1742667900, 0).UTC(), Account: "448242228374517",
					Files: []channel.File{{Name: "cup.jpg", Ref: "https://scontent.xx.fbcdn.net/v/cup.jpg?oh=1"}},
				},
			},
		},
		{
			name: "instagram DM with story reply; echo, deletion skipped; unsupported noted; seen by mid", kind: meta.KindInstagram, file: "ig_message.json", account: "17841405822304914",
			messages: []channel.Message{
				{
					PlatformID: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMDk0OTEyODE3MTg0MTgxMzI0NTU3NTozMTQ5MDQzNDY5MzIwNjgxMjgzMTQ1NDM4OTA2MzQ0NDQ5NgZDZD",
					From:       channel.Author{ExternalID: "1234567890123456"},
					Text:       "Is this still available?\n[replying to a story: https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=s]",
					Private:    true, SentAt: ms(1569262485349), Account: "17841405822304914",
					Files: []channel.File{{Name: "image", Ref: "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17872405545019215&signature=abc"}},
				},
				{
					PlatformID: "aWdfZAG1faXRlbTpunsupported", From: channel.Author{ExternalID: "1234567890123456"},
					Text: "[a message of a kind Meta's API does not pass on]", Private: true, SentAt: ms(1569262488000), Account: "17841405822304914",
				},
			},
			statuses: []channel.Status{{PlatformID: "aWdfZAG1faXRlbTpvurown", State: store.Read, At: ms(1569262489000), Account: "17841405822304914"}},
		},
		{
			name: "instagram comments: own reply and mentions skipped", kind: meta.KindInstagram, file: "ig_comments.json", account: "17841474524784050",
			messages: []channel.Message{
				{
					PlatformID: "17919697626119712", From: channel.Author{ExternalID: "2105722729836161", Handle: "jan.jansen"},
					Text: "Wanneer komt de nieuwe collectie?", ReplyTo: "18172143295349192",
					SentAt: time.Unix(1755779280, 0).UTC(), Account: "17841474524784050",
				},
				{
					PlatformID: "17919697626119801", From: channel.Author{ExternalID: "2105722729836199", Handle: "piet"},
					Text: "@jan.jansen ik ook", ReplyTo: "17919697626119712",
					SentAt: time.Unix(1755779280, 0).UTC(), Account: "17841474524784050",
				},
			},
		},
		{
			name: "non-ASCII, emoji, \\u escapes and escaped HTML kept as text", kind: meta.KindFacebook, file: "unicode.json", account: "682498302938465",
			messages: []channel.Message{{
				PlatformID: "m_unicode1", From: channel.Author{ExternalID: "1254477777772919"},
				Text: "Café 😀 <b>bold</b> &lt;script&gt; 日本語 👍🏽 \"quoted\"", Private: true, SentAt: ms(1700000000000), Account: "682498302938465",
			}},
		},
		{
			name: "two pages in one delivery, events out of order kept as sent", kind: meta.KindFacebook, file: "batch_two_pages.json", account: "111111111111111",
			messages: []channel.Message{
				{PlatformID: "m_late", From: channel.Author{ExternalID: "9001"}, Text: "second", Private: true, SentAt: ms(1700000004000), Account: "111111111111111"},
				{PlatformID: "m_early", From: channel.Author{ExternalID: "9001"}, Text: "first", Private: true, SentAt: ms(1700000001000), Account: "111111111111111"},
				{PlatformID: "m_other_page", From: channel.Author{ExternalID: "9002"}, Text: "hallo", Private: true, SentAt: ms(1700000006000), Account: "222222222222222"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := webhook(tt.kind)
			body := fixture(t, tt.file)
			ch := chFor(tt.kind, tt.account)
			if err := w.Verify(ch, signed(body), body); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			b, err := w.Parse(ch, body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(b.Messages, tt.messages) {
				t.Errorf("messages:\n got %+v\nwant %+v", b.Messages, tt.messages)
			}
			if !reflect.DeepEqual(b.Statuses, tt.statuses) {
				t.Errorf("statuses:\n got %+v\nwant %+v", b.Statuses, tt.statuses)
			}
			// The same delivery again gives the same platform ids, so
			// ingest stores it once.
			again, err := w.Parse(ch, body)
			if err != nil || !reflect.DeepEqual(again, b) {
				t.Errorf("second parse differs: %v", err)
			}
		})
	}
}

func signed(body []byte) http.Header {
	h := http.Header{}
	h.Set(meta.SignatureHeader, meta.Sign(secret, body))
	return h
}

func TestVerify(t *testing.T) {
	body := fixture(t, "fb_message_text.json")
	ch := chFor(meta.KindFacebook, "682498302938465")
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		want   error
	}{
		{"valid", signed(body), body, secret, nil},
		{"missing header", http.Header{}, body, secret, channel.ErrUnsigned},
		{"wrong secret", func() http.Header {
			h := http.Header{}
			h.Set(meta.SignatureHeader, meta.Sign("other", body))
			return h
		}(), body, secret, channel.ErrBadSignature},
		{"body changed", signed(body), append([]byte(" "), body...), secret, channel.ErrBadSignature},
		{"not hex", http.Header{meta.SignatureHeader: {"sha256=zz"}}, body, secret, channel.ErrBadSignature},
		{"sha1 only", http.Header{meta.SignatureHeader: {"sha1=0123"}}, body, secret, channel.ErrBadSignature},
		{"channel without secret", signed(body), body, "", channel.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ch
			c.Settings = map[string]string{"app_secret": tt.secret}
			err := webhook(meta.KindFacebook).Verify(c, tt.header, tt.body)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	ch := chFor(meta.KindInstagram, "1")
	tests := []struct {
		name string
		q    url.Values
		want error
		body string
	}{
		{"ok", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"vt-123"}, "hub.challenge": {"1158201444"}}, nil, "1158201444"},
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"nope"}, "hub.challenge": {"1"}}, channel.ErrBadSignature, ""},
		{"wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {"vt-123"}, "hub.challenge": {"1"}}, channel.ErrPayload, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body, err := webhook(meta.KindInstagram).Challenge(ch, tt.q)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || string(body) != tt.body || !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("got %q %q %v", ct, body, err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	long := strings.Repeat("9", 5000)
	tests := []struct {
		name string
		kind string
		body string
	}{
		{"not JSON", meta.KindFacebook, `{"object":"page",`},
		{"empty", meta.KindFacebook, ``},
		{"array at top", meta.KindFacebook, `[{"object":"page"}]`},
		{"wrong object for facebook", meta.KindFacebook, `{"object":"instagram","entry":[]}`},
		{"wrong object for instagram", meta.KindInstagram, `{"object":"page","entry":[]}`},
		{"whatsapp object", meta.KindFacebook, `{"object":"whatsapp_business_account","entry":[]}`},
		{"entry is an object", meta.KindFacebook, `{"object":"page","entry":{"id":"1"}}`},
		{"messaging is an object", meta.KindFacebook, `{"object":"page","entry":[{"id":"1","messaging":{"message":{}}}]}`},
		{"text is a number", meta.KindFacebook, `{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"message":{"mid":"m","text":5}}]}]}`},
		{"sender id is an object", meta.KindFacebook, `{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":{}},"message":{"mid":"m"}}]}]}`},
		{"huge id", meta.KindFacebook, `{"object":"page","entry":[{"id":"` + long + `"}]}`},
		{"huge numeric id", meta.KindFacebook, `{"object":"page","entry":[{"id":` + long + `}]}`},
		{"timestamp is text", meta.KindFacebook, `{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"timestamp":"soon","message":{"mid":"m"}}]}]}`},
		{"timestamp overflows", meta.KindFacebook, `{"object":"page","entry":[{"id":"1","time":1e400}]}`},
		{"attachments is an object", meta.KindFacebook, `{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"message":{"mid":"m","attachments":{"type":"image"}}}]}]}`},
		{"changes is a string", meta.KindInstagram, `{"object":"instagram","entry":[{"id":"1","changes":"comments"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook(tt.kind).Parse(chFor(tt.kind, "1"), []byte(tt.body))
			if !errors.Is(err, channel.ErrPayload) {
				t.Fatalf("Parse = %v, want ErrPayload", err)
			}
		})
	}
}

// One unreadable event in a signed delivery is skipped and named; the
// other customers' messages in the same delivery are kept, so that Meta
// does not send the whole delivery again and again.
func TestParseSkipsBadEvents(t *testing.T) {
	good := map[string]string{
		meta.KindFacebook:  `{"id":"1","messaging":[{"sender":{"id":"9"},"recipient":{"id":"1"},"timestamp":1700000000000,"message":{"mid":"good","text":"still here"}}]}`,
		meta.KindInstagram: `{"id":"1","messaging":[{"sender":{"id":"9"},"recipient":{"id":"1"},"timestamp":1700000000000,"message":{"mid":"good","text":"still here"}}]}`,
	}
	object := map[string]string{meta.KindFacebook: "page", meta.KindInstagram: "instagram"}
	tests := []struct {
		name  string
		kind  string
		entry string
	}{
		{"entry without id", meta.KindFacebook, `{"messaging":[]}`},
		{"message without mid", meta.KindFacebook, `{"id":"1","messaging":[{"sender":{"id":"2"},"message":{"text":"hi"}}]}`},
		{"message without sender", meta.KindFacebook, `{"id":"1","messaging":[{"message":{"mid":"m","text":"hi"}}]}`},
		{"feed message is an object", meta.KindFacebook, `{"id":"1","changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"2_3","from":{"id":"2"},"message":{"t":1}}}]}`},
		{"feed value is a string", meta.KindFacebook, `{"id":"1","changes":[{"field":"feed","value":"comment"}]}`},
		{"feed comment without id", meta.KindFacebook, `{"id":"1","changes":[{"field":"feed","value":{"item":"comment","verb":"add","from":{"id":"2"}}}]}`},
		{"feed comment without value", meta.KindFacebook, `{"id":"1","changes":[{"field":"feed"}]}`},
		{"ig comment without from", meta.KindInstagram, `{"id":"1","changes":[{"field":"comments","value":{"id":"5","text":"x"}}]}`},
		{"ig comment from is an array", meta.KindInstagram, `{"id":"1","changes":[{"field":"comments","value":{"id":"5","from":[]}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"object":"` + object[tt.kind] + `","entry":[` + tt.entry + `,` + good[tt.kind] + `]}`
			b, err := webhook(tt.kind).Parse(chFor(tt.kind, "1"), []byte(body))
			if err != nil {
				t.Fatalf("Parse = %v, want the good event kept", err)
			}
			if len(b.Messages) != 1 || b.Messages[0].PlatformID != "good" || b.Messages[0].Text != "still here" {
				t.Errorf("messages: %+v", b.Messages)
			}
			if len(b.Skipped) != 1 {
				t.Errorf("skipped: %q, want one reason", b.Skipped)
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	// Shapes Meta really sends that are not the textbook one: numeric ids,
	// string time stamps (dashboard tests), messaging wrapped in changes,
	// the author in sender_id, an edit of a comment we never saw.
	tests := []struct {
		name string
		kind string
		body string
		want channel.Message
	}{
		{
			"numeric ids and string timestamp", meta.KindFacebook,
			`{"object":"page","entry":[{"id":682498302938465,"time":"1700000000000","messaging":[{"sender":{"id":1254477777772919},"recipient":{"id":682498302938465},"timestamp":"1700000000000","message":{"mid":"m_1","text":"hi"}}]}]}`,
			channel.Message{PlatformID: "m_1", From: channel.Author{ExternalID: "1254477777772919"}, Text: "hi", Private: true, SentAt: ms(1700000000000), Account: "682498302938465"},
		},
		{
			"dashboard test: messaging wrapped in a change", meta.KindInstagram,
			`{"object":"instagram","entry":[{"id":"0","time":1700000000,"changes":[{"field":"messages","value":{"sender":{"id":"12334"},"recipient":{"id":"23245"},"timestamp":"1527459824","message":{"mid":"random_mid","text":"random_text"}}}]}]}`,
			channel.Message{PlatformID: "random_mid", From: channel.Author{ExternalID: "12334"}, Text: "random_text", Private: true, SentAt: time.Unix(1527459824, 0).UTC(), Account: "0"},
		},
		{
			"author in sender_id, edited comment arrives under its own id", meta.KindFacebook,
			`{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[{"field":"feed","value":{"item":"comment","verb":"edited","comment_id":"2_3","post_id":"1_2","parent_id":"1_2","sender_id":"44","sender_name":"Eve","message":"fixed typo","created_time":1700000000}}]}]}`,
			channel.Message{PlatformID: "2_3", From: channel.Author{ExternalID: "44", Name: "Eve"}, Text: "fixed typo", ReplyTo: "1_2", SentAt: time.Unix(1700000000, 0).UTC(), Account: "1"},
		},
		{
			"an ignored change with clashing types does not fail the comment next to it", meta.KindFacebook,
			`{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[{"field":"ratings","value":{"message":{"x":1},"from":"someone","created_time":[1]}},{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"2_3","post_id":"1_2","from":{"id":"44","name":"Eve"},"message":"goed","created_time":1700000000}}]}]}`,
			channel.Message{PlatformID: "2_3", From: channel.Author{ExternalID: "44", Name: "Eve"}, Text: "goed", ReplyTo: "1_2", SentAt: time.Unix(1700000000, 0).UTC(), Account: "1"},
		},
		{
			"an ignored feed item with clashing types", meta.KindFacebook,
			`{"object":"page","entry":[{"id":"1","changes":[{"field":"feed","value":{"item":"like","verb":"add","from":{"id":5,"name":["x"]},"post_id":"1_2","message":{"x":1}}},{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"2_4","post_id":"1_2","from":{"id":"45"},"message":"ok"}}]}]}`,
			channel.Message{PlatformID: "2_4", From: channel.Author{ExternalID: "45"}, Text: "ok", ReplyTo: "1_2", Account: "1"},
		},
		{
			"instagram mention with its own shape next to a comment", meta.KindInstagram,
			`{"object":"instagram","entry":[{"id":"1","time":1700000000,"changes":[{"field":"mentions","value":{"media_id":"9","text":{"rich":true},"id":[1]}},{"field":"comments","value":{"id":"77","text":"hoi","from":{"id":"8","username":"u"},"media":{"id":"9"}}}]}]}`,
			channel.Message{PlatformID: "77", From: channel.Author{ExternalID: "8", Handle: "u"}, Text: "hoi", ReplyTo: "9", SentAt: time.Unix(1700000000, 0).UTC(), Account: "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := webhook(tt.kind).Parse(chFor(tt.kind, ""), []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != 1 || !reflect.DeepEqual(b.Messages[0], tt.want) {
				t.Fatalf("got %+v\nwant %+v", b.Messages, tt.want)
			}
		})
	}
}

func TestParseSkipsOwnBySettings(t *testing.T) {
	// A comment by the Page under another entry id (a Page answering on a
	// post of a page it manages) is recognised by the channel's account id.
	body := `{"object":"page","entry":[{"id":"999","changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"2_3","post_id":"999_2","from":{"id":"1","name":"Us"},"message":"hi"}}]}]}`
	b, err := webhook(meta.KindFacebook).Parse(chFor(meta.KindFacebook, "1"), []byte(body))
	if err != nil || len(b.Messages) != 0 {
		t.Fatalf("got %+v, %v", b, err)
	}
}
