package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/webcare/webcare/internal/store"
)

var conversationTests = []testCase{
	{"filters", testConversationFilters},
	{"newest last message first", testConversationOrder},
	{"cursor pagination visits every conversation once", testConversationPages},
	{"several statuses merge into one order", testConversationStatusesMerged},
	{"waiting longest first, then newest", testConversationWaitingOrder},
	{"update fields one by one", testConversationUpdate},
	{"update writes the audit trail", testConversationAudit},
	{"resolve clears waiting since and snooze", testConversationResolve},
	{"update to an unknown agent or team", testConversationUnknownRefs},
	{"messages oldest first after an id", testConversationMessages},
	{"note is internal and answers nobody", testConversationNote},
}

// inbox is a fixture of six conversations in different states, created in
// order, one minute apart, so that conv[5] is the newest.
type inbox struct {
	ch1, ch2 store.Channel
	a1, a2   store.Agent
	team     store.Team
	conv     []store.Conversation
	anna     int64 // the contact of conv[0] and conv[4]
}

func newInbox(f *fixture) *inbox {
	f.t.Helper()
	ib := &inbox{ch1: f.channel("x", "X"), ch2: f.channel("email", "Mail"), a1: f.agent("a1@example.com"), a2: f.agent("a2@example.com")}
	ib.team = f.team("Baggage", ib.a1.ID)
	type spec struct {
		ch      store.Channel
		author  string
		lang    string
		private bool
		change  store.ConversationChange
	}
	specs := []spec{
		{ch: ib.ch1, author: "anna", lang: "nl", change: store.ConversationChange{Status: ptr(store.StatusOpen), AssigneeID: &ib.a1.ID, TeamID: &ib.team.ID}},
		{ch: ib.ch1, author: "bert", lang: "en", change: store.ConversationChange{Status: ptr(store.StatusPending), AssigneeID: &ib.a2.ID}},
		{ch: ib.ch2, author: "carla", lang: "nl", change: store.ConversationChange{Status: ptr(store.StatusResolved), TeamID: &ib.team.ID}},
		{ch: ib.ch2, author: "dirk", lang: "en", change: store.ConversationChange{Status: ptr(store.StatusSnoozed), SnoozedUntil: ptr(at(600))}},
		{ch: ib.ch1, author: "anna", lang: "nl", private: true, change: store.ConversationChange{AssigneeID: &ib.a1.ID}},
		{ch: ib.ch2, author: "eva", lang: "de"},
	}
	for i, sp := range specs {
		in := msg(sp.ch, fmt.Sprintf("p%d", i), sp.author, at(i))
		in.Language, in.Private = sp.lang, sp.private
		r := f.ingestOne(in)
		if !r.NewConversation {
			f.t.Fatalf("inbox message %d joined conversation %d", i, r.ConversationID)
		}
		if i == 0 {
			ib.anna = r.ContactID
		}
		f.update(r.ConversationID, sp.change)
		ib.conv = append(ib.conv, f.conversation(r.ConversationID))
	}
	return ib
}

// pick lists the ids of the inbox conversations at the given indexes.
func (ib *inbox) pick(idx ...int) []int64 {
	out := []int64{}
	for _, i := range idx {
		out = append(out, ib.conv[i].ID)
	}
	return out
}

