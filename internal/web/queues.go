package web

import (
	"net/http"
)

// queueFigures gives the supervisor view: open work in total, unassigned, per
// team, and every enabled agent's load.
func (s *Server) queueFigures(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.QueueStats(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

type bulkAssign struct {
	ConversationIDs []int64 `json:"conversation_ids"`
	AssigneeID      *int64  `json:"assignee_id"` // 0 unassigns
}

// assignConversations gives many conversations to one agent at once, or
// unassigns them: all or nothing.
func (s *Server) assignConversations(w http.ResponseWriter, r *http.Request) error {
	var in bulkAssign
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.AssigneeID == nil {
		return errorf(http.StatusUnprocessableEntity, "assignee_id is required (0 unassigns)")
	}
	changed, err := s.desk.AssignMany(r.Context(), actor(r), in.ConversationIDs, *in.AssigneeID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"conversations": changed})
}
