package scenarios

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	p := mustLoad(t, minimal)
	pol := p.Variants[0].Policy
	tests := []struct {
		name      string
		got, want any
	}{
		{"seed", p.Seed, uint64(1)},
		{"backends", p.Backends, []string{"sim"}},
		{"warmup", p.Warmup, time.Duration(0)},
		{"mesh", p.Mesh, "sidecar"},
		{"concurrency", p.Services[0].Concurrency, 1},
		{"queue", p.Services[0].Queue, 100},
		{"errorRate", p.Services[0].ErrorRate, Fraction(0)},
		{"serviceTime shorthand", p.Services[0].ServiceTime, Constant(5 * time.Millisecond)},
		{"route match", p.Gateway.Routes[0].Match, Match{PathPrefix: "/"}},
		{"network latency", p.Network.Latency, Constant(200 * time.Microsecond)},
		{"load name", p.Load[0].Name, "load-1"},
		{"arrival", p.Load[0].Arrival, "poisson"},
		{"method", p.Load[0].Target.Method, "GET"},
		{"rate becomes a constant shape", *p.Load[0].Shape, Shape{Type: ShapeConstant, Rate: 100}},
		{"rate cleared", p.Load[0].Rate, Rate(0)},
		{"load window", p.Load[0].For, 60 * time.Second},
		{"one default variant", len(p.Variants), 1},
		{"variant name", p.Variants[0].Name, "default"},
		{"variant policy is the policy", pol, p.Policy},
		{"balancer", pol.Balancer.Type, "round_robin"},
		{"choices", pol.Balancer.Choices, 2},
		{"decayTime", pol.Balancer.DecayTime, 10 * time.Second},
		{"ring sizes", [2]int{pol.Balancer.MinRingSize, pol.Balancer.MaxRingSize}, [2]int{1024, 8388608}},
		{"tableSize", pol.Balancer.TableSize, 65537},
		{"slow start", pol.Balancer.SlowStart, SlowStart{Aggression: 1, MinWeightPercent: 10}},
		{"locality", pol.Balancer.Locality, Locality{OverprovisioningFactor: 1.4}},
		{"timeouts", pol.Timeouts, Timeouts{Connect: 5 * time.Second, Request: 15 * time.Second}},
		{"no retries", pol.Retries, (*Retries)(nil)},
		{"no breaker", pol.CircuitBreaker, (*CircuitBreaker)(nil)},
		{"no outlier detection", pol.OutlierDetection, (*OutlierDetection)(nil)},
		{"no rate limit", pol.RateLimit, (*RateLimit)(nil)},
		{"no health check", pol.HealthCheck, (*HealthCheck)(nil)},
		{"no faults", len(p.Faults), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// TestBlockDefaults checks the defaults a block gets when it is present
// but leaves keys out, and the defaults derived from other values.
func TestBlockDefaults(t *testing.T) {
	withZone := strings.Replace(minimal, "  gateway:\n", "  gateway:\n    zone: a\n", 1)
	p := mustLoad(t, withZone+`
network:
  loss: 0.001
  zones: {a: {latency: 1ms}}
  crossZone: {loss: 0.01}
policy:
  retries: {budget: {}, hedging: {delay: 10ms}}
  circuitBreaker: {}
  outlierDetection: {successRate: {}, failurePercentage: {}}
  rateLimit: {type: token_bucket, rate: 250.5/s}
  healthCheck: {}
variants:
  - name: window
    policy: {rateLimit: {type: sliding_window}}
  - name: adaptive
    policy: {rateLimit: {type: adaptive_concurrency}}
  - name: backoff
    policy: {retries: {backoff: {base: 40ms}}}
faults:
  - {at: 10s, action: errors, target: payments, rate: 0.5}
`+"  - {at: 10s, action: kill, target: \"payments[0]\"}\n")
	pol := p.Policy
	tests := []struct {
		name      string
		got, want any
	}{
		{"retries", [3]any{pol.Retries.Attempts, pol.Retries.RetryOn, pol.Retries.Backoff}, [3]any{2, []string{"5xx", "reset", "connect-failure"}, Backoff{25 * time.Millisecond, 250 * time.Millisecond}}},
		{"budget", *pol.Retries.Budget, RetryBudget{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}},
		{"hedging", *pol.Retries.Hedging, Hedging{Delay: 10 * time.Millisecond, MaxHedges: 1}},
		{"breaker", *pol.CircuitBreaker, CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, Buckets: 10,
			SleepWindow: 5 * time.Second, HalfOpenProbes: 1, MaxConnections: 1024, MaxPending: 1024, MaxRequests: 1024, MaxRetries: 3}},
		{"outlier", [6]any{pol.OutlierDetection.Interval, pol.OutlierDetection.BaseEjectionTime, pol.OutlierDetection.MaxEjectionTime,
			pol.OutlierDetection.MaxEjectionPercent, pol.OutlierDetection.Consecutive5xx, pol.OutlierDetection.ConsecutiveGatewayFailure},
			[6]any{10 * time.Second, 30 * time.Second, 300 * time.Second, 10, 5, 0}},
		{"success rate", *pol.OutlierDetection.SuccessRate, SuccessRate{StdevFactor: 1.9, MinimumHosts: 5, RequestVolume: 100}},
		{"failure percentage", *pol.OutlierDetection.FailurePercentage, FailurePercentage{Threshold: 85, MinimumHosts: 5, RequestVolume: 50}},
		{"token bucket burst is one second of rate", *pol.RateLimit, RateLimit{Type: "token_bucket", Rate: 250.5, Burst: 251, Key: "global"}},
		{"sliding window", p.Variants[0].Policy.RateLimit.Window, time.Second},
		{"adaptive limits", [3]int{p.Variants[1].Policy.RateLimit.Limit, p.Variants[1].Policy.RateLimit.MinLimit, p.Variants[1].Policy.RateLimit.MaxLimit}, [3]int{20, 1, 1000}},
		{"backoff max is 10 × base", p.Variants[2].Policy.Retries.Backoff.Max, 400 * time.Millisecond},
		{"health check", *pol.HealthCheck, HealthCheck{Interval: 5 * time.Second, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3, Path: "/healthz"}},
		{"errors status", p.Faults[0].Status, 503},
		{"kill has no status", p.Faults[1].Status, 0},
		{"zone link inherits loss", *p.Network.Zones["a"].Loss, Fraction(0.001)},
		{"cross-zone link inherits latency", *p.Network.CrossZone.Latency, Constant(200 * time.Microsecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// TestExplicitZeroWins checks that a key written as 0 is not replaced by
// its default.
func TestExplicitZeroWins(t *testing.T) {
	p := mustLoad(t, minimal+`
seed: 0
policy:
  timeouts: {connect: 0s, request: 0}
  outlierDetection: {consecutive5xx: 0}
  retries: {budget: {minPerSecond: 0}}
`)
	if p.Seed != 0 || p.Policy.Timeouts.Connect != 0 || p.Policy.Timeouts.Request != 0 ||
		p.Policy.OutlierDetection.Consecutive5xx != 0 || p.Policy.Retries.Budget.MinPerSecond != 0 {
		t.Errorf("explicit zeros replaced by defaults: %+v", p.Policy)
	}
}
