package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/mastodon/mastodonfake"
	"github.com/webcare/webcare/internal/channel/meta/metafake"
	"github.com/webcare/webcare/internal/channel/telegram/telegramfake"
	"github.com/webcare/webcare/internal/channel/whatsapp/whatsappfake"
	"github.com/webcare/webcare/internal/channel/x/xfake"
	"github.com/webcare/webcare/internal/i18n"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// A platform without idempotency keys that takes a reply and hangs up
// before it answers may have posted it: the outbox must not send it again
// (the customer would read it twice), and the agent must hear to look.
// A connection that was never made is retried; Mastodon, which takes an
// Idempotency-Key, is retried whatever happened.
func TestUnansweredSendsAreNotRepeated(t *testing.T) {
	var hits atomic.Int32
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hits.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer hangup.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // nothing listens there any more
	// A server that takes the connection and never says a word: TLS never
	// completes, so the request never had a connection to go out on.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	fakes := map[string]channel.Fake{
		"telegram": telegramfake.New(), "facebook": metafake.New("facebook"), "instagram": metafake.New("instagram"),
		"whatsapp": whatsappfake.New(), "x": xfake.New(), "mastodon": mastodonfake.New(),
	}
	for _, f := range fakes {
		defer f.Close()
	}
	ads := Adapters(nil, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		kind     string
		private  bool
		retrying bool // the outbox may send again
	}{
		{"telegram", true, false},
		{"facebook", true, false},
		{"facebook", false, false}, // a comment reply
		{"instagram", true, false},
		{"whatsapp", true, false},
		{"x", true, false},
		{"x", false, true},        // a post: X's duplicate check settles a retry
		{"mastodon", false, true}, // Idempotency-Key
	} {
		name := tc.kind + map[bool]string{true: " private", false: " public"}[tc.private]
		t.Run(name, func(t *testing.T) {
			d := delivery(fakes[tc.kind].Settings(), tc.kind, tc.private)
			d.Channel.Settings["api_base"] = hangup.URL
			before := hits.Load()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := ads.Get(tc.kind).Sender.Send(ctx, d)
			if hits.Load() == before {
				t.Fatalf("the send never reached the server: %v", err)
			}
			var oe *outbox.Error
			permanent := errors.As(err, &oe) && oe.Permanent
			switch {
			case err == nil:
				t.Fatal("a send without an answer succeeded")
			case tc.retrying && permanent:
				t.Errorf("given up on a platform that deduplicates: %v", err)
			case !tc.retrying && !permanent:
				t.Errorf("would be sent again: %v", err)
			case !tc.retrying && !strings.Contains(oe.Body, "may or may not have arrived"):
				t.Errorf("the agent is not told to look: %q", oe.Body)
			}

			d.Channel.Settings["api_base"] = closedURL
			_, err = ads.Get(tc.kind).Sender.Send(ctx, d)
			if err == nil || errors.As(err, &oe) && oe.Permanent {
				t.Errorf("a connection never made is not retried: %v", err)
			}
			d.Channel.Settings["api_base"] = "https://" + silent.Addr().String()
			short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
			_, err = ads.Get(tc.kind).Sender.Send(short, d)
			cancelShort()
			if err == nil || errors.As(err, &oe) && oe.Permanent {
				t.Errorf("a TLS handshake that never ended is not retried: %v", err)
			}
		})
	}
}

// delivery is a reply on channel kind to a customer known on it.
func delivery(settings map[string]string, kind string, private bool) outbox.Delivery {
	vis := store.Public
	if private {
		vis = store.Private
	}
	return outbox.Delivery{
		Key:          "k1",
		Channel:      store.Channel{ID: 1, Kind: kind, Settings: settings},
		Conversation: store.Conversation{ID: 1, Visibility: vis},
		Message:      store.Message{ID: 1, Body: "We have found your bag.", ReplyTo: "1050118621198921728"},
		To:           store.Identity{ExternalID: "1050118621198921700", Handle: "anna"},
		LastInbound:  time.Now().Add(-time.Hour),
	}
}

