package desk

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// SetupTokenKey is the setting that holds the hash of the one-time setup
// link, while nobody can log in as an administrator yet.
const SetupTokenKey = "setup_token_hash"

// AgentInput adds or changes an agent; nil fields stay.
type AgentInput struct {
	Email     *string     `json:"email"`
	Name      *string     `json:"name"`
	Role      *store.Role `json:"role"`
	Languages *[]string   `json:"languages"`
	Skills    *[]string   `json:"skills"`
	Capacity  *int        `json:"capacity"`
	TeamIDs   *[]int64    `json:"team_ids"`
	Disabled  *bool       `json:"disabled"`
	Password  *string     `json:"password"`
}

func (d *Desk) applyAgent(ctx context.Context, ag *store.Agent, in AgentInput) error {
	if in.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*in.Email))
		if !ValidEmail(e) {
			return invalid("email %q is not a valid address", *in.Email)
		}
		ag.Email = e
	}
	if in.Name != nil {
		if err := CheckText("name", *in.Name, 1, 200); err != nil {
			return err
		}
		ag.Name = strings.TrimSpace(*in.Name)
	}
	if in.Role != nil {
		if !in.Role.Valid() {
			return invalid("role must be admin, supervisor, agent, volunteer or field")
		}
		ag.Role = *in.Role
	}
	if in.Languages != nil {
		langs, err := CheckLanguages(*in.Languages)
		if err != nil {
			return err
		}
		ag.Languages = langs
	}
	if in.Skills != nil {
		skills, err := CheckList("skills", *in.Skills, 50, 50)
		if err != nil {
			return err
		}
		ag.Skills = skills
	}
	if in.Capacity != nil {
		if *in.Capacity < 0 || *in.Capacity > 1000 {
			return invalid("capacity must be between 0 and 1000 conversations")
		}
		ag.Capacity = *in.Capacity
	}
	if in.TeamIDs != nil {
		for _, t := range *in.TeamIDs {
			if err := d.checkTeam(ctx, t); err != nil {
				return err
			}
		}
		ag.TeamIDs = *in.TeamIDs
	}
	if in.Disabled != nil {
		ag.Disabled = *in.Disabled
	}
	if in.Password != nil {
		hash, err := auth.HashPassword(*in.Password)
		if err != nil {
			return invalid("%s", err.Error())
		}
		ag.PasswordHash = hash
	}
	return nil
}

// AddAgent checks and stores a new agent (an agent of capacity 10 unless
// told otherwise). The first administrator who can log in ends setup: the
// one-time setup link stops working.
func (d *Desk) AddAgent(ctx context.Context, a Actor, in AgentInput) (store.Agent, error) {
	if err := a.require(auth.ManageAgents); err != nil {
		return store.Agent{}, err
	}
	if in.Email == nil || in.Name == nil {
		return store.Agent{}, invalid("email and name are required")
	}
	ag := store.Agent{Role: store.RoleAgent, Capacity: 10, Presence: store.Offline}
	if err := d.applyAgent(ctx, &ag, in); err != nil {
		return ag, err
	}
	if err := d.store.CreateAgent(ctx, &ag, a.record()); err != nil {
		return ag, err
	}
	if ag.Role == store.RoleAdmin && !ag.Disabled && ag.PasswordHash != "" {
		if err := d.store.SetSetting(ctx, SetupTokenKey, ""); err != nil {
			d.log.Warn("ending setup failed; the setup link still works", "err", err)
		}
	}
	return ag, nil
}

// UpdateAgent checks and applies a change to an agent. An admin may not
// lock themselves out.
func (d *Desk) UpdateAgent(ctx context.Context, a Actor, id int64, in AgentInput) (store.Agent, error) {
	if err := a.require(auth.ManageAgents); err != nil {
		return store.Agent{}, err
	}
	ag, err := d.store.Agent(ctx, id)
	if err != nil {
		return ag, err
	}
	if err := d.applyAgent(ctx, &ag, in); err != nil {
		return ag, err
	}
	if ag.ID == a.Agent.ID && (ag.Disabled || ag.Role != store.RoleAdmin) {
		return ag, conflict("you cannot disable yourself or give up your own admin role; ask another admin")
	}
	if err := d.store.UpdateAgent(ctx, &ag, a.record()); err != nil {
		return ag, err
	}
	if in.Password != nil {
		// A new password is for shutting out whoever knew the old one:
		// their sessions and the API tokens made with it end too.
		if _, err := d.store.EndSessions(ctx, ag.ID, nil, true, a.record()); err != nil {
			return ag, err
		}
	}
	return ag, nil
}

