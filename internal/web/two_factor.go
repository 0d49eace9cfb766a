package web

import (
	"encoding/base32"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// How an agent proved who they are, as sessions and the audit trail say.
const (
	viaPassword = "password"
	viaTOTP     = "password+totp"
	viaRecovery = "password+recovery_code"
	viaOIDC     = "oidc"
	viaSetup    = "setup"
	viaInvite   = "invite"
)

const (
	// pendingTTL is how long half a login waits for its second step:
	// time to find the phone, or to set up an app.
	pendingTTL = 15 * time.Minute
	// maxCodeAttempts wrong codes end a half-login: the password must be
	// given again (and counts against the login limits again).
	maxCodeAttempts = 5
	// recoveryCodes is how many one-time codes an agent gets.
	recoveryCodes = 10
)

// signIn ends every first step of a login in the browser (password,
// invite): a full session, or half a login when the agent has two-factor
// or their role requires it. It redirects to where the agent goes next.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, a store.Agent, method, next string) error {
	pending := ""
	if a.TwoFactor {
		pending = store.PendingTOTP
	} else if need, err := s.desk.RequiresTwoFactor(r.Context(), a.Role); err != nil {
		return err
	} else if need {
		pending = store.PendingEnrol
	}
	if pending == "" {
		if err := s.startSession(w, r, a, method); err != nil {
			return err
		}
		http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
		return nil
	}
	token, hash := auth.NewToken("wcs_")
	expires := s.now().Add(pendingTTL)
	if err := s.store.CreateSession(r.Context(), s.newSession(r, a, hash, method, expires, pending)); err != nil {
		return err
	}
	s.setSessionCookie(w, token, expires)
	to := "/login/two-factor"
	if pending == store.PendingEnrol {
		to += "/setup"
	}
	http.Redirect(w, r, to+"?next="+url.QueryEscape(safeNext(next)), http.StatusSeeOther)
	return nil
}

