package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// TestLoginLimiterHoldsLittle: what failed logins leave behind is bounded:
// an address longer than any e-mail address is not kept (3,000 logins
// with 200 KB addresses once took a server from 62 MB to 1 GB), counts
// expire, and the table never outgrows maxTracked.
func TestLoginLimiterHoldsLittle(t *testing.T) {
	l := newLoginLimiter()
	now := time.Unix(1_800_000_000, 0)
	huge := strings.Repeat("a", 200<<10) + "@heron.example"
	for i := range 3000 {
		l.attempt(huge[i%100:], "198.51.100.7", now)
	}
	if n := l.tracked(); n != 2 {
		t.Errorf("%d counts kept after 3,000 logins with 200 KB addresses; want only the address's and its network's", n)
	}
	for i := range maxTracked + 5000 {
		l.attempt("agent@heron.example", "10."+itoa3(i), now.Add(time.Duration(i)*time.Millisecond))
	}
	if n := l.tracked(); n > maxTracked {
		t.Errorf("%d counts kept; at most %d", n, maxTracked)
	}
	l.attempt("x@heron.example", "203.0.113.1", now.Add(time.Hour))
	if n := l.tracked(); n > maxTracked {
		t.Errorf("%d counts after expiry", n)
	}
}

func itoa3(i int) string {
	return strings.Join([]string{itoa(i >> 16 & 255), itoa(i >> 8 & 255), itoa(i & 255)}, ".")
}

func itoa(i int) string {
	return string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

// TestLoginDelaysGrow: past the limit each further failure waits longer,
// from 30 s to at most 15 minutes; a success from the address clears its
// count.
func TestLoginDelaysGrow(t *testing.T) {
	l := newLoginLimiter()
	now := time.Unix(1_800_000_000, 0)
	for range pairFailures {
		if w := l.attempt("ann@heron.example", "192.0.2.1", now); w != 0 {
			t.Fatalf("refused within the limit: %v", w)
		}
	}
	var waits []time.Duration
	for range 8 {
		w := l.attempt("ann@heron.example", "192.0.2.1", now)
		waits = append(waits, w)
		now = now.Add(w) // the guesser waits exactly as told, and fails again
		if again := l.attempt("ann@heron.example", "192.0.2.1", now); again != 0 {
			t.Fatalf("still refused after waiting %v: %v", w, again)
		}
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("waits %v, want %v", waits, want)
			break
		}
	}
	l.succeeded("ann@heron.example", "192.0.2.1")
	if w := l.attempt("ann@heron.example", "192.0.2.1", now); w != 0 {
		t.Errorf("after a good login the address waits %v", w)
	}
}

// TestLockoutIsNoWeapon: a guesser's failures slow the guesser, not the
// agent: ten wrong passwords from one address leave the right password
// working from another; and an unknown address costs the same password
// check as a known one, so the answer's time tells nothing.
func TestLockoutIsNoWeapon(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := auth.HashPassword("the right password")
	if err != nil {
		t.Fatal(err)
	}
	a := store.Agent{Email: "admin@heron.example", Name: "Admin", Role: store.RoleAdmin, PasswordHash: hash}
	if err := st.CreateAgent(context.Background(), &a, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	var checks atomic.Int32
	s := &Server{store: st, logins: newLoginLimiter(), now: time.Now,
		clientIP: func(r *http.Request) string { return r.Header.Get("X-Test-Client") },
		checkPassword: func(h, p string) error {
			checks.Add(1)
			return auth.CheckPassword(h, p)
		}}
	login := func(from, email, password string) error {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/login", nil)
		r.Header.Set("X-Test-Client", from)
		_, err := s.checkLogin(r, email, password)
		return err
	}
	status := func(err error) int {
		if e, ok := err.(*Error); ok {
			return e.Status
		}
		return 0
	}
	for i := range 10 {
		if err := login("203.0.113.66", "admin@heron.example", "guess "+itoa(i)); status(err) != http.StatusUnauthorized {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	err = login("203.0.113.66", "admin@heron.example", "the right password")
	if status(err) != http.StatusTooManyRequests || err.(*Error).RetryAfter > 30*time.Second || err.(*Error).RetryAfter < 20*time.Second {
		t.Errorf("the guesser's eleventh try: %v; want 429 with Retry-After 30 s", err)
	}
	if err := login("192.0.2.10", "admin@heron.example", "the right password"); err != nil {
		t.Errorf("the admin from their own address is locked out by the guesser: %v", err)
	}
	before := checks.Load()
	if err := login("192.0.2.99", "nobody@heron.example", "a guess"); status(err) != http.StatusUnauthorized {
		t.Errorf("unknown address: %v", err)
	}
	if err := login("192.0.2.99", strings.Repeat("x", 300)+"@heron.example", "a guess"); status(err) != http.StatusUnauthorized {
		t.Errorf("over-long address: %v", err)
	}
	if n := checks.Load() - before; n != 2 {
		t.Errorf("%d password checks for two unknown addresses; want one each, as for a real account", n)
	}
}

// TestGuessingFromManyAddresses: rotating through the addresses of one
// network buys no more guesses than the network's limit, and an
// account under attack from everywhere still lets its agent in after a
// typo from their own address (findings of an attack review).
func TestGuessingFromManyAddresses(t *testing.T) {
	l := newLoginLimiter()
	now := time.Unix(1_800_000_000, 0)
	allowed := 0
	for i := range 5000 { // 5,000 /64s of one /48
		if l.attempt("ceo@heron.example", fmt.Sprintf("2001:db8:1:%x::/64", i), now.Add(time.Duration(i)*time.Millisecond)) == 0 {
			allowed++
		}
	}
	if allowed > networkFailures {
		t.Errorf("%d guesses at one account from one /48 in 5 s; want at most %d", allowed, networkFailures)
	}

	l = newLoginLimiter()
	for i := range 150 { // an attack from 150 addresses
		l.attempt("ann@heron.example", fmt.Sprintf("198.51.%d.%d", i/250, i%250), now)
	}
	if w := l.attempt("ann@heron.example", "192.0.2.10", now.Add(time.Second)); w != 0 { // a typo
		t.Fatalf("the agent's first try refused: %v", w)
	}
	if w := l.attempt("ann@heron.example", "192.0.2.10", now.Add(5*time.Second)); w != 0 {
		t.Errorf("the agent, after one typo from their own address, must wait %v while the attack goes on", w)
	}
}

// TestFloodDoesNotWashOutLimits: filling the table with fresh guesses
// does not free a guesser who is at their limit.
func TestFloodDoesNotWashOutLimits(t *testing.T) {
	l := newLoginLimiter()
	now := time.Unix(1_800_000_000, 0)
	for range pairFailures {
		l.attempt("ann@heron.example", "192.0.2.66", now)
	}
	if w := l.attempt("ann@heron.example", "192.0.2.66", now); w == 0 {
		t.Fatal("not slowed at the limit")
	}
	for i := range maxTracked/3 + 10 { // four counts each: more than the table holds
		l.attempt(fmt.Sprintf("x%d@heron.example", i), fmt.Sprintf("10.%d.%d.1", i>>8&255, i&255), now.Add(time.Second)) // fresh networks too
	}
	if l.tracked() > maxTracked || l.tracked() < maxTracked/2 {
		t.Errorf("%d counts kept; want the table full, at most %d (the flood must really fill it)", l.tracked(), maxTracked)
	}
	if w := l.attempt("ann@heron.example", "192.0.2.66", now.Add(2*time.Second)); w == 0 {
		t.Error("the flood washed out the guesser's count")
	}
}
