package channel_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/webcare/webcare/internal/channel"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8":              true,
		"2a00:1450:4001::1":    true,
		"127.0.0.1":            false,
		"::1":                  false,
		"10.1.2.3":             false,
		"172.16.0.1":           false,
		"192.168.1.1":          false,
		"169.254.169.254":      false, // cloud metadata
		"100.64.1.1":           false,
		"0.0.0.0":              false,
		"::ffff:127.0.0.1":     false,
		"::ffff:10.0.0.1":      false,
		"fd00::1":              false,
		"fe80::1":              false,
		"224.0.0.1":            false,
		"255.255.255.255":      false,
		"2001:db8::1":          false,
		"::ffff:93.184.216.34": true,
		"64:ff9b::a00:1":       false, // NAT64 of 10.0.0.1
		"64:ff9b::a9fe:a9fe":   false, // NAT64 of 169.254.169.254
		"64:ff9b::808:808":     true,  // NAT64 of 8.8.8.8
		"::7f00:1":             false, // IPv4-compatible 127.0.0.1
		"2002:a00:1::1":        false, // 6to4 of 10.0.0.1
		"2002:808:808::1":      true,  // 6to4 of 8.8.8.8
		"fec0::1":              false,
		"2001:0:4136:e378::1":  false, // Teredo
	} {
		if got := channel.Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestPublicOnly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "http://localhost:"+r.Host[len("127.0.0.1:"):]+"/secret", http.StatusFound)
			return
		}
		w.Write([]byte("inside"))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	get := func(c *http.Client, target string) error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	strict := channel.PublicOnly(nil)
	if err := get(strict, srv.URL+"/x"); !errors.Is(err, channel.ErrNotPublic) {
		t.Errorf("loopback fetched by the public-only client: %v", err)
	}
	if err := get(strict, "http://localhost:"+u.Port()+"/x"); !errors.Is(err, channel.ErrNotPublic) {
		t.Errorf("a name resolving to loopback was fetched: %v", err)
	}

	trusting := channel.PublicOnly(srv.Client(), u.Host) // with its port: the same host
	if err := get(trusting, srv.URL+"/x"); err != nil {
		t.Errorf("trusted host refused: %v", err)
	}
	// A trusted host cannot redirect into the network under another name.
	if err := get(trusting, srv.URL+"/hop"); !errors.Is(err, channel.ErrNotPublic) {
		t.Errorf("redirect to an internal name followed: %v", err)
	}
}
