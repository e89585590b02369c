package sim

import (
	"strings"

	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/scenarios"
)

// gateway is the edge proxy: route matching, authentication, rate limits
// and concurrency admission, then the route's cluster.
type gateway struct {
	node    int32
	zone    int32
	routes  []*route
	limiter ratelimit.Limiter // the policy's rate limit, keyed globally
	keyed   *ratelimit.Keyed  // the policy's rate limit, keyed by client
	conc    ratelimit.ConcurrencyLimiter
}

// route is one gateway route and the cluster it forwards to.
type route struct {
	spec    *routeSpec
	cl      *cluster
	timeout int64
	timers  *timerList[exchange]
	perPol  ratelimit.Limiter // the policy's rate limit when keyed by route
	limiter ratelimit.Limiter // the route's own rate limit
}

// headerValue looks a header up case-insensitively, as HTTP does.
func headerValue(h map[string]string, name string) string {
	v, _ := scenarios.HeaderValue(h, name)
	return v
}

// authorised reports whether a load's requests pass the route's auth. The
// simulator checks what it can without cryptography: an API key must be
// present in its header (and listed, when keys are listed); a JWT route
// needs an "Authorization: Bearer" header. Signatures and claims are the
// real backends' business.
func (a *authSpec) authorised(l *loadSpec) bool {
	switch a.typ {
	case "apiKey":
		h := a.header
		if h == "" {
			h = "X-API-Key"
		}
		v := headerValue(l.headers, h)
		if v == "" {
			return false
		}
		if len(a.keys) == 0 {
			return true
		}
		for _, k := range a.keys {
			if k == v {
				return true
			}
		}
		return false
	case "jwt":
		v := headerValue(l.headers, "Authorization")
		return len(v) > 7 && strings.EqualFold(v[:7], "bearer ")
	}
	return true
}

// gatewayIn admits a client request that reached the gateway and forwards
// it on its route.
func (m *model) gatewayIn(ex *exchange) {
	g := m.gw
	l := m.loads[ex.load]
	r := l.route
	switch {
	case r == nil:
		m.reject(ex, outcomeNoRoute)
		return
	case !l.authOK:
		m.reject(ex, outcomeUnauthorised)
		return
	case g.limiter != nil && !g.limiter.Allow(m.now).Allowed,
		g.keyed != nil && !g.keyed.Allow(m.now, l.clientID(ex)).Allowed,
		r.perPol != nil && !r.perPol.Allow(m.now).Allowed,
		r.limiter != nil && !r.limiter.Allow(m.now).Allowed:
		m.reject(ex, outcomeLimited)
		return
	}
	if g.conc != nil {
		if !g.conc.Acquire(m.now) {
			m.reject(ex, outcomeBreaker)
			return
		}
		ex.concAcq = true
	}
	ex.route = r
	r.cl.start(ex, r.timeout, r.timers)
}

// reject answers a client request at the gateway without forwarding it.
func (m *model) reject(ex *exchange, o outcome) {
	ex.done = true
	m.answer(ex, o, nil)
	m.freeExchange(ex)
}
