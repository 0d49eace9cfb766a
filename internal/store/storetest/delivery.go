package storetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/webcare/webcare/internal/store"
)

var replyTests = []testCase{
	{"reply is queued with its outbox entry", testReplyQueued},
	{"first response is recorded once", testReplyFirstResponse},
	{"reply to a resolved conversation is refused", testReplyResolved},
	{"duplicate idempotency key is refused", testReplyDuplicateKey},
	{"reply to an unknown conversation", testReplyUnknown},
}

var outboxTests = []testCase{
	{"claim leases due entries", testOutboxClaim},
	{"claim respects the limit", testOutboxClaimLimit},
	{"retry waits until the next attempt", testOutboxRetry},
	{"deliver marks the message sent, once", testOutboxDeliver},
	{"fail shows on message and conversation", testOutboxFail},
	{"late reports after delivery are stale", testOutboxStaleReports},
	{"platform reports move delivery forward only", testUpdateDelivery},
	{"platform reports a failure after sending", testUpdateDeliveryFailed},
	{"platform reports that come before the send is recorded", testEarlyDelivery},
	{"depth and stats", testOutboxStats},
}

func testReplyQueued(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	f.ingestOne(msg(ch, "p2", "anna", at(1)))

	m, e, err := f.s.QueueReply(f.ctx, store.Reply{ConversationID: r.ConversationID, AgentID: ag.ID, Body: "We zoeken het uit", IdempotencyKey: "key-1", Now: at(5)})
	f.check(err, "queue reply")
	for name, m := range map[string]store.Message{"returned": m, "stored": f.message(m.ID)} {
		want(f.t, name+" direction", m.Direction, store.DirOutbound)
		want(f.t, name+" delivery", m.Delivery, store.Queued)
		want(f.t, name+" agent", m.AgentID, ag.ID)
		want(f.t, name+" body", m.Body, "We zoeken het uit")
		want(f.t, name+" conversation", m.ConversationID, r.ConversationID)
		want(f.t, name+" channel", m.ChannelID, ch.ID)
		want(f.t, name+" reply_to (the latest customer message)", m.ReplyTo, "p2")
		want(f.t, name+" platform id", m.PlatformID, "")
		f.wantTime(name+" sent at", m.SentAt, at(5))
	}
	for name, e := range map[string]store.OutboxEntry{"returned": e, "stored": f.outboxEntry(e.ID)} {
		want(f.t, name+" entry message", e.MessageID, m.ID)
		want(f.t, name+" entry conversation", e.ConversationID, r.ConversationID)
		want(f.t, name+" entry channel", e.ChannelID, ch.ID)
		want(f.t, name+" entry key", e.IdempotencyKey, "key-1")
		want(f.t, name+" entry state", e.State, store.OutboxPending)
		want(f.t, name+" entry attempts", e.Attempts, 0)
		f.wantTime(name+" entry next attempt", e.NextAttemptAt, at(5))
	}

	conv := f.conversation(r.ConversationID)
	want(f.t, "status", conv.Status, store.StatusOpen)
	want(f.t, "message count", conv.MessageCount, 3)
	f.wantTimePtr("waiting since", conv.WaitingSince, nil)
	f.wantTimePtr("first response at", conv.FirstResponseAt, ptr(at(5)))
	f.wantTime("last message at", conv.LastMessageAt, at(5))
	want(f.t, "last preview", conv.LastPreview, "We zoeken het uit")
	want(f.t, "outbox depth", f.depth(), 1)
}

func testReplyFirstResponse(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	f.reply(r.ConversationID, ag.ID, at(5))

	// Anna writes again: the wait clock starts over, the first response
	// stays where it was.
	f.ingestOne(msg(ch, "p2", "anna", at(10)))
	conv := f.conversation(r.ConversationID)
	f.wantTimePtr("waiting since after a new message", conv.WaitingSince, ptr(at(10)))
	f.wantTimePtr("first response at", conv.FirstResponseAt, ptr(at(5)))

	f.reply(r.ConversationID, ag.ID, at(20))
	conv = f.conversation(r.ConversationID)
	f.wantTimePtr("waiting since after the second reply", conv.WaitingSince, nil)
	f.wantTimePtr("first response at after the second reply", conv.FirstResponseAt, ptr(at(5)))
	want(f.t, "outbox depth", f.depth(), 2)
}

