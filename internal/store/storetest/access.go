package storetest

import "github.com/webcare/webcare/internal/store"

var accessTests = []testCase{
	{"session expiry", testSessionExpiry},
	{"session of a disabled agent", testSessionDisabled},
	{"disabling an agent ends its sessions", testSessionEndedByDisable},
	{"api tokens", testAPITokens},
	{"api token of a disabled agent", testAPITokenDisabled},
}

func testSessionExpiry(f *fixture) {
	ag := f.agent("agent@example.com")
	hash := []byte("session-hash-1")
	f.check(f.s.CreateSession(f.ctx, store.Session{TokenHash: hash, AgentID: ag.ID, ExpiresAt: at(60)}), "create session")

	got, err := f.s.SessionAgent(f.ctx, hash, at(59))
	f.check(err, "live session")
	want(f.t, "agent", got.ID, ag.ID)
	want(f.t, "email", got.Email, "agent@example.com")

	_, err = f.s.SessionAgent(f.ctx, hash, at(61))
	f.wantErr("expired session", err, store.ErrNotFound)
	_, err = f.s.SessionAgent(f.ctx, []byte("other"), at(0))
	f.wantErr("unknown session", err, store.ErrNotFound)

	f.check(f.s.DeleteSession(f.ctx, hash), "delete session")
	_, err = f.s.SessionAgent(f.ctx, hash, at(1))
	f.wantErr("deleted session", err, store.ErrNotFound)
	f.check(f.s.DeleteSession(f.ctx, hash), "delete a session twice")
}

func testSessionDisabled(f *fixture) {
	a := store.Agent{Email: "off@example.com", Name: "Off", Role: store.RoleAgent, Disabled: true}
	f.check(f.s.CreateAgent(f.ctx, &a, system), "create disabled agent")
	hash := []byte("session-hash-off")
	f.check(f.s.CreateSession(f.ctx, store.Session{TokenHash: hash, AgentID: a.ID, ExpiresAt: at(60)}), "create session")
	_, err := f.s.SessionAgent(f.ctx, hash, at(1))
	f.wantErr("session of a disabled agent", err, store.ErrNotFound)
}

func testSessionEndedByDisable(f *fixture) {
	a := f.agent("agent@example.com")
	b := f.agent("other@example.com")
	hashes := [][]byte{[]byte("a-laptop"), []byte("a-phone"), []byte("b-laptop")}
	for i, h := range hashes {
		owner := a.ID
		if i == 2 {
			owner = b.ID
		}
		f.check(f.s.CreateSession(f.ctx, store.Session{TokenHash: h, AgentID: owner, ExpiresAt: at(600)}), "create session %s", h)
	}

	a.Disabled = true
	f.check(f.s.UpdateAgent(f.ctx, &a, system), "disable")
	// Enabling again must not bring the old sessions back: they are gone.
	a.Disabled = false
	f.check(f.s.UpdateAgent(f.ctx, &a, system), "enable")
	for _, h := range hashes[:2] {
		_, err := f.s.SessionAgent(f.ctx, h, at(1))
		f.wantErr("session "+string(h)+" of the once disabled agent", err, store.ErrNotFound)
	}
	got, err := f.s.SessionAgent(f.ctx, hashes[2], at(1))
	f.check(err, "other agent's session")
	want(f.t, "other agent", got.ID, b.ID)
}

func testAPITokens(f *fixture) {
	a := f.agent("a@example.com")
	b := f.agent("b@example.com")
	tokens := []store.APIToken{
		{AgentID: a.ID, Name: "crm", Hash: []byte("hash-crm"), CreatedAt: at(0)},
		{AgentID: a.ID, Name: "bot", Hash: []byte("hash-bot"), CreatedAt: at(1)},
		{AgentID: b.ID, Name: "bi", Hash: []byte("hash-bi"), CreatedAt: at(2)},
	}
	for i := range tokens {
		f.check(f.s.CreateAPIToken(f.ctx, &tokens[i], system), "create token %s", tokens[i].Name)
		if tokens[i].ID == 0 {
			f.t.Fatalf("CreateAPIToken(%s) left ID 0", tokens[i].Name)
		}
	}

	got, err := f.s.APITokenAgent(f.ctx, []byte("hash-bot"), at(10))
	f.check(err, "token agent")
	want(f.t, "agent of the bot token", got.ID, a.ID)
	got, err = f.s.APITokenAgent(f.ctx, []byte("hash-bi"), at(10))
	f.check(err, "token agent")
	want(f.t, "agent of the bi token", got.ID, b.ID)
	_, err = f.s.APITokenAgent(f.ctx, []byte("hash-unknown"), at(10))
	f.wantErr("unknown token", err, store.ErrNotFound)

	list := func(agentID int64) map[string]store.APIToken {
		f.t.Helper()
		ts, err := f.s.APITokens(f.ctx, agentID)
		f.check(err, "tokens of %d", agentID)
		out := map[string]store.APIToken{}
		for _, t := range ts {
			out[t.Name] = t
		}
		return out
	}
	ofA := list(a.ID)
	if len(ofA) != 2 || ofA["crm"].ID != tokens[0].ID || ofA["bot"].ID != tokens[1].ID {
		f.t.Errorf("tokens of a = %+v, want crm and bot", ofA)
	}
	if bot := ofA["bot"]; bot.LastUsedAt == nil || !sameTime(*bot.LastUsedAt, at(10)) {
		f.t.Errorf("bot token last used at %v, want %v", bot.LastUsedAt, at(10))
	}
	if crm := ofA["crm"]; crm.LastUsedAt != nil || crm.AgentID != a.ID || !sameTime(crm.CreatedAt, at(0)) {
		f.t.Errorf("unused crm token = %+v", crm)
	}
	want(f.t, "tokens of every agent", len(list(0)), 3)

	f.check(f.s.DeleteAPIToken(f.ctx, tokens[1].ID, system), "delete")
	_, err = f.s.APITokenAgent(f.ctx, []byte("hash-bot"), at(11))
	f.wantErr("deleted token", err, store.ErrNotFound)
	ofA = list(a.ID)
	if _, ok := ofA["bot"]; ok || len(ofA) != 1 {
		f.t.Errorf("tokens of a after delete = %+v, want crm only", ofA)
	}
	want(f.t, "tokens of every agent after delete", len(list(0)), 2)
	f.wantErr("delete again", f.s.DeleteAPIToken(f.ctx, tokens[1].ID, system), store.ErrNotFound)

	dup := store.APIToken{AgentID: b.ID, Name: "copy", Hash: []byte("hash-crm")}
	f.wantErr("token with a taken hash", f.s.CreateAPIToken(f.ctx, &dup, system), store.ErrConflict)
}

func testAPITokenDisabled(f *fixture) {
	a := f.agent("a@example.com")
	tok := store.APIToken{AgentID: a.ID, Name: "crm", Hash: []byte("hash-crm")}
	f.check(f.s.CreateAPIToken(f.ctx, &tok, system), "create token")
	a.Disabled = true
	f.check(f.s.UpdateAgent(f.ctx, &a, system), "disable")
	_, err := f.s.APITokenAgent(f.ctx, []byte("hash-crm"), at(1))
	f.wantErr("token of a disabled agent", err, store.ErrNotFound)
}
