package sim

import (
	"fmt"
	"net/netip"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/proxy/access"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/quota"
	"github.com/meshbench/meshbench/scenarios"
)

// The gateway's access policies and quota on a route, after its
// authentication and before its fault filter, in the order the real
// gateway's route middlewares run them (Kong's: ip-restriction, acl,
// rate-limiting): the ipRestriction judges the request's client address
// (its consumer's source address, or 127.0.0.1 for a load without
// consumers), 403; the acl the consumer the route verified, 403; the
// quota counts the request against its key on the run's virtual calendar
// (scenarios.Quota.At), 429. Each is proxy/access's or proxy/quota's own
// object, configured by bench/dataplane as the real gateway's.
//
// A route with auth type introspection asks the authorization server
// about a token its cache does not hold: the request waits a draw of the
// route's latency, the answer is then cached (an active one for
// cacheTtl, an inactive one for scenarios.IntrospectionNegativeTTL at
// most cacheTtl) and judged. The token of a request is its consumer's
// credential: one per consumer and bad kind, as the real load generator
// mints one token per consumer and kind, and the server answers as the
// real backends' does (a good or wrongAudience token active, the gateway
// refusing the other audience; expired, unsigned and unknownKey tokens
// inactive; a load's fixed token unknown, so inactive).

// guardSpec is a route's access policies.
type guardSpec struct {
	ip    *access.IPRestriction
	acl   *access.ACL
	quota bool // the policy's quota counts on the route
	intro *introspectSpec
}

// introspectSpec is a route's introspection: its cache's ttls and the
// calls' latency.
type introspectSpec struct {
	ttl, negTTL int64
	latency     distribution
}

// introCache is a route's cache of introspection answers, by token.
type introCache struct {
	entries      map[tokenID]introEntry
	hits, misses int64
}

type tokenID struct {
	load, consumer int32
	bad            string
}

type introEntry struct {
	until  int64
	active bool
}

// buildGuards makes the routes' access policies and the quota.
func buildGuards(p *scenarios.Plan, pol *scenarios.Policy, rs *routeSpec, r *scenarios.Route, dist func(string, scenarios.DistributionSpec) distribution) error {
	g := &guardSpec{quota: pol.QuotaOf(r.Name) != nil}
	var err error
	if r.IPRestriction != nil {
		if g.ip, err = access.NewIPRestriction(dataplane.IPRestriction(r.IPRestriction)); err != nil {
			return fmt.Errorf("route %s: %w", r.Name, err)
		}
	}
	if r.ACL != nil {
		if g.acl, err = access.NewACL(dataplane.ACL(&p.Topology, p.Load, r.ACL)); err != nil {
			return fmt.Errorf("route %s: %w", r.Name, err)
		}
	}
	if r.Auth != nil && r.Auth.Type == scenarios.AuthIntrospection {
		in := r.Auth.Introspection
		if in == nil { // scenarios.Load gives every introspection route one
			return fmt.Errorf("route %s: auth type introspection without its introspection block", r.Name)
		}
		g.intro = &introspectSpec{ttl: int64(in.CacheTTL), negTTL: int64(min(scenarios.IntrospectionNegativeTTL, in.CacheTTL)),
			latency: dist("route "+r.Name+" introspection latency", in.Latency)}
	}
	if g.ip != nil || g.acl != nil || g.quota || g.intro != nil {
		rs.guards = g
	}
	return nil
}

// buildQuota makes the policy's quota, shared by the routes it counts on.
func (m *model) buildQuota(s *spec) error {
	q := s.policy.Quota
	if q == nil {
		return nil
	}
	var err error
	m.quota, err = quota.New(dataplane.Quota(q))
	m.quotaSpec = q
	return err
}

// clientAddr is the address ex comes from on the real backends.
func (l *load) clientAddr(ex *exchange) netip.Addr {
	if cs := l.spec.consumers; cs != nil {
		return cs.Source(ex.who.Consumer)
	}
	return consumer.Anonymous
}