func testReplyResolved(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	f.resolve(r.ConversationID)
	before := f.conversation(r.ConversationID)

	_, _, err := f.s.QueueReply(f.ctx, store.Reply{ConversationID: r.ConversationID, AgentID: ag.ID, Body: "te laat", IdempotencyKey: "key-1", Now: at(5)})
	f.wantErr("reply to a resolved conversation", err, store.ErrConflict)
	want(f.t, "messages", len(f.messages(r.ConversationID)), 1)
	want(f.t, "outbox depth", f.depth(), 0)
	after := f.conversation(r.ConversationID)
	want(f.t, "status", after.Status, store.StatusResolved)
	want(f.t, "message count", after.MessageCount, before.MessageCount)
	f.wantTimePtr("first response at", after.FirstResponseAt, nil)
	claimed, err := f.s.ClaimOutbox(f.ctx, at(60), time.Minute, 10)
	f.check(err, "claim")
	want(f.t, "claimable entries", len(claimed), 0)

	// The key was not used up by the refused reply.
	r2 := f.ingestOne(msg(ch, "p2", "anna", at(10)))
	_, _, err = f.s.QueueReply(f.ctx, store.Reply{ConversationID: r2.ConversationID, AgentID: ag.ID, Body: "nu wel", IdempotencyKey: "key-1", Now: at(11)})
	f.check(err, "reply with the refused reply's key")
}

func testReplyDuplicateKey(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	other := f.ingestOne(msg(ch, "p2", "bert", at(0)))
	_, first, err := f.s.QueueReply(f.ctx, store.Reply{ConversationID: r.ConversationID, AgentID: ag.ID, Body: "een", IdempotencyKey: "key-1", Now: at(1)})
	f.check(err, "first reply")

	for _, conv := range []int64{r.ConversationID, other.ConversationID} {
		_, _, err = f.s.QueueReply(f.ctx, store.Reply{ConversationID: conv, AgentID: ag.ID, Body: "twee", IdempotencyKey: "key-1", Now: at(2)})
		f.wantErr(fmt.Sprintf("reply in conversation %d with a used key", conv), err, store.ErrConflict)
	}
	want(f.t, "messages", len(f.messages(r.ConversationID)), 2)
	want(f.t, "messages of the other conversation", len(f.messages(other.ConversationID)), 1)
	want(f.t, "message count", f.conversation(r.ConversationID).MessageCount, 2)
	want(f.t, "outbox depth", f.depth(), 1)
	f.wantTimePtr("other conversation first response", f.conversation(other.ConversationID).FirstResponseAt, nil)
	want(f.t, "entry key", f.outboxEntry(first.ID).IdempotencyKey, "key-1")
}

func testReplyUnknown(f *fixture) {
	_, _, err := f.s.QueueReply(f.ctx, store.Reply{ConversationID: 4242, Body: "?", IdempotencyKey: "key-1", Now: at(0)})
	f.wantErr("reply to an unknown conversation", err, store.ErrNotFound)
	want(f.t, "outbox depth", f.depth(), 0)
}

// queued sets up a conversation with n replies queued at minutes 10, 11, …
func queued(f *fixture, n int) []store.OutboxEntry {
	f.t.Helper()
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	var out []store.OutboxEntry
	for i := range n {
		_, e := f.reply(r.ConversationID, ag.ID, at(10+i))
		out = append(out, e)
	}
	return out
}

func (f *fixture) claim(now time.Time, lease time.Duration, limit int) []store.OutboxEntry {
	f.t.Helper()
	es, err := f.s.ClaimOutbox(f.ctx, now, lease, limit)
	f.check(err, "claim at %v", now)
	return es
}

// entryIDs lists the ids of claimed entries in ascending order: which
// entries a claim returns is the contract, not their order.
func entryIDs(es []store.OutboxEntry) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	slices.Sort(out)
	return out
}

func testOutboxClaim(f *fixture) {
	es := queued(f, 2) // due at minutes 10 and 11
	const lease = 5 * time.Minute
	wantSlice(f.t, "claimed before due", entryIDs(f.claim(at(9), lease, 10)), []int64{})

	got := f.claim(at(10), lease, 10)
	wantSlice(f.t, "claimed at minute 10", entryIDs(got), []int64{es[0].ID})
	got = f.claim(at(11), lease, 10)
	wantSlice(f.t, "claimed at minute 11, the first still leased", entryIDs(got), []int64{es[1].ID})
	if len(got) == 1 {
		want(f.t, "attempts", got[0].Attempts, 1)
		want(f.t, "key", got[0].IdempotencyKey, es[1].IdempotencyKey)
		want(f.t, "message", got[0].MessageID, es[1].MessageID)
		want(f.t, "conversation", got[0].ConversationID, es[1].ConversationID)
	}
	wantSlice(f.t, "claimed while both are leased", entryIDs(f.claim(at(14), lease, 10)), []int64{})

	// A worker that crashed never reports back; its leases run out.
	got = f.claim(at(16).Add(time.Second), lease, 10)
	wantSlice(f.t, "claimed after the leases", entryIDs(got), []int64{es[0].ID, es[1].ID})
	for _, e := range got {
		want(f.t, fmt.Sprintf("attempts of entry %d", e.ID), e.Attempts, 2)
		want(f.t, fmt.Sprintf("stored attempts of entry %d", e.ID), f.outboxEntry(e.ID).Attempts, 2)
		want(f.t, fmt.Sprintf("state of entry %d", e.ID), e.State, store.OutboxPending)
	}
	want(f.t, "outbox depth while leased", f.depth(), 2)
}

