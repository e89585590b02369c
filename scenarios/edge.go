package scenarios

import (
	"fmt"
	"slices"
	"time"
)

// RouteCache is the gateway's shared response cache on the routes it names
// (RFC 9111 for a shared cache, as proxy/cache implements it): their GET
// and HEAD requests are answered from a stored answer while it is fresh,
// without reaching the service. It is a policy block, so that variants
// compare a cache against none (cache: null) or ttls against each other;
// each route named has a cache of its own.
//
// What is stored: a GET answer whose status is heuristically cacheable
// (RFC 9110 §15.1: 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501)
// and which states no freshness of its own (the payment fleet's answers
// state none), fresh for ttl from when the gateway received it. The key is
// the request's Host and path (with its query): a workload with a fixed
// path has one entry, and a status lookup (a path with {payment}) has one
// entry per payment. Concurrent misses of one key are all forwarded (no
// request collapsing); at most maxEntries answers are kept, the least
// recently used evicted first. A POST, PUT, PATCH or DELETE that succeeds
// drops the entry of its path.
//
// The simulator models exactly that: a request on a cached route is a hit
// when an answer for its key reached the gateway less than ttl ago, and is
// then answered by the gateway without the upstream (0 tries, no
// instance). A lookup's key is a payment drawn uniformly, from a stream
// seeded by the run's seed, among the payments the run's clients saw
// created so far (2xx answers to POST /v1/payments), as the real load
// generator draws its lookups; before the first one every lookup names the
// same unknown payment.
type RouteCache struct {
	// Routes names the gateway routes that are cached; each must take GET requests.
	Routes []string `json:"routes"`
	// TTL is how long a stored answer stays fresh (default 30s).
	TTL time.Duration `json:"ttl"`
	// MaxEntries bounds the stored answers; the least recently used go first (default 10000).
	MaxEntries int `json:"maxEntries" jsonschema:"minimum=1"`
}