// checkSecondFactor checks a code of the agent's app, or one of their
// recovery codes, and spends it; it returns the login method it makes.
// Wrong codes are counted per agent (codeLimiter).
func (s *Server) checkSecondFactor(r *http.Request, a store.Agent, code string) (string, error) {
	if wait := s.codes.attempt(a.ID, s.now()); wait > 0 {
		s.auditLogin(r, "auth.login_failed", a.ID, "two-factor code refused: too many wrong codes")
		return "", &Error{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Msg: "too many wrong codes; try again in " + wait.Round(time.Second).String()}
	}
	code = strings.TrimSpace(code)
	if step, ok := auth.CheckTOTP(a.TOTPSecret, code, s.now()); ok {
		err := s.store.UseTOTPStep(r.Context(), a.ID, step)
		if errors.Is(err, store.ErrConflict) {
			s.auditLogin(r, "auth.login_failed", a.ID, "two-factor code used before")
			return "", errorf(http.StatusUnauthorized, "that code was used already; wait for the next one")
		}
		if err != nil {
			return "", err
		}
		s.codes.succeeded(a.ID)
		return viaTOTP, nil
	}
	if len(code) >= 16 {
		left, err := s.store.UseRecoveryCode(r.Context(), a.ID, auth.HashRecoveryCode(code))
		if err == nil {
			s.codes.succeeded(a.ID)
			s.auditLogin(r, "auth.recovery_code_used", a.ID, strings.TrimSpace(pluralCodes(left))+" left")
			return viaRecovery, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	s.auditLogin(r, "auth.login_failed", a.ID, "wrong two-factor code")
	return "", errorf(http.StatusUnauthorized, "wrong code")
}

func pluralCodes(n int) string {
	if n == 1 {
		return "1 recovery code"
	}
	return strconv.Itoa(n) + " recovery codes"
}

// pendingLogin is the half-login of the request's browser.
func (s *Server) pendingLogin(r *http.Request, stage string) (store.Session, store.Agent, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return store.Session{}, store.Agent{}, false
	}
	p, err := s.store.PendingSession(r.Context(), auth.HashToken(c.Value), s.now())
	if err != nil || p.Pending != stage {
		return p, store.Agent{}, false
	}
	a, err := s.store.Agent(r.Context(), p.AgentID)
	return p, a, err == nil
}

// twoFactorView is the second step of a login, the setting up of an app
// (in a login or from the settings), and the recovery codes shown once.
type twoFactorView struct {
	chrome
	Next  string
	Error string
	// Enrol: the new secret, its QR code as a data: URL (made here, so
	// safe to put in src), and where the form goes.
	Secret, Action string
	QR             template.URL
	// Codes are fresh recovery codes, shown this once; Left is how many
	// an agent with two-factor has.
	Codes []string
	Left  int
	// InApp is true on the settings page (the app's header), false in a
	// login.
	InApp bool
}

func (s *Server) renderTwoFactor(w http.ResponseWriter, r *http.Request, status int, name string, v twoFactorView) error {
	if v.InApp {
		v.chrome = s.chrome(r, s.t(r, "twofactor.title"), "settings")
	} else {
		v.chrome = chrome{Title: s.t(r, "twofactor.title")}
	}
	return s.ui.render(w, status, s.locale(r), "two_factor", name, v)
}

// showSecondStep asks for the code of a half-login.
func (s *Server) showSecondStep(w http.ResponseWriter, r *http.Request) error {
	if _, _, ok := s.pendingLogin(r, store.PendingTOTP); !ok {
		return s.loginAgain(w, r, "")
	}
	return s.renderTwoFactor(w, r, http.StatusOK, "two_factor", twoFactorView{Next: r.URL.Query().Get("next")})
}

// completeSecondStep checks the code and turns the half-login into a
// session; five wrong codes end it.
func (s *Server) completeSecondStep(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	next := r.PostForm.Get("next")
	p, a, ok := s.pendingLogin(r, store.PendingTOTP)
	if !ok {
		return s.loginAgain(w, r, next)
	}
	method, err := s.checkSecondFactor(r, a, r.PostForm.Get("code"))
	if err != nil {
		status, msg := s.classify(r, err)
		if status >= 500 {
			return err
		}
		if status == http.StatusUnauthorized {
			if n, ferr := s.store.FailPendingSession(r.Context(), p.TokenHash); ferr == nil && n >= maxCodeAttempts {
				s.store.DeleteSession(r.Context(), p.TokenHash)
				return s.loginAgain(w, r, next)
			}
			msg = s.t(r, "twofactor.wrong")
		}
		return s.renderTwoFactor(w, r, status, "two_factor", twoFactorView{Next: next, Error: msg})
	}
	if err := s.completeLogin(w, r, p, a, method); err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

// completeLogin swaps the half-login for a session with a new token.
func (s *Server) completeLogin(w http.ResponseWriter, r *http.Request, p store.Session, a store.Agent, method string) error {
	token, hash := auth.NewToken("wcs_")
	expires := s.now().Add(s.sessionTTL)
	if err := s.store.CompleteSession(r.Context(), p.TokenHash, s.newSession(r, a, hash, method, expires, "")); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusUnauthorized, "this sign-in has expired; log in again")
		}
		return err
	}
	s.setSessionCookie(w, token, expires)
	s.auditLogin(r, "auth.login", a.ID, method)
	return nil
}

// loginAgain sends a browser whose half-login is gone (expired, too many
// wrong codes) back to the login form, saying so.
func (s *Server) loginAgain(w http.ResponseWriter, r *http.Request, next string) error {
	return s.ui.render(w, http.StatusUnauthorized, s.locale(r), "login", "", s.loginView(r, loginView{Next: next, Error: s.t(r, "twofactor.again")}))
}

