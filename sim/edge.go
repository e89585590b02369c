package sim

import (
	"container/list"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/bench/dataplane"
	faultfilter "github.com/meshbench/meshbench/proxy/fault"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/scenarios"
)

// The gateway's edge features on a route, before the route's lifecycle,
// in the order the real gateway's route middlewares run them:
//
//   - the fault filter (abort, delay faults on the route): proxy/fault's
//     own decision (Filter.Decide) on the route's stream, configured by
//     bench/dataplane as the real gateway's filter is; a delayed request
//     waits at the gateway before its route's lifecycle starts (its
//     timeout does not count the delay), an aborted one is answered with
//     the status at once (after its delay), without reaching the service;
//   - the response cache (a route's cache block): a hit is answered by the
//     gateway with the stored status, without the upstream (no tries, no
//     instance, no rate limit: the limits are in the lifecycle), at once
//     or, with a calibration profile, after the gateway's measured hop
//     (calib.hitCost); a miss is
//     forwarded and its answer stored when its status is cacheable. See
//     scenarios.RouteCache for the key model.
type edgeState struct {
	// pending holds, by exchange id, what the answer of a request the
	// cache forwarded does to the cache: store it under key (a GET), or
	// drop key (an unsafe method).
	pending map[int32]pendingCache
	// aborts holds the abort a delayed request gets when its delay ends.
	aborts map[int32]int
	// hits holds the status of a cache hit on its way out of the gateway
	// (calibrated runs, which charge a hit its cost: calib.hitCost).
	hits map[int32]int
	// created counts the payments the clients saw created (2xx answers to
	// POST /v1/payments), among which lookups draw the payment they name.
	created int64
	payment []bool // by load: its requests create payments
	lookups *rand.Rand
}

type pendingCache struct {
	key    string
	unsafe bool
}

// routeCache is one route's response cache: at most max entries, the least
// recently used evicted first; an entry is fresh for ttl after the answer
// reached the gateway.
type routeCache struct {
	ttl     int64
	max     int
	entries map[string]*cacheEntry
	lru     list.List // front: most recently used; values are *cacheEntry
	hits    int64
	misses  int64
}

type cacheEntry struct {
	key    string
	stored int64
	status int
	elem   *list.Element
}

func newRouteCache(c *scenarios.RouteCache) *routeCache {
	return &routeCache{ttl: int64(c.TTL), max: c.MaxEntries, entries: map[string]*cacheEntry{}}
}

// get returns the status stored under key if it is fresh at now; a stale
// entry is dropped.
func (c *routeCache) get(key string, now int64) (int, bool) {
	e := c.entries[key]
	if e == nil {
		c.misses++
		return 0, false
	}
	if now-e.stored >= c.ttl {
		c.remove(e)
		c.misses++
		return 0, false
	}
	c.lru.MoveToFront(e.elem)
	c.hits++
	return e.status, true
}

func (c *routeCache) put(key string, status int, now int64) {
	if old := c.entries[key]; old != nil {
		c.remove(old)
	}
	for c.max > 0 && c.lru.Len() >= c.max {
		c.remove(c.lru.Back().Value.(*cacheEntry))
	}
	e := &cacheEntry{key: key, stored: now, status: status}
	e.elem = c.lru.PushFront(e)
	c.entries[key] = e
}

func (c *routeCache) drop(key string) {
	if e := c.entries[key]; e != nil {
		c.remove(e)
	}
}

func (c *routeCache) remove(e *cacheEntry) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
}

// routeFaults is one route's fault filter: the abort and the delay on now.
type routeFaults struct {
	abort, delay *scenarios.Fault
	filter       *faultfilter.Filter // nil: none on
	rng          *rand.Rand
}

// buildEdge sets up the routes' caches and fault filters, and checks that
// every HTTP fault makes a filter.
func (m *model) buildEdge(s *spec) error {
	m.edge = edgeState{pending: map[int32]pendingCache{}, aborts: map[int32]int{}, hits: map[int32]int{}, lookups: Stream(s.seed, "gateway/lookups")}
	for _, ls := range s.loads {
		m.edge.payment = append(m.edge.payment, strings.EqualFold(ls.method, "POST") && strings.TrimSuffix(ls.path, "/") == "/v1/payments")
	}
	for _, r := range m.gw.routes {
		if r.spec.cache != nil {
			r.cache = newRouteCache(r.spec.cache)
		}
		if g := r.spec.guards; g != nil && g.intro != nil {
			r.intro = &introCache{entries: map[tokenID]introEntry{}}
			r.introRNG = Stream(s.seed, "gateway/introspection/"+r.spec.name)
		}
	}
	if err := m.buildQuota(s); err != nil {
		return err
	}
	for _, f := range s.faults {
		if f.http == nil {
			continue
		}
		abort, delay := f.http, (*scenarios.Fault)(nil)
		if f.http.Action == scenarios.ActionDelay {
			abort, delay = nil, f.http
		}
		cfg, err := dataplane.RouteFault(abort, delay)
		if err == nil {
			_, err = faultfilter.New(cfg, rand.New(rand.NewPCG(0, 0))) // checks only
		}
		if err != nil {
			return fmt.Errorf("fault on %s: %w", f.http.Target, err)
		}
		for _, r := range m.gw.routes {
			if r.spec.name == f.http.Target.Route && r.faults == nil {
				r.faults = &routeFaults{rng: Stream(s.seed, "gateway/fault/"+r.spec.name)}
			}
		}
	}
	return nil
}