// CacheableStatus reports whether the gateway's cache stores an answer
// with this status (RFC 9110 §15.1's heuristically cacheable statuses, as
// proxy/cache stores answers that state no freshness).
func CacheableStatus(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// CacheOf returns the cache block that applies to a route, or nil.
func (p *Policy) CacheOf(route string) *RouteCache {
	if p.Cache != nil && slices.Contains(p.Cache.Routes, route) {
		return p.Cache
	}
	return nil
}

// policyEdge checks one effective policy's edge blocks: discovery, and
// the cache against the routes it names.
func (v *validator) policyEdge(p *Policy, report reportFunc) {
	v.checkDiscovery(p, report)
	c := p.Cache
	if c == nil {
		return
	}
	if c.TTL <= 0 {
		report("cache.ttl", "must be greater than 0")
	}
	if len(c.Routes) == 0 {
		report("cache", "the cache needs \"routes\": the names of the GET routes it answers")
	}
	routes := names(v.s.Gateway.Routes, func(r Route) string { return r.Name })
	for i, name := range c.Routes {
		rel := fmt.Sprintf("cache.routes[%d]", i)
		r, ok := v.route(name)
		if !ok {
			report(rel, "unknown route %q%s", name, hintOrList(name, routes))
			continue
		}
		if m := r.Match.Method; m != "" && m != "GET" && m != "HEAD" {
			report(rel, "the cache answers GET and HEAD requests only, and route %s matches method %s", name, m)
		}
		if r.Auth.Bearer() {
			report(rel, "a shared cache does not store answers to requests with Authorization (RFC 9111 §3.5), which route %s's auth type %s needs: leave it out or use apiKey", name, r.Auth.Type)
		}
	}
}

// httpFault checks a fault of the gateway's fault filter (abort, delay),
// and any fault that targets a route. It reports whether it took the
// fault, whose target then needs no other check.
func (v *validator) httpFault(path string, i int, f Fault) bool {
	http := f.Action == ActionAbort || f.Action == ActionDelay
	if !http {
		return false
	}
	tp := path + ".target"
	if v.ok(tp) && v.d.has(tp) {
		if f.Target.Route == "" {
			v.errorf(tp, "action %s targets a gateway route, as \"route:NAME\", not %s", f.Action, f.Target)
		} else if !v.routeRef(f.Target.Route) {
			routes := names(v.s.Gateway.Routes, func(r Route) string { return r.Name })
			v.errorf(tp, "unknown route %q%s", f.Target.Route, hintOrList(f.Target.Route, routes))
		}
	}
	for j, b := range v.s.Backends {
		if b == BackendContainers {
			v.errorf(path+".action", "action %s is not supported on backend containers (backends[%d]): its fault timeline drives the fleet's containers, not the gateway's fault filter; run it on sim and local", f.Action, j)
		}
	}
	if v.ok(path+".percentage") && (f.Percentage < 0 || f.Percentage > 100) {
		v.errorf(path+".percentage", "must be in 0..100, got %v", f.Percentage)
	}
	switch f.Action {
	case ActionAbort:
		if v.ok(path+".status") && (f.Status < 200 || f.Status > 599) {
			v.errorf(path+".status", "an abort's status must be in 200..599, got %d", f.Status)
		}
	case ActionDelay:
		if f.Delay == nil && v.ok(path+".delay") {
			v.errorf(path, "action delay needs \"delay\" (a distribution, e.g. 50ms)")
		}
	}
	// Two faults of one kind on one route at once would each draw their
	// share; the fault filter holds one abort and one delay per route.
	for j, g := range v.s.Faults[:i] {
		if g.Action == f.Action && g.Target.Route != "" && g.Target.Route == f.Target.Route && overlaps(g, f, v.s.Duration) {
			v.errorf(path, "overlaps faults[%d], another %s of route %s: a route has at most one abort and one delay at a time", j, f.Action, f.Target.Route)
		}
	}
	return true
}

// overlaps reports whether two faults' periods intersect.
func overlaps(a, b Fault, end time.Duration) bool {
	aEnd, bEnd := a.At+a.For, b.At+b.For
	if a.For == 0 {
		aEnd = end
	}
	if b.For == 0 {
		bEnd = end
	}
	return a.At < bEnd && b.At < aEnd
}

func (v *validator) routeRef(name string) bool {
	_, ok := v.route(name)
	return ok
}

func (v *validator) route(name string) (Route, bool) {
	for _, r := range v.s.Gateway.Routes {
		if r.Name == name {
			return r, true
		}
	}
	return Route{}, false
}

// HTTPFault reports whether a fault is one of the gateway's HTTP faults,
// applied by the fault filter of a route rather than to replicas.
func (f Fault) HTTPFault() bool { return f.Action == ActionAbort || f.Action == ActionDelay }

// Discovery types.
const (
	DiscoveryStatic   = "static"
	DiscoveryRegistry = "registry"
)

// RegistryRefresh is how often the gateway lists a service's instances
// from the registry (proxy/discovery's default polling period): a change
// in the registry reaches the gateway's clusters at the next listing.
const RegistryRefresh = time.Second

// Discovery is how the gateway learns its clusters' endpoints: static (the
// topology's replicas, always; the default when the block is absent) or
// registry, as Consul's TTL checks and Eureka's leases work: every replica
// registers itself in a service registry with a ttl and renews it with a
// heartbeat every heartbeat; an instance whose last heartbeat is older
// than ttl is dropped from the registry, and the gateway, which lists the
// registry every RegistryRefresh, stops sending to it at its next listing.
// A killed (or restarted) replica stops heartbeating at once, so it leaves
// the gateway's rotation between ttl − heartbeat and ttl + RegistryRefresh
// after the kill; when it comes back it registers again and rejoins at the
// next listing. A paused replica's heartbeats go on: the registry, like a
// liveness lease, tells a dead process from a live one, not a slow one.
//
// Discovery applies to the gateway's clusters (the sidecars keep static
// endpoints), as active health checks do. Unlike a health check, which
// the gateway sends and judges itself, the registry hears from the replica;
// unlike outlier detection, it needs no failed request to act. The real
// backends run proxy/discovery's registry (Store, Server) on loopback, the
// replicas' heartbeats through its Client and the gateway's Registry
// provider; the simulator models the same timings: heartbeats from each
// replica's (re)start, expiry ttl after the last one, listings every
// RegistryRefresh from the start of the run.
type Discovery struct {
	// Type is static or registry (default static).
	Type string `json:"type" noun:"discovery type" jsonschema:"enum=static,enum=registry"`
	// TTL is how long a registration lives without a heartbeat (registry; default 10s).
	TTL time.Duration `json:"ttl"`
	// Heartbeat is how often a replica renews its registration (registry; default ttl/3).
	Heartbeat time.Duration `json:"heartbeat"`
}

// Registry reports whether the policy discovers endpoints through the
// registry.
func (p *Policy) Registry() bool { return p.Discovery != nil && p.Discovery.Type == DiscoveryRegistry }

// checkDiscovery checks a policy's discovery block.
func (v *validator) checkDiscovery(p *Policy, report reportFunc) {
	d := p.Discovery
	if d == nil {
		return
	}
	if d.Type != DiscoveryRegistry {
		if d.TTL != 0 || d.Heartbeat != 0 {
			report("discovery", "ttl and heartbeat apply to discovery type registry, not %s", d.Type)
		}
		return
	}
	switch {
	case d.TTL <= 0:
		report("discovery.ttl", "must be greater than 0")
	case d.Heartbeat <= 0:
		report("discovery.heartbeat", "must be greater than 0")
	case d.Heartbeat >= d.TTL:
		report("discovery.heartbeat", "heartbeat (%s) must be shorter than ttl (%s), or every registration lapses between two heartbeats", d.Heartbeat, d.TTL)
	}
	for j, b := range v.s.Backends {
		if b == BackendContainers {
			report("discovery.type", "discovery type registry is not supported on backend containers (backends[%d]): its replicas are containers that do not register themselves; run it on sim and local", j)
		}
	}
}
