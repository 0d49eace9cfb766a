package email

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/email/emailfake"
	"github.com/webcare/webcare/internal/store"
)

func newFake(t *testing.T) (*emailfake.Fake, store.Channel) {
	t.Helper()
	f, err := emailfake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f, store.Channel{ID: 7, Kind: Kind, Name: "Support", Settings: f.Settings()}
}

func TestPoll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, ch := newFake(t)
	p := &Poller{}

	b, cur, err := p.Poll(ctx, ch, "")
	if err != nil || len(b.Messages) != 0 || cur != "1:0" {
		t.Fatalf("empty mailbox: %v %d %q", err, len(b.Messages), cur)
	}
	post := func(id, text string) {
		t.Helper()
		m := channel.Message{PlatformID: id, From: channel.Author{ExternalID: "Jan@Klant.example", Name: "Jan Klant"}, Subject: "Vraag", Text: text}
		if err := f.Post(ctx, "", ch, m); err != nil {
			t.Fatal(err)
		}
	}
	post("a@klant.example", "Eerste vraag")
	post("b@klant.example", "Tweede vraag 😀")
	if err := f.Append(fixture(t, "autoreply_oof.eml")); err != nil {
		t.Fatal(err)
	}
	if err := f.Append(fixture(t, "garbage.eml")); err != nil {
		t.Fatal(err)
	}
	if err := f.Append(fixture(t, "bounce.eml")); err != nil {
		t.Fatal(err)
	}
	b, cur, err = p.Poll(ctx, ch, cur)
	if err != nil {
		t.Fatal(err)
	}
	if cur != "1:5" || len(b.Messages) != 2 || len(b.Statuses) != 1 {
		t.Fatalf("cursor %q, %d messages, %d statuses", cur, len(b.Messages), len(b.Statuses))
	}
	m := b.Messages[1]
	if m.ChannelID != 7 || m.PlatformID != "b@klant.example" || m.Text != "Tweede vraag 😀" || m.From.ExternalID != "jan@klant.example" || m.From.Name != "Jan Klant" {
		t.Errorf("message %+v", m)
	}
	if s := b.Statuses[0]; s.State != store.Failed || s.PlatformID != "webcare-ffff0000@example.com" {
		t.Errorf("status %+v", s)
	}

	// Nothing new: same cursor, nothing fetched.
	b, cur2, err := p.Poll(ctx, ch, cur)
	if err != nil || len(b.Messages) != 0 || cur2 != cur {
		t.Fatalf("second poll: %v %d %q", err, len(b.Messages), cur2)
	}

	// The folder is rebuilt: UIDVALIDITY changes, everything is read again.
	if err := f.ResetMailbox(); err != nil {
		t.Fatal(err)
	}
	post("a@klant.example", "Eerste vraag")
	b, cur3, err := p.Poll(ctx, ch, cur)
	if err != nil || len(b.Messages) != 1 || cur3 != "2:1" || b.Messages[0].PlatformID != "a@klant.example" {
		t.Fatalf("after UIDVALIDITY change: %v %d %q", err, len(b.Messages), cur3)
	}
}

