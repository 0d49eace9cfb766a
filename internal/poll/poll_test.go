package poll_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/email"
	"github.com/webcare/webcare/internal/channel/email/emailfake"
	"github.com/webcare/webcare/internal/channel/mastodon"
	"github.com/webcare/webcare/internal/channel/mastodon/mastodonfake"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/poll"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// fixture is a real store and pipeline with a Mastodon channel pointed at
// the fake server.
type fixture struct {
	st    *sqlite.Store
	fake  *mastodonfake.Fake
	ch    store.Channel
	ad    channel.Adapter
	r     *poll.Runner
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := ingest.New(st, bus.NewMemory(), ingest.Options{})
	t.Cleanup(p.Close)
	fake := mastodonfake.New()
	t.Cleanup(fake.Close)
	ch := store.Channel{Kind: "mastodon", Name: "Mastodon", Settings: fake.Settings()}
	if err := st.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	ad := mastodon.New(nil)
	c := &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	r := &poll.Runner{Store: st, Pipeline: p, Adapters: channel.NewRegistry(ad), Now: c.Now}
	return &fixture{st: st, fake: fake, ch: ch, ad: ad, r: r, clock: c}
}

func (f *fixture) mention(t *testing.T, text string) {
	t.Helper()
	if err := f.fake.Post(t.Context(), "", f.ch, channel.Message{Text: text, From: channel.Author{ExternalID: "109", Handle: "anna@social.example", Name: "Anna"}}); err != nil {
		t.Fatal(err)
	}
}

