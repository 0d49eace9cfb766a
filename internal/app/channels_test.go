package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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
			_, err := ads[tc.kind].Sender.Send(ctx, d)
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
			_, err = ads[tc.kind].Sender.Send(ctx, d)
			if err == nil || errors.As(err, &oe) && oe.Permanent {
				t.Errorf("a connection never made is not retried: %v", err)
			}
			d.Channel.Settings["api_base"] = "https://" + silent.Addr().String()
			short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
			_, err = ads[tc.kind].Sender.Send(short, d)
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
	for kind, ad := range Adapters(nil, slog.New(slog.DiscardHandler)) {
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
