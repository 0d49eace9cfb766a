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
	link, err := s.newInvite(r, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, link)
}

// newInvite makes an agent's invite link, for the API and the admin page.
func (s *Server) newInvite(r *http.Request, id int64) (inviteLink, error) {
	a, err := s.store.Agent(r.Context(), id)
	if err != nil {
		return inviteLink{}, err
	}
	if a.Disabled {
		return inviteLink{}, errorf(http.StatusConflict, "agent %d is disabled; enable them before inviting", id)
	}
	token, hash := auth.NewToken("wci_")
	expires := s.now().Add(inviteTTL).UTC().Truncate(time.Millisecond)
	if err := s.store.CreateInvite(r.Context(), a.ID, hash, expires, byAgent(r)); err != nil {
		return inviteLink{}, err
	}
	return inviteLink{URL: s.publicURL(r) + "/invite/" + token, ExpiresAt: expires}, nil
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
	a, err := s.useInvite(w, r, in.Password)
	if err != nil {
		return err
	}
	// Where the agent has two-factor, or their role requires it, the
	// password is set but the sign-in is in the browser, which asks for
	// the code or sets it up: an invite link alone is no second factor.
	if need, err := s.desk.RequiresTwoFactor(r.Context(), a.Role); err != nil {
		return err
	} else if !need && !a.TwoFactor {
		if err := s.startSession(w, r, a, viaInvite); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, a)
}

// errInviteGone is the answer for a link that no longer works.
var errInviteGone = errorf(http.StatusNotFound, "this invite link is unknown, used or expired; ask an administrator for a new one")

// useInvite sets the password of the agent invited by the request's token
// for the API and the invite page alike; each then signs them in.
func (s *Server) useInvite(w http.ResponseWriter, r *http.Request, password string) (store.Agent, error) {
	if utf8.RuneCountInString(password) < MinInvitePasswordLength {
		return store.Agent{}, errorf(http.StatusUnprocessableEntity, "password must be at least %d characters", MinInvitePasswordLength)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.Agent{}, &Error{Status: http.StatusUnprocessableEntity, Msg: err.Error()}
	}
	a, err := s.store.UseInvite(r.Context(), auth.HashToken(r.PathValue("token")), hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return a, errInviteGone
	}
	if err != nil {
		return a, err
	}
	return a, nil
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