// verified is the consumer route r's authentication verified for ex, as
// the real gateway's auth.Consumer, and whether it verified one.
func (l *load) verified(ex *exchange, r *route) (auth.Consumer, bool) {
	a := r.spec.auth
	if a == nil {
		return auth.Consumer{}, false
	}
	method := auth.MethodJWT
	switch a.typ {
	case scenarios.AuthAPIKey:
		method = auth.MethodAPIKey
	case scenarios.AuthIntrospection:
		method = auth.MethodOAuth2
	}
	if l.credentialed(a) {
		return auth.Consumer{ID: l.spec.consumers.Name(ex.who.Consumer), Method: method}, true
	}
	if a.typ == scenarios.AuthAPIKey {
		return auth.Consumer{ID: consumer.KeyName(headerValue(l.spec.headers, a.header)), Method: method}, true
	}
	return auth.Consumer{}, false
}

// introspect authenticates ex on a route with auth type introspection,
// from the cache or after a call.
func (m *model) introspect(ex *exchange, r *route) {
	l := m.loads[ex.load]
	id, ok := l.token(ex)
	if !ok {
		m.reject(ex, outcomeUnauth) // no token: no call
		return
	}
	c := r.intro
	if e, hit := c.entries[id]; hit && m.t < e.until {
		c.hits++
		m.introspected(ex, r, e.active, id)
		return
	}
	c.misses++
	wait := int64(r.spec.guards.intro.latency.Sample(r.introRNG))
	m.at(m.t+max(wait, 0), event{kind: evIntrospected, idx: ex.id, gen: ex.gen})
}

// introspectionAnswered resumes a request whose token was asked about.
func (m *model) introspectionAnswered(ex *exchange) {
	l := m.loads[ex.load]
	r := l.route
	id, _ := l.token(ex)
	active := l.tokenActive(ex)
	spec := r.spec.guards.intro
	ttl := spec.ttl
	if !active {
		ttl = spec.negTTL
	}
	if ttl > 0 {
		r.intro.entries[id] = introEntry{until: m.t + ttl, active: active}
	}
	m.introspected(ex, r, active, id)
}

// introspected judges an introspection answer: an active token of a
// consumer's good credential passes, an active one for another audience
// and an inactive one are 401.
func (m *model) introspected(ex *exchange, r *route, active bool, id tokenID) {
	if !active || id.bad != scenarios.BadNone || id.consumer < 0 {
		m.reject(ex, outcomeUnauth)
		return
	}
	m.gatewayGuards(ex, r)
}

// token names ex's bearer token, or reports it carries none.
func (l *load) token(ex *exchange) (tokenID, bool) {
	if l.credentialed(l.route.spec.auth) {
		if ex.who.Bad == scenarios.BadMissing {
			return tokenID{}, false
		}
		return tokenID{load: ex.load, consumer: int32(ex.who.Consumer), bad: ex.who.Bad}, true
	}
	if headerValue(l.spec.headers, "Authorization") == "" {
		return tokenID{}, false
	}
	return tokenID{load: ex.load, consumer: -1}, true
}

// tokenActive is the authorization server's answer for ex's token.
func (l *load) tokenActive(ex *exchange) bool {
	if !l.credentialed(l.route.spec.auth) {
		return false
	}
	switch ex.who.Bad {
	case scenarios.BadNone, scenarios.BadWrongAudience:
		return true
	}
	return false
}

// gatewayGuards runs the route's ipRestriction, acl and quota on an
// authenticated request, then its fault filter and cache.
func (m *model) gatewayGuards(ex *exchange, r *route) {
	g := r.spec.guards
	if g == nil {
		m.gatewayEdge(ex, r)
		return
	}
	l := m.loads[ex.load]
	if g.ip != nil && g.ip.Check(l.clientAddr(ex)) != nil {
		m.reject(ex, statusOutcome(403))
		return
	}
	if g.acl != nil || g.quota {
		c, ok := l.verified(ex, r)
		if g.acl != nil && g.acl.Check(c.ID) != nil {
			m.reject(ex, statusOutcome(403))
			return
		}
		if g.quota {
			key := dataplane.QuotaKey(m.quotaSpec.Key, c, ok, l.clientAddr(ex))
			if !m.quota.Allow(m.quotaSpec.At(timeDur(m.t)), key).Allowed {
				m.reject(ex, statusOutcome(429))
				return
			}
		}
	}
	m.gatewayEdge(ex, r)
}
