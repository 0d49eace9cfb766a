package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/webcare/webcare/internal/store"
)

// agentColumns include the agent's teams, so that one query loads both.
const agentColumns = `id, email, name, role, languages, skills, capacity, presence, locale, disabled, password_hash, totp_secret, oidc_subject, created_at,
	COALESCE((SELECT array_agg(team_id ORDER BY team_id) FROM team_members WHERE agent_id = agents.id), '{}')`

func scanAgent(row pgx.Row) (store.Agent, error) {
	var a store.Agent
	err := row.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &a.Languages, &a.Skills, &a.Capacity, &a.Presence, &a.Locale, &a.Disabled, &a.PasswordHash, &a.TOTPSecret, &a.OIDCSubject, &a.CreatedAt, &a.TeamIDs)
	a.TwoFactor = a.TOTPSecret != ""
	a.Languages, a.Skills, a.TeamIDs = orEmpty(a.Languages), orEmpty(a.Skills), orEmpty(a.TeamIDs)
	return a, err
}

func (s *Store) agentWhere(ctx context.Context, where string, arg any) (store.Agent, error) {
	a, err := scanAgent(s.pool.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE `+where, arg))
	return a, notFound(err, "agent", arg)
}

// Agent returns one agent with its teams.
func (s *Store) Agent(ctx context.Context, id int64) (store.Agent, error) {
	return s.agentWhere(ctx, `id = $1`, id)
}

// AgentByEmail finds an agent by e-mail address, ignoring case.
func (s *Store) AgentByEmail(ctx context.Context, email string) (store.Agent, error) {
	return s.agentWhere(ctx, `email = $1`, strings.ToLower(strings.TrimSpace(email)))
}

// Agents lists every agent.
func (s *Store) Agents(ctx context.Context) ([]store.Agent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY id`)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Agent, error) { return scanAgent(r) })
	return orEmpty(out), err
}

func normaliseAgent(a *store.Agent) {
	a.Email = strings.ToLower(strings.TrimSpace(a.Email))
	if a.Presence == "" {
		a.Presence = store.Offline
	}
	a.Languages, a.Skills = orEmpty(a.Languages), orEmpty(a.Skills)
}

// CreateAgent stores a new agent; a taken e-mail gives ErrConflict.
func (s *Store) CreateAgent(ctx context.Context, a *store.Agent, by store.Actor) error {
	normaliseAgent(a)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO agents (email, name, role, languages, skills, capacity, presence, locale, disabled, password_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			a.Email, a.Name, a.Role, a.Languages, a.Skills, a.Capacity, a.Presence, a.Locale, a.Disabled, a.PasswordHash, ts(a.CreatedAt)).Scan(&a.ID)
		if err != nil {
			return conflict(err, "agent "+a.Email)
		}
		if err := setMembership(ctx, tx, a); err != nil {
			return err
		}
		return audit(ctx, tx, by, "agent.create", fmt.Sprintf("agent/%d", a.ID), a.Email+" as "+string(a.Role))
	})
}

// UpdateAgent saves every field of an agent, its password hash and teams.
func (s *Store) UpdateAgent(ctx context.Context, a *store.Agent, by store.Actor) error {
	normaliseAgent(a)
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE agents SET email = $1, name = $2, role = $3, languages = $4, skills = $5, capacity = $6, presence = $7, locale = $8, disabled = $9, password_hash = $10 WHERE id = $11`,
			a.Email, a.Name, a.Role, a.Languages, a.Skills, a.Capacity, a.Presence, a.Locale, a.Disabled, a.PasswordHash, a.ID)
		if err != nil {
			return conflict(err, "agent "+a.Email)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("agent %d: %w", a.ID, store.ErrNotFound)
		}
		if err := setMembership(ctx, tx, a); err != nil {
			return err
		}
		if a.Disabled {
			// A disabled agent is logged out everywhere at once.
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE agent_id = $1`, a.ID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, by, "agent.update", fmt.Sprintf("agent/%d", a.ID), fmt.Sprintf("%s role=%s disabled=%t", a.Email, a.Role, a.Disabled))
	})
}

func setMembership(ctx context.Context, tx pgx.Tx, a *store.Agent) error {
	a.TeamIDs = orEmpty(a.TeamIDs)
	if _, err := tx.Exec(ctx, `DELETE FROM team_members WHERE agent_id = $1`, a.ID); err != nil {
		return err
	}
	for _, t := range a.TeamIDs {
		if _, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, t, a.ID); err != nil {
			return conflict(err, fmt.Sprintf("team %d", t))
		}
	}
	return nil
}

