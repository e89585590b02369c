package balancer

import (
	"net/http"
	"net/netip"
)

// HashKey says which part of a request keys the hash balancers (ring_hash,
// maglev, ip_hash), as Envoy's route hash_policy: a header, a cookie, or the
// connection's source IP. The first source that is configured and present in
// the request wins, in the order Header, Cookie, SourceIP. Unlike Envoy, a
// missing cookie is not generated. net/http is used only to read the request.
type HashKey struct {
	// Header names a request header whose (first) value is hashed.
	Header string
	// Cookie names a cookie whose value is hashed.
	Cookie string
	// SourceIP hashes the client address from RemoteAddr (without the port;
	// an IPv4-mapped IPv6 address hashes as the IPv4 address).
	SourceIP bool
}

// Key returns the request's hash key, or false when no configured source is
// present; the caller then picks with a random key, as Envoy does.
func (h HashKey) Key(r *http.Request) (uint64, bool) {
	if h.Header != "" {
		if v := r.Header.Get(h.Header); v != "" {
			return hashString(v), true
		}
	}
	if h.Cookie != "" {
		if c, err := r.Cookie(h.Cookie); err == nil && c.Value != "" {
			return hashString(c.Value), true
		}
	}
	if h.SourceIP {
		if a, ok := remoteIP(r.RemoteAddr); ok {
			b := a.As16()
			return mix64(fnv1aBytes(fnvOffset64, b[:])), true
		}
	}
	return 0, false
}

// remoteIP parses "ip:port" or a bare IP, dropping any IPv6 zone.
func remoteIP(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
