package web

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

const sessionCookie = "webcare_session"

type agentKey struct{}

// agentFrom returns the authenticated agent of a request that passed require.
func agentFrom(ctx context.Context) store.Agent {
	a, _ := ctx.Value(agentKey{}).(store.Agent)
	return a
}

func withAgent(ctx context.Context, a store.Agent) context.Context {
	return context.WithValue(ctx, agentKey{}, a)
}

// actor is the logged-in agent, as the desk sees them.
func actor(r *http.Request) desk.Actor {
	return desk.Agent(agentFrom(r.Context()), "api")
}

// byAgent is the logged-in agent for the audit trail of a change the
// store makes directly (sessions, API tokens, invites).
func byAgent(r *http.Request) store.Actor {
	return store.Actor{AgentID: agentFrom(r.Context()).ID, Via: "api"}
}

// require authenticates the request (API token or session cookie) and
// checks the permission ("" needs only a login).
func (s *Server) require(p auth.Permission, next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if p != "" && !auth.Can(a.Role, p) {
			return errorf(http.StatusForbidden, "your role (%s) may not do this", a.Role)
		}
		return next(w, r.WithContext(withAgent(r.Context(), a)))
	}
}

// credential is the hash of what the request authenticated with: its API
// token or its session; nil for neither.
func credential(r *http.Request) []byte {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return auth.HashToken(strings.TrimSpace(token))
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return auth.HashToken(c.Value)
	}
	return nil
}