// switchRouteFault turns an HTTP fault on or off on its route.
func (m *model) switchRouteFault(f *fault, on bool) {
	hf := f.spec.http
	for _, r := range m.gw.routes {
		rf := r.faults
		if rf == nil || r.spec.name != hf.Target.Route {
			continue
		}
		slot := &rf.abort
		if hf.Action == scenarios.ActionDelay {
			slot = &rf.delay
		}
		if on {
			*slot = hf
		} else if *slot == hf {
			*slot = nil
		}
		rf.filter = nil
		if rf.abort == nil && rf.delay == nil {
			continue
		}
		// buildEdge has checked that each of these makes a filter.
		cfg, err := dataplane.RouteFault(rf.abort, rf.delay)
		if err != nil {
			panic("sim: " + err.Error())
		}
		if rf.filter, err = faultfilter.New(cfg, rf.rng); err != nil {
			panic("sim: " + err.Error())
		}
	}
}

// gatewayEdge runs the route's fault filter, then its cache, and starts
// its lifecycle unless one of them answered.
func (m *model) gatewayEdge(ex *exchange, r *route) {
	if rf := r.faults; rf != nil && rf.filter != nil {
		d := rf.filter.Decide(rf.rng)
		if d.Delay > 0 {
			if d.Abort != 0 {
				m.edge.aborts[ex.id] = d.Abort
			}
			m.at(m.t+int64(d.Delay), event{kind: evFaultHold, idx: ex.id, gen: ex.gen})
			return
		}
		if d.Abort != 0 {
			m.reject(ex, statusOutcome(d.Abort))
			return
		}
	}
	m.gatewayCache(ex, r)
}

// gatewayDelayed resumes a request the fault filter held.
func (m *model) gatewayDelayed(ex *exchange) {
	if status, ok := m.edge.aborts[ex.id]; ok {
		delete(m.edge.aborts, ex.id)
		m.reject(ex, statusOutcome(status))
		return
	}
	m.gatewayCache(ex, m.loads[ex.load].route)
}

// gatewayCache answers a GET from the route's cache when it can, and
// otherwise starts the route's lifecycle.
func (m *model) gatewayCache(ex *exchange, r *route) {
	if c := r.cache; c != nil {
		l := m.loads[ex.load]
		switch strings.ToUpper(l.spec.method) {
		case "GET", "HEAD":
			key := m.cacheKey(l)
			if status, hit := c.get(key, m.t); hit {
				if m.cal != nil {
					m.edge.hits[ex.id] = status
					m.at(m.t+m.cal.hitCost(m.host, l.spec.grpc), event{kind: evCacheHit, idx: ex.id, gen: ex.gen})
					return
				}
				m.reject(ex, statusOutcome(status))
				return
			}
			m.edge.pending[ex.id] = pendingCache{key: key}
		case "POST", "PUT", "PATCH", "DELETE":
			m.edge.pending[ex.id] = pendingCache{key: l.spec.host + l.spec.path, unsafe: true}
		}
	}
	m.routeIn(ex, r)
}

// cacheAnswered answers a cache hit once its cost was paid.
func (m *model) cacheAnswered(ex *exchange) {
	status := m.edge.hits[ex.id]
	delete(m.edge.hits, ex.id)
	m.reject(ex, statusOutcome(status))
}

// cacheKey is the cache key of a load's next request: its Host and path,
// with a payment drawn among those created so far in place of {payment}.
func (m *model) cacheKey(l *load) string {
	p := l.spec.path
	if strings.Contains(p, scenarios.PaymentPlaceholder) {
		id := "pay_none-yet"
		if n := m.edge.created; n > 0 {
			id = "pay#" + strconv.FormatInt(m.edge.lookups.Int64N(n), 10)
		}
		p = strings.ReplaceAll(p, scenarios.PaymentPlaceholder, id)
	}
	return l.spec.host + p
}

// edgeAnswer is told a client request's final answer before it goes back:
// the cache stores or drops what the request left pending, and a created
// payment becomes one lookups may name.
func (m *model) edgeAnswer(ex *exchange, o outcome) {
	ok2xx := o.fail == lifecycle.NoFailure && o.status >= 200 && o.status < 300
	if ok2xx && m.edge.payment[ex.load] {
		m.edge.created++
	}
	pc, ok := m.edge.pending[ex.id]
	if !ok {
		return
	}
	delete(m.edge.pending, ex.id)
	c := ex.route.cache
	switch {
	case pc.unsafe:
		if ok2xx || (o.status >= 300 && o.status < 400) {
			c.drop(pc.key)
		}
	case o.fail == lifecycle.NoFailure && scenarios.CacheableStatus(int(o.status)):
		c.put(pc.key, int(o.status), m.t)
	}
}
