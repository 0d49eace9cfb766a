package storetest

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/store"
)

var ingestTests = []testCase{
	{"new message creates contact, identity and conversation", testIngestNew},
	{"long body gives a shortened preview", testIngestPreview},
	{"next message joins the open conversation", testIngestJoins},
	{"duplicate across batches is stored once", testIngestDuplicateAcrossBatches},
	{"duplicate inside one batch is stored once", testIngestDuplicateInBatch},
	{"same platform id on another channel is not a duplicate", testIngestOtherChannel},
	{"reply_to threads into the replied conversation and reopens it", testIngestReplyTo},
	{"reply_to an agent's delivered reply finds its conversation", testIngestReplyToOutbound},
	{"unknown reply_to falls back to the open conversation", testIngestUnknownReplyTo},
	{"private message starts a separate conversation", testIngestPrivate},
	{"private reply to a public message stays private", testIngestPrivateReplyTo},
	{"late message does not move the conversation back", testIngestOutOfOrder},
	{"message after resolve starts a new conversation", testIngestAfterResolve},
	{"customer message wakes the conversation", testIngestWakes},
	{"failing batch stores nothing", testIngestAtomic},
	{"identity follows renames", testIngestRename},
	{"same identity on two channels is one contact", testIngestTwoChannels},
	{"batch results are in input order", testIngestBatchOrder},
	{"unprocessed messages until marked", testIngestUnprocessed},
}

func testIngestNew(f *fixture) {
	ch := f.channel("x", "KLM on X")
	in := msg(ch, "p1", "anna", at(0))
	in.Body = "Mijn koffer is niet aangekomen"
	in.Subject = "koffer"
	r := f.ingestOne(in)

	if !r.NewContact || !r.NewConversation || r.Duplicate {
		f.t.Errorf("result = %+v, want NewContact and NewConversation, not Duplicate", r)
	}
	if r.MessageID == 0 || r.ConversationID == 0 || r.ContactID == 0 {
		f.t.Fatalf("result = %+v, want all ids set", r)
	}

	c := f.contact(r.ContactID)
	want(f.t, "contact name", c.Name, in.Name)
	want(f.t, "contact language", c.Language, "nl")
	if len(c.Identities) != 1 {
		f.t.Fatalf("contact has %d identities, want 1", len(c.Identities))
	}
	id := c.Identities[0]
	want(f.t, "identity contact", id.ContactID, r.ContactID)
	want(f.t, "identity platform", id.Platform, "x")
	want(f.t, "identity external id", id.ExternalID, "anna")
	want(f.t, "identity handle", id.Handle, "@anna")
	want(f.t, "identity display name", id.DisplayName, "Name anna")

	conv := f.conversation(r.ConversationID)
	want(f.t, "channel", conv.ChannelID, ch.ID)
	want(f.t, "contact", conv.ContactID, r.ContactID)
	want(f.t, "visibility", conv.Visibility, store.Public)
	want(f.t, "status", conv.Status, store.StatusNew)
	want(f.t, "language", conv.Language, "nl")
	want(f.t, "subject", conv.Subject, "koffer")
	want(f.t, "message count", conv.MessageCount, 1)
	want(f.t, "last preview", conv.LastPreview, in.Body)
	want(f.t, "assignee", conv.AssigneeID, 0)
	want(f.t, "tags", len(conv.Tags), 0)
	f.wantTime("last message at", conv.LastMessageAt, in.SentAt)
	f.wantTimePtr("waiting since", conv.WaitingSince, &in.SentAt)
	f.wantTimePtr("first response at", conv.FirstResponseAt, nil)
	if conv.DeliveryFailed {
		f.t.Error("delivery failed set on a new conversation")
	}

	m := f.message(r.MessageID)
	want(f.t, "message conversation", m.ConversationID, r.ConversationID)
	want(f.t, "message channel", m.ChannelID, ch.ID)
	want(f.t, "message direction", m.Direction, store.DirInbound)
	want(f.t, "message delivery", m.Delivery, store.Received)
	want(f.t, "message body", m.Body, in.Body)
	want(f.t, "message platform id", m.PlatformID, "p1")
	f.wantTime("message sent at", m.SentAt, in.SentAt)
	f.wantTime("message created at", m.CreatedAt, in.ReceivedAt)
	want(f.t, "messages in conversation", len(f.messages(r.ConversationID)), 1)
}

