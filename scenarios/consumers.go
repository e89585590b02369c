package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// Consumer identities: what a workload's consumers carry to tell the
// gateway who they are.
const (
	IdentityAPIKey   = "apiKey"
	IdentityJWT      = "jwt"
	IdentitySourceIP = "sourceIp"
)

// Skew types: how a workload's requests spread over its consumers.
const (
	SkewUniform = "uniform"
	SkewZipf    = "zipf"
)

// MaxConsumers bounds a workload's consumers: each has a source address of
// its own in 127.1.0.0/16 on the real backends.
const MaxConsumers = 65534

// Consumers are the callers behind one open-loop workload: count consumers,
// each with an identity of its own (an API key, a JWT subject, a source
// address), as tenants of an API are. Every request of the workload is sent
// by one of them, drawn from the run's seed by the request's sequence
// number, so that the simulator and the real backends send the same
// sequence. On the real backends each consumer also connects from a source
// address of its own (127.1.0.0/16), whatever its identity.
type Consumers struct {
	// Count is the number of consumers (1 to 65534).
	Count int `json:"count" jsonschema:"required,minimum=1,maximum=65534"`
	// Identity is what each consumer carries: apiKey (a key of its own in the route's key header, registered hashed with the gateway), jwt (a bearer JWT with sub "<workload>-<i>", signed by the run's test issuer with the route's issuer and audience) or sourceIp (its source address only); default sourceIp.
	Identity string `json:"identity" noun:"consumer identity" jsonschema:"enum=apiKey,enum=jwt,enum=sourceIp"`
	// Skew spreads the requests over the consumers: uniform (default) or zipf. Exclusive with shares.
	Skew *Skew `json:"skew,omitempty"`
	// Shares are explicit shares of the requests for the first consumers (e.g. [60%] for one noisy consumer); the rest of the requests is split evenly among the other consumers. Exclusive with skew.
	Shares []Fraction `json:"shares,omitempty"`
	// BadCredentials are shares of the requests sent with a bad credential, answered 401 by a route that authenticates (apiKey or jwt identity).
	BadCredentials *BadCredentials `json:"badCredentials,omitempty"`
}

// Skew is the popularity of a workload's consumers.
type Skew struct {
	// Type is uniform (every consumer alike) or zipf (consumer i weighs 1/(i+1)^s).
	Type string `json:"type" noun:"skew" jsonschema:"required,enum=uniform,enum=zipf"`
	// S is Zipf's exponent (zipf; greater than 0; default 1.1).
	S float64 `json:"s,omitempty"`
}

// BadCredentials are the shares of a workload's requests that carry a bad
// credential, as credential stuffing and broken clients send. The consumer
// of such a request is drawn as for any other request; the kinds are
// exclusive and their shares add up to at most 1.
type BadCredentials struct {
	// Missing sends no credential at all (apiKey, jwt).
	Missing Fraction `json:"missing,omitempty"`
	// UnknownKey sends an API key the gateway does not hold (apiKey), or a JWT signed by a key outside the issuer's JWKS (jwt).
	UnknownKey Fraction `json:"unknownKey,omitempty"`
	// Expired sends a JWT whose exp passed an hour before the run (jwt).
	Expired Fraction `json:"expired,omitempty"`
	// WrongAudience sends a JWT for another audience (jwt).
	WrongAudience Fraction `json:"wrongAudience,omitempty"`
	// Unsigned sends a JWT with alg "none" and no signature (jwt).
	Unsigned Fraction `json:"unsigned,omitempty"`
}

// Bad credential kinds, in the order Shares lists them (the order the
// consumer draw maps a request's second uniform number to).
const (
	BadNone          = ""
	BadMissing       = "missing"
	BadUnknownKey    = "unknownKey"
	BadExpired       = "expired"
	BadWrongAudience = "wrongAudience"
	BadUnsigned      = "unsigned"
)

// Kinds are the kinds of bad credential with their shares, in a fixed
// order; kinds with a zero share are left out.
func (b *BadCredentials) Kinds() (kinds []string, shares []float64) {
	if b == nil {
		return nil, nil
	}
	for _, k := range []struct {
		name  string
		share Fraction
	}{{BadMissing, b.Missing}, {BadUnknownKey, b.UnknownKey}, {BadExpired, b.Expired}, {BadWrongAudience, b.WrongAudience}, {BadUnsigned, b.Unsigned}} {
		if k.share > 0 {
			kinds = append(kinds, k.name)
			shares = append(shares, float64(k.share))
		}
	}
	return kinds, shares
}

// badKindsFor lists the kinds of bad credential an identity can send.
var badKindsFor = map[string][]string{
	IdentityAPIKey:   {BadMissing, BadUnknownKey},
	IdentityJWT:      {BadMissing, BadUnknownKey, BadExpired, BadWrongAudience, BadUnsigned},
	IdentitySourceIP: {},
}

