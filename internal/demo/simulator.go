package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webcare/webcare/internal/channel"
)

// Simulator posts made-up customer messages to a running webcare server, the
// way channel adapters would, so that `webcare demo` shows a living inbox.
// Each message goes to
//
//	POST {BaseURL}/api/v1/channels/{channel id}/messages
//	Authorization: Bearer {channel token}
//
// with a JSON body {"id", "from": {"id", "handle", "name"}, "text",
// "reply_to", "private", "language", "subject", "sent_at"}. About 30% of the
// messages continue with a seeded regular or an author met earlier in the
// run, and about 2% re-send an earlier message unchanged, as a webhook
// retry does, to show dedupe at work.
//
// Set the exported fields before the first call to Run or Burst and leave
// them alone afterwards. Run and Burst may be called concurrently.
type Simulator struct {
	BaseURL  string           // the server, e.g. "http://127.0.0.1:8080"
	Channels []SeededChannel  // where to post, with their ingest tokens
	Regulars []Regular        // seeded customers who may write again
	Rate     float64          // messages per second outside a surge
	Surge    SurgeProfile     // a crisis partway through Run; zero for none
	Client   *http.Client     // nil: a client with a 10-second timeout
	Log      *slog.Logger     // nil: no logging
	Rand     *rand.Rand       // nil: seeded from the clock
	Now      func() time.Time // nil: time.Now
	// Platforms are the fake platforms by channel kind: a message on a
	// channel of such a kind reaches webcare the way the platform would
	// send it (a signed webhook, a mailbox, a notification to poll); other
	// kinds are posted to the channel's ingest endpoint.
	Platforms map[string]channel.Fake

	once     sync.Once
	setupErr error
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
	texts    textIndex
	weights  []int         // per channel, how often customers use it
	inflight chan struct{} // bounds concurrent requests

	mu         sync.Mutex // guards the fields below, and Rand
	r          *rand.Rand
	ids        idSource
	start      time.Time // when Run began; zero before
	regulars   []*author
	recent     []*author  // a ring of authors made up in this run
	remembered []outgoing // a ring of sent messages, for re-deliveries
	ringAt     [2]int     // next slot in recent and remembered

	generated, sent, duplicates, errs, redeliveries, continuations atomic.Int64
}

// SurgeProfile is a crisis in the simulated traffic: from At after Run
// starts and for For, the rate is multiplied by Factor and most messages
// are about the disruption (an ash cloud over the North Sea, all flights
// cancelled). A zero profile means no surge.
type SurgeProfile struct {
	At     time.Duration
	Factor float64
	For    time.Duration
}

func (p SurgeProfile) active(elapsed time.Duration) bool {
	return p.Factor > 0 && p.For > 0 && elapsed >= p.At && elapsed < p.At+p.For
}

// Stats counts what a Simulator has done.
type Stats struct {
	Sent          int64 // accepted as new messages
	Duplicates    int64 // answered as already stored
	Errors        int64 // refused by the server or not delivered
	Redeliveries  int64 // earlier messages sent again on purpose
	Continuations int64 // messages from customers who wrote before
}

// Stats returns the counts so far; it is safe to call at any time.
func (s *Simulator) Stats() Stats {
	return Stats{
		Sent: s.sent.Load(), Duplicates: s.duplicates.Load(), Errors: s.errs.Load(),
		Redeliveries: s.redeliveries.Load(), Continuations: s.continuations.Load(),
	}
}

// Tuning of the traffic mix.
const (
	redeliveryShare   = 0.02 // webhook retries
	continuationShare = 0.30 // customers who wrote before
	regularShare      = 0.35 // of those, seeded regulars rather than this run's authors
	crisisShare       = 0.80 // crisis texts during a surge or burst
	maxRecent         = 200  // authors kept for continuations
	maxRemembered     = 100  // messages kept for re-delivery
	maxInFlight       = 32   // concurrent requests
	logEvery          = 100
)

