package web

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

// oidcCookie carries a single sign-on under way from its start to the
// provider's callback, in the browser that started it: the state that
// ties the two together, the nonce the ID token must repeat, and the PKCE
// verifier. Nothing of it is kept on the server, so any instance can take
// the callback.
const oidcCookie = "webcare_sso"

// oidcFlow is what the cookie holds.
type oidcFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
}

// startSSO sends the browser to the provider.
func (s *Server) startSSO(w http.ResponseWriter, r *http.Request) error {
	if s.oidc == nil {
		return errorf(http.StatusNotFound, "single sign-on is not set up on this server")
	}
	start, err := s.oidc.Start(r.Context())
	if err != nil {
		s.log.Warn("single sign-on provider unavailable", "err", err)
		return s.ui.render(w, http.StatusBadGateway, s.locale(r), "login", "", s.loginView(r, loginView{Next: r.URL.Query().Get("next"), Error: s.t(r, "sso.unavailable")}))
	}
	flow, _ := json.Marshal(oidcFlow{State: start.State, Nonce: start.Nonce, Verifier: start.Verifier, Next: safeNext(r.URL.Query().Get("next"))})
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(flow), Path: "/login/sso",
		MaxAge: int((10 * time.Minute).Seconds()), HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, start.URL, http.StatusFound)
	return nil
}

// finishSSO takes the provider's answer: it checks it belongs to the
// sign-in this browser started, exchanges the code, and signs in the agent
// with the provider's verified e-mail address.
func (s *Server) finishSSO(w http.ResponseWriter, r *http.Request) error {
	if s.oidc == nil {
		return errorf(http.StatusNotFound, "single sign-on is not set up on this server")
	}
	refuse := func(status int, key string, args ...any) error {
		return s.ui.render(w, status, s.locale(r), "login", "", s.loginView(r, loginView{Error: s.t(r, key, args...)}))
	}
	// Callbacks count against the address like logins: a flood of made-up
	// ones neither fills the audit trail nor reaches the provider.
	source := s.clientIP(r)
	if wait := s.logins.attemptFrom(source, s.now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return refuse(http.StatusTooManyRequests, "sso.slow")
	}
	// The flow is spent whatever happens: a callback is good once.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/login/sso", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
	var flow oidcFlow
	c, err := r.Cookie(oidcCookie)
	if err == nil {
		var raw []byte
		if raw, err = base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			err = json.Unmarshal(raw, &flow)
		}
	}
	q := r.URL.Query()
	if err != nil || flow.State == "" || subtle.ConstantTimeCompare([]byte(flow.State), []byte(q.Get("state"))) != 1 {
		return refuse(http.StatusBadRequest, "sso.stale")
	}
	if e := q.Get("error"); e != "" {
		s.auditLogin(r, "auth.login_failed", 0, "single sign-on: the provider answered "+clip(e, 60))
		return refuse(http.StatusUnauthorized, "sso.refused", clip(e, 60))
	}
	id, err := s.oidc.Finish(r.Context(), q.Get("code"), auth.OIDCStart{State: flow.State, Nonce: flow.Nonce, Verifier: flow.Verifier})
	if err != nil {
		if errors.Is(err, auth.ErrOIDCDenied) {
			s.log.Warn("single sign-on refused", "err", err)
			s.auditLogin(r, "auth.login_failed", 0, "single sign-on: "+clip(err.Error(), 200))
			return refuse(http.StatusUnauthorized, "sso.refused", clip(strings.TrimPrefix(err.Error(), auth.ErrOIDCDenied.Error()+": "), 200))
		}
		s.log.Error("single sign-on failed", "err", err)
		return refuse(http.StatusBadGateway, "sso.unavailable")
	}
	a, err := s.ssoAgent(r, id)
	if err != nil {
		if status, _ := s.classify(r, err); status < 500 {
			s.auditLogin(r, "auth.login_failed", a.ID, "single sign-on as "+clip(id.Email, 100)+": "+err.Error())
			return refuse(status, "sso.noagent", id.Email)
		}
		return err
	}
	s.logins.succeededFrom(source)
	// The provider is trusted with the second factor too: an agent who
	// signs in through it is not asked for webcare's.
	if err := s.startSession(w, r, a, viaOIDC); err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(flow.Next), http.StatusSeeOther)
	return nil
}

// ssoAgent is the agent with the provider's address: an existing, enabled
// one, or, when the server is set to, a new one with the default role.
func (s *Server) ssoAgent(r *http.Request, id auth.OIDCIdentity) (store.Agent, error) {
	a, err := s.store.AgentByEmail(r.Context(), id.Email)
	if err == nil {
		if a.Disabled {
			return a, errorf(http.StatusForbidden, "the agent is disabled")
		}
		// The first sign-in links the agent to who they are at the
		// provider; an address that moved to someone else there is refused.
		if err := s.store.LinkOIDCSubject(r.Context(), a.ID, id.Subject); errors.Is(err, store.ErrConflict) {
			return a, errorf(http.StatusForbidden, "the agent is linked to another identity at the provider")
		} else if err != nil {
			return a, err
		}
		return a, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	if s.oidcRole == "" {
		return a, errorf(http.StatusForbidden, "no agent has this address, and single sign-on does not add agents")
	}
	name := id.Name
	if name == "" {
		name, _, _ = strings.Cut(id.Email, "@")
	}
	name = clip(name, 200)
	role := s.oidcRole
	a, err = s.desk.AddAgent(r.Context(), desk.System("sso"), desk.AgentInput{Email: &id.Email, Name: &name, Role: &role})
	if err != nil {
		return a, err
	}
	s.log.Info("single sign-on added an agent", "agent_id", a.ID, "email", a.Email, "role", a.Role)
	return a, s.store.LinkOIDCSubject(r.Context(), a.ID, id.Subject)
}
