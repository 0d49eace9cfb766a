package whatsapp_test

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
	"github.com/webcare/webcare/internal/channel/whatsapp"
	"github.com/webcare/webcare/internal/store"
)

const (
	appSecret = "0123456789abcdef0123456789abcdef"
	pnid      = "106540352242922"
	customer  = "16505551234"
)

func testChannel() store.Channel {
	return store.Channel{ID: 7, Kind: "whatsapp", Settings: map[string]string{
		"account_id": pnid, "app_secret": appSecret, "verify_token": "tok-123", "access_token": "EAAG-token",
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

func webhook() channel.Webhook { return whatsapp.New(nil).Webhook }

func at(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func TestParseMessages(t *testing.T) {
	sheena := channel.Author{ExternalID: customer, Handle: "+" + customer, Name: "Sheena Nelson"}
	tests := []struct {
		file string
		want []channel.Message
	}{
		{"text.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
			Text: "Does it come in another color?", SentAt: at(1749416383)}}},
		{"text_quoted_escapes.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMQA=",
			Text:    "Café über alles 😀 &lt;b&gt;bold&lt;/b&gt; <script>alert(1)</script> \"quoted\" \\\\ back",
			ReplyTo: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", SentAt: at(1749416390)}}},
		{"image.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMgA=",
			Text: "This is my broken lamp", SentAt: at(1749416400), Files: []channel.File{{Name: "photo.jpg", Ref: "2754859441498128"}}}}},
		{"document.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMwA=",
			Text: "Invoice attached", SentAt: at(1749416410), Files: []channel.File{{Name: "invoice-2025-06.pdf", Ref: "1003383421387256"}}}}},
		{"audio.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxNAA=",
			SentAt: at(1749416420), Files: []channel.File{{Name: "voice message.ogg", Ref: "1003383421387257"}}}}},
		{"video.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxNQA=",
			Text: "See how it flickers", SentAt: at(1749416430), Files: []channel.File{{Name: "video.mp4", Ref: "1003383421387258"}}}}},
		{"sticker.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxNgA=",
			SentAt: at(1749416440), Files: []channel.File{{Name: "sticker.webp", Ref: "1003383421387259"}}}}},
		{"location.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxNwA=",
			Text: "Shared a location: Philz Coffee, 1 Hacker Way, Menlo Park, CA 94025 (37.483307, -122.148981)\n" +
				"https://www.openstreetmap.org/?mlat=37.483307&mlon=-122.148981\nhttps://philzcoffee.com", SentAt: at(1749416450)}}},
		{"contacts.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxOAA=",
			Text: "Shared a contact: Barbara J. Johnson, +1 (940) 555-1234, bjohnson@example.com", SentAt: at(1749416460)}}},
		{"interactive_button.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxOQA=",
			Text: "Cancel", ReplyTo: "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=", SentAt: at(1749416470)}}},
		{"interactive_list.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMyMAA=",
			Text: "Priority Mail Express — Next Day to 2 Days", ReplyTo: "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=", SentAt: at(1749416480)}}},
		{"button.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMyMQA=",
			Text: "Stop promotions", ReplyTo: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3QzBCMUREQUI5MkI0M0E3RjEA", SentAt: at(1749416490)}}},
		{"reaction.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMyMgA=",
			Text: "Reacted 👍 to a message.", ReplyTo: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCNkY5NTBENEU3ODYxQTM3RUQA", SentAt: at(1749416500)}}},
		{"reaction_removed.json", nil},
		{"unsupported.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMyNAA=",
			Text:   "[The customer sent a poll_update message that WhatsApp does not pass on to webcare; ask them to send it as text or a photo. (WhatsApp error 131051)]",
			SentAt: at(1739321024)}}},
		{"unknown.json", []channel.Message{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMyNQA=",
			Text:   "[The customer sent a kind of message that WhatsApp does not pass on to webcare; ask them to send it as text or a photo. (WhatsApp error 131051)]",
			SentAt: at(1739321030)}}},
		{"batch.json", []channel.Message{
			{PlatformID: "wamid.A1", Text: "First — my order #123", SentAt: at(1749416600)},
			{PlatformID: "wamid.A2", Text: "你好，订单在哪里？", SentAt: at(1749416601)}}},
		{"template_status.json", nil},
		{"status_sent.json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := webhook().Parse(testChannel(), fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				w := &tt.want[i]
				w.ChannelID, w.From, w.Private, w.Account = 7, sheena, true, pnid
			}
			if !reflect.DeepEqual(b.Messages, tt.want) {
				t.Errorf("messages\n got %#v\nwant %#v", b.Messages, tt.want)
			}
		})
	}
}

