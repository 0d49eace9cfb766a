package natsbus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webcare/webcare/internal/bus"
)

// subBacklog is how far a subscriber may fall behind before it is dropped,
// and the most events replayed for a Last-Event-ID (more is a reload): the
// same as the in-process bus, so both behave alike.
const subBacklog = 1024

// replayTimeout bounds the NATS round trips of one Subscribe.
const replayTimeout = 5 * time.Second

// One ordered consumer per instance feeds every subscriber of the instance
// in process, rather than one consumer per agent's stream: with hundreds of
// agents per instance that is hundreds of times fewer messages from NATS
// and no server-side consumer per browser tab. Only a reconnect that missed
// something asks NATS for its own short replay (fetch).
type subscriber struct {
	ch        chan bus.Event
	last      uint64 // the newest stream sequence this subscriber has (or skips)
	replaying bool   // live events wait in pending until the replay is in ch
	pending   []bus.Event
	closed    bool
}

// receive is the instance feed's handler: one committed event from the
// stream, in stream order.
func (b *Bus) receive(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		b.log.Warn("NATS event without metadata", "err", err)
		return
	}
	e, err := decode(msg.Data(), md.Sequence.Stream)
	b.mu.Lock()
	defer b.mu.Unlock()
	if seq := md.Sequence.Stream; seq > b.head+1 {
		// The stream discarded events before this instance read them (a
		// burst beyond its limits). Rather than let pages miss them
		// silently, a reset stands in for them, with the last missing
		// sequence so that the pages' Last-Event-ID moves past the gap.
		b.log.Warn("NATS stream discarded events before they were read; agents' pages reload",
			"from", b.head+1, "to", seq-1)
		gap := bus.Event{Seq: seq - 1, Type: bus.Reset, At: time.Now().UTC(), Detail: "events discarded before they were read"}
		for s := range b.subs {
			b.offer(s, gap)
		}
	}
	if md.Sequence.Stream <= b.head {
		// The sequence went back: someone deleted and recreated the stream.
		// Ids the pages hold mean nothing now; dropping every subscriber
		// makes them reconnect, and their ids then ask for a reload.
		for s := range b.subs {
			b.drop(s)
		}
	}
	b.head = md.Sequence.Stream
	if err != nil {
		b.log.Warn("NATS event not understood; skipped", "seq", md.Sequence.Stream, "err", err)
		return
	}
	for s := range b.subs {
		b.offer(s, e)
	}
}

// receiveActivity hands on an agent.activity event from core NATS.
func (b *Bus) receiveActivity(msg *nats.Msg) {
	e, err := decode(msg.Data, 0)
	if err != nil || e.Type != bus.AgentActivity {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		b.offer(s, e)
	}
}

func decode(data []byte, seq uint64) (bus.Event, error) {
	var e bus.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("decode event: %w", err)
	}
	e.Seq = seq
	return e, nil
}

// offer gives e to s, dropping s when it is too far behind. Caller holds mu.
func (b *Bus) offer(s *subscriber, e bus.Event) {
	if s.closed {
		return
	}
	if s.replaying {
		if len(s.pending) >= subBacklog {
			b.drop(s)
			return
		}
		s.pending = append(s.pending, e)
		return
	}
	if e.Type == bus.AgentActivity {
		// Activity is not in the stream, so it has no sequence of its own.
		// It carries the subscriber's position: the page's Last-Event-ID
		// stays where the committed events left it.
		e.Seq = s.last
	} else if e.Seq <= s.last {
		return // already replayed, or before this subscriber began
	} else {
		s.last = e.Seq
	}
	select {
	case s.ch <- e:
	default:
		b.drop(s)
	}
}

// drop closes s once. Caller holds mu.
func (b *Bus) drop(s *subscriber) {
	if !s.closed {
		s.closed = true
		s.pending = nil
		close(s.ch)
		delete(b.subs, s)
	}
}

// Subscribe starts a subscription after the stream sequence after (0: only
// new events). Live events are held back while the missed ones are fetched
// from the stream, so the subscriber sees neither a gap nor a repeat. ok is
// false when the missed events are gone from the stream, are more than a
// backlog, lie beyond the stream's end (the stream was recreated), or NATS
// cannot say: the page reloads, which is always safe.
func (b *Bus) Subscribe(ctx context.Context, after uint64) (<-chan bus.Event, func(), bool) {
	s := &subscriber{ch: make(chan bus.Event, subBacklog)}
	cancel := func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.drop(s)
	}
	b.mu.Lock()
	if b.closed {
		s.closed = true
		close(s.ch)
		b.mu.Unlock()
		return s.ch, func() {}, false
	}
	head := b.head
	s.last = head
	b.subs[s] = struct{}{}
	if after == 0 || after == head {
		b.mu.Unlock()
		context.AfterFunc(ctx, cancel)
		return s.ch, cancel, true
	}
	s.replaying = true
	b.mu.Unlock()
	context.AfterFunc(ctx, cancel)

	missed, ok := b.missed(ctx, after)
	b.mu.Lock()
	defer b.mu.Unlock()
	s.replaying = false
	if s.closed {
		return s.ch, cancel, ok
	}
	if ok {
		s.last = after
		for _, e := range missed {
			s.ch <- e // fits: missed holds at most subBacklog and ch was empty
			s.last = e.Seq
		}
	}
	pending := s.pending
	s.pending = nil
	for _, e := range pending {
		b.offer(s, e)
	}
	return s.ch, cancel, ok
}

// missed fetches the events after the sequence after from the stream.
func (b *Bus) missed(ctx context.Context, after uint64) ([]bus.Event, bool) {
	ctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	info, err := b.stream.Info(ctx)
	if err != nil {
		b.log.Warn("NATS cannot say what a reconnecting agent missed; the page reloads", "err", err)
		return nil, false
	}
	first, last := info.State.FirstSeq, info.State.LastSeq
	switch {
	case after > last:
		return nil, false // an id from before the stream was recreated
	case after == last:
		return nil, true // this instance's feed is behind; it brings the rest
	case after+1 < first:
		return nil, false // aged out of the stream
	case last-after > subBacklog:
		return nil, false // reloading is cheaper than replaying
	}
	events, err := b.fetch(ctx, after+1, int(last-after))
	if err != nil {
		b.log.Warn("NATS replay failed; the page reloads", "after", after, "err", err)
		return nil, false
	}
	if len(events) == 0 || events[0].Seq != after+1 {
		return nil, false // the first missed event vanished in between
	}
	return events, true
}

// fetch reads n events starting at the stream sequence from, through a
// short-lived consumer of its own.
func (b *Bus) fetch(ctx context.Context, from uint64, n int) ([]bus.Event, error) {
	cons, err := b.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute, // in case the delete below is lost
	})
	if err != nil {
		return nil, fmt.Errorf("create replay consumer: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = b.stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	wait := replayTimeout
	if dl, ok := ctx.Deadline(); ok {
		wait = max(time.Until(dl), 100*time.Millisecond)
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	events := make([]bus.Event, 0, n)
	for msg := range batch.Messages() {
		md, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("replayed event: %w", err)
		}
		e, err := decode(msg.Data(), md.Sequence.Stream)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	if err := batch.Error(); err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	return events, nil
}
