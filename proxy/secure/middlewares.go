package secure

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/fault"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/meshbench/meshbench/proxy/ratelimit"
)

// Names of the route middlewares that New registers.
const (
	// MiddlewareAuth authenticates the caller by a JWT or an API key and
	// checks scopes and claims (params: proxy/auth.Params).
	MiddlewareAuth = "auth"
	// MiddlewarePeerAuthz admits or refuses the peer by its verified SPIFFE
	// ID (params: allow, deny; proxy/mtls.AuthzPolicy).
	MiddlewarePeerAuthz = "peerAuthz"
	// MiddlewareFault delays and aborts a percentage of requests (params:
	// proxy/fault.Config).
	MiddlewareFault = "fault"
	// MiddlewareCache answers GET and HEAD from a shared response cache
	// (params: proxy/cache.Config).
	MiddlewareCache = "cache"
	// MiddlewareConsumerLimit rate-limits each authenticated consumer
	// (auth.ConsumerKey) separately (params: ConsumerLimitParams). Put it
	// after auth or peerAuthz in the route's list.
	MiddlewareConsumerLimit = "consumerLimit"
)

// Reasons of the answers the security middlewares give by themselves, sent
// in proxy.HeaderReason beside the core's own reasons; consumerLimit's 429
// is the core's proxy.ReasonConsumerLimited.
const (
	ReasonUnauthenticated = "unauthenticated" // 401: no or invalid credentials
	ReasonForbidden       = "forbidden"       // 403: the consumer lacks a scope or claim
	ReasonPeerDenied      = "peer_denied"     // 403: the peer's SPIFFE ID is not authorized
	ReasonFaultInjected   = "fault_injected"  // the fault filter aborted the request
)

// ConsumerLimitParams are the params of the consumerLimit middleware: a
// proxy/ratelimit limiter per consumer. Anonymous requests are keyed by
// their client address instead.
type ConsumerLimitParams struct {
	Type    string        `yaml:"type,omitempty"`
	Rate    float64       `yaml:"rate,omitempty"`
	Burst   int           `yaml:"burst,omitempty"`
	Window  time.Duration `yaml:"window,omitempty"`
	Limit   int           `yaml:"limit,omitempty"`
	MaxKeys int           `yaml:"maxKeys,omitempty"`
	IdleTTL time.Duration `yaml:"idleTtl,omitempty"`
}

// requestID is the request id the proxy assigned (or kept), for the audit
// log.
func requestID(r *http.Request) string {
	if id := proxy.RequestID(r); id != "" {
		return id
	}
	return auth.HeaderRequestID(r)
}

func (l *layer) authFactory(route string, params map[string]any) (proxy.Middleware, error) {
	var p auth.Params
	if err := proxy.DecodeParams(params, &p); err != nil {
		return nil, err
	}
	mw, err := auth.Build(route, p, auth.Env{Audit: l.audit, Clock: l.cfg.Clock, RequestID: requestID})
	if err != nil {
		return nil, err
	}
	return l.tagged(route, mw, func(status int) string {
		if status == http.StatusForbidden {
			return ReasonForbidden
		}
		return ReasonUnauthenticated
	}), nil
}

func (l *layer) peerAuthzFactory(route string, params map[string]any) (proxy.Middleware, error) {
	var p mtls.AuthzPolicy
	if err := proxy.DecodeParams(params, &p); err != nil {
		return nil, err
	}
	p.Route, p.Audit, p.Clock, p.RequestID = route, l.audit, l.cfg.Clock, requestID
	mw, err := mtls.Authz(p)
	if err != nil {
		return nil, err
	}
	return l.tagged(route, mw, func(int) string { return ReasonPeerDenied }), nil
}

// faultFactory draws each route's faults from a stream of its own, derived
// from the seed (proxy.WithSeed's, else a random one), the route's name and
// the reload generation.
func (l *layer) faultFactory(route string, params map[string]any) (proxy.Middleware, error) {
	var c fault.Config
	if err := proxy.DecodeParams(params, &c); err != nil {
		return nil, err
	}
	l.mu.Lock()
	gen := l.gen
	l.mu.Unlock()
	h := fnv.New64a()
	_, _ = io.WriteString(h, route)
	f, err := fault.New(c, rand.New(rand.NewPCG(l.seed, h.Sum64()^gen)))
	if err != nil {
		return nil, err
	}
	return l.tagged(route, f.Middleware, func(int) string { return ReasonFaultInjected }), nil
}

// cacheFactory keeps a route's cache across reloads while its params stay
// the same.
func (l *layer) cacheFactory(route string, params map[string]any) (proxy.Middleware, error) {
	var c cache.Config
	if err := proxy.DecodeParams(params, &c); err != nil {
		return nil, err
	}
	key, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	c.Clock = l.cfg.Clock
	l.mu.Lock()
	defer l.mu.Unlock()
	k := cacheKey{route, string(key)}
	if e := l.caches[k]; e != nil {
		e.gen = l.gen
		return e.c.Middleware, nil
	}
	cc, err := cache.New(c)
	if err != nil {
		return nil, err
	}
	l.caches[k] = &cacheEntry{c: cc, gen: l.gen}
	return cc.Middleware, nil
}

// pruneCaches drops the caches the configuration just applied no longer
// uses.
func (l *layer) pruneCaches() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, e := range l.caches {
		if e.gen != l.gen {
			delete(l.caches, k)
		}
	}
}

// consumerLimitFactory refuses a consumer over its limit as the route's own
// limiter refuses a request: 429 with Retry-After, logged and counted.
func (l *layer) consumerLimitFactory(route string, params map[string]any) (proxy.Middleware, error) {
	var p ConsumerLimitParams
	if err := proxy.DecodeParams(params, &p); err != nil {
		return nil, err
	}
	lim, err := ratelimit.NewKeyed(ratelimit.Config{Type: cmp.Or(p.Type, "token_bucket"), Rate: p.Rate, Burst: p.Burst,
		Window: p.Window, Limit: p.Limit, MaxKeys: p.MaxKeys, IdleTTL: p.IdleTTL})
	if err != nil {
		return nil, fmt.Errorf("consumerLimit: %w", err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := auth.ConsumerKey(r)
			if key == "" {
				host, _, err := net.SplitHostPort(r.RemoteAddr)
				if err != nil {
					host = r.RemoteAddr
				}
				key = "ip:" + host
			}
			if d := lim.Allow(l.clock(), key); !d.Allowed {
				l.proxy.RefuseRateLimited(w, r, route, proxy.ReasonConsumerLimited, d.RetryAfter)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}