func testConversationFilters(f *fixture) {
	ib := newInbox(f)
	tests := []struct {
		name   string
		filter store.ConversationFilter
		want   []int64
	}{
		{"everything", store.ConversationFilter{}, ib.pick(5, 4, 3, 2, 1, 0)},
		{"status new", store.ConversationFilter{Statuses: []store.Status{store.StatusNew}}, ib.pick(5, 4)},
		{"status open or pending", store.ConversationFilter{Statuses: []store.Status{store.StatusOpen, store.StatusPending}}, ib.pick(1, 0)},
		{"status snoozed", store.ConversationFilter{Statuses: []store.Status{store.StatusSnoozed}}, ib.pick(3)},
		{"channel", store.ConversationFilter{ChannelID: ib.ch2.ID}, ib.pick(5, 3, 2)},
		{"language", store.ConversationFilter{Language: "nl"}, ib.pick(4, 2, 0)},
		{"assignee", store.ConversationFilter{AssigneeID: ib.a1.ID}, ib.pick(4, 0)},
		{"unassigned", store.ConversationFilter{AssigneeID: -1}, ib.pick(5, 3, 2)},
		{"team", store.ConversationFilter{TeamID: ib.team.ID}, ib.pick(2, 0)},
		{"no team", store.ConversationFilter{TeamID: -1}, ib.pick(5, 4, 3, 1)},
		{"contact", store.ConversationFilter{ContactID: ib.anna}, ib.pick(4, 0)},
		{"combined", store.ConversationFilter{ChannelID: ib.ch1.ID, AssigneeID: ib.a1.ID, Statuses: []store.Status{store.StatusNew}}, ib.pick(4)},
		{"nothing matches", store.ConversationFilter{Language: "fr"}, []int64{}},
		{"limit", store.ConversationFilter{Limit: 2}, ib.pick(5, 4)},
	}
	for _, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			f := f.sub(t)
			got, err := f.s.Conversations(f.ctx, tt.filter)
			f.check(err, "conversations")
			wantSlice(t, "conversations", ids(got), tt.want)
			if tt.filter.Limit != 0 {
				return
			}
			n, err := f.s.CountConversations(f.ctx, tt.filter)
			f.check(err, "count")
			want(t, "count", n, len(tt.want))
		})
	}
}

func testConversationOrder(f *fixture) {
	ch := f.channel("x", "X")
	// Created in one order, last written to in another.
	minutes := []int{30, 10, 50, 20, 40}
	var rs []store.IngestResult
	for i, m := range minutes {
		rs = append(rs, f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(m))))
	}
	// A late message moves the oldest conversation to the top.
	f.ingestOne(msg(ch, "late", "user1", at(90)))

	got, err := f.s.Conversations(f.ctx, store.ConversationFilter{})
	f.check(err, "conversations")
	wantSlice(f.t, "order", ids(got), []int64{rs[1].ConversationID, rs[2].ConversationID, rs[4].ConversationID, rs[0].ConversationID, rs[3].ConversationID})
	if len(got) > 0 {
		f.wantTime("newest last message at", got[0].LastMessageAt, at(90))
	}
}

func testConversationPages(f *fixture) {
	ch1 := f.channel("x", "X")
	ch2 := f.channel("facebook", "Facebook")
	const total = 23
	for i := range total {
		ch := ch1
		if i%3 == 2 {
			ch = ch2
		}
		// Three conversations share each minute, so ties need the id.
		f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i/3)))
	}
	tests := []struct {
		name   string
		filter store.ConversationFilter
		want   int
	}{
		{"all", store.ConversationFilter{}, total},
		{"one channel", store.ConversationFilter{ChannelID: ch2.ID}, 7},
		{"status", store.ConversationFilter{Statuses: []store.Status{store.StatusNew}}, total},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 4, 5, 50} {
			f.t.Run(fmt.Sprintf("%s by %d", tt.name, size), func(t *testing.T) {
				f := f.sub(t)
				all := tt.filter
				all.Limit = 100
				full, err := f.s.Conversations(f.ctx, all)
				f.check(err, "full list")
				want(t, "full list length", len(full), tt.want)
				n, err := f.s.CountConversations(f.ctx, tt.filter)
				f.check(err, "count")
				want(t, "count", n, tt.want)
				for i := 1; i < len(full); i++ {
					prev, cur := full[i-1], full[i]
					if cur.LastMessageAt.After(prev.LastMessageAt) || (cur.LastMessageAt.Equal(prev.LastMessageAt) && cur.ID >= prev.ID) {
						t.Errorf("list not ordered by (last message, id) descending at %d: %d after %d", i, cur.ID, prev.ID)
					}
				}

				var walked []int64
				page := tt.filter
				page.Limit = size
				for pages := 0; ; pages++ {
					if pages > total+1 {
						t.Fatal("pagination does not end")
					}
					got, err := f.s.Conversations(f.ctx, page)
					f.check(err, "page %d", pages)
					if len(got) > size {
						t.Fatalf("page %d has %d conversations, limit %d", pages, len(got), size)
					}
					if len(got) == 0 {
						break
					}
					walked = append(walked, ids(got)...)
					last := got[len(got)-1]
					page.Before = store.Cursor{At: last.LastMessageAt, ID: last.ID}
				}
				wantSlice(t, "walked", walked, ids(full))
				seen := map[int64]bool{}
				for _, id := range walked {
					if seen[id] {
						t.Errorf("conversation %d on two pages", id)
					}
					seen[id] = true
				}
			})
		}
	}
}