// The admin screen shows each platform setting's label and help from the
// catalogue, in the admin's language; the English there must be the text
// the adapter itself gives (which the CLI shows), so the two cannot drift.
func TestEverySettingIsTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range Adapters(nil, slog.New(slog.DiscardHandler)).All() {
		kind := ad.Kind
		for _, f := range ad.Fields {
			texts := map[string]string{"label": f.Label, "help": f.Help}
			for part, english := range texts {
				if english == "" {
					continue
				}
				key := "field." + kind + "." + f.Key + "." + part
				if got := cat.T("en", key); got != english {
					t.Errorf("%s: catalogue has %q, the adapter says %q", key, got, english)
				}
				if got := cat.T("nl", key); got == key || got == english && part == "help" {
					t.Errorf("%s: no Dutch (%q)", key, got)
				}
			}
		}
	}
}

// Every kind has its name and its help on the admin screen in every UI
// language.
func TestEveryKindIsTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range cat.Locales() {
		have := map[string]bool{}
		for _, k := range cat.Keys(loc) {
			have[k] = true
		}
		for _, kind := range Adapters(nil, nil).Kinds() {
			for _, key := range []string{"kind." + kind, "admin.channels.help." + kind} {
				if !have[key] {
					t.Errorf("locale %s lacks %q", loc, key)
				}
			}
		}
	}
}

// The platforms, in the order the UI lists them, with the limits replies
// keep to. A change here is a change to what agents may send: make it on
// purpose, with the platform's documentation at hand.
func TestAdapterFacts(t *testing.T) {
	images := channel.Images
	imagesAndPDFs := channel.ImagesAndPDFs
	want := []struct {
		kind      string
		textLimit int
		files     channel.FileRule
	}{
		{"x", 280, channel.FileRule{MaxFiles: 4, MaxBytes: 5 << 20, Types: images}},
		{"facebook", 2000, channel.FileRule{MaxFiles: 1, MaxBytes: 25 << 20, Types: imagesAndPDFs}},
		{"instagram", 1000, channel.FileRule{MaxFiles: 1, MaxBytes: 8 << 20, Types: images}},
		{"whatsapp", 4096, channel.FileRule{MaxFiles: 1, MaxBytes: 5 << 20, Types: imagesAndPDFs}},
		{"telegram", 4096, channel.FileRule{MaxFiles: 1, MaxBytes: 10 << 20, Types: imagesAndPDFs}},
		{"mastodon", 500, channel.FileRule{MaxFiles: 4, MaxBytes: 8 << 20, Types: images}},
		{"bluesky", 300, channel.FileRule{}},
		{"email", 0, channel.FileRule{MaxFiles: 5, MaxBytes: 10 << 20, Types: imagesAndPDFs}},
		{"webchat", 0, channel.FileRule{MaxFiles: 5, MaxBytes: 10 << 20, Types: imagesAndPDFs}},
		{"api", 0, channel.FileRule{MaxFiles: 5, MaxBytes: 10 << 20, Types: imagesAndPDFs}},
	}
	reg := Adapters(nil, nil)
	var kinds []string
	for _, w := range want {
		kinds = append(kinds, w.kind)
	}
	if got := reg.Kinds(); !slices.Equal(got, kinds) {
		t.Fatalf("Kinds = %v, want %v", got, kinds)
	}
	for _, w := range want {
		ad := reg.Get(w.kind)
		if ad.TextLimit != w.textLimit {
			t.Errorf("%s: TextLimit %d, want %d", w.kind, ad.TextLimit, w.textLimit)
		}
		f := ad.Files
		if f.MaxFiles != w.files.MaxFiles || f.MaxBytes != w.files.MaxBytes || !slices.Equal(f.Types, w.files.Types) {
			t.Errorf("%s: Files %+v, want %+v", w.kind, f, w.files)
		}
		if f.Allowed() && (f.MaxBytes <= 0 || len(f.Types) == 0) {
			t.Errorf("%s: a rule that allows files must bound them: %+v", w.kind, f)
		}
	}
	if reg.Get("x").Files.Accepts("application/pdf") {
		t.Error("X takes images only")
	}
	if reg.Get("nope").Files.Allowed() {
		t.Error("an unknown kind allows files")
	}
}

// What the wiring used to add, each platform's package now gives itself.
func TestAdaptersCarryTheirOwnParts(t *testing.T) {
	reg := Adapters(nil, nil)
	if reg.Get("telegram").Connect == nil {
		t.Error("telegram: no Connect (getMe and setWebhook)")
	}
	if l := reg.Get("x").Length; l == nil || l("日本") != 4 {
		t.Error("x: Length does not weigh as X does")
	}
	if reg.Get("webchat").Sender != nil {
		t.Error("webchat without a widget has a Sender")
	}
}