func TestParseStatuses(t *testing.T) {
	const out = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCNkY5NTBENEU3ODYxQTM3RUQA"
	tests := []struct {
		file string
		want []channel.Status
	}{
		{"status_sent.json", nil}, // Send's answer already said sent
		{"status_delivered.json", []channel.Status{{PlatformID: out, State: store.Delivered, At: at(1750857386), Account: pnid}}},
		{"status_read.json", []channel.Status{{PlatformID: out, State: store.Read, At: at(1750857390), Account: pnid}}},
		{"status_failed.json", []channel.Status{{PlatformID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCNkY5NTBENEU3ODYxQTM3RUQB", State: store.Failed,
			At: at(1750857395), Account: pnid,
			Error: "The customer's 24-hour window has closed: WhatsApp only lets a business send an approved template message now, and webcare does not send templates. The conversation opens again when the customer writes. (WhatsApp error 131047: Re-engagement message)"}}},
		// Read may come before delivered: both are passed on as they come;
		// the store only moves forward.
		{"status_out_of_order.json", []channel.Status{
			{PlatformID: "wamid.OUT1", State: store.Read, At: at(1750857390), Account: pnid},
			{PlatformID: "wamid.OUT1", State: store.Delivered, At: at(1750857386), Account: pnid}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := webhook().Parse(testChannel(), fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != 0 {
				t.Errorf("%d messages from a status webhook", len(b.Messages))
			}
			if !reflect.DeepEqual(b.Statuses, tt.want) {
				t.Errorf("statuses\n got %#v\nwant %#v", b.Statuses, tt.want)
			}
		})
	}
}

func TestParseSameDeliveryTwice(t *testing.T) {
	body := fixture(t, "batch.json")
	a, err1 := webhook().Parse(testChannel(), body)
	b, err2 := webhook().Parse(testChannel(), body)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !reflect.DeepEqual(a, b) || len(a.Messages) != 2 || a.Messages[0].PlatformID == a.Messages[1].PlatformID {
		t.Errorf("two parses differ or ids are not distinct: %+v / %+v", a, b)
	}
}

func TestParseSpecialCases(t *testing.T) {
	const head = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},`
	const tail = `}}]}]}`
	tests := []struct {
		name  string
		value string
		want  []channel.Message
	}{
		{"own number is skipped",
			`"messages":[{"from":"15550783881","id":"wamid.own","timestamp":"1","type":"text","text":{"body":"echo"}}]`, nil},
		{"username user without a phone number",
			`"contacts":[{"profile":{"name":"Jane","username":"@jane"},"user_id":"US.13491208655302741918"}],"messages":[{"from_user_id":"US.13491208655302741918","id":"wamid.b1","timestamp":"2","type":"text","text":{"body":"hi"}}]`,
			[]channel.Message{{ChannelID: 7, PlatformID: "wamid.b1", From: channel.Author{ExternalID: "US.13491208655302741918", Handle: "@jane", Name: "Jane"},
				Text: "hi", Private: true, SentAt: at(2), Account: pnid}}},
		{"contact picked by wa_id among several",
			`"contacts":[{"profile":{"name":"A"},"wa_id":"111"},{"profile":{"name":"B"},"wa_id":"222"}],"messages":[{"from":"222","id":"wamid.c","timestamp":"3","type":"text","text":{"body":"x"}}]`,
			[]channel.Message{{ChannelID: 7, PlatformID: "wamid.c", From: channel.Author{ExternalID: "222", Handle: "+222", Name: "B"},
				Text: "x", Private: true, SentAt: at(3), Account: pnid}}},
		{"type nobody knows yet",
			`"messages":[{"from":"222","id":"wamid.d","timestamp":"4","type":"hologram","hologram":{"x":1}}]`,
			[]channel.Message{{ChannelID: 7, PlatformID: "wamid.d", From: channel.Author{ExternalID: "222", Handle: "+222"},
				Text: "[The customer sent a hologram message that WhatsApp does not pass on to webcare; ask them to send it as text or a photo.]", Private: true, SentAt: at(4), Account: pnid}}},
		{"image without id",
			`"messages":[{"from":"222","id":"wamid.e","timestamp":"5","type":"image","image":{}}]`,
			[]channel.Message{{ChannelID: 7, PlatformID: "wamid.e", From: channel.Author{ExternalID: "222", Handle: "+222"},
				Text: "[The customer sent an image that WhatsApp did not pass on.]", Private: true, SentAt: at(5), Account: pnid}}},
		{"welcome request is not a message",
			`"messages":[{"from":"222","id":"wamid.f","timestamp":"6","type":"request_welcome"}]`, nil},
		{"no timestamp",
			`"messages":[{"from":"222","id":"wamid.g","type":"text","text":{"body":"x"}}]`,
			[]channel.Message{{ChannelID: 7, PlatformID: "wamid.g", From: channel.Author{ExternalID: "222", Handle: "+222"},
				Text: "x", Private: true, Account: pnid}}},
		{"unknown fields are ignored",
			`"messages":[{"from":"222","id":"wamid.h","timestamp":"7","type":"text","text":{"body":"x"},"referral":{"source_url":"https://fb.me/x","headline":"Ad"},"identity":{"acknowledged":true}}]`,
			[]channel.Message{{ChannelID: 7, PlatformID: "wamid.h", From: channel.Author{ExternalID: "222", Handle: "+222"},
				Text: "x", Private: true, SentAt: at(7), Account: pnid}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := webhook().Parse(testChannel(), []byte(head+tt.value+tail))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.Messages, tt.want) {
				t.Errorf("messages\n got %#v\nwant %#v", b.Messages, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	const head = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},`
	const tail = `}}]}]}`
	tests := []struct{ name, body string }{
		{"empty", ``},
		{"not JSON", `<xml/>`},
		{"truncated", `{"object":"whatsapp_business_account","entry":[`},
		{"array at the top", `[]`},
		{"wrong object", `{"object":"page","entry":[]}`},
		{"no object", `{"entry":[]}`},
		{"entry is an object", `{"object":"whatsapp_business_account","entry":{}}`},
		{"changes is a string", `{"object":"whatsapp_business_account","entry":[{"changes":"x"}]}`},
		{"messages is an object", head + `"messages":{}` + tail},
		{"id is a number", head + `"messages":[{"from":"1","id":5,"type":"text"}]` + tail},
		{"text is a string", head + `"messages":[{"from":"1","id":"w","type":"text","text":"hi"}]` + tail},
		{"timestamp as number", head + `"messages":[{"from":"1","id":"w","timestamp":1749416383,"type":"text","text":{"body":"x"}}]` + tail},
		{"status errors is an object", head + `"statuses":[{"id":"w","status":"failed","errors":{}}]` + tail},
		{"latitude is a string", head + `"messages":[{"from":"1","id":"w","type":"location","location":{"latitude":"north"}}]` + tail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := webhook().Parse(testChannel(), []byte(tt.body))
			if !errors.Is(err, channel.ErrPayload) {
				t.Fatalf("err = %v, want ErrPayload; batch %+v", err, b)
			}
		})
	}
}

