package web

import (
	"net/http"

	"github.com/webcare/webcare/internal/auth"
)

// Handler returns every route webcare serves, in one place.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	h, can := s.handle, s.require

	mux.HandleFunc("GET /healthz", h(s.health))
	mux.HandleFunc("GET /readyz", h(s.readiness))
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics)
	}

	// The agent UI: pages and the fragments htmx swaps into them.
	p := s.page
	mux.HandleFunc("GET /static/{hash}/{name}", s.ui.serveStatic)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/inbox", http.StatusSeeOther) })
	mux.HandleFunc("GET /login", p(s.showLogin))
	mux.HandleFunc("POST /login", p(s.loginFromForm))
	mux.HandleFunc("POST /logout", p(s.logoutFromForm))
	// The second step of a login: a half-login's cookie opens only these.
	mux.HandleFunc("GET /login/two-factor", p(s.showSecondStep))
	mux.HandleFunc("POST /login/two-factor", p(s.completeSecondStep))
	mux.HandleFunc("GET /login/two-factor/setup", p(s.showEnrolInLogin))
	mux.HandleFunc("POST /login/two-factor/setup", p(s.enrolInLogin))
	mux.HandleFunc("GET /login/sso", p(s.startSSO))
	mux.HandleFunc("GET /login/sso/callback", p(s.finishSSO))
	mux.HandleFunc("GET /inbox", p(can("", s.showInbox)))
	mux.HandleFunc("GET /inbox/rows", p(can("", s.showRows)))
	mux.HandleFunc("GET /inbox/queues", p(can("", s.showQueues)))
	mux.HandleFunc("GET /conversations/{id}", p(can("", s.showConversationPage)))
	mux.HandleFunc("GET /conversations/{id}/thread", p(can("", s.showThread)))
	mux.HandleFunc("POST /conversations/{id}/messages", p(can(auth.WorkConversations, s.postMessage)))
	mux.HandleFunc("POST /conversations/{id}/assign", p(can(auth.WorkConversations, s.assignFromForm)))
	mux.HandleFunc("POST /conversations/{id}/status", p(can(auth.WorkConversations, s.statusFromForm)))
	mux.HandleFunc("POST /conversations/{id}/tags", p(can(auth.WorkConversations, s.tagsFromForm)))
	mux.HandleFunc("POST /conversations/{id}/private", p(can(auth.WorkConversations, s.moveToPrivate)))
	mux.HandleFunc("POST /conversations/{id}/activity", p(can(auth.WorkConversations, s.trackActivity)))
	mux.HandleFunc("GET /contacts/{id}", p(can(auth.ReadContacts, s.showContactPage)))
	mux.HandleFunc("GET /attachments/{id}", p(can("", s.serveAttachment)))
	mux.HandleFunc("GET /search", p(can("", s.showSearch)))
	mux.HandleFunc("GET /supervisor", p(can(auth.SuperviseQueues, s.showSupervisor)))
	mux.HandleFunc("POST /supervisor/assign", p(can(auth.AssignOthers, s.bulkAssignFromForm)))
	mux.HandleFunc("GET /settings", p(can("", s.showSettings)))
	mux.HandleFunc("POST /settings", p(can("", s.saveSettings)))
	mux.HandleFunc("POST /settings/presence", p(can("", s.setPresence)))
	mux.HandleFunc("POST /settings/sessions/end", p(can("", s.endSessionsFromForm)))
	mux.HandleFunc("POST /settings/sessions/{id}/end", p(can("", s.endSessionFromForm)))
	mux.HandleFunc("POST /settings/tokens", p(can(auth.ManageOwnAPITokens, s.createTokenFromForm)))
	mux.HandleFunc("POST /settings/tokens/{id}/delete", p(can(auth.ManageOwnAPITokens, s.deleteTokenFromForm)))
	mux.HandleFunc("GET /settings/two-factor", p(can("", s.showTwoFactorSetup)))
	mux.HandleFunc("POST /settings/two-factor", p(can("", s.setUpTwoFactorFromForm)))
	mux.HandleFunc("POST /settings/two-factor/off", p(can("", s.turnOffTwoFactorFromForm)))
	mux.HandleFunc("POST /settings/two-factor/recovery", p(can("", s.newRecoveryCodesFromForm)))
	mux.HandleFunc("GET /admin", p(can("", s.showAdmin)))
	mux.HandleFunc("GET /admin/agents", p(can(auth.ManageAgents, s.showAdminAgents)))
	mux.HandleFunc("POST /admin/agents", p(can(auth.ManageAgents, s.addAgentFromForm)))
	mux.HandleFunc("POST /admin/agents/{id}", p(can(auth.ManageAgents, s.editAgentFromForm)))
	mux.HandleFunc("POST /admin/agents/{id}/invite", p(can(auth.ManageAgents, s.inviteFromForm)))
	mux.HandleFunc("POST /admin/agents/{id}/two-factor/reset", p(can(auth.ManageAgents, s.resetTwoFactorFromForm)))
	mux.HandleFunc("POST /admin/security", p(can(auth.ManageAgents, s.saveSecurityFromForm)))
	mux.HandleFunc("GET /admin/teams", p(can(auth.ManageTeams, s.showAdminTeams)))
	mux.HandleFunc("POST /admin/teams", p(can(auth.ManageTeams, s.addTeamFromForm)))
	mux.HandleFunc("POST /admin/teams/{id}", p(can(auth.ManageTeams, s.editTeamFromForm)))
	mux.HandleFunc("GET /admin/channels", p(can(auth.ManageChannels, s.showAdminChannels)))
	mux.HandleFunc("POST /admin/channels", p(can(auth.ManageChannels, s.addChannelFromForm)))
	mux.HandleFunc("POST /admin/channels/{id}", p(can(auth.ManageChannels, s.editChannelFromForm)))
	mux.HandleFunc("POST /admin/channels/{id}/token", p(can(auth.ManageChannels, s.rotateTokenFromForm)))
	mux.HandleFunc("POST /admin/channels/{id}/settings", p(can(auth.ManageChannels, s.saveChannelSettingsFromForm)))
	mux.HandleFunc("POST /admin/channels/{id}/test", p(can(auth.ManageChannels, s.testChannelFromForm)))
	mux.HandleFunc("GET /admin/templates", p(can(auth.ManageTemplates, s.showAdminTemplates)))
	mux.HandleFunc("POST /admin/templates", p(can(auth.ManageTemplates, s.addTemplateFromForm)))
	mux.HandleFunc("GET /admin/templates/{id}", p(can(auth.ManageTemplates, s.showAdminTemplate)))
	mux.HandleFunc("POST /admin/templates/{id}", p(can(auth.ManageTemplates, s.editTemplateFromForm)))
	mux.HandleFunc("POST /admin/templates/{id}/delete", p(can(auth.ManageTemplates, s.deleteTemplateFromForm)))
	// An invite link is its own credential: no login, the token is checked.
	mux.HandleFunc("GET /invite/{token}", p(s.showInvite))
	mux.HandleFunc("POST /invite/{token}", p(s.acceptInviteFromForm))

	mux.HandleFunc("GET /setup", h(s.showSetup))
	mux.HandleFunc("POST /setup", h(s.completeSetup))
	mux.HandleFunc("POST /api/v1/login", h(s.login))
	mux.HandleFunc("POST /api/v1/logout", h(s.logout))
	mux.HandleFunc("GET /api/v1/me", h(can("", s.showMe)))
	mux.HandleFunc("PATCH /api/v1/me", h(can("", s.updateMe)))
	mux.HandleFunc("POST /api/v1/me/sessions/end", h(can("", s.endOtherSessions)))
	mux.HandleFunc("GET /api/v1/me/sessions", h(can("", s.listMySessions)))
	mux.HandleFunc("DELETE /api/v1/me/sessions/{id}", h(can("", s.endMySession)))
	mux.HandleFunc("GET /api/v1/security", h(can(auth.ManageAgents, s.showSecurity)))
	mux.HandleFunc("PUT /api/v1/security", h(can(auth.ManageAgents, s.updateSecurity)))

	// The API channel: any system feeds messages in with the channel's token.
	mux.HandleFunc("POST /api/v1/channels/{id}/messages", h(s.receiveMessage))
	// Platforms push here: signed webhooks, checked by the channel's adapter.
	mux.HandleFunc("GET /hooks/{id}", h(s.answerChallenge))
	mux.HandleFunc("POST /hooks/{id}", h(s.receiveHook))
	// The web chat widget and its visitors' API.
	if s.chat != nil {
		mux.Handle("/chat/", s.chat)
	}

	mux.HandleFunc("GET /api/v1/conversations", h(can("", s.listConversations)))
	mux.HandleFunc("POST /api/v1/conversations/assign", h(can(auth.AssignOthers, s.assignConversations)))
	mux.HandleFunc("GET /api/v1/queues", h(can(auth.SuperviseQueues, s.queueFigures)))
	mux.HandleFunc("GET /api/v1/conversations/{id}", h(can("", s.showConversation)))
	mux.HandleFunc("GET /api/v1/conversations/{id}/messages", h(can("", s.listMessages)))
	mux.HandleFunc("PATCH /api/v1/conversations/{id}", h(can(auth.WorkConversations, s.updateConversation)))
	mux.HandleFunc("POST /api/v1/conversations/{id}/replies", h(can(auth.WorkConversations, s.createReply)))
	mux.HandleFunc("POST /api/v1/conversations/{id}/notes", h(can(auth.WorkConversations, s.createNote)))
	mux.HandleFunc("POST /api/v1/conversations/{id}/private", h(can(auth.WorkConversations, s.moveToPrivateAPI)))

	mux.HandleFunc("GET /api/v1/search", h(can("", s.searchEverything)))

	mux.HandleFunc("GET /api/v1/contacts", h(can(auth.ReadContacts, s.listContacts)))
	mux.HandleFunc("GET /api/v1/contacts/{id}", h(can(auth.ReadContacts, s.showContact)))
	mux.HandleFunc("POST /api/v1/contacts/{id}/merge", h(can(auth.ManageContacts, s.mergeContact)))

	mux.HandleFunc("GET /api/v1/channels", h(can(auth.ReadDirectory, s.listChannels)))
	mux.HandleFunc("POST /api/v1/channels", h(can(auth.ManageChannels, s.createChannel)))
	mux.HandleFunc("GET /api/v1/channels/{id}", h(can(auth.ReadDirectory, s.showChannel)))
	mux.HandleFunc("PATCH /api/v1/channels/{id}", h(can(auth.ManageChannels, s.updateChannel)))
	mux.HandleFunc("POST /api/v1/channels/{id}/token", h(can(auth.ManageChannels, s.rotateChannelToken)))
	mux.HandleFunc("POST /api/v1/channels/{id}/test", h(can(auth.ManageChannels, s.testChannel)))

	mux.HandleFunc("GET /api/v1/agents", h(can(auth.ReadDirectory, s.listAgents)))
	mux.HandleFunc("POST /api/v1/agents", h(can(auth.ManageAgents, s.createAgent)))
	mux.HandleFunc("GET /api/v1/agents/{id}", h(can(auth.ReadDirectory, s.showAgent)))
	mux.HandleFunc("PATCH /api/v1/agents/{id}", h(can(auth.ManageAgents, s.updateAgent)))
	mux.HandleFunc("POST /api/v1/agents/{id}/invite", h(can(auth.ManageAgents, s.inviteAgent)))
	mux.HandleFunc("POST /api/v1/agents/{id}/two-factor/reset", h(can(auth.ManageAgents, s.resetTwoFactor)))
	// An invite link is its own credential: no login, the token is checked.
	mux.HandleFunc("POST /api/v1/invites/{token}", h(s.acceptInvite))

	mux.HandleFunc("GET /api/v1/teams", h(can(auth.ReadDirectory, s.listTeams)))
	mux.HandleFunc("POST /api/v1/teams", h(can(auth.ManageTeams, s.createTeam)))
	mux.HandleFunc("PATCH /api/v1/teams/{id}", h(can(auth.ManageTeams, s.updateTeam)))

	mux.HandleFunc("GET /api/v1/templates", h(can(auth.ReadDirectory, s.listTemplates)))
	mux.HandleFunc("POST /api/v1/templates", h(can(auth.ManageTemplates, s.createTemplate)))
	mux.HandleFunc("GET /api/v1/templates/{id}", h(can(auth.ReadDirectory, s.showTemplate)))
	mux.HandleFunc("PUT /api/v1/templates/{id}", h(can(auth.ManageTemplates, s.updateTemplate)))
	mux.HandleFunc("DELETE /api/v1/templates/{id}", h(can(auth.ManageTemplates, s.deleteTemplate)))

	mux.HandleFunc("GET /api/v1/tokens", h(can(auth.ManageOwnAPITokens, s.listTokens)))
	mux.HandleFunc("POST /api/v1/tokens", h(can(auth.ManageOwnAPITokens, s.createToken)))
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", h(can(auth.ManageOwnAPITokens, s.deleteToken)))

	mux.HandleFunc("GET /api/v1/audit", h(can(auth.ReadAudit, s.listAudit)))
	mux.HandleFunc("GET /api/v1/events", h(can(auth.ReadEvents, s.streamEvents)))

	mux.HandleFunc("/api/", h(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))

	// Browsers may not post to us from other sites (CSRF); API clients
	// without browser headers are not affected.
	csrf := http.NewCrossOriginProtection()
	// The chat widget runs on customers' websites and carries its own
	// token in a header, never a cookie: there is nothing to forge.
	csrf.AddInsecureBypassPattern("/chat/")
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusForbidden, "cross-origin request refused: browsers may change data only from this site's own pages")
	}))
	return csrf.Handler(securityHeaders(mux))
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}
