// Package clientip names the client of a request for per-address limits
// (password guessing, the web chat's visitors): the connection's address,
// or behind trusted reverse proxies the address they say they forward,
// with an IPv6 address taken by its /64 so that one host cannot rotate
// through its addresses to dodge a limit.
package clientip

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Remote is the connecting address, named as Key names it: the client
// when no proxy is trusted.
func Remote(r *http.Request) string {
	if a, ok := peerAddr(r); ok {
		return keyAddr(a)
	}
	return r.RemoteAddr // a Unix socket or a test's made-up address
}

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// keyAddr names a client for a per-address limit: an IPv4 address as it
// is, an IPv6 address by its /64, which one host usually has to itself
// and can rotate through at will.
func keyAddr(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// Key names a client address as Remote does: IPv6 addresses by their
// /64, anything that is not an address as it is. Use it on what a
// caller's own function said the client is.
func Key(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return keyAddr(a)
	}
	return s
}

// parseForwarded reads one X-Forwarded-For entry: an address, perhaps
// with a port as some proxies write it.
func parseForwarded(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// ForwardedFor names clients for webcare behind reverse proxies whose
// addresses are in trusted. When the connection comes from
// a trusted proxy, the client is the right-most X-Forwarded-For address
// that is not itself a trusted proxy: entries to its left are whatever
// the client chose to send. When the connection comes from anywhere else,
// or the header holds nothing usable, the client is the connection's
// address. IPv6 clients are named by their /64, like Remote. Nil or
// empty trusted trusts no header: then it is Remote.
func ForwardedFor(trusted []netip.Prefix) func(*http.Request) string {
	trusted = slices.Clone(trusted)
	isTrusted := func(a netip.Addr) bool {
		return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	return func(r *http.Request) string {
		peer, ok := peerAddr(r)
		if !ok {
			return r.RemoteAddr
		}
		if !isTrusted(peer) {
			return keyAddr(peer)
		}
		client := peer
		values := r.Header.Values("X-Forwarded-For")
		for i := len(values) - 1; i >= 0; i-- {
			entries := strings.Split(values[i], ",")
			for j := len(entries) - 1; j >= 0; j-- {
				a, ok := parseForwarded(entries[j])
				if !ok {
					// Not written by a proxy we trust: what lies to its
					// left cannot be trusted either.
					return keyAddr(client)
				}
				client = a
				if !isTrusted(a) {
					return keyAddr(a)
				}
			}
		}
		return keyAddr(client) // every hop a trusted proxy: the farthest one
	}
}
