package dataplane

import (
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/meshbench/meshbench/importer/istio" // the library's imported example
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/upstream"
	"github.com/meshbench/meshbench/scenarios"
)

// planOf loads a scenario with the given routes and policy block.
func planOf(t *testing.T, routes, policy string) *scenarios.Plan {
	t.Helper()
	if routes == "" {
		routes = "[{name: r, service: s}]"
	}
	src := `apiVersion: meshbench/v1
kind: Scenario
name: p
duration: 1s
topology:
  gateway: {routes: ` + routes + `}
  services: [{name: s, replicas: 1, serviceTime: 1ms}, {name: t, replicas: 1, serviceTime: 1ms}]
load: [{target: {path: /}, rate: 1/s}]
policy:
` + policy
	p, err := scenarios.LoadBytes(t.Name()+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// policyOf is the merged, defaulted policy of a scenario with the given
// policy block.
func policyOf(t *testing.T, policy string) *scenarios.Policy {
	t.Helper()
	return &planOf(t, "", policy).Variants[0].Policy
}

func TestRouteAndSidecarPolicies(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		sidecar bool
		check   func(t *testing.T, p config.Policy)
	}{
		{
			name: "no retries: one try, the per-try timeout still applies", policy: "  timeouts: {request: 2s, perTry: 100ms}\n",
			check: func(t *testing.T, p config.Policy) {
				if p.Timeout.D() != 2*time.Second || p.Retry.Attempts != 0 || p.Retry.PerTryTimeout.D() != 100*time.Millisecond {
					t.Errorf("policy %+v", p)
				}
			},
		},
		{
			name: "no request timeout is none, not the proxy's 15s", policy: "  timeouts: {request: 0s}\n",
			check: func(t *testing.T, p config.Policy) {
				if p.Timeout.D() >= 0 {
					t.Errorf("timeout %s, want negative (none)", p.Timeout)
				}
			},
		},
		{
			name: "retries without a budget are unbudgeted", policy: "  retries: {attempts: 3, retryOn: [5xx], perTryTimeout: 50ms, backoff: {base: 5ms, max: 40ms}}\n",
			check: func(t *testing.T, p config.Policy) {
				r := p.Retry
				if r.Attempts != 3 || len(r.RetryOn) != 1 || r.RetryOn[0] != "5xx" || r.PerTryTimeout.D() != 50*time.Millisecond ||
					r.BackoffBase.D() != 5*time.Millisecond || r.BackoffMax.D() != 40*time.Millisecond {
					t.Errorf("retry %+v", r)
				}
				if r.Budget == nil || !r.Budget.Disabled {
					t.Errorf("budget %+v, want disabled", r.Budget)
				}
				rp, err := p.Policies()
				if err != nil || rp.Budget != nil {
					t.Errorf("built budget %v, err %v; want none", rp.Budget, err)
				}
			},
		},
		{
			name: "a budget block is the proxy's budget", policy: "  retries: {attempts: 2, budget: {ratio: 0.1, minPerSecond: 3, ttl: 5s}}\n",
			check: func(t *testing.T, p config.Policy) {
				b := p.Retry.Budget
				if b == nil || b.Disabled || b.Ratio != 0.1 || b.MinPerSecond != 3 || b.TTL.D() != 5*time.Second {
					t.Errorf("budget %+v", b)
				}
			},
		},
		{
			name: "hedging by percentile at the gateway", policy: "  retries: {attempts: 2, hedging: {percentile: p95, maxHedges: 2}}\n",
			check: func(t *testing.T, p config.Policy) {
				h := p.Hedge
				if h.Percentile != 95 || h.MaxHedges != 2 || h.Delay.D() != HedgeFallbackDelay {
					t.Errorf("hedge %+v", h)
				}
			},
		},
		{
			name: "no hedging at sidecars", policy: "  retries: {attempts: 2, hedging: {delay: 10ms}}\n", sidecar: true,
			check: func(t *testing.T, p config.Policy) {
				if p.Hedge != (config.HedgeConfig{}) {
					t.Errorf("hedge %+v at a sidecar", p.Hedge)
				}
			},
		},
		{
			name: "hash balancers hash the workload's key by default", policy: "  balancer: {type: maglev}\n",
			check: func(t *testing.T, p config.Policy) {
				if p.HashKey.Header != HeaderKey {
					t.Errorf("hash key %+v", p.HashKey)
				}
			},
		},
		{
			name: "other balancers hash nothing", policy: "  balancer: {type: least_request}\n", sidecar: true,
			check: func(t *testing.T, p config.Policy) {
				if p.HashKey != (config.HashKeyConfig{}) {
					t.Errorf("hash key %+v", p.HashKey)
				}
			},
		},
		{
			name: "a named hash key wins", policy: "  balancer: {type: ring_hash, hashKey: {header: X-User}}\n",
			check: func(t *testing.T, p config.Policy) {
				if p.HashKey.Header != "X-User" {
					t.Errorf("hash key %+v", p.HashKey)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := policyOf(t, tt.policy)
			if tt.sidecar {
				tt.check(t, Sidecar(pol))
				return
			}
			p, err := Route(pol, &scenarios.Route{Name: "r", Service: "s"})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestRouteTimeoutOverridesThePolicy(t *testing.T) {
	pol := policyOf(t, "  timeouts: {request: 2s}\n")
	p, err := Route(pol, &scenarios.Route{Name: "r", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if p.Timeout.D() != 300*time.Millisecond {
		t.Errorf("timeout %s, want the route's 300ms", p.Timeout)
	}
	if s := Sidecar(pol); s.Timeout.D() != 2*time.Second {
		t.Errorf("sidecar timeout %s, want the policy's 2s", s.Timeout)
	}
}

func TestCluster(t *testing.T) {
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
				if c.CircuitBreaker != nil || c.Thresholds.MaxRetries != Unbounded || c.Outlier != nil || c.HealthCheck != nil {
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
		{
			name: "no concurrency limit at sidecars", policy: "  rateLimit: {type: concurrency, limit: 5}\n",
			check: func(t *testing.T, c config.ClusterConfig) {
				if c.Concurrency != nil {
					t.Errorf("concurrency %+v at a sidecar", c.Concurrency)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Cluster(policyOf(t, tt.policy), "s", "a", tt.atGateway))
		})
	}
}

func TestOutlierDetection(t *testing.T) {
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
		{
			name: "failure percentage on when present", block: "{failurePercentage: {threshold: 60, minimumHosts: 2, requestVolume: 10}}",
			want: func(t *testing.T, o *config.OutlierConfig) {
				f := o.FailurePercentage
				if f.Enforcing != 100 || f.Threshold != 60 || f.MinimumHosts != 2 || f.RequestVolume != 10 {
					t.Errorf("%+v", f)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want(t, Cluster(policyOf(t, "  outlierDetection: "+tt.block+"\n"), "s", "", true).Outlier)
		})
	}
}

// TestLimits follows the policy's rate limit to where each key puts it,
// through the builders the proxy and the simulator use: the reasons of
// the limiters a route asks, in order.
func TestLimits(t *testing.T) {
	tests := []struct {
		name        string
		policy      string
		routeLimit  string // the route's own rateLimit, YAML flow
		want        []string
		consumerHdr string
		concurrency bool
	}{
		{name: "none", policy: "  balancer: {type: random}\n"},
		{name: "global: shared", policy: "  rateLimit: {type: token_bucket, rate: 10/s}\n", want: []string{"shared:" + lifecycle.RateLimited}},
		{name: "per route: the route's first", policy: "  rateLimit: {type: token_bucket, rate: 10/s, key: route}\n", want: []string{"route:" + lifecycle.RateLimited}},
		{
			name: "per consumer: shared, keyed by the client's address", policy: "  rateLimit: {type: sliding_window, rate: 10/s, key: client_ip}\n",
			want: []string{"shared:" + lifecycle.ConsumerRateLimited}, consumerHdr: "",
		},
		{
			name: "per consumer: keyed by the verified API key", policy: "  rateLimit: {type: token_bucket, rate: 10/s, key: api_key}\n",
			want: []string{"shared:" + lifecycle.ConsumerRateLimited}, consumerHdr: HeaderAPIKeyConsumer,
		},
		{
			name: "per consumer: keyed by the verified JWT's sub", policy: "  rateLimit: {type: token_bucket, rate: 10/s, key: jwt_sub}\n",
			want: []string{"shared:" + lifecycle.ConsumerRateLimited}, consumerHdr: HeaderJWTSub,
		},
		{name: "concurrency: the gateway clusters'", policy: "  rateLimit: {type: concurrency, limit: 5}\n", concurrency: true},
		{
			name: "per route, then the route's own", policy: "  rateLimit: {type: token_bucket, rate: 10/s, key: route}\n", routeLimit: "{type: sliding_window, rate: 5/s}",
			want: []string{"route:" + lifecycle.RateLimited, "route:" + lifecycle.RateLimited},
		},
		{
			name: "global, then the route's own", policy: "  rateLimit: {type: token_bucket, rate: 10/s}\n", routeLimit: "{type: sliding_window, rate: 5/s}",
			want: []string{"shared:" + lifecycle.RateLimited, "route:" + lifecycle.RateLimited},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := ""
			if tt.routeLimit != "" {
				routes = "[{name: r, service: s, rateLimit: " + tt.routeLimit + "}]"
			}
			plan := planOf(t, routes, tt.policy)
			pol := &plan.Variants[0].Policy
			cfg, err := Gateway(pol, &plan.Topology)
			if err != nil {
				t.Fatal(err)
			}
			shared, err := cfg.SharedPolicies()
			if err != nil {
				t.Fatal(err)
			}
			rp, err := cfg.Routes[0].Policy.Policies()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range shared.Limits {
				got = append(got, "shared:"+l.Reason)
			}
			for _, l := range rp.Limits {
				got = append(got, "route:"+l.Reason)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("limits %v, want %v", got, tt.want)
			}
			if shared.ConsumerHeader != tt.consumerHdr {
				t.Errorf("consumer header %q, want %q", shared.ConsumerHeader, tt.consumerHdr)
			}
			if (cfg.Clusters[0].Concurrency != nil) != tt.concurrency {
				t.Errorf("cluster concurrency %+v", cfg.Clusters[0].Concurrency)
			}
		})
	}
}

func TestARouteCannotHaveItsOwnConcurrencyLimit(t *testing.T) {
	pol := policyOf(t, "  balancer: {type: random}\n")
	_, err := Route(pol, &scenarios.Route{Name: "pay", RateLimit: &scenarios.RateLimit{Type: "concurrency", Limit: 3}})
	if err == nil {
		t.Fatal("a route's own concurrency limit was accepted")
	}
}

func TestGatewayRoutesAndClusters(t *testing.T) {
	plan := planOf(t, `[{name: a, service: s, match: {pathPrefix: /pay, method: POST, headers: {X-B: "2", X-A: "1"}}},
    {name: b, service: t, match: {host: api.example, pathRegex: "/v[0-9]+/.*"}},
    {name: c, service: s}]`, "  balancer: {type: round_robin}\n")
	cfg, err := Gateway(&plan.Variants[0].Policy, withZone(plan.Topology, "z1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Routes) != 3 || cfg.Routes[0].Name != "a" || cfg.Routes[1].Cluster != "t" || cfg.Routes[2].Cluster != "s" {
		t.Errorf("routes %+v", cfg.Routes)
	}
	if len(cfg.Clusters) != 2 || cfg.Clusters[0].Name != "s" || cfg.Clusters[1].Name != "t" {
		t.Errorf("clusters %+v: want one per service, in route order", cfg.Clusters)
	}
	m := cfg.Routes[0].Match
	if m.Prefix != "/pay" || len(m.Methods) != 1 || m.Methods[0] != "POST" || len(m.Headers) != 2 || m.Headers[0].Name != "X-A" || m.Headers[1].Exact != "2" {
		t.Errorf("match %+v", m)
	}
	if m := cfg.Routes[1].Match; m.Host != "api.example" || m.Regex != "/v[0-9]+/.*" {
		t.Errorf("match %+v", m)
	}
	for i := range cfg.Clusters {
		cfg.Clusters[i].Endpoints = []upstream.Endpoint{{Address: "127.0.0.1:1"}}
	}
	if err := config.Validate(cfg); err != nil {
		t.Error(err)
	}
}

// TestEveryShippedVariantIsAValidProxyConfiguration translates the policy
// of every variant of every shipped scenario into the gateway's and a
// sidecar's configuration, which the proxy must accept as it is.
func TestEveryShippedVariantIsAValidProxyConfiguration(t *testing.T) {
	for _, e := range scenarios.Library() {
		plan, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		for _, v := range plan.Variants {
			t.Run(e.Name+"/"+v.Name, func(t *testing.T) {
				ep := []upstream.Endpoint{{Address: "127.0.0.1:1", Zone: plan.Gateway.Zone}}
				gw, err := Gateway(&v.Policy, &plan.Topology)
				if err != nil {
					t.Fatal(err)
				}
				for i := range gw.Clusters {
					gw.Clusters[i].Endpoints = ep
				}
				if err := config.Validate(gw); err != nil {
					t.Errorf("gateway: %v", err)
				}
				sc := config.Config{Mode: config.ModeSidecar, Sidecar: config.SidecarConfig{Service: "caller", PathPrefix: true}}
				for _, s := range plan.Topology.Services {
					cc := Cluster(&v.Policy, s.Name, "", false)
					cc.Endpoints = ep
					sc.Clusters = append(sc.Clusters, cc)
					sc.Sidecar.Outbound = append(sc.Sidecar.Outbound, config.OutboundConfig{Service: s.Name, Policy: Sidecar(&v.Policy)})
				}
				if err := config.Validate(sc); err != nil {
					t.Errorf("sidecar: %v", err)
				}
			})
		}
	}
}

// withZone is t with the gateway in zone.
func withZone(t scenarios.Topology, zone string) *scenarios.Topology {
	t.Gateway.Zone = zone
	return &t
}

// TestGatewayGRPC: a route to a gRPC service matches the gRPC paths of
// the calls its match takes, and the service's cluster is h2c; an HTTP
// service keeps its match and an http1 cluster.
func TestGatewayGRPC(t *testing.T) {
	topo := scenarios.Topology{
		Gateway: scenarios.Gateway{Routes: []scenarios.Route{
			{Name: "create", Match: scenarios.Match{Method: "POST", Path: "/v1/payments"}, Service: "payments"},
			{Name: "all", Match: scenarios.Match{PathPrefix: "/v1/payments", Host: "pay.example"}, Service: "payments"},
			{Name: "search", Match: scenarios.Match{PathPrefix: "/search"}, Service: "search"},
		}},
		Services: []scenarios.Service{{Name: "payments", Protocol: scenarios.ProtocolGRPC}, {Name: "search", Protocol: scenarios.ProtocolHTTP}},
	}
	pol := &scenarios.Policy{}
	cfg, err := Gateway(pol, &topo)
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Routes[0].Match; m.Path != "/meshbench.payments.v1.Payments/CreatePayment" || m.Methods != nil || m.Prefix != "" || m.Regex != "" {
		t.Errorf("route create: %+v", m)
	}
	if m := cfg.Routes[1].Match; m.Regex != `(/meshbench\.payments\.v1\.Payments/CreatePayment|/meshbench\.payments\.v1\.Payments/GetPayment)` || m.Host != "pay.example" {
		t.Errorf("route all: %+v", m)
	}
	if m := cfg.Routes[2].Match; m.Prefix != "/search" {
		t.Errorf("route search: %+v", m)
	}
	protocols := map[string]string{}
	for _, c := range cfg.Clusters {
		protocols[c.Name] = c.Protocol
	}
	if protocols["payments"] != config.ProtocolH2C || protocols["search"] != config.ProtocolHTTP1 {
		t.Errorf("cluster protocols %v, want payments h2c and search http1", protocols)
	}

	topo.Gateway.Routes = []scenarios.Route{{Name: "odd", Match: scenarios.Match{PathPrefix: "/v1/risk"}, Service: "payments"}}
	if _, err := Gateway(pol, &topo); err == nil || !strings.Contains(err.Error(), "route odd") {
		t.Errorf("a route to a gRPC service that takes none of its calls: %v", err)
	}
}
