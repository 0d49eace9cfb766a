package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/web"
)

var formHeaders = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// post sends a form as the browser does.
func (ts *testServer) post(t *testing.T, u string, c *http.Cookie, v url.Values) response {
	t.Helper()
	return ts.do(t, scenario{method: "POST", url: u, cookie: c, body: v.Encode(), headers: formHeaders})
}

// cookieOf is the session cookie a response sets, or nil.
func cookieOf(r response) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == "webcare_session" {
			return c
		}
	}
	return nil
}

// clock is a server's time, moved on by the test: two-factor codes are
// good once per 30-second step, and a test needs more than one step.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// step moves the clock to the next 30-second step.
func (c *clock) step() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(30 * time.Second)
	return c.now
}

func withClock(c *clock) func(*web.Options) { return func(o *web.Options) { o.Now = c.Now } }

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := auth.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	secretRE   = regexp.MustCompile(`name="secret" value="([A-Z2-7]+)"`)
	recoveryRE = regexp.MustCompile(`<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>`)
)

// enrol sets up two-factor from the settings of the agent with cookie c
// and returns the secret and the recovery codes shown.
func (ts *testServer) enrol(t *testing.T, c *http.Cookie, action string, clk *clock) (string, []string) {
	t.Helper()
	page := ts.do(t, scenario{method: "GET", url: action, cookie: c})
	m := secretRE.FindSubmatch(page.Body)
	if page.StatusCode != 200 || m == nil || !strings.Contains(string(page.Body), `src="data:image/png;base64,`) {
		t.Fatalf("set-up page %d without a secret or QR code: %s", page.StatusCode, page.Body)
	}
	secret := string(m[1])
	wrong := ts.post(t, action, c, url.Values{"secret": {secret}, "code": {"000000"}})
	if wrong.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(wrong.Body), secret) {
		t.Fatalf("a wrong first code: %d, and the same secret must be offered again: %s", wrong.StatusCode, wrong.Body)
	}
	r := ts.post(t, action, c, url.Values{"secret": {secret}, "code": {code(t, secret, clk.Now())}})
	codes := []string{}
	for _, m := range recoveryRE.FindAllSubmatch(r.Body, -1) {
		codes = append(codes, string(m[1]))
	}
	if r.StatusCode != 200 || len(codes) != 10 {
		t.Fatalf("enrolment answered %d with %d recovery codes: %s", r.StatusCode, len(codes), r.Body)
	}
	return secret, codes
}

// halfLogin gives the password in the login form and returns the cookie
// of the half-login and where the browser is sent.
func (ts *testServer) halfLogin(t *testing.T, email string) (*http.Cookie, string) {
	t.Helper()
	r := ts.post(t, "/login", nil, url.Values{"email": {email}, "password": {testPassword}, "next": {"/search?q=x"}})
	if r.StatusCode != http.StatusSeeOther || cookieOf(r) == nil {
		t.Fatalf("password step: %d %v", r.StatusCode, r.Cookies())
	}
	return cookieOf(r), r.Header.Get("Location")
}

func (ts *testServer) me(t *testing.T, c *http.Cookie) int {
	t.Helper()
	return ts.do(t, scenario{method: "GET", url: "/api/v1/me", cookie: c}).StatusCode
}

