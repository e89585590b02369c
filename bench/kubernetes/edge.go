package kubernetes

import (
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/secure"
	"github.com/meshbench/meshbench/scenarios"
)

// jwksFile is the run's test issuer's JWKS, a second key of the gateway's
// ConfigMap, mounted beside its configuration. It is public key material
// (the issuer's private key stays with the agents, which derive it from the
// run's seed as bench/consumer does), and the API keys the gateway holds
// are in its configuration hashed (proxy/auth.APIKey), so neither needs a
// Secret.
const jwksFile = "issuer-jwks.json"

// gatewayEdge gives the gateway's routes the edge features of the scenario
// as `meshbench proxy`'s own middlewares (proxy/secure), in the local
// backend's order: authentication (auth), the consumer groups' acl, the
// response cache, then the per-consumer limit. It returns the files the
// configuration names (file name in the ConfigMap: content).
//
// A per-consumer limit keyed api_key or jwt_sub is, on local, the core's
// consumerRateLimit keyed by a header the in-process authentication sets;
// `meshbench proxy` sets no such header, so here it is the consumerLimit
// middleware after auth, keyed by the verified consumer (proxy/auth's
// ConsumerKey, the same name). edgeIssues refuses where the two differ.
func (r *renderer) gatewayEdge(cfg *config.Config) (map[string]string, error) {
	files := map[string]string{}
	routes := r.plan.Gateway.Routes
	if len(cfg.Routes) != len(routes) {
		return nil, fmt.Errorf("the gateway has %d routes, the scenario %d", len(cfg.Routes), len(routes))
	}
	var perConsumer *config.ConsumerRateLimitConfig
	if c := cfg.ConsumerRateLimit; c != nil && strings.HasPrefix(c.Key, "header:") {
		perConsumer, cfg.ConsumerRateLimit = c, nil
	}
	keys := consumer.GatewayKeys(&r.plan.Topology, r.plan.Load, consumer.ForPlan(r.plan.Load, r.seed))
	for i := range routes {
		rt := &routes[i]
		if cfg.Routes[i].Name != rt.Name {
			return nil, fmt.Errorf("gateway route %d is %q, the scenario's %q", i, cfg.Routes[i].Name, rt.Name)
		}
		var mws []config.MiddlewareConfig
		if a := rt.Auth; a != nil && a.Type != "" && a.Type != scenarios.AuthNone {
			p := auth.Params{Type: a.Type}
			switch a.Type {
			case scenarios.AuthJWT:
				if _, ok := files[jwksFile]; !ok {
					jwks, err := issuerJWKS(r.seed)
					if err != nil {
						return nil, err
					}
					files[jwksFile] = jwks
				}
				p.Issuer, p.JWKSFile, p.Algorithms = a.Issuer, proxyMount+"/"+jwksFile, []string{"ES256"}
				if a.Audience != "" {
					p.Audiences = []string{a.Audience}
				}
			case scenarios.AuthAPIKey:
				p.Header, p.Keys = a.Header, keys[rt.Name]
			default:
				return nil, fmt.Errorf("route %s: auth type %s is not available on kubernetes", rt.Name, a.Type)
			}
			mw, err := middleware(secure.MiddlewareAuth, p)
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", rt.Name, err)
			}
			mws = append(mws, mw)
		}
		if rt.ACL != nil {
			mw, err := middleware(secure.MiddlewareACL, dataplane.ACL(&r.plan.Topology, r.plan.Load, rt.ACL))
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", rt.Name, err)
			}
			mws = append(mws, mw)
		}
		if rc := r.pol.CacheOf(rt.Name); rc != nil {
			mw, err := middleware(secure.MiddlewareCache, dataplane.RouteCache(rc))
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", rt.Name, err)
			}
			mws = append(mws, mw)
		}
		if perConsumer != nil {
			l := perConsumer.RateLimitConfig
			mw, err := middleware(secure.MiddlewareConsumerLimit, secure.ConsumerLimitParams{
				Type: l.Type, Rate: l.Rate, Burst: l.Burst, Window: time.Duration(l.Window), Limit: l.Limit,
				MaxKeys: perConsumer.MaxKeys, IdleTTL: time.Duration(perConsumer.IdleTTL),
			})
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", rt.Name, err)
			}
			mws = append(mws, mw)
		}
		cfg.Routes[i].Middlewares = append(mws, cfg.Routes[i].Middlewares...)
	}
	return files, nil
}

