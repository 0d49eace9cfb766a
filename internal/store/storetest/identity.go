package storetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/webcare/webcare/internal/store"
)

var identityTests = []testCase{
	{"sessions are listed and ended one by one", testSessionsListed},
	{"a pending session opens nothing until completed", testPendingSession},
	{"two-factor secret, steps and recovery codes", testTwoFactor},
	{"a single sign-on subject is linked once", testOIDCSubject},
}

// testOIDCSubject: the first sign-in links the agent to the provider's
// subject; the same subject signs in again, another is refused.
func testOIDCSubject(f *fixture) {
	ann, bob := f.agent("ann@example.org"), f.agent("bob@example.org")
	f.check(f.s.LinkOIDCSubject(f.ctx, ann.ID, "sub-ann"), "link")
	f.check(f.s.LinkOIDCSubject(f.ctx, ann.ID, "sub-ann"), "the same again")
	if err := f.s.LinkOIDCSubject(f.ctx, ann.ID, "sub-mallory"); !errors.Is(err, store.ErrConflict) {
		f.t.Errorf("another subject: %v, want ErrConflict", err)
	}
	if a, _ := f.s.Agent(f.ctx, ann.ID); a.OIDCSubject != "sub-ann" {
		f.t.Errorf("subject %q", a.OIDCSubject)
	}
	if b, _ := f.s.Agent(f.ctx, bob.ID); b.OIDCSubject != "" {
		f.t.Errorf("bob got a subject: %q", b.OIDCSubject)
	}
}

// testSessionsListed: an agent sees their own live full sessions with how
// and where each started, newest first, and ends one without touching the
// others or anyone else's.
func testSessionsListed(f *fixture) {
	ann, bob := f.agent("ann@example.org"), f.agent("bob@example.org")
	mk := func(hash string, agent int64, created time.Time, expires time.Time, pending string) {
		f.check(f.s.CreateSession(f.ctx, store.Session{TokenHash: []byte(hash), AgentID: agent, CreatedAt: created, ExpiresAt: expires,
			Method: "password", Address: "192.0.2.7", UserAgent: "Firefox " + hash, Pending: pending}), "session %s", hash)
	}
	mk("ann-old", ann.ID, at(0), at(600), "")
	mk("ann-new", ann.ID, at(5), at(600), "")
	mk("ann-expired", ann.ID, at(1), at(2), "")
	mk("ann-pending", ann.ID, at(6), at(600), store.PendingTOTP)
	mk("bob-1", bob.ID, at(3), at(600), "")

	list, err := f.s.Sessions(f.ctx, ann.ID, at(10))
	f.check(err, "sessions")
	if len(list) != 2 || list[0].UserAgent != "Firefox ann-new" || list[1].UserAgent != "Firefox ann-old" {
		f.t.Fatalf("ann's sessions %+v; want ann-new then ann-old (no expired, no pending, no bob)", list)
	}
	s := list[0]
	if !s.CreatedAt.Equal(at(5)) || !s.ExpiresAt.Equal(at(600)) || s.Method != "password" || s.Address != "192.0.2.7" || s.ID == 0 || s.AgentID != ann.ID {
		f.t.Errorf("session read back as %+v", s)
	}

	bobs, _ := f.s.Sessions(f.ctx, bob.ID, at(10))
	if err := f.s.EndSession(f.ctx, ann.ID, bobs[0].ID, system); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("ann ending bob's session: %v, want ErrNotFound", err)
	}
	f.check(f.s.EndSession(f.ctx, ann.ID, s.ID, system), "end ann-new")
	if _, err := f.s.SessionAgent(f.ctx, []byte("ann-new"), at(10)); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("ann-new still opens: %v", err)
	}
	if _, err := f.s.SessionAgent(f.ctx, []byte("ann-old"), at(10)); err != nil {
		f.t.Errorf("ann-old ended with ann-new: %v", err)
	}
	if _, err := f.s.SessionAgent(f.ctx, []byte("bob-1"), at(10)); err != nil {
		f.t.Errorf("bob's session ended: %v", err)
	}
	trail, _ := f.s.Audits(f.ctx, fmt.Sprintf("agent/%d", ann.ID), 0, 50)
	if !slices.ContainsFunc(trail, func(e store.AuditEntry) bool { return e.Action == "agent.session_end" }) {
		f.t.Errorf("no agent.session_end in the trail: %+v", trail)
	}
}

