package config

import (
	"slices"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/proxy/retry"
)

func TestRoutePolicies(t *testing.T) {
	p, err := Policy{
		Timeout:           Duration(2 * time.Second),
		Retry:             RetryConfig{Attempts: 3, PerTryTimeout: Duration(100 * time.Millisecond), BufferBytes: 1024},
		Hedge:             HedgeConfig{Delay: Duration(10 * time.Millisecond), MaxHedges: 2},
		RateLimit:         &RateLimitConfig{Rate: 100, Burst: 10},
		RateLimits:        []RateLimitConfig{{Rate: 1000, Burst: 100}, {Type: "sliding_window", Window: Duration(time.Minute), Limit: 5000}},
		ConsumerRateLimit: &ConsumerRateLimitConfig{Key: "header:x-api-key", RateLimitConfig: RateLimitConfig{Rate: 5, Burst: 1}},
		HashKey:           HashKeyConfig{Header: "X-Account"},
	}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	if p.Timeout != 2*time.Second || p.BufferBytes != 1024 || !p.Replays {
		t.Errorf("timeout %v, buffer %d, replays %v", p.Timeout, p.BufferBytes, p.Replays)
	}
	if r := p.Retry; r == nil || r.Attempts != 3 || r.PerTryTimeout != 100*time.Millisecond || !slices.Equal(r.RetryOn, []string{retry.OnGatewayError}) {
		t.Errorf("retry policy %+v, want 3 attempts on the default gateway-error", r)
	}
	if p.Budget == nil {
		t.Error("no retry budget: retries get Linkerd's by default")
	}
	if p.Hedger == nil || p.Hedger.MaxHedges() != 2 {
		t.Errorf("hedger %+v", p.Hedger)
	}
	if len(p.Limits) != 4 || p.Limits[3].Keyed == nil || p.Limits[3].Reason != lifecycle.ConsumerRateLimited {
		t.Fatalf("limits %+v, want the route's three limiters, then the consumer's", p.Limits)
	}
	for i, l := range p.Limits[:3] {
		if l.Limiter == nil || l.Reason != lifecycle.RateLimited {
			t.Errorf("limit %d is %+v, want a route limiter", i, l)
		}
	}
	// rateLimit's burst of 10 refuses first; rateLimits[0] (burst 100) is
	// asked after it.
	now := time.Unix(0, 0)
	for i := range 10 {
		if !p.Limits[0].Limiter.Allow(now).Allowed || !p.Limits[1].Limiter.Allow(now).Allowed {
			t.Fatalf("request %d refused within both bursts", i)
		}
	}
	if p.Limits[0].Limiter.Allow(now).Allowed || !p.Limits[1].Limiter.Allow(now).Allowed {
		t.Error("the limiters are not rateLimit's and rateLimits[0]'s, in that order")
	}
	if p.ConsumerHeader != "X-Api-Key" {
		t.Errorf("consumer header %q, want the canonical X-Api-Key", p.ConsumerHeader)
	}
	if p.HashKey != (balancer.HashKey{Header: "X-Account"}) {
		t.Errorf("hash key %+v", p.HashKey)
	}
}

