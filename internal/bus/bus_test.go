package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
)

// wait is the longest a test waits for something that should happen at
// once; it only guards against hanging, it is never what a test measures.
const wait = 10 * time.Second

// recv takes the next event from ch, failing if ch is closed or nothing comes.
func recv(t *testing.T, ch <-chan bus.Event) bus.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed; want an event")
		}
		return e
	case <-time.After(wait):
		t.Fatal("no event")
	}
	panic("unreachable")
}

// drain reads everything buffered in ch and reports whether ch was closed.
func drain(ch <-chan bus.Event) (got []bus.Event, closed bool) {
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return got, true
			}
			got = append(got, e)
		default:
			return got, false
		}
	}
}

// waitClosed waits for ch to be closed, discarding what is still in it.
func waitClosed(t *testing.T, ch <-chan bus.Event) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("subscription not closed")
		}
	}
}

func publishN(t *testing.T, b *bus.Memory, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := b.Publish(context.Background(), bus.Event{Type: bus.MessageReceived, MessageID: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPublishOrderAndSeq(t *testing.T) {
	ctx := t.Context()
	b := bus.NewMemory()
	if b.Seq() != 0 {
		t.Fatalf("Seq of an empty bus = %d, want 0", b.Seq())
	}
	events, cancel, ok := b.Subscribe(ctx, 0)
	defer cancel()
	if !ok {
		t.Fatal("Subscribe(0) ok = false")
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	// One call with several events and several calls must come out alike.
	if err := b.Publish(ctx, bus.Event{Type: bus.MessageReceived, MessageID: 1, At: at}, bus.Event{Type: bus.MessageCreated, MessageID: 2}); err != nil {
		t.Fatal(err)
	}
	for i := 3; i <= 10; i++ {
		if err := b.Publish(ctx, bus.Event{Type: bus.ConversationUpdated, MessageID: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 10; i++ {
		e := recv(t, events)
		if e.Seq != uint64(i) || e.MessageID != int64(i) {
			t.Fatalf("event %d: seq %d, message %d; want both %d", i, e.Seq, e.MessageID, i)
		}
		if e.At.IsZero() {
			t.Errorf("event %d: At not stamped", i)
		}
		if i == 1 && !e.At.Equal(at) {
			t.Errorf("event 1: At = %v, want the publisher's %v", e.At, at)
		}
	}
	if b.Seq() != 10 {
		t.Errorf("Seq = %d, want 10", b.Seq())
	}
	if got, closed := drain(events); len(got) != 0 || closed {
		t.Errorf("after 10 events: %d more, closed %v", len(got), closed)
	}
}

func TestEverySubscriberGetsEverything(t *testing.T) {
	ctx := t.Context()
	b := bus.NewMemory()
	var subs []<-chan bus.Event
	for i := 0; i < 3; i++ {
		ch, cancel, _ := b.Subscribe(ctx, 0)
		defer cancel()
		subs = append(subs, ch)
	}
	publishN(t, b, 50)
	for i, ch := range subs {
		got, closed := drain(ch)
		if closed || len(got) != 50 {
			t.Fatalf("subscriber %d: %d events, closed %v; want 50 open", i, len(got), closed)
		}
		for j, e := range got {
			if e.Seq != uint64(j+1) {
				t.Fatalf("subscriber %d, event %d: seq %d", i, j, e.Seq)
			}
		}
	}
}

func TestReplayAfterLastEventID(t *testing.T) {
	ctx := t.Context()
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
		{"more missed than a backlog holds", 3000, 1, 0, false},
		{"older than the replay ring", 9000, 10, 0, false},
		{"a thousand missed", 2000, 1000, 1001, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bus.NewMemory()
			publishN(t, b, tt.published)
			events, cancel, ok := b.Subscribe(ctx, tt.after)
			defer cancel()
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			got, closed := drain(events)
			if closed {
				t.Fatal("subscription closed")
			}
			var want []uint64
			if tt.wantFirst != 0 {
				for s := tt.wantFirst; s <= uint64(tt.published); s++ {
					want = append(want, s)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("replayed %d events, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i].Seq != want[i] {
					t.Fatalf("replayed event %d: seq %d, want %d", i, got[i].Seq, want[i])
				}
			}
			// Live events follow the replay without a gap, even when the
			// client has to reload.
			publishN(t, b, 1)
			if e := recv(t, events); e.Seq != uint64(tt.published)+1 {
				t.Fatalf("live event after replay: seq %d, want %d", e.Seq, tt.published+1)
			}
		})
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	ctx := t.Context()
	b := bus.NewMemory()
	slow, cancelSlow, _ := b.Subscribe(ctx, 0)
	defer cancelSlow()
	fast, cancelFast, _ := b.Subscribe(ctx, 0)
	defer cancelFast()

	// Publish runs on this goroutine: if it blocked on the subscriber that
	// never reads, the test would hang here.
	const first = 1000
	publishN(t, b, first)
	if got, closed := drain(fast); len(got) != first || closed {
		t.Fatalf("fast subscriber: %d events, closed %v", len(got), closed)
	}
	publishN(t, b, 100) // the slow one's backlog overflows
	if got, closed := drain(fast); len(got) != 100 || closed {
		t.Fatalf("fast subscriber after overflow: %d events, closed %v", len(got), closed)
	}
	got, closed := drain(slow)
	if !closed {
		t.Fatal("slow subscriber not closed")
	}
	// What it had buffered is kept, in order, so the client knows where to
	// resume from.
	if len(got) == 0 || got[0].Seq != 1 || got[len(got)-1].Seq != uint64(len(got)) {
		t.Fatalf("slow subscriber kept %d events, first %v", len(got), got[:min(1, len(got))])
	}
	// Resuming from the last seen event gets the rest.
	again, cancel, ok := b.Subscribe(ctx, got[len(got)-1].Seq)
	defer cancel()
	if !ok {
		t.Fatal("resubscribe: ok = false")
	}
	rest, _ := drain(again)
	if len(got)+len(rest) != first+100 {
		t.Fatalf("kept %d + replayed %d, want %d", len(got), len(rest), first+100)
	}
	cancelSlow() // after a drop, cancel must not close twice
}

func TestCancelClosesSubscription(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		b := bus.NewMemory()
		ctx, cancelCtx := context.WithCancel(context.Background())
		events, cancel, _ := b.Subscribe(ctx, 0)
		defer cancel()
		cancelCtx()
		waitClosed(t, events)
		publishN(t, b, 3) // publishing to nobody is fine
		cancel()          // and so is cancelling twice
	})
	t.Run("cancel func", func(t *testing.T) {
		b := bus.NewMemory()
		ctx, cancelCtx := context.WithCancel(context.Background())
		defer cancelCtx()
		events, cancel, _ := b.Subscribe(ctx, 0)
		other, cancelOther, _ := b.Subscribe(ctx, 0)
		defer cancelOther()
		cancel()
		if _, closed := drain(events); !closed {
			t.Fatal("cancel did not close the subscription")
		}
		publishN(t, b, 1)
		if e := recv(t, other); e.Seq != 1 {
			t.Fatalf("other subscriber: seq %d", e.Seq)
		}
		cancelCtx() // the context ending later must not close twice
	})
}

// TestConcurrentUse runs publishers, readers and cancellations at once; it
// is here for the race detector.
func TestConcurrentUse(t *testing.T) {
	b := bus.NewMemory()
	ctx := t.Context()
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				_ = b.Publish(ctx, bus.Event{Type: bus.MessageReceived, Detail: fmt.Sprint(p)})
			}
		}()
	}
	for s := 0; s < 8; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			events, stop, _ := b.Subscribe(sctx, b.Seq()/2)
			defer stop()
			var last uint64
			for i := 0; i < 100; i++ {
				e, ok := <-events
				if !ok {
					return // dropped: allowed when it falls behind
				}
				if e.Seq <= last {
					t.Errorf("seq %d after %d", e.Seq, last)
					return
				}
				last = e.Seq
			}
		}()
	}
	wg.Wait()
	if b.Seq() != 2000 {
		t.Errorf("Seq = %d, want 2000", b.Seq())
	}
}
