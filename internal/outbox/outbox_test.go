package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// t0 is where virtual time starts: whole seconds, so stored milliseconds
// compare exactly.
var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

// clock is the workers' virtual time; tests move it by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fixture is a real store with one channel and one conversation in it.
type fixture struct {
	st    *sqlite.Store
	bus   *bus.Memory
	clock *clock
	ch    store.Channel
	conv  store.Conversation
	event <-chan bus.Event
}

func newFixture(t *testing.T, kind string, settings map[string]string) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, bus: bus.NewMemory(), clock: &clock{t: t0}}
	f.ch = store.Channel{Kind: kind, Name: "test " + kind, Settings: settings}
	if err := st.CreateChannel(ctx, &f.ch, store.Actor{}); err != nil {
		t.Fatal(err)
	}
	platform := kind
	if kind == "api" {
		platform = fmt.Sprintf("api:%d", f.ch.ID)
	}
	res, err := st.Ingest(ctx, []store.Inbound{{ChannelID: f.ch.ID, PlatformID: "in-1", Platform: platform, ExternalID: "cust-1",
		Handle: "@ann", Name: "Ann", Body: "Where is my bag?", Private: true, SentAt: t0, ReceivedAt: t0, Processed: true}})
	if err != nil {
		t.Fatal(err)
	}
	if f.conv, err = st.Conversation(ctx, res[0].ConversationID); err != nil {
		t.Fatal(err)
	}
	events, cancel, _ := f.bus.Subscribe(context.Background(), 0)
	t.Cleanup(cancel)
	f.event = events
	return f
}

