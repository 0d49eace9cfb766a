package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/store"
)

const agentColumns = `id, email, name, role, languages, skills, capacity, presence, locale, disabled, password_hash, totp_secret, oidc_subject, created_at`

func scanAgent(row scanner) (store.Agent, error) {
	var a store.Agent
	var langs, skills string
	var disabled int
	var created int64
	err := row.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &langs, &skills, &a.Capacity, &a.Presence, &a.Locale, &disabled, &a.PasswordHash, &a.TOTPSecret, &a.OIDCSubject, &created)
	a.TwoFactor = a.TOTPSecret != ""
	a.Languages, a.Skills = strList(langs), strList(skills)
	a.Disabled, a.CreatedAt = disabled != 0, fromMS(created)
	return a, err
}

func (s *Store) loadTeams(ctx context.Context, a *store.Agent) error {
	rows, err := s.r.QueryContext(ctx, `SELECT team_id FROM team_members WHERE agent_id = ? ORDER BY team_id`, a.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	a.TeamIDs = []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		a.TeamIDs = append(a.TeamIDs, id)
	}
	return rows.Err()
}

func (s *Store) agentWhere(ctx context.Context, where string, arg any) (store.Agent, error) {
	a, err := scanAgent(s.r.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE `+where, arg))
	if err != nil {
		return a, notFound(err, "agent", arg)
	}
	return a, s.loadTeams(ctx, &a)
}

// Agent returns one agent with its teams.
func (s *Store) Agent(ctx context.Context, id int64) (store.Agent, error) {
	return s.agentWhere(ctx, `id = ?`, id)
}

// AgentByEmail finds an agent by e-mail address, ignoring case.
func (s *Store) AgentByEmail(ctx context.Context, email string) (store.Agent, error) {
	return s.agentWhere(ctx, `email = ?`, strings.ToLower(strings.TrimSpace(email)))
}

// Agents lists every agent.
func (s *Store) Agents(ctx context.Context) ([]store.Agent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY id`)
	if err != nil {
		return nil, err
	}
	out := []store.Agent{}
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, a)
	}
	rows.Close()
	for i := range out {
		if err := s.loadTeams(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

func normaliseAgent(a *store.Agent) {
	a.Email = strings.ToLower(strings.TrimSpace(a.Email))
	if a.Presence == "" {
		a.Presence = store.Offline
	}
	if a.Languages == nil {
		a.Languages = []string{}
	}
	if a.Skills == nil {
		a.Skills = []string{}
	}
}

// CreateAgent stores a new agent; a taken e-mail gives ErrConflict.
func (s *Store) CreateAgent(ctx context.Context, a *store.Agent, by store.Actor) error {
	normaliseAgent(a)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO agents (email, name, role, languages, skills, capacity, presence, locale, disabled, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.Email, a.Name, a.Role, toJSON(a.Languages), toJSON(a.Skills), a.Capacity, a.Presence, a.Locale, boolInt(a.Disabled), a.PasswordHash, ms(a.CreatedAt))
		if err != nil {
			return conflict(err, "agent "+a.Email)
		}
		a.ID, _ = res.LastInsertId()
		if err := setMembership(ctx, tx, a); err != nil {
			return err
		}
		return audit(ctx, tx, by, "agent.create", fmt.Sprintf("agent/%d", a.ID), a.Email+" as "+string(a.Role))
	})
}

// UpdateAgent saves every field of an agent, its password hash and teams.
func (s *Store) UpdateAgent(ctx context.Context, a *store.Agent, by store.Actor) error {
	normaliseAgent(a)
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agents SET email = ?, name = ?, role = ?, languages = ?, skills = ?, capacity = ?, presence = ?, locale = ?, disabled = ?, password_hash = ? WHERE id = ?`,
			a.Email, a.Name, a.Role, toJSON(a.Languages), toJSON(a.Skills), a.Capacity, a.Presence, a.Locale, boolInt(a.Disabled), a.PasswordHash, a.ID)
		if err != nil {
			return conflict(err, "agent "+a.Email)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("agent %d: %w", a.ID, store.ErrNotFound)
		}
		if err := setMembership(ctx, tx, a); err != nil {
			return err
		}
		if a.Disabled {
			// A disabled agent is logged out everywhere at once.
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE agent_id = ?`, a.ID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, by, "agent.update", fmt.Sprintf("agent/%d", a.ID), fmt.Sprintf("%s role=%s disabled=%t", a.Email, a.Role, a.Disabled))
	})
}