func testIngestPreview(f *fixture) {
	ch := f.channel("x", "X")
	in := msg(ch, "p1", "anna", at(0))
	in.Body = strings.Repeat("lang verhaal over mijn koffer ", 50)
	r := f.ingestOne(in)
	p := f.conversation(r.ConversationID).LastPreview
	if p == "" || p == in.Body || utf8.RuneCountInString(p) > 200 {
		f.t.Errorf("preview of a %d-rune body has %d runes, want a shortened one", utf8.RuneCountInString(in.Body), utf8.RuneCountInString(p))
	}
	if !strings.HasPrefix(in.Body, strings.TrimSuffix(p, "…")) {
		f.t.Errorf("preview %q is not the start of the body", p)
	}
	want(f.t, "stored body", f.message(r.MessageID).Body, in.Body)
}

func testIngestJoins(f *fixture) {
	ch := f.channel("x", "X")
	first := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	in := msg(ch, "p2", "anna", at(3))
	in.Body = "Hallo? Nog iemand daar?"
	r := f.ingestOne(in)

	if r.NewContact || r.NewConversation || r.Duplicate {
		f.t.Errorf("result = %+v, want an existing contact and conversation", r)
	}
	want(f.t, "contact", r.ContactID, first.ContactID)
	want(f.t, "conversation", r.ConversationID, first.ConversationID)
	if r.MessageID == first.MessageID {
		f.t.Error("second message got the first message's id")
	}
	conv := f.conversation(r.ConversationID)
	want(f.t, "message count", conv.MessageCount, 2)
	want(f.t, "last preview", conv.LastPreview, in.Body)
	want(f.t, "status", conv.Status, store.StatusNew)
	f.wantTime("last message at", conv.LastMessageAt, at(3))
	f.wantTimePtr("waiting since (the oldest unanswered message)", conv.WaitingSince, ptr(at(0)))
}

func testIngestDuplicateAcrossBatches(f *fixture) {
	ch := f.channel("x", "X")
	in := msg(ch, "p1", "anna", at(0))
	first := f.ingestOne(in)

	again := in
	again.Body = "a re-delivered webhook with other text"
	again.ReceivedAt = at(5)
	r := f.ingestOne(again)

	if !r.Duplicate || r.NewContact || r.NewConversation {
		f.t.Errorf("result = %+v, want Duplicate only", r)
	}
	want(f.t, "message id", r.MessageID, first.MessageID)
	want(f.t, "conversation id", r.ConversationID, first.ConversationID)
	want(f.t, "contact id", r.ContactID, first.ContactID)
	want(f.t, "message count", f.conversation(first.ConversationID).MessageCount, 1)
	want(f.t, "messages stored", len(f.messages(first.ConversationID)), 1)
	want(f.t, "stored body", f.message(first.MessageID).Body, in.Body)
}

func testIngestDuplicateInBatch(f *fixture) {
	ch := f.channel("x", "X")
	in := msg(ch, "p1", "anna", at(0))
	rs := f.ingest(in, in)

	if rs[0].Duplicate || !rs[1].Duplicate {
		f.t.Errorf("duplicate flags = %t, %t, want false, true", rs[0].Duplicate, rs[1].Duplicate)
	}
	want(f.t, "message id", rs[1].MessageID, rs[0].MessageID)
	want(f.t, "conversation id", rs[1].ConversationID, rs[0].ConversationID)
	want(f.t, "contact id", rs[1].ContactID, rs[0].ContactID)
	want(f.t, "message count", f.conversation(rs[0].ConversationID).MessageCount, 1)
	want(f.t, "messages stored", len(f.messages(rs[0].ConversationID)), 1)
}

func testIngestOtherChannel(f *fixture) {
	ch1 := f.channel("x", "X one")
	ch2 := f.channel("x", "X two")
	rs := f.ingest(msg(ch1, "p1", "anna", at(0)), msg(ch2, "p1", "anna", at(0)))

	if rs[1].Duplicate {
		f.t.Fatal("the same platform id on another channel was taken for a duplicate")
	}
	if rs[0].MessageID == rs[1].MessageID || rs[0].ConversationID == rs[1].ConversationID {
		f.t.Errorf("results %+v and %+v share a message or conversation", rs[0], rs[1])
	}
	want(f.t, "second message channel", f.message(rs[1].MessageID).ChannelID, ch2.ID)
	want(f.t, "second conversation channel", f.conversation(rs[1].ConversationID).ChannelID, ch2.ID)
}

