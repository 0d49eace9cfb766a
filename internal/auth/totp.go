package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP codes as every authenticator app reads them (RFC 6238): six digits
// every 30 seconds, HMAC-SHA1. A code of the step before or after is taken
// too, for phones whose clocks drift.
const (
	totpPeriod = 30
	totpSkew   = 1
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPKey is a fresh two-factor secret with what an agent needs to put it
// in an app: the otpauth:// URI, a QR code of it, and the secret spelled
// out for typing in.
type TOTPKey struct {
	Secret string // base32, no padding
	URI    string
	QRPNG  []byte
}

// NewTOTP makes a two-factor secret for account (the agent's e-mail)
// under issuer (the name shown in the app, "webcare").
func NewTOTP(issuer, account string) (TOTPKey, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPKey{}, err
	}
	return TOTPFor(issuer, account, k.Secret())
}

// TOTPFor is the key of an existing secret, to show it again.
func TOTPFor(issuer, account, secret string) (TOTPKey, error) {
	v := url.Values{"secret": {secret}, "issuer": {issuer}, "period": {"30"}, "digits": {"6"}, "algorithm": {"SHA1"}}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	k, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return TOTPKey{}, err
	}
	img, err := k.Image(240, 240)
	if err != nil {
		return TOTPKey{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPKey{}, err
	}
	return TOTPKey{Secret: secret, URI: k.URL(), QRPNG: buf.Bytes()}, nil
}

// CheckTOTP reports whether code is the secret's code at now, or one step
// either side, and if so which time step it was: the caller records the
// step so that no code works twice.
func CheckTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	if len(code) != 6 || secret == "" {
		return 0, false
	}
	for d := -totpSkew; d <= totpSkew; d++ {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// TOTPCode is the secret's code at t; for tests and the demo.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// recoveryEncoding spells codes in lower case without the characters
// people misread for each other: l, o, 0 and 1.
var recoveryEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// NewRecoveryCodes makes n one-time codes for when the phone is lost, as
// shown to the agent once ("k7pq-…"), and their hashes, which are all
// that is kept. Each holds 80 random bits.
func NewRecoveryCodes(n int) (codes []string, hashes [][]byte) {
	for range n {
		b := make([]byte, 10)
		rand.Read(b)
		s := recoveryEncoding.EncodeToString(b) // 16 characters
		codes = append(codes, fmt.Sprintf("%s-%s-%s-%s", s[0:4], s[4:8], s[8:12], s[12:16]))
		hashes = append(hashes, HashRecoveryCode(s))
	}
	return codes, hashes
}

// HashRecoveryCode is what is stored of a recovery code; dashes, spaces
// and case do not matter.
func HashRecoveryCode(code string) []byte {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
	h := sha256.Sum256([]byte("webcare recovery code\x00" + code))
	return h[:]
}
