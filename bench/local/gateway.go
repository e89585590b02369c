package local

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/config"
)

// startGateway starts the edge proxy as bench/dataplane configures it under
// the variant's policy (the translation the simulator builds its gateway
// from), with each cluster's endpoints and each route's authentication.
// Its clusters' transports count each request's tries for the results.
func (e *env) startGateway() error {
	cfg, err := dataplane.Gateway(e.pol, &e.plan.Topology)
	if err != nil {
		return err
	}
	cfg.Server = config.ServerConfig{ShutdownTimeout: config.Duration(5 * time.Second)}
	if err := e.startRegistry(); err != nil {
		return err
	}
	for i := range cfg.Clusters {
		cc := &cfg.Clusters[i]
		svc := e.byName[cc.Name]
		if svc == nil {
			return fmt.Errorf("gateway: unknown service %q", cc.Name)
		}
		if cc.Endpoints, err = e.endpoints(gatewayNode, e.plan.Gateway.Zone, svc); err != nil {
			return err
		}
		if e.reg != nil {
			if err := e.discover(cc); err != nil {
				return fmt.Errorf("gateway: %w", err)
			}
		}
	}
	authn, err := e.authMiddlewares()
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	keyedByConsumer := cfg.ConsumerRateLimit != nil && strings.HasPrefix(cfg.ConsumerRateLimit.Key, "header:")
	for i, r := range e.plan.Gateway.Routes {
		switch {
		case authn[r.Name] != nil:
			cfg.Routes[i].Middlewares = append(cfg.Routes[i].Middlewares, config.MiddlewareConfig{Name: mwAuth})
		case keyedByConsumer:
			cfg.Routes[i].Middlewares = append(cfg.Routes[i].Middlewares, config.MiddlewareConfig{Name: mwForgetConsumer})
		}
	}

	guardOpts, err := e.guardMiddlewares(&cfg)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	edgeOpts := append(guardOpts, e.edgeMiddlewares(&cfg)...)
	countTries := func(_ string, t http.RoundTripper) (http.RoundTripper, error) {
		return e.tries.transport(t), nil
	}
	opts := []proxy.Option{proxy.WithTransport(countTries)}
	if e.tls != nil {
		for i := range cfg.Clusters {
			cfg.Clusters[i].Protocol = config.ProtocolHTTPS
		}
		if opts, err = e.tls.gatewayOptions(countTries); err != nil {
			return err
		}
	}
	p, err := proxy.New(cfg, e.proxyOptions(append(append(edgeOpts, opts...),
		proxy.WithMiddleware(mwAuth, func(route string, _ map[string]any) (proxy.Middleware, error) {
			if mw := authn[route]; mw != nil {
				return mw, nil
			}
			return nil, fmt.Errorf("route %s has no auth", route)
		}),
		proxy.WithMiddleware(mwForgetConsumer, func(string, map[string]any) (proxy.Middleware, error) {
			return forgetConsumerMiddleware, nil
		}),
	)...)...)
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
