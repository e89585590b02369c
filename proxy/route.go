package proxy

import (
	"net/http"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// route is a compiled route (or sidecar service): where requests go and the
// policy they get on the way. The policy is a lifecycle.Route, the same
// object the simulator drives; the rest is what only a real proxy has.
type route struct {
	lc      lifecycle.Route // limits, clusters, timeout, retries, budget, hedging
	name    string
	env     *env
	match   config.Matcher
	rewrite config.Rewriter
	norm    config.PathNormalizer // applied to the path before match

	clusters []*cluster // lc.Clusters' proxy clusters, in the same order

	bufferBytes int64
	replays     bool   // retries or hedges: small bodies are buffered for replay
	consumerHdr string // the consumer limit's canonical header name; "" keys by client IP

	hashKey    balancer.HashKey
	useHashKey bool

	handler http.Handler // the middleware chain ending in serveFromContext; nil without middlewares
	// checks are the chain's middlewares, outermost first, when every one
	// of them is a HeadChecker (nil otherwise): the fast path may then
	// serve the requests they all pass.
	checks []HeadChecker

	fast bool // the fast path may serve it (fastpath.go)
}

// clusterOf returns the proxy cluster behind one of the route's lifecycle
// clusters (nil for nil: a request refused before one was chosen).
func (rt *route) clusterOf(lc *lifecycle.Cluster) *cluster {
	for _, c := range rt.clusters {
		if &c.lc == lc {
			return c
		}
	}
	return nil
}

// serveFromContext is the end of a middleware chain: it recovers the
// request's state and continues with the route's own policy.
func (rt *route) serveFromContext(w http.ResponseWriter, r *http.Request) {
	st := stateFrom(r.Context())
	if st == nil {
		writeError(w, &reqState{}, http.StatusInternalServerError, ReasonInternal)
		return
	}
	rt.serve(w, r, st)
}

// serve runs the request's lifecycle on the general path (exchange.go).
func (rt *route) serve(w http.ResponseWriter, r *http.Request, st *reqState) {
	x := exchange{rt: rt, w: w, in: r, st: st}
	x.run()
}

// observe is every route's lifecycle observer: it counts what the proxy's
// metrics count and passes each event on to the WithDecisions hook.
func (rt *route) observe(e lifecycle.Event) {
	m := rt.env.metrics
	switch e.Kind {
	case lifecycle.EventRefused:
		m.rejected(rt.name, e.Reason)
	case lifecycle.EventSent:
		switch {
		case e.Retry:
			m.retries.WithLabelValues(rt.name, e.Cluster).Inc()
		case e.Hedge:
			m.hedges.WithLabelValues(rt.name, e.Cluster).Inc()
		}
	case lifecycle.EventCommitted:
		m.overflows.WithLabelValues(rt.name, e.Cluster).Inc()
	}
	if rt.env.decisions != nil {
		rt.env.decisions(e)
	}
}
