package xfake_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/channel/x"
	"github.com/webcare/webcare/internal/channel/x/xfake"
)

func TestFakeChecksOAuth(t *testing.T) {
	f := xfake.New()
	defer f.Close()
	good := x.Credentials{ConsumerKey: f.ConsumerKey, ConsumerSecret: f.ConsumerSecret, Token: f.AccessToken, TokenSecret: f.TokenSecret}
	me := f.URL() + "/2/users/me"
	tests := []struct {
		name  string
		cred  x.Credentials
		nonce string
		ts    time.Time
		sign  string // URL signed, when not the one requested
		query url.Values
		want  int
	}{
		{"valid", good, "n1", time.Now(), "", nil, 200},
		{"valid with query", good, "n2", time.Now(), "", url.Values{"user.fields": {"username,created_at"}}, 200},
		{"nonce reused", good, "n1", time.Now(), "", nil, 401},
		{"old timestamp", good, "n3", time.Now().Add(-time.Hour), "", nil, 401},
		{"wrong consumer secret", x.Credentials{ConsumerKey: f.ConsumerKey, ConsumerSecret: "x", Token: f.AccessToken, TokenSecret: f.TokenSecret}, "n4", time.Now(), "", nil, 401},
		{"wrong token", x.Credentials{ConsumerKey: f.ConsumerKey, ConsumerSecret: f.ConsumerSecret, Token: "1-abc", TokenSecret: f.TokenSecret}, "n5", time.Now(), "", nil, 401},
		{"signed for another URL", good, "n6", time.Now(), f.URL() + "/2/tweets", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := me
			if len(tt.query) > 0 {
				target += "?" + tt.query.Encode()
			}
			signed := tt.sign
			if signed == "" {
				signed = me
			}
			req, _ := http.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("Authorization", tt.cred.Authorization(http.MethodGet, signed, tt.query, tt.nonce, tt.ts.Unix()))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if r := f.Requests(); len(r) != len(tests) || r[0].Status != 200 || r[2].Status != 401 {
		t.Errorf("requests %+v", r)
	}
}

func TestFakeRateLimitHeaders(t *testing.T) {
	f := xfake.New()
	defer f.Close()
	f.FailNext(1, http.StatusTooManyRequests)
	resp, err := http.Get(f.URL() + "/2/users/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("x-rate-limit-remaining") != "0" || resp.Header.Get("x-rate-limit-reset") == "" {
		t.Errorf("%d %v", resp.StatusCode, resp.Header)
	}
}

func TestParseAuthorization(t *testing.T) {
	p, err := xfake.ParseAuthorization(`OAuth oauth_consumer_key="a%20b", oauth_signature="c%2Bd%3D"`)
	if err != nil || p.Get("oauth_consumer_key") != "a b" || p.Get("oauth_signature") != "c+d=" {
		t.Fatalf("%v %v", p, err)
	}
	for _, h := range []string{"Bearer x", `OAuth a=b`, `OAuth a="%zz"`} {
		if _, err := xfake.ParseAuthorization(h); err == nil || strings.Contains(h, "Bearer") && err == nil {
			t.Errorf("%q accepted", h)
		}
	}
}