func testConversationUpdate(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	tm := f.team("Baggage")
	other := f.ingestOne(msg(ch, "o1", "bert", at(0)))
	r := f.ingestOne(msg(ch, "p1", "anna", at(1)))
	id := r.ConversationID
	until := at(120)

	tests := []struct {
		name   string
		change store.ConversationChange
		check  func(t *testing.T, c store.Conversation)
	}{
		{"open", store.ConversationChange{Status: ptr(store.StatusOpen)}, func(t *testing.T, c store.Conversation) {
			want(t, "status", c.Status, store.StatusOpen)
		}},
		{"snooze", store.ConversationChange{Status: ptr(store.StatusSnoozed), SnoozedUntil: &until}, func(t *testing.T, c store.Conversation) {
			want(t, "status", c.Status, store.StatusSnoozed)
			if c.SnoozedUntil == nil || !sameTime(*c.SnoozedUntil, until) {
				t.Errorf("snoozed until = %v, want %v", c.SnoozedUntil, until)
			}
		}},
		{"wake", store.ConversationChange{Status: ptr(store.StatusOpen)}, func(t *testing.T, c store.Conversation) {
			want(t, "status", c.Status, store.StatusOpen)
			if c.SnoozedUntil != nil {
				t.Errorf("snoozed until = %v after waking, want unset", *c.SnoozedUntil)
			}
		}},
		{"pending", store.ConversationChange{Status: ptr(store.StatusPending)}, func(t *testing.T, c store.Conversation) {
			want(t, "status", c.Status, store.StatusPending)
		}},
		{"assign", store.ConversationChange{AssigneeID: &ag.ID}, func(t *testing.T, c store.Conversation) {
			want(t, "assignee", c.AssigneeID, ag.ID)
		}},
		{"unassign", store.ConversationChange{AssigneeID: ptr(int64(0))}, func(t *testing.T, c store.Conversation) {
			want(t, "assignee", c.AssigneeID, 0)
		}},
		{"team", store.ConversationChange{TeamID: &tm.ID}, func(t *testing.T, c store.Conversation) {
			want(t, "team", c.TeamID, tm.ID)
		}},
		{"priority", store.ConversationChange{Priority: ptr(3)}, func(t *testing.T, c store.Conversation) {
			want(t, "priority", c.Priority, 3)
		}},
		{"tags", store.ConversationChange{Tags: &[]string{"vip", "baggage"}}, func(t *testing.T, c store.Conversation) {
			wantSlice(t, "tags", c.Tags, []string{"vip", "baggage"})
		}},
		{"linked", store.ConversationChange{LinkedID: &other.ConversationID}, func(t *testing.T, c store.Conversation) {
			want(t, "linked", c.LinkedID, other.ConversationID)
		}},
		{"clear team and tags", store.ConversationChange{TeamID: ptr(int64(0)), Tags: &[]string{}}, func(t *testing.T, c store.Conversation) {
			want(t, "team", c.TeamID, 0)
			want(t, "tags", len(c.Tags), 0)
		}},
	}
	for _, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			f := f.sub(t)
			before := f.conversation(id)
			got := f.update(id, tt.change)
			t.Run("returned", func(t *testing.T) { tt.check(t, got) })
			stored := f.conversation(id)
			t.Run("stored", func(t *testing.T) { tt.check(t, stored) })
			// What the change did not name stays as it was.
			if tt.change.Priority == nil {
				want(t, "priority untouched", stored.Priority, before.Priority)
			}
			if tt.change.LinkedID == nil {
				want(t, "link untouched", stored.LinkedID, before.LinkedID)
			}
			if tt.change.Tags == nil {
				wantSlice(t, "tags untouched", stored.Tags, before.Tags)
			}
			want(t, "message count untouched", stored.MessageCount, 1)
			want(t, "contact untouched", stored.ContactID, r.ContactID)
			f.wantTime("last message untouched", stored.LastMessageAt, at(1))
		})
	}
	_, err := f.s.UpdateConversation(f.ctx, id+1000, store.ConversationChange{Status: ptr(store.StatusOpen)}, system)
	f.wantErr("update unknown conversation", err, store.ErrNotFound)
}

