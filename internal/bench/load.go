package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is one webcare instance to send webhook traffic to: an API
// channel's ingest endpoint and its token, and an agent's API token for
// watching the event stream (empty: latency to agents is not measured).
type Target struct {
	URL        string // base URL, e.g. http://127.0.0.1:8080
	ChannelID  int64
	Token      string // the channel's ingest token
	AgentToken string // an agent's API token, for /api/v1/events
}

// LoadOptions configure a load run.
type LoadOptions struct {
	Targets     []Target      // sent to round-robin; events are watched on every one
	Rate        float64       // messages per second; 0: as fast as the targets answer
	Duration    time.Duration // per phase
	Concurrency int           // requests in flight at most
	Prefix      string        // makes platform ids unique per run
}

// LoadResult is one measured phase.
type LoadResult struct {
	Name        string
	Sent, Acked int
	Failed      int
	Elapsed     time.Duration
	PerSecond   float64 // acknowledged per second
	Ack         Percentiles
	ToAgent     Percentiles // webhook sent → event on an agent's stream
	ToAgentSeen int
	FirstError  string
}

// Percentiles of a latency distribution; zero when nothing was measured.
type Percentiles struct{ P50, P99, P999 time.Duration }

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Percentiles{at(.50), at(.99), at(.999)}
}

func (p Percentiles) String() string {
	if p.P50 == 0 {
		return "-"
	}
	r := func(d time.Duration) string {
		if d >= 10*time.Millisecond {
			return d.Round(100 * time.Microsecond).String()
		}
		return d.Round(time.Microsecond).String()
	}
	return fmt.Sprintf("p50 %s p99 %s p99.9 %s", r(p.P50), r(p.P99), r(p.P999))
}

func (r LoadResult) String() string {
	s := fmt.Sprintf("%-30s %7d sent %7d acked %5d failed %8.0f msgs/s   ack %s", r.Name, r.Sent, r.Acked, r.Failed, r.PerSecond, r.Ack)
	if r.ToAgentSeen > 0 {
		s += fmt.Sprintf("   to agent (%d) %s", r.ToAgentSeen, r.ToAgent)
	}
	if r.FirstError != "" {
		s += "\n    first error: " + r.FirstError
	}
	return s
}

