package sim

import (
	"math/rand/v2"
	"slices"

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
	spec     *routeSpec
	lc       *lifecycle.Route
	cl       *cluster
	hashKey  balancer.HashKey
	keyed    bool   // a limit is keyed per consumer: requests name theirs
	key      string // the keyed limit's key: client_ip, api_key or jwt_sub
	timers   *timerList[exchange]
	cache    *routeCache  // nil: no cache block
	faults   *routeFaults // nil: no abort or delay fault targets the route
	intro    *introCache  // nil: the route's auth is not introspection
	introRNG *rand.Rand   // introspection calls' latencies
}

// headerValue looks a header up case-insensitively, as HTTP does.
func headerValue(h map[string]string, name string) string {
	v, _ := scenarios.HeaderValue(h, name)
	return v
}

// authorised reports whether the fixed headers of a load without
// consumers (or with consumers that carry no credential of the route's
// type) pass the route's auth, as the real gateway decides: an API key
// must be present in its header, and one the gateway holds when it holds
// any; a JWT route refuses every fixed token, which the run's test issuer
// did not sign (consumers with identity jwt carry signed ones).
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
		return !a.held || slices.Contains(a.keys, v)
	case "jwt":
		return false
	}
	return true
}

// gatewayIn takes a client request that reached the gateway: no route is
// 404, failed authentication 401, and otherwise the route's fault filter,
// its cache (edge.go) and then its lifecycle decide.
func (m *model) gatewayIn(ex *exchange) {
	// The gateway's CPU for the request, answer included, is spent
	// before it decides anything; a gRPC client's request is taken (and,
	// the routes of such a workload being to gRPC services, forwarded)
	// over HTTP/2.
	if m.host != nil && m.spend(compGateway, m.loads[ex.load].spec.grpc, cpuJob{kind: jobGateway, idx: ex.id, gen: ex.gen}) {
		return
	}
	m.gatewayRoute(ex)
}

// gatewayRoute routes and authenticates a client request at the gateway.
func (m *model) gatewayRoute(ex *exchange) {
	l := m.loads[ex.load]
	r := l.route
	switch {
	case r == nil:
		m.reject(ex, outcomeNoRoute)
		return
	case r.intro != nil:
		m.introspect(ex, r) // guards.go
		return
	case !l.authorised(ex):
		m.reject(ex, outcomeUnauth)
		return
	}
	m.gatewayGuards(ex, r)
}

// routeIn starts the route's lifecycle on a request its edge features
// (edge.go) let through.
func (m *model) routeIn(ex *exchange, r *route) {
	l := m.loads[ex.load]
	ex.route = r
	in := lifecycle.Arrival{Key: ex.key, Replayable: true}
	if r.keyed {
		in.Consumer = l.consumerKey(ex, r)
	}
	m.begin(ex, r.cl, r.lc, in, r.timers)
}

// reject answers a client request at the gateway before any route takes
// it.
func (m *model) reject(ex *exchange, o outcome) {
	m.answer(ex, o, nil)
	m.freeExchange(ex)
}