func testIngestReplyTo(f *fixture) {
	ch := f.channel("x", "X")
	a := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	f.resolve(a.ConversationID)
	b := f.ingestOne(msg(ch, "p2", "anna", at(10)))
	if b.ConversationID == a.ConversationID {
		f.t.Fatal("a message after resolve joined the resolved conversation")
	}

	// Anna answers the old thread although a newer one is open.
	in := msg(ch, "p3", "anna", at(20))
	in.ReplyTo = "p1"
	r := f.ingestOne(in)
	want(f.t, "conversation", r.ConversationID, a.ConversationID)
	if r.NewConversation {
		f.t.Error("reply_to started a new conversation")
	}
	conv := f.conversation(a.ConversationID)
	want(f.t, "status of the reopened conversation", conv.Status, store.StatusOpen)
	want(f.t, "message count", conv.MessageCount, 2)
	f.wantTime("last message at", conv.LastMessageAt, at(20))
	f.wantTimePtr("waiting since", conv.WaitingSince, ptr(at(20)))
	want(f.t, "stored reply_to", f.message(r.MessageID).ReplyTo, "p1")
	want(f.t, "message count of the newer conversation", f.conversation(b.ConversationID).MessageCount, 1)
}

func testIngestReplyToOutbound(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	a := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	_, e := f.reply(a.ConversationID, ag.ID, at(1))
	f.check(f.s.DeliverOutbox(f.ctx, e.ID, "out-1", at(2)), "deliver")
	f.resolve(a.ConversationID)

	// Platforms echo our own sends back; the echo is the reply itself.
	echo := msg(ch, "out-1", "klm", at(2))
	if r := f.ingestOne(echo); !r.Duplicate || r.MessageID != e.MessageID {
		f.t.Errorf("echo of the delivered reply = %+v, want a duplicate of message %d", r, e.MessageID)
	}

	in := msg(ch, "p2", "anna", at(30))
	in.ReplyTo = "out-1"
	r := f.ingestOne(in)
	want(f.t, "conversation", r.ConversationID, a.ConversationID)
	want(f.t, "status", f.conversation(a.ConversationID).Status, store.StatusOpen)
}

func testIngestUnknownReplyTo(f *fixture) {
	ch := f.channel("x", "X")
	a := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	in := msg(ch, "p2", "anna", at(1))
	in.ReplyTo = "never-seen"
	r := f.ingestOne(in)
	want(f.t, "conversation", r.ConversationID, a.ConversationID)
	if r.NewConversation {
		f.t.Error("unknown reply_to started a new conversation")
	}
}

func testIngestPrivate(f *fixture) {
	ch := f.channel("x", "X")
	pub := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	dm := msg(ch, "d1", "anna", at(1))
	dm.Private = true
	priv := f.ingestOne(dm)

	if !priv.NewConversation || priv.ConversationID == pub.ConversationID {
		f.t.Fatalf("private message joined the public conversation: %+v", priv)
	}
	want(f.t, "contact", priv.ContactID, pub.ContactID)
	want(f.t, "private visibility", f.conversation(priv.ConversationID).Visibility, store.Private)
	want(f.t, "public visibility", f.conversation(pub.ConversationID).Visibility, store.Public)

	dm2 := msg(ch, "d2", "anna", at(2))
	dm2.Private = true
	rs := f.ingest(dm2, msg(ch, "p2", "anna", at(3)))
	want(f.t, "second private message conversation", rs[0].ConversationID, priv.ConversationID)
	want(f.t, "second public message conversation", rs[1].ConversationID, pub.ConversationID)
	want(f.t, "private message count", f.conversation(priv.ConversationID).MessageCount, 2)
	want(f.t, "public message count", f.conversation(pub.ConversationID).MessageCount, 2)
}

func testIngestPrivateReplyTo(f *fixture) {
	ch := f.channel("facebook", "Facebook")
	pub := f.ingestOne(msg(ch, "comment-1", "anna", at(0)))

	// A private reply to a public comment (Messenger does this) must not
	// land in the public thread, where an agent's answer would be public.
	dm := msg(ch, "dm-1", "anna", at(1))
	dm.Private, dm.ReplyTo = true, "comment-1"
	r := f.ingestOne(dm)
	if r.ConversationID == pub.ConversationID {
		f.t.Fatal("private message threaded into the public conversation")
	}
	want(f.t, "visibility", f.conversation(r.ConversationID).Visibility, store.Private)
	want(f.t, "public message count", f.conversation(pub.ConversationID).MessageCount, 1)
}

func testIngestOutOfOrder(f *fixture) {
	ch := f.channel("x", "X")
	// Polled platforms hand over pages newest first.
	newer := msg(ch, "p2", "anna", at(10))
	newer.Body = "nieuwste"
	older := msg(ch, "p1", "anna", at(5))
	older.Body = "oudste"
	rs := f.ingest(newer, older)
	want(f.t, "conversation", rs[1].ConversationID, rs[0].ConversationID)

	conv := f.conversation(rs[0].ConversationID)
	want(f.t, "message count", conv.MessageCount, 2)
	f.wantTime("last message at", conv.LastMessageAt, at(10))
	want(f.t, "last preview", conv.LastPreview, "nieuwste")
	f.wantTimePtr("waiting since (the oldest unanswered message)", conv.WaitingSince, ptr(at(5)))
}