func setMembership(ctx context.Context, tx *sql.Tx, a *store.Agent) error {
	if a.TeamIDs == nil {
		a.TeamIDs = []int64{}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE agent_id = ?`, a.ID); err != nil {
		return err
	}
	for _, t := range a.TeamIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, t, a.ID); err != nil {
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
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO teams (name, created_at) VALUES (?, ?)`, t.Name, ms(t.CreatedAt))
		if err != nil {
			return conflict(err, "team "+t.Name)
		}
		t.ID, _ = res.LastInsertId()
		if err := setMembers(ctx, tx, t); err != nil {
			return err
		}
		return audit(ctx, tx, by, "team.create", fmt.Sprintf("team/%d", t.ID), t.Name)
	})
}

// UpdateTeam saves a team's name and members.
func (s *Store) UpdateTeam(ctx context.Context, t *store.Team, by store.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE teams SET name = ? WHERE id = ?`, t.Name, t.ID)
		if err != nil {
			return conflict(err, "team "+t.Name)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("team %d: %w", t.ID, store.ErrNotFound)
		}
		if err := setMembers(ctx, tx, t); err != nil {
			return err
		}
		return audit(ctx, tx, by, "team.update", fmt.Sprintf("team/%d", t.ID), t.Name)
	})
}

func setMembers(ctx context.Context, tx *sql.Tx, t *store.Team) error {
	if t.AgentIDs == nil {
		t.AgentIDs = []int64{}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = ?`, t.ID); err != nil {
		return err
	}
	for _, a := range t.AgentIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, t.ID, a); err != nil {
			return conflict(err, fmt.Sprintf("agent %d", a))
		}
	}
	return nil
}

// Team returns one team with its members.
func (s *Store) Team(ctx context.Context, id int64) (store.Team, error) {
	teams, err := s.teams(ctx, `WHERE id = ?`, id)
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
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, created_at, COALESCE((SELECT json_group_array(agent_id) FROM (SELECT agent_id FROM team_members WHERE team_id = teams.id ORDER BY agent_id)), '[]') FROM teams `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Team{}
	for rows.Next() {
		var t store.Team
		var created int64
		var members string
		if err := rows.Scan(&t.ID, &t.Name, &created, &members); err != nil {
			return nil, err
		}
		t.CreatedAt = fromMS(created)
		t.AgentIDs = []int64{}
		_ = json.Unmarshal([]byte(members), &t.AgentIDs)
		out = append(out, t)
	}
	return out, rows.Err()
}

const sessionColumns = `id, token_hash, agent_id, created_at, expires_at, method, address, user_agent, pending, attempts`

func scanSession(row scanner) (store.Session, error) {
	var ss store.Session
	var created sql.NullInt64
	var expires int64
	err := row.Scan(&ss.ID, &ss.TokenHash, &ss.AgentID, &created, &expires, &ss.Method, &ss.Address, &ss.UserAgent, &ss.Pending, &ss.Attempts)
	if created.Valid {
		ss.CreatedAt = fromMS(created.Int64)
	}
	ss.ExpiresAt = fromMS(expires)
	return ss, err
}

func insertSession(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, ss store.Session) error {
	if ss.CreatedAt.IsZero() {
		ss.CreatedAt = time.Now().UTC()
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO sessions (token_hash, agent_id, created_at, expires_at, method, address, user_agent, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.TokenHash, ss.AgentID, ms(ss.CreatedAt), ms(ss.ExpiresAt), ss.Method, ss.Address, ss.UserAgent, ss.Pending)
	return conflict(err, "session")
}

// CreateSession stores a browser session, full or pending.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	return insertSession(ctx, s.w, ss)
}

// SessionAgent returns the enabled agent behind a live full session.
func (s *Store) SessionAgent(ctx context.Context, tokenHash []byte, now time.Time) (store.Agent, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT s.agent_id FROM sessions s JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = ? AND s.expires_at > ? AND s.pending = '' AND a.disabled = 0`, tokenHash, ms(now)).Scan(&id)
	if err != nil {
		return store.Agent{}, notFound(err, "session", "")
	}
	return s.Agent(ctx, id)
}

