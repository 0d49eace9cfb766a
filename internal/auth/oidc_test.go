package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/auth/oidctest"
)

const callback = "https://care.example.org/login/sso/callback"

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// authorize plays the browser: it follows the start URL to the provider
// and returns the code and state of the redirect back.
func authorize(t *testing.T, startURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(startURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), callback) {
		t.Fatalf("provider answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

func TestOIDC(t *testing.T) {
	p := oidctest.Start("webcare", "s3cret", callback)
	defer p.Close()
	o := auth.NewOIDC(auth.OIDCConfig{Issuer: p.Issuer(), ClientID: "webcare", ClientSecret: "s3cret", RedirectURL: callback})
	ctx := context.Background()

	run := func(t *testing.T, u *oidctest.User, tamper func(map[string]any), change func(*auth.OIDCStart, *url.Values)) (auth.OIDCIdentity, error) {
		t.Helper()
		p.SignIn(u)
		p.Tamper(tamper)
		start, err := o.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := url.ParseQuery(start.URL[strings.Index(start.URL, "?")+1:])
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") != start.Nonce || q.Get("state") != start.State {
			t.Fatalf("the authorisation URL lacks PKCE, nonce or state: %s", start.URL)
		}
		back := authorize(t, start.URL)
		if back.Get("state") != start.State {
			t.Fatalf("state came back as %q", back.Get("state"))
		}
		if change != nil {
			change(&start, &back)
		}
		if e := back.Get("error"); e != "" {
			return auth.OIDCIdentity{}, errors.New(e)
		}
		return o.Finish(ctx, back.Get("code"), start)
	}

	t.Run("a verified address signs in", func(t *testing.T) {
		id, err := run(t, &oidctest.User{Subject: "u-1", Email: "Ann@Example.org", Name: "Ann", EmailVerified: yes()}, nil, nil)
		if err != nil || id.Email != "ann@example.org" || id.Name != "Ann" || id.Subject != "u-1" {
			t.Fatalf("identity %+v, %v", id, err)
		}
	})
	t.Run("a provider that does not say whether it verified", func(t *testing.T) {
		id, err := run(t, &oidctest.User{Subject: "u-2", Email: "bob@example.org"}, nil, nil)
		if err != nil || id.Email != "bob@example.org" {
			t.Fatalf("identity %+v, %v", id, err)
		}
	})

	refused := []struct {
		name   string
		user   *oidctest.User
		tamper func(map[string]any)
		change func(*auth.OIDCStart, *url.Values)
	}{
		{"an address the provider has not verified", &oidctest.User{Subject: "u", Email: "ceo@example.org", EmailVerified: no()}, nil, nil},
		{"no address at all", &oidctest.User{Subject: "u"}, nil, nil},
		{"an ID token for another sign-in (nonce)", &oidctest.User{Subject: "u", Email: "a@example.org"}, func(c map[string]any) { c["nonce"] = "someone-elses" }, nil},
		{"an ID token for another client", &oidctest.User{Subject: "u", Email: "a@example.org"}, func(c map[string]any) { c["aud"] = "other-app" }, nil},
		{"an expired ID token", &oidctest.User{Subject: "u", Email: "a@example.org"}, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, nil},
		{"an ID token from another issuer", &oidctest.User{Subject: "u", Email: "a@example.org"}, func(c map[string]any) { c["iss"] = "https://evil.example" }, nil},
		{"a code stolen without its verifier (PKCE)", &oidctest.User{Subject: "u", Email: "a@example.org"}, nil,
			func(s *auth.OIDCStart, _ *url.Values) { s.Verifier = strings.Repeat("x", 43) }},
		{"a code used twice", &oidctest.User{Subject: "u", Email: "a@example.org"}, nil,
			func(s *auth.OIDCStart, q *url.Values) {
				if _, err := o.Finish(ctx, q.Get("code"), *s); err != nil {
					t.Fatalf("first use: %v", err)
				}
			}},
	}
	for _, c := range refused {
		t.Run(c.name+" is refused", func(t *testing.T) {
			id, err := run(t, c.user, c.tamper, c.change)
			if !errors.Is(err, auth.ErrOIDCDenied) {
				t.Fatalf("identity %+v, err %v; want ErrOIDCDenied", id, err)
			}
		})
	}
	t.Run("the person declines at the provider", func(t *testing.T) {
		if _, err := run(t, nil, nil, nil); err == nil || err.Error() != "access_denied" {
			t.Fatalf("err %v, want access_denied", err)
		}
	})
	t.Run("discovery is read once", func(t *testing.T) {
		if n := p.Count("/.well-known/openid-configuration"); n != 1 {
			t.Errorf("discovery read %d times", n)
		}
	})
}

// TestOIDCProviderDown: a provider that does not answer fails the sign-in
// with an error that is not a refusal, and is tried again next time.
func TestOIDCProviderDown(t *testing.T) {
	p := oidctest.Start("webcare", "s3cret", callback)
	issuer := p.Issuer()
	p.Close()
	o := auth.NewOIDC(auth.OIDCConfig{Issuer: issuer, ClientID: "webcare", RedirectURL: callback, HTTPClient: &http.Client{Timeout: 2 * time.Second}})
	_, err := o.Start(context.Background())
	if err == nil || errors.Is(err, auth.ErrOIDCDenied) {
		t.Fatalf("err %v; want a plain failure", err)
	}
}

// TestOIDCLookAlikeAddress: an address that lower-cases onto an agent's
// (the Kelvin sign is "k" in lower case) is refused, not matched.
func TestOIDCLookAlikeAddress(t *testing.T) {
	p := oidctest.Start("webcare", "s3cret", callback)
	defer p.Close()
	o := auth.NewOIDC(auth.OIDCConfig{Issuer: p.Issuer(), ClientID: "webcare", ClientSecret: "s3cret", RedirectURL: callback})
	p.SignIn(&oidctest.User{Subject: "m", Email: "\u212Aate@example.org", EmailVerified: yes()})
	start, err := o.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	back := authorize(t, start.URL)
	if id, err := o.Finish(context.Background(), back.Get("code"), start); !errors.Is(err, auth.ErrOIDCDenied) {
		t.Fatalf("identity %+v, err %v; want a refusal", id, err)
	}
}

// TestOIDCDiscoveryOnce: sign-ins that arrive while the provider is slow
// to answer wait for one discovery, each no longer than its own request.
func TestOIDCDiscoveryOnce(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-release
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer slow.Close()
	defer close(release)
	o := auth.NewOIDC(auth.OIDCConfig{Issuer: slow.URL, ClientID: "webcare", RedirectURL: callback})
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := o.Start(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a sign-in waiting on a slow provider: %v, want its own deadline", err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d discoveries for 6 sign-ins at once, want 1", n)
	}
}
