package local

import (
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/scenarios"
)

// policyOf loads a scenario with the given policy block and returns its
// merged, defaulted policy.
func policyOf(t *testing.T, policy string) *scenarios.Policy {
	t.Helper()
	p := loadPlan(t, `apiVersion: meshbench/v1
kind: Scenario
name: p
duration: 1s
topology:
  gateway: {routes: [{name: r, service: s}]}
  services: [{name: s, replicas: 1, serviceTime: 1ms}]
load: [{target: {path: /}, rate: 1/s}]
policy:
`+policy)
	return &p.Variants[0].Policy
}

func TestRoutePolicy(t *testing.T) {
	tests := []struct {
		name      string
		policy    string
		timeout   time.Duration
		atGateway bool
		check     func(t *testing.T, p config.Policy)
	}{
		{
			name: "no retries: one try, the per-try timeout still applies", policy: "  timeouts: {request: 2s, perTry: 100ms}\n", timeout: 2 * time.Second, atGateway: true,
			check: func(t *testing.T, p config.Policy) {
				if p.Timeout.D() != 2*time.Second || p.Retry.Attempts != 0 || p.Retry.PerTryTimeout.D() != 100*time.Millisecond {
					t.Errorf("policy %+v", p)
				}
			},
		},
		{
			name: "no request timeout is none, not the proxy's 15s", policy: "  timeouts: {request: 0s}\n", atGateway: true,
			check: func(t *testing.T, p config.Policy) {
				if p.Timeout.D() >= 0 {
					t.Errorf("timeout %s, want negative (none)", p.Timeout)
				}
			},
		},
		{
			name: "retries without a budget are unbudgeted", policy: "  retries: {attempts: 3, retryOn: [5xx], perTryTimeout: 50ms, backoff: {base: 5ms, max: 40ms}}\n", timeout: time.Second,
			check: func(t *testing.T, p config.Policy) {
				r := p.Retry
				if r.Attempts != 3 || len(r.RetryOn) != 1 || r.RetryOn[0] != "5xx" || r.PerTryTimeout.D() != 50*time.Millisecond ||
					r.BackoffBase.D() != 5*time.Millisecond || r.BackoffMax.D() != 40*time.Millisecond {
					t.Errorf("retry %+v", r)
				}
				if r.Budget != noBudget {
					t.Errorf("budget %+v, want the unbounded one", r.Budget)
				}
			},
		},
		{
			name: "a budget block is the proxy's budget", policy: "  retries: {attempts: 2, budget: {ratio: 0.1, minPerSecond: 3, ttl: 5s}}\n", timeout: time.Second,
			check: func(t *testing.T, p config.Policy) {
				b := p.Retry.Budget
				if b == nil || b.Ratio != 0.1 || b.MinPerSecond != 3 || b.TTL.D() != 5*time.Second {
					t.Errorf("budget %+v", b)
				}
			},
		},
		{
			name: "hedging by percentile at the gateway", policy: "  retries: {attempts: 2, hedging: {percentile: p95, maxHedges: 2}}\n", timeout: time.Second, atGateway: true,
			check: func(t *testing.T, p config.Policy) {
				h := p.Hedge
				if h.Percentile != 95 || h.MaxHedges != 2 || h.Delay.D() != hedgeFallbackDelay {
					t.Errorf("hedge %+v", h)
				}
			},
		},
		{
			name: "no hedging at sidecars, as in the simulator", policy: "  retries: {attempts: 2, hedging: {delay: 10ms}}\n", timeout: time.Second,
			check: func(t *testing.T, p config.Policy) {
				if p.Hedge != (config.HedgeConfig{}) {
					t.Errorf("hedge %+v at a sidecar", p.Hedge)
				}
			},
		},
		{
			name: "hash balancers hash the workload's key by default", policy: "  balancer: {type: maglev}\n", timeout: time.Second, atGateway: true,
			check: func(t *testing.T, p config.Policy) {
				if p.HashKey.Header != load.HeaderKey {
					t.Errorf("hash key %+v", p.HashKey)
				}
			},
		},
		{
			name: "a named hash key wins", policy: "  balancer: {type: ring_hash, hashKey: {header: X-User}}\n", timeout: time.Second, atGateway: true,
			check: func(t *testing.T, p config.Policy) {
				if p.HashKey.Header != "X-User" {
					t.Errorf("hash key %+v", p.HashKey)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, routePolicy(policyOf(t, tt.policy), tt.timeout, tt.atGateway))
		})
	}
}