func testIngestAfterResolve(f *fixture) {
	ch := f.channel("x", "X")
	a := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	f.resolve(a.ConversationID)
	r := f.ingestOne(msg(ch, "p2", "anna", at(60)))

	if !r.NewConversation || r.ConversationID == a.ConversationID {
		f.t.Fatalf("result = %+v, want a new conversation", r)
	}
	want(f.t, "contact", r.ContactID, a.ContactID)
	want(f.t, "new conversation status", f.conversation(r.ConversationID).Status, store.StatusNew)
	old := f.conversation(a.ConversationID)
	want(f.t, "old conversation status", old.Status, store.StatusResolved)
	want(f.t, "old conversation message count", old.MessageCount, 1)
}

func testIngestWakes(f *fixture) {
	ch := f.channel("x", "X")
	tests := []struct {
		name   string
		change store.ConversationChange
		want   store.Status
	}{
		{"new stays new", store.ConversationChange{}, store.StatusNew},
		{"open stays open", store.ConversationChange{Status: ptr(store.StatusOpen)}, store.StatusOpen},
		{"pending opens", store.ConversationChange{Status: ptr(store.StatusPending)}, store.StatusOpen},
		{"snoozed opens", store.ConversationChange{Status: ptr(store.StatusSnoozed), SnoozedUntil: ptr(at(600))}, store.StatusOpen},
	}
	for i, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			f := f.sub(t)
			author := fmt.Sprintf("user%d", i)
			r := f.ingestOne(msg(ch, author+"-1", author, at(0)))
			f.update(r.ConversationID, tt.change)
			r2 := f.ingestOne(msg(ch, author+"-2", author, at(1)))
			want(t, "conversation", r2.ConversationID, r.ConversationID)
			c := f.conversation(r.ConversationID)
			want(t, "status", c.Status, tt.want)
			f.wantTimePtr("snoozed until", c.SnoozedUntil, nil)
		})
	}
}

func testIngestAtomic(f *fixture) {
	ch := f.channel("x", "X")
	rs, err := f.s.Ingest(f.ctx, nil)
	f.check(err, "empty batch")
	want(f.t, "results of an empty batch", len(rs), 0)

	good := msg(ch, "p1", "anna", at(0))
	good.Processed = false
	bad := msg(store.Channel{ID: 4242, Kind: "x"}, "p2", "bert", at(1))
	if _, err := f.s.Ingest(f.ctx, []store.Inbound{good, bad}); err == nil {
		f.t.Fatal("a message for an unknown channel was accepted")
	}
	n, err := f.s.CountConversations(f.ctx, store.ConversationFilter{})
	f.check(err, "count")
	want(f.t, "conversations after the failed batch", n, 0)
	cs, err := f.s.Contacts(f.ctx, store.ContactFilter{})
	f.check(err, "contacts")
	want(f.t, "contacts after the failed batch", len(cs), 0)
	un, err := f.s.Unprocessed(f.ctx, 10)
	f.check(err, "unprocessed")
	want(f.t, "unprocessed after the failed batch", len(un), 0)

	// The good message was not half-stored: sent again, it is new.
	r := f.ingestOne(good)
	if r.Duplicate || !r.NewContact {
		f.t.Errorf("good message after the failed batch = %+v, want it stored afresh", r)
	}
}

func testIngestRename(f *fixture) {
	ch := f.channel("x", "X")
	a := f.ingestOne(msg(ch, "p1", "anna", at(0)))

	renamed := msg(ch, "p2", "anna", at(1))
	renamed.Handle, renamed.Name = "@anna_b", "Anna Bakker"
	f.ingestOne(renamed)
	c := f.contact(a.ContactID)
	if len(c.Identities) != 1 {
		f.t.Fatalf("contact has %d identities, want 1", len(c.Identities))
	}
	want(f.t, "handle", c.Identities[0].Handle, "@anna_b")
	want(f.t, "display name", c.Identities[0].DisplayName, "Anna Bakker")

	// A platform that leaves the names out does not erase them.
	bare := msg(ch, "p3", "anna", at(2))
	bare.Handle, bare.Name = "", ""
	f.ingestOne(bare)
	c = f.contact(a.ContactID)
	want(f.t, "handle after a message without one", c.Identities[0].Handle, "@anna_b")
	want(f.t, "display name after a message without one", c.Identities[0].DisplayName, "Anna Bakker")
}