// testPendingSession: half a login is not a session; it counts wrong
// codes, and completing it swaps its token for a new full one, once.
func testPendingSession(f *fixture) {
	ann := f.agent("ann@example.org")
	f.check(f.s.CreateSession(f.ctx, store.Session{TokenHash: []byte("half"), AgentID: ann.ID, ExpiresAt: at(5), Method: "password", Pending: store.PendingTOTP}), "pending")
	if _, err := f.s.SessionAgent(f.ctx, []byte("half"), at(1)); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("a pending session opened as a full one: %v", err)
	}
	p, err := f.s.PendingSession(f.ctx, []byte("half"), at(1))
	f.check(err, "pending session")
	if p.AgentID != ann.ID || p.Pending != store.PendingTOTP {
		f.t.Errorf("pending session %+v", p)
	}
	if _, err := f.s.PendingSession(f.ctx, []byte("half"), at(6)); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("expired pending session: %v", err)
	}
	for want := 1; want <= 3; want++ {
		n, err := f.s.FailPendingSession(f.ctx, []byte("half"))
		f.check(err, "fail")
		if n != want {
			f.t.Errorf("attempts %d, want %d", n, want)
		}
	}
	full := store.Session{TokenHash: []byte("full"), AgentID: ann.ID, ExpiresAt: at(600), Method: "password+totp"}
	f.check(f.s.CompleteSession(f.ctx, []byte("half"), full), "complete")
	if a, err := f.s.SessionAgent(f.ctx, []byte("full"), at(1)); err != nil || a.ID != ann.ID {
		f.t.Errorf("the completed session: %v %v", a.ID, err)
	}
	if _, err := f.s.PendingSession(f.ctx, []byte("half"), at(1)); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("the half-login outlived its completion: %v", err)
	}
	again := store.Session{TokenHash: []byte("full-2"), AgentID: ann.ID, ExpiresAt: at(600)}
	if err := f.s.CompleteSession(f.ctx, []byte("half"), again); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("completing twice: %v, want ErrNotFound", err)
	}
	if err := f.s.CompleteSession(f.ctx, []byte("full"), again); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("completing a full session: %v, want ErrNotFound", err)
	}
}

// testTwoFactor: the secret shows on the agent, each time step is good
// once, and each recovery code is spent once; turning it off drops both.
func testTwoFactor(f *fixture) {
	ann, bob := f.agent("ann@example.org"), f.agent("bob@example.org")
	codes := [][]byte{[]byte("c1"), []byte("c2"), []byte("c3")}
	f.check(f.s.SetTwoFactor(f.ctx, ann.ID, "JBSWY3DPEHPK3PXP", codes, system), "on")
	got, err := f.s.AgentByEmail(f.ctx, "ann@example.org")
	f.check(err, "agent")
	if !got.TwoFactor || got.TOTPSecret != "JBSWY3DPEHPK3PXP" {
		f.t.Errorf("agent after two-factor on: TwoFactor %t secret %q", got.TwoFactor, got.TOTPSecret)
	}
	if b, _ := f.s.Agent(f.ctx, bob.ID); b.TwoFactor {
		f.t.Errorf("bob has two-factor too")
	}
	f.check(f.s.UseTOTPStep(f.ctx, ann.ID, 1000), "step 1000")
	for _, step := range []int64{1000, 999} {
		if err := f.s.UseTOTPStep(f.ctx, ann.ID, step); !errors.Is(err, store.ErrConflict) {
			f.t.Errorf("step %d after 1000: %v, want ErrConflict", step, err)
		}
	}
	f.check(f.s.UseTOTPStep(f.ctx, ann.ID, 1001), "step 1001")
	// New recovery codes for the same secret: the steps used stay used.
	f.check(f.s.SetTwoFactor(f.ctx, ann.ID, "JBSWY3DPEHPK3PXP", codes, system), "new codes")
	if err := f.s.UseTOTPStep(f.ctx, ann.ID, 1001); !errors.Is(err, store.ErrConflict) {
		f.t.Errorf("step 1001 after new recovery codes: %v, want ErrConflict", err)
	}
	left, err := f.s.UseRecoveryCode(f.ctx, ann.ID, []byte("c2"))
	if err != nil || left != 2 {
		f.t.Errorf("spend c2: %d left, %v; want 2", left, err)
	}
	if _, err := f.s.UseRecoveryCode(f.ctx, ann.ID, []byte("c2")); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("c2 twice: %v", err)
	}
	if _, err := f.s.UseRecoveryCode(f.ctx, bob.ID, []byte("c1")); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("bob spending ann's code: %v", err)
	}
	f.check(f.s.SetTwoFactor(f.ctx, ann.ID, "", nil, system), "off")
	if n, _ := f.s.RecoveryCodesLeft(f.ctx, ann.ID); n != 0 {
		f.t.Errorf("%d recovery codes left after turning it off", n)
	}
	if a, _ := f.s.Agent(f.ctx, ann.ID); a.TwoFactor || a.TOTPSecret != "" {
		f.t.Errorf("two-factor still on: %+v", a)
	}
	if err := f.s.SetTwoFactor(f.ctx, 99999, "X", nil, system); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("unknown agent: %v", err)
	}
	trail, _ := f.s.Audits(f.ctx, fmt.Sprintf("agent/%d", ann.ID), 0, 50)
	if n := len(slices.DeleteFunc(trail, func(e store.AuditEntry) bool { return e.Action != "agent.two_factor" })); n != 3 {
		f.t.Errorf("%d agent.two_factor entries, want 3 (on, new codes, off)", n)
	}
}