// TeamInput adds or changes a team; nil fields stay.
type TeamInput struct {
	Name     *string  `json:"name"`
	AgentIDs *[]int64 `json:"agent_ids"`
}

func (d *Desk) applyTeam(ctx context.Context, t *store.Team, in TeamInput) error {
	if in.Name != nil {
		if err := CheckText("name", *in.Name, 1, 100); err != nil {
			return err
		}
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.AgentIDs != nil {
		for _, id := range *in.AgentIDs {
			if _, err := d.store.Agent(ctx, id); errors.Is(err, store.ErrNotFound) {
				return invalid("agent %d does not exist", id)
			} else if err != nil {
				return err
			}
		}
		t.AgentIDs = *in.AgentIDs
	}
	return nil
}

// AddTeam checks and stores a new team.
func (d *Desk) AddTeam(ctx context.Context, a Actor, in TeamInput) (store.Team, error) {
	var t store.Team
	if err := a.require(auth.ManageTeams); err != nil {
		return t, err
	}
	if in.Name == nil {
		return t, invalid("name is required")
	}
	if err := d.applyTeam(ctx, &t, in); err != nil {
		return t, err
	}
	err := d.store.CreateTeam(ctx, &t, a.record())
	return t, err
}

// UpdateTeam checks and applies a change to a team.
func (d *Desk) UpdateTeam(ctx context.Context, a Actor, id int64, in TeamInput) (store.Team, error) {
	if err := a.require(auth.ManageTeams); err != nil {
		return store.Team{}, err
	}
	t, err := d.store.Team(ctx, id)
	if err != nil {
		return t, err
	}
	if err := d.applyTeam(ctx, &t, in); err != nil {
		return t, err
	}
	err = d.store.UpdateTeam(ctx, &t, a.record())
	return t, err
}

var shortcutPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

func checkTemplate(t *store.Template) error {
	t.Name, t.Shortcut = strings.TrimSpace(t.Name), strings.ToLower(strings.TrimSpace(t.Shortcut))
	if err := CheckText("name", t.Name, 1, 100); err != nil {
		return err
	}
	if !shortcutPattern.MatchString(t.Shortcut) {
		return invalid("shortcut must be 1–32 lowercase letters, digits, - or _")
	}
	if len(t.Variants) == 0 || len(t.Variants) > 50 {
		return invalid("a template needs 1 to 50 variants")
	}
	seen := map[string]bool{}
	for i := range t.Variants {
		v := &t.Variants[i]
		langs, err := CheckLanguages([]string{v.Language})
		if err != nil {
			return err
		}
		v.Language, v.Tone = langs[0], strings.ToLower(strings.TrimSpace(v.Tone))
		if err := CheckText("tone", v.Tone, 0, 30); err != nil {
			return err
		}
		if err := CheckText("body", v.Body, 1, 5000); err != nil {
			return err
		}
		key := v.Language + "/" + v.Tone
		if seen[key] {
			return invalid("two variants for language %s and tone %q", v.Language, v.Tone)
		}
		seen[key] = true
	}
	return nil
}

// AddTemplate checks and stores a new template; its id and creation time
// are the store's to give.
func (d *Desk) AddTemplate(ctx context.Context, a Actor, t store.Template) (store.Template, error) {
	if err := a.require(auth.ManageTemplates); err != nil {
		return t, err
	}
	t.ID, t.CreatedAt = 0, time.Time{}
	if err := checkTemplate(&t); err != nil {
		return t, err
	}
	err := d.store.CreateTemplate(ctx, &t, a.record())
	return t, err
}

// UpdateTemplate checks and stores a template's new content, and answers
// what is stored (the creation time is not the caller's to send).
func (d *Desk) UpdateTemplate(ctx context.Context, a Actor, id int64, t store.Template) (store.Template, error) {
	if err := a.require(auth.ManageTemplates); err != nil {
		return t, err
	}
	t.ID = id
	if err := checkTemplate(&t); err != nil {
		return t, err
	}
	if err := d.store.UpdateTemplate(ctx, &t, a.record()); err != nil {
		return t, err
	}
	return d.store.Template(ctx, id)
}

// DeleteTemplate removes a template.
func (d *Desk) DeleteTemplate(ctx context.Context, a Actor, id int64) error {
	if err := a.require(auth.ManageTemplates); err != nil {
		return err
	}
	return d.store.DeleteTemplate(ctx, id, a.record())
}
