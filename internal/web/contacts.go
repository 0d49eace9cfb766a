package web

import (
	"net/http"
	"strconv"

	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	after, err := queryInt(r, "cursor", 0)
	if err != nil {
		return err
	}
	q := r.URL.Query().Get("q")
	if err := desk.CheckText("q", q, 0, 200); err != nil {
		return err
	}
	contacts, err := s.store.Contacts(r.Context(), store.ContactFilter{Query: q, After: after, Limit: 50})
	if err != nil {
		return err
	}
	page := map[string]any{"contacts": contacts}
	if len(contacts) == 50 {
		page["next_cursor"] = strconv.FormatInt(contacts[len(contacts)-1].ID, 10)
	}
	return writeJSON(w, http.StatusOK, page)
}

type contactDetail struct {
	Contact       store.Contact        `json:"contact"`
	Conversations []store.Conversation `json:"conversations"` // every conversation, newest first
}

// showContact gives one person's profile: every identity and every
// conversation they had with us, on any channel.
func (s *Server) showContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.store.Contact(r.Context(), id)
	if err != nil {
		return err
	}
	d := contactDetail{Contact: c, Conversations: []store.Conversation{}}
	f := store.ConversationFilter{ContactID: id, Limit: 500}
	for {
		page, err := s.store.Conversations(r.Context(), f)
		if err != nil {
			return err
		}
		d.Conversations = append(d.Conversations, page...)
		if len(page) < f.Limit {
			break
		}
		last := page[len(page)-1]
		f.Before = store.Cursor{At: last.LastMessageAt, ID: last.ID}
	}
	return writeJSON(w, http.StatusOK, d)
}

type mergeRequest struct {
	From int64 `json:"from"`
}

// mergeContact joins two profiles that turn out to be one person.
func (s *Server) mergeContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in mergeRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.From <= 0 {
		return errorf(http.StatusUnprocessableEntity, "from must be the id of the contact to merge into %d", id)
	}
	if err := s.store.MergeContacts(r.Context(), id, in.From, byAgent(r)); err != nil {
		return err
	}
	c, err := s.store.Contact(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}
