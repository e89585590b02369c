package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/scenarios"
)

// introspectionClientID is the gateway's client id at the run's
// introspection endpoint; its secret is derived from the seed.
const introspectionClientID = "meshbench-gateway"

// introspectionPath is the endpoint of one route: each answers after a
// draw of its route's latency.
func introspectionPath(route string) string { return "/introspect/" + route }

// authorizationServer is the run's OAuth 2.0 token introspection endpoint
// (RFC 7662) on loopback, one path per introspection route. It knows the
// run's tokens as the authorization server that issued them would: it
// verifies a token with the run's test issuer's key (bench/consumer
// derives it from the seed, as the load generator does) and answers
// active with its sub, iss, aud and exp when the signature holds and it
// has not expired, inactive otherwise; a token for another audience is
// active, and the gateway refuses it by its aud. It answers each call
// after a draw of the route's latency, from a stream of its own.
type authorizationServer struct {
	secret string
	routes map[string]*introspectionRoute
}

type introspectionRoute struct {
	verify  *auth.JWT // nil: the route names no issuer, every token is inactive
	latency scenarios.Distribution
	mu      sync.Mutex
	rng     *rand.Rand
}

// newAuthorizationServer prepares the endpoint of every introspection
// route of the plan; nil when there is none.
func newAuthorizationServer(plan *scenarios.Plan, seed uint64) (*authorizationServer, error) {
	var as *authorizationServer
	for i, r := range plan.Gateway.Routes {
		if r.Auth == nil || r.Auth.Type != scenarios.AuthIntrospection {
			continue
		}
		if as == nil {
			as = &authorizationServer{secret: "mbs_" + strconv.FormatUint(seed*0x9e3779b97f4a7c15+0x5ec, 16), routes: map[string]*introspectionRoute{}}
		}
		spec := r.Auth.Introspection
		if spec == nil {
			spec = &scenarios.Introspection{Latency: scenarios.Constant(time.Millisecond)}
		}
		d, err := spec.Latency.Build()
		if err != nil {
			return nil, fmt.Errorf("route %s: introspection latency: %w", r.Name, err)
		}
		ir := &introspectionRoute{latency: d, rng: rand.New(rand.NewPCG(seed, 0x1a7e<<32|uint64(i)))}
		if r.Auth.Issuer != "" {
			is, err := consumer.NewIssuer(seed)
			if err != nil {
				return nil, err
			}
			data, err := is.JWKS()
			if err != nil {
				return nil, err
			}
			keys, err := auth.ParseJWKS(data)
			if err != nil {
				return nil, err
			}
			// The audience is the gateway's to check: the server vouches
			// for the token and says whom it is for.
			if ir.verify, err = auth.NewJWT(auth.JWTConfig{Issuer: r.Auth.Issuer, Keys: keys, Algorithms: []string{"ES256"}}); err != nil {
				return nil, err
			}
		}
		as.routes[r.Name] = ir
	}
	return as, nil
}

// ServeHTTP answers an introspection request.
func (as *authorizationServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ir := as.routes[r.URL.Path[len(introspectionPath("")):]]
	if ir == nil || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if id, secret, ok := r.BasicAuth(); !ok || id != introspectionClientID || secret != as.secret {
		w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
		http.Error(w, "invalid client", http.StatusUnauthorized)
		return
	}
	ir.mu.Lock()
	wait := ir.latency.Sample(ir.rng)
	ir.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	ans := map[string]any{"active": false}
	if tok := r.PostFormValue("token"); tok != "" && ir.verify != nil {
		if claims, err := ir.verify.Verify(r.Context(), tok); err == nil {
			ans = map[string]any{"active": true, "sub": claims["sub"], "iss": claims["iss"], "aud": claims["aud"], "exp": claims["exp"], "token_type": "Bearer"}
		} else if !isTokenError(err) {
			http.Error(w, "server error", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(ans)
}

// isTokenError reports whether a verification error is about the token
// (inactive) rather than the server.
func isTokenError(err error) bool {
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// params are the gateway's auth parameters of route r against the
// endpoint at base.
func (as *authorizationServer) params(r *scenarios.Route, base string) auth.Params {
	return dataplane.IntrospectionParams(r.Auth, base+introspectionPath(r.Name), introspectionClientID, as.secret)
}