func TestClusterConfig(t *testing.T) {
	tests := []struct {
		name      string
		policy    string
		atGateway bool
		check     func(t *testing.T, c config.ClusterConfig)
	}{
		{
			name: "balancer and connect timeout; no breaker means no thresholds", policy: "  balancer: {type: peak_ewma, decayTime: 3s, choices: 3}\n  timeouts: {connect: 150ms}\n",
			check: func(t *testing.T, c config.ClusterConfig) {
				if c.Balancer.Type != "peak_ewma" || c.Balancer.DecayTime.D() != 3*time.Second || c.Balancer.Choices != 3 || c.Connection.ConnectTimeout.D() != 150*time.Millisecond {
					t.Errorf("cluster %+v", c)
				}
				if c.CircuitBreaker != nil || c.Thresholds.MaxRetries != unbounded || c.Outlier != nil || c.HealthCheck != nil {
					t.Errorf("features without policy blocks: %+v", c)
				}
			},
		},
		{
			name: "breaker with Envoy's thresholds", policy: "  circuitBreaker: {failureRatio: 0.3, minRequests: 10, sleepWindow: 2s, maxRetries: 5}\n",
			check: func(t *testing.T, c config.ClusterConfig) {
				b := c.CircuitBreaker
				if b == nil || b.FailureRatio != 0.3 || b.MinRequests != 10 || b.SleepWindow.D() != 2*time.Second || c.Thresholds.MaxRetries != 5 || c.Thresholds.MaxRequests != 1024 {
					t.Errorf("breaker %+v thresholds %+v", b, c.Thresholds)
				}
			},
		},
		{
			name: "health checks at the gateway only", policy: "  healthCheck: {interval: 1s, path: /readyz}\n", atGateway: true,
			check: func(t *testing.T, c config.ClusterConfig) {
				h := c.HealthCheck
				if h == nil || h.Interval.D() != time.Second || h.Path != "/readyz" || !h.StartHealthy {
					t.Errorf("health check %+v", h)
				}
			},
		},
		{
			name: "no health checks at sidecars", policy: "  healthCheck: {interval: 1s}\n",
			check: func(t *testing.T, c config.ClusterConfig) {
				if c.HealthCheck != nil {
					t.Errorf("health check %+v at a sidecar", c.HealthCheck)
				}
			},
		},
		{
			name: "locality uses the caller's zone", policy: "  balancer: {locality: {enabled: true, overprovisioningFactor: 1.2}}\n", atGateway: true,
			check: func(t *testing.T, c config.ClusterConfig) {
				l := c.Balancer.Locality
				if l == nil || l.LocalZone != "a" || l.OverprovisioningFactor != 1.2 {
					t.Errorf("locality %+v", l)
				}
			},
		},
		{
			name: "concurrency limit on the gateway's clusters", policy: "  rateLimit: {type: adaptive_concurrency, minLimit: 2, maxLimit: 50}\n", atGateway: true,
			check: func(t *testing.T, c config.ClusterConfig) {
				k := c.Concurrency
				if k == nil || k.Type != "adaptive_concurrency" || k.MinLimit != 2 || k.MaxLimit != 50 {
					t.Errorf("concurrency %+v", k)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, clusterConfig("s", policyOf(t, tt.policy), nil, "a", tt.atGateway))
		})
	}
}

func TestOutlierConfigFollowsTheSimulator(t *testing.T) {
	tests := []struct {
		name  string
		block string
		want  func(t *testing.T, o *config.OutlierConfig)
	}{
		{
			name: "zero turns a detector off; absent blocks are off", block: "{consecutive5xx: 0, consecutiveGatewayFailure: 0, maxEjectionPercent: 0}",
			want: func(t *testing.T, o *config.OutlierConfig) {
				if o.Consecutive5xx != outlier.None || o.ConsecutiveGatewayFailure != outlier.None || o.MaxEjectionPercent != outlier.None {
					t.Errorf("%+v", o)
				}
				if o.SuccessRate.Enforcing != outlier.None || o.FailurePercentage.Enforcing != outlier.None {
					t.Errorf("success rate %+v, failure percentage %+v", o.SuccessRate, o.FailurePercentage)
				}
			},
		},
		{
			name: "gateway failures are enforced when asked for", block: "{consecutiveGatewayFailure: 3, interval: 500ms, baseEjectionTime: 20s, maxEjectionPercent: 50}",
			want: func(t *testing.T, o *config.OutlierConfig) {
				if o.ConsecutiveGatewayFailure != 3 || o.EnforcingConsecutiveGatewayFailure != 100 || o.Interval.D() != 500*time.Millisecond ||
					o.BaseEjectionTime.D() != 20*time.Second || o.MaxEjectionPercent != 50 {
					t.Errorf("%+v", o)
				}
			},
		},
		{
			name: "success rate on when present", block: "{successRate: {stdevFactor: 1.5, minimumHosts: 3, requestVolume: 20}}",
			want: func(t *testing.T, o *config.OutlierConfig) {
				s := o.SuccessRate
				if s.Enforcing != 100 || s.StdevFactor != 1.5 || s.MinimumHosts != 3 || s.RequestVolume != 20 {
					t.Errorf("%+v", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want(t, clusterConfig("s", policyOf(t, "  outlierDetection: "+tt.block+"\n"), nil, "", true).Outlier)
		})
	}
}

func TestGatewayLimits(t *testing.T) {
	tests := []struct {
		name              string
		policy            string
		handler, perRoute bool
	}{
		{"none", "  balancer: {type: random}\n", false, false},
		{"global", "  rateLimit: {type: token_bucket, rate: 10/s}\n", true, false},
		{"per route", "  rateLimit: {type: token_bucket, rate: 10/s, key: route}\n", false, true},
		{"per client", "  rateLimit: {type: sliding_window, rate: 10/s, key: client_ip}\n", true, false},
		{"concurrency is the clusters'", "  rateLimit: {type: concurrency, limit: 5}\n", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := newGatewayLimits(policyOf(t, tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			if (g.handler != nil) != tt.handler || (g.perRoute != nil) != tt.perRoute {
				t.Errorf("handler %v perRoute %v", g.handler != nil, g.perRoute != nil)
			}
		})
	}
}
