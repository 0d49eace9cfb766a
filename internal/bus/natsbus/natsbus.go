// Package natsbus is the event bus for many instances: committed events go
// into a NATS JetStream stream, and every instance reads the whole stream
// and hands each event to its own agents' streams.
//
// The stream's sequence number is the event's Seq, so it means the same on
// every instance: an agent who reconnects to another instance with the last
// id it saw resumes where it was. The stream keeps an hour of events (or
// fewer, by count and size); older ids get ok=false and the page reloads.
//
// The store is the source of truth and the bus is only for liveness:
// Publish never waits for NATS. Events queue in memory and a single
// goroutine sends them with acknowledgements, retrying for a bounded time;
// what it has to give up is logged and followed, once NATS takes events
// again, by a bus.Reset event that makes every page reload.
//
// agent.activity events (viewing, typing) travel over core NATS, not the
// stream: they are stale within seconds, so storing and replaying them
// would only show ghosts, and they would crowd committed events out of the
// stream's limits.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webcare/webcare/internal/bus"
)

// Options tune the bus; the zero value suits production.
type Options struct {
	// Stream is the JetStream stream's name (default WEBCARE_EVENTS).
	Stream string
	// Prefix starts every subject (default "webcare"): committed events
	// go to Prefix.events.<type>, activity to Prefix.activity.
	Prefix string
	// MaxAge, MaxMsgs and MaxBytes limit what the stream keeps for replay
	// (defaults 1 h, 1,000,000 events, 1 GiB); the oldest go first.
	MaxAge   time.Duration
	MaxMsgs  int64
	MaxBytes int64
	// Replicas of the stream in a NATS cluster (default 1).
	Replicas int
	// RetryFor is how long a batch of events is retried while NATS does
	// not acknowledge it, before it is given up (default 30 s).
	RetryFor time.Duration
	// MaxQueued bounds the events waiting for NATS (default 65,536);
	// beyond it new events are dropped and a reset follows.
	MaxQueued int
	// ReconnectWait is the pause between reconnection attempts (default 1 s).
	ReconnectWait time.Duration
	// Name identifies this connection in NATS monitoring.
	Name string
	// Log receives connection changes and lost events; nil discards.
	Log *slog.Logger
}

func (o *Options) defaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Stream == "" {
		o.Stream = "WEBCARE_EVENTS"
	}
	if o.Prefix == "" {
		o.Prefix = "webcare"
	}
	def(&o.MaxAge, time.Hour)
	def(&o.RetryFor, 30*time.Second)
	def(&o.ReconnectWait, time.Second)
	if o.MaxMsgs <= 0 {
		o.MaxMsgs = 1_000_000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 65536
	}
	if o.Name == "" {
		o.Name = "webcare"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("natsbus: closed")

// Bus is a bus.Bus on NATS JetStream. Open makes one; Close ends it.
type Bus struct {
	o      Options
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	feed   jetstream.ConsumeContext // the instance's one ordered consumer
	act    *nats.Subscription       // agent.activity over core NATS

	// Fan-out (subscribe.go).
	mu     sync.Mutex
	head   uint64 // the newest stream sequence handed to subscribers
	subs   map[*subscriber]struct{}
	closed bool

	// Sending (publish.go).
	out *outbox

	wg sync.WaitGroup
}

var _ bus.Bus = (*Bus)(nil)

// Open connects to NATS at serverURL (one URL or several, comma-separated),
// creates or updates the stream, and starts reading it from its newest
// event. An unreachable server is an error now, not a retry loop: a
// misconfigured instance should not start. Once running, the connection
// reconnects for ever.
func Open(ctx context.Context, serverURL string, o Options) (*Bus, error) {
	o.defaults()
	b := &Bus{o: o, log: o.Log, subs: map[*subscriber]struct{}{}}
	nc, err := nats.Connect(serverURL,
		nats.Name(o.Name),
		nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(o.ReconnectWait),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("NATS connection lost; live events pause until it is back", "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.log.Debug("NATS", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			b.log.Info("NATS connection back", "server", c.ConnectedUrlRedacted())
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect to %s: %w", hosts(serverURL), err)
	}
	b.nc = nc
	if err := b.start(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bus) start(ctx context.Context) error {
	// An ack that takes longer than this is retried (same message id), so
	// a give-up after RetryFor is not held up by one long wait.
	js, err := jetstream.New(b.nc, jetstream.WithPublishAsyncTimeout(min(5*time.Second, b.o.RetryFor)))
	if err != nil {
		return fmt.Errorf("natsbus: jetstream: %w", err)
	}
	b.js = js
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// Every instance does this at start; identical settings make it a no-op,
	// changed ones (a new limit) are applied by the first instance to start.
	b.stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        b.o.Stream,
		Description: "webcare committed events, kept for Last-Event-ID replay",
		Subjects:    []string{b.o.Prefix + ".events.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      b.o.MaxAge,
		MaxMsgs:     b.o.MaxMsgs,
		MaxBytes:    b.o.MaxBytes,
		Replicas:    b.o.Replicas,
		// Retried publishes carry the same message id; within this window
		// JetStream stores them once.
		Duplicates: 2 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("natsbus: create or update stream %s: %w", b.o.Stream, err)
	}
	info, err := b.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("natsbus: stream %s: %w", b.o.Stream, err)
	}
	// Start right after the newest event, not at "new": anything published
	// between this Info and the consumer's creation would otherwise be
	// missed while head already claims it.
	b.head = info.State.LastSeq
	feed, err := js.OrderedConsumer(ctx, b.o.Stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       b.head + 1,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("natsbus: consumer on %s: %w", b.o.Stream, err)
	}
	b.feed, err = feed.Consume(b.receive, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		b.log.Debug("NATS event feed", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("natsbus: read %s: %w", b.o.Stream, err)
	}
	b.act, err = b.nc.Subscribe(b.activitySubject(), b.receiveActivity)
	if err != nil {
		b.feed.Stop()
		return fmt.Errorf("natsbus: subscribe to activity: %w", err)
	}
	b.out = newOutbox(b)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.out.run()
	}()
	return nil
}

// Close sends what is still queued (for at most a few seconds), stops
// reading, closes every subscription and the connection. It waits for its
// goroutines; calling it again does nothing.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()

	b.out.close(5 * time.Second)
	b.wg.Wait()
	b.out.stopTimer()
	b.feed.Stop()
	err := b.act.Unsubscribe()

	b.mu.Lock()
	for s := range b.subs {
		b.drop(s)
	}
	b.mu.Unlock()
	b.nc.Close()
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("natsbus: close: %w", err)
	}
	return nil
}

func (b *Bus) eventSubject(typ string) string { return b.o.Prefix + ".events." + typ }
func (b *Bus) activitySubject() string        { return b.o.Prefix + ".activity" }

// validType keeps an event type a plain dotted NATS subject suffix: no
// wildcards, spaces or empty tokens.
func validType(t string) bool {
	if t == "" || strings.ContainsAny(t, " \t\r\n*>") {
		return false
	}
	for tok := range strings.SplitSeq(t, ".") {
		if tok == "" {
			return false
		}
	}
	return true
}

// hosts names the servers of a NATS URL list for an error message, without
// the credentials a URL may carry.
func hosts(serverURL string) string {
	var out []string
	for raw := range strings.SplitSeq(serverURL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" {
			out = append(out, "(unparsable URL)")
			continue
		}
		out = append(out, u.Host)
	}
	return strings.Join(out, ",")
}
