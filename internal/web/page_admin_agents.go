package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

// agentRoles are the roles an admin can give, strongest first.
var agentRoles = []store.Role{store.RoleAdmin, store.RoleSupervisor, store.RoleAgent, store.RoleVolunteer, store.RoleField}

type adminAgentsView struct {
	adminChrome
	Agents    []agentRow
	Roles     []store.Role
	Languages []string
	Invite    *shownInvite // a link just made: shown this once
	New       agentForm    // what was typed into a refused add form
	// TwoFactorRoles must sign in with a second factor; SSO names the
	// single sign-on provider ("": none).
	TwoFactorRoles map[store.Role]bool
	SSO            string
	SSORole        store.Role
}

type agentRow struct {
	store.Agent
	Teams []string
	Self  bool
}

type shownInvite struct {
	inviteLink
	Name string
}

type agentForm struct {
	Name, Email string
	Role        store.Role
	Languages   []string
	Capacity    int
}

func (s *Server) showAdminAgents(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminAgents(w, r, http.StatusOK, adminAgentsView{New: agentForm{Role: store.RoleAgent, Capacity: 10}})
}

func (s *Server) renderAdminAgents(w http.ResponseWriter, r *http.Request, status int, v adminAgentsView) error {
	ctx := r.Context()
	v.adminChrome = s.adminChrome(r, "agents", v.Error)
	v.Roles, v.Languages = agentRoles, inboxLanguages
	required, err := s.desk.TwoFactorRoles(ctx)
	if err != nil {
		return err
	}
	v.TwoFactorRoles = map[store.Role]bool{}
	for _, role := range required {
		v.TwoFactorRoles[role] = true
	}
	if s.oidc != nil {
		v.SSO, v.SSORole = s.oidcName, s.oidcRole
	}
	agents, err := s.store.Agents(ctx)
	if err != nil {
		return err
	}
	teams, err := s.store.Teams(ctx)
	if err != nil {
		return err
	}
	teamNames := map[int64]string{}
	for _, t := range teams {
		teamNames[t.ID] = t.Name
	}
	sortAgents(agents)
	for _, a := range agents {
		row := agentRow{Agent: a, Self: a.ID == v.Me.ID}
		for _, id := range a.TeamIDs {
			row.Teams = append(row.Teams, teamNames[id])
		}
		v.Agents = append(v.Agents, row)
	}
	return s.ui.render(w, status, s.locale(r), "admin_agents", "", v)
}

// addAgentFromForm makes an agent and shows their invite link once.
func (s *Server) addAgentFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	typed := agentForm{Name: f.Get("name"), Email: f.Get("email"), Role: store.Role(f.Get("role")), Languages: formList(f["languages"])}
	again := func(status int, msg string) error {
		typed.Capacity, _ = strconv.Atoi(f.Get("capacity"))
		return s.renderAdminAgents(w, r, status, adminAgentsView{adminChrome: adminChrome{Error: msg}, New: typed})
	}
	capacity, err := formCapacity(f.Get("capacity"))
	if err != nil {
		return s.refused(r, err, again)
	}
	a, err := s.desk.AddAgent(r.Context(), actor(r), desk.AgentInput{Name: &typed.Name, Email: &typed.Email, Role: &typed.Role, Languages: &typed.Languages, Capacity: &capacity})
	if err != nil {
		return s.refused(r, err, again)
	}
	link, err := s.newInvite(r, a.ID)
	if err != nil {
		return err
	}
	return s.renderAdminAgents(w, r, http.StatusCreated, adminAgentsView{Invite: &shownInvite{inviteLink: link, Name: a.Name},
		New: agentForm{Role: store.RoleAgent, Capacity: 10}})
}

// editAgentFromForm changes an agent's role, languages and capacity, or
// disables or enables them: the fields the form sends.
func (s *Server) editAgentFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	again := func(status int, msg string) error {
		return s.renderAdminAgents(w, r, status, adminAgentsView{adminChrome: adminChrome{Error: msg}, New: agentForm{Role: store.RoleAgent, Capacity: 10}})
	}
	var in desk.AgentInput
	if f.Has("role") {
		role := store.Role(f.Get("role"))
		in.Role = &role
	}
	if f.Has("capacity") {
		capacity, err := formCapacity(f.Get("capacity"))
		if err != nil {
			return s.refused(r, err, again)
		}
		in.Capacity = &capacity
	}
	if f.Has("edit") { // the edit form, where no box ticked means no languages
		langs := formList(f["languages"])
		in.Languages = &langs
	}
	if f.Has("disabled") {
		off := f.Get("disabled") == "true"
		in.Disabled = &off
	}
	if _, err := s.desk.UpdateAgent(r.Context(), actor(r), id, in); err != nil {
		return s.refused(r, err, again)
	}
	return saved(w, r, "agents")
}

// inviteFromForm makes a new invite link for an agent, shown once; the
// earlier link stops working.
func (s *Server) inviteFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	again := func(status int, msg string) error {
		return s.renderAdminAgents(w, r, status, adminAgentsView{adminChrome: adminChrome{Error: msg}, New: agentForm{Role: store.RoleAgent, Capacity: 10}})
	}
	link, err := s.newInvite(r, id)
	if err != nil {
		return s.refused(r, err, again)
	}
	a, err := s.store.Agent(r.Context(), id)
	if err != nil {
		return err
	}
	return s.renderAdminAgents(w, r, http.StatusCreated, adminAgentsView{Invite: &shownInvite{inviteLink: link, Name: a.Name},
		New: agentForm{Role: store.RoleAgent, Capacity: 10}})
}

func formCapacity(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, errorf(http.StatusUnprocessableEntity, "capacity must be a whole number of conversations")
	}
	return n, nil
}