func testOutboxClaimLimit(f *fixture) {
	es := queued(f, 3)
	got := f.claim(at(30), time.Minute, 2)
	wantSlice(f.t, "first claim", entryIDs(got), []int64{es[0].ID, es[1].ID})
	got = f.claim(at(30), time.Minute, 2)
	wantSlice(f.t, "second claim", entryIDs(got), []int64{es[2].ID})
}

func testOutboxRetry(f *fixture) {
	es := queued(f, 1)
	id := es[0].ID
	f.claim(at(10), time.Minute, 10)
	f.check(f.s.RetryOutbox(f.ctx, id, "429 too many requests", at(20)), "retry")

	e := f.outboxEntry(id)
	want(f.t, "state", e.State, store.OutboxPending)
	want(f.t, "last error", e.LastError, "429 too many requests")
	f.wantTime("next attempt", e.NextAttemptAt, at(20))
	want(f.t, "attempts", e.Attempts, 1)

	// The lease is over, but the entry waits for its next attempt.
	wantSlice(f.t, "claimed before the next attempt", entryIDs(f.claim(at(19), time.Minute, 10)), []int64{})
	got := f.claim(at(20), time.Minute, 10)
	wantSlice(f.t, "claimed at the next attempt", entryIDs(got), []int64{id})
	if len(got) == 1 {
		want(f.t, "attempts", got[0].Attempts, 2)
	}
	want(f.t, "message delivery", f.message(e.MessageID).Delivery, store.Queued)
}

func testOutboxDeliver(f *fixture) {
	es := queued(f, 2)
	e := es[0]
	f.claim(at(10), time.Minute, 10)
	f.check(f.s.DeliverOutbox(f.ctx, e.ID, "x-123", at(10).Add(time.Second)), "deliver")

	check := func(when string) {
		f.t.Helper()
		got := f.outboxEntry(e.ID)
		want(f.t, when+": state", got.State, store.OutboxSent)
		want(f.t, when+": platform id", got.PlatformID, "x-123")
		m := f.message(e.MessageID)
		want(f.t, when+": message delivery", m.Delivery, store.Sent)
		want(f.t, when+": message platform id", m.PlatformID, "x-123")
		want(f.t, when+": message delivery error", m.DeliveryError, "")
		want(f.t, when+": outbox depth", f.depth(), 1)
	}
	check("delivered")
	// A worker that crashed after sending reports the same send again.
	f.check(f.s.DeliverOutbox(f.ctx, e.ID, "x-123", at(12)), "deliver again")
	check("delivered twice")

	wantSlice(f.t, "claimable after delivery", entryIDs(f.claim(at(60), time.Minute, 10)), []int64{es[1].ID})
	if f.conversation(e.ConversationID).DeliveryFailed {
		f.t.Error("delivery failed set after a successful send")
	}
}

func testOutboxFail(f *fixture) {
	es := queued(f, 2)
	e := es[0]
	f.claim(at(10), time.Minute, 10)
	f.check(f.s.FailOutbox(f.ctx, e.ID, "403 blocked by user", at(11)), "fail")

	got := f.outboxEntry(e.ID)
	want(f.t, "state", got.State, store.OutboxFailed)
	want(f.t, "last error", got.LastError, "403 blocked by user")
	m := f.message(e.MessageID)
	want(f.t, "message delivery", m.Delivery, store.Failed)
	want(f.t, "message delivery error", m.DeliveryError, "403 blocked by user")
	if !f.conversation(e.ConversationID).DeliveryFailed {
		f.t.Error("conversation does not show the failed delivery")
	}
	want(f.t, "outbox depth", f.depth(), 1)
	wantSlice(f.t, "claimable after failure", entryIDs(f.claim(at(60), time.Minute, 10)), []int64{es[1].ID})
	st, err := f.s.Stats(f.ctx)
	f.check(err, "stats")
	want(f.t, "failed entries", st.OutboxFailed, 1)
}