func TestTwoFactorLogin(t *testing.T) {
	t.Parallel()
	clk := newClock()
	ts := newTestServer(t, withClock(clk))
	email := "agent@example.org"
	agent := ts.Agents[store.RoleAgent]
	secret, codes := ts.enrol(t, ts.login(t, email), "/settings/two-factor", clk)
	if a, _ := ts.Store.Agent(t.Context(), agent.ID); !a.TwoFactor {
		t.Fatal("two-factor is not on after enrolling")
	}
	// The step of the enrolment's code is spent: each login takes the
	// code of a later step.
	next := func() string { return code(t, secret, clk.step()) }

	half, to := ts.halfLogin(t, email)
	if !strings.HasPrefix(to, "/login/two-factor?next=") {
		t.Fatalf("after the password the browser goes to %q, want the second step", to)
	}
	if ts.me(t, half) != 401 || ts.do(t, scenario{method: "GET", url: "/inbox", cookie: half}).StatusCode != http.StatusSeeOther {
		t.Fatal("half a login opens the API or the inbox")
	}
	ts.check(t, scenario{name: "the second step", method: "GET", url: to, cookie: half, status: 200, contains: []string{`name="code"`, `value="/search?q=x"`}})

	r := ts.post(t, "/login/two-factor", half, url.Values{"code": {"123456"}, "next": {"/search?q=x"}})
	if r.StatusCode != 401 || !strings.Contains(string(r.Body), "That code is not right") {
		t.Fatalf("a wrong code: %d %s", r.StatusCode, r.Body)
	}
	used := next()
	r = ts.post(t, "/login/two-factor", half, url.Values{"code": {used}, "next": {"/search?q=x"}})
	full := cookieOf(r)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/search?q=x" || full == nil || full.Value == half.Value {
		t.Fatalf("the right code: %d to %q, cookie %v; want a new session and the way on", r.StatusCode, r.Header.Get("Location"), full)
	}
	if ts.me(t, full) != 200 || ts.me(t, half) != 401 {
		t.Errorf("after the second step: session %d, half-login cookie %d; want 200 and 401", ts.me(t, full), ts.me(t, half))
	}

	t.Run("a code works once", func(t *testing.T) {
		half, _ := ts.halfLogin(t, email)
		r := ts.post(t, "/login/two-factor", half, url.Values{"code": {used}})
		if r.StatusCode != 401 || !strings.Contains(string(r.Body), "That code is not right") {
			t.Errorf("the same code again: %d", r.StatusCode)
		}
	})
	t.Run("a recovery code works once", func(t *testing.T) {
		half, _ := ts.halfLogin(t, email)
		typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
		if r := ts.post(t, "/login/two-factor", half, url.Values{"code": {typed}}); r.StatusCode != http.StatusSeeOther || ts.me(t, cookieOf(r)) != 200 {
			t.Fatalf("recovery code: %d", r.StatusCode)
		}
		half, _ = ts.halfLogin(t, email)
		if r := ts.post(t, "/login/two-factor", half, url.Values{"code": {codes[3]}}); r.StatusCode != 401 {
			t.Errorf("a spent recovery code: %d", r.StatusCode)
		}
		if n, _ := ts.Store.RecoveryCodesLeft(t.Context(), agent.ID); n != 9 {
			t.Errorf("%d recovery codes left, want 9", n)
		}
	})
	t.Run("five wrong codes end the half-login", func(t *testing.T) {
		// A right code first: it ends the count of wrong codes so far.
		half, _ := ts.halfLogin(t, email)
		if r := ts.post(t, "/login/two-factor", half, url.Values{"code": {next()}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("a right code: %d", r.StatusCode)
		}
		half, _ = ts.halfLogin(t, email)
		var r response
		for range 5 {
			r = ts.post(t, "/login/two-factor", half, url.Values{"code": {"999999"}})
		}
		if !strings.Contains(string(r.Body), "Sign in again") || !strings.Contains(string(r.Body), `name="password"`) {
			t.Errorf("after five wrong codes: %d %s", r.StatusCode, r.Body)
		}
		if r := ts.post(t, "/login/two-factor", half, url.Values{"code": {code(t, secret, clk.Now().Add(30*time.Second))}}); r.StatusCode != 401 {
			t.Errorf("the right code after five wrong ones: %d, want the half-login gone", r.StatusCode)
		}
	})
	t.Run("wrong codes are counted per agent, whatever the password", func(t *testing.T) {
		// Five wrong codes are in: the sixth waits, from any half-login,
		// the API as well; a right password does not take the count back.
		half, _ := ts.halfLogin(t, email)
		if r := ts.post(t, "/login/two-factor", half, url.Values{"code": {"999999"}}); r.StatusCode != http.StatusTooManyRequests {
			t.Errorf("a sixth wrong code: %d, want 429", r.StatusCode)
		}
		ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: jsonBody(t, map[string]string{"email": email, "password": testPassword, "code": "999999"}), status: 429})
		clk.mu.Lock()
		clk.now = clk.now.Add(31 * time.Second) // the first wait is 30 s
		clk.mu.Unlock()
		half, _ = ts.halfLogin(t, email)
		if r := ts.post(t, "/login/two-factor", half, url.Values{"code": {next()}}); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the right code after the wait: %d", r.StatusCode)
		}
		half, _ = ts.halfLogin(t, email)
		if r := ts.post(t, "/login/two-factor", half, url.Values{"code": {"999999"}}); r.StatusCode != 401 {
			t.Errorf("a wrong code after a right one: %d, want 401 (the count starts over)", r.StatusCode)
		}
	})
	t.Run("the API asks for the code with the password", func(t *testing.T) {
		ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: jsonBody(t, map[string]string{"email": email, "password": testPassword}),
			status: 401, contains: []string{"two-factor code required"}})
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: jsonBody(t, map[string]string{"email": email, "password": testPassword, "code": next()}), status: 200})
		if ts.me(t, sessionCookie(t, r)) != 200 {
			t.Error("the API session does not work")
		}
	})
	t.Run("turning it off takes a current code", func(t *testing.T) {
		if r := ts.post(t, "/settings/two-factor/off", full, url.Values{"code": {"000000"}}); r.StatusCode != 422 {
			t.Errorf("off with a wrong code: %d", r.StatusCode)
		}
		if r := ts.post(t, "/settings/two-factor/off", full, url.Values{"code": {next()}}); r.StatusCode != 200 {
			t.Fatalf("off: %d %s", r.StatusCode, r.Body)
		}
		if _, to := ts.halfLogin(t, email); to != "/search?q=x" {
			t.Errorf("with two-factor off the password signs in alone; went to %q", to)
		}
	})

	trail, err := ts.Store.Audits(t.Context(), path("agent/%d", agent.ID), 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"agent.two_factor", "auth.login", "auth.login_failed", "auth.recovery_code_used"} {
		if !slices.ContainsFunc(trail, func(e store.AuditEntry) bool { return e.Action == want }) {
			t.Errorf("no %s in the trail", want)
		}
	}
	i := slices.IndexFunc(trail, func(e store.AuditEntry) bool {
		return e.Action == "auth.login" && strings.HasPrefix(e.Detail, "password+totp from ")
	})
	if i < 0 {
		t.Errorf("no login with password and code, from an address, in the trail: %+v", trail)
	}
}

