package local

import (
	"fmt"
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/config"
)

// startGateway starts the edge proxy: the scenario's routes in order, each
// to its service's cluster under the variant's policy (the route's timeout
// or the policy's request timeout, retries, hedging), the route's
// authentication and rate limits, and the policy's rate limit as the
// simulator applies it (see gatewayLimits). Its clusters' transports count
// each request's tries for the results.
func (e *env) startGateway() error {
	limits, err := newGatewayLimits(e.pol)
	if err != nil {
		return err
	}
	cfg := config.Config{
		Mode:   config.ModeGateway,
		Server: config.ServerConfig{ShutdownTimeout: config.Duration(5 * time.Second)},
	}
	routed := map[string]bool{}
	for _, r := range e.plan.Gateway.Routes {
		timeout := r.Timeout
		if timeout <= 0 {
			timeout = e.pol.Timeouts.Request
		}
		rc := config.RouteConfig{
			Name:    r.Name,
			Match:   matchConfig(r.Match),
			Cluster: r.Service,
			Policy:  routePolicy(e.pol, timeout, true),
		}
		if r.Auth != nil && r.Auth.Type != "" && r.Auth.Type != "none" {
			rc.Middlewares = append(rc.Middlewares, config.MiddlewareConfig{Name: mwAuth})
		}
		if limits.perRoute != nil {
			rc.Middlewares = append(rc.Middlewares, config.MiddlewareConfig{Name: mwPolicyLimit})
		}
		if r.RateLimit != nil {
			rl, err := proxyRateLimit(r.RateLimit)
			if err != nil {
				return fmt.Errorf("route %s: %w", r.Name, err)
			}
			rc.RateLimit = rl
		}
		cfg.Routes = append(cfg.Routes, rc)
		if routed[r.Service] {
			continue
		}
		routed[r.Service] = true
		svc := e.byName[r.Service]
		if svc == nil {
			return fmt.Errorf("route %s: unknown service %q", r.Name, r.Service)
		}
		eps, err := e.endpoints(gatewayNode, e.plan.Gateway.Zone, svc)
		if err != nil {
			return err
		}
		cfg.Clusters = append(cfg.Clusters, clusterConfig(r.Service, e.pol, eps, e.plan.Gateway.Zone, true))
	}

	opts := e.proxyOptions(
		proxy.WithTransport(func(_ string, t http.RoundTripper) (http.RoundTripper, error) {
			return e.tries.transport(t), nil
		}),
		proxy.WithMiddleware(mwAuth, func(route string, _ map[string]any) (proxy.Middleware, error) {
			for _, r := range e.plan.Gateway.Routes {
				if r.Name == route && r.Auth != nil {
					return authMiddleware(r.Auth), nil
				}
			}
			return nil, fmt.Errorf("route %s has no auth", route)
		}),
	)
	if limits.perRoute != nil {
		opts = append(opts, proxy.WithMiddleware(mwPolicyLimit, func(string, map[string]any) (proxy.Middleware, error) {
			return limits.perRoute()
		}))
	}
	if limits.handler != nil {
		opts = append(opts, proxy.WithHandlerMiddleware(limits.handler))
	}
	p, err := proxy.New(cfg, opts...)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	e.gateway = p
	addr, err := e.serve(p.Serve)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	e.gwAddr = addr
	return nil
}