// queue stores a reply in the outbox, due now.
func (f *fixture) queue(t *testing.T, key string) (store.Message, store.OutboxEntry) {
	t.Helper()
	m, e, err := f.st.QueueReply(t.Context(), store.Reply{ConversationID: f.conv.ID, Body: "Reply " + key, IdempotencyKey: key, Now: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return m, e
}

func (f *fixture) worker(senders map[string]outbox.Sender) *outbox.Worker {
	return &outbox.Worker{Store: f.st, Bus: f.bus, Senders: senders, Now: f.clock.Now}
}

func (f *fixture) entry(t *testing.T, id int64) store.OutboxEntry {
	t.Helper()
	e, err := f.st.OutboxEntry(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) message(t *testing.T, id int64) store.Message {
	t.Helper()
	m, err := f.st.Message(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// events returns what the bus carried so far about replies.
func (f *fixture) events() []bus.Event {
	var out []bus.Event
	for {
		select {
		case e := <-f.event:
			out = append(out, e)
		default:
			return out
		}
	}
}

// runOnce runs one round and checks how many entries it handled.
func runOnce(t *testing.T, w *outbox.Worker, want int) {
	t.Helper()
	n, err := w.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("RunOnce handled %d entries, want %d", n, want)
	}
}

// recorder is a Sender that remembers every call and answers as told.
type recorder struct {
	mu     sync.Mutex
	calls  []outbox.Delivery
	perKey map[string]int
	answer func(n int, d outbox.Delivery) (string, error) // n counts from 1
}

func (r *recorder) Send(_ context.Context, d outbox.Delivery) (string, error) {
	r.mu.Lock()
	r.calls = append(r.calls, d)
	if r.perKey == nil {
		r.perKey = map[string]int{}
	}
	r.perKey[d.Key]++
	n := len(r.calls)
	r.mu.Unlock()
	if r.answer == nil {
		return "p-" + d.Key, nil
	}
	return r.answer(n, d)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func TestDeliverSuccess(t *testing.T) {
	f := newFixture(t, "api", nil)
	msg, entry := f.queue(t, "k1")
	rec := &recorder{}
	w := f.worker(map[string]outbox.Sender{"api": rec})

	runOnce(t, w, 1)

	if rec.count() != 1 {
		t.Fatalf("sender called %d times", rec.count())
	}
	d := rec.calls[0]
	if d.Key != "k1" || d.Channel.ID != f.ch.ID || d.Conversation.ID != f.conv.ID || d.Message.ID != msg.ID {
		t.Errorf("delivery: key %q channel %d conversation %d message %d", d.Key, d.Channel.ID, d.Conversation.ID, d.Message.ID)
	}
	if d.Message.Body != "Reply k1" || d.Message.ReplyTo != "in-1" {
		t.Errorf("delivery message: body %q reply_to %q", d.Message.Body, d.Message.ReplyTo)
	}
	if d.To.ExternalID != "cust-1" || d.To.Platform != fmt.Sprintf("api:%d", f.ch.ID) {
		t.Errorf("delivery to %+v", d.To)
	}
	e := f.entry(t, entry.ID)
	if e.State != store.OutboxSent || e.PlatformID != "p-k1" || e.Attempts != 1 {
		t.Errorf("entry: state %s platform id %q attempts %d", e.State, e.PlatformID, e.Attempts)
	}
	m := f.message(t, msg.ID)
	if m.Delivery != store.Sent || m.PlatformID != "p-k1" || m.DeliveryError != "" {
		t.Errorf("message: delivery %s platform id %q error %q", m.Delivery, m.PlatformID, m.DeliveryError)
	}
	ev := f.events()
	if len(ev) != 1 || ev[0].Type != bus.ReplyDelivered || ev[0].MessageID != msg.ID || ev[0].ConversationID != f.conv.ID || ev[0].ChannelID != f.ch.ID {
		t.Errorf("events = %+v, want one %s", ev, bus.ReplyDelivered)
	}
	if n, _ := f.st.OutboxDepth(t.Context()); n != 0 {
		t.Errorf("outbox depth %d", n)
	}
	// Delivered is done: nothing is sent again, however late it gets.
	f.clock.Set(t0.Add(24 * time.Hour))
	runOnce(t, w, 0)
	if rec.count() != 1 {
		t.Errorf("sender called %d times", rec.count())
	}
}

func TestBackoff(t *testing.T) {
	w := &outbox.Worker{BaseDelay: 2 * time.Second, MaxDelay: time.Minute}
	tests := []struct {
		attempt int
		max     time.Duration // the wait is between max/2 and max
	}{
		{0, 2 * time.Second},
		{1, 2 * time.Second},
		{2, 4 * time.Second},
		{3, 8 * time.Second},
		{4, 16 * time.Second},
		{5, 32 * time.Second},
		{6, time.Minute}, // 64s, capped
		{7, time.Minute},
		{60, time.Minute},
		{1000, time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for i := 0; i < 200; i++ {
				d := w.Backoff(tt.attempt)
				if d < tt.max/2 || d > tt.max {
					t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.max/2, tt.max)
				}
				seen[d] = true
			}
			if len(seen) < 2 {
				t.Errorf("Backoff(%d) has no jitter: always %v", tt.attempt, w.Backoff(tt.attempt))
			}
		})
	}
	t.Run("grows until the cap", func(t *testing.T) {
		// Below the cap the lower bound of each attempt is the upper bound
		// of the one before.
		for n := 2; n <= 5; n++ {
			if d, prev := w.Backoff(n), w.Backoff(n-1); d < prev {
				t.Fatalf("Backoff(%d) = %v below Backoff(%d) = %v", n, d, n-1, prev)
			}
		}
	})
	t.Run("defaults", func(t *testing.T) {
		var w outbox.Worker
		if d := w.Backoff(1); d < time.Second || d > 2*time.Second {
			t.Errorf("Backoff(1) = %v with defaults, want 1s..2s", d)
		}
		if d := w.Backoff(100); d < 5*time.Minute || d > 10*time.Minute {
			t.Errorf("Backoff(100) = %v with defaults, want 5m..10m", d)
		}
	})
}

func TestTemporaryFailureThenSuccess(t *testing.T) {
	f := newFixture(t, "api", nil)
	msg, entry := f.queue(t, "k1")
	rec := &recorder{answer: func(n int, d outbox.Delivery) (string, error) {
		if n == 1 {
			return "", errors.New("connection reset by peer")
		}
		return "p-1", nil
	}}
	w := f.worker(map[string]outbox.Sender{"api": rec})
	w.BaseDelay, w.MaxDelay = 10*time.Second, time.Hour

	runOnce(t, w, 1)

	e := f.entry(t, entry.ID)
	if e.State != store.OutboxPending || e.Attempts != 1 || !strings.Contains(e.LastError, "connection reset") {
		t.Fatalf("after attempt 1: state %s attempts %d error %q", e.State, e.Attempts, e.LastError)
	}
	// First retry: Backoff(1) with jitter, between BaseDelay/2 and BaseDelay.
	if e.NextAttemptAt.Before(t0.Add(5*time.Second)) || e.NextAttemptAt.After(t0.Add(10*time.Second)) {
		t.Fatalf("next attempt at %v, want 5s..10s after %v", e.NextAttemptAt, t0)
	}
	m := f.message(t, msg.ID)
	if m.Delivery != store.Queued || !strings.Contains(m.DeliveryError, "connection reset") {
		t.Errorf("message: delivery %s error %q; want still queued, with the error shown", m.Delivery, m.DeliveryError)
	}
	if ev := f.events(); len(ev) != 1 || ev[0].Type != bus.ReplyRetrying || !strings.Contains(ev[0].Detail, "connection reset") {
		t.Errorf("events = %+v, want one %s", ev, bus.ReplyRetrying)
	}

	// Not before its time, even though the lease was released.
	runOnce(t, w, 0)
	f.clock.Set(e.NextAttemptAt.Add(-time.Millisecond))
	runOnce(t, w, 0)
	if rec.count() != 1 {
		t.Fatalf("sent %d times before the retry was due", rec.count())
	}

	f.clock.Set(e.NextAttemptAt)
	runOnce(t, w, 1)
	e = f.entry(t, entry.ID)
	if e.State != store.OutboxSent || e.Attempts != 2 || e.PlatformID != "p-1" {
		t.Errorf("after attempt 2: state %s attempts %d platform id %q", e.State, e.Attempts, e.PlatformID)
	}
	if m := f.message(t, msg.ID); m.Delivery != store.Sent || m.DeliveryError != "" {
		t.Errorf("message: delivery %s error %q", m.Delivery, m.DeliveryError)
	}
	if rec.calls[0].Key != rec.calls[1].Key {
		t.Errorf("keys differ between attempts: %q, %q", rec.calls[0].Key, rec.calls[1].Key)
	}
	if ev := f.events(); len(ev) != 1 || ev[0].Type != bus.ReplyDelivered {
		t.Errorf("events = %+v, want one %s", ev, bus.ReplyDelivered)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		min, max   time.Duration // when the next attempt may be
	}{
		{"longer than the backoff wins", 90 * time.Second, 90 * time.Second, 90 * time.Second},
		{"shorter than the backoff loses", time.Millisecond, time.Second, 2 * time.Second},
		{"none", 0, time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "api", nil)
			_, entry := f.queue(t, "k1")
			rec := &recorder{answer: func(n int, d outbox.Delivery) (string, error) {
				if n == 1 {
					return "", &outbox.Error{Status: 429, RetryAfter: tt.retryAfter, Body: "slow down"}
				}
				return "p-1", nil
			}}
			w := f.worker(map[string]outbox.Sender{"api": rec})
			runOnce(t, w, 1)
			e := f.entry(t, entry.ID)
			if e.State != store.OutboxPending {
				t.Fatalf("state %s, want pending", e.State)
			}
			if e.NextAttemptAt.Before(t0.Add(tt.min)) || e.NextAttemptAt.After(t0.Add(tt.max)) {
				t.Fatalf("next attempt %v after the first, want %v..%v", e.NextAttemptAt.Sub(t0), tt.min, tt.max)
			}
			if !strings.Contains(e.LastError, "429") || !strings.Contains(e.LastError, "slow down") {
				t.Errorf("last error %q", e.LastError)
			}
			f.clock.Set(t0.Add(tt.min - time.Millisecond))
			runOnce(t, w, 0)
			f.clock.Set(e.NextAttemptAt)
			runOnce(t, w, 1)
			if e := f.entry(t, entry.ID); e.State != store.OutboxSent {
				t.Errorf("state %s, want sent", e.State)
			}
		})
	}
}

func TestPermanentFailure(t *testing.T) {
	f := newFixture(t, "api", nil)
	msg, entry := f.queue(t, "k1")
	rec := &recorder{answer: func(int, outbox.Delivery) (string, error) {
		return "", &outbox.Error{Permanent: true, Status: 400, Body: `{"error":"recipient blocked us"}`}
	}}
	w := f.worker(map[string]outbox.Sender{"api": rec})

	runOnce(t, w, 1)

	e := f.entry(t, entry.ID)
	if e.State != store.OutboxFailed || !strings.Contains(e.LastError, "recipient blocked us") {
		t.Errorf("entry: state %s error %q", e.State, e.LastError)
	}
	m := f.message(t, msg.ID)
	if m.Delivery != store.Failed || !strings.Contains(m.DeliveryError, "recipient blocked us") || !strings.Contains(m.DeliveryError, "400") {
		t.Errorf("message: delivery %s error %q; want failed with the platform's answer", m.Delivery, m.DeliveryError)
	}
	c, err := f.st.Conversation(t.Context(), f.conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DeliveryFailed {
		t.Error("conversation does not show the failed delivery")
	}
	ev := f.events()
	if len(ev) != 1 || ev[0].Type != bus.ReplyFailed || ev[0].MessageID != msg.ID || !strings.Contains(ev[0].Detail, "recipient blocked us") {
		t.Errorf("events = %+v, want one %s", ev, bus.ReplyFailed)
	}
	f.clock.Set(t0.Add(24 * time.Hour))
	runOnce(t, w, 0)
	if rec.count() != 1 {
		t.Errorf("a permanent failure was tried %d times", rec.count())
	}
}

func TestMaxAttempts(t *testing.T) {
	f := newFixture(t, "api", nil)
	msg, entry := f.queue(t, "k1")
	rec := &recorder{answer: func(int, outbox.Delivery) (string, error) { return "", errors.New("503 from upstream") }}
	w := f.worker(map[string]outbox.Sender{"api": rec})
	w.MaxAttempts, w.BaseDelay, w.MaxDelay = 3, time.Second, time.Second

	now := t0
	for attempt := 1; attempt <= 3; attempt++ {
		runOnce(t, w, 1)
		e := f.entry(t, entry.ID)
		if e.Attempts != attempt {
			t.Fatalf("attempts %d, want %d", e.Attempts, attempt)
		}
		want := store.OutboxPending
		if attempt == 3 {
			want = store.OutboxFailed
		}
		if e.State != want {
			t.Fatalf("after attempt %d: state %s, want %s", attempt, e.State, want)
		}
		now = now.Add(w.MaxDelay)
		f.clock.Set(now)
	}
	runOnce(t, w, 0)
	if rec.count() != 3 {
		t.Errorf("sent %d times, want 3", rec.count())
	}
	m := f.message(t, msg.ID)
	if m.Delivery != store.Failed || !strings.Contains(m.DeliveryError, "503 from upstream") || !strings.Contains(m.DeliveryError, "attempt 3 of 3") {
		t.Errorf("message: delivery %s error %q", m.Delivery, m.DeliveryError)
	}
	var types []string
	for _, e := range f.events() {
		types = append(types, e.Type)
	}
	if want := []string{bus.ReplyRetrying, bus.ReplyRetrying, bus.ReplyFailed}; fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", types, want)
	}
}

func TestNoSenderForKind(t *testing.T) {
	f := newFixture(t, "x", nil)
	msg, entry := f.queue(t, "k1")
	rec := &recorder{}
	w := f.worker(map[string]outbox.Sender{"api": rec})

	runOnce(t, w, 1)

	if rec.count() != 0 {
		t.Errorf("the api sender was used for an x channel")
	}
	if e := f.entry(t, entry.ID); e.State != store.OutboxFailed {
		t.Errorf("entry state %s, want failed", e.State)
	}
	m := f.message(t, msg.ID)
	if m.Delivery != store.Failed || !strings.Contains(m.DeliveryError, "no sender for x channels") {
		t.Errorf("message: delivery %s error %q", m.Delivery, m.DeliveryError)
	}
	if ev := f.events(); len(ev) != 1 || ev[0].Type != bus.ReplyFailed {
		t.Errorf("events = %+v, want one %s", ev, bus.ReplyFailed)
	}
}

// cancelOnWith is a log handler that cancels a context as soon as the
// worker starts on an entry (deliver's first step is log.With): the moment
// between claiming an entry and sending it.
type cancelOnWith struct {
	slog.Handler
	cancel context.CancelFunc
}

func (h cancelOnWith) WithAttrs([]slog.Attr) slog.Handler { h.cancel(); return h }

func TestShutdownBeforeSendKeepsEntry(t *testing.T) {
	f := newFixture(t, "api", nil)
	_, entry := f.queue(t, "k1")
	rec := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := f.worker(map[string]outbox.Sender{"api": rec})
	w.Log = slog.New(cancelOnWith{Handler: slog.DiscardHandler, cancel: cancel})

	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	e := f.entry(t, entry.ID)
	if e.State != store.OutboxPending {
		t.Fatalf("a reply caught by shutdown is %s (%q); want pending for the next run", e.State, e.LastError)
	}
	if ev := f.events(); len(ev) != 0 {
		t.Errorf("events %+v", ev)
	}
	// The next process picks it up when the lease ends.
	next := f.worker(map[string]outbox.Sender{"api": rec})
	f.clock.Set(t0.Add(time.Minute))
	runOnce(t, next, 1)
	if e := f.entry(t, entry.ID); e.State != store.OutboxSent || rec.count() != 1 {
		t.Errorf("state %s after %d sends", e.State, rec.count())
	}
}

// fakeIntegration plays an api channel's callback endpoint that, as the
// docs ask, dedupes on Idempotency-Key.
type fakeIntegration struct {
	*httptest.Server
	mu         sync.Mutex
	requests   map[string]int    // per key
	ids        map[string]string // key → the id it gave the delivered reply
	deliveries int               // replies shown to the customer
	bodies     []string
}

func newFakeIntegration(t *testing.T, secret string) *fakeIntegration {
	fi := &fakeIntegration{requests: map[string]int{}, ids: map[string]string{}}
	fi.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if apichannel.Sign(secret, r.Header.Get("X-Webcare-Timestamp"), body) != strings.TrimPrefix(r.Header.Get("X-Webcare-Signature"), "sha256=") {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		var p apichannel.Payload
		if key == "" || json.Unmarshal(body, &p) != nil || p.ID != key {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		fi.mu.Lock()
		defer fi.mu.Unlock()
		fi.requests[key]++
		id, seen := fi.ids[key]
		if !seen {
			fi.deliveries++
			id = fmt.Sprintf("ext-%d", fi.deliveries)
			fi.ids[key] = id
			fi.bodies = append(fi.bodies, p.Text)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"id": id})
	}))
	t.Cleanup(fi.Close)
	return fi
}