// Ceiling serves what a bare net/http handler can acknowledge on this
// machine: it reads the body and answers like the ingest endpoint, with no
// work in between. Close stops it.
func Ceiling() (url string, closeFn func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"message_id":1,"conversation_id":1,"contact_id":1,"duplicate":false}`)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// Load sends realistic customer messages as API channel webhooks for one
// phase and measures acknowledgements and, where an agent token is given,
// the time until the message reaches an agent's event stream.
func Load(ctx context.Context, name string, o LoadOptions) (LoadResult, error) {
	if len(o.Targets) == 0 {
		return LoadResult{}, errors.New("no target")
	}
	if o.Concurrency < 1 {
		o.Concurrency = 64
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.Concurrency * 2, MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()

	// Watch every target's event stream before sending anything.
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	seen := newArrivals(len(o.Targets))
	var watchers sync.WaitGroup
	for i, t := range o.Targets {
		if t.AgentToken == "" {
			continue
		}
		ready := make(chan error, 1)
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			watch(watchCtx, t, i, seen, ready)
		}()
		if err := <-ready; err != nil {
			return LoadResult{}, fmt.Errorf("event stream of %s: %w", t.URL, err)
		}
	}

	var (
		sent, acked, failed atomic.Int64
		mu                  sync.Mutex
		ackLat              []time.Duration
		starts              = map[int64]sentMsg{} // message id → when and where it was sent
		firstErr            atomic.Value
	)
	send := func(n int64, scheduled time.Time) {
		t := o.Targets[int(n)%len(o.Targets)]
		body := loadMessage(o.Prefix, n)
		sent.Add(1)
		id, err := post(ctx, client, t, body)
		took := time.Since(scheduled) // from the schedule, so a slow target cannot hide its queue
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			return
		}
		acked.Add(1)
		mu.Lock()
		ackLat = append(ackLat, took)
		starts[id] = sentMsg{at: scheduled, target: int(n) % len(o.Targets)}
		mu.Unlock()
	}

	start := time.Now()
	deadline := start.Add(o.Duration)
	jobs := make(chan time.Time, o.Concurrency)
	var next atomic.Int64
	var workers sync.WaitGroup
	for range o.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for at := range jobs {
				send(next.Add(1), at)
			}
		}()
	}
	if o.Rate <= 0 {
		for time.Now().Before(deadline) && ctx.Err() == nil {
			jobs <- time.Now()
		}
	} else {
		// Open loop: messages are due on a fixed schedule whether or not
		// the target keeps up; a late one counts its wait.
		interval := time.Duration(float64(time.Second) / o.Rate)
		for due := start; due.Before(deadline) && ctx.Err() == nil; due = due.Add(interval) {
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			jobs <- due
		}
	}
	close(jobs)
	workers.Wait()
	elapsed := time.Since(start)

	res := LoadResult{Name: name, Sent: int(sent.Load()), Acked: int(acked.Load()), Failed: int(failed.Load()), Elapsed: elapsed,
		PerSecond: float64(acked.Load()) / elapsed.Seconds(), Ack: percentiles(ackLat)}
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	if seen.watching() {
		// Give the last events a moment to arrive.
		wait := time.Now().Add(2 * time.Second)
		for time.Now().Before(wait) && seen.count() < len(starts) {
			time.Sleep(20 * time.Millisecond)
		}
		var toAgent []time.Duration
		for id, s := range starts {
			if at, ok := seen.get(id, s.target); ok {
				toAgent = append(toAgent, at.Sub(s.at))
			}
		}
		res.ToAgent, res.ToAgentSeen = percentiles(toAgent), len(toAgent)
	}
	stopWatching()
	watchers.Wait()
	return res, nil
}

type sentMsg struct {
	at     time.Time
	target int
}

var loadTexts = []string{
	"@HeronAir my flight HN641 was cancelled and the app shows nothing. What now?",
	"Mijn koffer is niet aangekomen op Schiphol, belt 14 is leeg. Wat moet ik doen?",
	"Wird der Flug HN1203 morgen wegen der Aschewolke gestrichen?",
	"Bonjour, mon vol pour Paris est annulé, comment être remboursé ?",
	"Llevo tres horas en la puerta B12 sin información. ¿Hay vuelo o no?",
	"Thanks for the quick rebooking yesterday, you saved our holiday!",
	"Is the airspace over Amsterdam open again? I need to be in Oslo on Friday for a funeral.",
	"WHY does nobody answer the phone??? Stuck in Rome with two kids.",
}

func loadMessage(prefix string, n int64) []byte {
	author := n % 20000
	b, _ := json.Marshal(map[string]any{
		"id":      fmt.Sprintf("%s-%d", prefix, n),
		"from":    map[string]string{"id": fmt.Sprintf("load-%d", author), "handle": fmt.Sprintf("@traveller%d", author), "name": fmt.Sprintf("Traveller %d", author)},
		"text":    loadTexts[n%int64(len(loadTexts))],
		"private": n%3 == 0,
	})
	return b
}

func post(ctx context.Context, client *http.Client, t Target, body []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/api/v1/channels/%d/messages", t.URL, t.ChannelID), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+t.Token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s answered %d: %s", t.URL, resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	var a struct {
		MessageID int64 `json:"message_id"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return 0, fmt.Errorf("%s answered %q: %w", t.URL, answer, err)
	}
	return a.MessageID, nil
}

// arrivals records when each message's event reached each target's stream.
type arrivals struct {
	mu      sync.Mutex
	at      map[int64][]time.Time // message id → arrival per target (zero: not yet)
	targets int
	streams int
}

func newArrivals(targets int) *arrivals {
	return &arrivals{at: map[int64][]time.Time{}, targets: targets}
}

func (a *arrivals) add(id int64, target int, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.at[id]
	if s == nil {
		s = make([]time.Time, a.targets)
		a.at[id] = s
	}
	if s[target].IsZero() {
		s[target] = t
	}
}

func (a *arrivals) watching() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.streams > 0
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// get is when an agent could first see the message: on another instance
// than the one that took it, when there are several, so the figure
// includes the trip across the bus.
func (a *arrivals) get(id int64, from int) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var first time.Time
	for i, t := range a.at[id] {
		if t.IsZero() || (a.targets > 1 && i == from) {
			continue
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first, !first.IsZero()
}

// watch reads one target's event stream until ctx ends, noting arrivals
// of message.received events. ready gets nil once the stream is open.
func watch(ctx context.Context, t Target, index int, seen *arrivals, ready chan<- error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL+"/api/v1/events", nil)
	if err != nil {
		ready <- err
		return
	}
	req.Header.Set("Authorization", "Bearer "+t.AgentToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ready <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("status %d", resp.StatusCode)
		return
	}
	seen.mu.Lock()
	seen.streams++
	seen.mu.Unlock()
	ready <- nil
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "message.received":
			var e struct {
				MessageID int64 `json:"message_id"`
			}
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e) == nil {
				seen.add(e.MessageID, index, time.Now())
			}
		case line == "":
			event = ""
		}
	}
}