// CreateTeam stores a team with its members.
func (s *Store) CreateTeam(ctx context.Context, t *store.Team, by store.Actor) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id`, t.Name, ts(t.CreatedAt)).Scan(&t.ID); err != nil {
			return conflict(err, "team "+t.Name)
		}
		if err := setMembers(ctx, tx, t); err != nil {
			return err
		}
		return audit(ctx, tx, by, "team.create", fmt.Sprintf("team/%d", t.ID), t.Name)
	})
}

// UpdateTeam saves a team's name and members.
func (s *Store) UpdateTeam(ctx context.Context, t *store.Team, by store.Actor) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE teams SET name = $1 WHERE id = $2`, t.Name, t.ID)
		if err != nil {
			return conflict(err, "team "+t.Name)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("team %d: %w", t.ID, store.ErrNotFound)
		}
		if err := setMembers(ctx, tx, t); err != nil {
			return err
		}
		return audit(ctx, tx, by, "team.update", fmt.Sprintf("team/%d", t.ID), t.Name)
	})
}

func setMembers(ctx context.Context, tx pgx.Tx, t *store.Team) error {
	t.AgentIDs = orEmpty(t.AgentIDs)
	if _, err := tx.Exec(ctx, `DELETE FROM team_members WHERE team_id = $1`, t.ID); err != nil {
		return err
	}
	for _, a := range t.AgentIDs {
		if _, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, t.ID, a); err != nil {
			return conflict(err, fmt.Sprintf("agent %d", a))
		}
	}
	return nil
}

// Team returns one team with its members.
func (s *Store) Team(ctx context.Context, id int64) (store.Team, error) {
	teams, err := s.teams(ctx, `WHERE id = $1`, id)
	if err != nil {
		return store.Team{}, err
	}
	if len(teams) == 0 {
		return store.Team{}, fmt.Errorf("team %d: %w", id, store.ErrNotFound)
	}
	return teams[0], nil
}

// Teams lists every team.
func (s *Store) Teams(ctx context.Context) ([]store.Team, error) { return s.teams(ctx, ``) }

func (s *Store) teams(ctx context.Context, where string, args ...any) ([]store.Team, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at,
		COALESCE((SELECT array_agg(agent_id ORDER BY agent_id) FROM team_members WHERE team_id = teams.id), '{}')
		FROM teams `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Team, error) {
		var t store.Team
		err := r.Scan(&t.ID, &t.Name, &t.CreatedAt, &t.AgentIDs)
		t.AgentIDs = orEmpty(t.AgentIDs)
		return t, err
	})
	return orEmpty(out), err
}

const sessionColumns = `id, token_hash, agent_id, created_at, expires_at, method, address, user_agent, pending, attempts`

func scanSession(row pgx.Row) (store.Session, error) {
	var ss store.Session
	var created *time.Time
	err := row.Scan(&ss.ID, &ss.TokenHash, &ss.AgentID, &created, &ss.ExpiresAt, &ss.Method, &ss.Address, &ss.UserAgent, &ss.Pending, &ss.Attempts)
	if created != nil {
		ss.CreatedAt = created.UTC()
	}
	ss.ExpiresAt = ss.ExpiresAt.UTC()
	return ss, err
}

func insertSession(ctx context.Context, ex interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, ss store.Session) error {
	if ss.CreatedAt.IsZero() {
		ss.CreatedAt = time.Now()
	}
	_, err := ex.Exec(ctx, `INSERT INTO sessions (token_hash, agent_id, created_at, expires_at, method, address, user_agent, pending) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		ss.TokenHash, ss.AgentID, ts(ss.CreatedAt), ts(ss.ExpiresAt), ss.Method, ss.Address, ss.UserAgent, ss.Pending)
	return conflict(err, "session")
}

// CreateSession stores a browser session, full or pending.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	return insertSession(ctx, s.pool, ss)
}