// TestCrashMidSendNoDoubleDelivery: a worker's process dies after the
// integration accepted a reply but before the delivery was recorded. The
// next worker sends it again once the lease is over, with the same key, and
// the integration shows it once.
func TestCrashMidSendNoDoubleDelivery(t *testing.T) {
	const secret = "cb-secret"
	fi := newFakeIntegration(t, secret)
	f := newFixture(t, "api", map[string]string{"callback_url": fi.URL, "callback_secret": secret})
	msg, entry := f.queue(t, "reply-key-1")
	real := &apichannel.Sender{}

	// The dying worker: the request goes out and is answered, then the
	// process stops before it can write anything. Its context ending is
	// what a dying process looks like from inside deliver; nothing after
	// the send reaches the store.
	ctx, die := context.WithCancel(t.Context())
	defer die()
	dying := f.worker(map[string]outbox.Sender{"api": outbox.SenderFunc(func(sctx context.Context, d outbox.Delivery) (string, error) {
		if _, err := real.Send(sctx, d); err != nil {
			t.Errorf("first send: %v", err)
		}
		die()
		return "", ctx.Err()
	})})
	if n, err := dying.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	e := f.entry(t, entry.ID)
	if e.State != store.OutboxPending || e.Attempts != 1 || e.LastError != "" {
		t.Fatalf("after the crash: state %s attempts %d error %q; want pending, untouched", e.State, e.Attempts, e.LastError)
	}
	if m := f.message(t, msg.ID); m.Delivery != store.Queued {
		t.Fatalf("after the crash the message is %s", m.Delivery)
	}

	next := f.worker(map[string]outbox.Sender{"api": real})
	// The dead worker's lease still holds.
	runOnce(t, next, 0)
	f.clock.Set(t0.Add(time.Minute - time.Millisecond))
	runOnce(t, next, 0)
	// And then it does not.
	f.clock.Set(t0.Add(time.Minute))
	runOnce(t, next, 1)

	fi.mu.Lock()
	requests, deliveries, id := fi.requests["reply-key-1"], fi.deliveries, fi.ids["reply-key-1"]
	keys := len(fi.requests)
	fi.mu.Unlock()
	if keys != 1 || requests != 2 {
		t.Errorf("integration saw %d keys, %d requests for ours; want the same key twice", keys, requests)
	}
	if deliveries != 1 {
		t.Errorf("integration delivered the reply %d times, want once", deliveries)
	}
	e = f.entry(t, entry.ID)
	if e.State != store.OutboxSent || e.Attempts != 2 || e.PlatformID != id {
		t.Errorf("entry: state %s attempts %d platform id %q; want sent, 2, %q", e.State, e.Attempts, e.PlatformID, id)
	}
	if m := f.message(t, msg.ID); m.Delivery != store.Sent || m.PlatformID != id {
		t.Errorf("message: delivery %s platform id %q", m.Delivery, m.PlatformID)
	}
}

