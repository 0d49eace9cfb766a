package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/store"
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

// maxBulkAssign bounds one bulk assignment: one transaction, one request.
const maxBulkAssign = 500

type bulkAssign struct {
	ConversationIDs []int64 `json:"conversation_ids"`
	AssigneeID      *int64  `json:"assignee_id"` // 0 unassigns
}

// assignConversations gives many conversations to one agent at once, or
// unassigns them: all or nothing. Each change is audited and announced like
// a single PATCH.
func (s *Server) assignConversations(w http.ResponseWriter, r *http.Request) error {
	var in bulkAssign
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.AssigneeID == nil {
		return errorf(http.StatusUnprocessableEntity, "assignee_id is required (0 unassigns)")
	}
	changed, err := s.assignMany(r, in.ConversationIDs, *in.AssigneeID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"conversations": changed})
}

// assignMany checks and applies a bulk assignment (to 0 unassigns), for the
// API and the supervisor page alike.
func (s *Server) assignMany(r *http.Request, ids []int64, to int64) ([]store.Conversation, error) {
	switch n := len(ids); {
	case n == 0:
		return nil, errorf(http.StatusUnprocessableEntity, "conversation_ids is required")
	case n > maxBulkAssign:
		return nil, errorf(http.StatusUnprocessableEntity, "conversation_ids holds %d ids; at most %d at once", n, maxBulkAssign)
	}
	for _, id := range ids {
		if id <= 0 {
			return nil, errorf(http.StatusUnprocessableEntity, "conversation_ids: %d is not a conversation id", id)
		}
	}
	ctx := r.Context()
	if to < 0 {
		return nil, errorf(http.StatusUnprocessableEntity, "assignee_id must be an agent id, or 0 to unassign")
	}
	if to != 0 {
		a, err := s.store.Agent(ctx, to)
		if errors.Is(err, store.ErrNotFound) || (err == nil && a.Disabled) {
			return nil, errorf(http.StatusUnprocessableEntity, "agent %d does not exist or is disabled", to)
		}
		if err != nil {
			return nil, err
		}
	}
	changed, err := s.store.AssignConversations(ctx, ids, to, actor(r))
	var unknown *store.UnknownIDsError
	if errors.As(err, &unknown) {
		names := make([]string, len(unknown.IDs))
		for i, id := range unknown.IDs {
			names[i] = fmt.Sprint(id)
		}
		return nil, errorf(http.StatusUnprocessableEntity, "unknown conversation ids: %s; nothing was changed", strings.Join(names, ", "))
	}
	if err != nil {
		return nil, err
	}
	me := agentFrom(ctx)
	for _, c := range changed {
		s.publish(r, bus.Event{Type: bus.ConversationUpdated, ConversationID: c.ID, ChannelID: c.ChannelID, ContactID: c.ContactID, AgentID: me.ID})
	}
	return changed, nil
}
