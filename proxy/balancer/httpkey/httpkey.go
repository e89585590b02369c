// Package httpkey reads a hash balancer's request key out of an HTTP request,
// as a balancer.HashKey says: a header, a cookie, or the client's address.
// It lives apart from package balancer so that the policies stay free of
// net/http; the proxy and the simulator call it before they pick.
package httpkey

import (
	"net/http"
	"net/netip"

	"github.com/meshbench/meshbench/proxy/balancer"
)

// Of returns the request's hash key, or false when no source h configures is
// present; the caller then picks with a random key, as Envoy does. The first
// present source wins, in the order Header, Cookie, SourceIP.
func Of(h balancer.HashKey, r *http.Request) (uint64, bool) {
	if h.Header != "" {
		if v := r.Header.Get(h.Header); v != "" {
			return balancer.HashKeyString(v), true
		}
	}
	if h.Cookie != "" {
		if c, err := r.Cookie(h.Cookie); err == nil && c.Value != "" {
			return balancer.HashKeyString(c.Value), true
		}
	}
	if h.SourceIP {
		return SourceIP(r.RemoteAddr)
	}
	return 0, false
}

// SourceIP is the key of a client address (a RemoteAddr: host:port, or a
// bare IP); false when it is neither.
func SourceIP(remoteAddr string) (uint64, bool) {
	if a, ok := remoteIP(remoteAddr); ok {
		return balancer.HashKeyAddr(a), true
	}
	return 0, false
}

// remoteIP parses "ip:port" or a bare IP.
func remoteIP(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	return netip.Addr{}, false
}
