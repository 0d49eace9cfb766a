package web

import (
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/auth"
)

// Password guessing is slowed, with a delay that grows with every further
// failure rather than a lock an attacker could put on someone else's
// account:
//
//   - an account from one address: after 10 failures in 15 minutes;
//   - one address over all accounts: after 100 (a sweep of many accounts);
//   - one network (an IPv4 /24, an IPv6 /48: what one attacker easily
//     rotates through) over all accounts: after 300;
//   - one account over all addresses: after 100, for addresses that have
//     failed on it three times or more (the agent's own, after a typo or
//     two, still logs in); after 1,000, for every address.
//
// The first delay is 30 s, doubling to at most 15 minutes. What is kept
// is bounded: addresses longer than an e-mail address can be are not kept,
// counts are forgotten 15 minutes after their last failure, and at most
// maxTracked counts are kept; when the table is full, counts below their
// limit go first, so a flood of fresh guesses cannot wash out the counts
// that hold a guesser back.
type loginLimiter struct {
	mu     sync.Mutex
	counts map[string]*failures // "a:" account, "s:" source, "n:" network, "p:" account + source
}

type failures struct {
	n    int
	last time.Time
}

const (
	loginWindow     = 15 * time.Minute
	pairFailures    = 10
	sourceFailures  = 100
	networkFailures = 300
	accountFailures = 100  // for addresses that failed on it typoAllowance times
	accountCeiling  = 1000 // for every address
	typoAllowance   = 3
	firstDelay      = 30 * time.Second
	maxTracked      = 100_000
	// maxEmailLen is the longest e-mail address (RFC 5321): a longer one
	// is no account, and is never kept.
	maxEmailLen = 254
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{counts: map[string]*failures{}} }

// network is the range an address belongs to for the network count: an
// IPv4 /24, an IPv6 /48 (source is a clientip key: an address or a /64).
func network(source string) string {
	if p, err := netip.ParsePrefix(source); err == nil {
		source = p.Addr().String()
	}
	a, err := netip.ParseAddr(source)
	if err != nil {
		return source
	}
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

// limit is the count at which key starts to slow logins.
func limit(key string) int {
	switch key[0] {
	case 's':
		return sourceFailures
	case 'n':
		return networkFailures
	case 'a':
		return accountFailures
	}
	return pairFailures
}

// attempt says how long a login for email from source must wait (0: it
// may be tried now), and if it may, counts it as a failure up front:
// checking first and counting after the slow password check would let
// parallel guesses all pass. A success takes the count back.
func (l *loginLimiter) attempt(email, source string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := []string{"s:" + source, "n:" + network(source)}
	if len(email) <= maxEmailLen {
		keys = append(keys, "p:"+email+"\x00"+source, "a:"+email)
	}
	var wait time.Duration
	for _, k := range keys {
		f := l.get(k, now)
		if f == nil {
			continue
		}
		lim := limit(k)
		if k[0] == 'a' {
			if p := l.get(keys[2], now); p == nil || p.n < typoAllowance {
				lim = accountCeiling // not this address's doing, unless it is overwhelming
			}
		}
		if f.n >= lim {
			wait = max(wait, f.last.Add(backoff(f.n-lim)).Sub(now))
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
// counts still below their limit, then (only if nearly every count is
// holding someone back) the oldest of the rest. It runs only when the
// table is full.
func (l *loginLimiter) sweep(now time.Time) {
	type entry struct {
		key  string
		last time.Time
		over bool
	}
	var entries []entry
	for k, f := range l.counts {
		if now.Sub(f.last) > loginWindow {
			delete(l.counts, k)
			continue
		}
		entries = append(entries, entry{k, f.last, f.n >= limit(k)})
	}
	target := maxTracked * 8 / 10
	if len(l.counts) <= target {
		return
	}
	// Below their limit first, oldest first; then the rest, oldest first.
	slices.SortFunc(entries, func(a, b entry) int {
		if a.over != b.over {
			if a.over {
				return 1
			}
			return -1
		}
		return a.last.Compare(b.last)
	})
	for _, e := range entries[:len(l.counts)-target] {
		delete(l.counts, e.key)
	}
}

// succeeded takes back the failure attempt counted for a login that
// turned out right, and clears the account's count from that address.
func (l *loginLimiter) succeeded(email, source string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, "p:"+email+"\x00"+source)
	for _, k := range []string{"s:" + source, "n:" + network(source), "a:" + email} {
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

// attemptFrom is attempt for a sign-in with no account named yet (a
// single sign-on callback): only the address and its network count.
func (l *loginLimiter) attemptFrom(source string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := []string{"s:" + source, "n:" + network(source)}
	var wait time.Duration
	for _, k := range keys {
		if f := l.get(k, now); f != nil && f.n >= limit(k) {
			wait = max(wait, f.last.Add(backoff(f.n-limit(k))).Sub(now))
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

// succeededFrom takes back what attemptFrom counted.
func (l *loginLimiter) succeededFrom(source string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range []string{"s:" + source, "n:" + network(source)} {
		if f := l.counts[k]; f != nil {
			if f.n--; f.n <= 0 {
				delete(l.counts, k)
			}
		}
	}
}

// Wrong two-factor codes are counted per agent, apart from passwords:
// only someone who has the password reaches the code, a right password
// does not take the count back, and neither does another address. After
// codeFailures wrong codes each further one waits, from 30 s doubling to
// 15 minutes; the count lasts a day after the last wrong code, and only a
// right code ends it. A guesser who has the password gets about a hundred
// tries a day: with three codes good at any moment, one chance in about
// three thousand of a six-digit code.
type codeLimiter struct {
	mu     sync.Mutex
	counts map[int64]*failures // by agent: only agents reach a code
}

const (
	codeFailures = 5
	codeMemory   = 24 * time.Hour
)

func newCodeLimiter() *codeLimiter { return &codeLimiter{counts: map[int64]*failures{}} }

// attempt says how long the agent's next code must wait (0: now), and if
// it may go now, counts it as wrong up front, as loginLimiter does.
func (c *codeLimiter) attempt(agentID int64, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.counts[agentID]
	if f != nil && now.Sub(f.last) > codeMemory {
		delete(c.counts, agentID)
		f = nil
	}
	if f != nil && f.n >= codeFailures {
		if wait := f.last.Add(backoff(f.n - codeFailures)).Sub(now); wait > 0 {
			return wait
		}
	}
	if f == nil {
		f = &failures{}
		c.counts[agentID] = f
	}
	f.n++
	f.last = now
	return 0
}

// succeeded ends the agent's count: the code was right.
func (c *codeLimiter) succeeded(agentID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.counts, agentID)
}
