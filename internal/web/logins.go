package web

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/auth"
)

// Password guessing is slowed three ways, each with a delay that grows
// with every further failure rather than a lock an attacker could put on
// someone else's account:
//
//   - an account from one address: after 10 failures in 15 minutes;
//   - one address over all accounts: after 100 (a sweep of many accounts);
//   - one account over all addresses: after 100 (guessing from many
//     addresses), for the addresses that have failed on it; an address
//     that has not, such as the agent's own, still logs in.
//
// The first delay is 30 s, doubling to at most 15 minutes. What is kept
// is bounded: addresses longer than an e-mail address can be are not kept,
// counts are forgotten 15 minutes after their last failure, and at most
// maxTracked counts are kept (the oldest go first).
type loginLimiter struct {
	mu     sync.Mutex
	counts map[string]*failures // "a:" account, "s:" source, "p:" account + source
}

type failures struct {
	n    int
	last time.Time
}

const (
	loginWindow    = 15 * time.Minute
	pairFailures   = 10
	sourceFailures = 100
	accountFailure = 100
	firstDelay     = 30 * time.Second
	maxTracked     = 100_000
	// maxEmailLen is the longest e-mail address (RFC 5321): a longer one
	// is no account, and is never kept.
	maxEmailLen = 254
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{counts: map[string]*failures{}} }

// attempt says how long a login for email from source must wait (0: it
// may be tried now), and if it may, counts it as a failure up front:
// checking first and counting after the slow password check would let
// parallel guesses all pass. A success takes the count back.
func (l *loginLimiter) attempt(email, source string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := []string{"s:" + source}
	if len(email) <= maxEmailLen {
		keys = append(keys, "p:"+email+"\x00"+source, "a:"+email)
	}
	var wait time.Duration
	for _, k := range keys {
		f := l.get(k, now)
		limit := pairFailures
		switch k[0] {
		case 's':
			limit = sourceFailures
		case 'a':
			limit = accountFailure
			if p := l.get(keys[1], now); p == nil || p.n == 0 {
				continue // this address never failed here: not its doing
			}
		}
		if f != nil && f.n >= limit {
			wait = max(wait, f.last.Add(backoff(f.n-limit)).Sub(now))
		}
	}
	if wait > 0 {
		return wait
	}
	for _, k := range keys {
		l.fail(k, now)
	}
	return 0
}

// backoff is the wait after the limit and n more failures.
func backoff(n int) time.Duration {
	d := firstDelay * time.Duration(math.Pow(2, float64(min(n, 10))))
	return min(d, loginWindow)
}

// get is the live count of key, or nil.
func (l *loginLimiter) get(key string, now time.Time) *failures {
	f := l.counts[key]
	if f != nil && now.Sub(f.last) > loginWindow {
		delete(l.counts, key)
		return nil
	}
	return f
}

func (l *loginLimiter) fail(key string, now time.Time) {
	f := l.counts[key]
	if f == nil {
		if len(l.counts) >= maxTracked {
			l.sweep(now)
		}
		f = &failures{}
		l.counts[key] = f
	}
	f.n++
	f.last = now
}

// sweep forgets expired counts and, if that is not enough, the oldest
// tenth. It runs only when the table is full.
func (l *loginLimiter) sweep(now time.Time) {
	lasts := make([]time.Time, 0, len(l.counts))
	for k, f := range l.counts {
		if now.Sub(f.last) > loginWindow {
			delete(l.counts, k)
		} else {
			lasts = append(lasts, f.last)
		}
	}
	if len(l.counts) < maxTracked*9/10 {
		return
	}
	slices.SortFunc(lasts, time.Time.Compare)
	cut := lasts[len(lasts)/10]
	for k, f := range l.counts {
		if !f.last.After(cut) {
			delete(l.counts, k)
		}
	}
}

// succeeded takes back the failure attempt counted for a login that
// turned out right, and clears the account's count from that address.
func (l *loginLimiter) succeeded(email, source string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, "p:"+email+"\x00"+source)
	for _, k := range []string{"s:" + source, "a:" + email} {
		if f := l.counts[k]; f != nil {
			if f.n--; f.n <= 0 {
				delete(l.counts, k)
			}
		}
	}
}

// tracked is how many counts are kept (for tests).
func (l *loginLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.counts)
}

// decoyHash is a password hash of nobody's, made with the same cost as
// real ones, for logins of addresses that have no account.
var decoyHash = sync.OnceValue(func() string {
	token, _ := auth.NewToken("")
	h, err := auth.HashPassword(token)
	if err != nil {
		panic("web: hashing the decoy password: " + err.Error())
	}
	return h
})
