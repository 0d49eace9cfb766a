package web

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

const (
	// inviteTTL is how long an invite link works.
	inviteTTL = 7 * 24 * time.Hour
	// MinInvitePasswordLength is the shortest password an invited agent
	// may choose, in characters.
	MinInvitePasswordLength = 12
)

type inviteLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// inviteAgent makes a one-time link with which an agent sets their password.
// The token is shown only here; a new invite replaces the agent's earlier one.
func (s *Server) inviteAgent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.store.Agent(r.Context(), id)
	if err != nil {
		return err
	}
	if a.Disabled {
		return errorf(http.StatusConflict, "agent %d is disabled; enable them before inviting", id)
	}
	token, hash := auth.NewToken("wci_")
	expires := s.now().Add(inviteTTL).UTC().Truncate(time.Millisecond)
	if err := s.store.CreateInvite(r.Context(), a.ID, hash, expires, actor(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, inviteLink{URL: s.publicURL(r) + "/invite/" + token, ExpiresAt: expires})
}

type inviteAnswer struct {
	Password string `json:"password"`
}

// acceptInvite sets the invited agent's password and logs them in, as a
// login would.
func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	var in inviteAnswer
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Password) < MinInvitePasswordLength {
		return errorf(http.StatusUnprocessableEntity, "password must be at least %d characters", MinInvitePasswordLength)
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: err.Error()}
	}
	a, err := s.store.UseInvite(r.Context(), auth.HashToken(r.PathValue("token")), hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "this invite link is unknown, used or expired; ask an administrator for a new one")
	}
	if err != nil {
		return err
	}
	if err := s.startSession(w, a); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// publicURL is the server's address as people reach it: the configured base
// URL, or else the scheme and host of this request.
func (s *Server) publicURL(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
