package chat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/http"
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
