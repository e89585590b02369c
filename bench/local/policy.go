package local

import (
	"fmt"
	"time"

	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/scenarios"
)

// hedgeFallbackDelay is the hedging delay in percentile mode until enough
// latencies are known, as the simulator's (sim/plan.go): a scenario names a
// delay or a percentile, and the proxy's hedger needs a positive delay.
const hedgeFallbackDelay = 50 * time.Millisecond

// unbounded stands for "no limit" where the proxy always applies one:
// Envoy's circuit-breaking thresholds (1024 requests, 3 concurrent retries
// by default) exist whether or not a scenario asks for them, but the
// scenario format, like the simulator, applies them only with a
// circuitBreaker block.
const unbounded = 1 << 30

// noBudget is a retry budget that never binds: the proxy gives every
// retrying route Linkerd's budget by default, while a scenario's retries
// are unbudgeted unless it has a budget block, as in the simulator.
var noBudget = &proxy.BudgetConfig{Ratio: 1000, MinPerSecond: 1_000_000, TTL: proxy.Duration(10 * time.Second)}

// hashBalancers are the balancer types that hash a request key.
var hashBalancers = map[string]bool{
	scenarios.BalancerRingHash: true,
	scenarios.BalancerMaglev:   true,
	scenarios.BalancerIPHash:   true,
}

// clusterConfig is the proxy cluster for one service under a variant's
// policy: the balancer, the connect timeout, and when the policy has them,
// the breaker with Envoy's thresholds, outlier detection, and (at the
// gateway only, as in the simulator) active health checks and the
// gateway's concurrency limit. localZone is the caller's zone, for
// locality-aware balancing.
func clusterConfig(name string, pol *scenarios.Policy, eps []discovery.Endpoint, localZone string, atGateway bool) proxy.ClusterConfig {
	b := pol.Balancer
	cc := proxy.ClusterConfig{
		Name:      name,
		Endpoints: eps,
		Balancer: proxy.BalancerConfig{
			Type:        b.Type,
			Choices:     b.Choices,
			DecayTime:   proxy.Duration(b.DecayTime),
			MinRingSize: b.MinRingSize,
			MaxRingSize: b.MaxRingSize,
			TableSize:   b.TableSize,
		},
		Connection: proxy.ConnectionConfig{ConnectTimeout: proxy.Duration(pol.Timeouts.Connect)},
		Thresholds: proxy.ThresholdsConfig{MaxConnections: unbounded, MaxPending: unbounded, MaxRequests: unbounded, MaxRetries: unbounded},
	}
	if ss := b.SlowStart; ss.Window > 0 {
		cc.Balancer.SlowStart = &proxy.SlowStartConfig{Window: proxy.Duration(ss.Window), Aggression: ss.Aggression, MinWeightPercent: ss.MinWeightPercent}
	}
	if b.Locality.Enabled {
		cc.Balancer.Locality = &proxy.LocalityConfig{LocalZone: localZone, OverprovisioningFactor: b.Locality.OverprovisioningFactor}
	}
	if cb := pol.CircuitBreaker; cb != nil {
		cc.CircuitBreaker = &proxy.BreakerConfig{
			FailureRatio:        float64(cb.FailureRatio),
			MinRequests:         cb.MinRequests,
			ConsecutiveFailures: cb.ConsecutiveFailures,
			Window:              proxy.Duration(cb.Window),
			Buckets:             cb.Buckets,
			SleepWindow:         proxy.Duration(cb.SleepWindow),
			HalfOpenProbes:      cb.HalfOpenProbes,
		}
		cc.Thresholds = proxy.ThresholdsConfig{MaxConnections: cb.MaxConnections, MaxPending: cb.MaxPending, MaxRequests: cb.MaxRequests, MaxRetries: cb.MaxRetries}
	}
	if od := pol.OutlierDetection; od != nil {
		cc.Outlier = outlierConfig(od)
	}
	if hc := pol.HealthCheck; hc != nil && atGateway {
		cc.HealthCheck = &proxy.HealthCheckConfig{
			Path:               hc.Path,
			Interval:           proxy.Duration(hc.Interval),
			Timeout:            proxy.Duration(hc.Timeout),
			Jitter:             float64(hc.Jitter),
			HealthyThreshold:   hc.HealthyThreshold,
			UnhealthyThreshold: hc.UnhealthyThreshold,
			StartHealthy:       true, // as the simulator: replicas start serving
		}
	}
	if rl := pol.RateLimit; rl != nil && atGateway && ratelimit.IsConcurrency(rl.Type) {
		cc.Concurrency = &proxy.ConcurrencyConfig{Type: rl.Type, Limit: rl.Limit, MinLimit: rl.MinLimit, MaxLimit: rl.MaxLimit}
	}
	return cc
}

// orNone maps the scenario's "0 turns it off" to Envoy's explicit 0.
func orNone(n int) int {
	if n == 0 {
		return outlier.None
	}
	return n
}

