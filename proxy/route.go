package proxy

import (
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// route is a compiled route (or sidecar service): where requests go and the
// policy they get on the way.
type route struct {
	name    string
	env     *env
	match   matcher
	rewrite rewriter

	clusters []*cluster // one, or the weighted split
	cum      []int      // cumulative split weights
	total    int

	timeout     time.Duration // <= 0: none
	retry       *retry.Policy // nil: one try
	budget      *retry.Budget
	hedger      *retry.Hedger
	bufferBytes int64
	replays     bool // retries or hedges: small bodies are buffered for replay

	limiter     ratelimit.Limiter
	consumer    *ratelimit.Keyed
	consumerHdr string // canonical header name; "" keys by client IP

	hashKey    balancer.HashKey
	useHashKey bool

	handler http.Handler // the middleware chain ending in serveFromContext; nil without middlewares

	fast bool // the fast path may serve it (fastpath.go)
}

// pickCluster chooses the destination of one request: the only cluster, or
// one of the split by weight, as Envoy's weighted_clusters.
func (rt *route) pickCluster(st *reqState) *cluster {
	if len(rt.clusters) == 1 {
		return rt.clusters[0]
	}
	n := st.rng.IntN(rt.total)
	for i, c := range rt.cum {
		if n < c {
			return rt.clusters[i]
		}
	}
	return rt.clusters[len(rt.clusters)-1]
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

// serve applies the route's rate limits and hands the request to a cluster.
func (rt *route) serve(w http.ResponseWriter, r *http.Request, st *reqState) {
	now := time.Now()
	if rt.limiter != nil {
		if d := rt.limiter.Allow(now); !d.Allowed {
			rt.env.metrics.rejected(rt.name, ReasonRateLimited)
			w.Header()["Retry-After"] = []string{retryAfterSeconds(d.RetryAfter)}
			writeError(w, st, http.StatusTooManyRequests, ReasonRateLimited)
			return
		}
	}
	if rt.consumer != nil {
		key := st.clientIP
		if rt.consumerHdr != "" {
			key = ""
			if vs := r.Header[rt.consumerHdr]; len(vs) > 0 {
				key = vs[0]
			}
		}
		if d := rt.consumer.Allow(now, key); !d.Allowed {
			rt.env.metrics.rejected(rt.name, ReasonConsumerLimited)
			w.Header()["Retry-After"] = []string{retryAfterSeconds(d.RetryAfter)}
			writeError(w, st, http.StatusTooManyRequests, ReasonConsumerLimited)
			return
		}
	}
	c := rt.pickCluster(st)
	st.cluster = c.name
	x := exchange{rt: rt, c: c, w: w, in: r, st: st}
	x.run(now)
}