func TestPollLeavesFlags(t *testing.T) {
	// EXAMINE + BODY.PEEK[]: a mail stays unread for the people who use
	// the mailbox too.
	ctx := context.Background()
	f, ch := newFake(t)
	if err := f.Post(ctx, "", ch, channel.Message{From: channel.Author{ExternalID: "a@b.example"}, Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := (&Poller{}).Poll(ctx, ch, ""); err != nil {
		t.Fatal(err)
	}
	if seen, err := f.Seen(1); err != nil || seen {
		t.Errorf("\\Seen set after polling (%v)", err)
	}
}

func TestPollBatchAndSize(t *testing.T) {
	ctx := context.Background()
	f, ch := newFake(t)
	for i := range BatchSize + 5 {
		raw := fmt.Sprintf("From: c%d@x.example\r\nSubject: n\r\nMessage-ID: <%d@x>\r\n\r\nmail %d\r\n", i, i, i)
		if err := f.Append([]byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	big := "From: Big <big@x.example>\r\nSubject: photos\r\nMessage-ID: <big@x>\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 4000)
	if err := f.Append([]byte(big)); err != nil {
		t.Fatal(err)
	}
	p := &Poller{MaxBytes: 32 << 10}
	b, cur, err := p.Poll(ctx, ch, "")
	if err != nil || len(b.Messages) != BatchSize || cur != fmt.Sprintf("1:%d", BatchSize) {
		t.Fatalf("first batch: %v %d %q", err, len(b.Messages), cur)
	}
	b, cur, err = p.Poll(ctx, ch, cur)
	if err != nil || len(b.Messages) != 6 || cur != fmt.Sprintf("1:%d", BatchSize+6) {
		t.Fatalf("second batch: %v %d %q", err, len(b.Messages), cur)
	}
	last := b.Messages[5]
	if last.PlatformID != "big@x" || !strings.Contains(last.Text, "larger than webcare's limit") || last.From.ExternalID != "big@x.example" {
		t.Errorf("oversize stand-in %+v", last)
	}
}

func TestPollErrors(t *testing.T) {
	ctx := context.Background()
	_, ch := newFake(t)
	tests := []struct {
		name string
		set  map[string]string
	}{
		{"wrong password", map[string]string{"imap_password": "nope"}},
		{"no such folder", map[string]string{"imap_mailbox": "Archief"}},
		{"bad tls mode", map[string]string{"imap_tls": "maybe"}},
		{"closed port", map[string]string{"imap_port": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ch
			c.Settings = map[string]string{}
			for k, v := range ch.Settings {
				c.Settings[k] = v
			}
			for k, v := range tt.set {
				c.Settings[k] = v
			}
			if _, cur, err := (&Poller{}).Poll(ctx, c, "1:3"); err == nil || cur != "1:3" {
				t.Errorf("err %v cursor %q", err, cur)
			}
		})
	}
	// No IMAP server: the SMTP listener feeds this channel.
	if b, cur, err := (&Poller{}).Poll(ctx, store.Channel{Settings: map[string]string{}}, "x"); err != nil || cur != "x" || len(b.Messages) != 0 {
		t.Errorf("no imap_host: %v %q", err, cur)
	}
}

func TestParseCursor(t *testing.T) {
	for in, want := range map[string][2]uint32{"": {0, 0}, "5:9": {5, 9}, "x:1": {0, 0}, "1:": {0, 0}, "99999999999:1": {0, 0}} {
		if v, l := parseCursor(in); v != want[0] || l != want[1] {
			t.Errorf("%q: %d %d", in, v, l)
		}
	}
}

// Watch wakes the poll when the server announces a mail in IDLE, once at
// the start for what came before, and ends quietly with its context.
func TestWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, ch := newFake(t)
	p := &Poller{}
	woken := make(chan struct{}, 10)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Watch(wctx, ch, func() { woken <- struct{}{} }) }()
	select {
	case <-woken: // the first, for mail that came before the watch
	case err := <-done:
		t.Fatalf("watch ended: %v", err)
	case <-ctx.Done():
		t.Fatal("no wake at the start")
	}
	// go-imap's in-memory server starts listening for news a moment after
	// it has answered IDLE, and a mail in that moment is announced only
	// with the next one: a few mails, a second apart, rule that out.
	announced := false
	for i := 0; i < 5 && !announced; i++ {
		m := channel.Message{PlatformID: fmt.Sprintf("w%d@klant.example", i), From: channel.Author{ExternalID: "jan@klant.example"}, Subject: "Vraag", Text: "Hallo"}
		if err := f.Post(ctx, "", ch, m); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woken:
			announced = true
		case err := <-done:
			t.Fatalf("watch ended: %v", err)
		case <-time.After(time.Second):
		}
	}
	if !announced {
		t.Fatal("five new mails woke nobody")
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("watch after its context ended: %v", err)
	}

	// Mail through the SMTP listener only: nothing to watch.
	noIMAP := store.Channel{ID: 8, Kind: Kind, Settings: map[string]string{"address": "care@example.com"}}
	if err := p.Watch(ctx, noIMAP, func() {}); !errors.Is(err, channel.ErrNoWatch) {
		t.Errorf("watch without IMAP: %v, want ErrNoWatch", err)
	}
	// A wrong password is an error to retry, not a reason to stop.
	bad := store.Channel{ID: 9, Kind: Kind, Settings: f.Settings()}
	bad.Settings["imap_password"] = "wrong"
	if err := p.Watch(ctx, bad, func() {}); err == nil || errors.Is(err, channel.ErrNoWatch) {
		t.Errorf("watch with a wrong password: %v", err)
	}
}
