// Package dataplane says what a scenario's policy means for the data plane:
// the one translation from a variant's merged policy (scenarios.Policy) to
// the proxy's configuration (proxy/config). The real backends configure
// their gateway and sidecars with it, and the simulator builds its proxies'
// policy objects from the same configuration with the same builders
// (config.ClusterConfig.Policies, config.Policy.Policies), so a knob means
// the same on every backend by construction. docs/architecture.md shows
// where it sits.
//
// The scenario format reads a policy as a whole: it applies at the gateway
// and at every sidecar, with these exceptions, the same on every backend:
// active health checks, hedging and the policy's concurrency limit apply at
// the gateway only; the policy's rate limit is one limiter shared by every
// gateway route (key global), one per consumer shared by every route
// (ConsumerKey: client_ip the client's source address, api_key and jwt_sub
// the consumer the route's authentication verified), or one per route (key
// route), ahead of a route's own.
// Features a scenario leaves out are off, where the proxy would otherwise
// apply a default: no retry budget without a budget block, and Envoy's
// thresholds only with a circuitBreaker block (unbounded without).
package dataplane

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/scenarios"
)

// Headers the load generator sends for the data plane's sake.
const (
	// HeaderKey carries the request's hash key (the workload's keySpace),
	// which hash balancers hash when the policy names no key of its own.
	HeaderKey = "X-Meshbench-Key"
	// HeaderClient names the client behind a request in the load's own
	// terms (its user or hash key), for logs; no limit keys on it.
	HeaderClient = "X-Meshbench-Client"
	// HeaderAPIKeyConsumer and HeaderJWTSub carry the consumer a route's
	// authentication verified: the name of the API key the gateway holds,
	// or the verified JWT's sub. The gateway's authentication sets them
	// after verifying, and removes what a client sent, as Envoy's
	// jwt_authn claim_to_headers; the per-consumer limits keyed api_key
	// and jwt_sub key on them.
	HeaderAPIKeyConsumer = "X-Meshbench-Api-Key-Consumer"
	HeaderJWTSub         = "X-Meshbench-Jwt-Sub"
)

// ConsumerKey is the proxy's consumer key (config.ConsumerRateLimitConfig)
// of a scenario's per-consumer limit key: client_ip the client's address
// ("ip"), api_key and jwt_sub the header the gateway's authentication sets
// (HeaderAPIKeyConsumer, HeaderJWTSub). Requests on routes that do not
// authenticate that way have no such header and share one limiter.
func ConsumerKey(key string) string {
	switch key {
	case scenarios.LimitKeyAPIKey:
		return "header:" + HeaderAPIKeyConsumer
	case scenarios.LimitKeyJWTSub:
		return "header:" + HeaderJWTSub
	}
	return "ip"
}

// HedgeFallbackDelay is the hedging delay in percentile mode until enough
// latencies are known: a scenario names a delay or a percentile, and the
// hedger needs a positive delay to start from.
const HedgeFallbackDelay = 50 * time.Millisecond

// Unbounded stands for "no limit" where the proxy always applies one:
// Envoy's thresholds exist whether or not a scenario asks for them, but
// the scenario format applies them only with a circuitBreaker block.
const Unbounded = 1 << 30

// HashBalancers are the balancer types that hash a request key.
var HashBalancers = []string{scenarios.BalancerRingHash, scenarios.BalancerMaglev, scenarios.BalancerIPHash}

// Gateway is the gateway's configuration under pol for the routes of
// topology t, in order: each route with its match, its policy (Route) and
// its service's cluster (Cluster, one per service, balancing from the
// gateway's zone), and the limits every route shares (GatewayLimits). A
// route to a gRPC service matches the gRPC paths of the fleet's calls its
// match takes (GRPCMatch), and the service's cluster is h2c
// (ClusterProtocol). The caller adds the clusters' endpoints, the server
// settings and the routes' middlewares (authentication).
func Gateway(pol *scenarios.Policy, t *scenarios.Topology) (config.Config, error) {
	cfg := config.Config{Mode: config.ModeGateway}
	cfg.RateLimit, cfg.ConsumerRateLimit = GatewayLimits(pol)
	routes := t.Gateway.Routes
	for i := range routes {
		r := &routes[i]
		p, err := Route(pol, r)
		if err != nil {
			return cfg, err
		}
		m := Match(r.Match)
		svc, _ := t.Service(r.Service)
		if svc != nil && svc.GRPC() {
			if m, err = GRPCMatch(r.Match, r.Service); err != nil {
				return cfg, fmt.Errorf("route %s: %w", r.Name, err)
			}
		}
		cfg.Routes = append(cfg.Routes, config.RouteConfig{Name: r.Name, Match: m, Cluster: r.Service, Policy: p})
		if !slices.ContainsFunc(cfg.Clusters, func(c config.ClusterConfig) bool { return c.Name == r.Service }) {
			cc := Cluster(pol, r.Service, t.Gateway.Zone, true)
			cc.Protocol = ClusterProtocol(svc)
			cfg.Clusters = append(cfg.Clusters, cc)
		}
	}
	return cfg, nil
}

