package auth

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestCheckTOTP holds the codes to RFC 6238's own test vectors (appendix
// B, SHA-1, secret "12345678901234567890"), cut to the six digits apps
// show, and checks the window and the step it reports.
func TestCheckTOTP(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32 of the RFC's ASCII key
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"},
	} {
		at := time.Unix(v.unix, 0)
		step, ok := CheckTOTP(secret, v.code, at)
		if !ok || step != v.unix/30 {
			t.Errorf("at %d: code %s gave step %d ok %t; want step %d", v.unix, v.code, step, ok, v.unix/30)
		}
		if got, _ := TOTPCode(secret, at); got != v.code {
			t.Errorf("at %d: TOTPCode %s, want %s", v.unix, got, v.code)
		}
	}
	at := time.Unix(1111111109, 0)
	code, _ := TOTPCode(secret, at)
	cases := []struct {
		name string
		code string
		at   time.Time
		ok   bool
	}{
		{"typed with a space", code[:3] + " " + code[3:], at, true},
		{"from the step before (a slow phone)", code, at.Add(30 * time.Second), true},
		{"from the step after (a fast phone)", code, at.Add(-30 * time.Second), true},
		{"two steps late", code, at.Add(61 * time.Second), false},
		{"wrong digits", "000000", at, false},
		{"too short", code[:5], at, false},
		{"empty", "", at, false},
	}
	for _, c := range cases {
		if _, ok := CheckTOTP(secret, c.code, c.at); ok != c.ok {
			t.Errorf("%s: ok %t, want %t", c.name, ok, c.ok)
		}
	}
	if _, ok := CheckTOTP("", "123456", at); ok {
		t.Error("an agent without a secret passed")
	}
}

func TestNewTOTP(t *testing.T) {
	k, err := NewTOTP("webcare", "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret) != 32 || !strings.HasPrefix(k.URI, "otpauth://totp/webcare:ann@example.org?") || !strings.Contains(k.URI, "secret="+k.Secret) {
		t.Errorf("key %+v", k)
	}
	if !bytes.HasPrefix(k.QRPNG, []byte("\x89PNG")) {
		t.Error("the QR code is not a PNG")
	}
	again, err := TOTPFor("webcare", "ann@example.org", k.Secret)
	if err != nil || again.Secret != k.Secret || !bytes.Equal(again.QRPNG, k.QRPNG) {
		t.Errorf("the same secret shown again differs: %v", err)
	}
	other, _ := NewTOTP("webcare", "ann@example.org")
	if other.Secret == k.Secret {
		t.Error("two new secrets are the same")
	}
	now := time.Now()
	code, _ := TOTPCode(k.Secret, now)
	if _, ok := CheckTOTP(k.Secret, code, now); !ok {
		t.Error("a fresh secret's own code does not pass")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := NewRecoveryCodes(10)
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || strings.ContainsAny(c, "01lo") {
			t.Errorf("code %q is not four groups of four unambiguous characters", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		for _, typed := range []string{c, strings.ToUpper(c), strings.ReplaceAll(c, "-", ""), " " + strings.ReplaceAll(c, "-", " ") + " "} {
			if !bytes.Equal(HashRecoveryCode(typed), hashes[i]) {
				t.Errorf("%q typed as %q does not match its hash", c, typed)
			}
		}
	}
	if bytes.Equal(HashRecoveryCode(codes[0]), HashRecoveryCode(codes[1])) {
		t.Error("two codes hash alike")
	}
}