func testConversationAudit(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	subject := fmt.Sprintf("conversation/%d", r.ConversationID)
	by := store.Actor{AgentID: ag.ID, Via: "api"}

	_, err := f.s.UpdateConversation(f.ctx, r.ConversationID, store.ConversationChange{Status: ptr(store.StatusOpen)}, by)
	f.check(err, "open")
	_, err = f.s.UpdateConversation(f.ctx, r.ConversationID, store.ConversationChange{AssigneeID: &ag.ID}, by)
	f.check(err, "assign")
	entries, err := f.s.Audits(f.ctx, subject, 0, 10)
	f.check(err, "audits")
	if len(entries) != 2 {
		f.t.Fatalf("%d audit entries, want 2: %+v", len(entries), entries)
	}
	for _, e := range entries {
		want(f.t, "subject", e.Subject, subject)
		want(f.t, "agent", e.AgentID, ag.ID)
		if e.Action == "" || e.At.IsZero() || e.ID == 0 {
			f.t.Errorf("incomplete audit entry %+v", e)
		}
	}
	if entries[0].ID <= entries[1].ID {
		f.t.Errorf("audits not newest first: %d before %d", entries[0].ID, entries[1].ID)
	}

	// A change that changes nothing is not worth a line in the trail.
	_, err = f.s.UpdateConversation(f.ctx, r.ConversationID, store.ConversationChange{Status: ptr(store.StatusOpen), AssigneeID: &ag.ID}, by)
	f.check(err, "no-op")
	want(f.t, "audit entries after a no-op change", len(f.audits(subject)), 2)

	// Another conversation's trail is its own.
	other := f.ingestOne(msg(ch, "p2", "bert", at(1)))
	f.resolve(other.ConversationID)
	want(f.t, "audit entries after changing another conversation", len(f.audits(subject)), 2)
}

func testConversationResolve(f *fixture) {
	ch := f.channel("x", "X")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	f.update(r.ConversationID, store.ConversationChange{Status: ptr(store.StatusSnoozed), SnoozedUntil: ptr(at(60))})
	got := f.update(r.ConversationID, store.ConversationChange{Status: ptr(store.StatusResolved)})
	for name, c := range map[string]store.Conversation{"returned": got, "stored": f.conversation(r.ConversationID)} {
		want(f.t, name+" status", c.Status, store.StatusResolved)
		f.wantTimePtr(name+" waiting since", c.WaitingSince, nil)
		f.wantTimePtr(name+" snoozed until", c.SnoozedUntil, nil)
	}
	st, err := f.s.Stats(f.ctx)
	f.check(err, "stats")
	want(f.t, "open conversations", st.OpenConversations, 0)
}

func testConversationUnknownRefs(f *fixture) {
	ch := f.channel("x", "X")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	_, err := f.s.UpdateConversation(f.ctx, r.ConversationID, store.ConversationChange{AssigneeID: ptr(int64(4242))}, system)
	f.wantErr("assign to an unknown agent", err, store.ErrNotFound)
	_, err = f.s.UpdateConversation(f.ctx, r.ConversationID, store.ConversationChange{TeamID: ptr(int64(4242))}, system)
	f.wantErr("hand to an unknown team", err, store.ErrNotFound)
	c := f.conversation(r.ConversationID)
	if c.AssigneeID != 0 || c.TeamID != 0 {
		f.t.Errorf("failed updates left assignee %d, team %d", c.AssigneeID, c.TeamID)
	}
	want(f.t, "audit entries", len(f.audits(fmt.Sprintf("conversation/%d", r.ConversationID))), 0)
}

