package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/store"
)

var queueTests = []testCase{
	{"queue figures", testQueueStats},
	{"queue figures of an empty store", testQueueStatsEmpty},
	{"assign a batch", testAssignConversations},
	{"assign a batch with unknown ids changes nothing", testAssignConversationsUnknown},
	{"resolve idle conversations in batches", testResolveIdle},
}

func testQueueStats(f *fixture) {
	ch := f.channel("x", "X")
	ann, bob := f.agent("ann@example.com"), f.agent("bob@example.com")
	gone := f.agent("gone@example.com")
	gone.Disabled = true
	f.check(f.s.UpdateAgent(f.ctx, &gone, system), "disable")
	bags, refunds := f.team("Baggage", ann.ID), f.team("Refunds")
	f.team("Empty")

	conv := func(i int) int64 {
		return f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i))).ConversationID
	}
	// 0: new, unassigned, waiting since 0, team Baggage
	c0 := conv(0)
	f.update(c0, store.ConversationChange{TeamID: &bags.ID})
	// 1: open, Ann, answered (not waiting), team Baggage
	c1 := conv(1)
	f.reply(c1, ann.ID, at(30))
	f.update(c1, store.ConversationChange{TeamID: &bags.ID})
	// 2: pending, Ann, waiting since 2
	c2 := conv(2)
	f.update(c2, store.ConversationChange{Status: ptr(store.StatusPending), AssigneeID: &ann.ID})
	// 3: snoozed, Bob: not open work
	c3 := conv(3)
	f.update(c3, store.ConversationChange{Status: ptr(store.StatusSnoozed), SnoozedUntil: ptr(at(600)), AssigneeID: &bob.ID})
	// 4: resolved, Bob, Refunds: not open work
	c4 := conv(4)
	f.update(c4, store.ConversationChange{AssigneeID: &bob.ID, TeamID: &refunds.ID})
	f.resolve(c4)
	// 5: new, unassigned, waiting since 5, team Refunds
	c5 := conv(5)
	f.update(c5, store.ConversationChange{TeamID: &refunds.ID})
	// 6: open, Bob, waiting since 6
	c6 := conv(6)
	f.update(c6, store.ConversationChange{Status: ptr(store.StatusOpen), AssigneeID: &bob.ID})

	st, err := f.s.QueueStats(f.ctx)
	f.check(err, "queue stats")
	wantFigure := func(what string, got store.QueueFigure, open, waiting, oldest int) {
		f.t.Helper()
		want(f.t, what+" open", got.Open, open)
		want(f.t, what+" waiting", got.Waiting, waiting)
		if oldest < 0 {
			f.wantTimePtr(what+" oldest waiting", got.OldestWaiting, nil)
		} else {
			f.wantTimePtr(what+" oldest waiting", got.OldestWaiting, ptr(at(oldest)))
		}
	}
	wantFigure("total", st.Total, 5, 4, 0)
	wantFigure("unassigned", st.Unassigned, 2, 2, 0)
	if len(st.Teams) != 3 {
		f.t.Fatalf("teams %+v, want three", st.Teams)
	}
	want(f.t, "first team", st.Teams[0].Name, "Baggage")
	want(f.t, "first team id", st.Teams[0].TeamID, bags.ID)
	wantFigure("Baggage", st.Teams[0].QueueFigure, 2, 1, 0)
	want(f.t, "second team", st.Teams[1].Name, "Empty")
	wantFigure("Empty", st.Teams[1].QueueFigure, 0, 0, -1)
	want(f.t, "third team", st.Teams[2].Name, "Refunds")
	wantFigure("Refunds", st.Teams[2].QueueFigure, 1, 1, 5)

	type load struct {
		id   int64
		name string
		open int
	}
	var got []load
	for _, a := range st.Agents {
		got = append(got, load{a.AgentID, a.Name, a.Open})
		if a.Presence != store.Online || a.Capacity != 0 {
			f.t.Errorf("agent %+v: presence or capacity not as stored", a)
		}
	}
	wantSlice(f.t, "agents", got, []load{{ann.ID, ann.Name, 2}, {bob.ID, bob.Name, 1}})
}

func testQueueStatsEmpty(f *fixture) {
	st, err := f.s.QueueStats(f.ctx)
	f.check(err, "queue stats")
	if st.Teams == nil || st.Agents == nil {
		f.t.Errorf("nil lists in %+v", st)
	}
	if st.Total.Open != 0 || st.Total.OldestWaiting != nil || st.Unassigned.Open != 0 {
		f.t.Errorf("figures of an empty store: %+v", st)
	}
}