// consumers checks a workload's consumers block: counts, the skew or the
// shares, the bad credentials the identity can send, and that the route
// the workload reaches authenticates the way the identity needs.
func (v *validator) consumers(w Workload, k workloadKeys) {
	c := w.Consumers
	if c == nil || !k.has("consumers") {
		return
	}
	if w.Users != nil {
		k.report("consumers", "consumers apply to open-loop load (rate or shape), not to users")
	}
	if w.GRPC() {
		k.report("consumers", "consumers apply to http workloads, not grpc (the gRPC client's shared connections have one source address)")
	}
	if !k.failed("consumers.count") && (c.Count < 1 || c.Count > MaxConsumers) {
		k.report("consumers.count", "must be between 1 and %d, got %d", MaxConsumers, c.Count)
	}
	if c.Skew != nil && len(c.Shares) > 0 {
		k.report("consumers", "give skew or shares, not both")
	}
	if sk := c.Skew; sk != nil {
		if sk.Type == SkewZipf && !(sk.S > 0) && !k.failed("consumers.skew.s") {
			k.report("consumers.skew.s", "must be greater than 0, got %g", sk.S)
		}
		if sk.Type == SkewUniform && k.has("consumers.skew.s") {
			k.report("consumers.skew.s", "s applies to a zipf skew, not uniform")
		}
	}
	if len(c.Shares) > 0 {
		sum := 0.0
		for _, f := range c.Shares {
			sum += float64(f)
		}
		switch {
		case len(c.Shares) > c.Count && c.Count > 0:
			k.report("consumers.shares", "%d shares for %d consumers", len(c.Shares), c.Count)
		case sum > 1+1e-9:
			k.report("consumers.shares", "shares add up to %g, more than 1", sum)
		case len(c.Shares) == c.Count && sum < 1-1e-9:
			k.report("consumers.shares", "shares add up to %g with a share for every consumer: they must add up to 1", sum)
		}
	}
	if b := c.BadCredentials; b != nil {
		kinds, shares := b.Kinds()
		sum := 0.0
		for i, kind := range kinds {
			sum += shares[i]
			if allowed, ok := badKindsFor[c.Identity]; ok && !slices.Contains(allowed, kind) {
				k.report("consumers.badCredentials."+kind, "identity %s has no %s credential to send (its kinds: %s)", c.Identity, kind, badKindList(allowed))
			}
		}
		if sum > 1+1e-9 {
			k.report("consumers.badCredentials", "shares add up to %g, more than 1", sum)
		}
	}
	if c.Identity == IdentitySourceIP || w.Target.Path == "" {
		return
	}
	r := v.s.Topology.RouteFor(w.Target)
	if r == nil {
		return // reported by target
	}
	want := map[string]string{IdentityAPIKey: AuthAPIKey, IdentityJWT: AuthJWT}[c.Identity]
	got := AuthNone
	if r.Auth != nil {
		got = r.Auth.Type
	}
	if c.Identity == IdentityJWT && got == AuthIntrospection {
		want = got // the introspection endpoint vouches for the run's test tokens
	}
	if got != want {
		k.report("consumers.identity", "identity %s needs the route it reaches (%s) to have auth type %s, not %s", c.Identity, r.Name, want, got)
		return
	}
	if c.Identity == IdentityJWT && r.Auth.Issuer == "" {
		k.report("consumers.identity", "identity jwt needs route %s's auth to name an issuer (the run's test issuer signs with it)", r.Name)
	}
	if c.Identity == IdentityAPIKey {
		if _, set := HeaderValue(w.Target.Headers, r.Auth.Header); set {
			k.report("consumers.identity", "the target sets %s itself; consumers with identity apiKey send their own keys in it", r.Auth.Header)
		}
	}
	if c.Identity == IdentityJWT {
		if _, set := HeaderValue(w.Target.Headers, "Authorization"); set {
			k.report("consumers.identity", "the target sets Authorization itself; consumers with identity jwt send their own tokens in it")
		}
	}
}

// consumerBackends bounds the consumers of all workloads together, and
// asks for the issuer the real backends' JWT verification needs (their
// gateway is bench/local's, in front of containers too).
func (v *validator) consumerBackends() {
	total := 0
	for i, w := range v.s.Load {
		if w.Consumers == nil {
			continue
		}
		total += max(w.Consumers.Count, 0)
		if total > MaxConsumers && w.Consumers.Count <= MaxConsumers {
			v.errorf(fmt.Sprintf("load[%d].consumers.count", i), "the workloads' consumers add up to %d, more than %d (one source address each)", total, MaxConsumers)
			break
		}
	}
	for _, b := range v.s.Backends {
		if b == BackendLocal || b == BackendContainers {
			for i, r := range v.s.Gateway.Routes {
				if r.Auth != nil && r.Auth.Type == AuthJWT && r.Auth.Issuer == "" {
					v.errorf(fmt.Sprintf("topology.gateway.routes[%d].auth", i), "auth type jwt needs an issuer on backend %s, whose gateway verifies tokens of the run's test issuer", b)
				}
			}
			return
		}
	}
}

// badKindList lists kinds for a message, "none" for none.
func badKindList(kinds []string) string {
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, ", ")
}