func testConversationMessages(f *fixture) {
	ch := f.channel("x", "X")
	var rs []store.IngestResult
	for i := range 5 {
		rs = append(rs, f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), "anna", at(i))))
	}
	conv := rs[0].ConversationID
	var wantIDs []int64
	for _, r := range rs {
		wantIDs = append(wantIDs, r.MessageID)
	}
	msgIDs := func(after int64, limit int) []int64 {
		ms, err := f.s.Messages(f.ctx, conv, after, limit)
		f.check(err, "messages")
		out := []int64{}
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	wantSlice(f.t, "all", msgIDs(0, 100), wantIDs)
	wantSlice(f.t, "first two", msgIDs(0, 2), wantIDs[:2])
	wantSlice(f.t, "after the second", msgIDs(wantIDs[1], 2), wantIDs[2:4])
	wantSlice(f.t, "after the last", msgIDs(wantIDs[4], 10), []int64{})
	other := f.ingestOne(msg(ch, "q1", "bert", at(9)))
	if slices.Contains(msgIDs(0, 100), other.MessageID) {
		f.t.Error("another conversation's message is listed")
	}
}

func testConversationNote(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	r := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	before := f.conversation(r.ConversationID)

	n, err := f.s.AddNote(f.ctx, r.ConversationID, ag.ID, "Klant is boos, voorzichtig", at(5))
	f.check(err, "add note")
	stored := f.message(n.ID)
	for name, m := range map[string]store.Message{"returned": n, "stored": stored} {
		want(f.t, name+" direction", m.Direction, store.DirNote)
		want(f.t, name+" delivery", m.Delivery, store.Internal)
		want(f.t, name+" agent", m.AgentID, ag.ID)
		want(f.t, name+" body", m.Body, "Klant is boos, voorzichtig")
		want(f.t, name+" conversation", m.ConversationID, r.ConversationID)
		want(f.t, name+" channel", m.ChannelID, ch.ID)
		f.wantTime(name+" sent at", m.SentAt, at(5))
	}
	ms := f.messages(r.ConversationID)
	if len(ms) != 2 || ms[1].ID != n.ID {
		f.t.Errorf("messages = %+v, want the inbound message and then the note", ms)
	}

	// A note is no answer: the customer still waits, nothing is sent.
	after := f.conversation(r.ConversationID)
	want(f.t, "status", after.Status, before.Status)
	f.wantTimePtr("waiting since", after.WaitingSince, before.WaitingSince)
	f.wantTimePtr("first response at", after.FirstResponseAt, nil)
	want(f.t, "last preview", after.LastPreview, before.LastPreview)
	want(f.t, "outbox depth", f.depth(), 0)

	_, err = f.s.AddNote(f.ctx, r.ConversationID+1000, ag.ID, "lost", at(6))
	f.wantErr("note on an unknown conversation", err, store.ErrNotFound)
}

