package web

import (
	"net/http"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// maxSearchText bounds the search box; longer text is no search.
const maxSearchText = 500

// searchEverything answers the search box: conversations by message text,
// contacts by name and identities. Each role finds what its lists show:
// field staff only conversations assigned to them, and contacts only
// roles that may browse them.
func (s *Server) searchEverything(w http.ResponseWriter, r *http.Request) error {
	text := r.URL.Query().Get("q")
	if !utf8.ValidString(text) {
		return errorf(http.StatusBadRequest, "q is not valid UTF-8")
	}
	if utf8.RuneCountInString(text) > maxSearchText {
		return errorf(http.StatusUnprocessableEntity, "q is longer than %d characters", maxSearchText)
	}
	limit, err := queryInt(r, "limit", 20)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 100 {
		return errorf(http.StatusBadRequest, "limit must be between 1 and 100")
	}
	res, err := s.search(r, text, int(limit))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// search runs a search as the request's agent may see it: field staff
// find only what was handed to them, and only roles that browse contacts
// find contacts.
func (s *Server) search(r *http.Request, text string, limit int) (store.SearchResults, error) {
	me := agentFrom(r.Context())
	q := store.SearchQuery{Text: text, Limit: limit}
	if !auth.Can(me.Role, auth.ReadConversations) {
		q.AssigneeID = me.ID
	}
	res, err := s.store.Search(r.Context(), q)
	if err != nil {
		return res, err
	}
	if !auth.Can(me.Role, auth.ReadContacts) {
		res.Contacts = []store.Contact{}
	}
	return res, nil
}