// ClusterProtocol is the protocol of the proxies' clusters of svc: h2c
// (cleartext HTTP/2 with prior knowledge, which gRPC speaks) for a gRPC
// service, http1 otherwise.
func ClusterProtocol(svc *scenarios.Service) string {
	if svc != nil && svc.GRPC() {
		return config.ProtocolH2C
	}
	return config.ProtocolHTTP1
}

// GRPCMatch is a route's match for gRPC calls to service: the paths
// (/package.Service/Method) of the calls of the fleet's gRPC API
// (scenarios.FleetGRPCCalls) served by service whose HTTP request m
// matches, with m's host and headers; gRPC calls are all POSTs, so m's
// method is not kept. It is an error when m matches none of them.
func GRPCMatch(m scenarios.Match, service string) (config.MatchConfig, error) {
	mt, err := m.Compile()
	if err != nil {
		return config.MatchConfig{}, err
	}
	var paths []string
	for _, c := range scenarios.FleetGRPCCalls() {
		if c.Service != service {
			continue
		}
		if mt.Matches(scenarios.Request{Method: c.Method, Path: c.ExamplePath(), Host: m.Host, Headers: m.Headers}) {
			paths = append(paths, c.FullMethod)
		}
	}
	mc := Match(m)
	mc.Methods, mc.Path, mc.Prefix, mc.Regex = nil, "", "", ""
	switch len(paths) {
	case 0:
		return mc, fmt.Errorf("service %s is gRPC, and the route's match takes none of its calls", service)
	case 1:
		mc.Path = paths[0]
	default:
		quoted := make([]string, len(paths))
		for i, p := range paths {
			quoted[i] = regexp.QuoteMeta(p)
		}
		mc.Regex = "(" + strings.Join(quoted, "|") + ")"
	}
	return mc, nil
}

// Route is the policy of one gateway route under pol: the route's timeout
// (the policy's request timeout when it has none; 0 in a scenario is no
// limit), retries with their per-try timeout, back-off and budget, hedging,
// the hash key, and the route's limiters (the policy's per-route limit,
// then the route's own).
func Route(pol *scenarios.Policy, r *scenarios.Route) (config.Policy, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = pol.Timeouts.Request
	}
	p := policy(pol, timeout, true)
	var limits []config.RateLimitConfig
	if rl := pol.RateLimit; rl != nil && rl.Key == scenarios.LimitKeyRoute && !ratelimit.IsConcurrency(rl.Type) {
		limits = append(limits, limiter(rl))
	}
	if rl := r.RateLimit; rl != nil {
		if ratelimit.IsConcurrency(rl.Type) {
			return p, fmt.Errorf("route %s: a route's own rate limit cannot be of type %s (the policy's rateLimit can)", r.Name, rl.Type)
		}
		limits = append(limits, limiter(rl))
	}
	if len(limits) > 0 {
		p.RateLimit = &limits[0]
		p.RateLimits = limits[1:]
	}
	return p, nil
}

// Sidecar is the policy of a sidecar's calls to one service under pol:
// the policy's request timeout, retries and budget (no hedging).
func Sidecar(pol *scenarios.Policy) config.Policy {
	return policy(pol, pol.Timeouts.Request, false)
}

