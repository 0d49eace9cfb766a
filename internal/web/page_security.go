package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

// sessionRow is one of the agent's sessions as the settings page shows it.
type sessionRow struct {
	store.Session
	Device  string // "Firefox on Linux", from the browser's User-Agent
	Current bool   // the session this page was asked for with
}

// security is the sign-in part of the settings page.
type security struct {
	Sessions  []sessionRow
	Tokens    []store.APIToken
	NewToken  string // an API token just made, shown this once
	CanTokens bool
	TwoFactor bool
	CodesLeft int
	// Required: the agent's role must use two-factor, so it cannot be
	// turned off.
	Required bool
}

// loadSecurity reads the agent's sessions, tokens and two-factor state.
func (s *Server) loadSecurity(r *http.Request) (security, error) {
	me := agentFrom(r.Context())
	var v security
	sessions, err := s.store.Sessions(r.Context(), me.ID, s.now())
	if err != nil {
		return v, err
	}
	current := credential(r)
	for _, ss := range sessions {
		v.Sessions = append(v.Sessions, sessionRow{Session: ss, Device: device(ss.UserAgent), Current: string(ss.TokenHash) == string(current)})
	}
	if v.CanTokens = auth.Can(me.Role, auth.ManageOwnAPITokens); v.CanTokens {
		if v.Tokens, err = s.store.APITokens(r.Context(), me.ID); err != nil {
			return v, err
		}
	}
	v.TwoFactor = me.TwoFactor
	if v.TwoFactor {
		if v.CodesLeft, err = s.store.RecoveryCodesLeft(r.Context(), me.ID); err != nil {
			return v, err
		}
	}
	v.Required, err = s.desk.RequiresTwoFactor(r.Context(), me.Role)
	return v, err
}

// device names the browser and system of a User-Agent the way people
// say it; an unknown one is shown as it came (cut short, escaped).
func device(ua string) string {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " · " + system
	case browser != "":
		return browser
	case ua == "":
		return "?"
	}
	return clip(ua, 60)
}

// endSessionFromForm ends one of the agent's own sessions.
func (s *Server) endSessionFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.EndSession(r.Context(), agentFrom(r.Context()).ID, id, byAgent(r)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	http.Redirect(w, r, "/settings#sessions", http.StatusSeeOther)
	return nil
}

// createTokenFromForm makes an API token and shows it once.
func (s *Server) createTokenFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	if err := desk.CheckText("name", name, 1, 100); err != nil {
		_, msg := s.classify(r, err)
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, false, msg)
	}
	token, hash := auth.NewToken("wct_")
	t := store.APIToken{AgentID: agentFrom(r.Context()).ID, Name: strings.TrimSpace(name), Hash: hash}
	if err := s.store.CreateAPIToken(r.Context(), &t, byAgent(r)); err != nil {
		return err
	}
	return s.renderSettingsView(w, r, http.StatusOK, settingsView{NewToken: token})
}

// deleteTokenFromForm revokes one of the agent's own API tokens.
func (s *Server) deleteTokenFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	mine, err := s.ownsToken(r, agentFrom(r.Context()).ID, id)
	if err != nil {
		return err
	}
	if mine {
		if err := s.store.DeleteAPIToken(r.Context(), id, byAgent(r)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	http.Redirect(w, r, "/settings#tokens", http.StatusSeeOther)
	return nil
}

// showTwoFactorSetup sets up an authenticator app from the settings.
func (s *Server) showTwoFactorSetup(w http.ResponseWriter, r *http.Request) error {
	me := agentFrom(r.Context())
	if me.TwoFactor {
		http.Redirect(w, r, "/settings#two-factor", http.StatusSeeOther)
		return nil
	}
	v, err := s.showEnrolment(me, twoFactorView{InApp: true, Action: "/settings/two-factor"}, "")
	if err != nil {
		return err
	}
	return s.renderTwoFactor(w, r, http.StatusOK, "two_factor_setup", v)
}

func (s *Server) setUpTwoFactorFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	me := agentFrom(r.Context())
	if me.TwoFactor {
		return errorf(http.StatusConflict, "two-factor is on already; turn it off first to move to another app")
	}
	v := twoFactorView{InApp: true, Action: "/settings/two-factor"}
	codes, err := s.enrolment(r, me, r.PostForm.Get("secret"), r.PostForm.Get("code"))
	if err != nil {
		status, msg := s.classify(r, err)
		if status >= 500 {
			return err
		}
		v.Error = msg
		if v, err = s.showEnrolment(me, v, r.PostForm.Get("secret")); err != nil {
			return err
		}
		return s.renderTwoFactor(w, r, status, "two_factor_setup", v)
	}
	v.Codes, v.Next = codes, "/settings#two-factor"
	return s.renderTwoFactor(w, r, http.StatusOK, "two_factor_codes", v)
}

