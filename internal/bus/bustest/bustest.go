// Package bustest is the contract every bus.Bus passes: the in-process bus
// and the NATS one run the same tests, so the SSE endpoint can rely on the
// same ordering, replay and dropping whichever is configured.
//
// Delivery may be asynchronous (NATS), so the tests wait for events with a
// generous timeout instead of expecting them to be buffered already.
package bustest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
)

// Wait is the longest a test waits for something that should happen at
// once; it only guards against hanging, it is never what a test measures.
const Wait = 10 * time.Second

// backlog is the contract's subscriber backlog and replay limit.
const backlog = 1024

// Options describe the bus under test.
type Options struct {
	// Kept is how many of the newest events the bus keeps for replay; it
	// must be at least 2,100 so the replay cases fit.
	Kept int
}

// Run runs the contract. newBus returns an empty bus (its first event gets
// Seq 1) that lives until the test ends.
func Run(t *testing.T, newBus func(t *testing.T) bus.Bus, o Options) {
	if o.Kept < 2100 {
		t.Fatalf("bustest: Kept %d < 2100", o.Kept)
	}
	t.Run("publish order and seq", func(t *testing.T) { testOrderAndSeq(t, newBus(t)) })
	t.Run("every subscriber gets everything", func(t *testing.T) { testEverySubscriber(t, newBus(t)) })
	t.Run("replay after Last-Event-ID", func(t *testing.T) { testReplay(t, newBus, o.Kept) })
	t.Run("slow subscriber is dropped", func(t *testing.T) { testSlowDropped(t, newBus(t)) })
	t.Run("cancel closes the subscription", func(t *testing.T) { testCancel(t, newBus) })
	t.Run("activity keeps the resume position", func(t *testing.T) { testActivity(t, newBus(t)) })
	t.Run("concurrent use", func(t *testing.T) { testConcurrent(t, newBus(t)) })
}

// Recv takes the next event from ch, failing if ch is closed or nothing comes.
func Recv(t *testing.T, ch <-chan bus.Event) bus.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed; want an event")
		}
		return e
	case <-time.After(Wait):
		t.Fatal("no event")
	}
	panic("unreachable")
}

// RecvN takes the next n events from ch.
func RecvN(t *testing.T, ch <-chan bus.Event, n int) []bus.Event {
	t.Helper()
	out := make([]bus.Event, 0, n)
	for range n {
		out = append(out, Recv(t, ch))
	}
	return out
}

// WaitClosed waits for ch to be closed and returns what was still in it.
func WaitClosed(t *testing.T, ch <-chan bus.Event) []bus.Event {
	t.Helper()
	var got []bus.Event
	deadline := time.After(Wait)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, e)
		case <-deadline:
			t.Fatal("subscription not closed")
		}
	}
}

// quiet checks that nothing more arrives on ch for a moment.
func quiet(t *testing.T, ch <-chan bus.Event) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event seq %d %s", e.Seq, e.Type)
		}
		t.Fatal("subscription closed")
	case <-time.After(100 * time.Millisecond):
	}
}

// PublishN publishes n message.received events numbered from first, in
// chunks, and returns once a subscriber of b has seen them all: with an
// asynchronous bus they are then kept for replay.
func PublishN(t *testing.T, b bus.Bus, first, n int) {
	t.Helper()
	ctx := context.Background()
	watch, stop, _ := b.Subscribe(ctx, 0)
	defer stop()
	const chunk = 500 // below the backlog, so the watcher is never dropped
	for done := 0; done < n; {
		k := min(chunk, n-done)
		events := make([]bus.Event, k)
		for i := range events {
			events[i] = bus.Event{Type: bus.MessageReceived, MessageID: int64(first + done + i)}
		}
		if err := b.Publish(ctx, events...); err != nil {
			t.Fatal(err)
		}
		RecvN(t, watch, k)
		done += k
	}
}

