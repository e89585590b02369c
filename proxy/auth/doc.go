// Package auth is the edge authentication and authorization of the meshbench
// gateway: HTTP middlewares that decide, per route, who a request comes from
// and whether that caller may use the route, and an audit log of every such
// decision.
//
// # JWT
//
// JWT verifies bearer tokens (RFC 6750 §2.1) as JSON Web Tokens (RFC 7519)
// signed with RS256, ES256 or EdDSA (RFC 7518 §3, RFC 8037), with the keys of
// a JSON Web Key Set (RFC 7517): a file (LoadJWKSFile) or a URL on loopback
// (RemoteJWKS) that is cached, refreshed after MaxAge, and fetched again when
// a token names an unknown "kid" — at most once per MinRefreshInterval, so a
// stream of forged kids cannot turn the gateway into a load generator against
// the key server. Each key of a set is decoded by go-jose
// (github.com/go-jose/go-jose/v4: encodings, lengths, points on their
// curves); ParseJWKS adds the verifier's own rules (signing keys only, no
// private material, RSA of 2048 bits or more, unique kids) and skips, as
// RFC 7517 §5 asks, the keys it cannot use. This is the model of Envoy's
// jwt_authn filter (remote_jwks with cache_duration) and of Istio's
// RequestAuthentication (issuer, audiences, jwksUri). The issuer ("iss")
// must match, the audience ("aud") must contain one of the configured
// audiences, "exp" is required and "nbf" honoured, all with a configurable
// clock skew; the clock is a func() time.Time so tests run on virtual time.
//
// # API keys
//
// APIKeys checks a key sent in a header against keys stored only as SHA-256
// hashes (HashAPIKey), comparing in constant time against every stored hash,
// so the configuration never holds a usable secret and the response time does
// not reveal which key came close.
//
// # Consumers, authorization, failures
//
// A successful authentication puts a Consumer in the request context
// (ConsumerFrom, ConsumerKey): the JWT "sub" or the API key's name, which is
// what per-consumer rate limiting keys on. A Requirement then checks scopes
// and claims per route, as Istio's AuthorizationPolicy conditions on
// request.auth.claims. A request without valid credentials is answered 401
// with a WWW-Authenticate challenge (RFC 6750 §3, RFC 9110 §11.6.1); an
// authenticated caller that lacks a scope or claim gets 403
// (error="insufficient_scope" for bearer tokens).
//
// # Audit
//
// Audit writes one JSON line per decision through log/slog: time, request
// id, route, peer address, principal (a SPIFFE ID when the proxy/mtls
// authorization middleware logs), consumer, stage (authn or authz), decision
// and reason. proxy/mtls shares it for its peer authorization.
//
// Unlike the policy packages, this package does I/O (the JWKS fetch) and
// reads the clock through its injected Clock; it starts no goroutines.
package auth
