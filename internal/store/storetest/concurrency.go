package storetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/store"
)

var concurrencyTests = []testCase{
	{"concurrent claims never share an entry", testConcurrentClaims},
	{"concurrent re-deliveries store a message once", testConcurrentIngest},
}

// workers is how many goroutines race in these tests.
const workers = 8

func testConcurrentClaims(f *fixture) {
	es := queued(f, 20)
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				got, err := f.s.ClaimOutbox(f.ctx, at(60), time.Hour, 3)
				if err != nil {
					f.t.Errorf("worker %d: claim: %v", w, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					claimed[e.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, e := range es {
		if n := claimed[e.ID]; n != 1 {
			f.t.Errorf("entry %d claimed %d times during its lease, want once", e.ID, n)
		}
	}
	want(f.t, "entries claimed", len(claimed), len(es))
}

func testConcurrentIngest(f *fixture) {
	ch := f.channel("x", "X")
	results := make([][]store.IngestResult, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			// Every worker gets the same two messages, in its own order,
			// the way a platform re-delivers a webhook to several instances.
			batch := []store.Inbound{msg(ch, "p1", "anna", at(0)), msg(ch, "p2", "anna", at(1))}
			if w%2 == 1 {
				batch[0], batch[1] = batch[1], batch[0]
			}
			rs, err := f.s.Ingest(f.ctx, batch)
			if err != nil {
				f.t.Errorf("worker %d: ingest: %v", w, err)
				return
			}
			if w%2 == 1 {
				rs[0], rs[1] = rs[1], rs[0]
			}
			results[w] = rs
		})
	}
	wg.Wait()

	for i, pid := range []string{"p1", "p2"} {
		stored := 0
		var msgID int64
		for w, rs := range results {
			if rs == nil {
				continue
			}
			if !rs[i].Duplicate {
				stored++
			}
			if msgID == 0 {
				msgID = rs[i].MessageID
			}
			if rs[i].MessageID != msgID {
				f.t.Errorf("worker %d got message %d for %s, others %d", w, rs[i].MessageID, pid, msgID)
			}
		}
		want(f.t, fmt.Sprintf("times %s was stored", pid), stored, 1)
	}
	cs, err := f.s.Contacts(f.ctx, store.ContactFilter{})
	f.check(err, "contacts")
	want(f.t, "contacts", len(cs), 1)
	n, err := f.s.CountConversations(f.ctx, store.ConversationFilter{})
	f.check(err, "count")
	want(f.t, "conversations", n, 1)
	if results[0] != nil {
		want(f.t, "message count", f.conversation(results[0][0].ConversationID).MessageCount, 2)
	}
}