func testConversationWaitingOrder(f *fixture) {
	ch := f.channel("x", "X")
	ag := f.agent("agent@example.com")
	const total = 23
	var convs []int64
	for i := range total {
		// Three conversations share each minute, so ties need the id.
		convs = append(convs, f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i/3))).ConversationID)
	}
	// Answer every other one (the customer no longer waits), in pairs at
	// the same moment, and let a few of those write again later: waiting
	// since is the oldest unanswered message, not the newest.
	for i := 0; i < total; i += 2 {
		f.reply(convs[i], ag.ID, at(100+i/4))
	}
	for i, c := range []int{0, 4, 5} {
		f.ingestOne(msg(ch, fmt.Sprintf("late%d", i), fmt.Sprintf("user%d", c), at(200+i)))
	}
	f.resolve(convs[6])

	all, err := f.s.Conversations(f.ctx, store.ConversationFilter{Limit: 100})
	f.check(err, "all")
	want(f.t, "conversations", len(all), total)
	wantOrder := slices.Clone(all)
	slices.SortFunc(wantOrder, func(a, b store.Conversation) int {
		switch {
		case a.WaitingSince != nil && b.WaitingSince == nil:
			return -1
		case a.WaitingSince == nil && b.WaitingSince != nil:
			return 1
		case a.WaitingSince != nil:
			if c := a.WaitingSince.Compare(*b.WaitingSince); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		}
		if c := b.LastMessageAt.Compare(a.LastMessageAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	waiting := 0
	for _, c := range all {
		if c.WaitingSince != nil {
			waiting++
		}
	}
	if waiting < 5 || waiting > total-5 {
		f.t.Fatalf("%d of %d conversations wait; the test needs a mix", waiting, total)
	}

	tests := []struct {
		name   string
		filter store.ConversationFilter
		want   []store.Conversation
	}{
		{"waiting", store.ConversationFilter{Order: store.OrderWaiting}, wantOrder},
		{"newest", store.ConversationFilter{Order: store.OrderNewest}, all},
		{"waiting, open statuses", store.ConversationFilter{Order: store.OrderWaiting, Statuses: []store.Status{store.StatusNew, store.StatusOpen}},
			slices.DeleteFunc(slices.Clone(wantOrder), func(c store.Conversation) bool { return c.ID == convs[6] })},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 2, 5, 50} {
			f.t.Run(fmt.Sprintf("%s by %d", tt.name, size), func(t *testing.T) {
				f := f.sub(t)
				full := tt.filter
				full.Limit = 100
				got, err := f.s.Conversations(f.ctx, full)
				f.check(err, "full list")
				wantSlice(t, "order", ids(got), ids(tt.want))

				var walked []int64
				page := tt.filter
				page.Limit = size
				for pages := 0; ; pages++ {
					if pages > total+1 {
						t.Fatal("pagination does not end")
					}
					got, err := f.s.Conversations(f.ctx, page)
					f.check(err, "page %d", pages)
					if len(got) > size {
						t.Fatalf("page %d has %d conversations, limit %d", pages, len(got), size)
					}
					if len(got) == 0 {
						break
					}
					walked = append(walked, ids(got)...)
					page.Before = store.CursorAfter(got[len(got)-1], tt.filter.Order)
				}
				wantSlice(t, "walked", walked, ids(tt.want))
			})
		}
	}
}

// testConversationStatusesMerged: a list of several statuses (the default
// inbox: new and open) is one order over all of them, each conversation
// once, even when a status is asked for twice, and pages through it.
func testConversationStatusesMerged(f *fixture) {
	ch := f.channel("x", "X")
	const total = 20
	open := store.StatusOpen
	for i := range total {
		r := f.ingestOne(msg(ch, fmt.Sprintf("s%d", i), fmt.Sprintf("user%d", i), at(i/2)))
		if i%3 == 0 {
			_, err := f.s.UpdateConversation(f.ctx, r.ConversationID, store.ConversationChange{Status: &open}, system)
			f.check(err, "open %d", i)
		}
	}
	filter := store.ConversationFilter{Statuses: []store.Status{store.StatusNew, store.StatusOpen, store.StatusNew}, Limit: 100}
	full, err := f.s.Conversations(f.ctx, filter)
	f.check(err, "list")
	seen := map[int64]bool{}
	for i, c := range full {
		if seen[c.ID] {
			f.t.Errorf("conversation %d listed twice", c.ID)
		}
		seen[c.ID] = true
		if i > 0 {
			prev := full[i-1]
			if c.LastMessageAt.After(prev.LastMessageAt) || (c.LastMessageAt.Equal(prev.LastMessageAt) && c.ID >= prev.ID) {
				f.t.Errorf("not ordered by (last message, id) descending at %d", i)
			}
		}
	}
	want(f.t, "listed", len(full), total)
	var walked []int64
	page := filter
	page.Limit = 3
	for range total {
		got, err := f.s.Conversations(f.ctx, page)
		f.check(err, "page")
		for _, c := range got {
			walked = append(walked, c.ID)
		}
		if len(got) < page.Limit {
			break
		}
		page.Before = store.CursorAfter(got[len(got)-1], page.Order)
	}
	want(f.t, "walked", len(walked), total)
	for i := range walked {
		if walked[i] != full[i].ID {
			f.t.Fatalf("page walk %v differs from the list at %d", walked, i)
		}
	}
}