func testAssignConversations(f *fixture) {
	ch := f.channel("x", "X")
	ann, bob := f.agent("ann@example.com"), f.agent("bob@example.com")
	var convs []int64
	for i := range 4 {
		convs = append(convs, f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i))).ConversationID)
	}
	f.update(convs[1], store.ConversationChange{AssigneeID: &ann.ID})
	by := store.Actor{AgentID: bob.ID, Via: "api"}

	tests := []struct {
		name     string
		ids      []int64
		assignee int64
		changed  []int64
	}{
		{"to Ann, one already hers, one twice", []int64{convs[2], convs[0], convs[1], convs[0]}, ann.ID, []int64{convs[0], convs[2]}},
		{"to Bob", []int64{convs[0], convs[3]}, bob.ID, []int64{convs[0], convs[3]}},
		{"unassign", []int64{convs[0], convs[1]}, 0, []int64{convs[0], convs[1]}},
		{"nothing to do", []int64{convs[0]}, 0, []int64{}},
		{"no ids", nil, ann.ID, []int64{}},
	}
	for _, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			f := f.sub(t)
			before := map[int64]int{}
			for _, id := range convs {
				before[id] = len(f.audits(fmt.Sprintf("conversation/%d", id)))
			}
			changed, err := f.s.AssignConversations(f.ctx, tt.ids, tt.assignee, by)
			f.check(err, "assign")
			wantSlice(t, "changed", ids(changed), tt.changed)
			for _, c := range changed {
				want(t, "returned assignee", c.AssigneeID, tt.assignee)
			}
			for _, id := range tt.ids {
				want(t, fmt.Sprintf("assignee of %d", id), f.conversation(id).AssigneeID, tt.assignee)
			}
			for _, id := range convs {
				added := len(f.audits(fmt.Sprintf("conversation/%d", id))) - before[id]
				wantAdded := 0
				for _, c := range tt.changed {
					if c == id {
						wantAdded = 1
					}
				}
				want(t, fmt.Sprintf("audit entries added for %d", id), added, wantAdded)
			}
		})
	}
	if e := f.audits(fmt.Sprintf("conversation/%d", convs[3])); len(e) > 0 {
		want(f.t, "audited agent", e[0].AgentID, bob.ID)
	}
}

func testAssignConversationsUnknown(f *fixture) {
	ch := f.channel("x", "X")
	ann := f.agent("ann@example.com")
	c := f.ingestOne(msg(ch, "p1", "anna", at(0))).ConversationID

	_, err := f.s.AssignConversations(f.ctx, []int64{c, c + 1000, c + 2000}, ann.ID, system)
	f.wantErr("unknown conversations", err, store.ErrNotFound)
	var unknown *store.UnknownIDsError
	if !errors.As(err, &unknown) {
		f.t.Fatalf("err = %v, want an *UnknownIDsError", err)
	}
	wantSlice(f.t, "unknown ids", unknown.IDs, []int64{c + 1000, c + 2000})
	want(f.t, "assignee untouched", f.conversation(c).AssigneeID, 0)
	want(f.t, "audit entries", len(f.audits(fmt.Sprintf("conversation/%d", c))), 0)

	_, err = f.s.AssignConversations(f.ctx, []int64{c}, 4242, system)
	f.wantErr("unknown agent", err, store.ErrNotFound)
	want(f.t, "assignee untouched by an unknown agent", f.conversation(c).AssigneeID, 0)
}

func testResolveIdle(f *fixture) {
	ch := f.channel("x", "X")
	var convs []int64 // last message at minute 0, 10, 20, …, 50
	for i := range 6 {
		convs = append(convs, f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(10*i))).ConversationID)
	}
	f.update(convs[1], store.ConversationChange{Status: ptr(store.StatusOpen)})
	f.update(convs[2], store.ConversationChange{Status: ptr(store.StatusSnoozed), SnoozedUntil: ptr(at(500))})
	f.resolve(convs[3])
	statuses := []store.Status{store.StatusNew, store.StatusOpen, store.StatusResolved}

	for _, tt := range []struct {
		name     string
		statuses []store.Status
		limit    int
	}{{"no statuses", nil, 10}, {"only resolved", []store.Status{store.StatusResolved}, 10}, {"limit 0", statuses, 0}} {
		got, err := f.s.ResolveIdle(f.ctx, tt.statuses, at(100), tt.limit, system)
		f.check(err, "resolve idle, %s", tt.name)
		if got == nil || len(got) != 0 {
			f.t.Errorf("resolve idle, %s = %v, want an empty list", tt.name, got)
		}
	}

	// Idle since minute 45: new 0 and 4, open 1; not the snoozed one, not
	// the resolved one, not 5 (its last message is at minute 50).
	first, err := f.s.ResolveIdle(f.ctx, statuses, at(45), 2, system)
	f.check(err, "resolve idle, first batch")
	want(f.t, "first batch size", len(first), 2)
	rest, err := f.s.ResolveIdle(f.ctx, statuses, at(45), 2, system)
	f.check(err, "resolve idle, second batch")
	want(f.t, "second batch size", len(rest), 1)
	none, err := f.s.ResolveIdle(f.ctx, statuses, at(45), 2, system)
	f.check(err, "resolve idle, third batch")
	want(f.t, "third batch size", len(none), 0)
	wantSlice(f.t, "resolved", slices.Sorted(slices.Values(append(first, rest...))), []int64{convs[0], convs[1], convs[4]})

	for i, id := range convs {
		c := f.conversation(id)
		wantStatus := map[int]store.Status{0: store.StatusResolved, 1: store.StatusResolved, 2: store.StatusSnoozed, 3: store.StatusResolved, 4: store.StatusResolved, 5: store.StatusNew}[i]
		want(f.t, fmt.Sprintf("status of conversation %d", i), c.Status, wantStatus)
		if i == 0 || i == 4 {
			if c.WaitingSince != nil {
				f.t.Errorf("conversation %d resolved idle still waits since %v", i, c.WaitingSince)
			}
		}
	}
	e := f.audits(fmt.Sprintf("conversation/%d", convs[1]))
	if len(e) == 0 || !strings.Contains(e[0].Detail, "open→resolved") {
		f.t.Errorf("audit of the idle open conversation = %+v, want its resolve first", e)
	}

	// A new message reopens an idle-resolved conversation as a new thread.
	r := f.ingestOne(msg(ch, "p-later", "user0", at(600)))
	if r.ConversationID == convs[0] {
		f.t.Errorf("a message after the idle resolve threaded into the resolved conversation %d", convs[0])
	}
}