func testOutboxStaleReports(f *fixture) {
	es := queued(f, 1)
	e := es[0]
	// Worker A's lease runs out mid-send; worker B claims and delivers.
	f.claim(at(10), time.Minute, 10)
	f.claim(at(12), time.Minute, 10)
	f.check(f.s.DeliverOutbox(f.ctx, e.ID, "x-123", at(12)), "deliver")

	// Then A reports its own attempt: too late to change anything.
	f.wantErr("fail after delivery", f.s.FailOutbox(f.ctx, e.ID, "timeout", at(13)), store.ErrConflict)
	f.wantErr("retry after delivery", f.s.RetryOutbox(f.ctx, e.ID, "timeout", at(20)), store.ErrConflict)

	got := f.outboxEntry(e.ID)
	want(f.t, "state", got.State, store.OutboxSent)
	want(f.t, "last error", got.LastError, "")
	m := f.message(e.MessageID)
	want(f.t, "message delivery", m.Delivery, store.Sent)
	want(f.t, "message delivery error", m.DeliveryError, "")
	if f.conversation(e.ConversationID).DeliveryFailed {
		f.t.Error("conversation shows a failure for a delivered reply")
	}
	wantSlice(f.t, "claimable", entryIDs(f.claim(at(30), time.Minute, 10)), []int64{})
	st, err := f.s.Stats(f.ctx)
	f.check(err, "stats")
	want(f.t, "stats", st.OutboxFailed, 0)
}

func testOutboxStats(f *fixture) {
	st, err := f.s.Stats(f.ctx)
	f.check(err, "stats of an empty store")
	want(f.t, "empty stats", st, store.Stats{})

	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	var convs []int64
	for i := range 4 {
		convs = append(convs, f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i))).ConversationID)
	}
	f.update(convs[1], store.ConversationChange{Status: ptr(store.StatusPending)})
	f.update(convs[2], store.ConversationChange{Status: ptr(store.StatusSnoozed), SnoozedUntil: ptr(at(100))})
	f.resolve(convs[3])
	var es []store.OutboxEntry
	for i, c := range convs[:3] {
		_, e := f.reply(c, ag.ID, at(10+i))
		es = append(es, e)
	}
	f.check(f.s.DeliverOutbox(f.ctx, es[0].ID, "x-1", at(20)), "deliver")
	f.check(f.s.FailOutbox(f.ctx, es[1].ID, "gone", at(20)), "fail")

	st, err = f.s.Stats(f.ctx)
	f.check(err, "stats")
	want(f.t, "stats", st, store.Stats{OpenConversations: 3, OutboxDepth: 1, OutboxFailed: 1})
	want(f.t, "outbox depth", f.depth(), 1)
}

func testUpdateDelivery(f *fixture) {
	es := queued(f, 1)
	e := es[0]
	f.claim(at(10), time.Minute, 10)
	f.check(f.s.DeliverOutbox(f.ctx, e.ID, "wamid.1", at(11)), "deliver")

	steps := []struct {
		state       store.Delivery
		wantChanged bool
		want        store.Delivery
	}{
		{store.Read, true, store.Read},       // read arrives before delivered
		{store.Delivered, false, store.Read}, // late and stale
		{store.Sent, false, store.Read},      // never backwards
		{store.Failed, false, store.Read},    // a read reply did not fail
		{store.Read, false, store.Read},      // the same report twice
	}
	for _, st := range steps {
		m, changed, err := f.s.UpdateDelivery(f.ctx, e.ChannelID, "wamid.1", st.state, "", at(12))
		f.check(err, "update delivery %s", st.state)
		want(f.t, "changed by "+string(st.state), changed, st.wantChanged)
		want(f.t, "returned state after "+string(st.state), m.Delivery, st.want)
		want(f.t, "stored state after "+string(st.state), f.message(e.MessageID).Delivery, st.want)
	}
	_, _, err := f.s.UpdateDelivery(f.ctx, e.ChannelID, "wamid.unknown", store.Delivered, "", at(12))
	if !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("unknown platform id: err = %v, want ErrNotFound", err)
	}
	_, _, err = f.s.UpdateDelivery(f.ctx, e.ChannelID+1000, "wamid.1", store.Delivered, "", at(12))
	if !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("another channel's platform id: err = %v, want ErrNotFound", err)
	}
}