func testIngestTwoChannels(f *fixture) {
	ch1 := f.channel("x", "X service")
	ch2 := f.channel("x", "X marketing")
	r1 := f.ingestOne(msg(ch1, "p1", "anna", at(0)))
	r2 := f.ingestOne(msg(ch2, "p2", "anna", at(1)))

	want(f.t, "contact", r2.ContactID, r1.ContactID)
	if r2.NewContact {
		f.t.Error("second channel created a new contact")
	}
	if !r2.NewConversation || r2.ConversationID == r1.ConversationID {
		f.t.Error("second channel did not get its own conversation")
	}
	want(f.t, "identities", len(f.contact(r1.ContactID).Identities), 1)
}

func testIngestBatchOrder(f *fixture) {
	chs := []store.Channel{f.channel("x", "X"), f.channel("facebook", "Facebook")}
	var batch []store.Inbound
	original := map[int]int{} // index of a duplicate → index of its original
	for i := range 50 {
		ch := chs[i%2]
		pid := fmt.Sprintf("p%d", i)
		if i%10 == 9 {
			pid = fmt.Sprintf("p%d", i-4) // same channel parity: a true duplicate
			original[i] = i - 4
		}
		in := msg(ch, pid, fmt.Sprintf("user%d", i%7), at(i))
		in.Body = fmt.Sprintf("message number %d", i)
		in.Private = i%5 == 0
		batch = append(batch, in)
	}
	rs := f.ingest(batch...)

	seen := map[int64]bool{}
	for i, r := range rs {
		if j, dup := original[i]; dup {
			if !r.Duplicate || r.MessageID != rs[j].MessageID || r.ConversationID != rs[j].ConversationID {
				f.t.Errorf("result %d = %+v, want a duplicate of result %d %+v", i, r, j, rs[j])
			}
			continue
		}
		if r.Duplicate {
			f.t.Errorf("result %d marked duplicate", i)
			continue
		}
		if seen[r.MessageID] {
			f.t.Errorf("result %d repeats message id %d", i, r.MessageID)
		}
		seen[r.MessageID] = true
		m := f.message(r.MessageID)
		if m.Body != batch[i].Body || m.ChannelID != batch[i].ChannelID || m.ConversationID != r.ConversationID {
			f.t.Errorf("result %d points at message %+v, want the one with body %q", i, m, batch[i].Body)
		}
		conv := f.conversation(r.ConversationID)
		wantVis := store.Public
		if batch[i].Private {
			wantVis = store.Private
		}
		if conv.ContactID != r.ContactID || conv.ChannelID != batch[i].ChannelID || conv.Visibility != wantVis {
			f.t.Errorf("result %d: conversation %+v does not match the message", i, conv)
		}
		ids := f.contact(r.ContactID).Identities
		if len(ids) != 1 || ids[0].ExternalID != batch[i].ExternalID {
			f.t.Errorf("result %d: contact identities %+v, want author %s", i, ids, batch[i].ExternalID)
		}
	}
	want(f.t, "distinct messages", len(seen), 45)
}

func testIngestUnprocessed(f *fixture) {
	ch := f.channel("x", "X")
	var batch []store.Inbound
	for i := range 5 {
		in := msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i))
		in.Processed = i%2 == 1 // 0, 2 and 4 wait for the stages
		batch = append(batch, in)
	}
	rs := f.ingest(batch...)
	// A re-delivery of an unprocessed message adds nothing to the queue.
	f.ingest(batch[0])

	unprocessed := func(limit int) []int64 {
		f.t.Helper()
		ms, err := f.s.Unprocessed(f.ctx, limit)
		f.check(err, "unprocessed")
		out := []int64{}
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	wantSlice(f.t, "unprocessed", unprocessed(10), []int64{rs[0].MessageID, rs[2].MessageID, rs[4].MessageID})
	wantSlice(f.t, "unprocessed, limit 2", unprocessed(2), []int64{rs[0].MessageID, rs[2].MessageID})

	f.check(f.s.MarkProcessed(f.ctx, []int64{rs[0].MessageID, rs[4].MessageID}), "mark processed")
	wantSlice(f.t, "unprocessed after marking", unprocessed(10), []int64{rs[2].MessageID})
	f.check(f.s.MarkProcessed(f.ctx, nil), "mark nothing processed")
	f.check(f.s.MarkProcessed(f.ctx, []int64{rs[2].MessageID}), "mark processed")
	wantSlice(f.t, "unprocessed after marking all", unprocessed(10), []int64{})
}
