// Package meta holds what Meta's platforms (Facebook Pages, Instagram,
// WhatsApp Cloud API) share: the webhook verification handshake and the
// X-Hub-Signature-256 check.
package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/webcare/webcare/internal/channel"
)

// SignatureHeader carries "sha256=" + hex HMAC-SHA256 of the raw body under
// the app secret.
const SignatureHeader = "X-Hub-Signature-256"

// Sign is the header value Meta sends for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks X-Hub-Signature-256 against the app secret in
// constant time. An empty secret verifies nothing: it is refused.
func VerifySignature(appSecret string, h http.Header, body []byte) error {
	sum, err := signature(appSecret, h)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	if !hmac.Equal(sum, m.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body under the app secret", channel.ErrBadSignature, SignatureHeader)
	}
	return nil
}

// VerifySignatureHeader refuses, before the body is read, a delivery
// whose X-Hub-Signature-256 is missing or malformed, or a channel without
// an app secret to check it with.
func VerifySignatureHeader(appSecret string, h http.Header) error {
	_, err := signature(appSecret, h)
	return err
}

// signature is the HMAC a delivery's header claims.
func signature(appSecret string, h http.Header) ([]byte, error) {
	got := strings.TrimSpace(h.Get(SignatureHeader))
	if got == "" {
		return nil, fmt.Errorf("%w: no %s header", channel.ErrUnsigned, SignatureHeader)
	}
	if appSecret == "" {
		return nil, fmt.Errorf("%w: the channel has no app secret configured", channel.ErrBadSignature)
	}
	hexSum, ok := strings.CutPrefix(got, "sha256=")
	sum, err := hex.DecodeString(hexSum)
	if !ok || err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%w: %s is not sha256=<hex>", channel.ErrBadSignature, SignatureHeader)
	}
	return sum, nil
}

// Challenge answers the verification GET Meta sends when a callback URL is
// saved: hub.mode=subscribe and the verify token the admin typed in the
// App Dashboard, answered with hub.challenge as plain text.
func Challenge(verifyToken string, q url.Values) (string, []byte, error) {
	if q.Get("hub.mode") != "subscribe" {
		return "", nil, fmt.Errorf("%w: hub.mode is %q, not subscribe", channel.ErrPayload, q.Get("hub.mode"))
	}
	if verifyToken == "" || subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(verifyToken)) != 1 {
		return "", nil, fmt.Errorf("%w: hub.verify_token does not match the channel's verify token", channel.ErrBadSignature)
	}
	c := q.Get("hub.challenge")
	if c == "" || len(c) > 256 {
		return "", nil, fmt.Errorf("%w: hub.challenge missing or too long", channel.ErrPayload)
	}
	return "text/plain; charset=utf-8", []byte(c), nil
}