// SessionAgent returns the enabled agent behind a live full session.
func (s *Store) SessionAgent(ctx context.Context, tokenHash []byte, now time.Time) (store.Agent, error) {
	a, err := scanAgent(s.pool.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents
		WHERE id = (SELECT agent_id FROM sessions WHERE token_hash = $1 AND expires_at > $2 AND pending = '') AND NOT disabled`, tokenHash, ts(now)))
	return a, notFound(err, "session", "")
}

// PendingSession returns a live half-login of an enabled agent.
func (s *Store) PendingSession(ctx context.Context, tokenHash []byte, now time.Time) (store.Session, error) {
	ss, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE token_hash = $1 AND expires_at > $2 AND pending <> ''
		AND EXISTS (SELECT 1 FROM agents a WHERE a.id = s.agent_id AND NOT a.disabled)`, tokenHash, ts(now)))
	return ss, notFound(err, "pending session", "")
}

// CompleteSession swaps a half-login for a full session.
func (s *Store) CompleteSession(ctx context.Context, pendingHash []byte, ss store.Session) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1 AND pending <> ''`, pendingHash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("pending session: %w", store.ErrNotFound)
		}
		return insertSession(ctx, tx, ss)
	})
}

// FailPendingSession counts a wrong code.
func (s *Store) FailPendingSession(ctx context.Context, tokenHash []byte) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `UPDATE sessions SET attempts = attempts + 1 WHERE token_hash = $1 AND pending <> '' RETURNING attempts`, tokenHash).Scan(&n)
	return n, notFound(err, "pending session", "")
}

// Sessions lists an agent's live full sessions, newest first.
func (s *Store) Sessions(ctx context.Context, agentID int64, now time.Time) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE agent_id = $1 AND expires_at > $2 AND pending = '' ORDER BY id DESC`, agentID, ts(now))
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Session, error) { return scanSession(r) })
	return orEmpty(out), err
}

// EndSession ends one of the agent's sessions.
func (s *Store) EndSession(ctx context.Context, agentID, id int64, by store.Actor) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var method, address string
		err := tx.QueryRow(ctx, `DELETE FROM sessions WHERE id = $1 AND agent_id = $2 RETURNING method, address`, id, agentID).Scan(&method, &address)
		if err != nil {
			return notFound(err, "session", id)
		}
		return audit(ctx, tx, by, "agent.session_end", fmt.Sprintf("agent/%d", agentID), fmt.Sprintf("session %d (%s from %s)", id, method, address))
	})
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return err
}

// SetTwoFactor turns TOTP on with fresh recovery codes, or off.
func (s *Store) SetTwoFactor(ctx context.Context, agentID int64, secret string, codes [][]byte, by store.Actor) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE agents SET totp_step = CASE WHEN totp_secret = $1 THEN totp_step ELSE 0 END, totp_secret = $1 WHERE id = $2`, secret, agentID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("agent %d: %w", agentID, store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE agent_id = $1`, agentID); err != nil {
			return err
		}
		if secret == "" {
			codes = nil
		}
		for _, h := range codes {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (agent_id, hash) VALUES ($1, $2)`, agentID, h); err != nil {
				return conflict(err, "recovery code")
			}
		}
		detail := "off"
		if secret != "" {
			detail = fmt.Sprintf("on, %d recovery codes", len(codes))
		}
		return audit(ctx, tx, by, "agent.two_factor", fmt.Sprintf("agent/%d", agentID), detail)
	})
}

// UseTOTPStep lets each code of the agent work once.
func (s *Store) UseTOTPStep(ctx context.Context, agentID, step int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE agents SET totp_step = $1 WHERE id = $2 AND totp_step < $1`, step, agentID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("two-factor code already used: %w", store.ErrConflict)
	}
	return nil
}

// UseRecoveryCode spends a recovery code.
func (s *Store) UseRecoveryCode(ctx context.Context, agentID int64, hash []byte) (int, error) {
	left := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE agent_id = $1 AND hash = $2`, agentID, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("recovery code: %w", store.ErrNotFound)
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE agent_id = $1`, agentID).Scan(&left)
	})
	return left, err
}

// LinkOIDCSubject links the agent to their subject at the provider, once.
func (s *Store) LinkOIDCSubject(ctx context.Context, agentID int64, subject string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE agents SET oidc_subject = $1 WHERE id = $2 AND oidc_subject IN ('', $1)`, subject, agentID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("agent %d is linked to another single sign-on subject: %w", agentID, store.ErrConflict)
	}
	return nil
}

// RecoveryCodesLeft counts unspent recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, agentID int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE agent_id = $1`, agentID).Scan(&n)
	return n, err
}

