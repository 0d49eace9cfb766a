package web_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/store"
)

func TestQueues(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	agent := ts.Agents[store.RoleAgent]
	a := ts.ingest(t, inbound{ID: "q-1", From: author{ID: "q-anna"}, Text: "waiting"})
	b := ts.ingest(t, inbound{ID: "q-2", From: author{ID: "q-bob"}, Text: "also waiting"})
	ts.patch(t, store.RoleSupervisor, a.ConversationID, jsonBody(t, map[string]int64{"assignee_id": agent.ID, "team_id": ts.Team.ID}))
	ts.patch(t, store.RoleSupervisor, b.ConversationID, `{"status": "resolved"}`)

	r := ts.check(t, scenario{method: "GET", url: "/api/v1/queues", token: ts.Tokens[store.RoleSupervisor], status: http.StatusOK,
		contains: []string{`"unassigned":{"open":0,"waiting":0}`, `"total":{"open":1,"waiting":1,"oldest_waiting":"`,
			`"teams":[{"team_id":`, `"name":"Care","open":1,"waiting":1`, `"agents":[`, `"presence":"online"`, `"capacity":10`},
		excludes: []string{"Gone Agent"}})
	st := decodeJSON[store.QueueStats](t, r.Body)
	i := slices.IndexFunc(st.Agents, func(l store.AgentLoad) bool { return l.AgentID == agent.ID })
	if i < 0 || st.Agents[i].Open != 1 || st.Agents[i].Name != agent.Name {
		t.Errorf("agent loads %+v: want %s with one open conversation", st.Agents, agent.Name)
	}

	for _, role := range []store.Role{store.RoleAgent, store.RoleVolunteer, store.RoleField} {
		t.Run(string(role)+" may not", func(t *testing.T) {
			ts.check(t, scenario{method: "GET", url: "/api/v1/queues", token: ts.Tokens[role], status: http.StatusForbidden})
		})
	}
	ts.check(t, scenario{method: "GET", url: "/api/v1/queues", token: ts.Tokens[store.RoleAdmin], status: http.StatusOK})
}

func TestBulkAssign(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var convs []int64
	for i := range 3 {
		convs = append(convs, ts.ingest(t, inbound{ID: path("b-%d", i), From: author{ID: path("b-author-%d", i)}, Text: "help"}).ConversationID)
	}
	to := ts.Agent2.ID
	assign := func(ids []int64, assignee int64) string {
		return jsonBody(t, map[string]any{"conversation_ids": ids, "assignee_id": assignee})
	}
	sup := ts.Tokens[store.RoleSupervisor]

	t.Run("refusals change nothing", func(t *testing.T) {
		many := make([]int64, 501)
		for i := range many {
			many[i] = int64(i + 1)
		}
		ts.run(t, []scenario{
			{name: "unknown ids are named", method: "POST", url: "/api/v1/conversations/assign", token: sup,
				body: assign([]int64{convs[0], 999998, 999999}, to), status: http.StatusUnprocessableEntity,
				contains: []string{"999998, 999999", "nothing was changed"}},
			{name: "too many", method: "POST", url: "/api/v1/conversations/assign", token: sup, body: assign(many, to),
				status: http.StatusUnprocessableEntity, contains: []string{"at most 500"}},
			{name: "no ids", method: "POST", url: "/api/v1/conversations/assign", token: sup, body: `{"conversation_ids": [], "assignee_id": 1}`,
				status: http.StatusUnprocessableEntity},
			{name: "no assignee", method: "POST", url: "/api/v1/conversations/assign", token: sup, body: jsonBody(t, map[string]any{"conversation_ids": convs}),
				status: http.StatusUnprocessableEntity, contains: []string{"assignee_id is required"}},
			{name: "a disabled agent", method: "POST", url: "/api/v1/conversations/assign", token: sup, body: assign(convs, ts.Disabled.ID),
				status: http.StatusUnprocessableEntity},
			{name: "a negative id", method: "POST", url: "/api/v1/conversations/assign", token: sup, body: assign([]int64{-1}, to),
				status: http.StatusUnprocessableEntity},
			{name: "agents may not", method: "POST", url: "/api/v1/conversations/assign", token: ts.Tokens[store.RoleAgent], body: assign(convs, to),
				status: http.StatusForbidden},
			{name: "field staff may not", method: "POST", url: "/api/v1/conversations/assign", token: ts.Tokens[store.RoleField], body: assign(convs, to),
				status: http.StatusForbidden},
		})
		for _, id := range convs {
			if c := ts.conversation(t, store.RoleSupervisor, id).Conversation; c.AssigneeID != 0 {
				t.Errorf("conversation %d assigned to %d after refusals", id, c.AssigneeID)
			}
		}
	})

	t.Run("assign, audit and announce", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		events, stop, _ := ts.Bus.Subscribe(ctx, 0)
		defer stop()
		ts.check(t, scenario{method: "POST", url: "/api/v1/conversations/assign", token: sup, body: assign(convs[:2], to), status: http.StatusOK,
			contains: []string{path(`"assignee_id":%d`, to)}})
		for _, id := range convs[:2] {
			if c := ts.conversation(t, store.RoleSupervisor, id).Conversation; c.AssigneeID != to {
				t.Errorf("conversation %d assigned to %d, want %d", id, c.AssigneeID, to)
			}
			ts.check(t, scenario{method: "GET", url: path("/api/v1/audit?subject=conversation/%d", id), token: ts.Tokens[store.RoleAdmin], status: http.StatusOK,
				contains: []string{path("assignee 0→%d", to)}})
		}
		if c := ts.conversation(t, store.RoleSupervisor, convs[2]).Conversation; c.AssigneeID != 0 {
			t.Errorf("unlisted conversation assigned to %d", c.AssigneeID)
		}
		var announced []int64
		for len(announced) < 2 {
			select {
			case e := <-events:
				if e.Type == bus.ConversationUpdated {
					announced = append(announced, e.ConversationID)
				}
			case <-ctx.Done():
				t.Fatalf("events for %v only", announced)
			}
		}
		slices.Sort(announced)
		if !slices.Equal(announced, convs[:2]) {
			t.Errorf("announced %v, want %v", announced, convs[:2])
		}
	})

	t.Run("unassign", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/conversations/assign", token: ts.Tokens[store.RoleAdmin], body: assign(convs, 0), status: http.StatusOK})
		if n := strings.Count(string(r.Body), `"channel_id"`); n != 2 {
			t.Errorf("%d conversations changed, want the 2 that were assigned; body %s", n, r.Body)
		}
	})
}