func TestTwoFactorRequiredByRole(t *testing.T) {
	t.Parallel()
	clk := newClock()
	ts := newTestServer(t, withClock(clk))
	admin := ts.Tokens[store.RoleAdmin]
	ts.check(t, scenario{method: "PUT", url: "/api/v1/security", token: ts.Tokens[store.RoleSupervisor], body: `{"two_factor_roles": []}`, status: 403})
	ts.check(t, scenario{method: "PUT", url: "/api/v1/security", token: admin, body: `{"two_factor_roles": ["supervisor", "field"]}`, status: 200,
		contains: []string{`"two_factor_roles":["field","supervisor"]`}})
	email := "supervisor@example.org"

	ts.check(t, scenario{name: "the API sends them to the browser", method: "POST", url: "/api/v1/login",
		body: jsonBody(t, map[string]string{"email": email, "password": testPassword}), status: 403, contains: []string{"requires two-factor"}})
	half, to := ts.halfLogin(t, email)
	if !strings.HasPrefix(to, "/login/two-factor/setup?next=") || ts.me(t, half) != 401 {
		t.Fatalf("after the password: sent to %q; half-login opens the API: %t", to, ts.me(t, half) == 200)
	}
	// Setting up in the login: the codes page is where the session starts.
	page := ts.do(t, scenario{method: "GET", url: to, cookie: half})
	m := secretRE.FindSubmatch(page.Body)
	if page.StatusCode != 200 || m == nil || !strings.Contains(string(page.Body), "Your role requires a second step") {
		t.Fatalf("set-up in the login: %d %s", page.StatusCode, page.Body)
	}
	r := ts.post(t, "/login/two-factor/setup", half, url.Values{"secret": {string(m[1])}, "code": {code(t, string(m[1]), clk.Now())}, "next": {"/search?q=x"}})
	if r.StatusCode != 200 || len(recoveryRE.FindAll(r.Body, -1)) != 10 || !strings.Contains(string(r.Body), `href="/search?q=x"`) {
		t.Fatalf("enrolment in the login: %d %s", r.StatusCode, r.Body)
	}
	full := cookieOf(r)
	if ts.me(t, full) != 200 {
		t.Fatal("no session after setting up two-factor")
	}
	if r := ts.post(t, "/settings/two-factor/off", full, url.Values{"code": {code(t, string(m[1]), clk.step())}}); r.StatusCode != 409 {
		t.Errorf("a supervisor turned off what their role requires: %d", r.StatusCode)
	}
	settings := ts.do(t, scenario{method: "GET", url: "/settings", cookie: full})
	if !strings.Contains(string(settings.Body), "Two-factor is on. 10 recovery codes left.") || !strings.Contains(string(settings.Body), "Your role requires two-factor.") {
		t.Errorf("settings do not show two-factor: %s", settings.Body)
	}

	t.Run("an admin resets it for a lost phone", func(t *testing.T) {
		sup := ts.Agents[store.RoleSupervisor].ID
		ts.check(t, scenario{method: "POST", url: path("/api/v1/agents/%d/two-factor/reset", sup), token: ts.Tokens[store.RoleSupervisor], status: 403})
		ts.check(t, scenario{method: "POST", url: path("/api/v1/agents/%d/two-factor/reset", sup), token: admin, status: 200, contains: []string{`"two_factor":false`}})
		ts.check(t, scenario{method: "POST", url: path("/api/v1/agents/%d/two-factor/reset", sup), token: admin, status: 409})
		if _, to := ts.halfLogin(t, email); !strings.HasPrefix(to, "/login/two-factor/setup") {
			t.Errorf("after the reset the role still requires it: went to %q", to)
		}
	})
	t.Run("other roles sign in with the password", func(t *testing.T) {
		if _, to := ts.halfLogin(t, "agent@example.org"); to != "/search?q=x" {
			t.Errorf("an agent went to %q", to)
		}
	})
	t.Run("the admin page shows and saves the requirement", func(t *testing.T) {
		adminCookie := ts.login(t, "admin@example.org")
		page := ts.do(t, scenario{method: "GET", url: "/admin/agents", cookie: adminCookie})
		if !strings.Contains(string(page.Body), `name="two_factor_roles" value="supervisor" checked`) {
			t.Errorf("the admin page does not show supervisors as required")
		}
		if r := ts.post(t, "/admin/security", adminCookie, url.Values{"two_factor_roles": {"agent"}}); r.StatusCode != 200 {
			t.Fatalf("saving: %d", r.StatusCode)
		}
		ts.check(t, scenario{method: "GET", url: "/api/v1/security", token: admin, status: 200, contains: []string{`"two_factor_roles":["agent"]`}})
	})
}