// showEnrolment puts secret (""; a fresh one) in the view, with its QR
// code. A secret that is not one (a form tampered with) is replaced.
func (s *Server) showEnrolment(a store.Agent, v twoFactorView, secret string) (twoFactorView, error) {
	k, err := auth.TOTPFor("webcare", a.Email, secret)
	if secret == "" || err != nil || !validSecret(secret) {
		k, err = auth.NewTOTP("webcare", a.Email)
	}
	if err != nil {
		return v, err
	}
	v.Secret, v.QR = k.Secret, template.URL("data:image/png;base64,"+base64.StdEncoding.EncodeToString(k.QRPNG))
	return v, nil
}

// enrolment checks the secret a form sent back with the first code of the
// app it was put in, and turns two-factor on with fresh recovery codes.
// The secret travels through the agent's own browser only: someone who
// could change it there could sign in as them already.
func (s *Server) enrolment(r *http.Request, a store.Agent, secret, code string) ([]string, error) {
	if !validSecret(secret) {
		return nil, errorf(http.StatusUnprocessableEntity, "the set-up form was changed; start again")
	}
	step, ok := auth.CheckTOTP(secret, code, s.now())
	if !ok {
		return nil, &Error{Status: http.StatusUnprocessableEntity, Msg: s.t(r, "twofactor.wrong")}
	}
	codes, hashes := auth.NewRecoveryCodes(recoveryCodes)
	if err := s.store.SetTwoFactor(r.Context(), a.ID, secret, hashes, store.Actor{AgentID: a.ID, Via: "web"}); err != nil {
		return nil, err
	}
	// The code just typed is spent, like any other.
	if err := s.store.UseTOTPStep(r.Context(), a.ID, step); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, err
	}
	return codes, nil
}

// validSecret: base32 of 16 to 64 bytes, as webcare makes them (20).
func validSecret(secret string) bool {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	return err == nil && len(b) >= 16 && len(b) <= 64
}

// showEnrolInLogin sets up two-factor for an agent whose role requires it,
// in the middle of their login.
func (s *Server) showEnrolInLogin(w http.ResponseWriter, r *http.Request) error {
	_, a, ok := s.pendingLogin(r, store.PendingEnrol)
	if !ok || a.TwoFactor {
		return s.loginAgain(w, r, "")
	}
	v, err := s.showEnrolment(a, twoFactorView{Next: r.URL.Query().Get("next"), Action: "/login/two-factor/setup"}, "")
	if err != nil {
		return err
	}
	return s.renderTwoFactor(w, r, http.StatusOK, "two_factor_setup", v)
}

func (s *Server) enrolInLogin(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	next := r.PostForm.Get("next")
	p, a, ok := s.pendingLogin(r, store.PendingEnrol)
	if ok && a.TwoFactor {
		// Set up meanwhile (by the agent, in another browser): this
		// half-login may not replace it; the password and the code it is.
		s.store.DeleteSession(r.Context(), p.TokenHash)
		ok = false
	}
	if !ok {
		return s.loginAgain(w, r, next)
	}
	v := twoFactorView{Next: next, Action: "/login/two-factor/setup"}
	codes, err := s.enrolment(r, a, r.PostForm.Get("secret"), r.PostForm.Get("code"))
	if err != nil {
		status, msg := s.classify(r, err)
		if status >= 500 {
			return err
		}
		if n, ferr := s.store.FailPendingSession(r.Context(), p.TokenHash); ferr == nil && n >= maxCodeAttempts {
			s.store.DeleteSession(r.Context(), p.TokenHash)
			return s.loginAgain(w, r, next)
		}
		// The same secret again: the agent may have put it in their app.
		v.Error = msg
		if v, err = s.showEnrolment(a, v, r.PostForm.Get("secret")); err != nil {
			return err
		}
		return s.renderTwoFactor(w, r, status, "two_factor_setup", v)
	}
	if err := s.completeLogin(w, r, p, a, viaTOTP); err != nil {
		return err
	}
	v.Codes, v.Next = codes, safeNext(next)
	return s.renderTwoFactor(w, r, http.StatusOK, "two_factor_codes", v)
}