func TestRoutePoliciesDefaults(t *testing.T) {
	tests := []struct {
		name    string
		pol     Policy
		timeout time.Duration
		retry   bool
		replays bool
		budget  bool
	}{
		{name: "none", pol: Policy{}, timeout: DefaultRouteTimeout},
		{name: "no timeout", pol: Policy{Timeout: Duration(-1)}},
		{name: "per-try timeout alone", pol: Policy{Retry: RetryConfig{PerTryTimeout: Duration(time.Second)}}, timeout: DefaultRouteTimeout, retry: true},
		{name: "retries", pol: Policy{Retry: RetryConfig{Attempts: 2}}, timeout: DefaultRouteTimeout, retry: true, replays: true, budget: true},
		{name: "hedging", pol: Policy{Hedge: HedgeConfig{Delay: Duration(time.Millisecond)}}, timeout: DefaultRouteTimeout, replays: true, budget: true},
		{name: "retries without a budget", pol: Policy{Retry: RetryConfig{Attempts: 2, Budget: &BudgetConfig{Disabled: true}}},
			timeout: DefaultRouteTimeout, retry: true, replays: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.pol.Policies()
			if err != nil {
				t.Fatal(err)
			}
			if p.Timeout != tc.timeout || (p.Retry != nil) != tc.retry || p.Replays != tc.replays || (p.Budget != nil) != tc.budget {
				t.Errorf("timeout %v, retry %v, replays %v, budget %v; want %v, %v, %v, %v",
					p.Timeout, p.Retry != nil, p.Replays, p.Budget != nil, tc.timeout, tc.retry, tc.replays, tc.budget)
			}
			if p.BufferBytes != DefaultBufferBytes || len(p.Limits) != 0 || p.ConsumerHeader != "" {
				t.Errorf("buffer %d, limits %v, consumer header %q", p.BufferBytes, p.Limits, p.ConsumerHeader)
			}
		})
	}
}

func TestRoutePoliciesErrors(t *testing.T) {
	tests := []struct {
		name string
		pol  Policy
		want []string // relative to the route
	}{
		{name: "negative attempts", pol: Policy{Retry: RetryConfig{Attempts: -1}}, want: []string{"retry.attempts: must not be negative"}},
		{name: "negative buffer", pol: Policy{Retry: RetryConfig{Attempts: 2, BufferBytes: -1}}, want: []string{"retry.bufferBytes: must not be negative (0 means the default, 65536)"}},
		{name: "retry policy", pol: Policy{Retry: RetryConfig{Attempts: 2, RetryOn: []string{"sometimes"}}}, want: []string{"retry: "}},
		{name: "hedge", pol: Policy{Hedge: HedgeConfig{Delay: Duration(time.Millisecond), Percentile: 120}}, want: []string{"hedge: hedging: "}},
		{name: "hedge without a delay", pol: Policy{Hedge: HedgeConfig{MaxHedges: 2}}, want: []string{"hedge.delay: hedging needs a positive delay"}},
		{name: "too many hedges", pol: Policy{Hedge: HedgeConfig{Delay: Duration(time.Millisecond), MaxHedges: 5}},
			want: []string{"hedging: at most 3 hedges, got 5"}},
		{name: "budget", pol: Policy{Retry: RetryConfig{Attempts: 2, Budget: &BudgetConfig{Ratio: -1}}}, want: []string{"retry.budget: "}},
		{name: "disabled budget with a ratio", pol: Policy{Retry: RetryConfig{Attempts: 2, Budget: &BudgetConfig{Disabled: true, Ratio: 0.5}}},
			want: []string{"retry.budget: set disabled or ratio, minPerSecond and ttl, not both"}},
		{name: "rate limit", pol: Policy{RateLimit: &RateLimitConfig{Type: "leaky"}}, want: []string{"rateLimit: "}},
		{name: "further rate limits", pol: Policy{RateLimits: []RateLimitConfig{{Rate: 1, Burst: 1}, {Rate: -1}}}, want: []string{"rateLimits[1]: "}},
		{name: "consumer limit and key", pol: Policy{ConsumerRateLimit: &ConsumerRateLimitConfig{Key: "cookie:x", RateLimitConfig: RateLimitConfig{Rate: -1}}},
			want: []string{"consumerRateLimit: ", `consumerRateLimit.key: want "ip" or "header:<Name>", got "cookie:x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.pol.Policies()
			checkErrors(t, err, tc.want)
		})
	}
}

func TestBudgetDisabledInYAML(t *testing.T) {
	cfg, err := Parse("cfg.yaml", []byte("routes:\n  - cluster: a\n    retry: {attempts: 3, budget: {disabled: true}}\nclusters:\n  - name: a\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Routes[0].Policies()
	if err != nil {
		t.Fatal(err)
	}
	if p.Budget != nil || p.Retry == nil || p.Retry.Attempts != 3 {
		t.Errorf("budget %v, retry %+v: want retries without a budget", p.Budget, p.Retry)
	}
}
