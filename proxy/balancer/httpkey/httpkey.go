// Package httpkey reads a hash balancer's request key out of a request, as a
// balancer.HashKey says: a header, a cookie, or the client's address. It
// lives apart from package balancer so that the policies stay free of
// request formats, and it reads header fields through the small Header
// accessor, so that the proxy's general path (an http.Header), its fast
// path (the fields as read) and the simulator (a workload's headers) key
// requests alike.
package httpkey

import (
	"net/netip"
	"strings"

	"github.com/meshbench/meshbench/proxy/balancer"
)

// Header gives a request's header fields by name, case-insensitively: the
// first value, or "" when the field is absent. http.Header satisfies it.
type Header interface {
	Get(name string) string
}

// Key returns the request's hash key from its header fields and its
// client's address (host:port or a bare IP), or false when no source h
// configures is present; the caller then picks with a random key, as Envoy
// does. The first present source wins, in the order Header, Cookie,
// SourceIP.
func Key(h balancer.HashKey, hdr Header, remoteAddr string) (uint64, bool) {
	if h.Header != "" {
		if v := hdr.Get(h.Header); v != "" {
			return balancer.HashKeyString(v), true
		}
	}
	if h.Cookie != "" {
		if v, ok := Cookie(hdr.Get("Cookie"), h.Cookie); ok && v != "" {
			return balancer.HashKeyString(v), true
		}
	}
	if h.SourceIP {
		return SourceIP(remoteAddr)
	}
	return 0, false
}

// Cookie finds the cookie called name in a Cookie field's value (RFC 6265
// section 4.2.1: "a=b; c=d"), with the quotes around a quoted value
// removed.
func Cookie(field, name string) (string, bool) {
	for pair := range strings.SplitSeq(field, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || k != name {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v, true
	}
	return "", false
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
