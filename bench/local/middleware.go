package local

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/scenarios"
)

// Names of the route middlewares the gateway registers.
const (
	mwAuth        = "meshbench_auth"
	mwPolicyLimit = "meshbench_policy_limit"
)

// Reasons of the gateway's own middlewares, in X-Meshbench-Reason.
const (
	reasonUnauthorised = "unauthorized"
	reasonRateLimited  = "rate_limited"
)

// authMiddleware checks a route's authentication as far as the simulator
// does without keys: an API key present in its header (and listed, when
// keys are listed), or a bearer token present. Signatures and claims are
// not checked: the scenario format names no key to check them with.
func authMiddleware(a *scenarios.Auth) proxy.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !authorised(a, r) {
				w.Header().Set(load.HeaderReason, reasonUnauthorised)
				http.Error(w, reasonUnauthorised, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func authorised(a *scenarios.Auth, r *http.Request) bool {
	switch a.Type {
	case scenarios.AuthAPIKey:
		h := a.Header
		if h == "" {
			h = "X-API-Key"
		}
		v := r.Header.Get(h)
		if v == "" {
			return false
		}
		if len(a.Keys) == 0 {
			return true
		}
		for _, k := range a.Keys {
			if k == v {
				return true
			}
		}
		return false
	case scenarios.AuthJWT:
		v := r.Header.Get("Authorization")
		return len(v) > 7 && strings.EqualFold(v[:7], "bearer ")
	}
	return true
}

// limitMiddleware answers 429 with Retry-After when lim refuses, with the
// time passed in as every proxy/ratelimit limiter wants it.
func limitMiddleware(lim ratelimit.Limiter) proxy.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d := lim.Allow(time.Now()); !d.Allowed {
				refuse(w, d.RetryAfter)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// keyedLimitMiddleware is limitMiddleware per client: the client identity
// the load generator sends, as the simulator keys client_ip, api_key and
// jwt_sub limits by the request's client.
func keyedLimitMiddleware(k *ratelimit.Keyed) proxy.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d := k.Allow(time.Now(), r.Header.Get(load.HeaderClient)); !d.Allowed {
				refuse(w, d.RetryAfter)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func refuse(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set(load.HeaderReason, reasonRateLimited)
	w.Header().Set("Retry-After", strconv.Itoa(int(min(86400, math.Max(1, math.Ceil(retryAfter.Seconds()))))))
	http.Error(w, reasonRateLimited, http.StatusTooManyRequests)
}

// gatewayLimits builds the policy's rate limit as the gateway applies it,
// following the simulator: a global or per-client limit is one limiter in
// front of every route (a handler middleware); a per-route limit is one
// limiter per route (a route middleware, which runs before the route's own
// limit); a concurrency limit is the gateway clusters' concurrency limiter
// (see clusterConfig).
type gatewayLimits struct {
	// handler, when not nil, limits every request before routing.
	handler proxy.Middleware
	// perRoute, when not nil, makes each route's own limiter.
	perRoute func() (proxy.Middleware, error)
}

func newGatewayLimits(pol *scenarios.Policy) (*gatewayLimits, error) {
	g := &gatewayLimits{}
	rl := pol.RateLimit
	if rl == nil || ratelimit.IsConcurrency(rl.Type) {
		return g, nil
	}
	cfg := limiterConfig(rl)
	switch rl.Key {
	case "", scenarios.LimitKeyGlobal:
		lim, err := ratelimit.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("policy rate limit: %w", err)
		}
		g.handler = limitMiddleware(lim)
	case scenarios.LimitKeyRoute:
		if _, err := ratelimit.New(cfg); err != nil {
			return nil, fmt.Errorf("policy rate limit: %w", err)
		}
		g.perRoute = func() (proxy.Middleware, error) {
			lim, err := ratelimit.New(cfg)
			if err != nil {
				return nil, err
			}
			return limitMiddleware(lim), nil
		}
	default:
		k, err := ratelimit.NewKeyed(cfg)
		if err != nil {
			return nil, fmt.Errorf("policy rate limit: %w", err)
		}
		g.handler = keyedLimitMiddleware(k)
	}
	return g, nil
}
