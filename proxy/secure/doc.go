// Package secure is the proxy's security layer: it plugs proxy/mtls,
// proxy/auth, proxy/fault and proxy/cache into the core proxy (package
// proxy) through the core's hook points, and reads the part of a
// configuration file that the core does not know. It is what `meshbench
// proxy` runs.
//
// # Shape
//
// A configuration file (FileConfig) is the core's config.Config with a
// top-level security section (SecurityConfig): the audit log, the SPIFFE
// identities of the workload, mutual TLS on the data-plane listeners after
// Istio's PeerAuthentication (STRICT, PERMISSIVE, DISABLE) and towards https
// clusters. LoadFile and ParseFile read it as strictly as config.Load,
// and name file:line:col and the key path of every problem.
//
// New builds a proxy.Proxy and registers, with proxy.WithMiddleware, eight
// route middlewares that routes name in their middlewares lists:
//
//	auth           JWT, API key or token introspection, scopes and claims (proxy/auth)
//	ipRestriction  allow and deny by client address range (proxy/access)
//	acl            allow and deny by the consumer's groups (proxy/access)
//	quota          requests per consumer per second to month (proxy/quota)
//	peerAuthz      allow and deny by the peer's SPIFFE ID (proxy/mtls.Authz)
//	consumerLimit  a rate limit per authenticated consumer (proxy/ratelimit.Keyed)
//	fault          delays and aborts (proxy/fault)
//	cache          a shared response cache after RFC 9111 (proxy/cache)
//
// The listeners' mutual TLS goes through proxy.WithServerTLS and WithPeerMode
// (which is proxy.WithTLSListener with mtls.Listen), the clusters' through
// proxy.WithClusterTLS. The returned Proxy embeds the core's and owns what
// lives beside it: one goroutine per identity that renews its SVID before it
// expires (mtls.Runner), the audit log, and the route caches, which are
// kept across reloads while their params stay the same.
//
// # Answers of the middlewares
//
// The middlewares' own answers carry proxy.HeaderReason, are named in the
// access log and counted in meshbench_proxy_rejections_total, as the core's
// are:
//
//	401 unauthenticated        missing, expired or invalid credentials
//	403 forbidden              a missing scope or claim
//	403 peer_denied            the peer's SPIFFE ID is not authorized
//	429 consumer_rate_limited  the consumer's limiter refused (with Retry-After)
//	any fault_injected         the fault filter aborted the request
//
// # Reloads
//
// The security section applies at start: a reload whose section differs is
// refused whole, as the listeners and identities are in use. A reload does
// re-read the trust bundle and certificate files the section names, so a
// SIGHUP picks up certificates renewed on disk. WatchFile reloads on SIGHUP
// and when the file changes.
//
// proxy/README.md documents every key.
package secure
