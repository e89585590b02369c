package config

import (
	"testing"

	"github.com/meshbench/meshbench/proxy/lifecycle"
)

func TestSharedPolicies(t *testing.T) {
	cfg, err := Parse("cfg.yaml", []byte(`
rateLimit: {rate: 100, burst: 10}
consumerRateLimit: {key: "header:x-api-key", rate: 5, burst: 1}
routes:
  - {name: a, cluster: up, rateLimit: {rate: 50, burst: 5}}
  - {name: b, cluster: up, consumerRateLimit: {rate: 1, burst: 1}}
clusters:
  - name: up
`))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := cfg.SharedPolicies()
	if err != nil {
		t.Fatal(err)
	}
	if len(shared.Limits) != 2 || shared.Limits[0].Limiter == nil || shared.Limits[0].Reason != lifecycle.RateLimited ||
		shared.Limits[1].Keyed == nil || shared.Limits[1].Reason != lifecycle.ConsumerRateLimited || shared.ConsumerHeader != "X-Api-Key" {
		t.Fatalf("shared policies %+v", shared)
	}
	var routes []RoutePolicies
	for _, rc := range Defaults(cfg).Routes {
		rp, err := rc.Policies()
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, shared.Apply(rp))
	}
	for i, rp := range routes {
		if len(rp.Limits) != 3 || rp.Limits[0] != shared.Limits[0] || rp.Limits[1] != shared.Limits[1] {
			t.Errorf("route %d limits %+v: want the shared limiters themselves first", i, rp.Limits)
		}
		if rp.ConsumerHeader != "X-Api-Key" {
			t.Errorf("route %d consumer header %q, want the shared one", i, rp.ConsumerHeader)
		}
	}
	if l := routes[0].Limits[2]; l.Limiter == nil || l.Reason != lifecycle.RateLimited {
		t.Errorf("route a's own limit %+v", l)
	}
	if l := routes[1].Limits[2]; l.Keyed == nil || l.Keyed == shared.Limits[1].Keyed {
		t.Errorf("route b's own consumer limit %+v: want a limiter of its own", l)
	}
	if got := Defaults(cfg).Routes[1].ConsumerRateLimit.Key; got != "header:x-api-key" {
		t.Errorf("route b's consumer key defaults to %q, want the shared one", got)
	}
}

func TestSharedPoliciesNone(t *testing.T) {
	shared, err := Config{}.SharedPolicies()
	if err != nil || len(shared.Limits) != 0 {
		t.Fatalf("shared %+v, %v", shared, err)
	}
	rp := RoutePolicies{ConsumerHeader: "X-Key", Limits: []lifecycle.Limit{{Reason: lifecycle.RateLimited}}}
	if got := shared.Apply(rp); got.ConsumerHeader != "X-Key" || len(got.Limits) != 1 {
		t.Errorf("Apply without shared policies changed the route: %+v", got)
	}
}

func TestSharedPoliciesErrors(t *testing.T) {
	route := []RouteConfig{{Cluster: "a"}, {Cluster: "a", Policy: Policy{ConsumerRateLimit: &ConsumerRateLimitConfig{Key: "ip", RateLimitConfig: RateLimitConfig{Rate: 1, Burst: 1}}}}}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{name: "limiters", cfg: Config{RateLimit: &RateLimitConfig{Type: "leaky"}, ConsumerRateLimit: &ConsumerRateLimitConfig{Key: "cookie"}},
			want: []string{"rateLimit: ", "consumerRateLimit: ", "consumerRateLimit.key: ", "routes: "}},
		{name: "gateway only", cfg: Config{Mode: ModeSidecar, RateLimit: &RateLimitConfig{Rate: 1, Burst: 1},
			ConsumerRateLimit: &ConsumerRateLimitConfig{RateLimitConfig: RateLimitConfig{Rate: 1, Burst: 1}}},
			want: []string{"rateLimit: shared limits are the gateway's", "consumerRateLimit: shared limits are the gateway's"}},
		{name: "one consumer per request", cfg: Config{Clusters: []ClusterConfig{{Name: "a"}}, Routes: route,
			ConsumerRateLimit: &ConsumerRateLimitConfig{Key: "header:X-Api-Key", RateLimitConfig: RateLimitConfig{Rate: 1, Burst: 1}}},
			want: []string{`routes[1].consumerRateLimit.key: "ip" differs from the shared consumerRateLimit's "header:X-Api-Key"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, Validate(tc.cfg), tc.want)
		})
	}
}