func TestOwnSessionsAndTokens(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	email := "agent@example.org"
	login := func(ua string) *http.Cookie {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/login", headers: map[string]string{"User-Agent": ua},
			body: jsonBody(t, map[string]string{"email": email, "password": testPassword}), status: 200})
		return sessionCookie(t, r)
	}
	desk := login("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	phone := login("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
	other := ts.login(t, "admin@example.org")

	type listed struct {
		Sessions []struct {
			ID        int64     `json:"id"`
			Device    string    `json:"device"`
			Current   bool      `json:"current"`
			Method    string    `json:"method"`
			Address   string    `json:"address"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"sessions"`
	}
	got := decodeJSON[listed](t, ts.check(t, scenario{method: "GET", url: "/api/v1/me/sessions", cookie: desk, status: 200}).Body)
	if len(got.Sessions) != 2 || got.Sessions[0].Device != "Safari · iPhone" || got.Sessions[1].Device != "Firefox · Linux" ||
		got.Sessions[0].Current || !got.Sessions[1].Current || got.Sessions[0].Method != "password" || got.Sessions[0].Address == "" || got.Sessions[0].CreatedAt.IsZero() {
		t.Fatalf("sessions %+v", got.Sessions)
	}
	adminSessions := decodeJSON[listed](t, ts.check(t, scenario{method: "GET", url: "/api/v1/me/sessions", cookie: other, status: 200}).Body)
	ts.check(t, scenario{name: "someone else's session", method: "DELETE", url: path("/api/v1/me/sessions/%d", adminSessions.Sessions[0].ID), cookie: desk, status: 404})
	ts.check(t, scenario{method: "DELETE", url: path("/api/v1/me/sessions/%d", got.Sessions[0].ID), cookie: desk, status: 204})
	if ts.me(t, phone) != 401 || ts.me(t, desk) != 200 || ts.me(t, other) != 200 {
		t.Errorf("after ending the phone's session: phone %d desk %d admin %d", ts.me(t, phone), ts.me(t, desk), ts.me(t, other))
	}

	page := ts.do(t, scenario{method: "GET", url: "/settings", cookie: desk})
	if !strings.Contains(string(page.Body), "Firefox · Linux") || !strings.Contains(string(page.Body), "this browser") {
		t.Errorf("the settings page does not list the sessions: %s", page.Body)
	}
	// A hostile User-Agent is shown escaped.
	evil := login(`<script>alert(1)</script>`)
	page = ts.do(t, scenario{method: "GET", url: "/settings", cookie: evil})
	if strings.Contains(string(page.Body), "<script>alert(1)") || !strings.Contains(string(page.Body), "&lt;script&gt;alert(1)") {
		t.Error("a User-Agent reached the page unescaped")
	}

	t.Run("API tokens from the settings", func(t *testing.T) {
		r := ts.post(t, "/settings/tokens", desk, url.Values{"name": {"CRM sync"}})
		m := regexp.MustCompile(`value="(wct_[^"]+)"`).FindSubmatch(r.Body)
		if r.StatusCode != 200 || m == nil {
			t.Fatalf("making a token: %d", r.StatusCode)
		}
		token := string(m[1])
		ts.check(t, scenario{method: "GET", url: "/api/v1/me", token: token, status: 200})
		page := ts.do(t, scenario{method: "GET", url: "/settings", cookie: desk})
		if strings.Contains(string(page.Body), token) || !strings.Contains(string(page.Body), "CRM sync") {
			t.Error("the token is shown again, or not listed by name")
		}
		toks, _ := ts.Store.APITokens(t.Context(), ts.Agents[store.RoleAgent].ID)
		i := slices.IndexFunc(toks, func(tk store.APIToken) bool { return tk.Name == "CRM sync" })
		// Someone else's form cannot revoke it.
		ts.post(t, path("/settings/tokens/%d/delete", toks[i].ID), other, nil)
		ts.check(t, scenario{method: "GET", url: "/api/v1/me", token: token, status: 200})
		if r := ts.post(t, path("/settings/tokens/%d/delete", toks[i].ID), desk, nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoking: %d", r.StatusCode)
		}
		ts.check(t, scenario{method: "GET", url: "/api/v1/me", token: token, status: 401})
	})
	t.Run("sign-in and sign-out are in the trail", func(t *testing.T) {
		ts.post(t, "/logout", desk, nil)
		ts.post(t, "/login", nil, url.Values{"email": {email}, "password": {"wrong"}})
		ts.post(t, "/login", nil, url.Values{"email": {"nobody@example.org"}, "password": {"wrong"}})
		trail, _ := ts.Store.Audits(t.Context(), path("agent/%d", ts.Agents[store.RoleAgent].ID), 0, 200)
		for _, want := range []string{"auth.login", "auth.logout", "auth.login_failed", "agent.session_end"} {
			if !slices.ContainsFunc(trail, func(e store.AuditEntry) bool { return e.Action == want }) {
				t.Errorf("no %s in the agent's trail", want)
			}
		}
		anon, _ := ts.Store.Audits(t.Context(), "login", 0, 10)
		if !slices.ContainsFunc(anon, func(e store.AuditEntry) bool {
			return e.Action == "auth.login_failed" && strings.Contains(e.Detail, "nobody@example.org")
		}) {
			t.Errorf("a failed login for an unknown address is not in the trail: %+v", anon)
		}
	})
}

// TestSecondFactorCannotBeSkipped: the ways around the code an attack
// review tried, each closed.
func TestSecondFactorCannotBeSkipped(t *testing.T) {
	t.Parallel()
	clk := newClock()
	ts := newTestServer(t, withClock(clk))
	admin := ts.Tokens[store.RoleAdmin]
	email := "agent@example.org"
	agent := ts.Agents[store.RoleAgent]
	secret, _ := ts.enrol(t, ts.login(t, email), "/settings/two-factor", clk)

	t.Run("an invite link through the API gives no session", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: path("/api/v1/agents/%d/invite", agent.ID), token: admin, status: 201})
		link := decodeJSON[struct {
			URL string `json:"url"`
		}](t, r.Body).URL
		token := link[strings.LastIndex(link, "/")+1:]
		r = ts.check(t, scenario{method: "POST", url: "/api/v1/invites/" + token, body: `{"password": "a brand new password"}`, status: 200})
		if c := cookieOf(r); c != nil && ts.me(t, c) == 200 {
			t.Error("accepting an invite through the API signed in an agent with two-factor")
		}
	})
	t.Run("new recovery codes do not make the code used for them good again", func(t *testing.T) {
		r := ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: jsonBody(t, map[string]string{"email": email, "password": "a brand new password", "code": code(t, secret, clk.step())}), status: 200})
		c := cookieOf(r)
		used := code(t, secret, clk.step())
		if r := ts.post(t, "/settings/two-factor/recovery", c, url.Values{"code": {used}}); r.StatusCode != 200 {
			t.Fatalf("new recovery codes: %d", r.StatusCode)
		}
		ts.check(t, scenario{method: "POST", url: "/api/v1/login", body: jsonBody(t, map[string]string{"email": email, "password": "a brand new password", "code": used}), status: 401})
	})
	t.Run("a half-login of the set-up step cannot replace two-factor set up meanwhile", func(t *testing.T) {
		ts.check(t, scenario{method: "PUT", url: "/api/v1/security", token: admin, body: `{"two_factor_roles": ["supervisor"]}`, status: 200})
		sup := "supervisor@example.org"
		attacker, to := ts.halfLogin(t, sup)
		page := ts.do(t, scenario{method: "GET", url: to, cookie: attacker})
		theirs := string(secretRE.FindSubmatch(page.Body)[1])
		// The supervisor sets up their phone in their own browser.
		victim, to := ts.halfLogin(t, sup)
		page = ts.do(t, scenario{method: "GET", url: to, cookie: victim})
		mine := string(secretRE.FindSubmatch(page.Body)[1])
		if r := ts.post(t, "/login/two-factor/setup", victim, url.Values{"secret": {mine}, "code": {code(t, mine, clk.Now())}}); r.StatusCode != 200 {
			t.Fatalf("the supervisor's set-up: %d", r.StatusCode)
		}
		r := ts.post(t, "/login/two-factor/setup", attacker, url.Values{"secret": {theirs}, "code": {code(t, theirs, clk.Now())}})
		if r.StatusCode == 200 || (cookieOf(r) != nil && ts.me(t, cookieOf(r)) == 200) {
			t.Errorf("the stale half-login set up its own secret: %d", r.StatusCode)
		}
		if a, _ := ts.Store.AgentByEmail(t.Context(), sup); a.TOTPSecret != mine {
			t.Error("the supervisor's secret was replaced")
		}
	})
}
