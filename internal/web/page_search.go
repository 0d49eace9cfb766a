package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/store"
)

type searchView struct {
	chrome
	Hits     []searchHitView
	Contacts []searchContactView
	Searched bool
	Limit    int // each list's length at most
}

type searchHitView struct {
	Row                  rowView
	Before, Match, After string
}

type searchContactView struct {
	ID      int64
	Name    string
	Handles []store.Identity
}

// searchPageLimit bounds each list of the search page; the page says so
// when a list is full.
const searchPageLimit = 50

// showSearch finds messages, contacts and handles. The page searches as
// the agent types; the header's box lands here.
func (s *Server) showSearch(w http.ResponseWriter, r *http.Request) error {
	text := strings.TrimSpace(r.URL.Query().Get("q"))
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxSearchText {
		return errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "search.toolong"))
	}
	v := searchView{chrome: s.chrome(r, s.t(r, "search.title"), "search"), Limit: searchPageLimit}
	v.Query = text
	if text != "" {
		v.Searched = true
		res, err := s.search(r, text, searchPageLimit)
		if err != nil {
			return err
		}
		names := s.names(r.Context())
		for _, h := range res.Conversations {
			before, match, after := splitMatch(h.Snippet, h.MatchStart, h.MatchEnd)
			v.Hits = append(v.Hits, searchHitView{Row: names.row(r.Context(), h.Conversation), Before: before, Match: match, After: after})
		}
		for _, c := range res.Contacts {
			v.Contacts = append(v.Contacts, searchContactView{ID: c.ID, Name: c.Name, Handles: c.Identities})
		}
	}
	fragment := ""
	if isHTMX(r) && r.Header.Get("HX-Target") == "results" {
		fragment = "results"
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "search", fragment, v)
}

// splitMatch cuts a snippet around its match, counted in characters; a
// match outside the snippet gives the whole snippet as before.
func splitMatch(snippet string, start, end int) (before, match, after string) {
	rs := []rune(snippet)
	if start < 0 || end > len(rs) || start >= end {
		return snippet, "", ""
	}
	return string(rs[:start]), string(rs[start:end]), string(rs[end:])
}
