package browsertest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/webcare/webcare/internal/auth"
)

// TestTwoFactorInTheBrowser sets up an authenticator app as a person does,
// from the settings: the QR code shows (the page's policy lets the
// picture in), the app's first code turns it on and the recovery codes are
// shown once; the next login asks for a code after the password.
func TestTwoFactorInTheBrowser(t *testing.T) {
	u := newAgentUI(t)
	loginForm := func() {
		u.open("/login")
		u.submit("submit the login form",
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), u.srv.Demo.Email),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), u.srv.Demo.Password),
			chromedp.Click(chromedp.CSS(`form.card button`)))
	}
	loginForm()
	u.open("/settings")
	if !strings.Contains(u.textOf("#two-factor"), "Two-factor is off") {
		t.Fatalf("settings: %s", u.textOf("#two-factor"))
	}
	u.submit("open the set-up", chromedp.Click(chromedp.CSS(`#two-factor-on`)))
	if w := eval[int](u, `document.querySelector("img.qr").naturalWidth`); w < 100 {
		t.Errorf("the QR code did not load (natural width %d)", w)
	}
	secret := eval[string](u, `document.querySelector("#totp-secret").textContent`)
	code, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	u.submit("enter the app's first code",
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`form.two-factor-setup button`)))
	if n := eval[int](u, `document.querySelectorAll("#recovery-codes li").length`); n != 10 {
		t.Fatalf("%d recovery codes shown: %s", n, u.pageText())
	}
	u.submit("continue", chromedp.Click(chromedp.CSS(`#codes-done`)))
	if !strings.Contains(u.textOf("#two-factor"), "Two-factor is on. 10 recovery codes left.") {
		t.Errorf("settings after turning it on: %s", u.textOf("#two-factor"))
	}

	u.submit("log out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	loginForm()
	if loc := eval[string](u, `location.pathname`); loc != "/login/two-factor" {
		t.Fatalf("after the password the browser is at %s, want the second step", loc)
	}
	// The code of the next step: the enrolment spent this one.
	next, _ := auth.TOTPCode(secret, time.Now().Add(30*time.Second))
	u.submit("enter the code",
		chromedp.SendKeys(chromedp.CSS(`#code`), next),
		chromedp.Click(chromedp.CSS(`form.card button`)))
	if loc := eval[string](u, `location.pathname`); loc != "/inbox" {
		t.Fatalf("after the code the browser is at %s: %s", loc, u.pageText())
	}
	u.checkClean()
}