// A platform that reports failure before the send is recorded (WhatsApp
// can, within the same second) is heard: the reply shows failed and the
// event says so with the reason.
func TestEarlyFailureReportIsAnnounced(t *testing.T) {
	f := newFixture(t, "api", nil)
	msg, _ := f.queue(t, "k1")
	w := f.worker(map[string]outbox.Sender{"api": outbox.SenderFunc(func(ctx context.Context, d outbox.Delivery) (string, error) {
		// The platform's receipt overtakes the answer to the send.
		if _, _, err := f.st.UpdateDelivery(ctx, d.Channel.ID, "p-early", store.Failed, "The number is not on WhatsApp.", f.clock.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("early report: %v", err)
		}
		return "p-early", nil
	})})
	runOnce(t, w, 1)
	if m := f.message(t, msg.ID); m.Delivery != store.Failed || m.DeliveryError != "The number is not on WhatsApp." {
		t.Errorf("message: %s %q", m.Delivery, m.DeliveryError)
	}
	if ev := f.events(); len(ev) != 1 || ev[0].Type != bus.ReplyFailed || ev[0].Detail != "The number is not on WhatsApp." {
		t.Errorf("events = %+v, want one %s with the reason", ev, bus.ReplyFailed)
	}
}

// Shutting down does not cut a send off halfway: the platform may have
// the reply already, and a cut-off send is sent again by the next
// instance. The send finishes and is recorded.
func TestShutdownFinishesSendsUnderWay(t *testing.T) {
	f := newFixture(t, "api", nil)
	msg, entry := f.queue(t, "reply-key-1")
	ctx, shutdown := context.WithCancel(t.Context())
	defer shutdown()
	w := f.worker(map[string]outbox.Sender{"api": outbox.SenderFunc(func(sctx context.Context, d outbox.Delivery) (string, error) {
		shutdown()
		select {
		case <-sctx.Done():
			return "", sctx.Err()
		case <-time.After(100 * time.Millisecond): // the platform answers
			return "platform-1", nil
		}
	})})
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if e := f.entry(t, entry.ID); e.State != store.OutboxSent || e.PlatformID != "platform-1" {
		t.Errorf("entry after shutdown: %s %q %q; want sent", e.State, e.PlatformID, e.LastError)
	}
	if m := f.message(t, msg.ID); m.Delivery != store.Sent {
		t.Errorf("message: %s", m.Delivery)
	}
}

