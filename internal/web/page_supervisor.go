package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/webcare/webcare/internal/store"
)

type supervisorView struct {
	chrome
	Queues  []queueBar
	Agents  []agentBar
	Waiting []rowView // the open conversations, longest waiting first
	More    bool
}

// queueBar is one queue's figures, with the bar widths of a chart drawn
// as SVG (the CSP forbids style attributes, so no inline widths).
type queueBar struct {
	Name          string
	Link          string
	Open, Waiting int
	OldestWaiting *time.Time
	OpenWidth     int // of 100
	WaitingWidth  int
}

type agentBar struct {
	store.AgentLoad
	LoadWidth int // open / capacity, of 100, capped
	Over      bool
}

const supervisorRows = 100

// showSupervisor shows queue sizes, the oldest waiting message per queue,
// every agent's presence and load, and the open conversations to hand out
// by drag and drop or in bulk.
func (s *Server) showSupervisor(w http.ResponseWriter, r *http.Request) error {
	v, err := s.supervisor(r)
	if err != nil {
		return err
	}
	fragment := ""
	if isHTMX(r) && r.Header.Get("HX-Target") == "board" {
		fragment = "board"
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "supervisor", fragment, v)
}

func (s *Server) supervisor(r *http.Request) (supervisorView, error) {
	ctx := r.Context()
	v := supervisorView{chrome: s.chrome(r, s.t(r, "nav.supervisor"), "supervisor")}
	st, err := s.store.QueueStats(ctx)
	if err != nil {
		return v, err
	}
	most := max(st.Total.Open, 1)
	bar := func(name, link string, f store.QueueFigure) queueBar {
		return queueBar{Name: name, Link: link, Open: f.Open, Waiting: f.Waiting, OldestWaiting: f.OldestWaiting,
			OpenWidth: f.Open * 100 / most, WaitingWidth: f.Waiting * 100 / most}
	}
	v.Queues = append(v.Queues, bar(s.t(r, "queue.all"), "/inbox?queue=all", st.Total), bar(s.t(r, "queue.unassigned"), "/inbox?queue=unassigned", st.Unassigned))
	for _, t := range st.Teams {
		v.Queues = append(v.Queues, bar(t.Name, "/inbox?queue=team-"+strconv.FormatInt(t.TeamID, 10), t.QueueFigure))
	}
	for _, a := range st.Agents {
		b := agentBar{AgentLoad: a, Over: a.Capacity > 0 && a.Open > a.Capacity}
		if a.Capacity > 0 {
			b.LoadWidth = min(a.Open*100/a.Capacity, 100)
		}
		v.Agents = append(v.Agents, b)
	}
	convs, err := s.store.Conversations(ctx, store.ConversationFilter{
		Statuses: []store.Status{store.StatusNew, store.StatusOpen, store.StatusPending}, Order: store.OrderWaiting, Limit: supervisorRows})
	if err != nil {
		return v, err
	}
	names := s.names(ctx)
	for _, c := range convs {
		v.Waiting = append(v.Waiting, names.row(ctx, c))
	}
	v.More = len(convs) == supervisorRows
	return v, nil
}

// bulkAssignFromForm hands the chosen conversations to one agent, or
// unassigns them, then shows the board again.
func (s *Server) bulkAssignFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	var ids []int64
	for _, v := range r.PostForm["conversation_ids"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errorf(http.StatusUnprocessableEntity, "conversation_ids: %q is not a conversation id", v)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "supervisor.choosefirst"))
	}
	var to int64
	if a := r.PostForm.Get("assignee"); a != "none" {
		var err error
		if to, err = strconv.ParseInt(a, 10, 64); err != nil || to <= 0 {
			return errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "supervisor.chooseagent"))
		}
	}
	if _, err := s.desk.AssignMany(r.Context(), actor(r), ids, to); err != nil {
		return err
	}
	if !isHTMX(r) {
		http.Redirect(w, r, "/supervisor", http.StatusSeeOther)
		return nil
	}
	v, err := s.supervisor(r)
	if err != nil {
		return err
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "supervisor", "board", v)
}