// EndSessions signs an agent out everywhere but keep, and with tokens
// revokes their API tokens too.
func (s *Store) EndSessions(ctx context.Context, agentID int64, keep []byte, tokens bool, by store.Actor) (int, error) {
	if keep == nil {
		keep = []byte{} // no token hash is empty
	}
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE agent_id = $1 AND token_hash <> $2`, agentID, keep)
		if err != nil {
			return err
		}
		ended, revoked := tag.RowsAffected(), int64(0)
		if tokens {
			if tag, err = tx.Exec(ctx, `DELETE FROM api_tokens WHERE agent_id = $1 AND hash <> $2`, agentID, keep); err != nil {
				return err
			}
			revoked = tag.RowsAffected()
		}
		n = int(ended + revoked)
		return audit(ctx, tx, by, "agent.sessions_end", fmt.Sprintf("agent/%d", agentID), fmt.Sprintf("%d sessions, %d api tokens", ended, revoked))
	})
	return n, err
}

// CreateAPIToken stores a token for an integration.
func (s *Store) CreateAPIToken(ctx context.Context, t *store.APIToken, by store.Actor) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_tokens (agent_id, name, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`, t.AgentID, t.Name, t.Hash, ts(t.CreatedAt)).Scan(&t.ID)
		if err != nil {
			return conflict(err, "api token "+t.Name)
		}
		return audit(ctx, tx, by, "token.create", fmt.Sprintf("agent/%d", t.AgentID), t.Name)
	})
}

// APITokenAgent returns the enabled agent a token acts for, and notes its use.
func (s *Store) APITokenAgent(ctx context.Context, hash []byte, now time.Time) (store.Agent, error) {
	var id, agentID int64
	var last *time.Time
	err := s.pool.QueryRow(ctx, `SELECT t.id, t.agent_id, t.last_used_at FROM api_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.hash = $1 AND NOT a.disabled`, hash).Scan(&id, &agentID, &last)
	if err != nil {
		return store.Agent{}, notFound(err, "api token", "")
	}
	// Note the use at most once a minute: a busy integration must not turn
	// every read into a write.
	if last == nil || now.Sub(*last) > time.Minute {
		if _, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, ts(now), id); err != nil {
			return store.Agent{}, err
		}
	}
	return s.Agent(ctx, agentID)
}

// APITokens lists an agent's tokens (0: every agent's).
func (s *Store) APITokens(ctx context.Context, agentID int64) ([]store.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, agent_id, name, created_at, last_used_at FROM api_tokens WHERE $1::bigint = 0 OR agent_id = $1 ORDER BY id`, agentID)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.APIToken, error) {
		var t store.APIToken
		err := r.Scan(&t.ID, &t.AgentID, &t.Name, &t.CreatedAt, &t.LastUsedAt)
		return t, err
	})
	return orEmpty(out), err
}

// DeleteAPIToken revokes a token.
func (s *Store) DeleteAPIToken(ctx context.Context, id int64, by store.Actor) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var agentID int64
		if err := tx.QueryRow(ctx, `DELETE FROM api_tokens WHERE id = $1 RETURNING agent_id`, id).Scan(&agentID); err != nil {
			return notFound(err, "api token", id)
		}
		return audit(ctx, tx, by, "token.delete", fmt.Sprintf("agent/%d", agentID), fmt.Sprintf("token %d", id))
	})
}

// Audit appends an entry to the trail.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit (at, agent_id, action, subject, detail) VALUES ($1, $2, $3, $4, $5)`, ts(e.At), nullID(e.AgentID), e.Action, e.Subject, e.Detail)
	return err
}

// Audits lists the trail newest first, for one subject or all ("").
func (s *Store) Audits(ctx context.Context, subject string, before int64, limit int) ([]store.AuditEntry, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if before <= 0 {
		before = 1 << 62
	}
	// Two statements rather than "$1 = '' OR subject = $1", which a cached
	// generic plan could not serve from the subject index.
	q, args := `SELECT id, at, agent_id, action, subject, detail FROM audit WHERE id < $1 ORDER BY id DESC LIMIT $2`, []any{before, limit}
	if subject != "" {
		q, args = `SELECT id, at, agent_id, action, subject, detail FROM audit WHERE subject = $3 AND id < $1 ORDER BY id DESC LIMIT $2`, append(args, subject)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEntry, error) {
		var e store.AuditEntry
		var agent *int64
		err := r.Scan(&e.ID, &e.At, &agent, &e.Action, &e.Subject, &e.Detail)
		e.AgentID = deref(agent)
		return e, err
	})
	return orEmpty(out), err
}
