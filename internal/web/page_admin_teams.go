package web

import (
	"net/http"

	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

type adminTeamsView struct {
	adminChrome
	Teams  []teamRow
	Agents []store.Agent
	New    store.Team // what was typed into a refused create form
}

type teamRow struct {
	store.Team
	Members []string
}

func (s *Server) showAdminTeams(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminTeams(w, r, http.StatusOK, adminTeamsView{})
}

func (s *Server) renderAdminTeams(w http.ResponseWriter, r *http.Request, status int, v adminTeamsView) error {
	ctx := r.Context()
	v.adminChrome = s.adminChrome(r, "teams", v.Error)
	teams, err := s.store.Teams(ctx)
	if err != nil {
		return err
	}
	if v.Agents, err = s.store.Agents(ctx); err != nil {
		return err
	}
	sortAgents(v.Agents)
	names := map[int64]string{}
	for _, a := range v.Agents {
		names[a.ID] = a.Name
	}
	for _, t := range teams {
		row := teamRow{Team: t}
		for _, id := range t.AgentIDs {
			row.Members = append(row.Members, names[id])
		}
		v.Teams = append(v.Teams, row)
	}
	return s.ui.render(w, status, s.locale(r), "admin_teams", "", v)
}

// teamFromForm reads a team form: its name and the ticked agents.
func teamFromForm(w http.ResponseWriter, r *http.Request) (desk.TeamInput, error) {
	if err := parseForm(w, r); err != nil {
		return desk.TeamInput{}, err
	}
	ids, err := formIDs(r.PostForm["agents"])
	if err != nil {
		return desk.TeamInput{}, err
	}
	name := r.PostForm.Get("name")
	return desk.TeamInput{Name: &name, AgentIDs: &ids}, nil
}

func (s *Server) addTeamFromForm(w http.ResponseWriter, r *http.Request) error {
	in, err := teamFromForm(w, r)
	if err != nil {
		return err
	}
	if _, err := s.desk.AddTeam(r.Context(), actor(r), in); err != nil {
		return s.refused(r, err, func(status int, msg string) error {
			return s.renderAdminTeams(w, r, status, adminTeamsView{adminChrome: adminChrome{Error: msg},
				New: store.Team{Name: *in.Name, AgentIDs: *in.AgentIDs}})
		})
	}
	return saved(w, r, "teams")
}

// editTeamFromForm renames a team and sets its members.
func (s *Server) editTeamFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := teamFromForm(w, r)
	if err != nil {
		return err
	}
	if _, err := s.desk.UpdateTeam(r.Context(), actor(r), id, in); err != nil {
		return s.refused(r, err, func(status int, msg string) error {
			return s.renderAdminTeams(w, r, status, adminTeamsView{adminChrome: adminChrome{Error: msg}})
		})
	}
	return saved(w, r, "teams")
}