// provePossession checks a current code of the agent's app, for turning
// two-factor off or making new recovery codes: whoever has the session
// alone (a browser left open) may not.
func (s *Server) provePossession(r *http.Request, me store.Agent) error {
	if !me.TwoFactor {
		return errorf(http.StatusConflict, "two-factor is off")
	}
	if _, err := s.checkSecondFactor(r, me, r.PostForm.Get("code")); err != nil {
		if st, _ := s.classify(r, err); st == http.StatusUnauthorized {
			return &Error{Status: http.StatusUnprocessableEntity, Msg: s.t(r, "twofactor.wrong")}
		}
		return err
	}
	return nil
}

func (s *Server) turnOffTwoFactorFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	me := agentFrom(r.Context())
	if need, err := s.desk.RequiresTwoFactor(r.Context(), me.Role); err != nil {
		return err
	} else if need {
		return s.renderSettings(w, r, http.StatusConflict, false, s.t(r, "twofactor.required"))
	}
	if err := s.provePossession(r, me); err != nil {
		if status, msg := s.classify(r, err); status < 500 {
			return s.renderSettings(w, r, status, false, msg)
		}
		return err
	}
	if err := s.store.SetTwoFactor(r.Context(), me.ID, "", nil, byAgent(r)); err != nil {
		return err
	}
	me.TwoFactor, me.TOTPSecret = false, ""
	return s.renderSettings(w, r.WithContext(withAgent(r.Context(), me)), http.StatusOK, true, "")
}

func (s *Server) newRecoveryCodesFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	me := agentFrom(r.Context())
	if err := s.provePossession(r, me); err != nil {
		if status, msg := s.classify(r, err); status < 500 {
			return s.renderSettings(w, r, status, false, msg)
		}
		return err
	}
	codes, hashes := auth.NewRecoveryCodes(recoveryCodes)
	if err := s.store.SetTwoFactor(r.Context(), me.ID, me.TOTPSecret, hashes, byAgent(r)); err != nil {
		return err
	}
	return s.renderTwoFactor(w, r, http.StatusOK, "two_factor_codes", twoFactorView{InApp: true, Codes: codes, Next: "/settings#two-factor"})
}

// listMySessions is the API's list of the agent's own sessions.
func (s *Server) listMySessions(w http.ResponseWriter, r *http.Request) error {
	v, err := s.loadSecurity(r)
	if err != nil {
		return err
	}
	type out struct {
		store.Session
		Device  string `json:"device"`
		Current bool   `json:"current"`
	}
	list := []out{}
	for _, ss := range v.Sessions {
		list = append(list, out{ss.Session, ss.Device, ss.Current})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
}

// endMySession ends one of the agent's own sessions through the API.
func (s *Server) endMySession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.EndSession(r.Context(), agentFrom(r.Context()).ID, id, byAgent(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// securityInput is the instance's sign-in policy as the API reads and
// sets it.
type securityInput struct {
	TwoFactorRoles []store.Role `json:"two_factor_roles"`
}

func (s *Server) showSecurity(w http.ResponseWriter, r *http.Request) error {
	roles, err := s.desk.TwoFactorRoles(r.Context())
	if err != nil {
		return err
	}
	out := map[string]any{"two_factor_roles": roles, "single_sign_on": nil}
	if s.oidc != nil {
		out["single_sign_on"] = map[string]any{"name": s.oidcName, "new_agents_role": s.oidcRole}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateSecurity(w http.ResponseWriter, r *http.Request) error {
	var in securityInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.TwoFactorRoles == nil {
		return errorf(http.StatusUnprocessableEntity, "two_factor_roles is required (an empty list: none)")
	}
	if err := s.desk.SetTwoFactorRoles(r.Context(), actor(r), in.TwoFactorRoles); err != nil {
		return err
	}
	return s.showSecurity(w, r)
}

func (s *Server) resetTwoFactor(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.desk.ResetTwoFactor(r.Context(), actor(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// saveSecurityFromForm sets which roles must use two-factor.
func (s *Server) saveSecurityFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	roles := []store.Role{}
	for _, v := range r.PostForm["two_factor_roles"] {
		roles = append(roles, store.Role(v))
	}
	if err := s.desk.SetTwoFactorRoles(r.Context(), actor(r), roles); err != nil {
		if status, msg := s.classify(r, err); status < 500 {
			return s.renderAdminAgents(w, r, status, adminAgentsView{adminChrome: adminChrome{Error: msg}, New: agentForm{Role: store.RoleAgent, Capacity: 10}})
		}
		return err
	}
	v := adminAgentsView{New: agentForm{Role: store.RoleAgent, Capacity: 10}}
	v.Saved = true
	return s.renderAdminAgents(w, r, http.StatusOK, v)
}

// resetTwoFactorFromForm turns off an agent's two-factor (a lost phone).
func (s *Server) resetTwoFactorFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v := adminAgentsView{New: agentForm{Role: store.RoleAgent, Capacity: 10}}
	if _, err := s.desk.ResetTwoFactor(r.Context(), actor(r), id); err != nil {
		status, msg := s.classify(r, err)
		if status >= 500 {
			return err
		}
		v.Error = msg
		return s.renderAdminAgents(w, r, status, v)
	}
	v.Saved = true
	return s.renderAdminAgents(w, r, http.StatusOK, v)
}
