package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webcare/webcare/internal/store"
)

// CreateInvite stores an invite, replacing the agent's earlier one.
func (s *Store) CreateInvite(ctx context.Context, agentID int64, hash []byte, expires time.Time, by store.Actor) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO invites (agent_id, hash, expires_at, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (agent_id) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at, created_at = excluded.created_at`,
			agentID, hash, ts(expires), ts(time.Now()))
		if err != nil {
			return conflict(err, fmt.Sprintf("invite for agent %d", agentID))
		}
		return audit(ctx, tx, by, "agent.invite", fmt.Sprintf("agent/%d", agentID), "invite valid until "+expires.UTC().Format(time.RFC3339))
	})
}

// UseInvite sets the password of the invited, enabled agent and deletes the
// invite, in one transaction: a link works once, even when two requests
// bring it at the same moment (the DELETE decides which one).
func (s *Store) UseInvite(ctx context.Context, hash []byte, passwordHash string, now time.Time) (store.Agent, error) {
	var agentID int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM invites i USING agents a
			WHERE a.id = i.agent_id AND i.hash = $1 AND i.expires_at > $2 AND NOT a.disabled RETURNING i.agent_id`, hash, ts(now)).Scan(&agentID)
		if err != nil {
			return notFound(err, "invite", "")
		}
		if _, err := tx.Exec(ctx, `UPDATE agents SET password_hash = $1 WHERE id = $2`, passwordHash, agentID); err != nil {
			return err
		}
		return audit(ctx, tx, store.Actor{AgentID: agentID, Via: "invite"}, "agent.password", fmt.Sprintf("agent/%d", agentID), "password set through an invite")
	})
	if err != nil {
		return store.Agent{}, err
	}
	return s.Agent(ctx, agentID)
}

// InvitedAgent finds the enabled agent of a valid invite.
func (s *Store) InvitedAgent(ctx context.Context, hash []byte, now time.Time) (store.Agent, error) {
	var agentID int64
	err := s.pool.QueryRow(ctx, `SELECT i.agent_id FROM invites i JOIN agents a ON a.id = i.agent_id
		WHERE i.hash = $1 AND i.expires_at > $2 AND NOT a.disabled`, hash, ts(now)).Scan(&agentID)
	if err != nil {
		return store.Agent{}, notFound(err, "invite", "")
	}
	return s.Agent(ctx, agentID)
}