// messages counts the customer messages stored, in every conversation.
func (f *fixture) messages(t *testing.T) int {
	t.Helper()
	convs, err := f.st.Conversations(t.Context(), store.ConversationFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range convs {
		n += c.MessageCount
	}
	return n
}

func TestPollIngestsAndKeepsTheCursor(t *testing.T) {
	f := newFixture(t)
	f.mention(t, "@heron my bag is lost")
	rec, err := f.r.Once(t.Context(), f.ch, f.ad)
	if err != nil || rec.Stored != 1 {
		t.Fatalf("first poll: %+v, %v; want 1 stored", rec, err)
	}
	cursor, err := f.st.Setting(t.Context(), poll.CursorKey(f.ch.ID))
	if err != nil || cursor == "" {
		t.Fatalf("cursor after a poll: %q, %v", cursor, err)
	}
	// Nothing new: nothing stored, nothing fetched twice.
	if rec, err := f.r.Once(t.Context(), f.ch, f.ad); err != nil || rec.Stored != 0 || rec.Duplicates != 0 {
		t.Fatalf("second poll: %+v, %v; want nothing", rec, err)
	}
	f.mention(t, "@heron and my pram too")
	f.mention(t, "@heron flight HN1234")
	if rec, err := f.r.Once(t.Context(), f.ch, f.ad); err != nil || rec.Stored != 2 {
		t.Fatalf("third poll: %+v, %v; want the 2 new ones", rec, err)
	}
	if st, ok := f.r.Status(f.ch.ID); !ok || st.LastError != "" || st.LastOK.IsZero() {
		t.Errorf("status %+v, %v", st, ok)
	}
}

func TestPollFailureKeepsCursorAndBacksOff(t *testing.T) {
	f := newFixture(t)
	f.mention(t, "@heron first")
	if _, err := f.r.Once(t.Context(), f.ch, f.ad); err != nil {
		t.Fatal(err)
	}
	before, _ := f.st.Setting(t.Context(), poll.CursorKey(f.ch.ID))
	f.mention(t, "@heron second")
	f.fake.Fail(1, mastodonfake.Failure{Status: 503, Error: "Service Unavailable"})
	if _, err := f.r.Once(t.Context(), f.ch, f.ad); err == nil {
		t.Fatal("a failing server must fail the poll")
	}
	if after, _ := f.st.Setting(t.Context(), poll.CursorKey(f.ch.ID)); after != before {
		t.Errorf("cursor moved from %q to %q on a failed poll: the second mention would be lost", before, after)
	}
	if st, ok := f.r.Status(f.ch.ID); !ok || st.LastError == "" {
		t.Errorf("status after failure: %+v", st)
	}
	// Run does not ask again before the back-off has passed.
	ctx, cancel := context.WithCancel(t.Context())
	go f.r.Run(ctx)
	time.Sleep(1500 * time.Millisecond)
	cancel()
	if n := f.messages(t); n != 1 {
		t.Errorf("%d messages while backing off, want 1", n)
	}
	// After it, the second mention arrives.
	f.clock.Add(10 * time.Minute)
	if _, err := f.r.Once(t.Context(), f.ch, f.ad); err != nil {
		t.Fatalf("poll after recovery: %v", err)
	}
	if n := f.messages(t); n != 2 {
		t.Errorf("%d messages after recovery, want 2", n)
	}
}

func TestRunPollsEnabledChannelsOnly(t *testing.T) {
	f := newFixture(t)
	off := store.Channel{Kind: "mastodon", Name: "Off", Settings: f.fake.Settings(), Disabled: true}
	if err := f.st.CreateChannel(t.Context(), &off, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	f.mention(t, "@heron hello")
	f.r.Tick = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.r.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.messages(t) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	convs, _ := f.st.Conversations(t.Context(), store.ConversationFilter{})
	if len(convs) != 1 || convs[0].ChannelID != f.ch.ID {
		t.Fatalf("conversations %v, want one on the enabled channel %d", ids(convs), f.ch.ID)
	}
	if _, ok := f.r.Status(off.ID); ok {
		t.Error("the disabled channel was polled")
	}
}

func ids(cs []store.Conversation) string {
	s := ""
	for _, c := range cs {
		s += fmt.Sprintf("%d@%d ", c.ID, c.ChannelID)
	}
	return s
}

// A mailbox watched with IMAP IDLE is polled as soon as a mail arrives,
// not at its next turn: here the clock never moves, so without the watch
// the second mail would never be fetched.
func TestWatchPollsAtOnce(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := ingest.New(st, bus.NewMemory(), ingest.Options{})
	t.Cleanup(p.Close)
	fake, err := emailfake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	ch := store.Channel{Kind: "email", Name: "Care", Settings: fake.Settings()}
	if err := st.CreateChannel(t.Context(), &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	ad := email.New(nil)
	polls := &countingPoller{Poller: ad.Poller}
	ad.Poller = polls
	r := &poll.Runner{Store: st, Pipeline: p, Adapters: channel.NewRegistry(ad), Now: c.Now, Tick: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	count := func() int {
		convs, err := st.Conversations(t.Context(), store.ConversationFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(convs)
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for count() < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := count(); got != n {
			t.Fatalf("%d conversations, want %d", got, n)
		}
	}
	for i, addr := range []string{"anna@example.org", "li@example.org"} {
		if i == 1 {
			// The watch is open, and the polls it started with are done,
			// before the second mail comes: only its announcement in
			// IDLE can make the runner fetch it.
			deadline := time.Now().Add(10 * time.Second)
			for s, _ := r.Status(ch.ID); !(s.Watching && polls.settled(2)) && time.Now().Before(deadline); s, _ = r.Status(ch.ID) {
				time.Sleep(20 * time.Millisecond)
			}
		}
		m := channel.Message{PlatformID: fmt.Sprintf("m%d@example.org", i), From: channel.Author{ExternalID: addr}, Subject: "Koffer", Text: "Waar is mijn koffer?"}
		if err := fake.Post(t.Context(), "", ch, m); err != nil {
			t.Fatal(err)
		}
		waitFor(i + 1)
	}
	if s, _ := r.Status(ch.ID); !s.Watching || s.LastError != "" {
		t.Errorf("status %+v, want watching", s)
	}
}

// countingPoller counts the polls that started and those still running.
type countingPoller struct {
	channel.Poller
	mu             sync.Mutex
	done, inFlight int
}

func (c *countingPoller) Poll(ctx context.Context, ch store.Channel, cursor string) (channel.Batch, string, error) {
	c.mu.Lock()
	c.inFlight++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight--
		c.done++
		c.mu.Unlock()
	}()
	return c.Poller.Poll(ctx, ch, cursor)
}

// settled reports whether at least n polls ended and none is running.
func (c *countingPoller) settled(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done >= n && c.inFlight == 0
}
