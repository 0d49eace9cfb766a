package channel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrNotPublic is returned when a URL from outside leads to an address
// inside our own network.
var ErrNotPublic = errors.New("address is not on the public internet")

// PublicOnly returns a copy of client whose connections go only to public
// internet addresses, except to the hosts in trusted (host names as they
// appear in URLs, with or without a port: the platform's own API host for
// instance, which an on-premises server may put on a private address). A
// client whose Transport is not an *http.Transport gets a clone of
// http.DefaultTransport instead, since only that can be guarded.
//
// Use it for URLs that a stranger can choose, such as media links in a
// federated post: without it, a post could make webcare fetch from the
// cloud metadata service or an admin page on the local network. The check
// runs on the address actually dialled, after DNS, so a name that
// resolves to a private address is refused too, and every redirect is
// checked again. Proxies from the environment are not used.
func PublicOnly(client *http.Client, trusted ...string) *http.Client {
	if client == nil {
		client = HTTPClient(nil)
	}
	var tr *http.Transport
	if t, ok := client.Transport.(*http.Transport); ok {
		tr = t.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.Proxy = nil
	tr.DialTLSContext, tr.DialTLS = nil, nil // either would bypass the guarded dialer
	open := &net.Dialer{Timeout: 10 * time.Second}
	guarded := &net.Dialer{Timeout: 10 * time.Second, Control: refuseInternal}
	allow := map[string]bool{}
	for _, h := range trusted {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host // "host:port" or "[v6]:port"
		}
		if h = strings.Trim(h, "[]"); h != "" {
			allow[strings.ToLower(h)] = true
		}
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err == nil && allow[strings.ToLower(host)] {
			return open.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
	c := *client
	c.Transport = tr
	return &c
}

// refuseInternal is a net.Dialer Control: it sees the resolved address.
func refuseInternal(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !Public(ip) {
		return fmt.Errorf("%s: %w", ip, ErrNotPublic)
	}
	return nil
}

// shared, benchmarking and documentation ranges that are not private in
// netip's sense but are never a platform's media host either.
var internalRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"),          // IPv4-compatible (deprecated)
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
	netip.MustParsePrefix("2001::/32"),      // Teredo: an IPv4 address hidden inside
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),
}

// Prefixes whose addresses carry an IPv4 address, which must be public
// itself: NAT64 (RFC 6052) in the last 4 bytes, 6to4 in bytes 2 to 5.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// Public reports whether ip is an address on the public internet.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range internalRanges {
		if p.Contains(ip) {
			return false
		}
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return Public(netip.AddrFrom4([4]byte(b[12:16])))
	case sixTo4.Contains(ip):
		return Public(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return true
}