// channelWeights is how often customers use each kind of channel.
var channelWeights = map[string]int{"x": 28, "facebook": 14, "instagram": 8, "whatsapp": 18, "telegram": 4, "mastodon": 4, "email": 10, "webchat": 10, "api": 4}

// languageWeights is who writes to an airline based in Amsterdam.
var languageWeights = []struct {
	lang   string
	weight int
}{{"nl", 28}, {"en", 28}, {"de", 9}, {"fr", 7}, {"es", 7}, {"it", 5}, {"pt", 5}, {"ja", 2}, {"zh", 2}, {"ko", 2}, {"tr", 2}, {"ar", 2}, {"pl", 1}}

// publicKinds are the platforms where customers mostly write in public.
var publicKinds = map[string]bool{"x": true, "facebook": true, "instagram": true, "mastodon": true}

func (s *Simulator) setup() error {
	s.once.Do(func() { s.setupErr = s.init() })
	return s.setupErr
}

func (s *Simulator) init() error {
	u, err := url.Parse(s.BaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("demo: simulator needs an absolute BaseURL, got %q", s.BaseURL)
	}
	if len(s.Channels) == 0 {
		return errors.New("demo: simulator has no channels")
	}
	for _, c := range s.Channels {
		if c.Token == "" || c.Channel.ID == 0 {
			return fmt.Errorf("demo: channel %q has no id or token", c.Channel.Name)
		}
		w, ok := channelWeights[c.Channel.Kind]
		if !ok {
			w = 5
		}
		s.weights = append(s.weights, w)
	}
	s.client, s.log, s.now, s.r = s.Client, s.Log, s.Now, s.Rand
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.r == nil {
		s.r = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2010))
	}
	s.ids = idSource{r: s.r}
	s.texts = newTextIndex(corpus)
	s.inflight = make(chan struct{}, maxInFlight)
	for _, reg := range s.Regulars {
		if a := s.regularAuthor(reg); a != nil {
			s.regulars = append(s.regulars, a)
		}
	}
	return nil
}

// Run posts messages at Rate per second, multiplied during the surge, until
// ctx ends; then it waits for the requests in flight and returns nil. It
// returns an error only if the simulator is misconfigured. Refused messages
// are logged and counted, not returned: a demo keeps going.
func (s *Simulator) Run(ctx context.Context) error {
	if err := s.setup(); err != nil {
		return err
	}
	if !(s.Rate > 0) || math.IsInf(s.Rate, 0) {
		return fmt.Errorf("demo: simulator rate must be a positive number, got %v", s.Rate)
	}
	s.mu.Lock()
	start := s.now()
	s.start = start
	s.mu.Unlock()
	s.log.Info("demo traffic started", "rate", s.Rate, "channels", len(s.Channels), "regulars", len(s.regulars))

	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	next := time.Now()
	surging := false
	for {
		on := s.Surge.active(s.now().Sub(start))
		if on != surging {
			surging = on
			if on {
				s.log.Warn("demo surge started: ash cloud over the North Sea, flights cancelled", "factor", s.Surge.Factor, "for", s.Surge.For)
			} else {
				s.log.Info("demo surge over", "stats", s.Stats())
			}
		}
		rate := s.Rate
		if on {
			rate *= s.Surge.Factor
		}
		// Pace against a schedule rather than sleeping a fixed interval, so
		// time spent generating does not slow the rate down.
		next = next.Add(time.Duration(float64(time.Second) / rate))
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if wait < -time.Second {
			next = time.Now() // the server cannot keep up: skip the backlog instead of flooding it
		}
		if !s.dispatch(ctx, &wg, on) {
			return nil
		}
	}
}