func (s *Server) authenticate(r *http.Request) (store.Agent, error) {
	var a store.Agent
	var err error
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return a, errorf(http.StatusUnauthorized, "use Authorization: Bearer <API token>")
		}
		a, err = s.store.APITokenAgent(r.Context(), auth.HashToken(strings.TrimSpace(token)), s.now())
	} else if c, cerr := r.Cookie(sessionCookie); cerr == nil {
		a, err = s.store.SessionAgent(r.Context(), auth.HashToken(c.Value), s.now())
	} else {
		return a, errorf(http.StatusUnauthorized, "log in first, or send an API token")
	}
	if errors.Is(err, store.ErrNotFound) {
		return a, errorf(http.StatusUnauthorized, "session expired or token unknown; log in again")
	}
	return a, err
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// Code is the second factor, for an agent who has one: the six digits
	// of their app, or a recovery code.
	Code string `json:"code"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.checkLogin(r, in.Email, in.Password)
	if err != nil {
		return err
	}
	method := viaPassword
	if a.TwoFactor {
		if strings.TrimSpace(in.Code) == "" {
			return &Error{Status: http.StatusUnauthorized, Msg: "two-factor code required: send the code of your app, or a recovery code, as \"code\" with the password"}
		}
		if method, err = s.checkSecondFactor(r, a, in.Code); err != nil {
			return err
		}
	} else if need, err := s.desk.RequiresTwoFactor(r.Context(), a.Role); err != nil {
		return err
	} else if need {
		return errorf(http.StatusForbidden, "your role requires two-factor: log in once in the browser to set it up")
	}
	if err := s.startSession(w, r, a, method); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// checkLogin finds the agent with this e-mail address and password, for
// the API and the login page alike. Every failure is in the audit trail.
func (s *Server) checkLogin(r *http.Request, email, password string) (store.Agent, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	source := s.clientIP(r)
	if wait := s.logins.attempt(email, source, s.now()); wait > 0 {
		return store.Agent{}, &Error{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Msg: fmt.Sprintf("too many failed logins for this account from your address; try again in %s", wait.Round(time.Second))}
	}
	var a store.Agent
	err := store.ErrNotFound
	if len(email) <= maxEmailLen { // longer is nobody's address, and not worth a query
		a, err = s.store.AgentByEmail(r.Context(), email)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	hash := a.PasswordHash
	if err != nil || a.Disabled || hash == "" {
		// The same work as for a real account, so that the time of the
		// answer does not tell which addresses have one.
		hash = decoyHash()
	}
	if s.checkPassword(hash, password) != nil || err != nil || a.Disabled || a.PasswordHash == "" {
		s.auditLogin(r, "auth.login_failed", a.ID, "wrong password for "+clip(email, 100))
		return store.Agent{}, errorf(http.StatusUnauthorized, "wrong e-mail address or password")
	}
	s.logins.succeeded(email, source)
	return a, nil
}

// startSession signs the agent in: a new session, its cookie, and the
// login in the audit trail. method says how they proved who they are.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, a store.Agent, method string) error {
	token, hash := auth.NewToken("wcs_")
	expires := s.now().Add(s.sessionTTL)
	sess := s.newSession(r, a, hash, method, expires, "")
	if err := s.store.CreateSession(context.Background(), sess); err != nil {
		return err
	}
	s.setSessionCookie(w, token, expires)
	s.auditLogin(r, "auth.login", a.ID, method)
	return nil
}

// newSession is a session of a for the request's browser.
func (s *Server) newSession(r *http.Request, a store.Agent, hash []byte, method string, expires time.Time, pending string) store.Session {
	return store.Session{TokenHash: hash, AgentID: a.ID, CreatedAt: s.now(), ExpiresAt: expires, Method: method,
		Address: s.clientIP(r), UserAgent: clip(r.UserAgent(), 200), Pending: pending}
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
}

// auditLogin writes a login, a failure or a sign-out to the trail, with
// the address it came from. agentID 0: no account had that address. A
// trail that cannot be written is logged, never a reason to refuse.
func (s *Server) auditLogin(r *http.Request, action string, agentID int64, detail string) {
	subject := "login"
	if agentID != 0 {
		subject = fmt.Sprintf("agent/%d", agentID)
	}
	e := store.AuditEntry{AgentID: agentID, Action: action, Subject: subject, Detail: detail + " from " + s.clientIP(r)}
	if err := s.store.Audit(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Error("audit trail not written", "action", action, "agent_id", agentID, "err", err)
	}
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.endSession(w, r); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// endSession forgets the request's session, if any, and clears its cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		hash := auth.HashToken(c.Value)
		a, err := s.store.SessionAgent(r.Context(), hash, s.now())
		if err := s.store.DeleteSession(r.Context(), hash); err != nil {
			return err
		}
		if err == nil {
			s.auditLogin(r, "auth.logout", a.ID, "signed out")
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) showMe(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, agentFrom(r.Context()))
}

type meUpdate struct {
	Name            *string         `json:"name"`
	Languages       *[]string       `json:"languages"`
	Presence        *store.Presence `json:"presence"`
	Locale          *string         `json:"locale"`
	Password        *string         `json:"password"`
	CurrentPassword string          `json:"current_password"`
}

// updateMe lets an agent change their own name, languages, presence, screen
// language and password — never their role.
func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error {
	var in meUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.changeMe(r, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// changeMe checks and applies an agent's change to their own settings, for
// the API and the settings page alike.
func (s *Server) changeMe(r *http.Request, in meUpdate) (store.Agent, error) {
	a := agentFrom(r.Context())
	if in.Name != nil {
		if err := desk.CheckText("name", *in.Name, 1, 200); err != nil {
			return a, err
		}
		a.Name = strings.TrimSpace(*in.Name)
	}
	if in.Languages != nil {
		langs, err := desk.CheckLanguages(*in.Languages)
		if err != nil {
			return a, err
		}
		a.Languages = langs
	}
	if in.Presence != nil {
		if !in.Presence.Valid() {
			return a, errorf(http.StatusUnprocessableEntity, "presence must be online, away or offline")
		}
		a.Presence = *in.Presence
	}
	if in.Locale != nil {
		if !s.ui.cat.Has(*in.Locale) {
			return a, errorf(http.StatusUnprocessableEntity, "locale must be one of %s", strings.Join(s.ui.cat.Locales(), ", "))
		}
		a.Locale = *in.Locale
	}
	if in.Password != nil {
		if auth.CheckPassword(a.PasswordHash, in.CurrentPassword) != nil {
			return a, errorf(http.StatusForbidden, "current_password is wrong")
		}
		hash, err := auth.HashPassword(*in.Password)
		if err != nil {
			return a, &Error{Status: http.StatusUnprocessableEntity, Msg: err.Error()}
		}
		a.PasswordHash = hash
	}
	if err := s.store.UpdateAgent(r.Context(), &a, byAgent(r)); err != nil {
		return a, err
	}
	if in.Password != nil {
		// Whoever knew the old password is shut out: every other session
		// and API token of the agent ends; the one in hand stays.
		if _, err := s.store.EndSessions(r.Context(), a.ID, credential(r), true, byAgent(r)); err != nil {
			return a, err
		}
	}
	return a, nil
}

// endOtherSessions signs the agent out everywhere but here.
func (s *Server) endOtherSessions(w http.ResponseWriter, r *http.Request) error {
	me := agentFrom(r.Context())
	n, err := s.store.EndSessions(r.Context(), me.ID, credential(r), false, byAgent(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"ended": n})
}

// setupView is the first-run page: the form for the first administrator,
// or, Done, the way on.
type setupView struct {
	chrome
	Token, Name, Email, Error string
	Done                      bool
}

// renderSetup shows the setup page in the visitor's language.
func (s *Server) renderSetup(w http.ResponseWriter, r *http.Request, status int, v setupView) error {
	v.chrome = chrome{Title: s.t(r, "setup.welcome")}
	return s.ui.render(w, status, s.locale(r), "setup", "", v)
}

func (s *Server) checkSetupToken(r *http.Request, token string) error {
	want, err := s.store.Setting(r.Context(), desk.SetupTokenKey)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusGone, "setup is already done; log in instead")
	}
	if err != nil {
		return err
	}
	if token == "" || hex.EncodeToString(auth.HashToken(token)) != want {
		return errorf(http.StatusForbidden, "this setup link is not valid; use the one printed in the server log")
	}
	// However an administrator came about (the CLI, an invite, a
	// promotion), once one can log in the link is spent.
	agents, err := s.store.Agents(r.Context())
	if err != nil {
		return err
	}
	for _, a := range agents {
		if a.Role == store.RoleAdmin && !a.Disabled && a.PasswordHash != "" {
			return errorf(http.StatusGone, "setup is already done; log in instead")
		}
	}
	return nil
}

func (s *Server) showSetup(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if err := s.checkSetupToken(r, token); err != nil {
		return err
	}
	return s.renderSetup(w, r, http.StatusOK, setupView{Token: token})
}

func (s *Server) completeSetup(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "malformed form")
	}
	v := setupView{Token: r.PostFormValue("token"), Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email"))}
	if err := s.checkSetupToken(r, v.Token); err != nil {
		return err
	}
	hash, err := auth.HashPassword(r.PostFormValue("password"))
	if err == nil {
		err = desk.CheckText("name", v.Name, 1, 200)
	}
	if err == nil && !desk.ValidEmail(v.Email) {
		err = errors.New("enter a valid e-mail address")
	}
	if err != nil {
		v.Error = err.Error()
		return s.renderSetup(w, r, http.StatusUnprocessableEntity, v)
	}
	a := store.Agent{Email: v.Email, Name: v.Name, Role: store.RoleAdmin, PasswordHash: hash, Presence: store.Online}
	if err := s.store.CreateAgent(r.Context(), &a, store.Actor{Via: "setup"}); err != nil {
		return err
	}
	if err := s.store.SetSetting(r.Context(), desk.SetupTokenKey, ""); err != nil {
		return err
	}
	s.log.Info("setup done: first administrator created", "agent_id", a.ID, "email", a.Email)
	if err := s.startSession(w, r, a, viaSetup); err != nil {
		return err
	}
	return s.renderSetup(w, r, http.StatusOK, setupView{Done: true})
}
