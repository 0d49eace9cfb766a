package storetest

import (
	"errors"

	"github.com/webcare/webcare/internal/store"
)

var privateTests = []testCase{
	{"move to private links a new private thread", testMovePrivate},
	{"the customer's next direct message threads into it", testMovePrivateThreads},
	{"an existing private thread is linked, not duplicated", testMovePrivateExisting},
	{"a private conversation cannot move again", testMovePrivateTwice},
}

func testMovePrivate(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	pub := f.ingestOne(msg(ch, "p1", "anna", at(0)))

	priv, m, e, err := f.s.MoveToPrivate(f.ctx, store.Reply{ConversationID: pub.ConversationID, AgentID: ag.ID, Body: "Stuur ons een DM", IdempotencyKey: "mv-1", Now: at(5)})
	f.check(err, "move to private")
	want(f.t, "invitation is a public reply", m.ConversationID, pub.ConversationID)
	want(f.t, "invitation queued", e.MessageID, m.ID)
	want(f.t, "private visibility", priv.Visibility, store.Private)
	want(f.t, "private status", priv.Status, store.StatusPending)
	want(f.t, "private contact", priv.ContactID, pub.ContactID)
	want(f.t, "private channel", priv.ChannelID, ch.ID)
	want(f.t, "private links back", priv.LinkedID, pub.ConversationID)
	want(f.t, "public links forward", f.conversation(pub.ConversationID).LinkedID, priv.ID)
	want(f.t, "outbox depth", f.depth(), 1)
}

func testMovePrivateThreads(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	pub := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	priv, _, _, err := f.s.MoveToPrivate(f.ctx, store.Reply{ConversationID: pub.ConversationID, AgentID: ag.ID, Body: "DM us", IdempotencyKey: "mv-1", Now: at(5)})
	f.check(err, "move to private")

	in := msg(ch, "d1", "anna", at(10))
	in.Private = true
	r := f.ingestOne(in)
	want(f.t, "direct message threads into the linked private conversation", r.ConversationID, priv.ID)
	got := f.conversation(priv.ID)
	want(f.t, "reopened by the customer", got.Status, store.StatusOpen)
	want(f.t, "still linked", got.LinkedID, pub.ConversationID)
}

func testMovePrivateExisting(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	in := msg(ch, "d0", "anna", at(0))
	in.Private = true
	old := f.ingestOne(in)
	pub := f.ingestOne(msg(ch, "p1", "anna", at(1)))

	priv, _, _, err := f.s.MoveToPrivate(f.ctx, store.Reply{ConversationID: pub.ConversationID, AgentID: ag.ID, Body: "DM us", IdempotencyKey: "mv-1", Now: at(5)})
	f.check(err, "move to private")
	want(f.t, "the open private conversation is reused", priv.ID, old.ConversationID)
	want(f.t, "linked", priv.LinkedID, pub.ConversationID)
}

func testMovePrivateTwice(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	in := msg(ch, "d0", "anna", at(0))
	in.Private = true
	priv := f.ingestOne(in)
	_, _, _, err := f.s.MoveToPrivate(f.ctx, store.Reply{ConversationID: priv.ConversationID, AgentID: ag.ID, Body: "DM us", IdempotencyKey: "mv-1", Now: at(5)})
	if !errors.Is(err, store.ErrConflict) {
		f.t.Fatalf("moving a private conversation: got %v, want ErrConflict", err)
	}
	want(f.t, "nothing queued", f.depth(), 0)
}
