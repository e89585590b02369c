package local

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/scenarios"
)

// mwAuth names the route middleware that checks a route's authentication.
const mwAuth = "meshbench_auth"

// mwForgetConsumer names the route middleware that removes the
// verified-consumer headers from requests on routes without
// authentication (forgetConsumer).
const mwForgetConsumer = "meshbench_forget_consumer"

// reasonUnauthorised is the authentication middleware's reason, in
// X-Meshbench-Reason.
const reasonUnauthorised = "unauthorized"

// jwksFile is the run's test issuer's JWKS, in the env's folder, where the
// gateway's JWT verifiers load it.
const jwksFile = "issuer-jwks.json"

// authParams is route r's authentication as the proxy's auth middleware
// takes it (proxy/auth.Params): a jwt route verifies ES256 tokens against
// the run's test issuer's JWKS (written to jwks) with r's issuer and
// audience; an apiKey route holds keys hashed (keys, from
// consumer.GatewayKeys; none: any non-empty key).
func authParams(r *scenarios.Route, jwks string, keys []auth.APIKey) auth.Params {
	p := auth.Params{Type: r.Auth.Type}
	switch r.Auth.Type {
	case scenarios.AuthJWT:
		p.Issuer, p.JWKSFile, p.Algorithms = r.Auth.Issuer, jwks, []string{"ES256"}
		if r.Auth.Audience != "" {
			p.Audiences = []string{r.Auth.Audience}
		}
	case scenarios.AuthAPIKey:
		p.Header, p.Keys = r.Auth.Header, keys
	}
	return p
}

// authMiddlewares builds the gateway's authentication of every route that
// has one, by route name: proxy/auth's middleware with the route's
// parameters (authParams), which also tells the per-consumer limits who
// the consumer is (verifiedConsumer). The run's test issuer is derived
// from the seed, as the load generator derives it, and its JWKS written to
// the env's folder.
func (e *env) authMiddlewares() (map[string]proxy.Middleware, error) {
	routes := e.plan.Gateway.Routes
	mws := map[string]proxy.Middleware{}
	jwks := ""
	keys := consumer.GatewayKeys(&e.plan.Topology, e.plan.Load, consumer.ForPlan(e.plan.Load, e.seed))
	for i := range routes {
		r := &routes[i]
		if r.Auth == nil || r.Auth.Type == "" || r.Auth.Type == scenarios.AuthNone {
			continue
		}
		if r.Auth.Type == scenarios.AuthJWT && jwks == "" {
			var err error
			if jwks, err = e.writeJWKS(); err != nil {
				return nil, err
			}
		}
		params := authParams(r, jwks, keys[r.Name])
		if r.Auth.Type == scenarios.AuthIntrospection {
			base, err := e.startAuthorizationServer()
			if err != nil {
				return nil, err
			}
			params = e.as.params(r, base)
		}
		mw, err := auth.Build(r.Name, params, auth.Env{})
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Name, err)
		}
		mws[r.Name] = verifiedConsumer(mw)
	}
	return mws, nil
}

// startAuthorizationServer starts the run's introspection endpoint on
// loopback, once, and returns its base URL.
func (e *env) startAuthorizationServer() (string, error) {
	if e.asURL != "" {
		return e.asURL, nil
	}
	as, err := newAuthorizationServer(e.plan, e.seed)
	if err != nil {
		return "", fmt.Errorf("introspection endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(introspectionPath(""), as)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	addr, err := e.serve(srv.Serve)
	if err != nil {
		return "", fmt.Errorf("introspection endpoint: %w", err)
	}
	e.mu.Lock()
	e.closers = append(e.closers, func() { _ = srv.Close() })
	e.mu.Unlock()
	e.as, e.asURL = as, "http://"+addr
	return e.asURL, nil
}

// writeJWKS writes the run's test issuer's JWKS to the env's folder and
// returns its path.
func (e *env) writeJWKS() (string, error) {
	is, err := consumer.NewIssuer(e.seed)
	if err != nil {
		return "", err
	}
	data, err := is.JWKS()
	if err != nil {
		return "", err
	}
	if e.dir == "" {
		if e.dir, err = os.MkdirTemp("", "meshbench-local-*"); err != nil {
			return "", fmt.Errorf("jwks folder: %w", err)
		}
	}
	path := filepath.Join(e.dir, jwksFile)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("jwks: %w", err)
	}
	return path, nil
}

// verifiedConsumer wraps an authentication middleware so that the request
// it lets through names its verified consumer in the header the
// per-consumer limits key on (dataplane.HeaderAPIKeyConsumer,
// dataplane.HeaderJWTSub), after removing whatever the client sent there,
// as Envoy's jwt_authn claim_to_headers; a refusal carries the reason
// "unauthorized".
func verifiedConsumer(authn func(http.Handler) http.Handler) proxy.Middleware {
	return func(next http.Handler) http.Handler {
		inner := authn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c, ok := auth.ConsumerFrom(r.Context()); ok {
				switch c.Method {
				case auth.MethodJWT, auth.MethodOAuth2:
					r.Header.Set(dataplane.HeaderJWTSub, c.ID)
				case auth.MethodAPIKey:
					r.Header.Set(dataplane.HeaderAPIKeyConsumer, c.ID)
				}
			}
			if rw, ok := w.(*reasonWriter); ok {
				w = rw.ResponseWriter // the route gets the proxy's own writer
			}
			next.ServeHTTP(w, r)
		}))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(dataplane.HeaderJWTSub) != "" || r.Header.Get(dataplane.HeaderAPIKeyConsumer) != "" {
				r.Header = r.Header.Clone()
				r.Header.Del(dataplane.HeaderJWTSub)
				r.Header.Del(dataplane.HeaderAPIKeyConsumer)
			}
			inner.ServeHTTP(&reasonWriter{ResponseWriter: w}, r)
		})
	}
}

// reasonWriter marks a 401 with the authentication's reason.
type reasonWriter struct{ http.ResponseWriter }

func (w *reasonWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		w.Header().Set(load.HeaderReason, reasonUnauthorised)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the proxy's writer.
func (w *reasonWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// forgetConsumer removes the verified-consumer headers
// (dataplane.HeaderAPIKeyConsumer, dataplane.HeaderJWTSub) from requests on
// a route that verifies no one, so that a client cannot name the limiter
// it is counted against there: they share the anonymous one. It is a
// proxy.HeadChecker, so the route keeps the proxy's fast path.
type forgetConsumer struct{ next http.Handler }

func forgetConsumerMiddleware(next http.Handler) http.Handler { return forgetConsumer{next} }

func (f forgetConsumer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(dataplane.HeaderJWTSub) != "" || r.Header.Get(dataplane.HeaderAPIKeyConsumer) != "" {
		r.Header = r.Header.Clone()
		r.Header.Del(dataplane.HeaderJWTSub)
		r.Header.Del(dataplane.HeaderAPIKeyConsumer)
	}
	f.next.ServeHTTP(w, r)
}

// CheckHead implements proxy.HeadChecker: every request passes, without
// the headers.
func (forgetConsumer) CheckHead(_ func(string) (string, int), strip func(string)) bool {
	strip(dataplane.HeaderJWTSub)
	strip(dataplane.HeaderAPIKeyConsumer)
	return true
}

var _ proxy.HeadChecker = forgetConsumer{}
