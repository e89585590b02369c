package sim

import (
	"strings"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/scenarios"
)

// gateway is the edge proxy: route matching and authentication, then the
// route's lifecycle (its rate limits, its cluster's admission, the tries).
type gateway struct {
	node   int32
	zone   int32
	routes []*route
}

// route is one gateway route: its lifecycle.Route and the cluster it
// forwards to.
type route struct {
	spec    *routeSpec
	lc      *lifecycle.Route
	cl      *cluster
	hashKey balancer.HashKey
	keyed   bool // a limit is keyed per consumer: requests name theirs
	timers  *timerList[exchange]
	cache   *routeCache  // nil: no cache block
	faults  *routeFaults // nil: no abort or delay fault targets the route
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

// gatewayIn takes a client request that reached the gateway: no route is
// 404, failed authentication 401, and otherwise the route's fault filter,
// its cache (edge.go) and then its lifecycle decide.
func (m *model) gatewayIn(ex *exchange) {
	l := m.loads[ex.load]
	r := l.route
	switch {
	case r == nil:
		m.reject(ex, outcomeNoRoute)
		return
	case !l.authOK:
		m.reject(ex, outcomeUnauth)
		return
	}
	m.gatewayEdge(ex, r)
}

// routeIn starts the route's lifecycle on a request its edge features
// (edge.go) let through.
func (m *model) routeIn(ex *exchange, r *route) {
	l := m.loads[ex.load]
	ex.route = r
	in := lifecycle.Arrival{Key: ex.key, Replayable: true}
	if r.keyed {
		in.Consumer = l.clientID(ex)
	}
	m.begin(ex, r.cl, r.lc, in, r.timers)
}

// reject answers a client request at the gateway before any route takes
// it.
func (m *model) reject(ex *exchange, o outcome) {
	m.answer(ex, o, nil)
	m.freeExchange(ex)
}