// GatewayLimits are the gateway's own limiters under pol, shared by every
// route: a global one, or one per consumer; nil, nil when the policy's
// rate limit is per route, a concurrency limit, or absent.
func GatewayLimits(pol *scenarios.Policy) (*config.RateLimitConfig, *config.ConsumerRateLimitConfig) {
	rl := pol.RateLimit
	if rl == nil || ratelimit.IsConcurrency(rl.Type) {
		return nil, nil
	}
	switch rl.Key {
	case "", scenarios.LimitKeyGlobal:
		l := limiter(rl)
		return &l, nil
	case scenarios.LimitKeyRoute:
		return nil, nil
	}
	return nil, &config.ConsumerRateLimitConfig{Key: ConsumerKey(rl.Key), RateLimitConfig: limiter(rl)}
}

// Cluster is the cluster of calls to service name under pol, from
// localZone (locality-aware balancing) at the gateway or from a sidecar:
// the balancer, the connect timeout, Envoy's thresholds (unbounded without
// a circuitBreaker block), the breaker, outlier detection, and at the
// gateway active health checks and the policy's concurrency limit. The
// caller adds the endpoints.
func Cluster(pol *scenarios.Policy, name, localZone string, atGateway bool) config.ClusterConfig {
	b := pol.Balancer
	cc := config.ClusterConfig{
		Name: name,
		Balancer: config.BalancerConfig{
			Type:        b.Type,
			Choices:     b.Choices,
			DecayTime:   config.Duration(b.DecayTime),
			MinRingSize: b.MinRingSize,
			MaxRingSize: b.MaxRingSize,
			TableSize:   b.TableSize,
		},
		Connection: config.ConnectionConfig{ConnectTimeout: config.Duration(pol.Timeouts.Connect)},
		Thresholds: config.ThresholdsConfig{MaxConnections: Unbounded, MaxPending: Unbounded, MaxRequests: Unbounded, MaxRetries: Unbounded},
	}
	if ss := b.SlowStart; ss.Window > 0 {
		cc.Balancer.SlowStart = &config.SlowStartConfig{Window: config.Duration(ss.Window), Aggression: ss.Aggression, MinWeightPercent: ss.MinWeightPercent}
	}
	if b.Locality.Enabled {
		cc.Balancer.Locality = &config.LocalityConfig{LocalZone: localZone, OverprovisioningFactor: b.Locality.OverprovisioningFactor}
	}
	if cb := pol.CircuitBreaker; cb != nil {
		cc.CircuitBreaker = &config.BreakerConfig{
			FailureRatio:        float64(cb.FailureRatio),
			MinRequests:         cb.MinRequests,
			ConsecutiveFailures: cb.ConsecutiveFailures,
			Window:              config.Duration(cb.Window),
			Buckets:             cb.Buckets,
			SleepWindow:         config.Duration(cb.SleepWindow),
			HalfOpenProbes:      cb.HalfOpenProbes,
		}
		cc.Thresholds = config.ThresholdsConfig{MaxConnections: cb.MaxConnections, MaxPending: cb.MaxPending, MaxRequests: cb.MaxRequests, MaxRetries: cb.MaxRetries}
	}
	if od := pol.OutlierDetection; od != nil {
		cc.Outlier = outlierConfig(od)
	}
	if hc := pol.HealthCheck; hc != nil && atGateway {
		cc.HealthCheck = &config.HealthCheckConfig{
			Path:               hc.Path,
			Interval:           config.Duration(hc.Interval),
			Timeout:            config.Duration(hc.Timeout),
			Jitter:             float64(hc.Jitter),
			HealthyThreshold:   hc.HealthyThreshold,
			UnhealthyThreshold: hc.UnhealthyThreshold,
			StartHealthy:       true, // replicas start serving
		}
	}
	if rl := pol.RateLimit; rl != nil && atGateway && ratelimit.IsConcurrency(rl.Type) {
		cc.Concurrency = &config.ConcurrencyConfig{Type: rl.Type, Limit: rl.Limit, MinLimit: rl.MinLimit, MaxLimit: rl.MaxLimit}
	}
	return cc
}

