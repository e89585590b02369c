package sim

import (
	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/scenarios"
)

// The consumers of a load: who sends each request (bench/consumer draws
// the same sequence as the real backends' load generator), whether the
// gateway's authentication lets it in, and the consumer a keyed limit
// counts it against.

// anonymousIP is the client address of loads without consumers, as the
// real backends' load generator sends them from.
var anonymousIP = consumer.Anonymous.String()

// consumerNames are a load's consumers' identities, built once.
type consumerNames struct {
	names   []string // Name: a JWT's sub, an API key's name at the gateway
	sources []string // the source address, as the gateway sees client_ip
}

// pick draws the consumer of the load's next request.
func (l *load) pick() consumer.Pick {
	cs := l.spec.consumers
	if cs == nil {
		return consumer.Pick{}
	}
	p := cs.Pick(l.seq)
	l.seq++
	return p
}

// authorised reports whether ex passes its route's authentication. A
// consumer whose identity is the route's auth type passes with its good
// credential and fails with a bad one (missing, unknown key, expired,
// wrong audience, unsigned); other requests carry the load's fixed headers.
func (l *load) authorised(ex *exchange) bool {
	a := l.route.spec.auth
	if a == nil {
		return true
	}
	if l.credentialed(a) {
		return ex.who.Bad == scenarios.BadNone
	}
	return l.authOK
}

// credentialed reports whether the load's consumers carry credentials of
// a's type.
func (l *load) credentialed(a *authSpec) bool {
	cs := l.spec.consumers
	if cs == nil {
		return false
	}
	switch cs.Identity() {
	case scenarios.IdentityJWT:
		return a.typ == scenarios.AuthJWT || a.typ == scenarios.AuthIntrospection
	case scenarios.IdentityAPIKey:
		return a.typ == scenarios.AuthAPIKey
	}
	return false
}

// consumerKey is the consumer that route r's keyed limit counts ex
// against, as the real gateway keys it (bench/dataplane): client_ip the
// source address; api_key and jwt_sub the consumer the route's
// authentication of that kind verified (an API key's name, a JWT's sub),
// and "" (one limiter for every unidentified request) on routes that do
// not authenticate that way.
func (l *load) consumerKey(ex *exchange, r *route) string {
	cs := l.spec.consumers
	if cs != nil && l.who == nil {
		l.who = &consumerNames{names: make([]string, cs.Count()), sources: make([]string, cs.Count())}
		for i := range cs.Count() {
			l.who.names[i], l.who.sources[i] = cs.Name(i), cs.Source(i).String()
		}
	}
	switch r.key {
	case scenarios.LimitKeyClientIP:
		if cs == nil {
			return anonymousIP
		}
		return l.who.sources[ex.who.Consumer]
	case scenarios.LimitKeyAPIKey, scenarios.LimitKeyJWTSub:
		a := r.spec.auth
		want := scenarios.AuthAPIKey
		if r.key == scenarios.LimitKeyJWTSub {
			want = scenarios.AuthJWT
		}
		if a == nil || a.typ != want && !(want == scenarios.AuthJWT && a.typ == scenarios.AuthIntrospection) {
			return ""
		}
		if l.credentialed(a) {
			return l.who.names[ex.who.Consumer]
		}
		if a.typ == scenarios.AuthAPIKey {
			return consumer.KeyName(headerValue(l.spec.headers, a.header))
		}
	}
	return ""
}

// keyBySource makes a hash key on the source address (hashKey.sourceIp,
// when no header or cookie of the policy's is on the load's requests) the
// address each request comes from on the real backends, hashed as the
// proxy hashes it (balancer.HashKeyAddr): its consumer's, or 127.0.0.1 for
// every request of a load without consumers.
func (l *load) keyBySource(h balancer.HashKey) {
	if !h.SourceIP || l.hasFixedKey {
		return
	}
	cs := l.spec.consumers
	if cs == nil {
		l.fixedKey, l.hasFixedKey = balancer.HashKeyAddr(consumer.Anonymous), true
		return
	}
	l.bySource = make([]uint64, cs.Count())
	for i := range l.bySource {
		l.bySource[i] = balancer.HashKeyAddr(cs.Source(i))
	}
}
