package web

import (
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

type inviteView struct {
	chrome
	Name      string
	Gone      bool // the link is unknown, used or expired
	Error     string
	MinLength int
}

// showInvite greets an invited agent with the form to choose a password;
// a link that no longer works says so, and who can help.
func (s *Server) showInvite(w http.ResponseWriter, r *http.Request) error {
	a, err := s.store.InvitedAgent(r.Context(), auth.HashToken(r.PathValue("token")), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return s.renderInvite(w, r, http.StatusNotFound, inviteView{Gone: true})
	}
	if err != nil {
		return err
	}
	return s.renderInvite(w, r, http.StatusOK, inviteView{Name: a.Name})
}

func (s *Server) renderInvite(w http.ResponseWriter, r *http.Request, status int, v inviteView) error {
	v.chrome = chrome{Title: s.t(r, "admin.invite.title")}
	v.MinLength = MinInvitePasswordLength
	return s.ui.render(w, status, s.locale(r), "invite", "", v)
}

// acceptInviteFromForm sets the chosen password, starts a session and
// opens the inbox.
func (s *Server) acceptInviteFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pw := r.PostForm.Get("password")
	switch {
	case utf8.RuneCountInString(pw) < MinInvitePasswordLength:
		return s.renderInvite(w, r, http.StatusUnprocessableEntity, inviteView{Error: s.t(r, "admin.invite.short", MinInvitePasswordLength)})
	case pw != r.PostForm.Get("repeat"):
		return s.renderInvite(w, r, http.StatusUnprocessableEntity, inviteView{Error: s.t(r, "admin.invite.mismatch")})
	}
	a, err := s.useInvite(w, r, pw)
	if errors.Is(err, errInviteGone) {
		return s.renderInvite(w, r, http.StatusNotFound, inviteView{Gone: true})
	}
	if err != nil {
		if status, msg := s.classify(r, err); status < 500 {
			return s.renderInvite(w, r, status, inviteView{Error: msg})
		}
		return err
	}
	return s.signIn(w, r, a, viaInvite, "/inbox")
}