// PendingSession returns a live half-login of an enabled agent.
func (s *Store) PendingSession(ctx context.Context, tokenHash []byte, now time.Time) (store.Session, error) {
	ss, err := scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE token_hash = ? AND expires_at > ? AND pending != ''
		AND EXISTS (SELECT 1 FROM agents a WHERE a.id = s.agent_id AND a.disabled = 0)`, tokenHash, ms(now)))
	return ss, notFound(err, "pending session", "")
}

// CompleteSession swaps a half-login for a full session.
func (s *Store) CompleteSession(ctx context.Context, pendingHash []byte, ss store.Session) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ? AND pending != ''`, pendingHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("pending session: %w", store.ErrNotFound)
		}
		return insertSession(ctx, tx, ss)
	})
}

// FailPendingSession counts a wrong code.
func (s *Store) FailPendingSession(ctx context.Context, tokenHash []byte) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `UPDATE sessions SET attempts = attempts + 1 WHERE token_hash = ? AND pending != '' RETURNING attempts`, tokenHash).Scan(&n)
	return n, notFound(err, "pending session", "")
}

// Sessions lists an agent's live full sessions, newest first.
func (s *Store) Sessions(ctx context.Context, agentID int64, now time.Time) ([]store.Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE agent_id = ? AND expires_at > ? AND pending = '' ORDER BY id DESC`, agentID, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Session{}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ss)
	}
	return out, rows.Err()
}

// EndSession ends one of the agent's sessions.
func (s *Store) EndSession(ctx context.Context, agentID, id int64, by store.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var method, address string
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE id = ? AND agent_id = ? RETURNING method, address`, id, agentID).Scan(&method, &address)
		if err != nil {
			return notFound(err, "session", id)
		}
		return audit(ctx, tx, by, "agent.session_end", fmt.Sprintf("agent/%d", agentID), fmt.Sprintf("session %d (%s from %s)", id, method, address))
	})
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// SetTwoFactor turns TOTP on with fresh recovery codes, or off.
func (s *Store) SetTwoFactor(ctx context.Context, agentID int64, secret string, codes [][]byte, by store.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agents SET totp_step = CASE WHEN totp_secret = ? THEN totp_step ELSE 0 END, totp_secret = ? WHERE id = ?`, secret, secret, agentID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("agent %d: %w", agentID, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE agent_id = ?`, agentID); err != nil {
			return err
		}
		if secret == "" {
			codes = nil
		}
		for _, h := range codes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (agent_id, hash) VALUES (?, ?)`, agentID, h); err != nil {
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
	res, err := s.w.ExecContext(ctx, `UPDATE agents SET totp_step = ? WHERE id = ? AND totp_step < ?`, step, agentID, step)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("two-factor code already used: %w", store.ErrConflict)
	}
	return nil
}

// UseRecoveryCode spends a recovery code.
func (s *Store) UseRecoveryCode(ctx context.Context, agentID int64, hash []byte) (int, error) {
	left := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE agent_id = ? AND hash = ?`, agentID, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("recovery code: %w", store.ErrNotFound)
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE agent_id = ?`, agentID).Scan(&left)
	})
	return left, err
}

// LinkOIDCSubject links the agent to their subject at the provider, once.
func (s *Store) LinkOIDCSubject(ctx context.Context, agentID int64, subject string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE agents SET oidc_subject = ? WHERE id = ? AND oidc_subject IN ('', ?)`, subject, agentID, subject)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("agent %d is linked to another single sign-on subject: %w", agentID, store.ErrConflict)
	}
	return nil
}

// RecoveryCodesLeft counts unspent recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, agentID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE agent_id = ?`, agentID).Scan(&n)
	return n, err
}

