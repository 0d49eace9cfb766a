package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

func delivery(key, kind string, vis store.Visibility) outbox.Delivery {
	return outbox.Delivery{
		Key:          key,
		Channel:      store.Channel{ID: 1, Kind: kind},
		Conversation: store.Conversation{ID: 1, Visibility: vis},
		Message:      store.Message{ID: 1, Body: "Sorry voor het wachten! ^Lotte"},
	}
}

func TestPlatformSimulatorFailures(t *testing.T) {
	p := NewPlatformSimulator(42)
	p.MinLatency, p.MaxLatency = 0, 0 // the shares are what is tested here
	const n = 4000
	var ok, limited, rejected int
	for i := range n {
		_, err := p.Send(context.Background(), delivery(fmt.Sprint("k", i), "x", store.Public))
		var oe *outbox.Error
		switch {
		case err == nil:
			ok++
		case !errors.As(err, &oe):
			t.Fatalf("error %v is not an *outbox.Error", err)
		case oe.Status == 429:
			limited++
			if oe.Permanent || oe.RetryAfter != 2*time.Second || !strings.Contains(oe.Body, "(simulated)") {
				t.Errorf("rate limit %+v", oe)
			}
		case oe.Status == 400:
			rejected++
			if !oe.Permanent || !strings.Contains(oe.Body, "(simulated)") {
				t.Errorf("rejection %+v", oe)
			}
		default:
			t.Errorf("unexpected failure %+v", oe)
		}
	}
	// 3% and 0.5% of 4000 are 120 and 20; the bounds only catch a wrong rate.
	if limited < 60 || limited > 200 {
		t.Errorf("%d rate-limited of %d, want about 3%%", limited, n)
	}
	if rejected < 5 || rejected > 50 {
		t.Errorf("%d rejected of %d, want about 0.5%%", rejected, n)
	}
	if ok != n-limited-rejected {
		t.Errorf("%d delivered", ok)
	}
}

func TestPlatformSimulatorIDs(t *testing.T) {
	var p PlatformSimulator // the zero value never fails
	tests := []struct {
		kind string
		vis  store.Visibility
		ok   func(string) bool
	}{
		{"x", store.Public, isDigits},
		{"x", store.Private, isDigits},
		{"mastodon", store.Public, isDigits},
		{"telegram", store.Private, isDigits},
		{"facebook", store.Public, func(s string) bool { a, b, ok := strings.Cut(s, "_"); return ok && isDigits(a) && isDigits(b) }},
		{"facebook", store.Private, func(s string) bool { return strings.HasPrefix(s, "m_") }},
		{"instagram", store.Public, isDigits},
		{"whatsapp", store.Private, func(s string) bool { return strings.HasPrefix(s, "wamid.") }},
		{"email", store.Private, func(s string) bool { return strings.HasPrefix(s, "<") && strings.HasSuffix(s, "@mail.heron.example>") }},
		{"webchat", store.Private, func(s string) bool { return len(s) == 36 && strings.Count(s, "-") == 4 }},
		{"api", store.Private, func(s string) bool { return strings.HasPrefix(s, "HNB-") }},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+string(tt.vis), func(t *testing.T) {
			for i := range 50 {
				id, err := p.Send(context.Background(), delivery(fmt.Sprint(tt.kind, tt.vis, i), tt.kind, tt.vis))
				if err != nil {
					t.Fatal(err)
				}
				if !tt.ok(id) {
					t.Fatalf("id %q does not look like %s's", id, tt.kind)
				}
				if seen[id] {
					t.Fatalf("id %q given twice", id)
				}
				seen[id] = true
			}
		})
	}
}

func TestPlatformSimulatorIdempotent(t *testing.T) {
	var p PlatformSimulator
	d := delivery("outbox-7", "whatsapp", store.Private)
	first, err := p.Send(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Send(context.Background(), d)
	if err != nil || again != first {
		t.Errorf("a retried key got %q (%v), want %q", again, err, first)
	}
	other, _ := p.Send(context.Background(), delivery("outbox-8", "whatsapp", store.Private))
	if other == first {
		t.Error("two keys got the same id")
	}
}

func TestPlatformSimulatorLatency(t *testing.T) {
	p := NewPlatformSimulator(1)
	p.RateLimited, p.Rejected = 0, 0
	start := time.Now()
	if _, err := p.Send(context.Background(), delivery("a", "x", store.Public)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("delivered in %v, want a realistic latency", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Send(ctx, delivery("b", "x", store.Public)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled send: %v", err)
	}
}

func TestPlatformSimulatorConcurrent(t *testing.T) {
	p := NewPlatformSimulator(2)
	p.MinLatency, p.MaxLatency = 0, time.Millisecond
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			for j := range 20 {
				p.Send(context.Background(), delivery(fmt.Sprint(i%8, "-", j), "x", store.Public))
			}
		})
	}
	wg.Wait()
}