// policy is the route policy shared by gateway routes and sidecars.
func policy(pol *scenarios.Policy, timeout time.Duration, atGateway bool) config.Policy {
	p := config.Policy{Timeout: config.Duration(-1)} // 0 in a scenario: no limit
	if timeout > 0 {
		p.Timeout = config.Duration(timeout)
	}
	p.Retry.PerTryTimeout = config.Duration(pol.PerTryTimeout())
	if r := pol.Retries; r != nil {
		p.Retry.Attempts = r.Attempts
		p.Retry.RetryOn = r.RetryOn
		p.Retry.RetriableStatusCodes = r.RetriableStatusCodes
		p.Retry.BackoffBase = config.Duration(r.Backoff.Base)
		p.Retry.BackoffMax = config.Duration(r.Backoff.Max)
		p.Retry.Budget = &config.BudgetConfig{Disabled: true}
		if bu := r.Budget; bu != nil {
			p.Retry.Budget = &config.BudgetConfig{Ratio: float64(bu.Ratio), MinPerSecond: bu.MinPerSecond, TTL: config.Duration(bu.TTL)}
		}
		if h := r.Hedging; h != nil && atGateway {
			p.Hedge = config.HedgeConfig{Delay: config.Duration(h.Delay), MaxHedges: h.MaxHedges}
			if h.Percentile > 0 {
				p.Hedge.Percentile = 100 * float64(h.Percentile)
				if p.Hedge.Delay <= 0 {
					p.Hedge.Delay = config.Duration(HedgeFallbackDelay)
				}
			}
		}
	}
	hk := pol.Balancer.HashKey
	p.HashKey = config.HashKeyConfig{Header: hk.Header, Cookie: hk.Cookie, SourceIP: hk.SourceIP}
	if p.HashKey == (config.HashKeyConfig{}) && slices.Contains(HashBalancers, pol.Balancer.Type) {
		// With no hash key named, hash balancers hash the workload's key,
		// which the load generator sends in a header.
		p.HashKey.Header = HeaderKey
	}
	return p
}

// limiter is a scenario's request-rate limiter.
func limiter(rl *scenarios.RateLimit) config.RateLimitConfig {
	return config.RateLimitConfig{Type: rl.Type, Rate: float64(rl.Rate), Burst: rl.Burst, Window: config.Duration(rl.Window)}
}

// outlierConfig is the scenario's outlier detection: a consecutive-failure
// detector set to 0 is off, success-rate and failure-percentage ejection
// are on exactly when their blocks are present, and consecutive gateway
// failures are enforced when asked for (Envoy detects but does not enforce
// them by default).
func outlierConfig(od *scenarios.OutlierDetection) *config.OutlierConfig {
	oc := &config.OutlierConfig{
		Interval:                  config.Duration(od.Interval),
		BaseEjectionTime:          config.Duration(od.BaseEjectionTime),
		MaxEjectionTime:           config.Duration(od.MaxEjectionTime),
		MaxEjectionPercent:        orNone(od.MaxEjectionPercent),
		Consecutive5xx:            orNone(od.Consecutive5xx),
		ConsecutiveGatewayFailure: orNone(od.ConsecutiveGatewayFailure),
		SuccessRate:               &config.OutlierSuccessRateConfig{Enforcing: outlier.None},
		FailurePercentage:         &config.OutlierFailurePercentageConfig{Enforcing: outlier.None},
	}
	if od.ConsecutiveGatewayFailure > 0 {
		oc.EnforcingConsecutiveGatewayFailure = 100
	}
	if sr := od.SuccessRate; sr != nil {
		oc.SuccessRate = &config.OutlierSuccessRateConfig{StdevFactor: sr.StdevFactor, MinimumHosts: sr.MinimumHosts, RequestVolume: sr.RequestVolume, Enforcing: 100}
	}
	if fp := od.FailurePercentage; fp != nil {
		oc.FailurePercentage = &config.OutlierFailurePercentageConfig{Threshold: fp.Threshold, MinimumHosts: fp.MinimumHosts, RequestVolume: fp.RequestVolume, Enforcing: 100}
	}
	return oc
}

// orNone maps the scenario's "0 turns it off" to Envoy's explicit 0.
func orNone(n int) int {
	if n == 0 {
		return outlier.None
	}
	return n
}

// Match is a scenario route's match as the proxy's: host, path (exact,
// prefix or regular expression), method, and exact header values in name
// order.
func Match(m scenarios.Match) config.MatchConfig {
	mc := config.MatchConfig{Host: m.Host, Path: m.Path, Prefix: m.PathPrefix, Regex: m.PathRegex}
	if m.Method != "" {
		mc.Methods = []string{m.Method}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		mc.Headers = append(mc.Headers, config.HeaderMatchConfig{Name: k, Exact: m.Headers[k]})
	}
	return mc
}
