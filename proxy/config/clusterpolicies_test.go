package config

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// recordStreams hands out seeded streams and records the names asked for.
type recordStreams struct{ names []string }

func (r *recordStreams) streams(name string) *rand.Rand {
	r.names = append(r.names, name)
	return rand.New(rand.NewPCG(1, uint64(len(r.names))))
}

func TestClusterPolicies(t *testing.T) {
	cc := ClusterConfig{
		Name:           "payments",
		Balancer:       BalancerConfig{Type: "least_request", Choices: 3},
		Thresholds:     ThresholdsConfig{MaxRequests: 7},
		CircuitBreaker: &BreakerConfig{ConsecutiveFailures: 5},
		Outlier:        &OutlierConfig{Consecutive5xx: 3, Interval: Duration(time.Second)},
		HealthCheck:    &HealthCheckConfig{Interval: Duration(time.Second), ExpectedStatuses: []string{"200", "300-302"}},
		Concurrency:    &ConcurrencyConfig{Type: "concurrency", Limit: 10},
	}
	var rs recordStreams
	p, err := cc.Policies(rs.streams)
	if err != nil {
		t.Fatal(err)
	}
	if p.Balancer == nil || p.Breaker == nil || p.Outlier == nil || p.Concurrency == nil || p.Health == nil {
		t.Fatalf("policies %+v: want every one", p)
	}
	if got := p.Admission.Limit(breaker.Requests); got != 7 {
		t.Errorf("max_requests %d, want 7", got)
	}
	if p.Outlier.Interval() != time.Second {
		t.Errorf("outlier interval %v", p.Outlier.Interval())
	}
	if got := p.Health.Config().Path; got != DefaultHealthPath {
		t.Errorf("health path %q, want the default %q", got, DefaultHealthPath)
	}
	if want := []StatusRange{{200, 200}, {300, 302}}; !slices.Equal(p.HealthyStatuses, want) {
		t.Errorf("healthy statuses %v, want %v", p.HealthyStatuses, want)
	}
	if want := []string{StreamOutlier, StreamConcurrency}; !slices.Equal(rs.names, want) {
		t.Errorf("streams asked for %q, want %q", rs.names, want)
	}
}

func TestClusterPoliciesDefaults(t *testing.T) {
	p, err := ClusterConfig{Name: "a", HealthCheck: &HealthCheckConfig{}}.Policies(nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Balancer == nil || p.Admission == nil || p.Breaker != nil || p.Outlier != nil || p.Concurrency != nil {
		t.Errorf("policies %+v: want a balancer and thresholds only, besides health", p)
	}
	if got := p.Admission.Limit(breaker.Requests); got != breaker.DefaultMaxRequests {
		t.Errorf("max_requests %d, want Envoy's default %d", got, breaker.DefaultMaxRequests)
	}
	if want := []StatusRange{{200, 399}}; !slices.Equal(p.HealthyStatuses, want) {
		t.Errorf("healthy statuses %v, want %v", p.HealthyStatuses, want)
	}
	if !(StatusRange{200, 399}).Contains(399) || (StatusRange{200, 399}).Contains(400) {
		t.Error("StatusRange.Contains is off at the ends")
	}
}

func TestClusterPoliciesErrors(t *testing.T) {
	tests := []struct {
		name string
		cc   ClusterConfig
		want []string // relative to the cluster
	}{
		{name: "balancer", cc: ClusterConfig{Balancer: BalancerConfig{Type: "fastest"}}, want: []string{"balancer: "}},
		{name: "breaker", cc: ClusterConfig{CircuitBreaker: &BreakerConfig{FailureRatio: 2}}, want: []string{"circuitBreaker: "}},
		{name: "outlier", cc: ClusterConfig{Outlier: &OutlierConfig{MaxEjectionPercent: 200}}, want: []string{"outlier: "}},
		{name: "health", cc: ClusterConfig{HealthCheck: &HealthCheckConfig{Jitter: -1}}, want: []string{"healthCheck: "}},
		{name: "expected statuses", cc: ClusterConfig{HealthCheck: &HealthCheckConfig{ExpectedStatuses: []string{"200", "2xx", "500-400"}}},
			want: []string{`healthCheck.expectedStatuses[1]: bad status "2xx"`, `healthCheck.expectedStatuses[2]: status range "500-400" is not within 100-599`}},
		{name: "concurrency type", cc: ClusterConfig{Concurrency: &ConcurrencyConfig{Type: "token_bucket"}},
			want: []string{`concurrency.type: want concurrency or adaptive_concurrency, got "token_bucket"`}},
		{name: "concurrency", cc: ClusterConfig{Concurrency: &ConcurrencyConfig{Type: "concurrency", Limit: -1}}, want: []string{"concurrency: "}},
		{name: "all at once", cc: ClusterConfig{Balancer: BalancerConfig{Type: "fastest"}, CircuitBreaker: &BreakerConfig{FailureRatio: 2},
			Concurrency: &ConcurrencyConfig{Type: "x"}}, want: []string{"balancer: ", "circuitBreaker: ", "concurrency.type: "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rs recordStreams
			p, err := tc.cc.Policies(rs.streams)
			checkErrors(t, err, tc.want)
			if p.Balancer != nil {
				t.Error("policies came back with the errors")
			}
		})
	}
}
