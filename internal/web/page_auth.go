package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/webcare/webcare/internal/store"
)

type loginView struct {
	chrome
	Email, Next, Error string
	// SSO names the single sign-on provider offered beside the password
	// form; "" when none is configured.
	SSO string
}

// loginView fills in what every rendering of the login page shows.
func (s *Server) loginView(r *http.Request, v loginView) loginView {
	v.chrome = chrome{Title: s.t(r, "login.title")}
	if s.oidc != nil {
		v.SSO = s.oidcName
	}
	return v
}

// showLogin renders the login form; a logged-in agent goes to the inbox.
func (s *Server) showLogin(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authenticate(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return s.ui.render(w, http.StatusOK, s.locale(r), "login", "", s.loginView(r, loginView{Next: r.URL.Query().Get("next")}))
}

// loginFromForm checks the password, then signs in or asks for the second
// factor, and goes where the agent was heading.
func (s *Server) loginFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	email, next := r.PostForm.Get("email"), r.PostForm.Get("next")
	a, err := s.checkLogin(r, email, r.PostForm.Get("password"))
	if err != nil {
		status, msg := s.classify(r, err)
		if status >= 500 {
			return err
		}
		if status == http.StatusUnauthorized {
			msg = s.t(r, "login.wrong")
		}
		return s.ui.render(w, status, s.locale(r), "login", "", s.loginView(r, loginView{Email: email, Next: next, Error: msg}))
	}
	return s.signIn(w, r, a, viaPassword, next)
}

// safeNext keeps a post-login redirect on this site: only a local path.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return "/inbox"
	}
	return u.RequestURI()
}

func (s *Server) logoutFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := s.endSession(w, r); err != nil {
		return err
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type settingsView struct {
	chrome
	Locales   []string
	Languages []string // choices: the ten promised languages
	Saved     bool
	Error     string
	// Ended is how many other sessions "sign out everywhere else" ended,
	// shown when EndedShown.
	Ended      int
	EndedShown bool
	// NewToken is an API token just made, shown this once.
	NewToken string
	Security security
}

func (s *Server) showSettings(w http.ResponseWriter, r *http.Request) error {
	return s.renderSettings(w, r, http.StatusOK, false, "")
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, saved bool, msg string) error {
	return s.renderSettingsView(w, r, status, settingsView{Saved: saved, Error: msg})
}

func (s *Server) renderSettingsView(w http.ResponseWriter, r *http.Request, status int, v settingsView) error {
	v.chrome, v.Locales, v.Languages = s.chrome(r, s.t(r, "nav.settings"), "settings"), s.ui.cat.Locales(), inboxLanguages
	sec, err := s.loadSecurity(r)
	if err != nil {
		return err
	}
	sec.NewToken = v.NewToken
	v.Security = sec
	return s.ui.render(w, status, s.locale(r), "settings", "", v)
}

// endSessionsFromForm signs the agent out everywhere but this browser.
func (s *Server) endSessionsFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	me := agentFrom(r.Context())
	n, err := s.store.EndSessions(r.Context(), me.ID, credential(r), false, byAgent(r))
	if err != nil {
		return err
	}
	return s.renderSettingsView(w, r, http.StatusOK, settingsView{Ended: n, EndedShown: true})
}

// saveSettings changes the agent's own name, UI language, languages
// spoken, presence and, with the current one, password.
func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	name := f.Get("name")
	langs := f["languages"]
	if langs == nil {
		langs = []string{}
	}
	presence := store.Presence(f.Get("presence"))
	in := meUpdate{Name: &name, Languages: &langs, Presence: &presence}
	if loc := f.Get("locale"); loc != "" {
		in.Locale = &loc
	}
	if pw := f.Get("password"); pw != "" {
		in.Password, in.CurrentPassword = &pw, f.Get("current_password")
	}
	a, err := s.changeMe(r, in)
	if err != nil {
		if status, msg := s.classify(r, err); status < 500 {
			return s.renderSettings(w, r, status, false, msg)
		}
		return err
	}
	r = r.WithContext(withAgent(r.Context(), a))
	return s.renderSettings(w, r, http.StatusOK, true, "")
}

// setPresence is the header's presence switch.
func (s *Server) setPresence(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	p := store.Presence(r.PostForm.Get("presence"))
	if _, err := s.changeMe(r, meUpdate{Presence: &p}); err != nil {
		return err
	}
	if isHTMX(r) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	return nil
}
