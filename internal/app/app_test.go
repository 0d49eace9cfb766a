package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel/email/emailfake"
	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

func TestOpenPicksTheBus(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{DatabasePath: filepath.Join(t.TempDir(), "w.db"), BaseURL: "http://localhost"}

	a, err := Open(t.Context(), cfg, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Bus.(*bus.Memory); !ok {
		t.Errorf("without a NATS URL the bus is %T, want *bus.Memory", a.Bus)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	// A NATS that does not answer stops the start with a clear error (and
	// leaves the database closed, so the file can be opened again).
	cfg.NATSURL = "nats://127.0.0.1:1"
	if _, err := Open(t.Context(), cfg, log, Options{}); err == nil || !strings.Contains(err.Error(), "open event bus") {
		t.Fatalf("unreachable NATS: err = %v", err)
	}
}

// TestServeTakesMail: with --smtp-addr, mail to an e-mail channel's
// address is stored before the sending server hears 250, and mail to an
// address no channel has is refused.
func TestServeTakesMail(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := free.Addr().String()
	free.Close()
	cfg := config.Config{DatabasePath: filepath.Join(t.TempDir(), "w.db"), Addr: "127.0.0.1:0", BaseURL: "http://localhost", SMTPAddr: smtpAddr}
	a, err := Open(t.Context(), cfg, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch := store.Channel{Kind: "email", Name: "Care", Settings: map[string]string{"address": "care@heron.example"}}
	if err := a.Store.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- a.Serve(ctx, func(string) { close(ready) }) }()
	<-ready
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	if u, err := a.Store.Setting(t.Context(), BaseURLKey); err != nil || u != "http://localhost" {
		t.Errorf("the server left base URL %q (%v) for commands; want its --base-url", u, err)
	}
	raw := "From: Anna <anna@example.org>\r\nTo: care@heron.example\r\nSubject: Koffer\r\nMessage-ID: <k1@example.org>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nMijn koffer is zoek.\r\n"
	if err := emailfake.Deliver(t.Context(), smtpAddr, "anna@example.org", []string{"care@heron.example"}, []byte(raw)); err != nil {
		t.Fatalf("delivering to the listener: %v", err)
	}
	convs, err := a.Store.Conversations(t.Context(), store.ConversationFilter{ChannelID: ch.ID})
	if err != nil || len(convs) != 1 || convs[0].Subject != "Koffer" {
		t.Fatalf("after 250 the mail is stored: %+v, %v", convs, err)
	}
	if err := emailfake.Deliver(t.Context(), smtpAddr, "anna@example.org", []string{"nobody@heron.example"}, []byte(raw)); err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("mail to an unknown address: %v, want a 550", err)
	}

	// A long mail in a script of three bytes a character, with a
	// Message-ID longer than webcare stores: clipped and kept, not refused.
	longID := "<" + strings.Repeat("x", 700) + "@example.org>"
	body := strings.Repeat("我的行李丢了，请帮帮我。\r\n", 3000)
	long := "From: Li <li@example.org>\r\nTo: care@heron.example\r\nSubject: 行李\r\nMessage-ID: " + longID + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body
	if err := emailfake.Deliver(t.Context(), smtpAddr, "li@example.org", []string{"care@heron.example"}, []byte(long)); err != nil {
		t.Fatalf("a long mail: %v", err)
	}
	convs, err = a.Store.Conversations(t.Context(), store.ConversationFilter{ChannelID: ch.ID})
	if err != nil || len(convs) != 2 {
		t.Fatalf("conversations after the long mail: %d, %v", len(convs), err)
	}
	for _, c := range convs {
		if c.Subject != "行李" {
			continue
		}
		msgs, err := a.Store.Messages(t.Context(), c.ID, 0, 5)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages: %+v, %v", msgs, err)
		}
		if n := len(msgs[0].Body); n > ingest.MaxBodyBytes || n < ingest.MaxBodyBytes/2 || !strings.HasPrefix(msgs[0].Body, "我的行李丢了") {
			t.Errorf("body of %d bytes, want clipped near %d", n, ingest.MaxBodyBytes)
		}
		if !strings.HasPrefix(msgs[0].PlatformID, "sha256-") {
			t.Errorf("platform id %q, want a hash of the long Message-ID", msgs[0].PlatformID)
		}
	}

	// A mail with only a subject is what the customer said, not an error.
	short := "From: Piet <piet@example.org>\r\nTo: care@heron.example\r\nSubject: Bel me terug a.u.b.\r\nMessage-ID: <s1@example.org>\r\n\r\n\r\n"
	if err := emailfake.Deliver(t.Context(), smtpAddr, "piet@example.org", []string{"care@heron.example"}, []byte(short)); err != nil {
		t.Errorf("a mail with only a subject: %v", err)
	}
	// A sender address longer than webcare stores can never be taken:
	// 554, so the sending server tells its sender rather than retry.
	long = "From: <" + strings.Repeat("a", 600) + "@example.org>\r\nTo: care@heron.example\r\nSubject: x\r\nMessage-ID: <l2@example.org>\r\n\r\nhello\r\n"
	if err := emailfake.Deliver(t.Context(), smtpAddr, "a@example.org", []string{"care@heron.example"}, []byte(long)); err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "from.id") {
		t.Errorf("a mail from a 612-byte address: %v, want a 554 naming from.id", err)
	}
	if convs, _ := a.Store.Conversations(t.Context(), store.ConversationFilter{ChannelID: ch.ID}); len(convs) != 3 {
		t.Errorf("%d conversations, want 3", len(convs))
	}
}

// TestServerResolvesIdleConversations: with --resolve-idle the server
// closes what waited on the customer that long, at once and then every so
// often, and tells the open inboxes through the bus; without it, nothing
// is closed.
func TestServerResolvesIdleConversations(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{DatabasePath: filepath.Join(t.TempDir(), "w.db"), BaseURL: "http://localhost"}
	a, err := Open(t.Context(), cfg, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ch := store.Channel{Kind: "x", Name: "X"}
	if err := a.Store.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-8 * 24 * time.Hour)
	res, err := a.Store.Ingest(t.Context(), []store.Inbound{{ChannelID: ch.ID, PlatformID: "1", Platform: "x", ExternalID: "u1", Body: "thanks", SentAt: old, ReceivedAt: old}})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].ConversationID
	pending := store.StatusPending
	if _, err := a.Store.UpdateConversation(t.Context(), id, store.ConversationChange{Status: &pending}, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	events, stop, _ := a.Bus.Subscribe(t.Context(), 0)
	defer stop()

	if n := a.resolveIdleOnce(t.Context()); n != 0 {
		t.Fatalf("without --resolve-idle %d conversations were resolved", n)
	}
	a.Config.ResolveIdle = 7 * 24 * time.Hour
	if n := a.resolveIdleOnce(t.Context()); n != 1 {
		t.Fatalf("with --resolve-idle 168h, %d conversations resolved; want the one pending for 8 days", n)
	}
	if c, _ := a.Store.Conversation(t.Context(), id); c.Status != store.StatusResolved {
		t.Fatalf("the conversation is %s, want resolved", c.Status)
	}
	// The loop ends with its context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a.resolveIdle(ctx, time.Hour)
	select {
	case e := <-events:
		if e.Type != bus.ConversationUpdated || e.ConversationID != id {
			t.Errorf("announced %+v", e)
		}
	case <-time.After(time.Second):
		t.Error("open inboxes were not told")
	}
}