func seqs(events []bus.Event) []uint64 {
	out := make([]uint64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

func testOrderAndSeq(t *testing.T, b bus.Bus) {
	ctx := t.Context()
	events, cancel, ok := b.Subscribe(ctx, 0)
	defer cancel()
	if !ok {
		t.Fatal("Subscribe(0) ok = false")
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	full := bus.Event{Type: bus.MessageReceived, At: at, ConversationID: 7, MessageID: 1, ContactID: 8, ChannelID: 9, AgentID: 10, Detail: `{"x":"ü"}`}
	// One call with several events and several calls must come out alike.
	if err := b.Publish(ctx, full, bus.Event{Type: bus.MessageCreated, MessageID: 2}); err != nil {
		t.Fatal(err)
	}
	for i := 3; i <= 10; i++ {
		if err := b.Publish(ctx, bus.Event{Type: bus.ConversationUpdated, MessageID: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 10; i++ {
		e := Recv(t, events)
		if e.Seq != uint64(i) || e.MessageID != int64(i) {
			t.Fatalf("event %d: seq %d, message %d; want both %d", i, e.Seq, e.MessageID, i)
		}
		if e.At.IsZero() {
			t.Errorf("event %d: At not stamped", i)
		}
		if i == 1 {
			if !e.At.Equal(at) {
				t.Errorf("event 1: At = %v, want the publisher's %v", e.At, at)
			}
			e.Seq, e.At = 0, at
			if e != full {
				t.Errorf("event 1 = %+v, want %+v", e, full)
			}
		}
	}
	quiet(t, events)
}

func testEverySubscriber(t *testing.T, b bus.Bus) {
	ctx := t.Context()
	var subs []<-chan bus.Event
	for range 3 {
		ch, cancel, _ := b.Subscribe(ctx, 0)
		defer cancel()
		subs = append(subs, ch)
	}
	PublishN(t, b, 1, 50)
	for i, ch := range subs {
		for j, e := range RecvN(t, ch, 50) {
			if e.Seq != uint64(j+1) {
				t.Fatalf("subscriber %d, event %d: seq %d", i, j, e.Seq)
			}
		}
	}
}

func testReplay(t *testing.T, newBus func(*testing.T) bus.Bus, kept int) {
	tests := []struct {
		name      string
		published int
		after     uint64
		wantFirst uint64 // first seq received; 0: nothing replayed
		wantOK    bool
	}{
		{"only new events", 5, 0, 0, true},
		{"missed three", 5, 2, 3, true},
		{"missed one", 5, 4, 5, true},
		{"missed nothing", 5, 5, 0, true},
		{"ahead of the bus after a restart", 5, 9, 0, false},
		{"ahead of an empty bus", 0, 1, 0, false},
		{"more missed than a backlog holds", backlog + 200, 1, 0, false},
		{"older than what is kept", kept + 20, 10, 0, false},
		{"a thousand missed", 2000, 1000, 1001, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			b := newBus(t)
			PublishN(t, b, 1, tt.published)
			events, cancel, ok := b.Subscribe(ctx, tt.after)
			defer cancel()
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			var want []uint64
			if tt.wantFirst != 0 {
				for s := tt.wantFirst; s <= uint64(tt.published); s++ {
					want = append(want, s)
				}
			}
			got := seqs(RecvN(t, events, len(want)))
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("replayed event %d: seq %d, want %d", i, got[i], want[i])
				}
			}
			// Live events follow the replay without a gap or a repeat, even
			// when the client has to reload.
			PublishN(t, b, tt.published+1, 1)
			if e := Recv(t, events); e.Seq != uint64(tt.published)+1 {
				t.Fatalf("live event after replay: seq %d, want %d", e.Seq, tt.published+1)
			}
		})
	}
}

func testSlowDropped(t *testing.T, b bus.Bus) {
	ctx := t.Context()
	slow, cancelSlow, _ := b.Subscribe(ctx, 0)
	defer cancelSlow()

	// PublishN's own subscriber keeps reading: it must get everything while
	// the one that never reads is dropped, and Publish must not block on it
	// (the test would hang).
	const total = backlog + 100
	PublishN(t, b, 1, total)
	got := WaitClosed(t, slow)
	// What it had buffered is kept, in order, so the client knows where to
	// resume from.
	if len(got) == 0 || len(got) > backlog || got[0].Seq != 1 || got[len(got)-1].Seq != uint64(len(got)) {
		t.Fatalf("slow subscriber kept %d events, seqs %v…", len(got), seqs(got[:min(3, len(got))]))
	}
	// Resuming from the last seen event gets the rest.
	again, cancel, ok := b.Subscribe(ctx, got[len(got)-1].Seq)
	defer cancel()
	if !ok {
		t.Fatal("resubscribe: ok = false")
	}
	rest := RecvN(t, again, total-len(got))
	if rest[0].Seq != uint64(len(got)+1) || rest[len(rest)-1].Seq != total {
		t.Fatalf("replayed %d…%d, want %d…%d", rest[0].Seq, rest[len(rest)-1].Seq, len(got)+1, total)
	}
	cancelSlow() // after a drop, cancel must not close twice
}

func testCancel(t *testing.T, newBus func(*testing.T) bus.Bus) {
	t.Run("context", func(t *testing.T) {
		b := newBus(t)
		ctx, cancelCtx := context.WithCancel(context.Background())
		events, cancel, _ := b.Subscribe(ctx, 0)
		defer cancel()
		cancelCtx()
		WaitClosed(t, events)
		PublishN(t, b, 1, 3) // publishing to nobody else is fine
		cancel()             // and so is cancelling twice
	})
	t.Run("cancel func", func(t *testing.T) {
		b := newBus(t)
		ctx, cancelCtx := context.WithCancel(context.Background())
		defer cancelCtx()
		events, cancel, _ := b.Subscribe(ctx, 0)
		other, cancelOther, _ := b.Subscribe(ctx, 0)
		defer cancelOther()
		cancel()
		WaitClosed(t, events)
		PublishN(t, b, 1, 1)
		if e := Recv(t, other); e.Seq != 1 {
			t.Fatalf("other subscriber: seq %d", e.Seq)
		}
		cancelCtx() // the context ending later must not close twice
	})
}

// testActivity: an agent.activity event may or may not have a sequence of
// its own, but resuming from the Seq it carries must not miss the next
// committed event.
func testActivity(t *testing.T, b bus.Bus) {
	ctx := t.Context()
	events, cancel, _ := b.Subscribe(ctx, 0)
	defer cancel()
	PublishN(t, b, 1, 1)
	first := Recv(t, events)
	if err := b.Publish(ctx, bus.Event{Type: bus.AgentActivity, ConversationID: 3, AgentID: 4, Detail: `{"state":"typing"}`}); err != nil {
		t.Fatal(err)
	}
	act := Recv(t, events)
	if act.Type != bus.AgentActivity || act.AgentID != 4 || act.Seq < first.Seq {
		t.Fatalf("activity = %+v after seq %d", act, first.Seq)
	}
	PublishN(t, b, 2, 1)
	next := Recv(t, events)
	if next.Seq <= act.Seq {
		t.Fatalf("committed event seq %d after activity seq %d", next.Seq, act.Seq)
	}
	again, stop, ok := b.Subscribe(ctx, act.Seq)
	defer stop()
	if !ok {
		t.Fatal("resume from the activity's seq: ok = false")
	}
	if e := Recv(t, again); e.Seq != next.Seq {
		t.Fatalf("resumed at seq %d, want %d", e.Seq, next.Seq)
	}
}

// testConcurrent runs publishers, readers and cancellations at once; it is
// here for the race detector.
func testConcurrent(t *testing.T, b bus.Bus) {
	ctx := t.Context()
	var publishers, readers sync.WaitGroup
	for p := range 4 {
		publishers.Go(func() {
			for range 500 {
				if err := b.Publish(ctx, bus.Event{Type: bus.MessageReceived, Detail: fmt.Sprint(p)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Readers that start late may see nothing; they end when the
	// publishers are done.
	rctx, stopReaders := context.WithCancel(ctx)
	defer stopReaders()
	for s := range 8 {
		readers.Go(func() {
			events, stop, _ := b.Subscribe(rctx, uint64(s*10))
			defer stop()
			var last uint64
			for e := range events {
				if e.Seq <= last {
					t.Errorf("seq %d after %d", e.Seq, last)
					return
				}
				last = e.Seq
			}
		})
	}
	publishers.Wait()
	time.Sleep(50 * time.Millisecond)
	stopReaders()
	readers.Wait()
}
