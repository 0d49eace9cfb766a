package bus_test

import (
	"context"
	"testing"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/bus/bustest"
)

func TestMemoryContract(t *testing.T) {
	bustest.Run(t, func(*testing.T) bus.Bus { return bus.NewMemory() }, bustest.Options{Kept: 8192})
}

// TestMemorySeq covers what only the in-process bus has: its newest Seq,
// and delivery before Publish returns.
func TestMemorySeq(t *testing.T) {
	ctx := t.Context()
	b := bus.NewMemory()
	if b.Seq() != 0 {
		t.Fatalf("Seq of an empty bus = %d, want 0", b.Seq())
	}
	events, cancel, _ := b.Subscribe(ctx, 0)
	defer cancel()
	for i := 0; i < 10; i++ {
		if err := b.Publish(context.Background(), bus.Event{Type: bus.MessageReceived}); err != nil {
			t.Fatal(err)
		}
	}
	if b.Seq() != 10 {
		t.Errorf("Seq = %d, want 10", b.Seq())
	}
	if len(events) != 10 {
		t.Errorf("%d events buffered when Publish returned, want 10", len(events))
	}
}
