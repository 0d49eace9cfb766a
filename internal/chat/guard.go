package chat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// cors answers for cross-origin browsers. A request without an Origin
// header (a server, curl, the Go Visitor client) is not a browser's
// cross-origin request and passes: the token is what authenticates.
func cors(rw http.ResponseWriter, r *http.Request, ch store.Channel) error {
	origin := r.Header.Get("Origin")
	h := rw.Header()
	h.Add("Vary", "Origin")
	if origin == "" {
		return nil
	}
	if !originAllowed(ch.Settings[SettingOrigins], origin) {
		return errorf(http.StatusForbidden, "this website (%s) may not use this chat: add it to the channel's allowed websites", shortText(origin, 100))
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "Retry-After")
	return nil
}

// originAllowed compares scheme://host[:port], ignoring case and a
// trailing slash. An empty list allows any origin.
func originAllowed(list, origin string) bool {
	if strings.TrimSpace(list) == "" {
		return true
	}
	origin = strings.ToLower(strings.TrimRight(origin, "/"))
	for _, o := range strings.Split(list, ",") {
		if strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/")) == origin {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight; the origin was checked by cors.
func (w *Widget) preflight(rw http.ResponseWriter, r *http.Request, q *request) error {
	h := rw.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
	h.Set("Access-Control-Max-Age", "600")
	rw.WriteHeader(http.StatusNoContent)
	return nil
}

// Visitor ids are 32 hex digits of randomness; tokens are "ID.MAC" with MAC
// the unpadded base64url HMAC-SHA256 of the channel id and the visitor id
// under the channel's secret.
const visitorIDLen = 32

func newVisitorID() string {
	b := make([]byte, visitorIDLen/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Token signs a visitor id for a channel.
func Token(ch store.Channel, visitorID string) string {
	return visitorID + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(ch, visitorID))
}

func tokenMAC(ch store.Channel, visitorID string) []byte {
	m := hmac.New(sha256.New, []byte(ch.Settings[SettingSecret]))
	m.Write([]byte("webcare-webchat-v1\x00"))
	m.Write([]byte(strconv.FormatInt(ch.ID, 10)))
	m.Write([]byte{0})
	m.Write([]byte(visitorID))
	return m.Sum(nil)
}

// visitorFromToken returns the visitor id a token was signed for, or "".
func visitorFromToken(ch store.Channel, token string) string {
	id, mac, ok := strings.Cut(token, ".")
	if !ok || len(id) != visitorIDLen || !isHex(id) || len(mac) > 64 {
		return ""
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, tokenMAC(ch, id)) {
		return ""
	}
	return id
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// bearer reads "Authorization: Bearer TOKEN".
func bearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// authenticate sets q.visitor from the request's token.
func (w *Widget) authenticate(r *http.Request, q *request) error {
	tok, present := bearer(r)
	if !present {
		return errorf(http.StatusUnauthorized, "missing visitor token: start a session first")
	}
	id := visitorFromToken(q.ch, tok)
	if id == "" {
		return errorf(http.StatusUnauthorized, "visitor token not valid for this chat: start a new session")
	}
	q.visitor = id
	return nil
}

// limiter is a token bucket per key, on this instance. Buckets that have
// refilled are forgotten, so memory follows the active clients.
type limiter struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
	full   time.Time // when it will be full again
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket of burst tokens refilled at
// perMinute; when empty it says how long until one is back.
func (l *limiter) allow(key string, burst int, perMinute float64) (bool, time.Duration) {
	now := l.now()
	rate := perMinute / 60 // tokens per second
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.After(b.full) {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(burst), at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(burst), b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
		return false, wait
	}
	b.tokens--
	b.full = now.Add(time.Duration((float64(burst) - b.tokens) / rate * float64(time.Second)))
	return true, 0
}

// limit refuses with 429 and Retry-After when key's bucket is empty.
func (w *Widget) limit(rw http.ResponseWriter, key string, burst int, perMinute float64) error {
	ok, wait := w.limiter.allow(key, burst, perMinute)
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	rw.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	return errorf(http.StatusTooManyRequests, "too many requests: wait %d seconds and try again", max(secs, 1))
}

// remoteIP is the connecting address, keyed by addrKey: the default
// Options.ClientIP.
func remoteIP(r *http.Request) string {
	if a, ok := peerAddr(r); ok {
		return keyAddr(a)
	}
	return r.RemoteAddr // a Unix socket or a test's made-up address
}

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// keyAddr names a client for the per-address limit: an IPv4 address as it
// is, an IPv6 address by its /64, which one host usually has to itself
// and can rotate through at will.
func keyAddr(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// addrKey keys what an Options.ClientIP returned: IPv6 addresses by their
// /64, anything that is not an address as it is.
func addrKey(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return keyAddr(a)
	}
	return s
}

// parseForwarded reads one X-Forwarded-For entry: an address, perhaps
// with a port as some proxies write it.
func parseForwarded(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// ForwardedFor returns an Options.ClientIP for webcare behind reverse
// proxies whose addresses are in trusted. When the connection comes from
// a trusted proxy, the client is the right-most X-Forwarded-For address
// that is not itself a trusted proxy: entries to its left are whatever
// the client chose to send. When the connection comes from anywhere else,
// or the header holds nothing usable, the client is the connection's
// address. IPv6 clients are named by their /64, like the default. Nil or
// empty trusted trusts no header, which is the default behaviour.
func ForwardedFor(trusted []netip.Prefix) func(*http.Request) string {
	trusted = slices.Clone(trusted)
	isTrusted := func(a netip.Addr) bool {
		return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	return func(r *http.Request) string {
		peer, ok := peerAddr(r)
		if !ok {
			return r.RemoteAddr
		}
		if !isTrusted(peer) {
			return keyAddr(peer)
		}
		client := peer
		values := r.Header.Values("X-Forwarded-For")
		for i := len(values) - 1; i >= 0; i-- {
			entries := strings.Split(values[i], ",")
			for j := len(entries) - 1; j >= 0; j-- {
				a, ok := parseForwarded(entries[j])
				if !ok {
					// Not written by a proxy we trust: what lies to its
					// left cannot be trusted either.
					return keyAddr(client)
				}
				client = a
				if !isTrusted(a) {
					return keyAddr(a)
				}
			}
		}
		return keyAddr(client) // every hop a trusted proxy: the farthest one
	}
}

func hashBytes(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:8]
}

func shortText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