// outlierConfig is the scenario's outlier detection for the proxy, with the
// simulator's reading of it: a consecutive-failure detector set to 0 is
// off, success-rate and failure-percentage ejection are on exactly when
// their blocks are present, and consecutive gateway failures are enforced
// when asked for (Envoy detects but does not enforce them by default).
func outlierConfig(od *scenarios.OutlierDetection) *proxy.OutlierConfig {
	oc := &proxy.OutlierConfig{
		Interval:                  proxy.Duration(od.Interval),
		BaseEjectionTime:          proxy.Duration(od.BaseEjectionTime),
		MaxEjectionTime:           proxy.Duration(od.MaxEjectionTime),
		MaxEjectionPercent:        orNone(od.MaxEjectionPercent),
		Consecutive5xx:            orNone(od.Consecutive5xx),
		ConsecutiveGatewayFailure: orNone(od.ConsecutiveGatewayFailure),
		SuccessRate:               &proxy.OutlierSuccessRateConfig{Enforcing: outlier.None},
		FailurePercentage:         &proxy.OutlierFailurePercentageConfig{Enforcing: outlier.None},
	}
	if od.ConsecutiveGatewayFailure > 0 {
		oc.EnforcingConsecutiveGatewayFailure = 100
	}
	if sr := od.SuccessRate; sr != nil {
		oc.SuccessRate = &proxy.OutlierSuccessRateConfig{StdevFactor: sr.StdevFactor, MinimumHosts: sr.MinimumHosts, RequestVolume: sr.RequestVolume, Enforcing: 100}
	}
	if fp := od.FailurePercentage; fp != nil {
		oc.FailurePercentage = &proxy.OutlierFailurePercentageConfig{Threshold: fp.Threshold, MinimumHosts: fp.MinimumHosts, RequestVolume: fp.RequestVolume, Enforcing: 100}
	}
	return oc
}

// routePolicy is what a gateway route or a sidecar's outbound service
// applies: the request timeout (0 in a scenario is no limit), the retry
// policy with its per-try timeout, back-off and budget, hedging (at the
// gateway only, as in the simulator), and the hash key.
func routePolicy(pol *scenarios.Policy, timeout time.Duration, atGateway bool) proxy.Policy {
	p := proxy.Policy{Timeout: proxy.Duration(-1)}
	if timeout > 0 {
		p.Timeout = proxy.Duration(timeout)
	}
	perTry := proxy.Duration(pol.PerTryTimeout())
	if r := pol.Retries; r != nil {
		p.Retry = proxy.RetryConfig{
			Attempts:             r.Attempts,
			RetryOn:              r.RetryOn,
			RetriableStatusCodes: r.RetriableStatusCodes,
			PerTryTimeout:        perTry,
			BackoffBase:          proxy.Duration(r.Backoff.Base),
			BackoffMax:           proxy.Duration(r.Backoff.Max),
			Budget:               noBudget,
		}
		if bu := r.Budget; bu != nil {
			p.Retry.Budget = &proxy.BudgetConfig{Ratio: float64(bu.Ratio), MinPerSecond: bu.MinPerSecond, TTL: proxy.Duration(bu.TTL)}
		}
		if h := r.Hedging; h != nil && atGateway {
			p.Hedge = proxy.HedgeConfig{Delay: proxy.Duration(h.Delay), MaxHedges: h.MaxHedges}
			if h.Percentile > 0 {
				p.Hedge.Percentile = 100 * float64(h.Percentile)
				if p.Hedge.Delay <= 0 {
					p.Hedge.Delay = proxy.Duration(hedgeFallbackDelay)
				}
			}
		}
	} else {
		p.Retry.PerTryTimeout = perTry
	}
	hk := pol.Balancer.HashKey
	p.HashKey = proxy.HashKeyConfig{Header: hk.Header, Cookie: hk.Cookie, SourceIP: hk.SourceIP}
	if p.HashKey == (proxy.HashKeyConfig{}) && hashBalancers[pol.Balancer.Type] {
		// As the simulator: with no hash key named, hash balancers hash the
		// workload's key, which the load generator sends in a header.
		p.HashKey.Header = load.HeaderKey
	}
	return p
}

// limiterConfig is a scenario rate limit for proxy/ratelimit.
func limiterConfig(rl *scenarios.RateLimit) ratelimit.Config {
	return ratelimit.Config{Type: rl.Type, Rate: float64(rl.Rate), Burst: rl.Burst, Window: rl.Window, Limit: rl.Limit, MinLimit: rl.MinLimit, MaxLimit: rl.MaxLimit}
}

// proxyRateLimit is a scenario route's own rate limit as the proxy's
// route-wide limiter.
func proxyRateLimit(rl *scenarios.RateLimit) (*proxy.RateLimitConfig, error) {
	if ratelimit.IsConcurrency(rl.Type) {
		return nil, fmt.Errorf("a route's rate limit of type %s is not supported on the local backend (use the policy's rateLimit)", rl.Type)
	}
	return &proxy.RateLimitConfig{Type: rl.Type, Rate: float64(rl.Rate), Burst: rl.Burst, Window: proxy.Duration(rl.Window)}, nil
}

// matchConfig is a scenario route match as the proxy's.
func matchConfig(m scenarios.Match) proxy.MatchConfig {
	mc := proxy.MatchConfig{Host: m.Host, Path: m.Path, Prefix: m.PathPrefix, Regex: m.PathRegex}
	if m.Method != "" {
		mc.Methods = []string{m.Method}
	}
	for _, k := range sortedKeys(m.Headers) {
		mc.Headers = append(mc.Headers, proxy.HeaderMatchConfig{Name: k, Exact: m.Headers[k]})
	}
	return mc
}