// issuerJWKS is the JWKS of the run's test issuer, derived from the seed
// as the agents derive the key they sign the consumers' tokens with.
func issuerJWKS(seed uint64) (string, error) {
	is, err := consumer.NewIssuer(seed)
	if err != nil {
		return "", fmt.Errorf("test issuer: %w", err)
	}
	data, err := is.JWKS()
	if err != nil {
		return "", fmt.Errorf("test issuer: %w", err)
	}
	return string(data), nil
}

// middleware is a route middleware of name whose params are those of
// params' YAML form, the form the proxy decodes them from
// (proxy.DecodeParams).
func middleware(name string, params any) (config.MiddlewareConfig, error) {
	data, err := yaml.Marshal(params)
	if err != nil {
		return config.MiddlewareConfig{}, fmt.Errorf("%s params: %w", name, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return config.MiddlewareConfig{}, fmt.Errorf("%s params: %w", name, err)
	}
	return config.MiddlewareConfig{Name: name, Params: m}, nil
}

// edgeIssues lists what of the gateway's edge features a cluster cannot
// reproduce as the local backend does. The agents are remote clients of the
// gateway: they send each consumer's credential but not its own source
// address (bench/load drops it for a remote target), so the gateway sees
// the agents' pod addresses.
func edgeIssues(plan *scenarios.Plan, pol *scenarios.Policy, add func(path, format string, args ...any)) {
	routes := plan.Gateway.Routes
	for i, r := range routes {
		p := fmt.Sprintf("topology.gateway.routes[%d]", i)
		if r.Auth != nil && r.Auth.Type == scenarios.AuthIntrospection {
			add(p+".auth", "introspection is not available: the run has no authorization server in the cluster (the local backend runs one in process)")
		}
		if r.IPRestriction != nil {
			add(p+".ipRestriction", "client-address rules are not available: the gateway sees the agents' pod addresses, not the consumers' (127.1.0.0/16 on local)")
		}
	}
	withConsumers := false
	for i, w := range plan.Load {
		if w.Consumers == nil {
			continue
		}
		withConsumers = true
		if id := w.Consumers.Identity; id == "" || id == scenarios.IdentitySourceIP {
			add(fmt.Sprintf("load[%d].consumers.identity", i), "consumers told apart by source address are not available: the agents send from their pods' addresses; give them an apiKey or jwt identity")
		}
	}
	if rl := pol.RateLimit; rl != nil && !ratelimit.IsConcurrency(rl.Type) {
		switch rl.Key {
		case scenarios.LimitKeyClientIP:
			if withConsumers {
				add("policy.rateLimit.key", "a limit per client address with consumers is not available: the gateway sees one address per agent pod, not one per consumer")
			} else {
				add("policy.rateLimit.key", "a limit per client address is not available: the gateway sees one address per agent pod, where local's clients share 127.0.0.1")
			}
		case scenarios.LimitKeyAPIKey, scenarios.LimitKeyJWTSub:
			want := map[string]string{scenarios.LimitKeyAPIKey: scenarios.AuthAPIKey, scenarios.LimitKeyJWTSub: scenarios.AuthJWT}[rl.Key]
			switch {
			case len(routes) != 1:
				add("policy.rateLimit.key", "a limit per %s over %d routes is not available: `meshbench proxy` limits each verified consumer per route (consumerLimit), not across routes", rl.Key, len(routes))
			case routes[0].Auth == nil || routes[0].Auth.Type != want:
				add("policy.rateLimit.key", "a limit per %s on route %s, which does not authenticate with %s, is not available", rl.Key, routes[0].Name, want)
			}
		}
	}
	if pol.Quota != nil {
		add("policy.quota", "quotas are not available: `meshbench proxy` counts them on the wall-clock calendar, the scenario on a virtual one that starts startAt into its window when the run's timeline starts")
	}
	for i, f := range plan.Faults {
		if f.Action == scenarios.ActionAbort || f.Action == scenarios.ActionDelay {
			add(fmt.Sprintf("faults[%d]", i), "%s (a gateway route fault) is not available: the timeline switches it at given seconds, and `meshbench proxy` takes its route faults from its configuration file, which a run cannot change at a given second", f.Action)
		}
	}
}
