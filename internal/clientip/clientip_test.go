package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestForwardedFor(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer: header ignored", "198.51.100.7:1234", []string{"203.0.113.9"}, "198.51.100.7"},
		{"one proxy", "10.0.0.1:5555", []string{"203.0.113.9"}, "203.0.113.9"},
		{"client's own entries ignored", "10.0.0.1:5555", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9"},
		{"two proxies", "10.0.0.1:5555", []string{"203.0.113.9, 10.0.0.2"}, "203.0.113.9"},
		{"several header lines", "10.0.0.1:5555", []string{"6.6.6.6", "203.0.113.9 ,10.9.9.9"}, "203.0.113.9"},
		{"no header", "10.0.0.1:5555", nil, "10.0.0.1"},
		{"garbage", "10.0.0.1:5555", []string{"unknown"}, "10.0.0.1"},
		{"garbage behind a trusted hop", "10.0.0.1:5555", []string{"6.6.6.6, nonsense, 10.0.0.2"}, "10.0.0.2"},
		{"entry with a port", "10.0.0.1:5555", []string{"203.0.113.9:4711"}, "203.0.113.9"},
		{"IPv4-mapped", "10.0.0.1:5555", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"IPv6 client by its /64", "10.0.0.1:5555", []string{"2001:db8:1:2:aaaa:bbbb:cccc:dddd"}, "2001:db8:1:2::/64"},
		{"IPv6 client with a port", "10.0.0.1:5555", []string{"[2001:db8:1:2::5]:443"}, "2001:db8:1:2::/64"},
		{"IPv6 proxy", "[2001:db8:ffff::1]:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"untrusted IPv6 peer by its /64", "[2001:db8:5:6:7::8]:80", []string{"203.0.113.9"}, "2001:db8:5:6::/64"},
		{"IPv6 peer with a zone", "[fe80::1%eth0]:80", nil, "fe80::/64"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.1]:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"no address", "@", []string{"203.0.113.9"}, "@"},
	}
	get := ForwardedFor(trusted)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/login", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := get(r); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	t.Run("nothing trusted", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.RemoteAddr = "10.0.0.1:5555"
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		if got := ForwardedFor(nil)(r); got != "10.0.0.1" {
			t.Errorf("got %q", got)
		}
	})
}
