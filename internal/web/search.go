package web

import (
	"context"
	"errors"
	"net/http"
	"time"
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

// Search is the heaviest read there is, so it is bounded: each agent runs
// one at a time (the others wait their turn), an instance at most
// maxSearches at once (on the embedded
// store the other readers stay free for the inboxes), and none runs longer
// than searchDeadline. 30 parallel searches by one user once made
// everyone's inbox take 15 s.
const (
	maxSearches    = 2
	searchWait     = 2 * time.Second // for a free place, before "busy"
	searchDeadline = 3 * time.Second
)

// search runs a search as the request's agent may see it: field staff
// find only what was handed to them, and only roles that browse contacts
// find contacts.
func (s *Server) search(r *http.Request, text string, limit int) (store.SearchResults, error) {
	me := agentFrom(r.Context())
	q := store.SearchQuery{Text: text, Limit: limit}
	if !auth.Can(me.Role, auth.ReadConversations) {
		q.AssigneeID = me.ID
	}
	// One at a time per agent, then one of the instance's few places;
	// both are waited for a little, then refused with Retry-After.
	t := time.NewTimer(searchWait)
	defer t.Stop()
	own, _ := s.searching.LoadOrStore(me.ID, make(chan struct{}, 1))
	select {
	case own.(chan struct{}) <- struct{}{}:
		defer func() { <-own.(chan struct{}) }()
	case <-t.C:
		return store.SearchResults{}, &Error{Status: http.StatusTooManyRequests, RetryAfter: time.Second,
			Msg: "your earlier searches are still running; try again in a moment"}
	case <-r.Context().Done():
		return store.SearchResults{}, r.Context().Err()
	}
	select {
	case s.searches <- struct{}{}:
		defer func() { <-s.searches }()
	case <-t.C:
		return store.SearchResults{}, &Error{Status: http.StatusServiceUnavailable, RetryAfter: time.Second,
			Msg: "search is busy; try again in a moment"}
	case <-r.Context().Done():
		return store.SearchResults{}, r.Context().Err()
	}
	ctx, stop := context.WithTimeout(r.Context(), searchDeadline)
	defer stop()
	res, err := s.store.Search(ctx, q)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res, &Error{Status: http.StatusServiceUnavailable, Cause: err,
			Msg: "the search took too long and was stopped; add words to find less"}
	}
	if err != nil {
		return res, err
	}
	if !auth.Can(me.Role, auth.ReadContacts) {
		res.Contacts = []store.Contact{}
	}
	return res, nil
}
