package local

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/fault"
	"github.com/meshbench/meshbench/scenarios"
)

// Route middlewares of the gateway's edge features.
const (
	mwFault = "meshbench_fault" // the route's fault filter, switched by the timeline
	mwCache = "meshbench_cache" // the route's response cache
)

// edge holds the gateway's per-route fault filters and caches. The fault
// timeline switches a route's filter on and off (routeFault); the
// middleware reads the current one on every request.
type edge struct {
	mu      sync.Mutex
	faults  map[string]*routeFaults
	caches  map[string]*cache.Cache
	seed    uint64
	byRoute map[string]int
}

// routeFaults is one route's fault filter: the abort and the delay on
// now, and the filter built from them (nil: none on).
type routeFaults struct {
	abort, delay *scenarios.Fault
	filter       atomic.Pointer[fault.Filter]
	index        uint64 // the route's index, for its streams
	switches     uint64 // filters built so far: each draws from a stream of its own
}

// edgeMiddlewares adds the fault and cache middlewares to the routes of cfg
// (after authentication: fault first, so that an abort answers even a
// request the cache would have) and returns the options that register
// them.
func (e *env) edgeMiddlewares(cfg *config.Config) []proxy.Option {
	ed := &edge{faults: map[string]*routeFaults{}, caches: map[string]*cache.Cache{}, seed: e.seed, byRoute: map[string]int{}}
	e.edge = ed
	for i, r := range e.plan.Gateway.Routes {
		ed.byRoute[r.Name] = i
		if hasRouteFault(e.plan, r.Name) {
			cfg.Routes[i].Middlewares = append(cfg.Routes[i].Middlewares, config.MiddlewareConfig{Name: mwFault})
		}
		if e.pol.CacheOf(r.Name) != nil {
			cfg.Routes[i].Middlewares = append(cfg.Routes[i].Middlewares, config.MiddlewareConfig{Name: mwCache})
		}
	}
	return []proxy.Option{
		proxy.WithMiddleware(mwFault, func(route string, _ map[string]any) (proxy.Middleware, error) {
			return ed.faultMiddleware(route), nil
		}),
		proxy.WithMiddleware(mwCache, func(route string, _ map[string]any) (proxy.Middleware, error) {
			rc := e.pol.CacheOf(route)
			if rc == nil {
				return nil, fmt.Errorf("route %s has no cache", route)
			}
			return ed.cacheMiddleware(route, rc)
		}),
	}
}

func hasRouteFault(plan *scenarios.Plan, route string) bool {
	for _, f := range plan.Faults {
		if f.HTTPFault() && f.Target.Route == route {
			return true
		}
	}
	return false
}

// route returns a route's fault state, made on first use.
func (ed *edge) route(name string) *routeFaults {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	rf := ed.faults[name]
	if rf == nil {
		rf = &routeFaults{index: uint64(ed.byRoute[name])}
		ed.faults[name] = rf
	}
	return rf
}

// faultMiddleware applies the route's fault filter while one is on.
func (ed *edge) faultMiddleware(route string) proxy.Middleware {
	rf := ed.route(route)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f := rf.filter.Load(); f != nil {
				f.Middleware(next).ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// switchFault turns fault f on or off on its route, rebuilding the filter
// from the faults then on.
func (ed *edge) switchFault(f *scenarios.Fault, on bool) error {
	rf := ed.route(f.Target.Route)
	ed.mu.Lock()
	defer ed.mu.Unlock()
	slot := &rf.abort
	if f.Action == scenarios.ActionDelay {
		slot = &rf.delay
	}
	if on {
		*slot = f
	} else if *slot == f {
		*slot = nil
	}
	if rf.abort == nil && rf.delay == nil {
		rf.filter.Store(nil)
		return nil
	}
	cfg, err := dataplane.RouteFault(rf.abort, rf.delay)
	if err != nil {
		return err
	}
	// A filter still serving the requests it took keeps its own stream: a
	// *rand.Rand is not safe for concurrent use.
	rf.switches++
	flt, err := fault.New(cfg, rand.New(rand.NewPCG(ed.seed, 0xfa17<<32|rf.index<<16|rf.switches)))
	if err != nil {
		return err
	}
	rf.filter.Store(flt)
	return nil
}

// cacheMiddleware is the route's response cache (dataplane.RouteCache).
// An answer the cache gives loses the replica's X-Meshbench-Instance, so
// that the results count it as answered by no replica, as the simulator
// does: the upstream did no work for it.
func (ed *edge) cacheMiddleware(route string, rc *scenarios.RouteCache) (proxy.Middleware, error) {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	c := ed.caches[route]
	if c == nil {
		var err error
		if c, err = cache.New(dataplane.RouteCache(rc)); err != nil {
			return nil, fmt.Errorf("route %s: %w", route, err)
		}
		ed.caches[route] = c
	}
	return func(next http.Handler) http.Handler {
		h := c.Middleware(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(&hitWriter{ResponseWriter: w}, r)
		})
	}, nil
}

// cacheStats returns the counters of a route's cache.
func (ed *edge) cacheStats(route string) (cache.Stats, bool) {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	c := ed.caches[route]
	if c == nil {
		return cache.Stats{}, false
	}
	return c.Stats(), true
}

// hitWriter drops the instance header from the cache's own answers.
type hitWriter struct {
	http.ResponseWriter
	wrote bool
}

func (h *hitWriter) WriteHeader(code int) {
	if !h.wrote {
		h.wrote = true
		if hdr := h.Header(); hdr.Get(dataplane.HeaderCache) == cache.StatusHit {
			hdr.Del(fleet.HeaderInstance)
		}
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *hitWriter) Write(b []byte) (int, error) {
	if !h.wrote {
		h.WriteHeader(http.StatusOK)
	}
	return h.ResponseWriter.Write(b)
}

// Flush passes a flush on, for answers streamed through the cache.
func (h *hitWriter) Flush() {
	if !h.wrote {
		h.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(h.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (h *hitWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// routeFaultSteps adds the steps that switch HTTP fault i on and off on
// its route's filter.
func (e *env) routeFaultSteps(i int, add func(at time.Duration, order int, what string, apply func() error)) {
	f := &e.plan.Faults[i]
	what := fmt.Sprintf("fault %d (%s %s)", i, f.Action, f.Target)
	add(f.At, 2*i, what, func() error { return e.edge.switchFault(f, true) })
	if f.For > 0 {
		add(f.At+f.For, 2*i+1, what+" end", func() error { return e.edge.switchFault(f, false) })
	}
}