// EndSessions signs an agent out everywhere but keep, and with tokens
// revokes their API tokens too.
func (s *Store) EndSessions(ctx context.Context, agentID int64, keep []byte, tokens bool, by store.Actor) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE agent_id = ? AND token_hash != ?`, agentID, orNoHash(keep))
		if err != nil {
			return err
		}
		ended, _ := res.RowsAffected()
		var revoked int64
		if tokens {
			if res, err = tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE agent_id = ? AND hash != ?`, agentID, orNoHash(keep)); err != nil {
				return err
			}
			revoked, _ = res.RowsAffected()
		}
		n = int(ended + revoked)
		return audit(ctx, tx, by, "agent.sessions_end", fmt.Sprintf("agent/%d", agentID), fmt.Sprintf("%d sessions, %d api tokens", ended, revoked))
	})
	return n, err
}

// orNoHash is keep, or a value no token hash has.
func orNoHash(keep []byte) []byte {
	if keep == nil {
		return []byte{}
	}
	return keep
}

// CreateAPIToken stores a token for an integration.
func (s *Store) CreateAPIToken(ctx context.Context, t *store.APIToken, by store.Actor) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (agent_id, name, hash, created_at) VALUES (?, ?, ?, ?)`, t.AgentID, t.Name, t.Hash, ms(t.CreatedAt))
		if err != nil {
			return conflict(err, "api token "+t.Name)
		}
		t.ID, _ = res.LastInsertId()
		return audit(ctx, tx, by, "token.create", fmt.Sprintf("agent/%d", t.AgentID), t.Name)
	})
}

// APITokenAgent returns the enabled agent a token acts for, and notes its use.
func (s *Store) APITokenAgent(ctx context.Context, hash []byte, now time.Time) (store.Agent, error) {
	var id, agentID int64
	var last sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT t.id, t.agent_id, t.last_used_at FROM api_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.hash = ? AND a.disabled = 0`, hash).Scan(&id, &agentID, &last)
	if err != nil {
		return store.Agent{}, notFound(err, "api token", "")
	}
	// Note the use at most once a minute: a busy integration must not turn
	// every read into a write.
	if !last.Valid || ms(now)-last.Int64 > 60_000 {
		if _, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, ms(now), id); err != nil {
			return store.Agent{}, err
		}
	}
	return s.Agent(ctx, agentID)
}

// APITokens lists an agent's tokens (0: every agent's).
func (s *Store) APITokens(ctx context.Context, agentID int64) ([]store.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, agent_id, name, created_at, last_used_at FROM api_tokens WHERE ? = 0 OR agent_id = ? ORDER BY id`, agentID, agentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.APIToken{}
	for rows.Next() {
		var t store.APIToken
		var created int64
		var last sql.NullInt64
		if err := rows.Scan(&t.ID, &t.AgentID, &t.Name, &created, &last); err != nil {
			return nil, err
		}
		t.CreatedAt, t.LastUsedAt = fromMS(created), fromNullMS(last)
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteAPIToken revokes a token.
func (s *Store) DeleteAPIToken(ctx context.Context, id int64, by store.Actor) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var agentID int64
		if err := tx.QueryRowContext(ctx, `SELECT agent_id FROM api_tokens WHERE id = ?`, id).Scan(&agentID); err != nil {
			return notFound(err, "api token", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id); err != nil {
			return err
		}
		return audit(ctx, tx, by, "token.delete", fmt.Sprintf("agent/%d", agentID), fmt.Sprintf("token %d", id))
	})
}

// Audit appends an entry to the trail.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit (at, agent_id, action, subject, detail) VALUES (?, ?, ?, ?, ?)`, ms(e.At), nullID(e.AgentID), e.Action, e.Subject, e.Detail)
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
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, agent_id, action, subject, detail FROM audit WHERE (? = '' OR subject = ?) AND id < ? ORDER BY id DESC LIMIT ?`, subject, subject, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		var agent sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &agent, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, err
		}
		e.At, e.AgentID = fromMS(at), agent.Int64
		out = append(out, e)
	}
	return out, rows.Err()
}