// Burst posts n messages as fast as the server takes them, most of them
// crisis texts, as when an ash cloud closes the airspace. It returns when
// all are answered, or ctx's error if ctx ended first.
func (s *Simulator) Burst(ctx context.Context, n int) error {
	if err := s.setup(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range n {
		if !s.dispatch(ctx, &wg, true) {
			break
		}
	}
	wg.Wait()
	return ctx.Err()
}

// dispatch makes the next message and posts it in the background once a
// request slot is free. It reports false if ctx ended first.
func (s *Simulator) dispatch(ctx context.Context, wg *sync.WaitGroup, crisis bool) bool {
	if ctx.Err() != nil {
		return false
	}
	select {
	case s.inflight <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	o := s.next(crisis)
	wg.Go(func() {
		defer func() { <-s.inflight }()
		s.post(ctx, o)
	})
	if n := s.generated.Add(1); n%logEvery == 0 {
		st := s.Stats()
		s.log.Info("demo traffic", "messages", n, "sent", st.Sent, "duplicates", st.Duplicates, "errors", st.Errors, "crisis", crisis)
	}
	return true
}

// post delivers one message and counts the answer.
func (s *Simulator) post(ctx context.Context, o outgoing) {
	if fake := s.Platforms[o.ch.Channel.Kind]; fake != nil {
		s.postVia(ctx, fake, o)
		return
	}
	body, err := json.Marshal(o.msg)
	if err != nil {
		s.errs.Add(1)
		s.log.Error("demo message not encoded", "error", err)
		return
	}
	channelID := o.ch.Channel.ID
	u := strings.TrimRight(s.BaseURL, "/") + "/api/v1/channels/" + strconv.FormatInt(channelID, 10) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		s.errs.Add(1)
		s.log.Error("demo message not sent", "channel_id", channelID, "error", err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+o.ch.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "webcare-demo-simulator")
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down; not the server's fault
		}
		s.errs.Add(1)
		s.log.Warn("demo message not delivered", "channel_id", channelID, "error", err)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		s.errs.Add(1)
		s.log.Warn("demo message refused", "channel_id", channelID, "status", resp.StatusCode, "problem", problem(answer), "platform_id", o.msg.ID)
		return
	}
	var res struct {
		Duplicate bool `json:"duplicate"`
	}
	if err := json.Unmarshal(answer, &res); err != nil {
		s.log.Warn("demo message answer unreadable", "channel_id", channelID, "status", resp.StatusCode, "error", err)
	}
	if res.Duplicate {
		s.duplicates.Add(1)
	} else {
		s.sent.Add(1)
	}
}

// postVia makes a fake platform deliver the message. The platform's own
// answer (a webhook's 200) is all it sees; a re-delivery is counted as sent
// too, since the platform cannot tell.
func (s *Simulator) postVia(ctx context.Context, fake channel.Fake, o outgoing) {
	m := channel.Message{
		ChannelID: o.ch.Channel.ID, PlatformID: o.msg.ID, Text: o.msg.Text, ReplyTo: o.msg.ReplyTo, Private: o.msg.Private,
		Language: o.msg.Language, Subject: o.msg.Subject,
		From: channel.Author{ExternalID: o.msg.From.ID, Handle: o.msg.From.Handle, Name: o.msg.From.Name},
	}
	if t, err := time.Parse(time.RFC3339Nano, o.msg.SentAt); err == nil {
		m.SentAt = t
	}
	err := fake.Post(ctx, strings.TrimRight(s.BaseURL, "/"), o.ch.Channel, m)
	if err != nil && m.ReplyTo != "" && ctx.Err() == nil {
		// The fake never saw the seeded history this answers (a platform
		// refuses a reply to a post it does not have): write anew.
		m.ReplyTo = ""
		err = fake.Post(ctx, strings.TrimRight(s.BaseURL, "/"), o.ch.Channel, m)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.errs.Add(1)
		s.log.Warn("demo message not delivered by the fake platform", "channel", o.ch.Channel.Kind, "channel_id", o.ch.Channel.ID, "error", err)
		return
	}
	if o.redelivery {
		s.duplicates.Add(1)
	} else {
		s.sent.Add(1)
	}
}

// problem is the readable part of an RFC 9457 problem answer, or the start
// of whatever else the server said.
func problem(body []byte) string {
	var p struct{ Title, Detail string }
	if json.Unmarshal(body, &p) == nil && (p.Title != "" || p.Detail != "") {
		return strings.TrimSpace(p.Title + ": " + p.Detail)
	}
	s := strings.TrimSpace(string(body))
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
