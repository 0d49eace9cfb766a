package x_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/channel/x"
)

// X's "Creating a signature" page signs a POST to statuses/update.json
// with these values; its base string and signature are the reference.
// (The page now shows api.x.com in the request, but its worked base
// string and signature were computed for api.twitter.com.)
func TestSignatureDocumentedExample(t *testing.T) {
	c := x.Credentials{
		ConsumerKey:    "xvz1evFS4wEEPTGEFPHBog",
		ConsumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
		Token:          "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
		TokenSecret:    "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
	}
	const (
		nonce    = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"
		ts       = 1318622958
		endpoint = "https://api.twitter.com/1.1/statuses/update.json"
		wantBase = "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
		wantSig  = "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
	)
	params := url.Values{
		"status":                 {"Hello Ladies + Gentlemen, a signed OAuth request!"},
		"include_entities":       {"true"},
		"oauth_consumer_key":     {c.ConsumerKey},
		"oauth_nonce":            {nonce},
		"oauth_signature_method": {"HMAC-SHA1"},
		"oauth_timestamp":        {"1318622958"},
		"oauth_token":            {c.Token},
		"oauth_version":          {"1.0"},
	}
	t.Run("base string", func(t *testing.T) {
		if got := x.BaseString("post", endpoint+"?include_entities=true", params); got != wantBase {
			t.Errorf("got  %s\nwant %s", got, wantBase)
		}
	})
	t.Run("signature", func(t *testing.T) {
		if got := x.Signature("POST", endpoint, params, c.ConsumerSecret, c.TokenSecret); got != wantSig {
			t.Errorf("got %s, want %s", got, wantSig)
		}
	})
	t.Run("header", func(t *testing.T) {
		h := c.Authorization("POST", endpoint, url.Values{"status": params["status"], "include_entities": {"true"}}, nonce, ts)
		want := `OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1318622958", oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", oauth_version="1.0"`
		if h != want {
			t.Errorf("got  %s\nwant %s", h, want)
		}
	})
}

func TestPercentEncode(t *testing.T) {
	tests := map[string]string{
		"Ladies + Gentlemen": "Ladies%20%2B%20Gentlemen",
		"An encoded string!": "An%20encoded%20string%21",
		"Dogs, Cats & Mice":  "Dogs%2C%20Cats%20%26%20Mice",
		"☃":                  "%E2%98%83",
		"a-b.c_d~e":          "a-b.c_d~e",
		"*'()":               "%2A%27%28%29",
	}
	for in, want := range tests {
		if got := x.PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBaseURLNormalised(t *testing.T) {
	p := url.Values{}
	for _, u := range []string{"HTTPS://API.X.com:443/2/tweets", "https://api.x.com/2/tweets?x=1#frag"} {
		if got := x.BaseString("POST", u, p); !strings.HasPrefix(got, "POST&https%3A%2F%2Fapi.x.com%2F2%2Ftweets&") {
			t.Errorf("%s: %s", u, got)
		}
	}
	if got := x.BaseString("GET", "http://127.0.0.1:8080/2/users/me", p); !strings.Contains(got, "127.0.0.1%3A8080") {
		t.Errorf("non-default port dropped: %s", got)
	}
}