func testUpdateDeliveryFailed(f *fixture) {
	es := queued(f, 1)
	e := es[0]
	f.claim(at(10), time.Minute, 10)
	f.check(f.s.DeliverOutbox(f.ctx, e.ID, "wamid.2", at(11)), "deliver")
	m, changed, err := f.s.UpdateDelivery(f.ctx, e.ChannelID, "wamid.2", store.Delivered, "", at(12))
	f.check(err, "delivered")
	want(f.t, "delivered changed", changed, true)
	m, changed, err = f.s.UpdateDelivery(f.ctx, e.ChannelID, "wamid.2", store.Failed, "The customer's phone could not be reached", at(13))
	f.check(err, "failed")
	want(f.t, "failed changed", changed, true)
	want(f.t, "returned state", m.Delivery, store.Failed)
	stored := f.message(e.MessageID)
	want(f.t, "stored state", stored.Delivery, store.Failed)
	want(f.t, "stored error", stored.DeliveryError, "The customer's phone could not be reached")
	if !f.conversation(e.ConversationID).DeliveryFailed {
		f.t.Error("conversation does not show the failure")
	}
	_, changed, err = f.s.UpdateDelivery(f.ctx, e.ChannelID, "wamid.2", store.Read, "", at(14))
	f.check(err, "read after failed")
	want(f.t, "read after failed changed", changed, false)
}

// WhatsApp can report "delivered" or "failed" before webcare has recorded
// the send: the report is kept and applied when the send is recorded, the
// furthest state when several came, and forgotten after an hour.
func testEarlyDelivery(f *fixture) {
	es := queued(f, 5)
	f.claim(at(10), time.Minute, 10)
	ch := es[0].ChannelID

	// delivered, then read, then a stale delivered: read wins.
	for _, st := range []store.Delivery{store.Delivered, store.Read, store.Delivered} {
		_, changed, err := f.s.UpdateDelivery(f.ctx, ch, "wamid.early", st, "", at(10))
		if !errors.Is(err, store.ErrNotFound) || changed {
			f.t.Errorf("early %s: changed %v, err %v; want ErrNotFound", st, changed, err)
		}
	}
	f.check(f.s.DeliverOutbox(f.ctx, es[0].ID, "wamid.early", at(11)), "deliver")
	want(f.t, "state of a reply read before its send was recorded", f.message(es[0].MessageID).Delivery, store.Read)
	// Applied once: a later report on it goes the usual way.
	_, changed, err := f.s.UpdateDelivery(f.ctx, ch, "wamid.early", store.Read, "", at(12))
	f.check(err, "report after the record")
	want(f.t, "changed by a repeated read", changed, false)

	// A failure that comes first is shown once the send is recorded.
	_, _, err = f.s.UpdateDelivery(f.ctx, ch, "wamid.fail", store.Failed, "The number is not on WhatsApp.", at(10))
	if !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("early failure: %v", err)
	}
	f.check(f.s.DeliverOutbox(f.ctx, es[1].ID, "wamid.fail", at(11)), "deliver")
	m := f.message(es[1].MessageID)
	want(f.t, "state after an early failure", m.Delivery, store.Failed)
	want(f.t, "error after an early failure", m.DeliveryError, "The number is not on WhatsApp.")

	// Another channel's report does not apply.
	_, _, _ = f.s.UpdateDelivery(f.ctx, ch+1000, "wamid.other", store.Read, "", at(10))
	f.check(f.s.DeliverOutbox(f.ctx, es[2].ID, "wamid.other", at(11)), "deliver")
	want(f.t, "state after another channel's report", f.message(es[2].MessageID).Delivery, store.Sent)

	// A report older than an hour does not apply, pruned or not.
	more := es[3:]
	_, _, _ = f.s.UpdateDelivery(f.ctx, ch, "wamid.old", store.Read, "", at(20))
	_, _, _ = f.s.UpdateDelivery(f.ctx, ch, "wamid.old2", store.Read, "", at(20))
	f.check(f.s.DeliverOutbox(f.ctx, more[0].ID, "wamid.old", at(20).Add(2*time.Hour)), "deliver")
	want(f.t, "state after a report that expired", f.message(more[0].MessageID).Delivery, store.Sent)
	_, _, _ = f.s.UpdateDelivery(f.ctx, ch, "wamid.unrelated", store.Read, "", at(20).Add(2*time.Hour)) // prunes
	f.check(f.s.DeliverOutbox(f.ctx, more[1].ID, "wamid.old2", at(20).Add(2*time.Hour)), "deliver")
	want(f.t, "state after a report that was pruned", f.message(more[1].MessageID).Delivery, store.Sent)
}
