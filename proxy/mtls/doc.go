// Package mtls is the workload identity layer of the meshbench data plane:
// a small certificate authority that issues SPIFFE X.509 SVIDs, a
// certificate source that rotates short-lived certificates under live
// listeners and transports, peer verification by SPIFFE ID, listeners in
// Istio's STRICT and PERMISSIVE modes, and per-route authorization of peers
// by their SPIFFE IDs.
//
// # Identities: SPIFFE X509-SVID
//
// CA issues leaf certificates as the SPIFFE X509-SVID specification
// describes them: exactly one URI SAN holding the SPIFFE ID (validated with
// go-spiffe's spiffeid.FromString), CA=false, the digitalSignature key usage
// and both serverAuth and clientAuth extended key usages, ECDSA P-256 keys.
// The CA certificate carries the trust domain's ID (spiffe://<td>) as its
// URI SAN when it was created for one, and then only issues IDs in that
// trust domain. IDFromCert extracts and checks the ID of a peer's leaf.
//
// # Rotation
//
// Source holds the current SVID and hands it to crypto/tls through
// tls.Config.GetCertificate and GetClientCertificate, which are called on
// every handshake: replacing the SVID changes what new handshakes present
// while established connections carry on with the certificate they
// negotiated, so rotation drops nothing and restarts nothing. When to renew
// is RotationPolicy, a pure function of now and the current certificate
// (SPIRE's default: at half of the lifetime). Rotator applies it, asking an
// Issuer for a new SVID (CAIssuer re-issues in memory, FileIssuer reloads
// files renewed by someone else). Runner is the only part that reads the
// clock and sleeps: one goroutine that calls Rotator.Tick when it is due.
//
// # Verification and modes
//
// Verifier checks a peer's chain against a trust Bundle (whose anchors can
// be replaced at run time) and its SPIFFE ID against an optional predicate,
// as go-spiffe's tlsconfig does: DNS names play no part. ServerConfig and
// ClientConfig build the tls.Configs. Listen wraps a listener in a Mode, as
// Istio's PeerAuthentication: STRICT accepts only mutual TLS, PERMISSIVE
// accepts mutual TLS and plaintext on the same port by looking at the first
// byte of each connection (0x16, a TLS handshake record, RFC 8446 §5.1),
// DISABLE accepts only plaintext.
//
// # Authorization
//
// Authz is an HTTP middleware that admits or refuses a request by the
// verified SPIFFE ID of its peer, after Istio's AuthorizationPolicy: deny
// rules are evaluated first and win; if there are allow rules the peer must
// match one; a plaintext peer has no principal and so matches no rule.
// Patterns are exact IDs, prefixes ("spiffe://td/ns/prod/*"), suffixes
// ("*/sa/payments"), "*" (any verified peer) or globs whose "*" stays within
// one path segment ("spiffe://td/ns/*/sa/payments"). Every decision goes to
// the shared proxy/auth audit log.
//
// Like proxy/auth, this is infrastructure, not a policy: it does file I/O
// and Runner and the PERMISSIVE listener start goroutines.
package mtls
