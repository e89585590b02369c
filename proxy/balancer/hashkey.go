package balancer

import "net/netip"

// HashKey says which part of a request keys the hash balancers (ring_hash,
// maglev, ip_hash), as Envoy's route hash_policy: a header, a cookie, or the
// connection's source IP. The first source that is configured and present in
// the request wins, in the order Header, Cookie, SourceIP. Unlike Envoy, a
// missing cookie is not generated. Reading the key out of an HTTP request is
// the job of package httpkey, so that this package stays free of net/http.
type HashKey struct {
	// Header names a request header whose (first) value is hashed.
	Header string
	// Cookie names a cookie whose value is hashed.
	Cookie string
	// SourceIP hashes the client address from RemoteAddr (without the port;
	// an IPv4-mapped IPv6 address hashes as the IPv4 address).
	SourceIP bool
}

// HashKeyString hashes a header or cookie value into a request key, as the
// hash balancers expect it.
func HashKeyString(v string) uint64 { return hashString(v) }

// HashKeyAddr hashes a client address into a request key; IPv4-mapped IPv6
// addresses hash as their IPv4 form and zones are ignored.
func HashKeyAddr(a netip.Addr) uint64 {
	b := a.Unmap().WithZone("").As16()
	return mix64(fnv1aBytes(fnvOffset64, b[:]))
}
