package natsbus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/webcare/webcare/internal/bus"
)

// sendBatch is the most events sent before waiting for their acks: one
// ingest batch of 512 goes out in one round trip.
const sendBatch = 1024

// Publish queues the events for NATS and returns at once: the callers are
// the ingest commit loop and request handlers, which must not wait for a
// network, let alone an outage. It fails only after Close or for an event
// type that cannot be a subject. agent.activity goes out on core NATS
// straight away.
func (b *Bus) Publish(_ context.Context, events ...bus.Event) error {
	msgs := make([]*nats.Msg, 0, len(events))
	for _, e := range events {
		if !validType(e.Type) {
			return fmt.Errorf("natsbus: event type %q cannot be a subject", e.Type)
		}
		e.Seq = 0 // the stream decides
		if e.At.IsZero() {
			e.At = time.Now().UTC()
		}
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("natsbus: encode %s: %w", e.Type, err)
		}
		if e.Type == bus.AgentActivity {
			if b.out.isClosed() {
				return ErrClosed
			}
			// Best effort by design: while disconnected the client buffers
			// it, and a lost "typing" is repeated by the browser anyway.
			_ = b.nc.Publish(b.activitySubject(), data)
			continue
		}
		msgs = append(msgs, &nats.Msg{Subject: b.eventSubject(e.Type), Data: data})
	}
	return b.out.add(msgs)
}

// outbox is the queue between Publish and NATS, drained by one goroutine so
// events reach the stream in the order they were published.
type outbox struct {
	b       *Bus
	idBase  string // with a counter, the message id JetStream dedupes on
	mu      sync.Mutex
	queue   []*nats.Msg
	counter uint64
	closed  bool
	lost    int // given up or dropped since NATS last took events
	wake    chan struct{}
	stop    chan struct{} // closed by close: flush and return
	hard    chan struct{} // closed a few seconds later: stop flushing
	timer   *time.Timer   // closes hard
}

func newOutbox(b *Bus) *outbox {
	return &outbox{b: b, idBase: nuid.Next(), wake: make(chan struct{}, 1), stop: make(chan struct{}), hard: make(chan struct{})}
}

func (o *outbox) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

func (o *outbox) add(msgs []*nats.Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return ErrClosed
	}
	room := o.b.o.MaxQueued - len(o.queue)
	if room < len(msgs) {
		dropped := len(msgs) - max(room, 0)
		if o.lost == 0 {
			o.b.log.Warn("NATS is not taking events; dropping new ones until it does, then agents' pages reload",
				"queued", len(o.queue))
		}
		o.lost += dropped
		msgs = msgs[:max(room, 0)]
	}
	for _, m := range msgs {
		o.counter++
		m.Header = nats.Header{jetstream.MsgIDHeader: []string{o.idBase + "-" + strconv.FormatUint(o.counter, 10)}}
	}
	o.queue = append(o.queue, msgs...)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// run sends until close, then flushes what is queued.
func (o *outbox) run() {
	for {
		select {
		case <-o.wake:
		case <-o.stop:
			for o.sendQueued() {
				select {
				case <-o.hard:
					return
				default:
				}
			}
			return
		}
		for o.sendQueued() {
		}
	}
}

// stopTimer ends the grace timer once run has returned.
func (o *outbox) stopTimer() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer != nil {
		o.timer.Stop()
	}
}

// sendQueued sends one batch and reports whether it sent anything.
func (o *outbox) sendQueued() bool {
	o.mu.Lock()
	n := min(len(o.queue), sendBatch)
	batch := o.queue[:n:n]
	o.queue = o.queue[n:]
	o.mu.Unlock()
	if n == 0 {
		return false
	}
	failed := o.sendWithRetry(batch)
	o.mu.Lock()
	if failed > 0 {
		if o.lost == 0 {
			o.b.log.Warn("NATS did not acknowledge events in time; giving them up (the store has the data, agents' pages reload once NATS is back)",
				"events", failed, "retried_for", o.b.o.RetryFor.String())
		}
		o.lost += failed
		o.mu.Unlock()
		return true
	}
	lost := o.lost
	o.mu.Unlock()
	if lost > 0 && o.announceReset(lost) {
		o.mu.Lock()
		o.lost -= lost
		o.mu.Unlock()
	}
	return true
}

// announceReset tells every instance's listeners that events were lost, so
// pages reload rather than show a silently incomplete picture.
func (o *outbox) announceReset(lost int) bool {
	data, _ := json.Marshal(bus.Event{Type: bus.Reset, At: time.Now().UTC(), Detail: strconv.Itoa(lost) + " events lost"})
	o.mu.Lock()
	o.counter++
	id := o.idBase + "-" + strconv.FormatUint(o.counter, 10)
	o.mu.Unlock()
	m := &nats.Msg{Subject: o.b.eventSubject(bus.Reset), Data: data, Header: nats.Header{jetstream.MsgIDHeader: []string{id}}}
	if o.sendWithRetry([]*nats.Msg{m}) > 0 {
		return false
	}
	o.b.log.Info("NATS takes events again; told agents' pages to reload", "lost_events", lost)
	return true
}

// sendWithRetry publishes msgs and waits for their acks, retrying the
// unacknowledged ones with backoff for RetryFor (less once Close has
// started). It returns how many it gave up.
func (o *outbox) sendWithRetry(msgs []*nats.Msg) int {
	giveUp := time.NewTimer(o.b.o.RetryFor)
	defer giveUp.Stop()
	wait := 50 * time.Millisecond
	for {
		msgs = o.sendOnce(msgs)
		if len(msgs) == 0 {
			return 0
		}
		select {
		case <-giveUp.C:
			return len(msgs)
		case <-o.hard:
			return len(msgs)
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// sendOnce publishes msgs asynchronously, so a batch costs one round trip,
// and returns those not acknowledged.
func (o *outbox) sendOnce(msgs []*nats.Msg) []*nats.Msg {
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := o.b.js.PublishMsgAsync(m)
		if err != nil {
			o.b.log.Debug("NATS publish", "err", err)
			continue
		}
		futures[i] = f
	}
	var failed []*nats.Msg
	for i, f := range futures {
		if f == nil {
			failed = append(failed, msgs[i])
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			o.b.log.Debug("NATS publish ack", "err", err)
			failed = append(failed, msgs[i])
		case <-o.hard:
			failed = append(failed, msgs[i])
		}
	}
	return failed
}

// close stops new events and lets run flush the queue for at most grace,
// so shutdown never hangs on an unreachable NATS; the caller waits for run
// to end.
func (o *outbox) close(grace time.Duration) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	o.timer = time.AfterFunc(grace, func() { close(o.hard) })
	o.mu.Unlock()
	close(o.stop)
}