func TestConcurrentWorkersSendOnce(t *testing.T) {
	f := newFixture(t, "api", nil)
	const replies = 50
	var entries []store.OutboxEntry
	for i := 0; i < replies; i++ {
		_, e := f.queue(t, fmt.Sprintf("k%02d", i))
		entries = append(entries, e)
	}
	rec := &recorder{}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		w := f.worker(map[string]outbox.Sender{"api": rec})
		w.Concurrency = 4
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := w.RunOnce(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.perKey) != replies || len(rec.calls) != replies {
		t.Errorf("%d calls for %d keys, want %d each", len(rec.calls), len(rec.perKey), replies)
	}
	for k, n := range rec.perKey {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
	for _, e := range entries {
		if got := f.entry(t, e.ID); got.State != store.OutboxSent || got.Attempts != 1 {
			t.Errorf("%s: state %s attempts %d", e.IdempotencyKey, got.State, got.Attempts)
		}
	}
	if n, _ := f.st.OutboxDepth(t.Context()); n != 0 {
		t.Errorf("outbox depth %d", n)
	}
}

func TestRunDeliversOnWakeAndStops(t *testing.T) {
	f := newFixture(t, "api", nil)
	rec := &recorder{}
	w := f.worker(map[string]outbox.Sender{"api": rec})
	w.Poll = time.Hour // only Wake can make it look
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	_, entry := f.queue(t, "k1")
	w.Wake()
	select {
	case e := <-f.event:
		if e.Type != bus.ReplyDelivered {
			t.Fatalf("event %s, want %s", e.Type, bus.ReplyDelivered)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reply not delivered after Wake")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if e := f.entry(t, entry.ID); e.State != store.OutboxSent {
		t.Errorf("state %s", e.State)
	}
}

func TestRateKeepsChannelBelowItsLimit(t *testing.T) {
	f := newFixture(t, "x", nil)
	rec := &recorder{}
	w := f.worker(map[string]outbox.Sender{"x": rec})
	// 5 sends a second: slots up to 2 s ahead are waited for, later ones
	// deferred to a slot of their own.
	w.Rates = map[string]float64{"x": 5}
	w.Concurrency = 20
	var entries []store.OutboxEntry
	for i := range 20 {
		_, e := f.queue(t, fmt.Sprintf("k%d", i))
		entries = append(entries, e)
	}
	start := time.Now()
	runOnce(t, w, 20)
	took := time.Since(start)
	sent, deferred := rec.count(), 0
	nextAt := map[time.Time]bool{}
	for _, e := range entries {
		got := f.entry(t, e.ID)
		switch got.State {
		case store.OutboxSent:
		case store.OutboxPending:
			deferred++
			if !got.NextAttemptAt.After(f.clock.Now().Add(2 * time.Second)) {
				t.Errorf("deferred entry %d is due again within the waited window (%v)", e.ID, got.NextAttemptAt)
			}
			if nextAt[got.NextAttemptAt] {
				t.Errorf("two deferred entries come back at %v: they would herd", got.NextAttemptAt)
			}
			nextAt[got.NextAttemptAt] = true
			if m := f.message(t, got.MessageID); m.DeliveryError != "" || m.Delivery != store.Queued {
				t.Errorf("deferred reply shows %q / %q to the agent; a busy channel is not an error", m.Delivery, m.DeliveryError)
			}
		default:
			t.Errorf("entry %d is %s", e.ID, got.State)
		}
	}
	if sent+deferred != 20 || sent != 11 {
		t.Errorf("sent %d and deferred %d of 20; want the 11 whose slots are within 2 s", sent, deferred)
	}
	// The sends that went were spaced 200 ms apart.
	if min := time.Duration(sent-1) * 200 * time.Millisecond; took < min {
		t.Errorf("%d sends took %v; at 5/s they need at least %v", sent, took, min)
	}
	for _, d := range rec.calls {
		if !d.LastInbound.Equal(t0) {
			t.Errorf("delivery LastInbound = %v, want the customer's message at %v", d.LastInbound, t0)
		}
		if d.Origin != "" {
			t.Errorf("Origin = %q on a conversation that was never moved", d.Origin)
		}
	}
}

// TestDeferredReplyKeepsItsPlace: on a channel paced far above the short
// wait (X: one post every 9 s), a reply held back comes back to the slot
// it booked and goes; it used to book a new slot each time it came back
// and so wait for ever.
func TestDeferredReplyKeepsItsPlace(t *testing.T) {
	f := newFixture(t, "x", nil)
	rec := &recorder{}
	w := f.worker(map[string]outbox.Sender{"x": rec})
	w.Rates = map[string]float64{"x": 1.0 / 9}
	_, e1 := f.queue(t, "k1")
	_, e2 := f.queue(t, "k2")
	_, e3 := f.queue(t, "k3")
	runOnce(t, w, 3)
	if rec.count() != 1 {
		t.Fatalf("%d sends in the first round, want 1", rec.count())
	}
	// The two held back (sent side by side, in either order) booked the
	// slots at 9 s and 18 s; each goes at its own.
	due := map[time.Time]bool{}
	for _, e := range []store.OutboxEntry{e1, e2, e3} {
		if got := f.entry(t, e.ID); got.State == store.OutboxPending {
			due[got.NextAttemptAt] = true
		}
	}
	if len(due) != 2 || !due[t0.Add(9*time.Second)] || !due[t0.Add(18*time.Second)] {
		t.Fatalf("held back until %v; want one at 9 s and one at 18 s", due)
	}
	f.clock.Set(t0.Add(9 * time.Second))
	runOnce(t, w, 1)
	f.clock.Set(t0.Add(18 * time.Second))
	runOnce(t, w, 1)
	for _, e := range []store.OutboxEntry{e1, e2, e3} {
		if got := f.entry(t, e.ID); got.State != store.OutboxSent {
			t.Errorf("%s is %s after its slot came; want sent", e.IdempotencyKey, got.State)
		}
	}
	if rec.count() != 3 {
		t.Errorf("%d sends, want 3", rec.count())
	}
	// A newcomer queues behind them, not before.
	_, e4 := f.queue(t, "k4")
	runOnce(t, w, 1)
	if got := f.entry(t, e4.ID); got.State != store.OutboxPending || !got.NextAttemptAt.Equal(t0.Add(27*time.Second)) {
		t.Errorf("k4: %s due %v; want the next free slot at 27 s", got.State, got.NextAttemptAt)
	}
}

// TestHeldBackReplyIsShown: a reply that has waited for its channel's
// rate longer than HeldBackNotice tells the agent why, announces it, and
// counts on /metrics until it goes.
func TestHeldBackReplyIsShown(t *testing.T) {
	f := newFixture(t, "x", nil)
	rec := &recorder{}
	w := f.worker(map[string]outbox.Sender{"x": rec})
	w.Rates = map[string]float64{"x": 1.0 / 90} // one every 90 s: the third waits 3 minutes
	w.Concurrency = 1                           // one at a time, in order
	var entries []store.OutboxEntry
	for i := range 3 {
		_, e := f.queue(t, fmt.Sprintf("k%d", i))
		entries = append(entries, e)
	}
	for range 3 {
		runOnce(t, w, 1) // k0 goes; k1 and k2 are booked at 90 s and 180 s
	}
	if got := f.entry(t, entries[2].ID); !got.NextAttemptAt.Equal(t0.Add(180 * time.Second)) {
		t.Fatalf("k2 due %v, want its slot at 180 s", got.NextAttemptAt)
	}
	if n, _ := w.HeldBack(); n != 0 {
		t.Errorf("held back %d right away; the agent needs no note yet", n)
	}
	f.events()
	// k1 and k2 come back early (another instance, a restart: not at their
	// slot): k1 is deferred again after a minute and a half of waiting.
	f.clock.Set(t0.Add(80 * time.Second))
	if err := f.st.RetryOutbox(t.Context(), entries[2].ID, "", t0.Add(80*time.Second)); err != nil {
		t.Fatal(err)
	}
	runOnce(t, w, 1) // k2, due early by hand: still 100 s before its slot
	got := f.entry(t, entries[2].ID)
	m := f.message(t, got.MessageID)
	if got.State != store.OutboxPending || !strings.Contains(m.DeliveryError, "Waiting its turn since") || !strings.Contains(m.DeliveryError, "one reply every 1m30s") {
		t.Errorf("k2 held back 80 s: %s, agent sees %q", got.State, m.DeliveryError)
	}
	if n, oldest := w.HeldBack(); n != 1 || oldest != 80*time.Second {
		t.Errorf("HeldBack = %d, %v; want 1, 80s", n, oldest)
	}
	if ev := f.events(); len(ev) != 1 || ev[0].Type != bus.ReplyRetrying {
		t.Errorf("events %+v; want one reply.retrying so the page shows why", ev)
	}
	f.clock.Set(t0.Add(180 * time.Second))
	runOnce(t, w, 1) // k1, due since 90 s
	runOnce(t, w, 1) // k2 at its slot
	if rec.count() != 3 {
		t.Errorf("%d sends, want all 3", rec.count())
	}
	if n, _ := w.HeldBack(); n != 0 {
		t.Errorf("HeldBack = %d after every reply went", n)
	}
}

// TestAcceptedSendIsNeverSentAgain: a platform that answers with an id the
// store holds already (here the customer's own message's) makes recording
// the send conflict; the send is recorded without the id and never posted
// again when the lease runs out.
func TestAcceptedSendIsNeverSentAgain(t *testing.T) {
	f := newFixture(t, "api", nil)
	msg, entry := f.queue(t, "k1")
	rec := &recorder{answer: func(int, outbox.Delivery) (string, error) { return "in-1", nil }}
	w := f.worker(map[string]outbox.Sender{"api": rec})
	runOnce(t, w, 1)
	f.clock.Set(t0.Add(10 * time.Minute)) // long past the lease
	if n, err := w.RunOnce(t.Context()); err != nil || n != 0 {
		t.Fatalf("after the lease: %d entries claimed again (%v); the platform has the reply already", n, err)
	}
	if rec.count() != 1 {
		t.Errorf("sent %d times, want once", rec.count())
	}
	if e := f.entry(t, entry.ID); e.State != store.OutboxSent {
		t.Errorf("entry is %s, want sent", e.State)
	}
	if m := f.message(t, msg.ID); m.Delivery != store.Sent || m.PlatformID != "" {
		t.Errorf("message %s with platform id %q; want sent, without the id that belongs to another message", m.Delivery, m.PlatformID)
	}
}

// flakyStore fails the first records of a send, as a database that is
// busy or restarting does.
type flakyStore struct {
	*sqlite.Store
	mu    sync.Mutex
	fails int
}

func (s *flakyStore) DeliverOutbox(ctx context.Context, id int64, platformID string, now time.Time) error {
	s.mu.Lock()
	if s.fails > 0 {
		s.fails--
		s.mu.Unlock()
		return errors.New("database is restarting")
	}
	s.mu.Unlock()
	return s.Store.DeliverOutbox(ctx, id, platformID, now)
}

func TestRecordingASendIsTriedAgain(t *testing.T) {
	f := newFixture(t, "api", nil)
	_, entry := f.queue(t, "k1")
	rec := &recorder{}
	w := f.worker(map[string]outbox.Sender{"api": rec})
	w.Store = &flakyStore{Store: f.st, fails: 3}
	runOnce(t, w, 1)
	if e := f.entry(t, entry.ID); e.State != store.OutboxSent || e.PlatformID != "p-k1" {
		t.Errorf("entry %s with %q after three failed records; want sent with p-k1", e.State, e.PlatformID)
	}
	f.clock.Set(t0.Add(10 * time.Minute))
	runOnce(t, w, 0)
	if rec.count() != 1 {
		t.Errorf("sent %d times, want once", rec.count())
	}
}

// TestDeliveryCarriesTheThread: a reply's delivery names the platform ids
// of the conversation before it (the customer's and earlier replies),
// oldest first, for e-mail's References; notes and the reply itself are
// not among them.
func TestDeliveryCarriesTheThread(t *testing.T) {
	f := newFixture(t, "api", nil)
	rec := &recorder{}
	w := f.worker(map[string]outbox.Sender{"api": rec})
	f.queue(t, "k1")
	runOnce(t, w, 1)
	if _, err := f.st.AddNote(t.Context(), f.conv.ID, 0, "internal", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.queue(t, "k2")
	runOnce(t, w, 1)
	if got := rec.calls[1].Thread; !slices.Equal(got, []string{"in-1", "p-k1"}) {
		t.Errorf("thread of the second reply %v, want [in-1 p-k1]", got)
	}
}
