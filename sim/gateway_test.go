package sim

import (
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/scenarios"
)

func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		auth    authSpec
		headers map[string]string
		want    bool
	}{
		{"api key present", authSpec{typ: "apiKey"}, map[string]string{"X-API-Key": "k1"}, true},
		{"api key missing", authSpec{typ: "apiKey"}, nil, false},
		{"api key listed", authSpec{typ: "apiKey", keys: []string{"k0", "k1"}, held: true}, map[string]string{"x-api-key": "k1"}, true},
		{"api key not listed", authSpec{typ: "apiKey", keys: []string{"k0"}, held: true}, map[string]string{"X-API-Key": "k1"}, false},
		{"api key of no consumer, where consumers' keys are held", authSpec{typ: "apiKey", held: true}, map[string]string{"X-API-Key": "k1"}, false},
		{"api key own header", authSpec{typ: "apiKey", header: "Authorization"}, map[string]string{"Authorization": "k"}, true},
		// A fixed token was not signed by the run's test issuer.
		{"jwt fixed bearer", authSpec{typ: "jwt"}, map[string]string{"Authorization": "Bearer eyJ.x.y"}, false},
		{"jwt missing", authSpec{typ: "jwt"}, nil, false},
		{"jwt not bearer", authSpec{typ: "jwt"}, map[string]string{"Authorization": "Basic abc"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.auth.authorised(&loadSpec{headers: tc.headers}); got != tc.want {
				t.Fatalf("authorised = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUnauthorisedLoad(t *testing.T) {
	s := fleetSpec(1, 1, time.Millisecond, 50, time.Second, "round_robin")
	s.gateway.routes[0].auth = &authSpec{typ: "jwt"}
	for _, r := range runSpec(t, s) {
		if r.Status != 401 || r.Kind != bench.KindStatus4xx {
			t.Fatalf("result %+v, want 401", r)
		}
	}
}

// TestRateLimits: a 100/s token bucket in front of a 400/s constant load
// admits about a quarter; a route limit applies after the policy's.
func TestRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy *scenarios.RateLimit
		route  *scenarios.RateLimit
		want   float64
	}{
		{"global token bucket", &scenarios.RateLimit{Key: "global", Type: "token_bucket", Rate: 100, Burst: 1}, nil, 100},
		{"per route", &scenarios.RateLimit{Key: "route", Type: "token_bucket", Rate: 200, Burst: 1}, nil, 200},
		// Four consumers with their own source addresses, 100/s each:
		// each one's token then waits for its next request, ~10ms later:
		// 4 × 10/s × 100/110.
		{"per client", &scenarios.RateLimit{Key: "client_ip", Type: "token_bucket", Rate: 10, Burst: 1}, nil, 36.4},
		{"route after policy", &scenarios.RateLimit{Key: "global", Type: "token_bucket", Rate: 200, Burst: 1},
			&scenarios.RateLimit{Type: "sliding_window", Rate: 50}, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fleetSpec(2, 8, time.Millisecond, 400, 10*time.Second, "round_robin")
			s.loads[0].poisson = false
			s.loads[0].keySpace = 4
			w := scenarios.Workload{Name: "load", Consumers: &scenarios.Consumers{Count: 4, Identity: scenarios.IdentitySourceIP}}
			s.loads[0].consumers = consumer.ForPlan([]scenarios.Workload{w}, 1)[0]
			s.policy.RateLimit = tc.policy
			s.gateway.routes[0].rateLimit = tc.route
			rs := runSpec(t, s)
			ok := float64(countKind(rs, bench.KindOK)) / 10
			limited := countKind(rs, bench.KindStatus429)
			t.Logf("%.1f/s admitted, %d limited", ok, limited)
			if !within(ok, tc.want, 0.05) || ok+float64(limited)/10 < 399 {
				t.Errorf("admitted %.1f/s, want %.0f/s", ok, tc.want)
			}
		})
	}
}

func TestConcurrencyLimit(t *testing.T) {
	s := fleetSpec(1, 100, 100*time.Millisecond, 200, 5*time.Second, "round_robin")
	s.loads[0].poisson = false
	s.services[0].serviceTime = constDist(100 * time.Millisecond)
	s.policy.RateLimit = &scenarios.RateLimit{Type: "concurrency", Limit: 10}
	rs := runSpec(t, s)
	// Ten in flight for 100ms each: 100/s admitted of 200/s.
	ok := float64(countKind(rs, bench.KindOK)) / 5
	if !within(ok, 100, 0.05) || countKind(rs, bench.KindBreakerOpen) == 0 {
		t.Errorf("admitted %.1f/s, want 100/s, the rest breaker_open", ok)
	}
}
