package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
)

var inviteTests = []testCase{
	{"an invite sets the password once", testInviteUse},
	{"a new invite replaces the old one", testInviteReplace},
	{"expired, unknown and disabled", testInviteRefused},
}

func testInviteUse(f *fixture) {
	a := f.agent("new@example.com")
	hash := []byte("hash-of-token-1")
	f.check(f.s.CreateInvite(f.ctx, a.ID, hash, at(60), system), "create invite")
	invited, err := f.s.InvitedAgent(f.ctx, hash, at(59))
	f.check(err, "invited agent")
	want(f.t, "invited agent", invited.ID, a.ID)
	_, err = f.s.InvitedAgent(f.ctx, hash, at(61))
	f.wantErr("invited agent after expiry", err, store.ErrNotFound)

	got, err := f.s.UseInvite(f.ctx, hash, "$argon2id$new", at(59))
	f.check(err, "use invite")
	want(f.t, "agent", got.ID, a.ID)
	want(f.t, "returned password hash", got.PasswordHash, "$argon2id$new")
	stored, err := f.s.Agent(f.ctx, a.ID)
	f.check(err, "agent")
	want(f.t, "stored password hash", stored.PasswordHash, "$argon2id$new")

	_, err = f.s.UseInvite(f.ctx, hash, "$argon2id$again", at(59))
	f.wantErr("second use", err, store.ErrNotFound)
	_, err = f.s.InvitedAgent(f.ctx, hash, at(59))
	f.wantErr("invited agent after use", err, store.ErrNotFound)
	stored, _ = f.s.Agent(f.ctx, a.ID)
	want(f.t, "password after a second use", stored.PasswordHash, "$argon2id$new")

	var actions []string
	for _, e := range f.audits(fmt.Sprintf("agent/%d", a.ID)) {
		actions = append(actions, e.Action)
	}
	wantSlice(f.t, "audit", actions, []string{"agent.password", "agent.invite", "agent.create"})
}

func testInviteReplace(f *fixture) {
	a := f.agent("new@example.com")
	old, fresh := []byte("old-hash"), []byte("new-hash")
	f.check(f.s.CreateInvite(f.ctx, a.ID, old, at(60), system), "first invite")
	f.check(f.s.CreateInvite(f.ctx, a.ID, fresh, at(120), system), "second invite")
	_, err := f.s.UseInvite(f.ctx, old, "$argon2id$old", at(1))
	f.wantErr("the replaced invite", err, store.ErrNotFound)
	_, err = f.s.UseInvite(f.ctx, fresh, "$argon2id$new", at(61))
	f.check(err, "the new invite, with its own expiry")

	// Invites of different agents do not replace each other.
	b, c := f.agent("b@example.com"), f.agent("c@example.com")
	f.check(f.s.CreateInvite(f.ctx, b.ID, []byte("b"), at(60), system), "invite b")
	f.check(f.s.CreateInvite(f.ctx, c.ID, []byte("c"), at(60), system), "invite c")
	got, err := f.s.UseInvite(f.ctx, []byte("b"), "$argon2id$b", at(1))
	f.check(err, "use b")
	want(f.t, "agent of b's invite", got.ID, b.ID)
}

func testInviteRefused(f *fixture) {
	a := f.agent("new@example.com")
	f.check(f.s.CreateInvite(f.ctx, a.ID, []byte("hash"), at(60), system), "invite")
	f.wantErr("invite for an unknown agent", f.s.CreateInvite(f.ctx, a.ID+1000, []byte("other"), at(60), system), store.ErrNotFound)

	tests := []struct {
		name string
		hash string
		now  time.Time
	}{
		{"at the expiry", "hash", at(60)},
		{"after the expiry", "hash", at(600)},
		{"unknown", "unknown", at(1)},
		{"empty", "", at(1)},
	}
	for _, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.UseInvite(f.ctx, []byte(tt.hash), "$argon2id$x", tt.now)
			f.sub(t).wantErr("use", err, store.ErrNotFound)
		})
	}
	a.Disabled = true
	f.check(f.s.UpdateAgent(f.ctx, &a, system), "disable")
	_, err := f.s.UseInvite(f.ctx, []byte("hash"), "$argon2id$x", at(1))
	f.wantErr("invite of a disabled agent", err, store.ErrNotFound)
	got, err := f.s.Agent(f.ctx, a.ID)
	f.check(err, "agent")
	want(f.t, "password untouched", got.PasswordHash, "")
}
