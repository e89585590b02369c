package local

import (
	"fmt"
	"time"

	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy/config"
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
var noBudget = &config.BudgetConfig{Ratio: 1000, MinPerSecond: 1_000_000, TTL: config.Duration(10 * time.Second)}

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
func clusterConfig(name string, pol *scenarios.Policy, eps []discovery.Endpoint, localZone string, atGateway bool) config.ClusterConfig {
	b := pol.Balancer
	cc := config.ClusterConfig{
		Name:      name,
		Endpoints: eps,
		Balancer: config.BalancerConfig{
			Type:        b.Type,
			Choices:     b.Choices,
			DecayTime:   config.Duration(b.DecayTime),
			MinRingSize: b.MinRingSize,
			MaxRingSize: b.MaxRingSize,
			TableSize:   b.TableSize,
		},
		Connection: config.ConnectionConfig{ConnectTimeout: config.Duration(pol.Timeouts.Connect)},
		Thresholds: config.ThresholdsConfig{MaxConnections: unbounded, MaxPending: unbounded, MaxRequests: unbounded, MaxRetries: unbounded},
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
			StartHealthy:       true, // as the simulator: replicas start serving
		}
	}
	if rl := pol.RateLimit; rl != nil && atGateway && ratelimit.IsConcurrency(rl.Type) {
		cc.Concurrency = &config.ConcurrencyConfig{Type: rl.Type, Limit: rl.Limit, MinLimit: rl.MinLimit, MaxLimit: rl.MaxLimit}
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

// routePolicy is what a gateway route or a sidecar's outbound service
// applies: the request timeout (0 in a scenario is no limit), the retry
// policy with its per-try timeout, back-off and budget, hedging (at the
// gateway only, as in the simulator), and the hash key.
func routePolicy(pol *scenarios.Policy, timeout time.Duration, atGateway bool) config.Policy {
	p := config.Policy{Timeout: config.Duration(-1)}
	if timeout > 0 {
		p.Timeout = config.Duration(timeout)
	}
	perTry := config.Duration(pol.PerTryTimeout())
	if r := pol.Retries; r != nil {
		p.Retry = config.RetryConfig{
			Attempts:             r.Attempts,
			RetryOn:              r.RetryOn,
			RetriableStatusCodes: r.RetriableStatusCodes,
			PerTryTimeout:        perTry,
			BackoffBase:          config.Duration(r.Backoff.Base),
			BackoffMax:           config.Duration(r.Backoff.Max),
			Budget:               noBudget,
		}
		if bu := r.Budget; bu != nil {
			p.Retry.Budget = &config.BudgetConfig{Ratio: float64(bu.Ratio), MinPerSecond: bu.MinPerSecond, TTL: config.Duration(bu.TTL)}
		}
		if h := r.Hedging; h != nil && atGateway {
			p.Hedge = config.HedgeConfig{Delay: config.Duration(h.Delay), MaxHedges: h.MaxHedges}
			if h.Percentile > 0 {
				p.Hedge.Percentile = 100 * float64(h.Percentile)
				if p.Hedge.Delay <= 0 {
					p.Hedge.Delay = config.Duration(hedgeFallbackDelay)
				}
			}
		}
	} else {
		p.Retry.PerTryTimeout = perTry
	}
	hk := pol.Balancer.HashKey
	p.HashKey = config.HashKeyConfig{Header: hk.Header, Cookie: hk.Cookie, SourceIP: hk.SourceIP}
	if p.HashKey == (config.HashKeyConfig{}) && hashBalancers[pol.Balancer.Type] {
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
func proxyRateLimit(rl *scenarios.RateLimit) (*config.RateLimitConfig, error) {
	if ratelimit.IsConcurrency(rl.Type) {
		return nil, fmt.Errorf("a route's rate limit of type %s is not supported on the local backend (use the policy's rateLimit)", rl.Type)
	}
	return &config.RateLimitConfig{Type: rl.Type, Rate: float64(rl.Rate), Burst: rl.Burst, Window: config.Duration(rl.Window)}, nil
}

// matchConfig is a scenario route match as the proxy's.
func matchConfig(m scenarios.Match) config.MatchConfig {
	mc := config.MatchConfig{Host: m.Host, Path: m.Path, Prefix: m.PathPrefix, Regex: m.PathRegex}
	if m.Method != "" {
		mc.Methods = []string{m.Method}
	}
	for _, k := range sortedKeys(m.Headers) {
		mc.Headers = append(mc.Headers, config.HeaderMatchConfig{Name: k, Exact: m.Headers[k]})
	}
	return mc
}
