package x

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Credentials are the four OAuth 1.0a values that let webcare act as the
// X account: the app's consumer key and secret, and the account's access
// token and secret.
type Credentials struct {
	ConsumerKey    string
	ConsumerSecret string
	Token          string
	TokenSecret    string
}

// Authorization is the value of the Authorization header for a request
// signed as in X's "Authorizing a request" (OAuth 1.0a, HMAC-SHA1). params
// are the request's query parameters and, for an
// application/x-www-form-urlencoded body, its form values; a JSON or
// multipart body is not signed. nonce and timestamp are given so that
// tests can reproduce the documented example.
func (c Credentials) Authorization(method, rawURL string, params url.Values, nonce string, timestamp int64) string {
	oauth := [][2]string{
		{"oauth_consumer_key", c.ConsumerKey},
		{"oauth_nonce", nonce},
		{"oauth_signature_method", "HMAC-SHA1"},
		{"oauth_timestamp", strconv.FormatInt(timestamp, 10)},
		{"oauth_token", c.Token},
		{"oauth_version", "1.0"},
	}
	all := make(url.Values, len(params)+len(oauth))
	for k, vs := range params {
		all[k] = append([]string(nil), vs...)
	}
	for _, kv := range oauth {
		all.Add(kv[0], kv[1])
	}
	sig := Signature(method, rawURL, all, c.ConsumerSecret, c.TokenSecret)
	oauth = append(oauth, [2]string{"oauth_signature", sig})
	sort.Slice(oauth, func(i, j int) bool { return oauth[i][0] < oauth[j][0] })
	var b strings.Builder
	b.WriteString("OAuth ")
	for i, kv := range oauth {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(PercentEncode(kv[0]))
		b.WriteString(`="`)
		b.WriteString(PercentEncode(kv[1]))
		b.WriteString(`"`)
	}
	return b.String()
}

// Signature is the OAuth 1.0a HMAC-SHA1 signature (RFC 5849 section 3.4)
// of a request, base64-encoded: params hold every oauth_* parameter but
// oauth_signature, the query parameters and any form body parameters, all
// unencoded. rawURL's query, if any, is left out of the base URL; its
// parameters must be in params.
func Signature(method, rawURL string, params url.Values, consumerSecret, tokenSecret string) string {
	m := hmac.New(sha1.New, []byte(PercentEncode(consumerSecret)+"&"+PercentEncode(tokenSecret)))
	m.Write([]byte(BaseString(method, rawURL, params)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// BaseString is the signature base string of RFC 5849 section 3.4.1: the
// upper-case method, the base URL and the normalised parameters, each
// percent-encoded and joined with "&".
func BaseString(method, rawURL string, params url.Values) string {
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(params))
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, pair{PercentEncode(k), PercentEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var norm strings.Builder
	for i, p := range pairs {
		if i > 0 {
			norm.WriteByte('&')
		}
		norm.WriteString(p.k)
		norm.WriteByte('=')
		norm.WriteString(p.v)
	}
	return strings.ToUpper(method) + "&" + PercentEncode(baseURL(rawURL)) + "&" + PercentEncode(norm.String())
}

// baseURL is scheme://host[:port]/path in lower case scheme and host,
// without a default port, query or fragment (RFC 5849 section 3.4.1.2).
func baseURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// PercentEncode encodes s as RFC 3986 section 2.1 asks for OAuth: every
// byte except the unreserved characters A-Z a-z 0-9 - . _ ~ becomes %XX
// with upper-case hex digits.
func PercentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// newNonce is 32 random hex digits: unique per request, as OAuth asks.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
