package local

import (
	"net/http"
	"strings"

	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/scenarios"
)

// mwAuth names the route middleware that checks a route's authentication.
const mwAuth = "meshbench_auth"

// reasonUnauthorised is the authentication middleware's reason, in
// X-Meshbench-Reason.
const reasonUnauthorised = "unauthorized"

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