// One unreadable message or status in a signed delivery is skipped and
// named; the rest of the delivery is kept, so that Meta does not send the
// whole delivery again and again. A message with a bad time or quote is
// kept without them: the customer's words matter more.
func TestParseSkipsBadEvents(t *testing.T) {
	const head = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[`
	const good = `{"from":"31612345678","id":"good","timestamp":"1749416383","type":"text","text":{"body":"still here"}}`
	huge := strings.Repeat("9", 600)
	tests := []struct {
		name, bad string
		keep      bool // the bad one is kept (as a second message)
	}{
		{"no id", `{"from":"1","type":"text","text":{"body":"x"}}`, false},
		{"no sender", `{"id":"w","type":"text","text":{"body":"x"}}`, false},
		{"huge id", `{"from":"1","id":"` + huge + `","type":"text","text":{"body":"x"}}`, false},
		{"huge sender", `{"from":"` + huge + `","id":"w","type":"text","text":{"body":"x"}}`, false},
		{"huge quoted id", `{"from":"1","id":"w","context":{"id":"` + huge + `"},"type":"text","text":{"body":"x"}}`, true},
		{"timestamp not a number", `{"from":"1","id":"w","timestamp":"yesterday","type":"text","text":{"body":"x"}}`, true},
		{"timestamp overflow", `{"from":"1","id":"w","timestamp":"99999999999999999999","type":"text","text":{"body":"x"}}`, true},
		{"negative timestamp", `{"from":"1","id":"w","timestamp":"-5","type":"text","text":{"body":"x"}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := head + tt.bad + `,` + good + `],"statuses":[{"status":"read","timestamp":"1"},{"id":"s1","status":"read","timestamp":"1749416400"}]}}]}]}`
			b, err := webhook().Parse(testChannel(), []byte(body))
			if err != nil {
				t.Fatalf("Parse = %v, want the good events kept", err)
			}
			want := 1
			if tt.keep {
				want = 2
			}
			if len(b.Messages) != want || b.Messages[want-1].PlatformID != "good" {
				t.Fatalf("messages: %+v", b.Messages)
			}
			if tt.keep && (b.Messages[0].ReplyTo != "" || b.Messages[0].Text != "x" || !b.Messages[0].SentAt.IsZero()) {
				t.Errorf("kept message: %+v", b.Messages[0])
			}
			// The status without an id is skipped too, the other one kept.
			if len(b.Statuses) != 1 || b.Statuses[0].PlatformID != "s1" {
				t.Errorf("statuses: %+v", b.Statuses)
			}
			if len(b.Skipped) != 3-want {
				t.Errorf("skipped: %q", b.Skipped)
			}
		})
	}
	// A phone number id no platform would send: the whole change is skipped.
	b, err := webhook().Parse(testChannel(), []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"`+huge+`"},"messages":[`+good+`]}}]}]}`))
	if err != nil || len(b.Messages) != 0 || len(b.Skipped) != 1 {
		t.Errorf("huge account: %v %+v", err, b)
	}
}

func TestVerify(t *testing.T) {
	body := fixture(t, "text.json")
	tests := []struct {
		name   string
		secret string
		header string
		want   error
	}{
		{"signed", appSecret, meta.Sign(appSecret, body), nil},
		{"missing", appSecret, "", channel.ErrUnsigned},
		{"other secret", appSecret, meta.Sign("another", body), channel.ErrBadSignature},
		{"sha1 instead", appSecret, "sha1=0123", channel.ErrBadSignature},
		{"not hex", appSecret, "sha256=zz", channel.ErrBadSignature},
		{"channel without secret", "", meta.Sign("", body), channel.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := testChannel()
			ch.Settings["app_secret"] = tt.secret
			h := http.Header{}
			if tt.header != "" {
				h.Set("X-Hub-Signature-256", tt.header)
			}
			err := webhook().Verify(ch, h, body)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("body changed after signing", func(t *testing.T) {
		h := http.Header{}
		h.Set("X-Hub-Signature-256", meta.Sign(appSecret, body))
		changed := append([]byte(nil), body...)
		changed[len(changed)-3] ^= 1
		if err := webhook().Verify(testChannel(), h, changed); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestChallenge(t *testing.T) {
	c := whatsapp.New(nil).Webhook.(channel.Challenger)
	tests := []struct {
		name string
		q    string
		want string
		err  error
	}{
		{"right token", "hub.mode=subscribe&hub.verify_token=tok-123&hub.challenge=1158201444", "1158201444", nil},
		{"wrong token", "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", "", channel.ErrBadSignature},
		{"no token", "hub.mode=subscribe&hub.challenge=1", "", channel.ErrBadSignature},
		{"not subscribe", "hub.mode=unsubscribe&hub.verify_token=tok-123&hub.challenge=1", "", channel.ErrPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.q)
			ct, body, err := c.Challenge(testChannel(), q)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || string(body) != tt.want || !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("got %q %q %v", ct, body, err)
			}
		})
	}
}

func TestAdapter(t *testing.T) {
	a := whatsapp.New(nil)
	if a.Kind != "whatsapp" || a.Webhook == nil || a.Sender == nil || a.Checker == nil || a.Fetcher == nil || a.Poller != nil {
		t.Errorf("adapter parts: %+v", a)
	}
	if a.Window != 24*time.Hour || a.WindowNote == "" || a.Rate != 80 {
		t.Errorf("window %v note %q rate %v", a.Window, a.WindowNote, a.Rate)
	}
	keys := map[string]channel.Field{}
	for _, f := range a.Fields {
		keys[f.Key] = f
		if f.Label == "" || f.Help == "" {
			t.Errorf("field %s lacks label or help", f.Key)
		}
	}
	for _, k := range []string{"account_id", "access_token", "app_secret", "verify_token", "api_base"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("no field %s", k)
		}
	}
	if !keys["access_token"].Secret || !keys["app_secret"].Secret || !keys["verify_token"].Generated {
		t.Error("secrets or generated fields not marked")
	}
}

func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			f.Add(fixture(f, e.Name()))
		}
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"w","type":"reaction","reaction":{}}]}}]}]}`))
	w := webhook()
	ch := testChannel()
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := w.Parse(ch, body)
		if err != nil {
			if !errors.Is(err, channel.ErrPayload) {
				t.Fatalf("error not wrapping ErrPayload: %v", err)
			}
			return
		}
		for _, m := range b.Messages {
			if m.PlatformID == "" || m.From.ExternalID == "" || len(m.PlatformID) > 512 || len(m.ReplyTo) > 512 {
				t.Fatalf("message without usable ids: %+v", m)
			}
			if strings.TrimSpace(m.Text) == "" && len(m.Files) == 0 {
				t.Fatalf("empty message: %+v", m)
			}
		}
		for _, s := range b.Statuses {
			if s.PlatformID == "" || (s.State != store.Delivered && s.State != store.Read && s.State != store.Failed) {
				t.Fatalf("bad status: %+v", s)
			}
		}
	})
}

func BenchmarkVerifyParse(b *testing.B) {
	// A typical delivery, compact as Meta sends it: one customer's text.
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=","timestamp":"1749416383","text":{"body":"Hi, my order #4411 has not arrived yet. Can you check where it is?"},"type":"text"}]},"field":"messages"}]}]}`)
	h := http.Header{}
	h.Set("X-Hub-Signature-256", meta.Sign(appSecret, body))
	w := webhook()
	ch := testChannel()
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Verify(ch, h, body); err != nil {
			b.Fatal(err)
		}
		batch, err := w.Parse(ch, body)
		if err != nil || len(batch.Messages) != 1 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
}
