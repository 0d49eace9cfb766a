package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// TwoFactorRolesKey is the setting listing the roles that must sign in
// with a second factor after their password, comma-separated.
const TwoFactorRolesKey = "two_factor_roles"

// TwoFactorRoles lists the roles an admin requires two-factor of.
func (d *Desk) TwoFactorRoles(ctx context.Context) ([]store.Role, error) {
	v, err := d.store.Setting(ctx, TwoFactorRolesKey)
	if errors.Is(err, store.ErrNotFound) {
		return []store.Role{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []store.Role{}
	for _, r := range strings.Split(v, ",") {
		if role := store.Role(strings.TrimSpace(r)); role.Valid() {
			out = append(out, role)
		}
	}
	return out, nil
}

// RequiresTwoFactor says whether agents of role must use a second factor.
func (d *Desk) RequiresTwoFactor(ctx context.Context, role store.Role) (bool, error) {
	roles, err := d.TwoFactorRoles(ctx)
	return slices.Contains(roles, role), err
}

// SetTwoFactorRoles makes two-factor required for exactly these roles.
// Agents of a role newly listed set it up at their next password login;
// sessions already open stay.
func (d *Desk) SetTwoFactorRoles(ctx context.Context, a Actor, roles []store.Role) error {
	if err := a.require(auth.ManageAgents); err != nil {
		return err
	}
	names := []string{}
	for _, r := range roles {
		if !r.Valid() {
			return invalid("role %q: use admin, supervisor, agent, volunteer or field", r)
		}
		if !slices.Contains(names, string(r)) {
			names = append(names, string(r))
		}
	}
	slices.Sort(names)
	v := strings.Join(names, ",")
	if err := d.store.SetSetting(ctx, TwoFactorRolesKey, v); err != nil {
		return err
	}
	if v == "" {
		v = "none"
	}
	return d.store.Audit(ctx, store.AuditEntry{AgentID: a.record().AgentID, Action: "settings.two_factor_roles", Subject: "settings", Detail: v})
}

// ResetTwoFactor turns an agent's two-factor off and spends their
// recovery codes: for an agent who lost their phone and their codes. If
// their role requires it, they set it up again at their next login.
func (d *Desk) ResetTwoFactor(ctx context.Context, a Actor, agentID int64) (store.Agent, error) {
	if err := a.require(auth.ManageAgents); err != nil {
		return store.Agent{}, err
	}
	ag, err := d.store.Agent(ctx, agentID)
	if err != nil {
		return ag, err
	}
	if !ag.TwoFactor {
		return ag, conflict("%s has no two-factor to reset", ag.Email)
	}
	if err := d.store.SetTwoFactor(ctx, ag.ID, "", nil, a.record()); err != nil {
		return ag, fmt.Errorf("reset two-factor: %w", err)
	}
	ag.TOTPSecret, ag.TwoFactor = "", false
	return ag, nil
}
