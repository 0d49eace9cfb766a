package web

import (
	"net/http"

	"github.com/webcare/webcare/internal/store"
)

type contactView struct {
	chrome
	Contact       store.Contact
	Conversations []rowView
}

// showContactPage shows one person: every identity and every
// conversation, newest first, each one click from its whole thread.
func (s *Server) showContactPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	c, err := s.store.Contact(ctx, id)
	if err != nil {
		return err
	}
	v := contactView{chrome: s.chrome(r, c.Name, "inbox"), Contact: c}
	convs, err := s.store.Conversations(ctx, store.ConversationFilter{ContactID: c.ID, Limit: 500})
	if err != nil {
		return err
	}
	names := s.names(ctx)
	for _, cv := range convs {
		v.Conversations = append(v.Conversations, names.row(ctx, cv))
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "contact", "", v)
}
