package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/store"
)

// wireMessage is the request body as the server sees it, declared apart from
// the simulator's own type so that the test checks the wire format.
type wireMessage struct {
	ID   string `json:"id"`
	From struct {
		ID     string `json:"id"`
		Handle string `json:"handle"`
		Name   string `json:"name"`
	} `json:"from"`
	Text     string `json:"text"`
	ReplyTo  string `json:"reply_to"`
	Private  *bool  `json:"private"`
	Language string `json:"language"`
	Subject  string `json:"subject"`
	SentAt   string `json:"sent_at"`
}

type received struct {
	channel store.Channel
	msg     wireMessage
}

// fakeServer is the webcare ingest endpoint as far as the simulator can
// tell: it checks every request, dedupes on (channel, id) and records what
// it was sent.
type fakeServer struct {
	t        *testing.T
	channels map[int64]SeededChannel
	refuse   bool // answer every message with a problem

	mu   sync.Mutex
	seen map[string]bool
	got  []received
}

func newFakeServer(t *testing.T, channels []SeededChannel) (*fakeServer, *httptest.Server) {
	f := &fakeServer{t: t, channels: map[int64]SeededChannel{}, seen: map[string]bool{}}
	for _, c := range channels {
		f.channels[c.Channel.ID] = c
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/channels/{id}/messages", f.ingest)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeServer) problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}

func (f *fakeServer) ingest(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	ch, ok := f.channels[id]
	if !ok {
		f.t.Errorf("post to unknown channel %s", r.PathValue("id"))
		f.problem(w, http.StatusNotFound, "no such channel")
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+ch.Token {
		f.t.Errorf("channel %d: Authorization %q", id, got)
		f.problem(w, http.StatusUnauthorized, "bad token")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type %q", ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var m wireMessage
	if err := dec.Decode(&m); err != nil {
		f.t.Errorf("body: %v", err)
		f.problem(w, http.StatusBadRequest, err.Error())
		return
	}
	f.check(ch.Channel, m)
	if f.refuse {
		f.problem(w, http.StatusServiceUnavailable, "ingest paused")
		return
	}

	f.mu.Lock()
	key := fmt.Sprint(id, "/", m.ID)
	dup := f.seen[key]
	f.seen[key] = true
	f.got = append(f.got, received{ch.Channel, m})
	f.mu.Unlock()
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message_id":1,"conversation_id":2,"contact_id":3,"duplicate":%t}`, dup)
}

// check holds a message to what the API promises and what a platform's
// messages look like.
func (f *fakeServer) check(ch store.Channel, m wireMessage) {
	t := f.t
	if m.ID == "" || m.From.ID == "" || m.Text == "" || m.Language == "" || m.Private == nil {
		t.Errorf("%s: incomplete message %+v", ch.Kind, m)
		return
	}
	if !utf8.ValidString(m.Text) {
		t.Errorf("%s: text is not UTF-8", ch.Kind)
	}
	at, err := time.Parse(time.RFC3339, m.SentAt)
	if err != nil || at.After(time.Now().Add(time.Second)) {
		t.Errorf("%s: sent_at %q: %v", ch.Kind, m.SentAt, err)
	}
	switch ch.Kind {
	case "whatsapp", "telegram", "email", "webchat", "api":
		if !*m.Private {
			t.Errorf("%s message not private", ch.Kind)
		}
	}
	if mail := ch.Kind == "email" || ch.Kind == "api"; mail != (m.Subject != "") {
		t.Errorf("%s message with subject %q", ch.Kind, m.Subject)
	}
	if ch.Kind == "x" && !*m.Private && xLength(m.Text) > 280 {
		t.Errorf("post on X is %d characters: %q", xLength(m.Text), m.Text)
	}
	shape := map[string]func(string) bool{
		"x":        isDigits,
		"telegram": isDigits,
		"mastodon": isDigits,
		"whatsapp": func(s string) bool { return strings.HasPrefix(s, "wamid.") },
		"email": func(s string) bool {
			return strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") && strings.Contains(s, "@")
		},
		"facebook": func(s string) bool { return strings.HasPrefix(s, "m_") || strings.Contains(s, "_") },
	}
	if ok, known := shape[ch.Kind]; known && !ok(m.ID) {
		t.Errorf("%s message id %q does not look like the platform's", ch.Kind, m.ID)
	}
	if ch.Kind == "email" && !strings.Contains(m.From.ID, "@") {
		t.Errorf("e-mail author %q", m.From.ID)
	}
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func (f *fakeServer) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

// testChannels are channels as Seed would return them, without a store.
func testChannels() []SeededChannel {
	var out []SeededChannel
	for i, c := range channelSpecs() {
		c.ID = int64(i + 1)
		out = append(out, SeededChannel{Channel: c, Token: "wch_test_" + c.Kind})
	}
	return out
}

func TestSimulatorRate(t *testing.T) {
	channels := testChannels()
	f, srv := newFakeServer(t, channels)
	sim := &Simulator{BaseURL: srv.URL, Channels: channels, Rate: 50, Rand: rand.New(rand.NewPCG(1, 2))}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := sim.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Timing on a busy test machine is loose; this only catches a simulator
	// that does not pace at all, or far too slowly.
	n := len(f.received())
	if n < 20 || n > 80 {
		t.Errorf("%d messages in a second at rate 50", n)
	}
	// A message that reached the server just as the second ran out was
	// not counted: its answer was never read. Only those may be missing.
	st := sim.Stats()
	if counted := st.Sent + st.Duplicates; counted > int64(n) || int64(n)-counted > 5 || st.Errors != 0 {
		t.Errorf("stats %+v for %d messages received", st, n)
	}
}

func TestSimulatorTraffic(t *testing.T) {
	_, demo, _ := seeded(t)
	f, srv := newFakeServer(t, demo.Channels)
	sim := &Simulator{BaseURL: srv.URL, Channels: demo.Channels, Regulars: demo.Regulars, Rate: 1, Rand: rand.New(rand.NewPCG(3, 4))}
	if err := sim.Burst(context.Background(), 600); err != nil {
		t.Fatalf("Burst: %v", err)
	}
	got := f.received()
	if len(got) != 600 {
		t.Fatalf("server got %d messages, want 600", len(got))
	}

	stats := sim.Stats()
	if stats.Errors != 0 || stats.Sent+stats.Duplicates != 600 {
		t.Errorf("stats %+v", stats)
	}
	if stats.Redeliveries == 0 || stats.Duplicates < stats.Redeliveries/2 {
		t.Errorf("stats %+v: want some re-deliveries, answered as duplicates", stats)
	}
	if stats.Continuations < 60 {
		t.Errorf("%d continuations of 600, want about 30%%", stats.Continuations)
	}

	// Ids are unique except for deliberate re-deliveries of the very same
	// message; authors come back.
	first := map[string]wireMessage{}
	authors := map[string]int{}
	lastReplies := map[string]bool{}
	for _, r := range demo.Regulars {
		lastReplies[r.LastReplyID] = true
	}
	repeats, regularsBack, kinds, langs := 0, 0, map[string]int{}, map[string]int{}
	for _, r := range got {
		key := fmt.Sprint(r.channel.ID, "/", r.msg.ID)
		if earlier, ok := first[key]; ok {
			if earlier.Text != r.msg.Text || earlier.From.ID != r.msg.From.ID {
				t.Errorf("id %s reused for a different message", r.msg.ID)
			}
			repeats++
			continue
		}
		first[key] = r.msg
		authors[fmt.Sprint(r.channel.ID, "/", r.msg.From.ID)]++
		if lastReplies[r.msg.ReplyTo] {
			regularsBack++
		}
		kinds[r.channel.Kind]++
		langs[r.msg.Language]++
	}
	if int64(repeats) != stats.Duplicates {
		t.Errorf("%d repeated ids, %d duplicates counted", repeats, stats.Duplicates)
	}
	several := 0
	for _, n := range authors {
		if n > 1 {
			several++
		}
	}
	if several < 20 {
		t.Errorf("%d authors wrote more than once, want conversations with several messages", several)
	}
	if regularsBack == 0 {
		t.Error("no regular replied to Heron's last message to them")
	}
	for _, k := range []string{"x", "facebook", "whatsapp", "email", "webchat"} {
		if kinds[k] == 0 {
			t.Errorf("no messages on %s: %v", k, kinds)
		}
	}
	if len(langs) < 8 {
		t.Errorf("only %d languages: %v", len(langs), langs)
	}
}

func TestSimulatorCrisis(t *testing.T) {
	sim := &Simulator{BaseURL: "http://127.0.0.1:1", Channels: testChannels(), Rate: 1, Rand: rand.New(rand.NewPCG(5, 6))}
	if err := sim.setup(); err != nil {
		t.Fatal(err)
	}
	share := func(crisis bool) float64 {
		n := 0
		for range 1000 {
			if sim.next(crisis).crisis {
				n++
			}
		}
		return float64(n) / 1000
	}
	if s := share(false); s != 0 {
		t.Errorf("crisis texts outside a surge: %.2f", s)
	}
	if s := share(true); s < 0.6 {
		t.Errorf("crisis texts during a surge: %.2f, want them to dominate", s)
	}
}

func TestSurgeProfile(t *testing.T) {
	p := SurgeProfile{At: time.Minute, Factor: 10, For: 2 * time.Minute}
	tests := []struct {
		elapsed time.Duration
		want    bool
	}{{0, false}, {time.Minute - 1, false}, {time.Minute, true}, {2 * time.Minute, true}, {3 * time.Minute, false}}
	for _, tt := range tests {
		if got := p.active(tt.elapsed); got != tt.want {
			t.Errorf("active(%v) = %t", tt.elapsed, got)
		}
	}
	if (SurgeProfile{}).active(time.Minute) {
		t.Error("the zero profile surges")
	}
}

func TestSimulatorCountsRefusals(t *testing.T) {
	channels := testChannels()
	f, srv := newFakeServer(t, channels)
	f.refuse = true
	var logs bytes.Buffer
	var mu sync.Mutex
	sim := &Simulator{
		BaseURL: srv.URL, Channels: channels, Rate: 1,
		Log: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)),
	}
	if err := sim.Burst(context.Background(), 20); err != nil {
		t.Fatal(err)
	}
	if st := sim.Stats(); st.Errors != 20 || st.Sent != 0 {
		t.Errorf("stats %+v, want 20 errors", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "ingest paused") || !strings.Contains(logs.String(), "status=503") {
		t.Errorf("refusals not logged with the problem:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestSimulatorConfig(t *testing.T) {
	ch := testChannels()
	tests := []struct {
		name string
		sim  *Simulator
	}{
		{"no base URL", &Simulator{Channels: ch, Rate: 1}},
		{"relative base URL", &Simulator{BaseURL: "localhost:8080", Channels: ch, Rate: 1}},
		{"no channels", &Simulator{BaseURL: "http://127.0.0.1:1", Rate: 1}},
		{"no token", &Simulator{BaseURL: "http://127.0.0.1:1", Channels: []SeededChannel{{Channel: store.Channel{ID: 1, Kind: "x"}}}, Rate: 1}},
		{"no rate", &Simulator{BaseURL: "http://127.0.0.1:1", Channels: ch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.sim.Run(context.Background()); err == nil {
				t.Error("Run accepted a bad configuration")
			}
		})
	}
}
