package demo

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/outbox"
	"github.com/webcare/webcare/internal/store"
)

// PlatformSimulator is a SIMULATION of X, Facebook, WhatsApp, a mail server
// and the other platforms, used only by `webcare demo`, where the real
// platforms are out of reach and no reply must ever leave the machine. It
// implements outbox.Sender for every channel kind: it pretends to deliver a
// reply after a short random latency and returns an id in the platform's
// shape. Now and then it answers like a platform under load (429 with
// Retry-After) or refuses a recipient for good, so the demo shows retries
// and failed deliveries. It never contacts anything.
//
// The zero value delivers instantly and never fails; NewPlatformSimulator
// gives the demo's latency and failure rates. It is safe for concurrent use.
type PlatformSimulator struct {
	MinLatency, MaxLatency time.Duration
	RateLimited            float64 // share of sends answered with a simulated 429
	Rejected               float64 // share of sends refused for good with a simulated 400

	mu    sync.Mutex
	r     *rand.Rand
	ids   idSource
	sent  map[string]string // idempotency key → platform id
	order []string          // keys oldest first, to bound sent
}

var _ outbox.Sender = (*PlatformSimulator)(nil)

// maxKeys bounds the idempotency memory of the simulated platforms.
const maxKeys = 10_000

// NewPlatformSimulator returns a simulated platform with 20–150 ms latency,
// 3% rate limiting and 0.5% rejected recipients, drawing from seed.
func NewPlatformSimulator(seed uint64) *PlatformSimulator {
	r := rand.New(rand.NewPCG(seed, 0x4e21))
	return &PlatformSimulator{
		MinLatency: 20 * time.Millisecond, MaxLatency: 150 * time.Millisecond,
		RateLimited: 0.03, Rejected: 0.005,
		r: r, ids: idSource{r: r},
	}
}

// Send pretends to deliver d. A key it has delivered before gets the same
// id again, as platforms that honour idempotency keys do. Failures are
// *outbox.Error values marked "(simulated)".
func (p *PlatformSimulator) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	p.mu.Lock()
	if id, ok := p.sent[d.Key]; ok && d.Key != "" {
		p.mu.Unlock()
		return id, nil
	}
	if p.r == nil { // the zero value
		p.r = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x4e21))
		p.ids.r = p.r
	}
	latency := p.MinLatency
	if spread := p.MaxLatency - p.MinLatency; spread > 0 {
		latency += time.Duration(p.r.Int64N(int64(spread)))
	}
	roll := p.r.Float64()
	p.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
	}
	switch {
	case roll < p.Rejected:
		return "", &outbox.Error{Permanent: true, Status: 400, Body: "recipient cannot receive messages (simulated)"}
	case roll < p.Rejected+p.RateLimited:
		return "", &outbox.Error{Status: 429, RetryAfter: 2 * time.Second, Body: "rate limited (simulated)"}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.sent[d.Key]; ok && d.Key != "" {
		return id, nil // a concurrent send of the same key won
	}
	id := p.ids.message(d.Channel.Kind, d.Conversation.Visibility == store.Private, time.Now(), "mail.heron.example")
	if d.Key == "" {
		return id, nil
	}
	if p.sent == nil {
		p.sent = map[string]string{}
	}
	p.sent[d.Key] = id
	p.order = append(p.order, d.Key)
	if len(p.order) > maxKeys {
		delete(p.sent, p.order[0])
		p.order = p.order[1:]
	}
	return id, nil
}
